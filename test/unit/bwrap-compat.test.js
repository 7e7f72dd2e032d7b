// bubblewrap's flags in `cordon run` mean what they mean to bwrap: each case
// runs one probe script under `bwrap FLAGS -- sh -c SCRIPT` (Debian's
// bubblewrap, /usr/bin/bwrap) and `cordon run FLAGS -- sh -c SCRIPT`, and
// compares what the payload sees, line by line: ids and maps, hostname,
// environment, working directory, namespaces (new or the host's), CapEff,
// CapBnd, CapAmb, NoNewPrivs, Seccomp, pid, process group and session, and
// per case a path's type, mode, content and writability.
//
// The comparison is fair: bwrap shows only what it is told to, so it gets
// the binds of the host's system directories cordon shows by default, a
// /proc, /dev and /tmp, and cordon's default environment (PATH only) as its
// own environment. What still differs is cordon's stricter defaults, and
// only those are normalised, each where it shows exactly the values the
// default produces (any other difference fails) and never on a line the case
// is about (`strict`): see DEFAULT_DIFFERENCES. Runs as root and, in the
// unprivileged pass, as nobody, where bwrap works unprivileged when the
// kernel allows unprivileged user namespaces.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { removeTree } = require('../helpers/remove-tree');
const { requireOrSkip } = require('../helpers/skip');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const BWRAP = '/usr/bin/bwrap';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NAMESPACES = ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time'];

/** The part of the probe every case runs; a case appends its own lines. */
const PROBE = `
echo "id=$(id -u) $(id -g) $(id -G)"
echo "uid_map=$(tr -s ' ' < /proc/self/uid_map | tr '\\n' ';')"
echo "gid_map=$(tr -s ' ' < /proc/self/gid_map | tr '\\n' ';')"
echo "hostname=$(cat /proc/sys/kernel/hostname)"
echo "cwd=$(pwd)"
env | sort | sed 's/^/env:/'
for ns in ${NAMESPACES.join(' ')}; do echo "ns:$ns=$(readlink /proc/self/ns/$ns)"; done
grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t' | sed 's/:/=/'
echo "pid=$$"
set -- $(sed 's/.*) //' /proc/$$/stat); echo "pgid/sid=$3 $4"
`;

/** Shell lines printing what `target` is: type, mode, owner-independent; content if a file; writable or not. */
function describe(target) {
  return `
if [ -e ${target} ] || [ -L ${target} ]; then echo "path:${target}=$(stat -c '%F %a' ${target})"; else echo "path:${target}=absent"; fi
[ -f ${target} ] && echo "content:${target}=$(cat ${target} | tr '\\n' '|')"
if [ -d ${target} ]; then (mktemp -p ${target} >/dev/null && echo "write:${target}=yes") 2>/dev/null || echo "write:${target}=no"; fi
if [ -f ${target} ] || [ -c ${target} ]; then (: >> ${target} && echo "write:${target}=yes") 2>/dev/null || echo "write:${target}=no"; fi
`;
}

/**
 * cordon's stricter defaults: a line may differ only with exactly these
 * values (bwrap's, cordon's), and only on lines the case is not about.
 */
const DEFAULT_DIFFERENCES = [
  {
    key: /^ns:(user|pid|net|ipc|uts|cgroup)$/, bwrap: 'host', cordon: 'new',
    why: 'bwrap shares every namespace it is not told to unshare; cordon makes all but time new',
  },
  {
    key: /^hostname$/, bwrap: os.hostname(), cordon: 'cordon',
    why: 'cordon names the box "cordon"; bwrap keeps (a copy of) the host\'s name',
  },
  {
    key: /^id$/, bwrap: `${process.geteuid()} ${process.getegid()} ${process.getegid()}`, cordon: '0 0 0',
    why: 'cordon runs the payload as the box\'s root (uid 0 inside); bwrap as the caller\'s uid',
  },
  ...[['uid', process.geteuid()], ['gid', process.getegid()]].map(([kind, own]) => ({
    key: new RegExp(`^${kind}_map$`), bwrap: /.*/, cordon: ` 0 ${own === 0 ? 65534 : own} 1;`,
    why: 'cordon maps the box\'s root to 65534 for a root caller and to the caller\'s own id rootless: never to the host\'s root; bwrap maps the caller\'s own id (root to root)',
  })),
  {
    key: /^Cap(Eff|Bnd|Amb)$/, bwrap: /^(?!0000000000000000$)/, cordon: '0000000000000000',
    why: 'cordon drops every capability, bounding set too, unless kept with --cap/--cap-add; bwrap keeps them all when a root caller runs the sandbox as uid 0',
  },
  {
    key: /^Seccomp$/, bwrap: '0', cordon: '2',
    why: 'cordon installs its default seccomp filter; bwrap installs none unless given one',
  },
  {
    key: /^pgid\/sid$/, bwrap: /.*/, cordon: '1 1',
    why: 'cordon starts the box in a new session (the init, PID 1, is its leader); bwrap keeps the caller\'s unless --new-session',
  },
  {
    key: /^pid$/, bwrap: /^\d+$/, cordon: '2',
    why: 'cordon gives the box a pid namespace with an init, so the payload is PID 2; bwrap without --unshare-pid shows the host\'s pid',
  },
];

