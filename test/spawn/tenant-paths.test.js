// Host paths a tenant can write are resolved without following symlinks:
// the persistent upper layer, bind sources and listen socket directories.
// Each test is an attack a tenant can mount by planting links in what it
// owns, or a leak of host paths to the box.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const t = require('tap');
const { spawnIsolated } = require('../..');
const { run, isRoot } = require('../helpers/payload');
const { busyboxUsable, scratch, busyboxImage, env } = require('../helpers/images');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

// The box's root as the host sees it (the default map).
const BOX_UID = isRoot ? 65534 : process.geteuid();
const BOX_GID = isRoot ? 65534 : process.getegid();
const OTHER_USER = 65533;

function own(p, uid = BOX_UID, gid = BOX_GID) {
  fs.lchownSync(p, uid, gid);
  return p;
}

function ownTree(dir) {
  own(dir);
  if (fs.lstatSync(dir).isDirectory()) for (const entry of fs.readdirSync(dir)) ownTree(path.join(dir, entry));
  return dir;
}

/**
 * Runs a box and resolves with how it ended: { error } when the spawn
 * failed (emitted and rejected alike), else { code, stdout, stderr }.
 * A spawn that throws synchronously resolves with { thrown }.
 */
async function attempt(file, args, options) {
  let box;
  try {
    box = spawnIsolated(file, args, { env, ...options });
  } catch (thrown) {
    return { thrown };
  }
  const emitted = new Promise((resolve) => box.once('error', resolve));
  const out = [];
  const err = [];
  box.stdout?.on('data', (d) => out.push(d));
  box.stderr?.on('data', (d) => err.push(d));
  try {
    const result = await box.exited;
    return { code: result.code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  } catch (rejected) {
    const error = await emitted;
    if (error !== rejected) throw new Error('exited did not reject with the emitted error');
    return { error };
  }
}

function assertRefused(t, outcome, { code, step, path: expectedPath, hint }) {
  t.notOk(outcome.thrown, `nothing is thrown synchronously${outcome.thrown ? `: ${outcome.thrown.stack}` : ''}`);
  t.ok(outcome.error, `the spawn fails${outcome.error ? '' : `; it ran instead: ${JSON.stringify(outcome.stdout ?? '')}`}`);
  if (!outcome.error) return;
  const error = outcome.error;
  t.equal(error.name, 'CordonError', error.message);
  t.equal(error.code, code, error.message);
  t.match(error.step, step, 'the step is named');
  t.equal(error.path, expectedPath, 'the path is named');
  t.match(error.hint ?? '', hint, 'the hint says what to do');
}

/** A layered box's pieces: a busybox template and two tenants' persistent dirs. */
function layered(t) {
  const base = scratch(t, 'cordon-tenant-');
  const system = ownTree(busyboxImage(path.join(base, 'system')));
  const tenants = path.join(base, 'tenants');
  fs.mkdirSync(tenants, { mode: 0o755 });
  const a = path.join(tenants, 'a');
  const b = path.join(tenants, 'b');
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  own(a);
  own(b);
  return { base, system, a, b };
}

/** Tenant b writes a secret into its persistent layer through a box. */
async function plantSecret(t, system, b) {
  const wrote = await run('/bin/sh', ['-c', 'echo b-secret > /secret'], { rootfs: { layers: [system], upper: { dir: b } }, env });
  t.equal(wrote.code, 0, `tenant b writes its layer: ${wrote.stderr}`);
}

t.test('a planted upper -> another tenant\'s upper is refused', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { system, a, b } = layered(t);
  await plantSecret(t, system, b);
  fs.symlinkSync('../b/upper', path.join(a, 'upper'));
  own(path.join(a, 'upper'));
  const outcome = await attempt('/bin/cat', ['/secret'], { rootfs: { layers: [system], upper: { dir: a } } });
  assertRefused(t, outcome, { code: 'ELOOP', step: /upper layer/, path: path.join(a, 'upper'), hint: /symlink/ });
  t.notMatch(outcome.stdout ?? '', /b-secret/, 'tenant a never reads tenant b\'s files');
});

t.test('a planted work -> a path outside is refused, and nothing is made there', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { base, system, a } = layered(t);
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside, { mode: 0o755 });
  own(outside);
  // Relative, so it resolves the same on the host and under /oldroot.
  fs.symlinkSync(path.relative(a, outside), path.join(a, 'work'));
  own(path.join(a, 'work'));
  const outcome = await attempt('/bin/true', [], { rootfs: { layers: [system], upper: { dir: a } } });
  assertRefused(t, outcome, { code: 'ELOOP', step: /upper layer/, path: path.join(a, 'work'), hint: /symlink/ });
  t.same(fs.readdirSync(outside), [], 'overlay made nothing outside the tenant dir');
});

