// Lifecycle: every limit lands in the file it maps to, stats() numbers move,
// a failed creation leaves nothing, the ledger's release kills and removes
// (even a frozen box), remove() reports what it could not remove, and the
// cgroup trees are the same before and after.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

// Slow in the TCG VM of `npm run test:cgroup2` (over tap's default 30 s there).
t.setTimeout(600_000);
const { skipExpected } = require('../helpers/skip');
const { Ledger } = require('../../dist/internal/resources');
const {
  makeParent, startWaiting, go, waitFor, isDead, isRoot, cgroupTree, oursIn, PREFIX,
} = require('../helpers/cgroup-fixture');

const cg = require('../../dist/cgroups');
const host = cg.detectCgroups();
const treeAtStart = cgroupTree();

function needRoot(t) {
  return skipExpected(t, isRoot(), 'unprivileged pass: needs root, this user has no delegated cgroup (detect.test.js checks the refusal and its reason)');
}

function read(file) {
  return fs.readFileSync(file, 'utf8').trim();
}

/** The whole disk (major:minor) holding `file`, or a reason it has none. */
function diskOf(file) {
  const dev = fs.statSync(file).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((Math.floor(dev / 4096)) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  if (!fs.existsSync(sys)) return { reason: `${file} is not on a block device (device ${major}:${minor})` };
  if (fs.existsSync(`${sys}/partition`)) {
    const whole = read(path.join(fs.realpathSync(sys), '..', 'dev'));
    const [wholeMajor, wholeMinor] = whole.split(':').map(Number);
    return { major: wholeMajor, minor: wholeMinor };
  }
  return { major, minor };
}

const lastCpu = os.cpus().length - 1;

t.test('every limit lands in its file (v1 here, v2 where the hierarchy has the controller)', async (t) => {
  if (!needRoot(t)) return;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cg-'));
  t.teardown(() => removeTree(scratch));
  const disk = diskOf(scratch);
  const { parent } = makeParent(t, 'files');
  const limits = {
    memory: { max: 200 << 20, swapMax: 16 << 20 },
    cpu: { weight: 10, max: { quota: 50000, period: 100000 } },
    pids: { max: 33 },
    cpuset: { cpus: String(lastCpu), mems: '0' },
    ...(disk.reason === undefined ? { io: { devices: [{ major: disk.major, minor: disk.minor, readBps: 1048576, writeIops: 100 }] } } : {}),
  };
  if (disk.reason !== undefined) t.comment(`io limits left out: ${disk.reason}`);
  const box = cg.createBoxCgroup(parent, 'files', limits, undefined, { openDirFd: false });
  t.comment(`placement ${JSON.stringify(box.placement)}`);
  const at = (controller, file) => {
    const v1Name = controller === 'io' ? 'blkio' : controller;
    const dir = box.placement[controller] === 'v2' ? box.v2Dir : box.v1Dir(v1Name);
    return read(path.join(dir, file));
  };
  const v2 = (controller) => box.placement[controller] === 'v2';
  if (v2('memory')) {
    t.equal(at('memory', 'memory.max'), String(200 << 20));
    t.equal(at('memory', 'memory.swap.max'), String(16 << 20));
  } else {
    t.equal(at('memory', 'memory.limit_in_bytes'), String(200 << 20), 'memory.max → memory.limit_in_bytes');
    t.equal(at('memory', 'memory.memsw.limit_in_bytes'), String((200 + 16) << 20), 'swapMax → memsw = max + swapMax');
  }
  if (v2('cpu')) {
    t.equal(at('cpu', 'cpu.weight'), '10');
    t.equal(at('cpu', 'cpu.max'), '50000 100000');
  } else {
    t.equal(at('cpu', 'cpu.shares'), '102', 'weight 10 → shares 102');
    t.equal(at('cpu', 'cpu.cfs_quota_us'), '50000');
    t.equal(at('cpu', 'cpu.cfs_period_us'), '100000');
  }
  t.equal(at('pids', 'pids.max'), '33');
  t.equal(at('cpuset', 'cpuset.cpus'), String(lastCpu));
  t.equal(at('cpuset', 'cpuset.mems'), '0');
  if (disk.reason === undefined) {
    const device = `${disk.major}:${disk.minor}`;
    if (v2('io')) {
      t.match(at('io', 'io.max'), new RegExp(`${device} rbps=1048576 wbps=max riops=max wiops=100`));
    } else {
      t.equal(at('io', 'blkio.throttle.read_bps_device'), `${device} 1048576`);
      t.equal(at('io', 'blkio.throttle.write_iops_device'), `${device} 100`);
    }
  }
  const report = await box.remove();
  t.ok(report.removed, 'removed');
  t.equal(report.dirs.length, box.dirs.length, `all ${box.dirs.length} directories`);
  for (const dir of box.dirs) t.notOk(fs.existsSync(dir), `${dir} is gone`);
});

t.test('stats() numbers move', async (t) => {
  if (!needRoot(t)) return;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cg-'));
  t.teardown(() => removeTree(scratch));
  const data = path.join(scratch, 'data');
  fs.writeFileSync(data, Buffer.alloc(4 << 20, 7));
  const { parent, track } = makeParent(t, 'stats');
  const box = cg.createBoxCgroup(parent, 'stats', { pids: { max: 50 } }, undefined, { openDirFd: false });
  const before = box.stats();
  t.comment(JSON.stringify(before));
  t.equal(before.pids.current, 0, 'no tasks yet');
  const worker = track(startWaiting(
    `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; dd if=${data} of=/dev/null bs=64k iflag=direct 2>/dev/null; sleep 0.3 & sleep 0.3 & echo done; wait`,
  ));
  box.attach(worker.pid);
  go(worker);
  await waitFor(() => worker.out.includes('done'), 20000);
  const during = box.stats();
  t.comment(JSON.stringify(during));
  t.equal(during.pids.current, 3, 'pids.current: the shell and two sleeps');
  t.ok(during.cpu.userUsec + during.cpu.systemUsec > before.cpu.userUsec + before.cpu.systemUsec + 50_000, 'CPU time grew by more than 50 ms');
  if (during.memory !== null) t.ok(during.memory.current > 0 && during.memory.peak >= during.memory.current, 'memory current and peak');
  else t.comment(`no memory accounting: ${JSON.stringify(box.skipped)}`);
  if (during.io !== null) t.ok(during.io.readBytes >= 4 << 20, `io read bytes ${during.io.readBytes} ≥ the 4 MiB read with O_DIRECT`);
  else t.comment(`no io accounting: ${JSON.stringify(box.skipped)}`);
  await worker.done;
  t.equal(box.stats().pids.current, 0, 'back to zero');
  t.ok((await box.remove()).removed);
});

t.test('a failed creation leaves nothing: a CPU that does not exist', async (t) => {
  if (!needRoot(t)) return;
  const { parent, name } = makeParent(t, 'rollback');
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  let error;
  try {
    cg.createBoxCgroup(parent, 'rollback', { pids: { max: 10 }, cpuset: { cpus: '4000' } });
  } catch (caught) {
    error = caught;
  }
  t.equal(error?.name, 'CgroupError');
  t.ok(['EINVAL', 'ERANGE'].includes(error?.code), `the kernel refuses (${error?.code}): ${error?.message}`);
  t.equal(error?.syscall, 'write');
  t.equal(error?.controller, 'cpuset');
  t.match(error?.step, /^write cpuset\.cpus/);
  t.match(error?.path, /cpuset\.cpus$/);
  t.match(error?.hint, /subset of the parent/, 'a hint');
  t.equal(error?.errno, -os.constants.errno[error?.code], 'errno, negative');
  t.same(oursIn(cgroupTree(), name).filter((dir) => dir.endsWith('/rollback')), [], 'no box directory stays');
  t.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'no fd stays');
});

