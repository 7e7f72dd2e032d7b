// probe() tells the truth about this host: each answer is checked against
// an independent reading (a sysctl, /proc, or an actual box).
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { probe, spawnIsolated } = require('../..');

const report = probe();

t.test('the report is cached and complete', async (t) => {
  t.equal(probe(), report, 'the same object on every call');
  for (const name of ['user', 'pid', 'mount', 'net', 'ipc', 'uts', 'cgroup', 'time']) {
    t.type(report.namespaces[name].available, 'boolean', `${name} namespace`);
    if (!report.namespaces[name].available) t.type(report.namespaces[name].reason, 'string', 'a no has a reason');
  }
  t.equal(report.root, process.geteuid() === 0);
  t.equal(report.kernel, require('node:os').release());
});

t.test('user namespaces: the report matches what a box can do', async (t) => {
  const box = spawnIsolated('/bin/true', [], { stdio: 'ignore' });
  box.on('error', () => {});
  const worked = await box.exited.then(() => true, () => false);
  t.equal(report.userNamespaces.available, worked);
});

t.test('clone ladder: this kernel has clone3 with CLONE_CLEAR_SIGHAND', async (t) => {
  const [major, minor] = require('node:os').release().split('.').map(Number);
  const modern = major > 5 || (major === 5 && minor >= 5);
  t.equal(report.clone.rung, modern ? 'clone3' : report.clone.rung);
  t.equal(report.clone.clone3.available, major > 5 || (major === 5 && minor >= 3));
  t.equal(report.clone.pidfd.available, true);
});

t.test('cgroup mode agrees with the mount table', async (t) => {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' '));
  const v2 = mounts.find((m) => m[2] === 'cgroup2');
  const v1 = mounts.filter((m) => m[2] === 'cgroup');
  const expected = v2 ? (v1.length ? 'hybrid' : 'v2') : v1.length ? 'v1' : 'none';
  t.equal(report.cgroup.mode, expected);
  if (v2) t.equal(report.cgroup.v2Mount, v2[1]);
  for (const m of v1) {
    const controllers = m[3].split(',').filter((o) => !['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec'].includes(o) && !o.includes('='));
    for (const controller of controllers) t.equal(report.cgroup.v1Controllers[controller], m[1], `v1 ${controller}`);
  }
  if (process.geteuid() !== 0) t.same(report.cgroup.writableControllers, [], 'nobody may write no controller here');
});

t.test('landlock and seccomp agree with the kernel', async (t) => {
  const actions = fs.existsSync('/proc/sys/kernel/seccomp/actions_avail');
  t.equal(report.seccomp.available, actions);
  t.equal(report.landlock.available, report.landlock.abi > 0);
  if (!report.landlock.available) t.type(report.landlock.reason, 'string');
});

t.test('kernel counters: the report matches the caller\'s sysctls and what a box is given', async (t) => {
  const counters = report.kernelCounters;
  t.equal(counters.caller.inotifyInstances, Number(fs.readFileSync('/proc/sys/user/max_inotify_instances', 'utf8')));
  const perBox = counters.boxDefaults.inotifyInstances;
  t.equal(perBox, Math.min(32, Math.floor(counters.caller.inotifyInstances / 4)));
  t.ok(counters.boxesThatFit <= Math.floor(counters.caller.inotifyInstances / perBox) - 1, 'no more boxes than the caller\'s inotify instances hold');
  const { runSh } = require('../helpers/payload');
  const result = await runSh('cat /proc/sys/user/max_inotify_instances');
  t.equal(counters.available, result.code === 0 && result.stdout.trim() === String(perBox), 'available exactly when a box gets its limit');
  t.equal(counters.namespaceOwner.available, process.geteuid() === 0, 'namespace owners: root callers, on this kernel');
  if (!counters.namespaceOwner.available) t.type(counters.namespaceOwner.reason, 'string');
});

t.test('overlay in a user namespace: the report matches what a layered box can do', async (t) => {
  const { busyboxUsable, busyboxImage, scratch } = require('../helpers/images');
  if (!busyboxUsable) {
    t.type(report.overlayInUserNamespace.available, 'boolean');
    return;
  }
  const layer = busyboxImage(require('node:path').join(scratch(t), 'layer'));
  const box = spawnIsolated('/bin/true', [], { rootfs: { layers: [layer], upper: 'tmpfs' }, env: { PATH: '/bin' }, stdio: 'ignore' });
  box.on('error', () => {});
  const worked = await box.exited.then(() => true, () => false);
  t.equal(report.overlayInUserNamespace.available, worked);
});

t.test('idmapped mounts and the mount API', async (t) => {
  t.equal(report.idmappedMounts.available, process.geteuid() === 0, 'root only');
  if (process.geteuid() !== 0) t.match(report.idmappedMounts.reason, /root caller/);
  t.equal(report.mountApi.available, true, 'this kernel has the new mount API');
});
