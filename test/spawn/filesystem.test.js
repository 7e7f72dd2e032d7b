// Filesystem isolation, proven from inside the box: roots, layers, mounts,
// the classic escapes, safe path resolution, and nothing left on the host.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated } = require('../..');
const { run, runSh, spawnError, isRoot } = require('../helpers/payload');
const { busyboxUsable, scratch, busyboxImage, hostState, hostMounts, env } = require('../helpers/images');
const { requireOrSkip } = require('../helpers/skip');

// Hosting platforms give templates an owner the box maps; here: the box root.
function ownImage(dir) {
  const uid = isRoot ? 65534 : process.geteuid();
  const gid = isRoot ? 65534 : process.getegid();
  const walk = (p) => {
    fs.lchownSync(p, uid, gid);
    if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  return dir;
}

function newMounts(before) {
  const old = new Set(before.mounts.split('\n'));
  return hostMounts().split('\n').filter((line) => line && !old.has(line));
}

function assertNothingLeft(t, before, dirs = []) {
  const added = newMounts(before)
    .filter((line) => /overlay|tmpfs|newroot|oldroot|cordon/.test(line) || dirs.some((d) => line.includes(d)));
  t.same(added, [], 'no mount of the box appears on the host');
}

t.test('default root: the host, read-only, with private /tmp, fresh /proc and a minimal /dev', async (t) => {
  const before = hostState();
  const result = await runSh('test -e /etc/passwd && echo host-files; touch /etc/cordon-x 2>&1 || echo etc-readonly; ' +
    'echo hi > /tmp/f && cat /tmp/f; ls /tmp; ls /dev | tr "\\n" " "; echo; ls /proc | grep -c "^[0-9]"');
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.equal(lines[0], 'host-files');
  t.match(result.stdout, /Read-only file system|etc-readonly/);
  t.ok(lines.includes('hi'));
  t.notOk(fs.existsSync('/etc/cordon-x'), 'nothing written to the host');
  t.match(result.stdout, /fd full null ptmx pts random shm stderr stdin stdout tty urandom zero/);
  const processes = Number(lines.at(-1));
  t.ok(processes <= 4, `only the box's processes in /proc (${processes})`);
  assertNothingLeft(t, before);
});

t.test('default /dev: each node bound nosuid and noexec, the tmpfs under them too', async (t) => {
  const result = await runSh('cat /proc/self/mountinfo');
  t.equal(result.code, 0, result.stderr);
  const options = new Map(result.stdout.trim().split('\n').map((line) => line.split(' ')).map((f) => [f[4], f[5].split(',')]));
  for (const node of ['/dev', '/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']) {
    t.ok(options.has(node), `${node} is a mount`);
    t.ok(options.get(node)?.includes('nosuid') && options.get(node)?.includes('noexec'), `${node}: ${options.get(node)}`);
  }
});

t.test('the host /tmp is not the box /tmp', async (t) => {
  const dir = scratch(t);
  fs.writeFileSync(path.join(dir, 'secret'), 'host');
  const result = await runSh(`test -e ${dir}/secret && echo visible || echo hidden`);
  t.equal(result.stdout.trim(), 'hidden');
});

t.test('a directory root: host files outside it are invisible', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (apt-get install busybox-static)')) return;
  const image = busyboxImage(path.join(scratch(t), 'image'), { 'etc/motd': 'image\n' });
  const before = hostState();
  const result = await run('/bin/sh', ['-c', 'ls /; cat /etc/motd; test -e /usr && echo usr || echo no-usr; test -e /work && echo work || echo no-work; touch /etc/x || echo ro'], { rootfs: { dir: image }, env });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['bin', 'dev', 'etc', 'proc', 'tmp', 'image', 'no-usr', 'no-work', 'ro']);
  t.same(fs.readdirSync(image).sort(), ['bin', 'dev', 'etc', 'proc', 'tmp'], 'the image is unchanged');
  assertNothingLeft(t, before, [image]);
});