t.test('a failed creation leaves nothing: a device that cannot be throttled', async (t) => {
  if (!needRoot(t)) return;
  const { parent, name } = makeParent(t, 'nodev');
  let error;
  try {
    cg.createBoxCgroup(parent, 'nodev', { io: { devices: [{ major: 4095, minor: 4095, readBps: 1000 }] } });
  } catch (caught) {
    error = caught;
  }
  t.equal(error?.name, 'CgroupError');
  t.ok(['ENODEV', 'EINVAL', 'ENOENT'].includes(error?.code), `the kernel refuses (${error?.code}): ${error?.message}`);
  t.match(error?.controller, /^(io|blkio)$/);
  t.same(oursIn(cgroupTree(), name).filter((dir) => dir.endsWith('/nodev')), [], 'no box directory stays');
});

t.test('attach through pre-opened cgroup.procs fds (what a native parent step would do)', async (t) => {
  if (!needRoot(t)) return;
  const { parent, track } = makeParent(t, 'fds');
  const box = cg.createBoxCgroup(parent, 'fds', { pids: { max: 10 } }, undefined, { openDirFd: false });
  const ledger = new Ledger();
  const targets = box.openAttachFds({ v2: true }, ledger);
  t.same(targets.map((target) => target.path), box.attachTargets({ v2: true, selfJoin: true }).map((target) => target.path), 'one fd per attach target');
  // v1: the box child writes "0" to the tasks file itself (no RCU grace period); v2: the parent writes the pid.
  for (const target of targets) {
    t.equal(target.self === true, target.hierarchy !== 'v2', `${target.hierarchy}: joined by the child itself iff v1`);
    t.match(target.path, target.hierarchy === 'v2' ? /\/cgroup\.procs$/ : /\/tasks$/, `${target.hierarchy}: the file for that`);
  }
  t.equal(ledger.size, targets.length, 'each registered with the ledger');
  for (const target of targets) {
    const flags = parseInt(/flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${target.fd}`, 'utf8'))[1], 8);
    t.equal(flags & 3, 1, `${target.hierarchy}: O_WRONLY`);
    t.ok(flags & 0o2000000, `${target.hierarchy}: close-on-exec`);
  }
  const child = track(startWaiting('exec sleep 30'));
  for (const target of targets) fs.writeSync(target.fd, String(child.pid));
  const own = fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
  for (const target of targets) {
    const hierarchy = target.hierarchy === 'v2' ? '' : target.hierarchy;
    t.match(own, new RegExp(`^\\d+:${hierarchy}:/.*/fds$`, 'm'), `in the box's ${target.hierarchy} cgroup`);
  }
  t.same(ledger.releaseAll(), [], 'the fds close');
  for (const target of targets) t.notOk(fs.existsSync(`/proc/self/fd/${target.fd}`) && fs.readlinkSync(`/proc/self/fd/${target.fd}`) === target.path, `${target.hierarchy} fd closed`);
  box.kill();
  t.equal((await child.done).signal, 'SIGKILL');
  t.ok((await box.remove()).removed);
});

t.test('the ledger releases the box: kill, then remove', async (t) => {
  if (!needRoot(t)) return;
  const { parent, track } = makeParent(t, 'ledger');
  const ledger = new Ledger();
  const box = cg.createBoxCgroup(parent, 'ledger', { pids: { max: 20 } }, ledger);
  t.equal(ledger.size, box.dirFd >= 0 ? 2 : 1, 'registered: the cgroup and its directory fd');
  if (box.dirFd >= 0) {
    const fd = box.dirFd;
    ledger.releaseOne(cg.CGROUP_LEDGER.dirFd);
    t.equal(box.dirFd, -1, 'the fd goes on its own, right after the clone');
    t.notOk(fs.existsSync(`/proc/self/fd/${fd}`), 'closed');
  }
  const shell = track(startWaiting("(setsid sleep 300 &); sleep 300 & sleep 300 & echo up; wait"));
  box.attach(shell.pid, { v2: true });
  go(shell);
  await waitFor(() => shell.out.includes('up'), 3000);
  const inside = box.procs();
  t.equal(inside.length, 4, 'four processes, one a daemon');
  const errors = ledger.releaseAll();
  t.same(errors, [], 'released without errors');
  t.ok(await waitFor(() => inside.every(isDead), 3000), 'every process is dead');
  if (box.removal !== undefined) {
    const report = await box.removal;
    t.ok(report.removed, `removed in the background after ${report.attempts} attempt(s)`);
  } else {
    t.pass('removed at once');
  }
  for (const dir of box.dirs) t.notOk(fs.existsSync(dir), `${dir} is gone`);
});

t.test('releasing a frozen box still kills and removes it', async (t) => {
  if (!needRoot(t)) return;
  const variants = [];
  if (host.v2 !== undefined) variants.push(['v2', { v1: false }]);
  if (host.v1.freezer !== undefined) variants.push(['v1 freezer', { v2: false }]);
  for (const [label, options] of variants) {
    const { parent, track } = makeParent(t, 'frozen', options);
    const ledger = new Ledger();
    const box = cg.createBoxCgroup(parent, 'frozen', {}, ledger, { openDirFd: false });
    const shell = track(startWaiting('sleep 300 & sleep 300 & echo up; wait'));
    box.attach(shell.pid);
    go(shell);
    await waitFor(() => shell.out.includes('up'), 3000);
    await box.freeze();
    const inside = box.procs();
    ledger.releaseAll();
    t.ok(await waitFor(() => inside.every(isDead), 3000), `${label}: every process is dead`);
    if (box.removal !== undefined) t.ok((await box.removal).removed, `${label}: removed in the background`);
    for (const dir of box.dirs) t.notOk(fs.existsSync(dir), `${label}: ${dir} is gone`);
  }
});

t.test('remove() retries while the box drains, and reports what stays', async (t) => {
  if (!needRoot(t)) return;
  const { parent, track } = makeParent(t, 'remove');
  const box = cg.createBoxCgroup(parent, 'remove', {}, undefined, { openDirFd: false });
  const shell = track(startWaiting("trap '' TERM; exec sleep 300"));
  box.attach(shell.pid, { v2: true });
  go(shell);
  await waitFor(() => box.procs().length === 1, 3000);
  const kept = await box.remove({ kill: false, timeoutMs: 150 });
  t.equal(kept.removed, false, 'a box with a process in it cannot be removed');
  t.ok(kept.attempts > 1, `retried (${kept.attempts} attempts within the bound)`);
  t.ok(kept.remaining.length > 0 && kept.remaining.every((entry) => entry.code === 'EBUSY'), `reported: ${JSON.stringify(kept.remaining)}`);
  t.ok(box.dirs.every((dir) => fs.existsSync(dir)), 'everything is still there');
  const removed = await box.remove();
  t.ok(removed.removed, `remove() kills first by default (${removed.attempts} attempt(s))`);
  t.equal((await shell.done).signal, 'SIGKILL');
  t.same(await box.remove(), { removed: true, dirs: [], remaining: [], attempts: 0 }, 'a second remove() is harmless');
});

t.test('no cgroup of this process is left behind', async (t) => {
  // Runs last in this file: after the teardowns of the tests above.
  const after = cgroupTree();
  t.same(oursIn(after), [], `no directory named ${PREFIX}-* in any hierarchy`);
  t.same(oursIn(after), oursIn(treeAtStart), 'the same as before this file ran');
});
