// Red-team attacks on the sealed box that need the host's side: host sockets
// (out of sight outside the allowed directories; masked, or missed, under
// them), what one default box leaves for the next, the box's own cgroup
// under /sys/fs/cgroup, hard links through a tenant's overlay. The in-box attacks are in test/escape/escape.c (run by
// escape.test.js in both configurations); test/escape/README.md lists all.
//
// Attacks that still get through are marked `todo` with the reason; each
// asserts the real condition.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { buildEscapePayload, runToEnd, transcript } = require('../helpers/escape-payload');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, probe } = require('../..');
const { forgetHostSockets, hiddenByDefault } = require('../../dist/host-view');
const { subordinateRanges } = require('../../dist/identity');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');

const BOX_DIR = '/tmp/.escape';
const BOX_BIN = `${BOX_DIR}/escape`;

const UNLISTED_SOCKETS =
  'under an allowed directory (/usr, /etc, /opt, ...) the default view masks the host sockets /proc/net/unix of the supervisor\'s ' +
  'network namespace lists when the box starts, at the path each was bound to: a socket bound there later, to a relative path, in another ' +
  'network namespace, moved, or linked to a second name stays reachable on the read-only bind (needs a Landlock right for pathname sockets)';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-redteam-'));
fs.chmodSync(base, 0o755);
const { binDir, bin, built, problem: BUILD_PROBLEM } = buildEscapePayload(base);

const cleanups = [];
t.teardown(() => {
  for (const cleanup of cleanups.reverse()) {
    try {
      cleanup();
    } catch (error) {
      t.comment(`cleanup: ${error.message}`);
    }
  }
  removeTree(base);
});

const PATH_ENV = { PATH: '/usr/bin:/bin' };
const binMount = { type: 'bind', source: binDir, target: BOX_DIR };

/** Runs the payload to its end; resolves with the result or error and the output. */
function runBox(args, options, stdin) {
  return runToEnd(BOX_BIN, args, { timeout: 60_000, env: PATH_ENV, ...options }, stdin);
}

/** `path -> 'OK' | 'BLOCKED <errno>'` from connect-wait's lines. */
function connections(stdout) {
  const found = new Map();
  for (const line of stdout.split('\n')) {
    const match = line.match(/^connect (\S+) (OK|BLOCKED \S+)$/);
    if (match) found.set(match[1], match[2]);
  }
  return found;
}

async function listen(file) {
  const server = net.createServer((socket) => socket.destroy());
  cleanups.push(() => server.close());
  await new Promise((resolve, reject) => server.once('error', reject).listen(file, resolve));
  fs.chmodSync(file, 0o777);
  return server;
}

/** A fresh 0755 directory under the first of `parents` this caller may write and `fits`, removed at the end; or undefined. */
function writableDirUnder(parents, fits) {
  for (const parent of parents) {
    if (!fits(parent)) continue;
    try {
      const dir = fs.mkdtempSync(path.join(parent, '.cordon-redteam-'));
      fs.chmodSync(dir, 0o755);
      cleanups.push(() => removeTree(dir));
      return dir;
    } catch {
      // not writable by this caller
    }
  }
  return undefined;
}

/**
 * Binds a socket in `dir` every way /proc/net/unix does not name where it
 * is (and a listed control), starts a default box, binds one more after it
 * started, and has the box connect to each. Resolves with the sockets by
 * name, the box's verdicts, and the output.
 */