t.test('an image whose /proc (or a proc or sysfs mount target) is a symlink is refused, not mounted where it points', async (t) => {
  // runc's rule since CVE-2019-19921: procfs and sysfs go on an ordinary
  // directory. Before, procfs was mounted where the image's link pointed
  // (resolved beneath the box's root: over its /etc here).
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const image = busyboxImage(path.join(scratch(t), 'image'));
  fs.rmSync(path.join(image, 'proc'), { recursive: true, force: true });
  fs.symlinkSync('/etc', path.join(image, 'proc'));
  fs.mkdirSync(path.join(image, 'sysdir'));
  fs.symlinkSync('/etc', path.join(image, 'syslink'));
  const { error } = await spawnError('/bin/true', [], { rootfs: { dir: image }, env });
  t.match(error, { code: 'ELOOP', step: 'mount proc', syscall: 'openat2' }, 'the image\'s /proc -> /etc is refused');
  t.match(error.hint, /ordinary directory/, 'the hint says why');
  fs.rmSync(path.join(image, 'proc'));
  fs.mkdirSync(path.join(image, 'proc'));
  const sysfs = await spawnError('/bin/true', [], { rootfs: { dir: image }, env, mounts: [{ type: 'sysfs', target: '/syslink' }] });
  t.match(sysfs.error, { code: 'ELOOP' }, 'a sysfs mount on a symlink is refused');
  const proc = await spawnError('/bin/true', [], { rootfs: { dir: image }, env, mounts: [{ type: 'proc', target: '/syslink/x' }] });
  t.match(proc.error, { code: 'ELOOP' }, 'a proc mount through a symlinked parent is refused');
  const ok = await run('/bin/sh', ['-c', 'test -e /proc/self/stat && echo proc-ok'], { rootfs: { dir: image }, env, mounts: [{ type: 'sysfs', target: '/sysdir' }] });
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /proc-ok/, 'with /proc and the sysfs target ordinary directories, both mount');
});

t.test('a writable directory root', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const image = busyboxImage(path.join(scratch(t), 'image'));
  fs.chmodSync(path.join(image, 'etc'), 0o777);
  const result = await run('/bin/sh', ['-c', 'echo written > /etc/new && cat /etc/new'], { rootfs: { dir: image, writable: true }, env });
  t.equal(result.code, 0, result.stderr);
  t.equal(fs.readFileSync(path.join(image, 'etc', 'new'), 'utf8'), 'written\n');
});

t.test('a mount target that is a dangling symlink in the image is made where the link leads, beneath the root', async (t) => {
  // As runc does for an image's /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf,
  // which podman binds its own file over.
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const base = scratch(t);
  const image = busyboxImage(path.join(base, 'image'));
  fs.symlinkSync('../tmp/systemd/resolve/stub-resolv.conf', path.join(image, 'etc', 'resolv.conf'));
  fs.symlinkSync('/tmp/hosts', path.join(image, 'etc', 'hosts'));
  fs.symlinkSync('/../../../tmp/escape', path.join(image, 'etc', 'escape'));
  fs.symlinkSync('hop', path.join(image, 'etc', 'chain'));
  fs.symlinkSync('/tmp/chained', path.join(image, 'etc', 'hop'));
  const file = (name, content) => {
    fs.writeFileSync(path.join(base, name), content);
    fs.chmodSync(path.join(base, name), 0o644);
    return path.join(base, name);
  };
  const mounts = [
    { type: 'bind', source: file('resolv', 'nameserver 192.0.2.1\n'), target: '/etc/resolv.conf' },
    { type: 'bind', source: file('hosts', '192.0.2.2 box\n'), target: '/etc/hosts' },
    { type: 'bind', source: file('escape', 'inside\n'), target: '/etc/escape' },
    { type: 'bind', source: file('chained', 'chained\n'), target: '/etc/chain' },
  ];
  const result = await run('/bin/sh', ['-c', 'cat /etc/resolv.conf /etc/hosts /etc/escape /etc/chain; cat /tmp/systemd/resolve/stub-resolv.conf'], { rootfs: { dir: image }, mounts, env });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'nameserver 192.0.2.1\n192.0.2.2 box\ninside\nchained\nnameserver 192.0.2.1\n', 'each bound where its link leads (relative, absolute, .. past the root, a chain)');
  t.notOk(fs.existsSync('/tmp/escape') && fs.readFileSync('/tmp/escape', 'utf8') === 'inside\n', 'nothing made on the host');
  t.same(fs.readdirSync(path.join(image, 'etc')).sort(), ['chain', 'escape', 'hop', 'hosts', 'resolv.conf'], 'the image is unchanged');

  fs.symlinkSync('../run/resolv.conf', path.join(image, 'etc', 'readonly'));
  const readOnly = await spawnError('/bin/true', [], { rootfs: { dir: image }, env, mounts: [{ type: 'bind', source: path.join(base, 'resolv'), target: '/etc/readonly' }] });
  t.match(readOnly.error, { code: 'EROFS', step: 'mounts[0] bind', path: '/etc/readonly' }, 'where the link leads into a read-only root: EROFS');
  fs.symlinkSync('loop-b', path.join(image, 'etc', 'loop-a'));
  fs.symlinkSync('loop-a', path.join(image, 'etc', 'loop-b'));
  const loop = await spawnError('/bin/true', [], { rootfs: { dir: image }, env, mounts: [{ type: 'bind', source: path.join(base, 'resolv'), target: '/etc/loop-a' }] });
  t.match(loop.error, { code: 'ELOOP', step: 'mounts[0] bind', path: '/etc/loop-a' }, 'a link loop: ELOOP');
});

