// The CLI: same options as the API, the payload's exit status as its own.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function cordon(args, options = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', ...options });
}

t.test('run: the README example', async (t) => {
  const result = cordon(['run', '--', '/bin/sh', '-c', 'id -u; hostname; ps -o pid= -o comm=']);
  t.equal(result.status, 0, result.stderr);
  const [uid, hostname, ...ps] = result.stdout.trim().split('\n');
  t.equal(uid, '0');
  t.equal(hostname, 'cordon');
  t.match(ps[0], /^\s*1 cordon_init/);
});

t.test('run: exit status and signals', async (t) => {
  t.equal(cordon(['run', '--', '/bin/sh', '-c', 'exit 7']).status, 7);
  t.equal(cordon(['run', '--', '/bin/sh', '-c', 'kill -TERM $$']).status, 128 + 15);
  t.equal(cordon(['run', '--share', 'pid', '--', '/bin/sh', '-c', 'kill -KILL $$']).status, 128 + 9);
});

t.test('run: a missing command exits 127 with the step in the message', async (t) => {
  const result = cordon(['run', '--', '/nonexistent']);
  t.equal(result.status, 127);
  t.match(result.stderr, /spawn \/nonexistent ENOENT: step \d+\/\d+ 'execve'/);
});

t.test('run: flags map to options', async (t) => {
  const result = cordon([
    'run', '--hostname', 'tenant', '--env', 'A=1', '--cwd', '/tmp', '--share', 'net', '--argv0', 'renamed', '--',
    '/bin/sh', '-c', 'hostname; echo $A; pwd; readlink /proc/self/ns/net; echo $0',
  ]);
  t.equal(result.status, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['tenant', '1', '/tmp', fs.readlinkSync('/proc/self/ns/net'), 'renamed']);
});

t.test('run: --config takes the options as JSON, flags override', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-'));
  t.teardown(() => removeTree(dir));
  const config = path.join(dir, 'box.json');
  fs.writeFileSync(config, JSON.stringify({ hostname: 'from-config', env: { PATH: '/bin:/usr/bin', B: '2' }, cwd: '/tmp' }));
  const result = cordon(['run', '--config', config, '--cwd', '/', '--', '/bin/sh', '-c', 'hostname; echo $B; pwd']);
  t.equal(result.status, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['from-config', '2', '/']);
});

t.test('run: bad options fail before anything runs', async (t) => {
  const unknown = cordon(['run', '--hostnme', 'x', '--', '/bin/true']);
  t.equal(unknown.status, 125);
  t.match(unknown.stderr, /Unknown option '--hostnme'/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-'));
  t.teardown(() => removeTree(dir));
  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ hostName: 'x' }));
  const badConfig = cordon(['run', '--config', path.join(dir, 'bad.json'), '--', '/bin/true']);
  t.equal(badConfig.status, 125);
  t.match(badConfig.stderr, /Unknown option "hostName". Did you mean "hostname"\?/);
  const relative = cordon(['run', '--cwd', 'tmp', '--', '/bin/true']);
  t.equal(relative.status, 125);
  t.match(relative.stderr, /"cwd" option must be an absolute path/);
});

t.test('run: filesystem flags, in order', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'f'), 'bound\n');
  const result = cordon([
    'run', '--ro-bind', dir, '/mnt', '--tmpfs', '/tmp/t', '--file-content', '/etc/hosts', '10.0.0.1 h',
    '--symlink', '/mnt/f', '/tmp/l', '--mask', '/etc/passwd', '--remount-ro', '/tmp/t', '--',
    '/bin/sh', '-c', 'cat /mnt/f; cat /etc/hosts; echo; cat /tmp/l; cat /etc/passwd 2>/dev/null | wc -c; touch /tmp/t/x 2>/dev/null || echo ro',
  ]);
  t.equal(result.status, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['bound', '10.0.0.1 h', 'bound', '0', 'ro']);

  // Bind sources are resolved without following symlinks unless asked.
  fs.symlinkSync(dir, path.join(dir, 'link'));
  const refused = cordon(['run', '--ro-bind', path.join(dir, 'link'), '/mnt', '--', '/bin/true']);
  t.not(refused.status, 0);
  t.match(refused.stderr, /ELOOP.*--ro-bind-follow/s, 'a symlinked source is refused, the hint names the flag');
  fs.mkdirSync(path.join(dir, 'w'));
  fs.chmodSync(path.join(dir, 'w'), 0o777);
  const followed = cordon(['run', '--ro-bind-follow', path.join(dir, 'link'), '/mnt', '--bind-follow', path.join(dir, 'link', 'w'), '/srv', '--', '/bin/sh', '-c', 'cat /mnt/f; touch /srv/w && echo rw']);
  t.equal(followed.status, 0, followed.stderr);
  t.same(followed.stdout.trim().split('\n'), ['bound', 'rw'], '--ro-bind-follow follows it; --bind-follow is writable');
});

