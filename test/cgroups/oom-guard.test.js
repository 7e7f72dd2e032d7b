// A box's memory limit too small for its own setup fails the box, never the
// supervisor. The OOM killer kills every process that shares its victim's
// memory, so a box process sharing Node's memory (CLONE_VM) in the box's
// cgroup took Node with it (exit 137). A box with an init (Linux >= 5.16)
// joins its cgroup only once none of its processes shares Node's memory
// (the init, a namespace helper: late-join.test.js); one without is forked
// into it (v2: CLONE_INTO_CGROUP; v1: it writes "0" to each tasks file first
// thing), and what the kernel allocates for its setup is charged there.
// Each case runs in a child node process, so that a regression kills that
// child and not the test runner: the child must live and report the box's
// clean error (ENOMEM naming the step and the memory limit) or its exit.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const t = require('tap');
const { probe } = require('../..');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { testCgroupName } = require('../helpers/cgroup-fixture');
const { packageReadableByNobody } = require('../helpers/readable-package');
const cg = require('../../dist/cgroups');

// Each case starts a node process or two: in the TCG VM of
// `npm run test:cgroup2` the file takes about 100 s, over tap's default.
t.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');
const report = probe().cgroup;
const ROOT_ONLY = 'root only: this host delegates no cgroup to an unprivileged user (test/spawn/cgroup.test.js checks the refusal)';

// Runs in the child node: one box, then one line of JSON about how it ended.
const supervisorSource = (pkg) => `
const { spawnIsolated, createTenantCgroup } = require(${JSON.stringify(pkg)});
const { file, args, options, mountCount, joinUser, tenantLimits } = JSON.parse(process.env.OOM_CASE);
(async () => {
  let holder;
  const more = {};
  // A box in a tenant cgroup whose limit is the small one (its own leaf has none).
  if (tenantLimits !== undefined) more.cgroup = createTenantCgroup('oom-' + process.pid, tenantLimits);
  if (mountCount > 0) more.mounts = Array.from({ length: mountCount }, (_, i) => ({ type: 'tmpfs', target: '/tmp/m' + i }));
  if (joinUser) {
    // A joined user namespace: the new pid namespace is unshared, and the
    // box's process is cloned into it by the first child.
    holder = spawnIsolated('/bin/sleep', ['60'], { stdio: 'ignore', init: false });
    await new Promise((resolve) => holder.once('spawn', resolve));
    more.namespaces = { user: { path: '/proc/' + holder.pid + '/ns/user' } };
  }
  const box = spawnIsolated(file, args, { ...options, ...more });
  let oom = false;
  box.on('oom', () => { oom = true; });
  await box.exited.then(
    (result) => console.log(JSON.stringify({ outcome: 'exit', code: result.code, signal: result.signal, oom })),
    (error) => console.log(JSON.stringify({
      outcome: 'error', name: error.name, code: error.code, errno: error.errno, syscall: error.syscall,
      step: error.step, stepIndex: error.stepIndex, message: error.message, oom,
    })),
  );
  holder?.kill('SIGKILL');
})();
`;

function supervise(boxCase) {
  return spawnSync(process.execPath, ['-e', supervisorSource(ROOT)], {
    env: { ...process.env, OOM_CASE: JSON.stringify({ mountCount: 0, args: [], ...boxCase }) },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

// The same, as an unprivileged supervisor (uid 65534) started in
// `placeIn` (a cgroup.procs file) before it runs anything.
async function superviseUnprivileged(boxCase, placeIn, pkg) {
  // Without tap's hooks (which it adds to NODE_OPTIONS of every child it
  // sees spawned): they write into .tap/, which uid 65534 cannot.
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', `process.stdin.once('data', () => { ${supervisorSource(pkg)} })`], {
    env: { ...process.env, OOM_CASE: JSON.stringify({ mountCount: 0, args: [], ...boxCase }) },
    uid: 65534,
    gid: 65534,
    cwd: '/',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const closed = new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal })));
  try {
    fs.writeFileSync(placeIn, String(child.pid));
  } finally {
    child.stdin.end('go\n');
  }
  const { status, signal } = await closed;
  return { status, signal, stdout, stderr };
}