t.test('a planted upper.dir symlink is refused too', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { base, system, b } = layered(t);
  const link = path.join(base, 'tenants', 'c');
  fs.symlinkSync('b', link);
  const outcome = await attempt('/bin/true', [], { rootfs: { layers: [system], upper: { dir: link } } });
  assertRefused(t, outcome, { code: 'ELOOP', step: /upper layer/, path: link, hint: /symlink/ });
  t.same(fs.readdirSync(b), [], 'nothing was made in the link\'s target');
});

t.test('a foreign-owned upper is refused', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: an unprivileged caller cannot make a directory another user owns)')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { system, a } = layered(t);
  fs.mkdirSync(path.join(a, 'upper'));
  fs.writeFileSync(path.join(a, 'upper', 'theirs'), 'foreign\n');
  own(path.join(a, 'upper'), OTHER_USER, OTHER_USER);
  const outcome = await attempt('/bin/cat', ['/theirs'], { rootfs: { layers: [system], upper: { dir: a } } });
  assertRefused(t, outcome, { code: 'EPERM', step: /upper layer/, path: path.join(a, 'upper'), hint: /own/ });
  t.equal(fs.statSync(path.join(a, 'upper')).uid, OTHER_USER, 'the foreign directory was not taken over');
});

t.test('a tenant\'s persistent files are closed to other host users', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { system, a } = layered(t);
  fs.chmodSync(a, 0o755);
  const result = await run('/bin/sh', ['-c', 'echo private > /data; ls -ld / | head -c 10; echo'], { rootfs: { layers: [system], upper: { dir: a } }, env });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), 'drwxr-xr-x', 'the box\'s root stays 0755 (it is the upper directory)');
  t.equal(fs.statSync(a).mode & 0o777, 0o700, 'the tenant dir the box root owns is 0700');
  t.equal(fs.statSync(path.join(a, 'work')).mode & 0o777, 0o700, 'work is 0700');
  t.equal(fs.statSync(path.join(a, 'upper')).uid, BOX_UID, 'upper belongs to the box root');
  if (isRoot) {
    const read = spawnSync('setpriv', [`--reuid=${OTHER_USER}`, `--regid=${OTHER_USER}`, '--clear-groups', 'cat', path.join(a, 'upper', 'data')]);
    t.not(read.status, 0, 'another host user cannot read the file');
    t.match(read.stderr.toString(), /Permission denied/);
  }
});

t.test('a tenant dir the caller owns is opened to the box root\'s group only', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: unprivileged, the caller is the box root)')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { system, a } = layered(t);
  fs.chownSync(a, 0, 0);
  fs.chmodSync(a, 0o755);
  const result = await run('/bin/sh', ['-c', 'echo private > /data'], { rootfs: { layers: [system], upper: { dir: a } }, env });
  t.equal(result.code, 0, result.stderr);
  const info = fs.statSync(a);
  t.equal(info.uid, 0, 'the owner stays');
  t.equal(info.gid, BOX_GID, 'the box root\'s group may enter');
  t.equal(info.mode & 0o777, 0o710, 'others may not');
  const read = spawnSync('setpriv', [`--reuid=${OTHER_USER}`, `--regid=${OTHER_USER}`, '--clear-groups', 'cat', path.join(a, 'upper', 'data')]);
  t.not(read.status, 0, 'another host user cannot read the file');
});

t.test('rootfs.upper.dir whose parent is missing fails the box with step, path and hint', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { base, system } = layered(t);
  const dir = path.join(base, 'missing', 'tenant');
  const outcome = await attempt('/bin/true', [], { rootfs: { layers: [system], upper: { dir } } });
  assertRefused(t, outcome, { code: 'ENOENT', step: /upper layer/, path: dir, hint: /exist/ });
});

t.test('mountinfo of a layered box names no host path of its layers or upper', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { base, system, a } = layered(t);
  const result = await run('/bin/cat', ['/proc/self/mountinfo'], { rootfs: { layers: [system], upper: { dir: a } }, env });
  t.equal(result.code, 0, result.stderr);
  const overlay = result.stdout.split('\n').find((line) => / - overlay /.test(line));
  t.ok(overlay, 'the overlay root is listed');
  t.notMatch(result.stdout, base, 'no host path of the layers or the upper');
  t.notMatch(result.stdout, /oldroot/, 'no staging path that leads to the host');
  t.match(overlay, /upperdir=/, 'it is the layered root');
});

t.test('template layers may be reached through a symlink, absolute or relative', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const { base, system } = layered(t);
  fs.symlinkSync(system, path.join(base, 'current'));
  fs.symlinkSync('system', path.join(base, 'relative'));
  for (const layer of [path.join(base, 'current'), path.join(base, 'relative')]) {
    const result = await run('/bin/sh', ['-c', 'echo ok'], { rootfs: { layers: [layer], upper: 'tmpfs' }, env });
    t.equal(result.stdout, 'ok\n', `${path.basename(layer)}: ${result.stderr}`);
  }
});