async function socketsFromBox(dir) {
  const sockets = {};
  // Control: bound before the spawn at its absolute path, listed.
  sockets.listed = path.join(dir, 'listed.sock');
  await listen(sockets.listed);
  // Bound to a relative path: /proc/net/unix shows "relative.sock".
  sockets.relative = path.join(dir, 'relative.sock');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await listen('relative.sock');
  } finally {
    process.chdir(cwd);
  }
  // Bound in a directory since renamed: listed under a path that is gone.
  fs.mkdirSync(path.join(dir, 'before'), { mode: 0o755 });
  await listen(path.join(dir, 'before', 'moved.sock'));
  fs.renameSync(path.join(dir, 'before'), path.join(dir, 'after'));
  sockets.moved = path.join(dir, 'after', 'moved.sock');
  // A second name for a listed socket.
  await listen(path.join(dir, 'first-name.sock'));
  sockets.linked = path.join(dir, 'second-name.sock');
  fs.linkSync(path.join(dir, 'first-name.sock'), sockets.linked);
  // Bound by a process in another network namespace (a container, a
  // service with PrivateNetwork=): not in this namespace's /proc/net/unix.
  let other;
  if (isRoot) {
    sockets.netns = path.join(dir, 'netns.sock');
    const script = `const net=require('net');const fs=require('fs');net.createServer(s=>s.destroy()).listen(${JSON.stringify(sockets.netns)},()=>{fs.chmodSync(${JSON.stringify(sockets.netns)},0o777);console.log('ready')});process.stdin.resume();process.stdin.on('end',()=>process.exit(0))`;
    other = require('node:child_process').spawn('unshare', ['--net', process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => other.kill('SIGKILL'));
    await new Promise((resolve) => {
      other.stdout.on('data', (d) => d.toString().includes('ready') && resolve());
      other.on('exit', resolve);
    });
  }

  forgetHostSockets();
  const box = spawnIsolated(BOX_BIN, ['connect-wait'], { env: PATH_ENV, mounts: [binMount], stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL' });
  box.on('error', () => {});
  let stdout = '';
  let stderr = '';
  box.stderr.on('data', (d) => (stderr += d));
  await new Promise((resolve) => {
    box.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (stdout.includes('ready')) resolve();
    });
    box.stdout.on('end', resolve);
  });
  // Bound after the box started (e.g. another tenant's listen socket).
  sockets.late = path.join(dir, 'late.sock');
  await listen(sockets.late);
  box.stdin.end(Object.values(sockets).join('\n'));
  await box.exited.catch(() => {});
  other?.stdin.end();
  return { sockets, inBox: connections(stdout), output: `stdout:\n${stdout}\nstderr:\n${stderr}` };
}

/** The same connects from the host all work: each socket is live. */
function checkLive(t, sockets) {
  const control = connections(spawnSync(bin, ['connect-wait'], { input: Object.values(sockets).join('\n'), encoding: 'utf8' }).stdout);
  for (const [name, file] of Object.entries(sockets)) {
    t.equal(control.get(file), 'OK', `control on the host: ${name} socket accepts`);
  }
}

const SOCKET_CASES = ['listed', 'relative', 'moved', 'linked', 'netns', 'late'];

t.test('host sockets outside the allowed directories are out of reach, however and whenever bound', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  // The checkout (e.g. /work/...: a platform's tenant directory), else a
  // state directory anyone may write; none is an allowed directory.
  const dir = writableDirUnder([path.join(__dirname, '..', '..'), '/var/tmp', '/run/lock', os.tmpdir()], (parent) => hiddenByDefault(parent) !== undefined);
  if (!requireOrSkip(t, dir !== undefined, 'no directory outside the allowed ones that this user may write')) return;
  t.comment(`sockets in ${dir}`);
  const { sockets, inBox, output } = await socketsFromBox(dir);
  checkLive(t, sockets);
  for (const name of SOCKET_CASES) {
    if (sockets[name] === undefined) continue;
    t.match(inBox.get(sockets[name]) ?? 'no verdict', /^BLOCKED/, `host-unix-hidden-${name}: ${inBox.get(sockets[name]) ?? 'no verdict'}`, { output });
  }
});

t.test('host sockets under the allowed directories: listed ones masked, the rest not', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  const dir = writableDirUnder(['/opt', '/usr/local', '/etc'], (parent) => hiddenByDefault(parent) === undefined);
  if (dir === undefined) {
    // Unprivileged here: nothing the box sees is the caller's to write, so
    // only another host user (a daemon) could put a socket there.
    t.notOk(isRoot, 'only an unprivileged caller has no directory both visible in a default box and writable');
    return;
  }
  t.comment(`sockets in ${dir}`);
  const { sockets, inBox, output } = await socketsFromBox(dir);
  checkLive(t, sockets);
  t.match(inBox.get(sockets.listed), /^BLOCKED/, `a listed socket is masked (${inBox.get(sockets.listed)})`, { output });
  // The mask is a mount of the box's own: the box tries to unmount every
  // mount point (the mask included), then to connect.
  forgetHostSockets();
  const unmask = await runBox([`ESCAPE_UNIX_HOST=${sockets.listed}`, 'unmount', 'host-unix-connect-host'], { mounts: [binMount] });
  t.match(unmask.stdout, /^unmount BLOCKED/m, `unmount-mask: ${unmask.stdout.match(/^unmount .*$/m)?.[0]}`, { output: transcript(unmask) });
  t.match(unmask.stdout, /^host-unix-connect-host BLOCKED/m, `the masked socket stays out of reach: ${unmask.stdout.match(/^host-unix-connect-host .*$/m)?.[0]}`, { output: transcript(unmask) });
  for (const name of SOCKET_CASES.slice(1)) {
    if (sockets[name] === undefined) continue;
    t.match(inBox.get(sockets[name]) ?? 'no verdict', /^BLOCKED/, `host-unix-unlisted-${name}: ${inBox.get(sockets[name]) ?? 'no verdict'}`, { todo: UNLISTED_SOCKETS, output });
  }
});