t.test('run: --layer and --upper', async (t) => {
  const { busyboxUsable, busyboxImage } = require('../helpers/images');
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static)')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  const layer = busyboxImage(path.join(dir, 'layer'), { 'etc/motd': 'layer\n' });
  const result = cordon(['run', '--layer', layer, '--upper', 'tmpfs', '--env', 'PATH=/bin', '--', '/bin/sh', '-c', 'cat /etc/motd; ls /']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /^layer\nbin\ndev\netc\nproc\ntmp\n$/);
  t.equal(cordon(['run', '--upper', 'tmpfs', '--', '/bin/true']).status, 125, '--upper needs --layer');
  t.equal(cordon(['run', '--bind', '/only-one', '--']).status, 125, 'a two-value flag with one value');
});

t.test('run: --tmp-size sizes the box /tmp', async (t) => {
  const result = cordon(['run', '--tmp-size', String(2 << 20), '--', '/bin/sh', '-c', 'dd if=/dev/zero of=/tmp/f bs=1M count=8 2>&1; du -m /tmp/f']);
  t.match(result.stdout, /No space left on device/);
  t.match(result.stdout, /^2\s/m);
});

t.test('run: cgroup flags', async (t) => {
  if (!skipExpected(t, process.geteuid() === 0, 'unprivileged pass (root only: no delegated cgroup for an unprivileged user here)')) return;
  const bomb = '$| = 1; my $n = 0; for (1..50) { my $p = fork; if (defined $p && $p == 0) { sleep 5; exit } $n++ if defined $p } print "$n\\n"; kill 9, -$$';
  const result = cordon(['run', '--pids-max', '10', '--memory-max', '256M', '--cpu-weight', '50', '--', '/usr/bin/perl', '-e', bomb]);
  const forked = Number(result.stdout.trim());
  t.ok(forked > 0 && forked < 10, `pids.max held: ${forked} of 50 forks`);
  const bad = cordon(['run', '--memory-max', '12Q', '--', '/bin/true']);
  t.equal(bad.status, 125);
  t.match(bad.stderr, /--memory-max wants a size/);
  const badLimit = cordon(['run', '--cpu-weight', '0', '--', '/bin/true']);
  t.equal(badLimit.status, 125);
  t.match(badLimit.stderr, /cgroup\.cpu\.weight/);
});