t.test('layers: templates stay read-only, writes copy up into the tenant layer', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const base = scratch(t);
  const system = ownImage(busyboxImage(path.join(base, 'system'), { 'etc/motd': 'system\n', 'etc/issue': 'system issue\n' }));
  const site = path.join(base, 'site');
  fs.mkdirSync(path.join(site, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(site, 'etc', 'motd'), 'site\n');
  for (const p of [base, site, path.join(site, 'etc')]) fs.chmodSync(p, 0o755);
  ownImage(site);
  const tenant = path.join(base, 'tenant-1');
  fs.mkdirSync(tenant, { mode: 0o755 });
  const uid = isRoot ? 65534 : process.geteuid();
  fs.chownSync(tenant, uid, isRoot ? 65534 : process.getegid());
  const rootfs = { layers: [site, system], upper: { dir: tenant } };

  const before = hostState();
  const first = await run('/bin/sh', ['-c', 'cat /etc/motd; cat /etc/issue; echo tenant >> /etc/motd; echo new > /etc/hostname-file; rm /etc/issue; cat /etc/motd'], { rootfs, env });
  t.equal(first.code, 0, first.stderr);
  t.same(first.stdout.trim().split('\n'), ['site', 'system issue', 'site', 'tenant'], 'the top-most layer wins, writes land');
  t.equal(fs.readFileSync(path.join(site, 'etc', 'motd'), 'utf8'), 'site\n', 'the template is untouched');
  t.ok(fs.existsSync(path.join(system, 'etc', 'issue')), 'a deletion does not reach the template');
  t.equal(fs.readFileSync(path.join(tenant, 'upper', 'etc', 'motd'), 'utf8'), 'site\ntenant\n', 'the copy-up is in the tenant layer');
  t.equal(fs.readFileSync(path.join(tenant, 'upper', 'etc', 'hostname-file'), 'utf8'), 'new\n');

  const again = await run('/bin/cat', ['/etc/motd'], { rootfs, env });
  t.equal(again.stdout, 'site\ntenant\n', 'the tenant layer persists between boxes');

  const tenant2 = path.join(base, 'tenant-2');
  fs.mkdirSync(tenant2, { mode: 0o755 });
  fs.chownSync(tenant2, uid, isRoot ? 65534 : process.getegid());
  const other = await run('/bin/sh', ['-c', 'cat /etc/motd; test -e /etc/hostname-file && echo sees || echo isolated'], { rootfs: { layers: [site, system], upper: { dir: tenant2 } }, env });
  t.same(other.stdout.trim().split('\n'), ['site', 'isolated'], 'two tenants never see each other\'s writes');
  assertNothingLeft(t, before, [base]);
});

t.test('layers with an ephemeral tmpfs upper, size-limited', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const system = ownImage(busyboxImage(path.join(scratch(t), 'system')));
  const result = await run('/bin/sh', ['-c', 'echo x > /tmp/f && cat /tmp/f; echo y > /bin/new && echo copied-up; dd if=/dev/zero of=/big bs=1024 count=2048 2>&1 | grep -c "No space"'], {
    rootfs: { layers: [system], upper: 'tmpfs', upperSize: 1024 * 1024 },
    env,
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['x', 'copied-up', '1'], 'writes work until the upper is full');
  t.notOk(fs.existsSync(path.join(system, 'bin', 'new')), 'nothing written to the template');
});