t.test("a default box's /run, /tmp and /dev/shm are its own: not the host's, not the next box's", async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  const name = `cordon-redteam-${process.pid}`;
  const files = ['/run', '/tmp', '/dev/shm'].map((dir) => `${dir}/${name}`);
  const writes = [];
  for (const file of files) writes.push(await runBox(['write', file, 'box\n'], { mounts: [binMount] }));
  writes.forEach((run, i) => t.equal(run.result?.code, 0, `the first box wrote ${files[i]}`, { output: transcript(run) }));
  const second = await runBox([`ESCAPE_FORBIDDEN=${files.join('\n')}`, 'forbidden-files'], { mounts: [binMount] });
  t.match(second.stdout, /^forbidden-files BLOCKED/m, `a second box sees none of them (${second.stdout.trim()})`, { output: transcript(second) });
  for (const file of files) t.notOk(fs.existsSync(file), `the host has no ${file}`);
});

// A cgroup needs root here or a delegated subtree (see test/spawn/cgroup.test.js).
const canCgroup = ['memory', 'pids'].every((c) => probe().cgroup.writableControllers.includes(c));

t.test("a default box with a cgroup: its own cgroup under /sys/fs/cgroup is read-only to it", async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  const options = { mounts: [binMount] };
  if (canCgroup) options.cgroup = { memory: { max: 256 * 1024 * 1024 }, pids: { max: 64 } };
  else t.comment('no cgroup: this caller has no delegated cgroup with memory and pids (root only here)');
  const run = await runBox(['cgroup-write', 'sysfs-write'], options);
  const output = transcript(run);
  t.match(run.stdout, /^cgroup-write BLOCKED/m, `cgroup-write: ${run.stdout.match(/^cgroup-write .*$/m)?.[0]}`, { output });
  t.match(run.stdout, /^sysfs-write BLOCKED/m, `sysfs-write: ${run.stdout.match(/^sysfs-write .*$/m)?.[0]}`, { output });
  if (canCgroup) {
    // Its own v2 cgroup is there (on a hybrid host the limits are in v1
    // hierarchies the box does not see), and refused: the mount is
    // read-only, and the files are not delegated to the box's root.
    t.match(run.stdout, /^cgroup-write BLOCKED .*cgroup\.procs: (EROFS|EACCES)/m, 'the box sees its own cgroup.procs, and may not write it', { output });
  }
});

// The hosting configuration's ids (see escape.test.js).
const RANGE_COUNT = 65536;
const subuid = subordinateRanges('/etc/subuid')[0];
const subgid = subordinateRanges('/etc/subgid')[0];
const HOSTING_PROBLEM = isRoot
  ? ''
  : !fs.existsSync('/usr/bin/newuidmap')
    ? 'needs newuidmap (Debian: uidmap) to map a range unprivileged'
    : subuid === undefined || subgid === undefined || subuid.count < RANGE_COUNT - 1 || subgid.count < RANGE_COUNT - 1
      ? 'needs 65,535-id ranges for this user in /etc/subuid and /etc/subgid (.ci/run adds nobody:300000:65536)'
      : '';
const idMaps = isRoot
  ? { uidMap: [{ inside: 0, outside: 1000000, count: RANGE_COUNT }], gidMap: [{ inside: 0, outside: 1000000, count: RANGE_COUNT }] }
  : {
    uidMap: [{ inside: 0, outside: process.geteuid(), count: 1 }, { inside: 1, outside: subuid?.start, count: RANGE_COUNT - 1 }],
    gidMap: [{ inside: 0, outside: process.getegid(), count: 1 }, { inside: 1, outside: subgid?.start, count: RANGE_COUNT - 1 }],
  };