t.test('a bind source with a symlinked component is refused; followSymlinks opts in', async (t) => {
  const base = scratch(t, 'cordon-bind-');
  const real = path.join(base, 'tenant', 'www');
  fs.mkdirSync(path.join(real, 'public'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(real, 'public', 'index'), 'theirs\n');
  for (const p of [path.join(base, 'tenant'), real, path.join(real, 'public')]) fs.chmodSync(p, 0o755);
  fs.symlinkSync('tenant', path.join(base, 'link'));
  const source = path.join(base, 'link', 'www', 'public');
  const outcome = await attempt('/bin/cat', ['/mnt/index'], { mounts: [{ type: 'bind', source, target: '/mnt' }] });
  assertRefused(t, outcome, { code: 'ELOOP', step: 'mounts[0] bind', path: source, hint: /followSymlinks/ });
  t.equal(outcome.error?.syscall, 'openat2', 'the source is resolved with openat2');

  const followed = await run('/bin/cat', ['/mnt/index'], { mounts: [{ type: 'bind', source, target: '/mnt', followSymlinks: true }], env: { PATH: '/usr/bin:/bin' } });
  t.equal(followed.code, 0, followed.stderr);
  t.equal(followed.stdout, 'theirs\n', 'followSymlinks: true follows the link');

  // An absolute link means the host path it names, not one of cordon's staging area.
  fs.symlinkSync(path.join(base, 'tenant'), path.join(base, 'absolute'));
  const absolute = await run('/bin/cat', ['/mnt/index'], { mounts: [{ type: 'bind', source: path.join(base, 'absolute', 'www', 'public'), target: '/mnt', followSymlinks: true }], env: { PATH: '/usr/bin:/bin' } });
  t.equal(absolute.stdout, 'theirs\n', `an absolute link is followed as the host would: ${absolute.stderr}`);

  const resolved = await run('/bin/cat', ['/mnt/index'], { mounts: [{ type: 'bind', source: fs.realpathSync(source), target: '/mnt' }], env: { PATH: '/usr/bin:/bin' } });
  t.equal(resolved.stdout, 'theirs\n', 'the resolved path binds by default');
});

t.test('a followed link that leads under /tmp binds the host\'s /tmp, not the box\'s root built there', async (t) => {
  // A default box's root is mounted over /tmp of its copy of the host's
  // tree while it is built; a link from elsewhere into /tmp must still mean
  // the host's /tmp.
  const target = scratch(t, 'cordon-bind-');
  fs.writeFileSync(path.join(target, 'index'), 'host tmp\n');
  const links = fs.mkdtempSync('/var/tmp/cordon-link-');
  t.teardown(() => fs.rmSync(links, { recursive: true, force: true }));
  fs.chmodSync(links, 0o755);
  fs.symlinkSync(target, path.join(links, 'to-tmp'));
  const result = await run('/bin/cat', ['/mnt/index'], { mounts: [{ type: 'bind', source: path.join(links, 'to-tmp'), target: '/mnt', followSymlinks: true }], env: { PATH: '/usr/bin:/bin' } });
  t.equal(result.stdout, 'host tmp\n', `the host's file: ${result.stderr}`);
});

t.test('a symlink as the last component of a bind source is refused too', async (t) => {
  const base = scratch(t, 'cordon-bind-');
  fs.mkdirSync(path.join(base, 'real'), { mode: 0o755 });
  fs.symlinkSync(path.join(base, 'real'), path.join(base, 'last'));
  const source = path.join(base, 'last');
  const outcome = await attempt('/bin/true', [], { mounts: [{ type: 'bind', source, target: '/mnt' }] });
  assertRefused(t, outcome, { code: 'ELOOP', step: 'mounts[0] bind', path: source, hint: /followSymlinks/ });
});

t.test('an idmapped bind source with a symlinked component is refused', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root only: idmapped mounts need a root caller)')) return;
  const base = scratch(t, 'cordon-bind-');
  fs.mkdirSync(path.join(base, 'real'), { mode: 0o755 });
  fs.symlinkSync('real', path.join(base, 'link'));
  const source = path.join(base, 'link');
  const outcome = await attempt('/bin/true', [], { mounts: [{ type: 'bind', source, target: '/mnt', idmap: { uid: 0, gid: 0 } }] });
  assertRefused(t, outcome, { code: 'ELOOP', step: 'mounts[0] bind', path: source, hint: /followSymlinks/ });
});