function checkSurvived(t, child) {
  t.equal(child.signal, null, `the supervising node was not killed (signal ${child.signal}; 137 is SIGKILL: the OOM killer)`);
  t.equal(child.status, 0, `the supervising node exited normally; stderr: ${child.stderr.slice(0, 500)}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  let result;
  try {
    result = JSON.parse(line);
  } catch {
    t.fail(`the supervising node reported how the box ended: ${JSON.stringify(child.stdout)}`);
    return undefined;
  }
  return result;
}

// The box alone fails: a CordonError naming the step and the memory limit,
// or the payload ran (and, if the OOM killer killed it, the box says so).
function checkBoxOutcome(t, result, { mustFail }) {
  if (result.outcome === 'error') {
    t.equal(result.name, 'CordonError', 'a CordonError');
    t.equal(result.code, 'ENOMEM', `ENOMEM: ${result.message}`);
    t.equal(result.errno, -12, 'errno -ENOMEM');
    t.type(result.step, 'string', `names the step (${result.step})`);
    t.type(result.syscall, 'string', `names the system call (${result.syscall})`);
    t.match(result.message, /memory limit/, 'says the memory limit is the cause');
    return;
  }
  if (result.signal !== null) {
    t.equal(result.signal, 'SIGKILL', 'the payload was killed by the OOM killer');
    t.ok(result.oom, "and the box emitted 'oom'");
    return;
  }
  t.notOk(mustFail, `a limit this small leaves room to run the box (it exited ${result.code})`);
  t.equal(result.code, 0, 'the payload ran and exited 0');
}

const LIMITS = [
  { label: '0', max: 0, mustFail: true },
  { label: '64 KiB', max: 64 * 1024, mustFail: true },
  { label: '1 MiB', max: 1024 * 1024, mustFail: false },
  { label: '4 MiB', max: 4 * 1024 * 1024, mustFail: false },
];

for (const limit of LIMITS) {
  for (const init of [true, false]) {
    t.test(`memory max ${limit.label}, init ${init}: the box fails alone, the supervisor lives`, async (t) => {
      if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
      if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
      const child = supervise({ file: '/bin/true', options: { init, cgroup: { memory: { max: limit.max } } } });
      const result = checkSurvived(t, child);
      if (result !== undefined) checkBoxOutcome(t, result, limit);
    });
  }
}

for (const limit of LIMITS) {
  t.test(`memory max ${limit.label}, a joined user namespace (the box's process is a grandchild): the supervisor lives`, async (t) => {
    if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
    if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
    const child = supervise({ file: '/bin/true', options: { cgroup: { memory: { max: limit.max } } }, joinUser: true });
    const result = checkSurvived(t, child);
    if (result !== undefined) checkBoxOutcome(t, result, limit);
  });
}

for (const limit of LIMITS) {
  t.test(`a tenant cgroup with memory max ${limit.label}: its box fails alone, the supervisor lives`, async (t) => {
    if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
    if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
    const child = supervise({ file: '/bin/true', options: {}, tenantLimits: { memory: { max: limit.max } } });
    const result = checkSurvived(t, child);
    // The box's own leaf cgroup is charged to the tenant: with no room at
    // all its mkdir fails (a CgroupError, step 'create cgroup') before any
    // process exists.
    if (result?.outcome === 'error' && result.name === 'CgroupError') {
      t.equal(result.code, 'ENOMEM', `ENOMEM: ${result.message}`);
      t.equal(result.step, 'create cgroup', 'at the creation of the box\'s leaf');
      t.match(result.message, /memory limit/, 'says the memory limit is the cause');
    } else if (result !== undefined) checkBoxOutcome(t, result, limit);
  });
}

t.test('memory max 4 MiB with 2,000 tmpfs mounts: the box fails alone, the supervisor lives', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const child = supervise({ file: '/bin/true', options: { cgroup: { memory: { max: 4 * 1024 * 1024 } } }, mountCount: 2000 });
  const result = checkSurvived(t, child);
  if (result !== undefined) checkBoxOutcome(t, result, { mustFail: false });
});