t.test('mounts: bind, tmpfs, file, symlink, mask, remount-ro, proc, mqueue, sysfs', async (t) => {
  const base = scratch(t);
  const data = path.join(base, 'data');
  fs.mkdirSync(data, { mode: 0o755 });
  fs.writeFileSync(path.join(data, 'file'), 'data\n');
  const rw = path.join(base, 'rw');
  fs.mkdirSync(rw, { mode: 0o777 });
  fs.chmodSync(rw, 0o777);
  const script = [
    'cat /tmp/srv/data/file', 'touch /tmp/srv/data/x 2>/dev/null || echo ro-bind',
    'echo w > /mnt/out && echo rw-bind',
    'df -k /tmp/scratch | tail -1 | tr -s " " | cut -d" " -f2',
    'cat /etc/hosts', 'readlink /tmp/link',
    'cat /etc/passwd 2>/dev/null | wc -c', 'ls /var/lib 2>/dev/null | wc -l',
    'touch /tmp/scratch/ro/x 2>/dev/null || echo remounted-ro',
    'test -d /dev/mqueue && echo mqueue', 'test -e /sys/class/net/lo && echo sysfs',
    'ls /tmp/proc2 | grep -c "^[0-9]"',
  ].join('; ');
  const result = await runSh(script, {
    mounts: [
      { type: 'bind', source: data, target: '/tmp/srv/data' },
      { type: 'bind', source: rw, target: '/mnt', readonly: false },
      { type: 'tmpfs', target: '/tmp/scratch', size: 2 * 1024 * 1024 },
      { type: 'tmpfs', target: '/tmp/scratch/ro' },
      { type: 'remount-ro', target: '/tmp/scratch/ro' },
      { type: 'file', target: '/etc/hosts', content: 'hello tenant\n' },
      { type: 'symlink', target: '/tmp/link', linkTo: '/tmp/srv/data/file' },
      { type: 'mask', target: '/etc/passwd' },
      { type: 'mask', target: '/var/lib' },
      { type: 'mqueue', target: '/dev/mqueue' },
      { type: 'sysfs', target: '/sys' },
      { type: 'proc', target: '/tmp/proc2', hidepid: 'invisible' },
    ],
  });
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.same(lines.slice(0, 3), ['data', 'ro-bind', 'rw-bind']);
  t.equal(fs.readFileSync(path.join(rw, 'out'), 'utf8'), 'w\n', 'a read-write bind writes through');
  t.equal(lines[3], '2048', 'tmpfs size');
  t.equal(lines[4], 'hello tenant');
  t.equal(lines[5], '/tmp/srv/data/file');
  t.equal(lines[6], '0', '/etc/passwd is masked');
  t.equal(lines[7], '0', '/var/lib is masked');
  t.equal(lines[8], 'remounted-ro');
  t.equal(lines[9], 'mqueue');
  t.equal(lines[10], 'sysfs');
  t.ok(Number(lines[11]) >= 1, 'a second proc');
  t.notOk(fs.existsSync('/tmp/srv'), 'no mount point was created on the host');
  t.notOk(fs.existsSync('/tmp/link'));
  t.not(fs.readFileSync('/etc/hosts', 'utf8'), 'hello tenant\n');
});

t.test('a symlink planted in a writable layer cannot redirect a mount to the host', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const base = scratch(t);
  const system = ownImage(busyboxImage(path.join(base, 'system')));
  const tenant = path.join(base, 'tenant');
  fs.mkdirSync(path.join(tenant, 'upper'), { recursive: true });
  const hostTarget = path.join(base, 'host-target');
  fs.mkdirSync(hostTarget, { mode: 0o755 });
  // The tenant plants links that point out of its root: to a path every root
  // has, by absolute path and through .., and to a path only the host has.
  fs.symlinkSync('/etc', path.join(tenant, 'upper', 'escape-abs'));
  fs.symlinkSync('../../../../../../../../etc', path.join(tenant, 'upper', 'escape-rel'));
  fs.symlinkSync(hostTarget, path.join(tenant, 'upper', 'escape-host'));
  const uid = isRoot ? 65534 : process.geteuid();
  for (const p of [tenant, path.join(tenant, 'upper')]) fs.chownSync(p, uid, isRoot ? 65534 : process.getegid());
  const source = path.join(base, 'payload');
  fs.mkdirSync(source, { mode: 0o755 });
  fs.writeFileSync(path.join(source, 'marker'), 'from-source\n');
  const rootfs = { layers: [system], upper: { dir: tenant } };
  const hostEtc = fs.readdirSync('/etc').sort();
  const before = hostState();
  const result = await run('/bin/sh', ['-c', 'cat /etc/marker; ls /etc'], {
    rootfs,
    mounts: [
      { type: 'bind', source, target: '/escape-abs' },
      { type: 'bind', source, target: '/escape-rel' },
    ],
    env,
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['from-source', 'marker'], 'the mounts landed on the box\'s own /etc');
  t.same(fs.readdirSync('/etc').sort(), hostEtc, 'the host /etc is untouched');

  // A link to a host-only path resolves inside the root, where it does not
  // exist: the target is made there (as runc makes an image's dangling
  // link's target; here under the box's own /tmp tmpfs).
  const inside = await run('/bin/cat', [`${hostTarget}/marker`], { rootfs, mounts: [{ type: 'bind', source, target: '/escape-host' }], env });
  t.equal(inside.stdout, 'from-source\n', `bound at the link's path inside the root: ${inside.stderr}`);
  t.same(fs.readdirSync(hostTarget), [], 'the host directory got nothing');
  assertNothingLeft(t, before, [hostTarget, base]);
});