/** The binds that show bwrap what cordon shows by default (the host's system directories), with /proc, /dev and /tmp. */
function fairBwrapRoot() {
  const flags = [];
  for (const dir of ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt']) {
    let stat;
    try {
      stat = fs.lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) flags.push('--symlink', fs.readlinkSync(dir), dir);
    else if (stat.isDirectory()) flags.push('--ro-bind', dir, dir);
  }
  return [...flags, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp'];
}

function hostNamespaces() {
  return Object.fromEntries(NAMESPACES.map((ns) => [ns, fs.readlinkSync(`/proc/self/ns/${ns}`)]));
}

/** Probe output → Map of key → value, namespaces as 'host', 'new' or (one in `joined`) 'joined'. */
function parseProbe(stdout, host, joined = new Set()) {
  const lines = new Map();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    let value = line.slice(at + 1);
    if (key.startsWith('ns:')) value = joined.has(value) ? 'joined' : value === host[key.slice(3)] ? 'host' : 'new';
    lines.set(key, value);
  }
  return lines;
}

function matches(expected, value) {
  return expected instanceof RegExp ? expected.test(value) : expected === value;
}

/**
 * Runs `command args` in /, with fds 3.. from `fds` (paths opened for
 * reading) and the environment `PATH=DEFAULT_PATH` alone, through env -i:
 * tap adds variables of its own to what spawnSync passes.
 */
function runWithFds(command, args, fds) {
  const opened = fds.map((file) => fs.openSync(file, 'r'));
  try {
    return spawnSync('/usr/bin/env', ['-i', `PATH=${DEFAULT_PATH}`, command, ...args], { encoding: 'utf8', cwd: '/', stdio: ['ignore', 'pipe', 'pipe', ...opened], timeout: 60_000 });
  } finally {
    for (const fd of opened) fs.closeSync(fd);
  }
}

const bwrapWorks = fs.existsSync(BWRAP) && spawnSync(BWRAP, ['--ro-bind', '/', '/', '--unshare-all', '--', '/bin/true']).status === 0;

