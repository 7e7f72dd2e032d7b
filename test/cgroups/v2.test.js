// cgroup v2 for real, on whatever cgroup2 mount the host has (on a hybrid
// host, the controller-less /sys/fs/cgroup/unified): placement by attach and
// by clone3(CLONE_INTO_CGROUP), freeze and thaw, cgroup.kill, stats from the
// core cpu.stat, and the errors for controllers v2 does not offer here.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const t = require('tap');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { makeParent, testCgroupName, startWaiting, go, waitFor, isDead, isRoot } = require('../helpers/cgroup-fixture');

const cg = require('../../dist/cgroups');
const host = cg.detectCgroups();

function preconditions(t) {
  if (!requireOrSkip(t, host.v2 !== undefined, 'no cgroup2 hierarchy is mounted on this host')) return false;
  return skipExpected(t, isRoot(), 'unprivileged pass: needs root, this user has no delegated cgroup (detect.test.js checks the refusal and its reason)');
}

function v2PathOf(pid) {
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((entry) => entry.startsWith('0::'));
  return line?.slice(3);
}

function relative(dir) {
  return `/${path.relative(host.v2.mount, dir)}`;
}

function cpuUsec(box) {
  return box.stats().cpu.userUsec + box.stats().cpu.systemUsec;
}

t.test('placement by attach, on v2 only', async (t) => {
  if (!preconditions(t)) return;
  const { parent, track } = makeParent(t, 'v2attach', { v1: false });
  t.equal(parent.v2.source, 'created');
  const box = cg.createBoxCgroup(parent, 'attach', {}, undefined, { openDirFd: false });
  t.same(box.v1, [], 'no v1 cgroups');
  t.equal(box.dirFd, -1, 'no directory fd asked for');
  t.equal(box.attachesV2ByDefault, true, 'so attach() writes the v2 cgroup.procs');
  t.same(box.attachTargets(), [{ hierarchy: 'v2', path: `${box.v2Dir}/cgroup.procs` }]);
  const child = track(startWaiting('exec sleep 30'));
  t.notOk(box.populated(), 'empty before');
  box.attach(child.pid);
  t.equal(v2PathOf(child.pid), relative(box.v2Dir), `/proc/${child.pid}/cgroup names the box`);
  t.ok(box.populated(), 'populated');
  t.same(box.procs(), [child.pid]);
  box.kill();
  t.equal((await child.done).signal, 'SIGKILL');
  t.ok(await box.drained(3000), 'drained');
  t.ok((await box.remove()).removed);
});

