// Disk quota for a persistent upper layer: an ext4 image per tenant on an
// autoclearing loop device, mounted only in the box's mount namespace.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, probe, CordonError, CordonOptionError } = require('../..');
const { run, spawnError, isRoot } = require('../helpers/payload');
const { busyboxUsable, busyboxImage, scratch, hostState, env } = require('../helpers/images');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const MiB = 1024 * 1024;

/** Loop devices whose backing file lies under `dir` (what losetup -j would list). */
function loopsBacking(dir) {
  const found = [];
  for (const name of fs.readdirSync('/sys/block').filter((entry) => entry.startsWith('loop'))) {
    let backing;
    try {
      backing = fs.readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
    } catch {
      continue; // not bound
    }
    if (backing.startsWith(dir)) found.push(`${name}: ${backing}`);
  }
  return found;
}

/** Waits until the kernel has let go of every loop device of `dir` (autoclear runs as the last user closes it). */
async function loopsReleased(dir) {
  for (let i = 0; i < 500 && loopsBacking(dir).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return loopsBacking(dir);
}

function layered(t) {
  const root = scratch(t, 'cordon-quota-');
  const template = busyboxImage(path.join(root, 'template'));
  const tenant = path.join(root, 'tenant');
  fs.mkdirSync(tenant, { mode: 0o700 });
  return { root, template, tenant };
}

t.test('probe() says whether a quota is available, and why not', async (t) => {
  const report = probe();
  t.type(report.diskQuota.available, 'boolean');
  if (!isRoot) {
    t.equal(report.diskQuota.available, false);
    t.match(report.diskQuota.reason, /root on the host/);
  }
});

t.test('an unprivileged caller gets an error naming what is missing', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass: root has a quota')) return;
  let thrown;
  try {
    spawnIsolated('/bin/true', [], { rootfs: { layers: ['/usr'], upper: { dir: '/tmp', quota: { bytes: 64 * MiB } } } });
  } catch (error) {
    thrown = error;
  }
  t.ok(thrown instanceof CordonError, 'thrown before anything is made');
  t.equal(thrown?.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.match(thrown?.message, /needs root on the host/);
  t.equal(thrown?.step, 'validate');
});

t.test('bad quota options', async (t) => {
  for (const [quota, code] of [
    [{ bytes: MiB }, 'ERR_INVALID_ARG_VALUE'],
    [{ bytes: 64 * MiB, inodes: 10 }, 'ERR_INVALID_ARG_VALUE'],
    [{ bytes: 64 * MiB, blocks: 1 }, 'ERR_CORDON_UNKNOWN_OPTION'],
    [64 * MiB, 'ERR_INVALID_ARG_TYPE'],
  ]) {
    let thrown;
    try {
      spawnIsolated('/bin/true', [], { rootfs: { layers: ['/usr'], upper: { dir: '/tmp', quota } } });
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof CordonOptionError && thrown.code === code, `${JSON.stringify(quota)}: ${code}`, { thrown: thrown?.message });
  }
});

t.test('a 64 MiB quota holds against a 1 GiB write; the data persists; nothing is left', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: quotas need root')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static)')) return;
  if (!requireOrSkip(t, probe().diskQuota.available, `probe().diskQuota: ${probe().diskQuota.reason}`)) return;
  const { root, template, tenant } = layered(t);
  const before = hostState();
  const rootfs = { layers: [template], upper: { dir: tenant, quota: { bytes: 64 * MiB } } };

  const box = spawnIsolated('/bin/sh', ['-c', 'echo kept > /keep; dd if=/dev/zero of=/big bs=1M count=1024 2>/dev/null; echo "dd $?"; stat -c %s /big; read line'], { rootfs, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  box.stdout.on('data', (d) => (out += d));
  while (!/dd \d+\n\d+\n/.test(out)) await new Promise((resolve) => box.stdout.once('data', resolve));
  const [, status, written] = /dd (\d+)\n(\d+)\n/.exec(out);
  t.not(status, '0', 'the write fails');
  t.ok(Number(written) < 64 * MiB, `the file stops below the quota (${written} bytes)`);
  t.ok(Number(written) > 32 * MiB, 'but holds most of it');
  const usage = box.diskUsage();
  t.ok(usage.bytes <= 64 * MiB && usage.bytes > 48 * MiB, `usable size reported (${usage.bytes})`);
  t.ok(usage.bytesUsed >= Number(written), 'bytes used reported');
  t.ok(usage.inodesUsed >= 2 && usage.inodesFree > 0, 'inodes used and free reported');
  t.equal(usage.bytesUsed + usage.bytesFree, usage.bytes);

  // The same layer in a second box at once would mount one ext4 twice.
  const { error: busy } = await spawnError('/bin/true', [], { rootfs, env });
  t.match(busy.code, /^(EAGAIN|EWOULDBLOCK)$/, 'one box at a time per quota\'d layer');
  t.equal(busy.step, 'prepare upper layer quota');
  t.equal(busy.syscall, 'flock');

  box.stdin.end('\n');
  t.equal((await box.exited).code, 0);
  t.same(loopsBacking(root), [], 'exited settles once the kernel has let go of the loop device');
  t.equal(box.diskUsage(), undefined, 'no usage once the box has ended');

  const stat = fs.statSync(path.join(tenant, 'upper.img'));
  t.ok(stat.blocks * 512 <= 64 * MiB, 'the image holds no more than the quota on the host');
  t.same(fs.readdirSync(tenant), ['upper.img'], 'nothing else in the tenant directory on the host');
  t.equal(stat.mode & 0o777, 0o600);

  const again = await run('/bin/sh', ['-c', 'cat /keep; rm /big; df -k / | tail -1'], { rootfs, env });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /^kept\n/, 'the data persists across boxes');

  t.same(loopsBacking(root), [], 'no loop device left');
  t.equal(hostState().mounts, before.mounts, 'no mount left on the host');
});