t.test('bwrap flags mean in cordon run what they mean to bwrap', async (t) => {
  if (!requireOrSkip(t, fs.existsSync(BWRAP), 'needs bwrap (Debian: apt-get install bubblewrap)')) return;
  if (!requireOrSkip(t, bwrapWorks, `bwrap cannot make a sandbox here as uid ${process.geteuid()} (unprivileged user namespaces off, or an AppArmor restriction): ${spawnSync(BWRAP, ['--ro-bind', '/', '/', '--unshare-all', '--', '/bin/true'], { encoding: 'utf8' }).stderr.trim()}`)) return;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bwrap-'));
  t.teardown(() => removeTree(dir));
  fs.chmodSync(dir, 0o755);
  const content = path.join(dir, 'content');
  fs.writeFileSync(content, 'line one\nline two\n');
  fs.chmodSync(content, 0o644);
  const shared = path.join(dir, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o777); // the box's user (65534 for a root caller) writes in it
  const args = path.join(dir, 'args');
  fs.writeFileSync(args, ['--setenv', 'FROM_ARGS', 'a b', '--chdir', '/usr'].join('\0'));
  fs.chmodSync(args, 0o644);
  const missing = path.join(dir, 'missing');

  const namespaceCase = (flags, named) => ({ name: flags.join(' '), flags, strict: named.map((ns) => `ns:${ns}`) });
  const cases = [
    namespaceCase(['--unshare-user'], ['user']),
    namespaceCase(['--unshare-user-try'], ['user']),
    namespaceCase(['--unshare-ipc'], ['ipc']),
    namespaceCase(['--unshare-pid'], ['pid']),
    namespaceCase(['--unshare-net'], ['net']),
    namespaceCase(['--unshare-uts'], ['uts']),
    namespaceCase(['--unshare-cgroup'], ['cgroup']),
    namespaceCase(['--unshare-cgroup-try'], ['cgroup']),
    namespaceCase(['--unshare-all'], ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time']),
    namespaceCase(['--unshare-all', '--share-net'], ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time']),
    { name: '--setenv', flags: ['--setenv', 'A', 'one', '--setenv', 'B', 'two words'], strict: ['env:A', 'env:B', 'env:PATH'] },
    { name: '--unsetenv', flags: ['--setenv', 'A', '1', '--unsetenv', 'A'], strict: ['env:A'] },
    { name: '--clearenv', flags: ['--setenv', 'A', '1', '--clearenv', '--setenv', 'B', '2'], strict: ['env:A', 'env:B', 'env:PATH'] },
    { name: '--chdir', flags: ['--chdir', '/usr/lib'], strict: ['cwd', 'env:PWD'] },
    { name: '--uid/--gid 0 (needs --unshare-user in bwrap)', flags: ['--unshare-user', '--uid', '0', '--gid', '0'], strict: ['id'] },
    { name: '--hostname (needs --unshare-uts in bwrap)', flags: ['--unshare-uts', '--hostname', 'tenant-7'], strict: ['hostname', 'ns:uts'] },
    { name: '--as-pid-1', flags: ['--unshare-pid', '--as-pid-1'], strict: ['pid', 'ns:pid'] },
    { name: '--new-session', flags: ['--unshare-pid', '--new-session'], strict: ['pgid/sid'] },
    {
      name: '--cap-add one', flags: ['--unshare-user', '--uid', '0', '--gid', '0', '--cap-add', 'CAP_NET_BIND_SERVICE'], strict: ['CapEff', 'CapBnd', 'CapAmb'],
      // bwrap starts from every capability for a root caller's uid 0 (and adds to that), cordon always from none.
      differs: process.geteuid() !== 0 ? {} : Object.fromEntries(['CapEff', 'CapBnd', 'CapAmb'].map((key) => [key, {
        bwrap: /^000001f+[ef]f+$/, cordon: '0000000000000400',
        why: 'a root caller\'s bwrap sandbox at uid 0 starts with every capability and --cap-add adds to them; cordon\'s box starts with none, so --cap-add gives exactly what it names',
      }])),
    },
    {
      name: '--cap-add ALL --cap-drop', flags: ['--unshare-user', '--uid', '0', '--gid', '0', '--cap-add', 'ALL', '--cap-drop', 'CAP_SYS_ADMIN', '--cap-drop', 'CAP_NET_RAW'], strict: ['CapEff', 'CapBnd', 'CapAmb'],
    },
    { name: '--cap-drop ALL', flags: ['--unshare-user', '--uid', '0', '--gid', '0', '--cap-drop', 'ALL'], strict: ['CapEff', 'CapBnd', 'CapAmb'] },
    {
      // cordon's seccomp profile refuses unshare() whatever the counters say: --no-seccomp
      // (cordon only) leaves the counter as what stops it.
      name: '--disable-userns', flags: ['--unshare-user', '--disable-userns'], cordonOnly: ['--no-seccomp'], strict: ['userns'],
      script: 'unshare -U true 2>/dev/null && echo "userns=made" || echo "userns=refused"',
      expect: { userns: 'refused' },
    },
    { name: '(without --disable-userns)', flags: ['--unshare-user'], cordonOnly: ['--no-seccomp'], strict: ['userns'], script: 'unshare -U true 2>/dev/null && echo "userns=made" || echo "userns=refused"', expect: { userns: 'made' } },
    {
      name: '--dev /dev', flags: ['--dev', '/dev'], strict: [],
      // cordon leaves out /dev/core (a link to /proc/kcore, the kernel's memory: nothing a tenant may read).
      script: 'echo "dev=$(ls -A /dev | grep -vx core | tr \'\\n\' \' \')"; for f in null zero full random urandom tty ptmx fd stdin stdout stderr pts shm; do echo "devtype:$f=$(stat -c %F /dev/$f)"; done',
    },
    { name: '--dev-bind', flags: ['--dev-bind', '/dev/null', '/mnt/null'], strict: [], script: `${describe('/mnt/null')}echo x > /mnt/null && echo "devwrite=ok"` },
    { name: '--dev-bind-try', flags: ['--dev-bind-try', missing, '/mnt/gone', '--dev-bind-try', '/dev/zero', '/mnt/zero'], strict: [], script: describe('/mnt/gone') + describe('/mnt/zero') },
    { name: '--ro-bind-try', flags: ['--ro-bind-try', missing, '/mnt/gone', '--ro-bind-try', content, '/mnt/content'], strict: [], script: describe('/mnt/gone') + describe('/mnt/content') },
    { name: '--bind-try', flags: ['--bind-try', missing, '/mnt/gone', '--bind-try', shared, '/mnt/shared'], strict: [], script: describe('/mnt/gone') + describe('/mnt/shared') },
    { name: '--ro-bind, --bind', flags: ['--ro-bind', content, '/mnt/ro', '--bind', shared, '/mnt/rw'], strict: [], script: describe('/mnt/ro') + describe('/mnt/rw') },
    { name: '--remount-ro', flags: ['--bind', shared, '/mnt/rw', '--remount-ro', '/mnt/rw'], strict: [], script: describe('/mnt/rw') },
    { name: '--symlink', flags: ['--symlink', '/usr/lib', '/mnt/link'], strict: [], script: `${describe('/mnt/link')}echo "link=$(readlink /mnt/link)"` },
    { name: '--mqueue', flags: ['--unshare-ipc', '--mqueue', '/mnt/mq'], strict: [], script: `${describe('/mnt/mq')}echo "fs=$(stat -f -c %T /mnt/mq)"` },
    { name: '--proc', flags: ['--unshare-pid', '--proc', '/mnt/proc'], strict: [], script: 'echo "fs=$(stat -f -c %T /mnt/proc)"; echo "self=$(readlink /mnt/proc/self)"' },
    { name: '--tmpfs', flags: ['--tmpfs', '/mnt/t'], strict: [], script: `${describe('/mnt/t')}echo "fs=$(stat -f -c %T /mnt/t)"` },
    {
      name: '--perms --size --tmpfs', flags: ['--perms', '0700', '--size', String(4 << 20), '--tmpfs', '/mnt/t'], strict: [],
      script: `${describe('/mnt/t')}echo "bytes=$(stat -f -c '%b*%S' /mnt/t)"`,
    },
    {
      name: '--perms --file FD', flags: ['--perms', '0640', '--file', '3', '/mnt/f'], fds: [content], strict: [], script: describe('/mnt/f'),
      differs: { 'write:/mnt/f': { bwrap: 'yes', cordon: 'no', why: 'cordon\'s root is read-only, so its files are; bwrap\'s tmpfs root lets the sandbox\'s user write the copy' } },
    },
    {
      name: '--ro-bind-data FD', flags: ['--perms', '0444', '--ro-bind-data', '3', '/mnt/f'], fds: [content], strict: [], script: describe('/mnt/f'),
    },
    { name: '--args FD', flags: ['--args', '3'], fds: [args], strict: ['env:FROM_ARGS', 'cwd', 'env:PWD'] },
  ];

  const host = hostNamespaces();
  const bwrapRoot = fairBwrapRoot();
  // --userns FD / --pidns FD join the namespaces of a process the test
  // starts: unshare(1) makes a user and a pid namespace and forks sleep into
  // them (--kill-child: it goes when unshare is killed at the end).
  const holder = spawn('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--kill-child', 'sleep', '600'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  await once(holder, 'spawn');
  let sleeper;
  while (sleeper === undefined) {
    // Its forked child appears once unshare has made the namespaces; wait for it, exec'd into sleep.
    const children = fs.readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim();
    if (children !== '' && fs.readFileSync(`/proc/${children}/cmdline`, 'utf8').startsWith('sleep')) sleeper = children;
    else await new Promise((resolve) => setImmediate(resolve));
  }
  const joined = new Set(['user', 'pid'].map((ns) => fs.readlinkSync(`/proc/${sleeper}/ns/${ns}`)));
  cases.push(
    { name: '--userns FD', flags: ['--userns', '3'], fds: [`/proc/${sleeper}/ns/user`], strict: ['ns:user'], expect: { 'ns:user': 'joined' } },
    {
      name: '--userns FD --pidns FD', flags: ['--userns', '3', '--pidns', '4'], fds: [`/proc/${sleeper}/ns/user`, `/proc/${sleeper}/ns/pid`], strict: ['ns:user', 'ns:pid'],
      expect: { 'ns:user': 'joined', 'ns:pid': 'joined' },
      differs: { pid: { bwrap: /^\d+$/, cordon: /^\d+$/, why: 'pids in a joined namespace count on from what ran there before (and cordon starts its init there too)' } },
    },
  );

  for (const probeCase of cases) {
    t.test(probeCase.name, async (t) => {
      const script = `${PROBE}${probeCase.script ?? ''}`;
      const fds = probeCase.fds ?? [];
      const bwrap = runWithFds(BWRAP, [...bwrapRoot, ...probeCase.flags, '--', '/bin/sh', '-c', script], fds);
      const cordon = runWithFds(process.execPath, [cli, 'run', ...probeCase.flags, ...(probeCase.cordonOnly ?? []), '--', '/bin/sh', '-c', script], fds);
      t.equal(bwrap.status, 0, `bwrap ran: ${bwrap.stderr}`);
      t.equal(cordon.status, 0, `cordon ran: ${cordon.stderr}`);
      const seen = { bwrap: parseProbe(bwrap.stdout, host, joined), cordon: parseProbe(cordon.stdout, host, joined) };
      const keys = new Set([...seen.bwrap.keys(), ...seen.cordon.keys()]);
      const normalised = [];
      for (const key of keys) {
        const [b, c] = [seen.bwrap.get(key), seen.cordon.get(key)];
        if (b === c) continue;
        const expected = probeCase.differs?.[key];
        if (expected !== undefined) {
          t.ok(matches(expected.bwrap, b) && matches(expected.cordon, c), `${key}: bwrap ${b}, cordon ${c} (${expected.why})`);
          continue;
        }
        const difference = probeCase.strict.includes(key) ? undefined
          : DEFAULT_DIFFERENCES.find((d) => d.key.test(key) && b !== undefined && c !== undefined && matches(d.bwrap, b) && matches(d.cordon, c));
        if (difference !== undefined) {
          normalised.push(`${key} (${difference.why})`);
          continue;
        }
        t.fail(`${key}: bwrap sees ${JSON.stringify(b)}, cordon ${JSON.stringify(c)}`, { bwrap: bwrap.stdout, cordon: cordon.stdout });
      }
      for (const key of probeCase.strict) t.ok(seen.cordon.has(key) || seen.bwrap.has(key) || key.startsWith('env:'), `${key} was probed`);
      if (probeCase.expect !== undefined) {
        for (const [key, value] of Object.entries(probeCase.expect)) t.equal(seen.cordon.get(key), value, `${key} is ${value} in both`);
      }
      t.ok(keys.size > 20, `compared ${keys.size} lines; normalised: ${normalised.join('; ') || 'none'}`);
    });
  }
});

/** Host pid of the process whose command line holds `marker`, once there is one. */
async function findByCmdline(marker, deadline) {
  while (Date.now() < deadline) {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) return Number(entry);
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return undefined;
}

/** Resolves true once `pid` is gone or a zombie, false at `deadline`. */
async function ended(pid, deadline) {
  while (Date.now() < deadline) {
    let state;
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
    } catch {
      return true;
    }
    if (state === 'Z' || state === 'X') return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

t.test('--die-with-parent: killing bwrap, or cordon run, kills the payload', async (t) => {
  if (!requireOrSkip(t, bwrapWorks, 'needs a working bwrap (see above)')) return;
  const bwrapRoot = fairBwrapRoot();
  for (const [name, command, args] of [
    ['bwrap', BWRAP, [...bwrapRoot, '--unshare-pid', '--die-with-parent', '--']],
    ['cordon', process.execPath, [cli, 'run', '--unshare-pid', '--die-with-parent', '--']],
  ]) {
    // A unique sleep to find on the host: sleep takes a fraction.
    const marker = `3600.${process.pid}${Math.floor(Math.random() * 1e9)}`;
    const parent = spawn(command, [...args, '/bin/sh', '-c', `echo ready; exec sleep ${marker}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = await once(parent.stdout, 'data');
    t.equal(String(chunk), 'ready\n', `${name}: the payload runs`);
    const deadline = Date.now() + 60_000;
    const payload = await findByCmdline(`sleep\0${marker}`, deadline);
    t.ok(payload !== undefined, `${name}: found the payload on the host (pid ${payload})`);
    if (payload === undefined) {
      parent.kill('SIGKILL');
      continue;
    }
    const exited = once(parent, 'exit');
    parent.kill('SIGKILL');
    await exited;
    const gone = await ended(payload, deadline);
    if (!gone) process.kill(payload, 'SIGKILL');
    t.ok(gone, `${name}: SIGKILL to ${name} ended its payload`);
  }
});

/** Resolves with the text of `file` once `done(text)` holds (a monitor reading what was written for it). */
async function readWhen(file, done, deadline) {
  while (Date.now() < deadline) {
    const text = fs.readFileSync(file, 'utf8');
    if (done(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return fs.readFileSync(file, 'utf8');
}

t.test('--info-fd and --json-status-fd: the same records as bwrap', async (t) => {
  if (!requireOrSkip(t, bwrapWorks, 'needs a working bwrap (see above)')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bwrap-status-'));
  t.teardown(() => removeTree(dir));
  const seen = {};
  for (const [name, command, args] of [
    // --unshare-all: bwrap's equivalent of cordon's namespaces.
    ['bwrap', BWRAP, [...fairBwrapRoot(), '--unshare-all', '--info-fd', '3', '--json-status-fd', '4', '--']],
    ['cordon', process.execPath, [cli, 'run', '--info-fd', '3', '--json-status-fd', '4', '--']],
  ]) {
    const info = path.join(dir, `${name}.info`);
    const status = path.join(dir, `${name}.status`);
    const fds = [fs.openSync(info, 'w'), fs.openSync(status, 'w')];
    // The payload waits for a line on stdin, so the box is alive while its records are checked.
    const parent = spawn(command, [...args, '/bin/sh', '-c', 'read line; exit 5'], { stdio: ['pipe', 'inherit', 'inherit', ...fds] });
    for (const fd of fds) fs.closeSync(fd);
    const deadline = Date.now() + 60_000;
    const record = JSON.parse(await readWhen(info, (text) => text.trimEnd().endsWith('}'), deadline));
    const pid = record['child-pid'];
    t.ok(Number.isInteger(pid) && pid > 0, `${name}: child-pid ${pid}`);
    for (const [key, value] of Object.entries(record)) {
      if (key === 'child-pid') continue;
      t.equal(fs.readlinkSync(`/proc/${pid}/ns/${key.replace(/-namespace$/, '')}`), `${key.replace(/-namespace$/, '')}:[${value}]`, `${name}: ${key} is the box's`);
    }
    const firstLine = JSON.parse((await readWhen(status, (text) => text.includes('\n'), deadline)).split('\n')[0]);
    t.same(firstLine, record, `${name}: --json-status-fd starts with the same record on one line`);
    const exited = once(parent, 'exit');
    parent.stdin.end('go\n');
    const [code] = await exited;
    t.equal(code, 5, `${name}: exits with the payload's status`);
    t.same(fs.readFileSync(status, 'utf8').trimEnd().split('\n').slice(1).map((line) => JSON.parse(line)), [{ 'exit-code': 5 }], `${name}: then { "exit-code": 5 }`);
    seen[name] = { keys: Object.keys(record), info: fs.readFileSync(info, 'utf8'), status: fs.readFileSync(status, 'utf8') };
  }
  t.same(seen.cordon.keys, seen.bwrap.keys, 'the same keys, in the same order');
  const shape = (text) => text.replace(/\d+/g, 'N');
  t.equal(shape(seen.cordon.info), shape(seen.bwrap.info), 'the same --info-fd text but for the numbers');
  t.equal(shape(seen.cordon.status), shape(seen.bwrap.status), 'the same --json-status-fd text but for the numbers');
});