t.test('placement by clone3(CLONE_INTO_CGROUP) through the directory fd', async (t) => {
  if (!preconditions(t)) return;
  const { parent } = makeParent(t, 'v2clone', { v1: false });
  const box = cg.createBoxCgroup(parent, 'clone', {});
  t.teardown(() => box.closeDirFd());
  t.ok(box.dirFd >= 0, `dirFd ${box.dirFd}`);
  t.equal(fs.readlinkSync(`/proc/self/fd/${box.dirFd}`), box.v2Dir, 'it is the box directory');
  const flags = parseInt(/flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${box.dirFd}`, 'utf8'))[1], 8); // octal
  t.ok(flags & 0o2000000, 'close-on-exec');
  t.ok(flags & 0o200000, 'O_DIRECTORY');
  t.equal(flags & 3, 0, 'O_RDONLY');
  t.same(box.attachTargets(), [], 'nothing to attach afterwards: the clone places the child');
  t.same(box.attachTargets({ v2: true }), [{ hierarchy: 'v2', path: `${box.v2Dir}/cgroup.procs` }], 'unless the clone could not');

  let binding;
  try {
    binding = require('../../dist/internal/native').native();
  } catch (error) {
    requireOrSkip(t, false, `the addon is not loadable: ${error.message}`);
    return;
  }
  t.equal(binding.probeClone(0, 0, box.dirFd), 0, 'the kernel takes it for CLONE_INTO_CGROUP (probeClone, clone3 rung)');

  // The spawn pipeline with this test's own box cgroup as the plan's
  // CLONE_INTO_CGROUP target: what spawnIsolated does with a cgroup it made.
  const { validateOptions } = require('../../dist/validate');
  const { buildPlan } = require('../../dist/plan');
  const { encodePlan } = require('../../dist/internal/encode');
  const devNull = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(devNull));
  const options = validateOptions('/bin/sleep', ['30'], { init: false, stdio: 'ignore' });
  const caller = { euid: process.geteuid(), egid: process.getegid() };
  const plan = buildPlan(options, { stdio: [devNull, devNull, devNull], namespaces: {}, cgroup: { dirFd: box.dirFd, procs: [] } }, caller);
  t.equal(plan.steps[0].op, 'clone');
  t.equal(plan.fds[plan.steps[0].slot], box.dirFd, 'the clone step takes the box directory');
  const { buffer, fds } = encodePlan(plan);
  const spawned = binding.spawn(buffer, fds);
  if (!('pid' in spawned)) {
    t.fail(`the spawn failed at step ${spawned.failedStep}: errno ${spawned.errno}`);
    return;
  }
  box.closeDirFd();
  t.equal(v2PathOf(spawned.pid), relative(box.v2Dir), 'the box starts in its cgroup: no cgroup.procs write after fork');
  t.ok(box.procs().includes(spawned.pid), 'procs() lists it');
  t.equal(binding.sendSignal(spawned.pidfd, 9), 0, 'killed');
  t.equal(binding.reap(spawned.pidfd), 0, 'reaped');
  binding.closeFd(spawned.pidfd);
  t.ok(await box.drained(3000), 'drained');
  t.ok((await box.remove()).removed, 'removed');
});

t.test('freeze and thaw (cgroup.freeze, cgroup.events)', async (t) => {
  if (!preconditions(t)) return;
  const { parent, track } = makeParent(t, 'v2freeze', { v1: false });
  const box = cg.createBoxCgroup(parent, 'freeze', {}, undefined, { openDirFd: false });
  if (!fs.existsSync(`${box.v2Dir}/cgroup.freeze`)) {
    skipExpected(t, false, 'host variant: this kernel has no cgroup.freeze (Linux 5.2)');
    return;
  }
  const burner = track(startWaiting('while :; do :; done'));
  box.attach(burner.pid);
  go(burner);
  await waitFor(() => cpuUsec(box) > 20_000, 3000);
  t.equal(box.frozen(), false);
  await box.freeze();
  t.equal(box.frozen(), true, 'frozen');
  t.match(fs.readFileSync(`${box.v2Dir}/cgroup.events`, 'utf8'), /frozen 1/, 'the kernel says frozen 1');
  const frozenAt = cpuUsec(box);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(cpuUsec(box) - frozenAt < 5_000, `no CPU time while frozen (${cpuUsec(box) - frozenAt} µs)`);
  await box.thaw();
  t.equal(box.frozen(), false, 'thawed');
  const thawedAt = cpuUsec(box);
  t.ok(await waitFor(() => cpuUsec(box) - thawedAt > 50_000, 3000), 'it runs again');
  box.kill();
  t.equal((await burner.done).signal, 'SIGKILL');
});

t.test('freeze and thaw with the v1 freezer', async (t) => {
  if (!isRoot() || host.v1.freezer === undefined) {
    skipExpected(t, false, isRoot() ? 'host variant: no v1 freezer hierarchy (pure cgroup v2)' : 'unprivileged pass: needs root');
    return;
  }
  const { parent, track } = makeParent(t, 'v1freeze', { v2: false });
  const box = cg.createBoxCgroup(parent, 'freeze', {}, undefined, {});
  t.equal(box.placement.freezer, 'v1');
  const burner = track(startWaiting('while :; do :; done'));
  box.attach(burner.pid);
  go(burner);
  await waitFor(() => cpuUsec(box) > 20_000, 3000);
  await box.freeze();
  t.equal(fs.readFileSync(`${box.v1Dir('freezer')}/freezer.state`, 'utf8').trim(), 'FROZEN');
  const frozenAt = cpuUsec(box);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(cpuUsec(box) - frozenAt < 5_000, `no CPU time while frozen (${cpuUsec(box) - frozenAt} µs, cpuacct)`);
  await box.thaw();
  t.equal(box.frozen(), false);
  const thawedAt = cpuUsec(box);
  t.ok(await waitFor(() => cpuUsec(box) - thawedAt > 50_000, 3000), 'it runs again');
  box.kill();
  t.equal((await burner.done).signal, 'SIGKILL');
});

t.test('controllers v2 does not offer: an error naming the controller and why', async (t) => {
  if (!preconditions(t)) return;
  const { parent, name } = makeParent(t, 'v2missing', { v1: false });
  const missing = ['memory', 'pids', 'cpu', 'io'].find((controller) => !host.v2.rootControllers.includes(controller));
  if (missing === undefined) {
    skipExpected(t, false, 'host variant: this cgroup2 hierarchy offers memory, pids, cpu and io, so nothing is missing');
    return;
  }
  const limits = { memory: { max: 1 << 26 }, pids: { max: 5 }, cpu: { weight: 50 }, io: { weight: 50 } }[missing];
  let error;
  try {
    cg.createBoxCgroup(parent, 'missing', { [missing]: limits });
  } catch (caught) {
    error = caught;
  }
  t.equal(error?.name, 'CgroupError');
  t.equal(error?.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.equal(error?.controller, missing, `names ${missing}`);
  t.match(error?.message, /not in .*cgroup\.controllers/, 'says it is not offered');
  if (host.v1[missing === 'io' ? 'blkio' : missing]) t.match(error?.message, /bound to the v1 hierarchy/, 'and where it is instead');
  t.match(error?.message, /v1 hierarchies are turned off/, 'and why v1 was no way out');
  t.notOk(fs.existsSync(path.join(parent.v2.dir, 'missing')), 'nothing created');

  // A controller the hierarchy has, but the root does not hand down: not delegated.
  const offered = host.v2.rootControllers.find((controller) => !fs.readFileSync(`${host.v2.mount}/cgroup.subtree_control`, 'utf8').includes(controller));
  if (offered === undefined) {
    t.comment('every root controller is enabled for children: the not-delegated case cannot be shown here');
    return;
  }
  t.throws(() => cg.createBoxCgroup(parent, 'missing', {}, undefined, { controllers: [offered] }), {
    code: 'ERR_CORDON_HOST_UNSUPPORTED',
    controller: offered,
    message: /not enabled in its parent's cgroup\.subtree_control/,
  }, `${offered}: offered at the root but not enabled below it`);
  t.notOk(fs.existsSync(path.join(parent.v2.dir, 'missing')), 'nothing created');
  t.notOk(name === undefined);
});

t.test('a delegated own cgroup: used in place, and moveSelf only when told', async (t) => {
  if (!preconditions(t)) return;
  const { name, track } = testCgroupName(t, 'v2own');
  const own = path.join(host.v2.mount, name);
  fs.mkdirSync(own);
  const script = `
    const cg = require(${JSON.stringify(require.resolve('../../dist/cgroups'))});
    const fs = require('fs');
    const moveSelf = process.argv[1] === 'move';
    const before = cg.findParent(cg.detectCgroups(), { useOwnCgroup: true, v1: false });
    const out = { source: before.v2.source, dir: before.v2.dir, containsSelf: before.v2.containsSelf };
    if (moveSelf) {
      const moved = cg.findParent(cg.detectCgroups(), { useOwnCgroup: true, moveSelf: true, v1: false });
      out.afterMove = { containsSelf: moved.v2.containsSelf, own: fs.readFileSync('/proc/self/cgroup', 'utf8').trim() };
      const box = cg.createBoxCgroup(moved, 'box', {});
      out.box = box.v2Dir;
      box.closeDirFd();
    }
    out.self = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\\n').find((l) => l.startsWith('0::'));
    console.log(JSON.stringify(out));`;
  for (const mode of ['stay', 'move']) {
    const child = track(spawn(process.execPath, ['-e', `process.stdin.once('data', () => { ${script} })`, mode], { stdio: ['pipe', 'pipe', 'inherit'] }));
    fs.writeFileSync(`${own}/cgroup.procs`, String(child.pid));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.stdin.end('go\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    t.equal(code, 0, `${mode}: the child ran`);
    const result = JSON.parse(out);
    t.equal(result.source, 'delegated', `${mode}: its own cgroup is the parent`);
    t.equal(result.dir, own);
    t.equal(result.containsSelf, true, `${mode}: and holds the process`);
    if (mode === 'stay') {
      t.equal(result.self, `0::/${name}`, 'without moveSelf the process stays where it was');
    } else {
      t.equal(result.afterMove.containsSelf, false, 'moveSelf empties it');
      t.equal(result.self, `0::/${name}/supervisor`, 'by moving the process into a leaf');
      t.equal(result.box, path.join(own, 'box'), 'boxes go beside it');
    }
  }
  t.same(fs.readFileSync(`${own}/cgroup.procs`, 'utf8').trim(), '', 'no process stays in the own cgroup');
});

t.test('cgroup.kill takes a box with descendants at once', async (t) => {
  if (!preconditions(t)) return;
  const { parent, track } = makeParent(t, 'v2kill', { v1: false });
  const box = cg.createBoxCgroup(parent, 'kill', {}, undefined, { openDirFd: false });
  if (!fs.existsSync(`${box.v2Dir}/cgroup.kill`)) {
    skipExpected(t, false, 'host variant: this kernel has no cgroup.kill (Linux 5.14): kill() freezes and signals instead, see limits.test.js');
    return;
  }
  const shell = track(startWaiting('for i in 1 2 3 4 5; do sleep 60 & done; echo started; wait'));
  box.attach(shell.pid);
  go(shell);
  await waitFor(() => shell.out.includes('started'), 3000);
  const inside = box.procs();
  t.equal(inside.length, 6, 'a shell and five sleeps');
  t.same(box.kill(), { method: 'cgroup.kill', signalled: 0 });
  t.ok(await box.drained(3000), 'drained');
  t.ok(inside.every(isDead), 'all dead');
  t.ok((await box.remove()).removed, 'removed');
});