t.test('an inode quota holds; another tenant is untouched', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: quotas need root')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static)')) return;
  if (!requireOrSkip(t, probe().diskQuota.available, `probe().diskQuota: ${probe().diskQuota.reason}`)) return;
  const { root, template, tenant } = layered(t);
  const neighbour = path.join(root, 'neighbour');
  fs.mkdirSync(neighbour, { mode: 0o700 });
  const script = 'mkdir /many; i=0; while [ $i -lt 3000 ]; do touch /many/$i 2>/dev/null || break; i=$((i+1)); done; echo $i';
  const small = run('/bin/sh', ['-c', script], { rootfs: { layers: [template], upper: { dir: tenant, quota: { bytes: 32 * MiB, inodes: 1024 } } }, env });
  const other = run('/bin/sh', ['-c', 'dd if=/dev/zero of=/file bs=1M count=8 2>/dev/null && echo ok'], { rootfs: { layers: [template], upper: { dir: neighbour, quota: { bytes: 32 * MiB } } }, env });
  const [limited, untouched] = await Promise.all([small, other]);
  const files = Number(limited.stdout.trim());
  t.ok(files < 3000 && files >= 900, `file creation stops at the inode quota (${files} files)`);
  t.equal(untouched.stdout.trim(), 'ok', 'the neighbour writes as before');
  t.same(await loopsReleased(root), []);

  const { error } = await spawnError('/bin/true', [], { rootfs: { layers: [template], upper: { dir: tenant, quota: { bytes: 48 * MiB } } }, env });
  t.equal(error.code, 'EINVAL', 'an image of another size is not resized silently');
  t.match(error.message, /resize2fs/);
  t.same(await loopsReleased(root), []);
});

t.test('a planted image or link is refused', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: quotas need root')) return;
  if (!requireOrSkip(t, probe().diskQuota.available, `probe().diskQuota: ${probe().diskQuota.reason}`)) return;
  const { root, tenant } = layered(t);
  fs.writeFileSync(path.join(root, 'crafted.img'), Buffer.alloc(1024));
  fs.symlinkSync(path.join(root, 'crafted.img'), path.join(tenant, 'upper.img'));
  const linked = await spawnError('/bin/true', [], { rootfs: { layers: ['/usr'], upper: { dir: tenant, quota: { bytes: 64 * MiB } } } });
  t.equal(linked.error.code, 'ELOOP', 'a symlink at upper.img is not followed');
  fs.unlinkSync(path.join(tenant, 'upper.img'));
  fs.writeFileSync(path.join(tenant, 'upper.img'), Buffer.alloc(1024));
  fs.chownSync(path.join(tenant, 'upper.img'), 65534, 65534);
  const foreign = await spawnError('/bin/true', [], { rootfs: { layers: ['/usr'], upper: { dir: tenant, quota: { bytes: 64 * MiB } } } });
  t.equal(foreign.error.code, 'EPERM', 'an image someone else owns is never mounted');
  t.match(foreign.error.hint, /regular file of the caller/);
  t.same(loopsBacking(root), []);
});

t.test('released on every path: a failed spawn, a SIGKILLed supervisor', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: quotas need root')) return;
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (Debian: busybox-static)')) return;
  if (!requireOrSkip(t, probe().diskQuota.available, `probe().diskQuota: ${probe().diskQuota.reason}`)) return;
  const { root, template, tenant } = layered(t);
  const before = hostState();
  const rootfs = { layers: [template], upper: { dir: tenant, quota: { bytes: 32 * MiB } } };
  const { error } = await spawnError('/bin/missing', [], { rootfs, env });
  t.equal(error.code, 'ENOENT', 'the exec fails after the layer was mounted');
  t.same(await loopsReleased(root), [], 'no loop device after a failed spawn');

  const { spawn } = require('node:child_process');
  const supervisor = spawn(process.execPath, ['-e', `
    const { spawnIsolated } = require(${JSON.stringify(path.resolve(__dirname, '../..'))});
    const box = spawnIsolated('/bin/sh', ['-c', 'echo x > /kept; echo up; exec sleep 1000'], { rootfs: ${JSON.stringify(rootfs)}, env: { PATH: '/bin' }, stdio: ['ignore', 'inherit', 'inherit'] });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => supervisor.stdout.once('data', resolve));
  t.equal(loopsBacking(root).length, 1, 'the layer is mounted while the box runs');
  supervisor.kill('SIGKILL');
  await new Promise((resolve) => supervisor.once('exit', resolve));
  t.same(await loopsReleased(root), [], 'no loop device once the box died with its supervisor');
  const after = await run('/bin/cat', ['/kept'], { rootfs, env });
  t.equal(after.stdout, 'x\n', 'and the layer is whole for the next box');
  t.same(await loopsReleased(root), []);
  t.equal(hostState().mounts, before.mounts, 'no mount left on the host');
});
