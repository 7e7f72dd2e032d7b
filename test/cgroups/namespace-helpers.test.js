// Cgroup-namespace helpers started ahead (lib/cgroups/namespace-helpers.ts):
// a box that joins its cgroup late takes its cgroup namespace from a helper
// that waits (`cordon-init --cgroupns-wait`) instead of cloning and exec'ing
// one in its spawn. What must hold: the box is the same (PID 2, `0::/`, its
// cgroup2 view, nothing of Node's in its cgroup); a helper is no process of
// Node's memory and serves one box; a failed join is reported at that join;
// a helper that died while it waited is dropped once its watch runs (one
// taken dead, or stopped, is replaced by the box's own:
// namespace-helpers-redteam.test.js); and every helper goes when the
// supervisor does (process.exit, SIGKILL), or when a spawn that took it
// fails before its request.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const t = require('tap');
const { spawnIsolated } = require('../..');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { stepsOf } = require('../helpers/spawn-steps');
const { spawnWithUnjoinableCgroup } = require('../helpers/unjoinable-cgroup');
const { testCgroupName } = require('../helpers/cgroup-fixture');
const { packageReadableByNobody } = require('../helpers/readable-package');
const helpers = require('../../dist/cgroups/namespace-helpers');
const { Ledger } = require('../../dist/internal/resources');
const { kernelAtLeast } = require('../../dist/internal/kernel');
const cg = require('../../dist/cgroups');

const ROOT = path.join(__dirname, '..', '..');
const ROOT_ONLY = 'unprivileged pass: this host delegates no cgroup to an unprivileged user (the rootless case below runs a delegated one)';
const LATE = kernelAtLeast(5, 16);
const LATE_REASON = 'Linux < 5.16: a box with a cgroup is forked into it, no helper';
const host = cg.detectCgroups();

t.setTimeout(300_000);
t.teardown(() => helpers.setCgroupNamespaceHelpers(true));

function collect(stream) {
  let text = '';
  stream.setEncoding('utf8').on('data', (chunk) => (text += chunk));
  return () => text;
}

const alive = (pid) => {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
};

/** Resolves once none of `pids` runs (a zombie counts as gone), or rejects after `ms`: waits on the event, never a fixed sleep. */
async function gone(pids, ms = 30_000) {
  const until = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > until) throw new Error(`still running after ${ms} ms: ${pids.filter(alive).join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Helpers ready now: started at once rather than after the refill's quiet moment (and awaited). */
async function ready() {
  helpers.setCgroupNamespaceHelpers(true);
  await helpers.fillCgroupNamespaceHelpers();
  return helpers.waitingHelperPids();
}

t.test('a box takes a waiting helper, and is the same box', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const before = await ready();
  t.ok(before.length > 0, `helpers wait (${before.join(' ')})`);
  const node = fs.readFileSync('/proc/self/cgroup', 'utf8');
  for (const pid of before) {
    t.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^cordon-init\0--cgroupns-wait\0\d+\0$/, `helper ${pid} is the init binary, waiting`);
    t.equal(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), node, `helper ${pid} waits in Node's cgroups, no box's`);
    t.not(fs.readlinkSync(`/proc/${pid}/exe`), fs.readlinkSync('/proc/self/exe'), 'and is no image of Node\'s');
  }
  const { result: box, steps } = stepsOf(() => spawnIsolated('/bin/sh', ['-c', 'echo pid $$; cat /proc/self/cgroup; cat /sys/fs/cgroup/cgroup.procs; ls /proc/self/fd'], {
    stdio: ['ignore', 'pipe', 'pipe'], cgroup: { pids: { max: 16 } },
  }));
  const out = collect(box.stdout);
  const err = collect(box.stderr);
  const { code } = await box.exited;
  t.equal(code, 0, `the box ran (${err()})`);
  const names = steps.map((step) => `${step.side} ${step.name}`);
  t.ok(names.includes('child take cgroup namespace'), `the waiting helper made its namespace (${names.filter((name) => /cgroup/.test(name)).join(', ')})`);
  t.notOk(names.includes('child make cgroup namespace'), 'no helper made in the spawn');
  const lines = out().trim().split('\n');
  t.equal(lines[0], 'pid 2', 'the payload is PID 2 (the helper took no pid of the box\'s)');
  t.ok(lines.includes('0::/'), `its v2 cgroup is its namespace's root (${lines.filter((line) => /^\d+:/.test(line)).join(' ')})`);
  if (host.v2 !== undefined) {
    const members = lines.slice(lines.indexOf('0::/') + 1).filter((line) => /^\d+$/.test(line)).map(Number);
    t.ok(members.includes(1) && members.includes(2), `its cgroup2 view lists the init and the payload (${members.join(' ')})`);
  }
  // The first helper was the one taken: it served, and is gone (reaped by its watch).
  await t.resolves(gone([before[0]]), `the helper that served (${before[0]}) has ended`);
  t.notOk(helpers.waitingHelperPids().includes(before[0]), 'and is no longer offered');
});