t.test('a hard link to a template file made through the overlay is a copy in the tenant layer', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  if (!requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
  const template = path.join(base, 'template');
  fs.mkdirSync(path.join(template, 'etc'), { recursive: true, mode: 0o755 });
  const motd = path.join(template, 'etc', 'motd');
  fs.writeFileSync(motd, 'template\n', { mode: 0o644 });
  const tenant = path.join(base, 'tenant');
  fs.mkdirSync(tenant, { mode: 0o755 });
  const options = { rootfs: { layers: [template], upper: { dir: tenant } }, ...idMaps, mounts: [binMount] };
  const linked = await runBox(['link', '/etc/motd', '/etc/motd-link'], options);
  t.match(linked.stdout, /link (OK|FAILED)/, `the box tried (${linked.stdout.trim()})`, { output: transcript(linked) });
  // The box then rewrites its link: the template must not change.
  const write = await runBox(['write', '/etc/motd-link', 'tenant\n'], options);
  t.equal(fs.statSync(motd).nlink, 1, 'the template file has one name on the host', { output: transcript(linked) });
  t.equal(fs.readFileSync(motd, 'utf8'), 'template\n', 'the template file is unchanged', { output: transcript(write) });
  const copy = path.join(tenant, 'upper', 'etc', 'motd-link');
  if (fs.existsSync(copy)) t.not(fs.statSync(copy).ino, fs.statSync(motd).ino, "the tenant's link is a copy in its layer");
});

t.test("a bind from a tenant's directory: the box's mountinfo names the host path", async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  if (!requireOrSkip(t, HOSTING_PROBLEM === '', HOSTING_PROBLEM)) return;
  // A hosting layout: the tenant's persistent layer and a data directory
  // next to it, bound at /data. The overlay's options name neither (neutral
  // staging names), but a bind mount's root field in mountinfo is the path
  // of its source within its filesystem.
  const template = path.join(base, 'bind-template');
  fs.mkdirSync(path.join(template, 'etc'), { recursive: true, mode: 0o755 });
  const tenant = path.join(base, 'bind-tenant');
  fs.mkdirSync(tenant, { mode: 0o755 });
  const data = path.join(base, 'bind-tenant-data');
  fs.mkdirSync(data, { mode: 0o755 });
  const options = {
    rootfs: { layers: [template], upper: { dir: tenant } },
    ...idMaps,
    mounts: [binMount, { type: 'bind', source: data, target: '/data' }],
  };
  const run = await runBox([`ESCAPE_HOST_PATHS=${[template, tenant, data].join('\n')}`, 'mountinfo-host-paths'], options);
  const line = run.stdout.match(/^mountinfo-host-paths .*$/m)?.[0];
  t.match(line ?? 'no verdict', /^mountinfo-host-paths BLOCKED/, `mountinfo-host-paths with a bind: ${line}`, {
    todo: "a bind mount's root field in mountinfo is its source's path within its filesystem (here the tenant's data directory, and the payload's own bind); hiding it needs a mount that is not a bind of the host path",
    output: transcript(run),
  });
});

/** Host mount points under the directories the default view hides or replaces (not those directories themselves). */
function hostMountsUnderHidden() {
  const { HIDDEN_DIRS, FRESH_DIRS } = require('../../dist/host-view');
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4]).filter((point) =>
    point !== undefined && !point.includes('\\') && [...HIDDEN_DIRS, ...FRESH_DIRS].some((dir) => point.startsWith(`${dir}/`)));
}

t.test('host mount points under hidden directories in a default box\'s mountinfo', async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  let run;
  let points;
  if (isRoot) {
    // A supervisor in a mount namespace of its own (nothing changes on the
    // host) with a mount under a hidden directory: an empty tmpfs over the
    // first one present, and a tmpfs on a directory made in it.
    const { HIDDEN_DIRS } = require('../../dist/host-view');
    const hidden = HIDDEN_DIRS.find((dir) => fs.existsSync(dir));
    const point = `${hidden}/cordon-redteam-secret-${process.pid}`;
    points = [point];
    const script = `
      const { spawnIsolated } = require(process.env.CORDON);
      const box = spawnIsolated(${JSON.stringify(BOX_BIN)}, ['ESCAPE_HOST_PATHS=' + ${JSON.stringify(point)}, 'mountinfo-host-paths'], {
        env: { PATH: '/usr/bin:/bin' }, mounts: [${JSON.stringify(binMount)}], stdio: ['ignore', 'inherit', 'inherit'] });
      box.exited.then(() => process.exit(0), (error) => { console.log('spawn failed: ' + error.message); process.exit(1); });
    `;
    const shell = `mount -t tmpfs none ${hidden} && mkdir ${point} && mount -t tmpfs none ${point} && exec "$0" -e "$1"`;
    const child = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', shell, process.execPath, script], {
      env: { ...process.env, CORDON: path.join(__dirname, '..', '..') }, encoding: 'utf8', timeout: 60_000,
    });
    run = { stdout: child.stdout ?? '', stderr: `${child.stderr ?? ''}${child.error ? child.error.message : ''}` };
  } else {
    points = hostMountsUnderHidden();
    if (points.length === 0) {
      t.comment('the host has no mount under a hidden directory: nothing to list');
      t.same(points, [], 'no host mount under a hidden directory');
      return;
    }
    run = await runBox([`ESCAPE_HOST_PATHS=${points.join('\n')}`, 'mountinfo-host-paths'], { mounts: [binMount] });
  }
  t.comment(`host mount points: ${points.join(', ')}`);
  const line = run.stdout.match(/^mountinfo-host-paths .*$/m)?.[0];
  t.ok(line, 'the box ran the attack', { output: transcript(run) });
  // The box's root is a tmpfs of its own with only the allowed directories
  // bound in: the host's mounts elsewhere are not in its mount table at all.
  t.match(line ?? 'no verdict', /^mountinfo-host-paths BLOCKED/, `mountinfo-hidden-mounts: ${line}`, { output: transcript(run) });
});