t.test('the classic escapes fail', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const image = busyboxImage(path.join(scratch(t), 'image'));
  const script = [
    'cd /../../../..; ls | tr "\\n" " "; echo',
    'ls /proc/1/root 2>/dev/null | tr "\\n" " "; ls /proc/self/root | tr "\\n" " "; echo',
    'mkdir -p /tmp/jail; chroot /tmp/jail /bin/sh -c true 2>&1 | head -1',
    'mount -o remount,rw / 2>/dev/null || echo remount-refused',
    'ls /proc/self/fd | tr "\\n" " "; echo',
    'ls /proc | grep -c "^[0-9]"',
  ].join('; ');
  const result = await run('/bin/sh', ['-c', script], { rootfs: { dir: image }, env });
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.equal(lines[0].trim(), 'bin dev etc proc tmp', '.. stops at the box root');
  t.equal(lines[1].trim(), 'bin dev etc proc tmp', "/proc/1/root is refused (the init is non-dumpable); the payload's own is the box root");
  t.match(lines[2], /Operation not permitted/, 'chroot needs a capability the box lacks');
  t.match(result.stdout, /remount-refused/);
  t.same(lines[4].trim().split(' ').sort(), ['0', '1', '2', '3'], 'no fd to a host directory (3 is ls\'s own)');
  t.ok(Number(lines[5]) <= 4, 'no host process to borrow a cwd or root from');
});

t.test('nothing is left after a killed box or a failed spawn', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox')) return;
  const base = scratch(t);
  const system = busyboxImage(path.join(base, 'system'));
  const before = hostState();
  const box = spawnIsolated('/bin/sleep', ['30'], { rootfs: { layers: [system], upper: 'tmpfs' }, env, stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  box.kill('SIGKILL');
  await box.exited;
  const { error } = await spawnError('/bin/sh', [], { rootfs: { layers: [system], upper: 'tmpfs' }, mounts: [{ type: 'bind', source: '/nonexistent-source', target: '/x' }], env });
  t.equal(error.step, 'mounts[0] bind');
  assertNothingLeft(t, before, [base]);
  t.same(fs.readdirSync(system).sort(), ['bin', 'dev', 'etc', 'proc', 'tmp']);
});

t.test('mount errors name the step and the path', async (t) => {
  const missing = await spawnError('/bin/true', [], { mounts: [{ type: 'bind', source: '/nonexistent-source', target: '/x' }] });
  t.equal(missing.error.code, 'ENOENT');
  t.equal(missing.error.step, 'mounts[0] bind');
  t.equal(missing.error.path, '/nonexistent-source', 'the source is named');
  t.equal(missing.error.syscall, 'openat2', 'the source is resolved without following symlinks');

  const readOnly = await spawnError('/bin/true', [], { mounts: [{ type: 'tmpfs', target: '/usr/no-such-dir-in-host-usr' }] });
  t.equal(readOnly.error.code, 'EROFS', "a missing target in the host's read-only /usr cannot be created");
  t.equal(readOnly.error.path, '/usr/no-such-dir-in-host-usr');
  t.equal(readOnly.error.syscall, 'mkdirat');
  t.notOk(fs.existsSync('/usr/no-such-dir-in-host-usr'));

  const fileOnDir = await spawnError('/bin/true', [], { mounts: [{ type: 'bind', source: '/etc/hostname', target: '/usr' }] });
  t.equal(fileOnDir.error.code, 'ENOTDIR');
  t.equal(fileOnDir.error.step, 'mounts[0] bind');
  t.equal(fileOnDir.error.path, '/usr');

  const maskMissing = await spawnError('/bin/true', [], { mounts: [{ type: 'mask', target: '/etc/nonexistent' }] });
  t.equal(maskMissing.error.code, 'ENOENT');
  t.equal(maskMissing.error.syscall, 'openat2');
  // Outside the system directories a default box shows nothing of the host: hidden already, as asked.
  const maskHidden = await run('/bin/true', [], { mounts: [{ type: 'mask', target: '/nonexistent' }] });
  t.equal(maskHidden.code, 0, 'a mask of a path the default view leaves out is a no-op');

  const badLayer = await spawnError('/bin/true', [], { rootfs: { layers: ['/nonexistent-layer'], upper: 'tmpfs' } });
  t.equal(badLayer.error.step, 'bind layer 0', 'each layer is bound into the staging area first');
  t.equal(badLayer.error.path, '/nonexistent-layer');
  t.equal(badLayer.error.code, 'ENOENT');
});