t.test('a join the waiting helper cannot make fails the box at that join', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  await ready();
  const { result, join, steps } = spawnWithUnjoinableCgroup(t, { cgroup: { pids: { max: 16 } } });
  t.ok(steps.some((step) => step.op === 'takeCgroupNamespace'), 'the plan takes a waiting helper');
  t.notOk(result.pid > 0, 'no box');
  t.equal(result.failedStep, join, `failed at the join (${steps[result.failedStep]?.name})`);
  t.equal(Math.abs(result.errno), 28, 'ENOSPC, the write\'s own error');
});

t.test('a helper that died while it waited is not handed out: the box makes its own', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const pids = await ready();
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  // Their watches see them go.
  const until = Date.now() + 30_000;
  while (helpers.waitingHelperCount() > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(helpers.waitingHelperCount(), 0, 'the killed helpers were dropped');
  const { result: box, steps } = stepsOf(() => spawnIsolated('/bin/true', [], { stdio: 'ignore', cgroup: { pids: { max: 16 } } }));
  const { code } = await box.exited;
  t.equal(code, 0, 'the box ran');
  t.ok(steps.some((step) => step.name === 'make cgroup namespace'), 'with a helper of its own');
});

t.test('a helper taken by a spawn that fails before its request goes with the spawn', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const [first] = await ready();
  const ledger = new Ledger();
  const taken = helpers.takeCgroupNamespaceHelper(ledger, []);
  t.equal(taken?.pid, first, 'the oldest helper is taken');
  t.ok(alive(first), 'it waits');
  ledger.releaseAll();
  await t.resolves(gone([first]), 'the ledger closed its socket: it ended');
});

t.test('with helpers off, a box makes its own (the path of every box before a refill)', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const pids = await ready();
  helpers.setCgroupNamespaceHelpers(false);
  await t.resolves(gone(pids), 'turning them off let the waiting ones go');
  const { result: box, steps } = stepsOf(() => spawnIsolated('/bin/true', [], { stdio: 'ignore', cgroup: { pids: { max: 16 } } }));
  await box.exited;
  t.ok(steps.some((step) => step.name === 'make cgroup namespace'), 'the spawn made its helper');
  t.equal(helpers.waitingHelperCount(), 0, 'and none were started');
});

// A supervisor that ends with helpers waiting: they see EOF and exit.
const supervisorSource = (pkg, end) => `
const helpers = require(${JSON.stringify(path.join(pkg, 'dist', 'cgroups', 'namespace-helpers'))});
const { spawnIsolated } = require(${JSON.stringify(pkg)});
const options = JSON.parse(process.env.HELPER_CASE);
(async () => {
  // One box, so that the helpers' refill is scheduled as in use, then helpers ready.
  const first = spawnIsolated('/bin/true', [], { stdio: 'ignore', ...options });
  await first.exited;
  await helpers.fillCgroupNamespaceHelpers();
  const dc = require('node:diagnostics_channel');
  const names = [];
  dc.subscribe('cordon:spawn:step', (m) => names.push(m.name));
  const box = spawnIsolated('/bin/sh', ['-c', 'cat /proc/self/cgroup'], { stdio: ['ignore', 'pipe', 'inherit'], ...options });
  let out = '';
  box.stdout.on('data', (d) => (out += d));
  const result = await box.exited;
  await helpers.fillCgroupNamespaceHelpers();
  console.log(JSON.stringify({ code: result.code, took: names.includes('take cgroup namespace'), cgroup: out, waiting: helpers.waitingHelperPids() }));
  ${end === 'kill' ? "setInterval(() => {}, 1000);" : 'process.exit(0);'}
})().catch((error) => { console.log(JSON.stringify({ error: error.message })); process.exit(1); });
`;

function supervise(pkg, end, options, spawnOptions = {}) {
  // Without tap's hooks in NODE_OPTIONS (they write into .tap/).
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', `process.stdin.once('data', () => { ${supervisorSource(pkg, end)} })`], {
    env: { ...process.env, HELPER_CASE: JSON.stringify(options) },
    cwd: '/',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...spawnOptions,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const report = new Promise((resolve) => {
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((entry) => entry.startsWith('{'));
      if (line !== undefined && text.includes('\n')) resolve(JSON.parse(line));
    });
    child.on('close', () => resolve({ error: `exited without a report: ${stderr}` }));
  });
  const closed = new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal })));
  return { child, report, closed, stderr: () => stderr };
}