t.test("a payload granted CAP_SYS_ADMIN without a filter unmounts its /proc: nothing of the host's underneath", async (t) => {
  // Explicit loosening: a payload that may unmount lifts the mounts cordon
  // made in its namespace. The box's /proc is mounted on an empty directory
  // of its own root tmpfs, not over the host's /proc, so nothing of the
  // host is underneath. (What still is: the socket masks and a hidden home
  // under an allowed directory, over the host's bind.)
  const script = `umount -l /proc && test -d /proc/${process.pid} && echo "host pid ${process.pid} visible"; true`;
  let box;
  try {
    box = spawnIsolated('/bin/sh', ['-c', script], { env: PATH_ENV, capabilities: ['CAP_SYS_ADMIN'], seccomp: false, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    t.match(error.code, /^E/, `refused: ${error.message}`);
    return;
  }
  box.on('error', () => {});
  let out = '';
  box.stdout.on('data', (d) => (out += d));
  box.stderr.on('data', (d) => (out += d));
  await box.exited.catch(() => {});
  t.notMatch(out, /host pid \d+ visible/, `unmount-proc-with-cap-sys-admin: ${out.trim() || 'the host\'s /proc stays out of sight'}`);
});

t.test("stdio 'inherit' of the supervisor's own pipes: the box reopens them the other way", async (t) => {
  if (!requireOrSkip(t, built, BUILD_PROBLEM)) return;
  // A supervisor run as `producer | supervisor | logger`: its stdin and
  // stdout are pipes a process of its own uid made, and a box with stdio
  // 'inherit' gets them. Through /proc/self/fd/N the box opens the read end
  // of the stdout pipe (what the supervisor and every other box log) or the
  // write end of the stdin pipe (input the supervisor reads). A pipe's
  // inode belongs to its maker's uid: the box's root, when the caller is
  // unprivileged. Node's own 'pipe' stdio are socket pairs, which cannot be
  // reopened.
  const script = `
    const { spawnIsolated } = require(process.env.CORDON);
    const box = spawnIsolated(${JSON.stringify(BOX_BIN)}, ['reopen-stdio'], { env: { PATH: '/usr/bin:/bin' }, mounts: [${JSON.stringify(binMount)}], stdio: 'inherit' });
    box.exited.then(() => process.exit(0), (error) => { console.log('spawn failed: ' + error.message); process.exit(1); });
  `;
  const child = spawnSync('sh', ['-c', ': | "$0" -e "$1" | cat', process.execPath, script], {
    env: { ...process.env, CORDON: path.join(__dirname, '..', '..') }, encoding: 'utf8', timeout: 60_000,
  });
  const line = child.stdout.match(/^reopen-stdio .*$/m)?.[0];
  t.ok(line, 'the box ran the attack', { output: child.stdout + child.stderr });
  t.match(line ?? 'no verdict', /^reopen-stdio BLOCKED/, `reopen-stdio-inherit: ${line}`, {
    ...(isRoot ? {} : { todo: "unprivileged, a pipe the caller's uid made belongs to the box's root, which may reopen it through /proc/self/fd; needs a relay pipe per box for 'inherit', or a box root that is not the caller" }),
    output: child.stdout + child.stderr,
  });
});