t.test('memory max 4 MiB with 2,000 tmpfs mounts in a joined user namespace: the box process dies as a grandchild, the supervisor lives', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const child = supervise({ file: '/bin/true', options: { cgroup: { memory: { max: 4 * 1024 * 1024 } } }, mountCount: 2000, joinUser: true });
  const result = checkSurvived(t, child);
  if (result !== undefined) checkBoxOutcome(t, result, { mustFail: false });
});

// A rootless supervisor with a delegated cgroup (made here by root, owned by
// uid 65534, as systemd's Delegate=yes would): the same rule holds.
t.test('an unprivileged supervisor with a delegated cgroup: memory max 0 and 64 KiB fail the box alone', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root sets up the delegated cgroup, then supervises as uid 65534)')) return;
  const host = cg.detectCgroups();
  const memoryV1 = host.v1.memory?.mount;
  const v2 = host.v2?.mount;
  const memoryOnV2 = v2 !== undefined && (host.v2.rootControllers ?? []).includes('memory');
  if (!requireOrSkip(t, memoryOnV2 || memoryV1 !== undefined, 'no memory controller on this host')) return;
  const { name } = testCgroupName(t, 'rootless');
  const pkg = packageReadableByNobody(t);
  const own = (dir, files) => {
    fs.mkdirSync(dir);
    for (const file of ['', ...files]) fs.chownSync(path.join(dir, file), 65534, 65534);
  };
  let placeIn;
  if (v2 !== undefined) {
    // v2: the supervisor sits in a leaf of the delegated cgroup, so that the
    // common ancestor of its cgroup and its boxes' is the delegated one.
    const dir = path.join(v2, name);
    own(dir, ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']);
    if (memoryOnV2) {
      const available = fs.readFileSync(`${dir}/cgroup.controllers`, 'utf8').split(/\s+/);
      for (const controller of ['memory', 'pids']) {
        if (available.includes(controller)) fs.writeFileSync(`${dir}/cgroup.subtree_control`, `+${controller}`);
      }
    }
    own(path.join(dir, 'supervisor'), ['cgroup.procs', 'cgroup.threads']);
    placeIn = path.join(dir, 'supervisor', 'cgroup.procs');
  }
  for (const controller of memoryOnV2 ? [] : ['memory', 'pids']) {
    const mount = host.v1[controller]?.mount;
    if (mount !== undefined && !fs.existsSync(path.join(mount, name))) own(path.join(mount, name), ['cgroup.procs']);
  }
  if (placeIn === undefined) placeIn = path.join(memoryV1, name, 'cgroup.procs');
  const cgroupParent = path.join(v2 ?? memoryV1, name);
  for (const limit of LIMITS.filter((entry) => entry.mustFail)) {
    const child = await superviseUnprivileged({ file: '/bin/true', options: { cgroupParent, cgroup: { memory: { max: limit.max } } } }, placeIn, pkg);
    t.comment(`memory max ${limit.label}: ${child.stdout.trim()}`);
    const result = checkSurvived(t, child);
    if (result !== undefined) checkBoxOutcome(t, result, limit);
  }
  const control = await superviseUnprivileged({ file: '/bin/true', options: { cgroupParent, cgroup: { memory: { max: 4 * 1024 * 1024 } } } }, placeIn, pkg);
  const result = checkSurvived(t, control);
  t.same(result, { outcome: 'exit', code: 0, signal: null, oom: false }, 'with 4 MiB the unprivileged box runs: the delegation works');
});

t.test('cordon run --cgroup --memory-max 0: the CLI reports the box error and exits 125', async (t) => {
  if (!skipExpected(t, isRoot, `unprivileged pass (${ROOT_ONLY})`)) return;
  if (!requireOrSkip(t, report.mode !== 'none', 'the host has no cgroups')) return;
  const child = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'run', '--cgroup', '--memory-max', '0', '--', '/bin/true'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(child.signal, null, `the CLI was not killed (signal ${child.signal})`);
  t.equal(child.status, 125, `exit 125 (cordon's own failure); stderr: ${child.stderr}`);
  t.match(child.stderr, /ENOMEM/, 'says ENOMEM');
  t.match(child.stderr, /memory limit/, 'names the memory limit');
});