t.test('a listen socket under a symlinked directory is refused, and nothing is made there', async (t) => {
  const base = scratch(t, 'cordon-listen-');
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(elsewhere, { mode: 0o755 });
  fs.mkdirSync(path.join(base, 'tenant'), { mode: 0o755 });
  fs.symlinkSync(elsewhere, path.join(base, 'tenant', 'run'));
  const socketPath = path.join(base, 'tenant', 'run', 'app.sock');
  const outcome = await attempt('/bin/true', [], { listen: [{ path: socketPath }] });
  assertRefused(t, outcome, { code: 'ELOOP', step: /listen/, path: socketPath, hint: /symlink/ });
  t.same(fs.readdirSync(elsewhere), [], 'no socket appeared in the link\'s target');

  // A link deeper down, in a directory cordon would make the rest of.
  const deeper = path.join(base, 'tenant', 'run', 'sub', 'app.sock');
  const again = await attempt('/bin/true', [], { listen: [{ path: deeper }] });
  assertRefused(t, again, { code: 'ELOOP', step: /listen/, path: deeper, hint: /symlink/ });
  t.same(fs.readdirSync(elsewhere), [], 'no directory appeared in the link\'s target');
});

t.test('a listen socket in a directory cordon makes works and is cleaned up', async (t) => {
  const base = scratch(t, 'cordon-listen-');
  const socketPath = path.join(base, 'run', 'tenant', 'app.sock');
  const box = spawnIsolated('/bin/sleep', ['30'], { listen: [{ path: socketPath, mode: 0o600 }], stdio: 'ignore' });
  box.on('error', (error) => t.fail(error.message));
  await new Promise((resolve) => box.once('spawn', resolve));
  const info = fs.lstatSync(socketPath);
  t.ok(info.isSocket(), 'the socket is there');
  t.equal(info.mode & 0o777, 0o600, 'with its mode');
  t.equal(info.uid, BOX_UID, 'owned by the box root');
  t.equal(fs.statSync(path.join(base, 'run')).uid, BOX_UID, 'the directory cordon made too');
  box.kill();
  await box.exited.catch(() => {});
  t.notOk(fs.existsSync(path.join(base, 'run')), 'the directories cordon made are gone');
});

t.test('a socket directory swapped for a link while the box runs: cleanup removes nothing elsewhere', async (t) => {
  const base = scratch(t, 'cordon-listen-');
  const tenant = path.join(base, 'tenant');
  fs.mkdirSync(path.join(tenant, 'run'), { recursive: true, mode: 0o755 });
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(elsewhere, { mode: 0o755 });
  fs.writeFileSync(path.join(elsewhere, 'app.sock'), 'not yours to remove\n');
  const socketPath = path.join(tenant, 'run', 'app.sock');
  const box = spawnIsolated('/bin/sleep', ['30'], { listen: [{ path: socketPath }], stdio: 'ignore' });
  box.on('error', (error) => t.fail(error.message));
  await new Promise((resolve) => box.once('spawn', resolve));
  // The tenant, which can write its own directory, moves run away and
  // plants a link in its place.
  fs.renameSync(path.join(tenant, 'run'), path.join(tenant, 'run.old'));
  fs.symlinkSync(elsewhere, path.join(tenant, 'run'));
  box.kill();
  await box.exited.catch(() => {});
  t.equal(fs.readFileSync(path.join(elsewhere, 'app.sock'), 'utf8'), 'not yours to remove\n', 'the file behind the link stays');
  t.notOk(fs.existsSync(path.join(tenant, 'run.old', 'app.sock')), 'the socket cordon made is removed where it is');
});

t.test('a link planted as the socket itself is not replaced', async (t) => {
  const base = scratch(t, 'cordon-listen-');
  const target = path.join(base, 'target');
  fs.writeFileSync(target, 'kept\n');
  const socketPath = path.join(base, 'app.sock');
  fs.symlinkSync(target, socketPath);
  const outcome = await attempt('/bin/true', [], { listen: [{ path: socketPath }] });
  t.equal(outcome.error?.code, 'EEXIST', 'refused');
  t.equal(outcome.error?.path, socketPath);
  t.ok(fs.lstatSync(socketPath).isSymbolicLink(), 'the link stays');
  t.equal(fs.readFileSync(target, 'utf8'), 'kept\n', 'its target too');
});

t.test('a listen socket path cordon cannot make fails the box with step, path and hint', async (t) => {
  const socketPath = '/proc/nonexistent/x.sock';
  const outcome = await attempt('/bin/true', [], { listen: [{ path: socketPath }] });
  t.notOk(outcome.thrown, `nothing is thrown synchronously${outcome.thrown ? `: ${outcome.thrown.stack}` : ''}`);
  t.ok(outcome.error, 'the spawn fails');
  t.equal(outcome.error?.name, 'CordonError');
  t.match(outcome.error?.step ?? '', /listen/);
  t.equal(outcome.error?.path, socketPath);
  t.ok(outcome.error?.hint, 'with a hint');
});
