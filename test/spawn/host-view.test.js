// What a default box (rootfs 'host') shows of the host: no host Unix socket
// it can connect to, none of the caller's home, a sysfs of its own, and
// sized tmpfs mounts. Each attack is run from inside a box, root and
// unprivileged.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const t = require('tap');
const { probe } = require('../..');
const { forgetHostSockets } = require('../../dist/host-view');
const { run, runSh, spawnError, isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

// Node runs the connect probe in the box; its install may sit under a hidden
// directory (e.g. ~/.nvm), and then the box needs it bound in.
const nodePrefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
const nodeMounts = nodePrefix === '/usr' ? [] : [{ type: 'bind', source: nodePrefix, target: nodePrefix }];

// Connects to each path from inside a box; resolves with path → 'connected' or the errno code.
const CONNECT = `
const net = require('net');
const paths = JSON.parse(process.argv[1]);
const results = {};
let left = paths.length;
const done = () => { if (--left === 0) process.stdout.write(JSON.stringify(results)); };
if (left === 0) process.stdout.write('{}');
for (const p of paths) {
  const socket = net.connect(p);
  socket.on('connect', () => { results[p] = 'connected'; socket.destroy(); done(); });
  socket.on('error', (error) => { results[p] = error.code; done(); });
}`;

async function connectFromBox(paths, options = {}) {
  const result = await run(fs.realpathSync(process.execPath), ['-e', CONNECT, JSON.stringify(paths)], {
    ...options,
    mounts: [...nodeMounts, ...(options.mounts ?? [])],
  });
  if (result.code !== 0) throw new Error(`connect probe failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

// A connect that did not reach a socket: nothing there, a mask, no access.
// EPROTOTYPE (a datagram or seqpacket socket) and EAGAIN (a full backlog)
// mean a socket was reached.
const UNREACHED = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTDIR', 'ELOOP']);

function writable(dir) {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** A listening 0777 socket in a fresh directory under `parent`, removed at teardown. */
async function listener(t, parent) {
  const dir = fs.mkdtempSync(path.join(parent, 'cordon-test-'));
  fs.chmodSync(dir, 0o755);
  const socketPath = path.join(dir, 'sock');
  const server = net.createServer((connection) => connection.end());
  t.teardown(() => {
    server.close();
    removeTree(dir);
  });
  await new Promise((resolve, reject) => server.listen(socketPath, resolve).once('error', reject));
  fs.chmodSync(socketPath, 0o777);
  // The host itself reaches it: the test can tell a reachable socket.
  await new Promise((resolve, reject) => net.connect(socketPath).once('connect', function () { this.destroy(); resolve(); }).once('error', reject));
  return { dir, socketPath };
}

// Where this caller can make a listener in the host's state directories:
// root in /run and /var/lib, anyone in the world-writable /run/lock and /var/tmp.
const STATE_DIRS = isRoot ? ['/run', '/var/lib'] : ['/run/lock', '/var/tmp'].filter(writable);

t.test('a 0777 listener in the host state directories is out of reach', async (t) => {
  if (!requireOrSkip(t, STATE_DIRS.length > 0, 'no host state directory this user may write (/run/lock, /var/tmp)')) return;
  const made = [];
  for (const parent of STATE_DIRS) made.push(await listener(t, parent));
  const paths = made.map((entry) => entry.socketPath);
  const results = await connectFromBox(paths);
  for (const socketPath of paths) {
    t.ok(UNREACHED.has(results[socketPath]), `${socketPath}: ${results[socketPath]}`);
  }
  // The same probe reaches a socket the box is given on purpose.
  const given = await connectFromBox(paths, { mounts: made.map(({ dir }) => ({ type: 'bind', source: dir, target: dir })) });
  for (const socketPath of paths) t.equal(given[socketPath], 'connected', `bound in: ${socketPath}`);
});

t.test('a listener under an allowed directory is masked', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (needs an allowed directory (/opt) that this user may write: root only)')) return;
  const { socketPath } = await listener(t, '/opt');
  forgetHostSockets(); // this spawn reads /proc/net/unix itself
  const results = await connectFromBox([socketPath]);
  t.ok(UNREACHED.has(results[socketPath]), `an empty file over the socket: ${results[socketPath]}`);
  const shown = await runSh(`test -S ${socketPath} && echo socket || echo not-a-socket`);
  t.equal(shown.stdout.trim(), 'not-a-socket');
});

t.test('a listener under an allowed directory and a `mask` mount: both masked, one empty file', async (t) => {
  // Found by the suite run beside .ci/run: while the other run's test above
  // listened under /opt, a box with a `mask` failed with EEXIST at its
  // second 'empty file for masks'.
  if (!skipExpected(t, isRoot, 'unprivileged pass (needs an allowed directory (/opt) that this user may write: root only)')) return;
  const { socketPath } = await listener(t, '/opt');
  forgetHostSockets();
  const results = await connectFromBox([socketPath], { mounts: [{ type: 'mask', target: '/etc/hostname' }] });
  t.ok(UNREACHED.has(results[socketPath]), `the socket is masked: ${results[socketPath]}`);
  forgetHostSockets();
  const shown = await runSh(`test -S ${socketPath} && echo socket || echo not-a-socket; test -s /etc/hostname && echo content || echo masked`, { mounts: [{ type: 'mask', target: '/etc/hostname' }] });
  t.equal(shown.code, 0, shown.stderr);
  t.same(shown.stdout.trim().split('\n'), ['not-a-socket', 'masked'], 'the socket and /etc/hostname (3 bytes on the host) both masked');
});

t.test('a listener in a top-level directory outside the allowlist is not there at all, even one bound after the spawn', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (needs a new top-level directory: root only (redteam.test.js covers /var/tmp for both))')) return;
  const { dir, socketPath } = await listener(t, '/');
  forgetHostSockets();
  const results = await connectFromBox([socketPath]);
  t.equal(results[socketPath], 'ENOENT', `${dir} is absent in the box`);
});

t.test("the top level: the host's allowed directories as they are, the rest absent or empty", async (t) => {
  const { ALLOWED_DIRS, HIDDEN_DIRS, FRESH_DIRS } = require('../../dist/host-view');
  const own = ['/proc', '/dev', '/tmp', '/sys'];
  let extra;
  if (isRoot) {
    extra = fs.mkdtempSync('/cordon-test-top-');
    t.teardown(() => removeTree(extra));
  }
  const result = await runSh('for f in /* /.[!.]*; do [ -e "$f" ] || [ -L "$f" ] || continue; if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f"; fi; done');
  t.equal(result.code, 0, result.stderr);
  const listed = result.stdout.split('\n').filter(Boolean);
  const expected = [];
  for (const name of ALLOWED_DIRS) {
    const stat = fs.lstatSync(name, { throwIfNoEntry: false });
    if (stat === undefined) continue;
    const target = stat.isSymbolicLink() ? fs.readlinkSync(name) : undefined;
    // A link that leads into sight stays a link; one that leads elsewhere is bound as what it leads to.
    const real = fs.realpathSync(name);
    const kept = target !== undefined && ALLOWED_DIRS.some((dir) => dir !== name && (real === dir || real.startsWith(`${dir}/`)) && fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory());
    expected.push(kept ? `${name} -> ${target}` : name);
  }
  for (const name of [...HIDDEN_DIRS, ...FRESH_DIRS]) if (fs.existsSync(name)) expected.push(name);
  expected.push(...own);
  t.same(listed.sort(), expected.sort(), 'only the allowed directories, the empty ones and the box\'s own');
  if (extra !== undefined) t.notOk(listed.includes(extra), `${extra}, made on the host, is not there`);
  const empty = await runSh(`find ${[...HIDDEN_DIRS.filter((dir) => dir !== '/var' && fs.existsSync(dir))].join(' ')} -mindepth 1 | wc -l; touch /x 2>&1`);
  t.match(empty.stdout, /^0\n.*Read-only file system/, 'the empty directories are empty, the root read-only');
});

t.test('a bind target under a directory the box does not have is made, and the root stays read-only', async (t) => {
  const source = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cordon-bind-'));
  t.teardown(() => removeTree(source));
  fs.chmodSync(source, 0o777);
  const result = await runSh('echo written > /work/tenant/app/out && cat /work/tenant/app/out; ls /work; touch /work/x 2>&1; true', {
    mounts: [{ type: 'bind', source, target: '/work/tenant/app', readonly: false }],
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^written\ntenant\n.*\/work\/x.*Read-only file system/);
  t.equal(fs.readFileSync(path.join(source, 'out'), 'utf8'), 'written\n');
});

t.test("no host socket inode is reachable: /proc/net/unix and a walk of the state directories", async (t) => {
  if (STATE_DIRS.length > 0) await listener(t, STATE_DIRS[0]); // at least one to find
  if (isRoot) await listener(t, '/');
  forgetHostSockets();
  const paths = new Set();
  for (const line of fs.readFileSync('/proc/net/unix', 'latin1').split('\n')) {
    const match = / (\/.*)$/.exec(line);
    if (match) paths.add(match[1]);
  }
  const roots = ['/run', '/var', '/tmp', '/home', '/root', '/srv'].filter((dir) => fs.existsSync(dir));
  const found = spawnSync('find', [...roots, '-xdev', '-type', 's'], { encoding: 'utf8', timeout: 60000, maxBuffer: 16 << 20 });
  for (const line of found.stdout.split('\n')) if (line) paths.add(line);
  const list = [...paths].slice(0, 2000);
  t.ok(list.length > 0, `${list.length} host sockets to try`);
  const results = await connectFromBox(list);
  const reached = list.filter((socketPath) => !UNREACHED.has(results[socketPath]));
  t.same(reached.map((socketPath) => `${socketPath}: ${results[socketPath]}`), [], 'the box reaches none');
});

t.test("the caller's home is hidden: $HOME and the passwd entry's", async (t) => {
  // A system directory stands in for a home (no user can make one outside
  // every hidden directory): set as $HOME, the box sees it empty.
  const stand = ['/usr/share/common-licenses', '/usr/share/doc', '/usr/share/zoneinfo', '/usr/share/misc']
    .find((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((name) => fs.statSync(path.join(dir, name)).isFile()));
  if (!requireOrSkip(t, stand !== undefined, 'no readable directory under /usr/share to stand in for a home')) return;
  const file = path.join(stand, fs.readdirSync(stand).find((name) => fs.statSync(path.join(stand, name)).isFile()));
  const saved = process.env.HOME;
  t.teardown(() => {
    process.env.HOME = saved;
  });
  process.env.HOME = stand;
  const hidden = await runSh(`ls -A ${stand} | wc -l; cat ${file} >/dev/null 2>&1 && echo readable || echo unreadable`);
  t.equal(hidden.stdout, '0\nunreadable\n', `${stand} as $HOME is empty in the box`);
  process.env.HOME = saved;
  const shown = await runSh(`cat ${file} >/dev/null 2>&1 && echo readable || echo unreadable`);
  t.equal(shown.stdout.trim(), 'readable', 'the same directory is shown when it is nobody\'s home');

  // HOME at the root or a system directory hides nothing of the system.
  for (const home of ['/', '/usr', '/etc']) {
    process.env.HOME = home;
    const result = await runSh('test -r /etc/passwd && test -x /usr/bin/env && echo ok');
    t.equal(result.stdout.trim(), 'ok', `HOME=${home} leaves the system in sight`);
  }
  process.env.HOME = saved;

  // The passwd home (root's /root here, or the unprivileged pass's $HOME, a scratch dir under /tmp).
  const passwdHome = require('node:os').userInfo().homedir;
  const result = await runSh(`ls -A ${passwdHome} 2>/dev/null | wc -l; find /root /home -mindepth 1 | wc -l`);
  t.equal(result.stdout, '0\n0\n', `${passwdHome}, /root and /home are empty`);
});

t.test("a fake home with secrets under an allowed directory: unreadable from a box", async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (needs an allowed directory (/opt) this user may write: root only (the home above covers both))')) return;
  const home = fs.mkdtempSync('/opt/cordon-test-home-');
  t.teardown(() => removeTree(home));
  fs.chmodSync(home, 0o755);
  fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o755 });
  fs.writeFileSync(path.join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY\n', { mode: 0o644 });
  fs.writeFileSync(path.join(home, '.npmrc'), '//registry.npmjs.org/:_authToken=secret\n', { mode: 0o644 });
  const saved = process.env.HOME;
  t.teardown(() => {
    process.env.HOME = saved;
  });
  process.env.HOME = home;
  const result = await runSh(`cat ${home}/.ssh/id_ed25519 ${home}/.npmrc 2>&1; ls -A ${home} | wc -l`);
  t.notMatch(result.stdout, /PRIVATE KEY|secret/);
  t.match(result.stdout, /\n?0\n$/);
  // An explicit bind under it still works.
  const bound = await runSh(`cat ${home}/.npmrc; touch ${home}/x 2>&1 || echo home-read-only`, {
    mounts: [{ type: 'bind', source: path.join(home, '.npmrc'), target: path.join(home, '.npmrc') }],
  });
  t.match(bound.stdout, /_authToken=secret/);
  t.match(bound.stdout, /home-read-only/);
});

t.test('a bind under a hidden directory works, and the directory stays read-only', async (t) => {
  const source = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cordon-bind-'));
  t.teardown(() => removeTree(source));
  fs.chmodSync(source, 0o777);
  const result = await runSh('echo written > /home/tenant/app/out && cat /home/tenant/app/out; touch /home/x 2>&1; touch /var/x 2>&1; ls /var', {
    mounts: [{ type: 'bind', source, target: '/home/tenant/app', readonly: false }],
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^written\n/);
  t.match(result.stdout, /touch: .*\/home\/x.*Read-only file system/);
  t.match(result.stdout, /touch: .*\/var\/x.*Read-only file system/);
  t.match(result.stdout, /lock\nrun\ntmp\n$/);
  t.equal(fs.readFileSync(path.join(source, 'out'), 'utf8'), 'written\n');
});

t.test('/run and /var/tmp: empty and writable; the host state is gone', async (t) => {
  const result = await runSh('ls -A /run | wc -l; echo x > /run/pid && cat /run/pid; echo y > /var/tmp/f && cat /tmp/f; find /srv /mnt /media /boot -mindepth 1 2>/dev/null | wc -l');
  t.equal(result.stdout, '0\nx\ny\n0\n', result.stderr);
});

t.test('an exec under a hidden directory fails with a hint to bind it', async (t) => {
  const { error } = await spawnError('/root/bin/tool');
  t.equal(error.code, 'ENOENT');
  t.match(error.hint, /\/root\/bin\/tool is under \/root.*source: '\/root\/bin'/);
  // Any directory outside the allowlist: the hint names its top level.
  const work = await spawnError('/work/tenant/bin/tool');
  t.equal(work.error.code, 'ENOENT');
  t.match(work.error.hint, /\/work\/tenant\/bin\/tool is under \/work, .*only the host's system directories.*source: '\/work\/tenant\/bin'/);
  // A bind beside it does not change that; one over it does (the mount decides).
  const beside = await spawnError('/work/tenant/bin/tool', [], { mounts: [{ type: 'tmpfs', target: '/work/other' }] });
  t.match(beside.error.hint, /is under \/work,/);
  const over = await spawnError('/work/tenant/bin/tool', [], { mounts: [{ type: 'tmpfs', target: '/work/tenant' }] });
  t.notMatch(over.error.hint ?? '', /is under/);
});

t.test('/sys: a fresh sysfs with only lo, and no cgroup tree', async (t) => {
  t.ok(fs.readdirSync('/sys/class/net').length >= 1, 'the host has interfaces');
  const result = await runSh('ls /sys/class/net; echo --; ls -A /sys/fs/cgroup | wc -l; touch /sys/x 2>&1 || true');
  t.equal(result.code, 0, result.stderr);
  const [nets, rest] = result.stdout.split('--\n');
  t.equal(nets, 'lo\n', 'only the box\'s own interfaces');
  t.match(rest, /^0\n/, '/sys/fs/cgroup is empty');
  t.match(rest, /Read-only file system/);
});

t.test('/sys of a bridge box: lo and its own veth', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (bridge networking needs a root caller)')) return;
  const bridge = probe().network.bridge;
  if (!requireOrSkip(t, bridge.available, `no bridge networking here: ${bridge.reason}`)) return;
  // A bridge of this test's own (cordon makes it and removes it when the process exits).
  const result = await runSh('ls /sys/class/net', { network: { bridge: 'cdt-hostview', subnet: '10.233.0.1/24' } });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'eth0\nlo\n');
});

t.test("/sys with the host's network: nothing at all", async (t) => {
  const result = await runSh('ls -A /sys | wc -l; ls /sys/class/net 2>&1 | head -1', { network: 'host' });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^0\n.*No such file/);
});

t.test('/sys/fs/cgroup of a box with a cgroup: its own, read-only', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: this host delegates no cgroup to an unprivileged user)')) return;
  const report = probe().cgroup;
  if (!requireOrSkip(t, report.mode === 'v2' || report.mode === 'hybrid', 'no cgroup v2 hierarchy on this host')) return;
  const result = await runSh('cat /sys/fs/cgroup/cgroup.procs | wc -l; find /sys/fs/cgroup -mindepth 1 -type d | wc -l; mkdir /sys/fs/cgroup/x 2>&1 || true; cat /proc/self/cgroup | grep "^0::"', { cgroup: { pids: { max: 64 } } });
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.ok(Number(lines[0]) >= 1 && Number(lines[0]) <= 4, `only the box's processes in its cgroup (${lines[0]})`);
  t.equal(lines[1], '0', 'no other cgroup below it: not the host tree');
  t.match(result.stdout, /Read-only file system/);
  t.match(result.stdout, /^0::\/$/m);
});

t.test('/tmp, /dev/shm and /run are sized: filling one fails with ENOSPC', async (t) => {
  for (const dir of ['/tmp', '/dev/shm', '/run']) {
    const result = await runSh(`dd if=/dev/zero of=${dir}/fill bs=1M count=128 2>&1; du -m ${dir}/fill`, { tmpSize: 4 << 20 });
    t.match(result.stdout, /No space left on device/, `${dir} full`);
    t.match(result.stdout, /^4\s/m, `${dir} holds 4 MiB`);
  }
  const fallback = await runSh('dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1; du -m /tmp/fill');
  t.match(fallback.stdout, /No space left on device/);
  t.match(fallback.stdout, /^64\s/m, 'default 64 MiB');
  const replaced = await runSh('dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1; du -m /tmp/fill', { mounts: [{ type: 'tmpfs', target: '/tmp', size: 2 << 20, mode: 0o1777 }] });
  t.match(replaced.stdout, /^2\s/m, 'a tmpfs entry in mounts replaces /tmp');
});

t.test('tmpSize is checked', async (t) => {
  const { spawnIsolated } = require('../..');
  t.throws(() => spawnIsolated('/bin/true', [], { tmpSize: 100 }), { code: 'ERR_INVALID_ARG_VALUE', option: 'tmpSize' });
  t.throws(() => spawnIsolated('/bin/true', [], { tmpSize: '1M' }), { code: 'ERR_INVALID_ARG_TYPE', option: 'tmpSize' });
  t.throws(() => spawnIsolated('/bin/true', [], { tmpSize: 1 << 20, namespaces: { mount: 'host' } }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS' });
});
