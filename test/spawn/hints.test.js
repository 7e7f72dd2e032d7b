// What a newcomer hits in the first hour, and the hint that says what to do
// about it: the error names the thing at fault (the directory, the mount
// point, the layer) and following the hint makes the spawn work.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { run, spawnError, isRoot } = require('../helpers/payload');
const { busyboxUsable, busyboxImage, scratch, env } = require('../helpers/images');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

/** A copy of /bin/true in a fresh directory with `mode`, under a scratch dir the box user can read. */
function programIn(t, mode) {
  const base = scratch(t, 'cordon-hints-');
  const dir = path.join(base, 'home');
  fs.mkdirSync(dir);
  const program = path.join(dir, 'true');
  fs.copyFileSync('/bin/true', program);
  fs.chmodSync(program, 0o755);
  fs.chmodSync(dir, mode);
  return { base, dir, program };
}

t.test('a program behind a directory the box user cannot enter: the hint names that directory', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: a box runs as another host uid than its caller (65534) only for a root caller; the /root case below covers this pass')) return;
  const { base, dir, program } = programIn(t, 0o700);
  const mounts = [{ type: 'bind', source: base, target: base }];
  const { error } = await spawnError(program, [], { mounts });
  t.equal(error.code, 'EACCES');
  t.equal(error.step, 'execve');
  t.match(error.hint, `the box user (host uid 65534) cannot enter ${dir} (mode 0700, owner 0)`);
  t.match(error.hint, `chmod o+x ${dir}`);
  t.match(error.message, `cannot enter ${dir} `, 'the message carries the hint');

  fs.chmodSync(dir, 0o711);
  const fixed = await run(program, [], { mounts });
  t.equal(fixed.code, 0, 'with the directory passable, the program runs');
});

t.test("a program under /root, bound in, which the box's host user cannot enter", async (t) => {
  const stat = fs.statSync('/root');
  const closed = stat.uid === 0 && (stat.mode & 0o001) === 0;
  if (!requireOrSkip(t, closed, `/root here is mode ${(stat.mode & 0o777).toString(8)}, owner ${stat.uid}: others may enter it`)) return;
  const { error } = await spawnError('/root/cordon-no-such-tool', [], { mounts: [{ type: 'bind', source: '/root', target: '/root' }] });
  t.equal(error.code, 'EACCES');
  const uid = isRoot ? 65534 : process.geteuid();
  t.match(error.hint, `the box user (host uid ${uid}) cannot enter /root (mode 0${(stat.mode & 0o777).toString(8)}, owner 0)`);
});

t.test("a program behind a link in the image: the hint follows it in the image, never on the host", async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: a box runs as another host uid than its caller (65534) only for a root caller')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static) for the image')) return;
  // /app -> /srv/locked in the image: the box resolves it in its root, to
  // the image's own /srv/locked (0700). On the host the same link would
  // lead to the host's /srv/locked, which is not the image's: before, the
  // hint walked the host's tree through the tenant's link (and named
  // nothing here, or the host's directory where the host has one).
  const image = busyboxImage(scratch(t, 'cordon-image-'));
  fs.mkdirSync(path.join(image, 'srv', 'locked'), { recursive: true });
  fs.copyFileSync('/bin/true', path.join(image, 'srv', 'locked', 'true'));
  fs.chmodSync(path.join(image, 'srv', 'locked', 'true'), 0o755);
  fs.chmodSync(path.join(image, 'srv', 'locked'), 0o700);
  fs.symlinkSync('/srv/locked', path.join(image, 'app'));
  const { error } = await spawnError('/app/true', [], { rootfs: { dir: image }, env });
  t.equal(error.code, 'EACCES');
  t.match(error.hint, `cannot enter ${path.join(image, 'srv', 'locked')} (mode 0700, owner 0)`, 'the image\'s directory is named');
});

t.test('a program that is simply not executable keeps the plain hint', async (t) => {
  const { base, program } = programIn(t, 0o755);
  fs.chmodSync(program, 0o644);
  const { error } = await spawnError(program, [], { mounts: [{ type: 'bind', source: base, target: base }] });
  t.equal(error.code, 'EACCES');
  t.match(error.hint, /not executable by the box user/);
  t.notMatch(error.hint, /cannot enter/, 'every directory on the way is passable: none is blamed');
});

t.test("a program under the host's /tmp: the box has a private /tmp, bind it", async (t) => {
  const { dir, program } = programIn(t, 0o755);
  t.ok(program.startsWith(`${os.tmpdir()}/`) && os.tmpdir() === '/tmp', 'the program sits in the host /tmp');
  const { error } = await spawnError(program, []);
  t.equal(error.code, 'ENOENT');
  t.equal(error.path, program);
  t.match(error.hint, 'the box has a private /tmp of its own');
  t.match(error.hint, `source: '${dir}', target: '${dir}'`);

  const fixed = await run(program, [], { mounts: [{ type: 'bind', source: dir, target: dir }] });
  t.equal(fixed.code, 0, 'bound as the hint says, it runs');
});

t.test('a rootfs image without /proc, /dev or /tmp: the error names the mount point to make', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static) for the image')) return;
  for (const missing of ['/proc', '/dev', '/tmp']) {
    const image = busyboxImage(scratch(t, 'cordon-image-'));
    fs.rmdirSync(path.join(image, missing));
    const { error } = await spawnError('/bin/true', [], { rootfs: { dir: image }, env });
    t.equal(error.code, 'EROFS', missing);
    t.equal(error.path, missing, `${missing}: the path is the missing mount point`);
    t.match(error.hint, `the image ${image} has no ${missing} to mount on`, missing);
    t.match(error.hint, `mkdir -p ${image}${missing}`, missing);

    fs.mkdirSync(path.join(image, missing), { mode: 0o755 });
    const fixed = await run('/bin/true', [], { rootfs: { dir: image }, env });
    t.equal(fixed.code, 0, `${missing}: made as the hint says, the box runs`);
  }
});

t.test('a host program exec\'d in an image box: it exists on the host, not in the image', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static) for the image')) return;
  const image = busyboxImage(scratch(t, 'cordon-image-'));
  t.notOk(fs.existsSync(path.join(image, 'usr/bin/env')), 'the image has no /usr/bin/env');
  const { error } = await spawnError('/usr/bin/env', [], { rootfs: { dir: image }, env });
  t.equal(error.code, 'ENOENT');
  t.match(error.hint, "/usr/bin/env exists on the host, but the box's root is its image (rootfs { dir })");
});

t.test('an overlay layer that is missing or not a directory is named, not the joined lowerdir', async (t) => {
  const base = scratch(t, 'cordon-layers-');
  const good = path.join(base, 'good');
  fs.mkdirSync(good);
  const missing = path.join(base, 'missing');
  const file = path.join(base, 'file');
  fs.writeFileSync(file, '');

  const gone = await spawnError('/bin/true', [], { rootfs: { layers: [good, missing], upper: 'tmpfs' } });
  t.equal(gone.error.code, 'ENOENT');
  t.equal(gone.error.path, missing);
  t.match(gone.error.hint, `rootfs.layers[1], ${missing}, does not exist on the host`);

  const notDir = await spawnError('/bin/true', [], { rootfs: { layers: [file, good], upper: 'tmpfs' } });
  t.equal(notDir.error.path, file, 'the layer, not its staging mount point');
  t.notMatch(notDir.error.message, /\/layers\//, 'not the staging mount point either');
  t.match(notDir.error.hint, `rootfs.layers[0], ${file}, is not a directory on the host`);
});
