// Red-team findings on the cgroup-namespace helpers started ahead
// (lib/cgroups/namespace-helpers.ts, cordon-init --cgroupns-wait). Each test
// states what should hold; at 8ccccfc all four fail.
//  1. a helper killed while it waited, whose watch has not run yet (same
//     tick), is handed out: the box fails with EPIPE at 'take cgroup
//     namespace' instead of making its own helper;
//  2. a helper that is stopped (SIGSTOP: any process of the supervisor's uid
//     may send it, e.g. an unprivileged supervisor's `pid: 'host'` box) makes
//     the next spawn block Node's JS thread forever (no bound on the answer);
//  3. such a helper outlives a SIGKILLed supervisor for good (no
//     parent-death signal; it only ever leaves on EOF, which it cannot read);
//  4. a helper holds every fd Node has without close-on-exec (inherited ones
//     above the few Node marks), for its whole wait.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const t = require('tap');
const { spawnIsolated } = require('../..');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const helpers = require('../../dist/cgroups/namespace-helpers');
const { kernelAtLeast } = require('../../dist/internal/kernel');

const ROOT = path.join(__dirname, '..', '..');
const ROOT_ONLY = 'unprivileged pass: this host delegates no cgroup to an unprivileged user';
const LATE = kernelAtLeast(5, 16);
const LATE_REASON = 'Linux < 5.16: a box with a cgroup is forked into it, no helper';
const OPTIONS = { cgroup: { pids: { max: 16 } } };

t.setTimeout(120_000);
t.teardown(() => helpers.setCgroupNamespaceHelpers(true));

const stateOf = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
  } catch {
    return undefined;
  }
};
const isHelper = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('cordon-init\0--cgroupns-wait\0');
  } catch {
    return false;
  }
};
/** SIGKILLs `pids` that still are waiting helpers (the ones a test stopped), by pid. */
const killHelpers = (pids) => {
  for (const pid of pids) if (isHelper(pid)) try { process.kill(pid, 'SIGKILL'); } catch {}
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// (fillCgroupNamespaceHelpers returns nothing at 8ccccfc, a promise in later trees: awaited either way.)
async function ready() {
  helpers.setCgroupNamespaceHelpers(true);
  await helpers.fillCgroupNamespaceHelpers();
  return helpers.waitingHelperPids();
}

t.test('a helper killed in the same tick as the spawn is not handed out', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const [first] = await ready();
  process.kill(first, 'SIGKILL');
  const until = Date.now() + 5000;
  while (stateOf(first) !== 'Z' && Date.now() < until) { /* its watch runs only once this tick ends */ }
  t.equal(stateOf(first), 'Z', 'the helper is dead (not yet reaped)');
  let outcome;
  try {
    const box = spawnIsolated('/bin/true', [], { stdio: 'ignore', ...OPTIONS });
    outcome = await box.exited;
  } catch (error) {
    outcome = { error: `${error.code} ${error.syscall} at '${error.step}': ${error.message}` };
  }
  t.equal(outcome.error, undefined, 'the spawn does not fail for a helper that died while it waited');
  t.equal(outcome.code, 0, 'the box ran');
});

// A supervisor (a child of this test, its own session so that no orphaned
// process group SIGHUPs its stopped helper) that stops its waiting helpers,
// then spawns.
const stopperSource = (pkg) => `
const helpers = require(${JSON.stringify(path.join(pkg, 'dist', 'cgroups', 'namespace-helpers'))});
const { spawnIsolated } = require(${JSON.stringify(pkg)});
const options = ${JSON.stringify(OPTIONS)};
(async () => {
  await spawnIsolated('/bin/true', [], { stdio: 'ignore', ...options }).exited;
  await helpers.fillCgroupNamespaceHelpers();
  const pids = helpers.waitingHelperPids();
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  console.log(JSON.stringify({ stopped: pids }));
  const started = Date.now();
  let outcome;
  try {
    const box = spawnIsolated('/bin/true', [], { stdio: 'ignore', ...options });
    outcome = await box.exited;
  } catch (error) {
    outcome = { error: error.code };
  }
  console.log(JSON.stringify({ done: Date.now() - started, outcome }));
  process.exit(0);
})();
`;

t.test('a stopped waiting helper: the next spawn does not hang, and the helper does not outlive the supervisor', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', stopperSource(ROOT)], {
    cwd: '/', stdio: ['ignore', 'pipe', 'inherit'], detached: true,
  });
  const closed = new Promise((resolve) => child.on('close', resolve));
  let stopped = [];
  t.teardown(() => {
    try { process.kill(child.pid, 'SIGKILL'); } catch {}
    killHelpers(stopped);
  });
  const lines = [];
  child.stdout.setEncoding('utf8').on('data', (chunk) => lines.push(...chunk.split('\n').filter(Boolean).map((line) => JSON.parse(line))));
  const until = Date.now() + 20_000;
  while (!lines.some((line) => line.done !== undefined) && Date.now() < until) await sleep(50);
  stopped = lines.find((line) => line.stopped)?.stopped ?? [];
  t.ok(stopped.length > 0, `helpers were stopped (${stopped.join(' ')})`);
  const done = lines.find((line) => line.done !== undefined);
  t.ok(done !== undefined, `the spawn after the stop returned within 20 s (${JSON.stringify(done)})`);
  // The supervisor is SIGKILLed (as a crash would): its helpers must go with it.
  try { process.kill(child.pid, 'SIGKILL'); } catch {}
  await closed;
  await sleep(2000);
  const left = stopped.filter((pid) => isHelper(pid) && stateOf(pid) !== 'Z');
  t.same(left, [], `no stopped helper outlives the SIGKILLed supervisor (left: ${left.map((pid) => `${pid}:${stateOf(pid)}`).join(' ')})`);
});

t.test("a waiting helper holds none of Node's inheritable fds", async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  // fd 40 of the supervisor: a pipe without close-on-exec, as a socket
  // activation or a parent's pipe would be.
  const stdio = Array.from({ length: 41 }, (_, fd) => (fd === 1 ? 'pipe' : fd === 40 ? 'pipe' : 'ignore'));
  stdio[2] = 'inherit';
  const source = `
const fs = require('node:fs');
const helpers = require(${JSON.stringify(path.join(ROOT, 'dist', 'cgroups', 'namespace-helpers'))});
(async () => {
await helpers.fillCgroupNamespaceHelpers();
const fds = {};
for (const pid of helpers.waitingHelperPids()) fds[pid] = fs.readdirSync('/proc/' + pid + '/fd').map((fd) => fd + ' ' + fs.readlinkSync('/proc/' + pid + '/fd/' + fd));
console.log(JSON.stringify(fds));
process.exit(0);
})();`;
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', source], { cwd: '/', stdio });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (text += chunk));
  await new Promise((resolve) => child.on('close', resolve));
  const fds = JSON.parse(text.trim() || '{}');
  t.ok(Object.keys(fds).length > 0, 'helpers waited');
  for (const [pid, held] of Object.entries(fds)) {
    t.same(held.filter((entry) => !entry.startsWith(`${/\d+/.exec(entry)[0]} socket:`)), [], `helper ${pid} holds only its socket (${held.join(', ')})`);
  }
});