for (const end of ['exit', 'kill']) {
  t.test(`a supervisor's waiting helpers end with it (${end === 'exit' ? 'process.exit()' : 'SIGKILL'})`, async (t) => {
    if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
    if (!requireOrSkip(t, LATE, LATE_REASON)) return;
    const run = supervise(ROOT, end, { cgroup: { pids: { max: 16 } } });
    run.child.stdin.end('go\n');
    const report = await run.report;
    t.equal(report.error, undefined, `the supervisor ran its boxes (${report.error})`);
    t.ok(report.took, 'its second box took a waiting helper');
    t.ok(report.waiting?.length > 0, `helpers waited when it ended (${report.waiting?.join(' ')})`);
    if (end === 'kill') run.child.kill('SIGKILL');
    await run.closed;
    await t.resolves(gone(report.waiting ?? []), 'none of them outlives it');
  });
}

// Rootless: the helper enters the box's user namespace with the
// supervisor's own uid (the namespace's owner), in a cgroup delegated to it
// (made here by root, owned by uid 65534, as systemd's Delegate=yes would).
t.test('an unprivileged supervisor with a delegated cgroup: its boxes take waiting helpers', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass (root sets up the delegated cgroup, then supervises as uid 65534)')) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  if (!requireOrSkip(t, host.v2 !== undefined, 'no cgroup v2 hierarchy to delegate')) return;
  const { name } = testCgroupName(t, 'helpers');
  const pkg = packageReadableByNobody(t);
  const own = (dir, files) => {
    fs.mkdirSync(dir);
    for (const file of ['', ...files]) fs.chownSync(path.join(dir, file), 65534, 65534);
  };
  // The supervisor sits in a leaf of the delegated cgroup: the common
  // ancestor of its cgroup and its boxes' is then the delegated one.
  const dir = path.join(host.v2.mount, name);
  own(dir, ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']);
  own(path.join(dir, 'supervisor'), ['cgroup.procs', 'cgroup.threads']);
  const run = supervise(pkg, 'exit', { cgroupParent: dir, cgroup: {} }, { uid: 65534, gid: 65534 });
  fs.writeFileSync(path.join(dir, 'supervisor', 'cgroup.procs'), String(run.child.pid));
  run.child.stdin.end('go\n');
  const report = await run.report;
  const { status } = await run.closed;
  t.equal(report.error, undefined, `the supervisor ran its boxes (${report.error}; ${run.stderr().slice(0, 400)})`);
  t.equal(status, 0, 'and exited 0');
  t.equal(report.code, 0, 'the box ran');
  t.ok(report.took, 'it took a waiting helper');
  t.match(report.cgroup ?? '', /^0::\/$/m, `at the root of its own cgroup namespace (${JSON.stringify(report.cgroup)})`);
  await t.resolves(gone(report.waiting ?? []), 'the helpers ended with the supervisor');
});

// A worker thread's helpers are its env's: terminated with helpers waiting,
// or with their start still in flight, it leaves none, not even a zombie
// (the env kills and reaps them at its teardown; a start that settles after
// it lets its helpers go).
t.test('a worker terminated with helpers waiting or starting leaves none', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const { Worker } = require('node:worker_threads');
  const helperChildren = () => fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      return /^PPid:\s+(\d+)$/m.exec(status)?.[1] === String(process.pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('cordon-init\0--cgroupns-wait\0');
    } catch {
      return false;
    }
  });
  helpers.setCgroupNamespaceHelpers(false);
  await gone(helperChildren());
  const module = JSON.stringify(path.join(ROOT, 'dist', 'cgroups', 'namespace-helpers'));
  for (const when of ['waiting', 'starting']) {
    const worker = new Worker(`
      const { parentPort } = require('node:worker_threads');
      const helpers = require(${module});
      const filled = helpers.fillCgroupNamespaceHelpers();
      if (${JSON.stringify(when)} === 'starting') parentPort.postMessage(0);
      else filled.then(() => parentPort.postMessage(helpers.waitingHelperCount()));
    `, { eval: true });
    const count = await new Promise((resolve) => worker.once('message', resolve));
    if (when === 'waiting') t.ok(count > 0, `the worker had ${count} helpers waiting`);
    await worker.terminate();
  }
  const exists = (pid) => fs.existsSync(`/proc/${pid}`);
  const until = Date.now() + 30_000;
  let left = helperChildren();
  while (left.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    left = helperChildren();
  }
  t.same(left.filter(exists), [], 'no helper of the workers is left, running or a zombie');
});