t.test('run: credential, limit and Landlock flags', async (t) => {
  const result = cordon([
    'run', '--rlimit', 'nofile=100:200', '--umask', '077', '--nice', '3', '--cap', 'CAP_NET_BIND_SERVICE',
    '--landlock-exec', '/', '--landlock-write', '/tmp', '--landlock-write', '/dev/null', '--',
    '/bin/sh', '-c', 'ulimit -n; umask; nice; grep CapAmb /proc/self/status; echo x > /tmp/x && echo ok; echo y > /dev/shm/y 2>/dev/null || echo denied',
  ]);
  t.equal(result.status, 0, result.stderr);
  t.same(result.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')), ['100', '0077', '3', 'CapAmb: 0000000000000400', 'ok', 'denied']);
  const bad = cordon(['run', '--rlimit', 'nofile', '--', '/bin/true']);
  t.equal(bad.status, 125);
  t.match(bad.stderr, /--rlimit wants NAME=SOFT/);
});

t.test('run: kernel counter flags', async (t) => {
  const result = cordon(['run', '--kernel-counter', 'inotifyInstances=7', '--kernel-counter', 'userNamespaces=unlimited', '--',
    '/bin/cat', '/proc/sys/user/max_inotify_instances', '/proc/sys/user/max_user_namespaces']);
  t.equal(result.status, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['7', '2147483647']);
  const { optionsFromArgs } = require('../../dist/cli.js');
  t.same(optionsFromArgs(['--user-namespace-owner', 'box', '--', '/bin/true']).options.userNamespaceOwner, 'box');
  const bad = cordon(['run', '--kernel-counter', 'inotifyInstances', '--', '/bin/true']);
  t.equal(bad.status, 125);
  t.match(bad.stderr, /--kernel-counter wants NAME=N/);
  const unknown = cordon(['run', '--kernel-counter', 'inotify=3', '--', '/bin/true']);
  t.equal(unknown.status, 125);
  t.match(unknown.stderr, /kernelCounters\.inotify/);
});

t.test('run: seccomp and socket flags', async (t) => {
  const off = cordon(['run', '--no-seccomp', '--', '/bin/grep', 'Seccomp:', '/proc/self/status']);
  t.match(off.stdout, /Seccomp:\s+0/);
  const on = cordon(['run', '--seccomp-deny', 'getppid=EACCES', '--listen', '127.0.0.1:0', '--listen-unix', `/tmp/cordon-cli-${process.pid}/s.sock`, '--',
    '/bin/sh', '-c', 'echo $LISTEN_FDS $LISTEN_FDNAMES $LISTEN_PID; grep Seccomp: /proc/self/status']);
  t.equal(on.status, 0, on.stderr);
  const [listen, seccomp] = on.stdout.trim().split('\n');
  t.equal(listen, '2 tcp-0:unix 2');
  t.match(seccomp, /Seccomp:\s+2/);
  t.notOk(fs.existsSync(`/tmp/cordon-cli-${process.pid}`), 'the socket directory is removed with the box');
  const bad = cordon(['run', '--seccomp-allow', 'not_a_syscall', '--', '/bin/true']);
  t.equal(bad.status, 125);
  t.match(bad.stderr, /seccomp/);
});

t.test('run: network flags and --config', async (t) => {
  const { optionsFromArgs } = require('../../dist/cli.js');
  t.same(optionsFromArgs(['--network', 'host', '--', '/bin/true']).options.network, 'host');
  t.same(optionsFromArgs(['--network', 'bridge:br7', '--bridge-subnet', '10.9.0.1/24', '--bridge-address', '10.9.0.9', '--bridge-reach', 'any', '--', '/bin/true']).options.network,
    { bridge: 'br7', subnet: '10.9.0.1/24', address: '10.9.0.9', reach: 'any' });
  const host = cordon(['run', '--network', 'host', '--', '/bin/sh', '-c', 'readlink /proc/self/ns/net']);
  t.equal(host.stdout.trim(), fs.readlinkSync('/proc/self/ns/net'), '--network host shares the host network');
  const bad = cordon(['run', '--network', 'nat', '--', '/bin/true']);
  t.equal(bad.status, 125);
  t.match(bad.stderr, /--network wants none, host, bridge or bridge:NAME/);
  const orphan = cordon(['run', '--bridge-reach', 'any', '--', '/bin/true']);
  t.equal(orphan.status, 125);
  t.match(orphan.stderr, /--bridge-reach needs --network bridge/);
  if (process.geteuid() !== 0) {
    const refused = cordon(['run', '--network', 'bridge', '--', '/bin/true']);
    t.equal(refused.status, 125);
    t.match(refused.stderr, /bridge networking needs root/);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-net-'));
  t.teardown(() => removeTree(dir));
  const config = path.join(dir, 'net.json');
  fs.writeFileSync(config, JSON.stringify({ network: { bridge: 'cdt-cli', subnet: '10.234.0.1/24' } }));
  const bridged = cordon(['run', '--config', config, '--network', 'bridge', '--bridge-address', '10.234.0.40', '--', '/bin/sh', '-c', 'ip -4 -o addr show eth0; ip route show default']);
  t.equal(bridged.status, 0, bridged.stderr);
  t.match(bridged.stdout, /eth0\s+inet 10\.234\.0\.40\/24/, '--config gives the bridge, the flag the address');
  t.match(bridged.stdout, /default via 10\.234\.0\.1 dev eth0/);
  t.match(bridged.stderr, /cordon: network cdt-cli 10\.234\.0\.40\/24 via 10\.234\.0\.1 \(reach gateway\)/);
  t.notOk(fs.existsSync('/sys/class/net/cdt-cli'), 'the bridge is gone when the CLI ends');
});

t.test('probe: text and JSON', async (t) => {
  const text = cordon(['probe']);
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /user namespaces/);
  t.match(text.stdout, /clone ladder rung: clone3/);
  const json = cordon(['probe', '--json']);
  t.equal(json.status, 0);
  const report = JSON.parse(json.stdout);
  t.equal(report.root, process.geteuid() === 0);
  t.type(report.namespaces.net.available, 'boolean');
  t.equal(report.network.bridge.available, process.geteuid() === 0, 'bridge networking: root only');
  t.equal(report.network.pool.net.available, process.geteuid() === 0, "a 'net' pool: root only");
  t.equal(report.network.pool.userNet.available, true, "a 'user+net' pool: wherever user namespaces work");
});

t.test('help', async (t) => {
  const result = cordon(['--help']);
  t.equal(result.status, 0);
  t.match(result.stdout, /cordon run \[options\] \[--\] CMD/);
});

t.test('run: options end at the command, as with bwrap and env', async (t) => {
  const plain = cordon(['run', '/bin/sh', '-c', 'echo $0 $1', 'zero', '-la']);
  t.equal(plain.status, 0, plain.stderr);
  t.equal(plain.stdout, 'zero -la\n', 'the command and every word after it are the payload\'s');
  const withFlags = cordon(['run', '--hostname', 'h', '--ro-bind', '/usr', '/mnt', '--cwd=/mnt', '/bin/sh', '-c', 'hostname; pwd', '--hostname']);
  t.equal(withFlags.status, 0, withFlags.stderr);
  t.same(withFlags.stdout.trim().split('\n'), ['h', '/mnt'], 'values of flags (one, two, and --flag=value) are skipped over');
  const dashed = cordon(['run', '--', '--weird-name']);
  t.equal(dashed.status, 127, 'after --, even a dashed word is the command');
});

t.test('--version, run --help, and the exit codes in the help', async (t) => {
  const version = cordon(['--version']);
  t.equal(version.status, 0);
  t.equal(version.stdout.trim(), require('../../package.json').version);
  const help = cordon(['run', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /125 +cordon refused/);
  t.match(help.stdout, /126 +CMD was found but could not be executed/);
  t.match(help.stdout, /127 +CMD was not found/);
  t.match(help.stdout, /Examples:\n +cordon run /);
});

t.test('failures print one line and no stack trace', async (t) => {
  const cases = [
    ['run', '--listen-unix', '/proc/nonexistent/x.sock', '/bin/true'],
    ['run', '--layer', '/usr', '--upper', '/nonexistent/dir', '/bin/true'],
    ['run', '--rootfs', '/nonexistent', '/bin/true'],
    ['run', '--uid-map', 'x', '/bin/true'],
    ['run'],
    ['frobnicate'],
  ];
  for (const args of cases) {
    const result = cordon(args);
    t.equal(result.status, 125, `${args.join(' ')}: exit 125`);
    t.match(result.stderr, /^cordon: /, `${args.join(' ')}: one cordon message`);
    t.notMatch(result.stderr, /\n\s+at .*:\d+:\d+/, `${args.join(' ')}: no stack trace`);
  }
});

t.test('probe as root does not flag what root does not need', async (t) => {
  if (!skipExpected(t, process.geteuid() === 0, "unprivileged pass (about a root caller's report)")) return;
  const result = cordon(['probe']);
  t.equal(result.status, 0);
  t.match(result.stdout, /^yes +subordinate id ranges +\(not needed: root maps any ids\)$/m);
});

t.test('the flag table: bwrap spellings map to the same options', async (t) => {
  const { optionsFromArgs } = require('../../dist/cli.js');
  const parse = (...args) => optionsFromArgs([...args, '--', '/bin/true']).options;
  t.same(parse('--unshare-all', '--share-net').namespaces, { user: 'new', ipc: 'new', pid: 'new', net: 'host', uts: 'new', cgroup: 'new' });
  t.same(parse('--share-net', '--unshare-net').namespaces, { net: 'new' }, 'flags apply in command-line order');
  t.same(parse('--chdir', '/tmp').cwd, '/tmp');
  t.same(parse('--as-pid-1').init, false);
  t.same(parse('--setenv', 'A', '1', '--env', 'B=2', '--unsetenv', 'PATH').env, { A: '1', B: '2' });
  t.same(parse('--setenv', 'A', '1', '--clearenv', '--setenv', 'B', 'x y').env, { B: 'x y' }, '--clearenv drops PATH and what came before');
  t.same(parse('--perms', '0700', '--size', '4096', '--tmpfs', '/w', '--tmpfs', '/v').mounts,
    [{ type: 'tmpfs', target: '/w', mode: 0o700, size: 4096 }, { type: 'tmpfs', target: '/v' }], '--perms and --size apply to the next --tmpfs only');
  t.same(parse('--dev-bind', '/dev/null', '/x', '--mqueue', '/dev/mqueue').mounts,
    [{ type: 'bind', source: '/dev/null', target: '/x', readonly: false, devices: true }, { type: 'mqueue', target: '/dev/mqueue' }]);
  t.same(parse('--ro-bind-try', '/nonexistent', '/a', '--bind-try', '/tmp', '/b', '--dev-bind-try', '/nonexistent', '/c').mounts,
    [{ type: 'bind', source: '/tmp', target: '/b', readonly: false }], '-try binds of missing sources are left out');
  t.same(parse('--cap-add', 'ALL', '--cap-drop', 'ALL', '--cap-add', 'net_raw', '--cap-add', 'CAP_CHOWN', '--cap-drop', 'CAP_NET_RAW').capabilities, ['CAP_CHOWN']);
  t.same(parse('--die-with-parent', '--new-session'), { dieWithParent: true, newSession: true, stdio: 'inherit' });
  t.same(parse('--userns', '0', '--pidns', '2').namespaces, { user: { fd: 0 }, pid: { fd: 2 } });
  t.same(parse('--disable-userns').kernelCounters, { userNamespaces: 0 });
  t.same(parse('--dev', '/dev'), { stdio: 'inherit' }, '--dev /dev is what the box has anyway');
  t.same(parse('--nice', '-5').nice, -5, 'a value may start with a dash');
});

t.test('the flag table: --file FD DST and --args FD read what the caller opened', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'content'), 'from fd 3\n');
  fs.writeFileSync(path.join(dir, 'args'), '--hostname\0from-args\0--setenv\0A\0a b\0');
  const result = spawnSync('/bin/sh', ['-c', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} run --perms 0640 --file 3 /etc/motd --args 4 -- /bin/sh -c 'cat /etc/motd; stat -c %a /etc/motd; hostname; echo "$A"' 3<${dir}/content 4<${dir}/args`], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['from fd 3', '640', 'from-args', 'a b']);
  const closed = cordon(['run', '--file', '9', '/etc/motd', '--', '/bin/true']);
  t.equal(closed.status, 125);
  t.match(closed.stderr, /--file 9: fd 9 (is not open|is anon_inode:.*one of Node's own)/);
  const own = spawnSync('/bin/sh', ['-c', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} run --args 3 -- /bin/true 3</dev/null`], { encoding: 'utf8' });
  t.equal(own.status, 0, own.stderr);
  fs.writeFileSync(path.join(dir, 'binary'), Buffer.from([0xff, 0xfe, 0]));
  const binary = spawnSync('/bin/sh', ['-c', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} run --file 3 /x -- /bin/true 3<${dir}/binary`], { encoding: 'utf8' });
  t.equal(binary.status, 125);
  t.match(binary.stderr, /not UTF-8 text/);
});

t.test('the flag table: what cordon cannot do exits 125 and says why', async (t) => {
  const cases = [
    [['--file', '/etc/hosts', 'x'], /--file wants FD as an fd number.*--file-content DST CONTENT/],
    [['--seccomp', '3'], /--seccomp: cordon compiles its own seccomp filter/],
    [['--dir', '/x'], /--dir: cordon cannot make a bare directory.*--tmpfs DST/],
    [['--chmod', '0700', '/tmp'], /--chmod: cordon does not chmod/],
    [['--bind-data', '3', '/x'], /--bind-data: cordon's file mounts are read-only/],
    [['--info-fd', '9'], /--info-fd 9: fd 9 (is not open|is anon_inode)/],
    [['--add-seccomp-fd', '3'], /--add-seccomp-fd: cordon compiles its own seccomp filter/],
    [['--exec-label', 'x'], /SELinux/],
    [['--dev', '/mydev'], /--dev \/mydev: cordon gives every box its own \/dev/],
    [['--perms', '0700', '--bind', '/tmp', '/x'], /--perms must be followed by a flag that makes a file or tmpfs/],
    [['--size', '10', '--proc', '/x'], /--size must be followed by --tmpfs/],
    [['--size', '10', '--file-content', '/x', 'y'], /--size must be followed by --tmpfs, not --file-content/],
    [['--perms', '0700', '--bind', '/tmp', '/x', '--tmpfs', '/y'], /--perms must be followed by a flag that makes a file or tmpfs .*not --bind/],
    [['--pidns', '0', '--unshare-all'], /--pidns joins a pid namespace and --unshare-pid \(or --unshare-all\) asks for a new one/],
    [['--perms', '999', '--tmpfs', '/x'], /--perms wants OCTAL as an octal mode/],
    [['--uid', 'root'], /--uid wants N as an integer/],
    [['--rootfs-writable'], /--rootfs-writable needs --rootfs/],
    [['--unshare-al'], /Unknown option '--unshare-al' \(did you mean '--unshare-all'\?\)/],
    [['--no-init=yes'], /--no-init takes no value/],
  ];
  for (const [flags, message] of cases) {
    const result = cordon(['run', ...flags, '--', '/bin/true']);
    t.equal(result.status, 125, `${flags.join(' ')}: exit 125`);
    t.match(result.stderr, message, `${flags.join(' ')}: says why`);
    t.notMatch(result.stderr, /\n\s+at .*:\d+:\d+/, `${flags.join(' ')}: no stack trace`);
  }
  const short = cordon(['run', '--setenv', 'A']);
  t.equal(short.status, 125);
  t.match(short.stderr, /--setenv needs 2 arguments \(VAR VALUE\)/);
  const help = cordon(['run', '--bogus', '--help']);
  t.equal(help.status, 0, '--help wins over a bad flag');
});

t.test('--info-fd/--json-status-fd: a box gone before its namespaces are read is reported with its pid only, and says so', async (t) => {
  const { reportStatus } = require('../../dist/cli-status.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cli-'));
  t.teardown(() => removeTree(dir));
  const file = path.join(dir, 'status');
  const fd = fs.openSync(file, 'w');
  const warnings = [];
  const gone = 0x7ffffff0; // above any pid_max: no /proc entry, as for a box that has ended
  const exit = reportStatus({ pid: gone }, { jsonStatusFd: fd }, (message) => warnings.push(message));
  exit(3);
  fs.closeSync(fd);
  t.same(fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line)), [{ 'child-pid': gone }, { 'exit-code': 3 }]);
  t.match(warnings, [/the box ended before its namespaces could be read/]);
});
