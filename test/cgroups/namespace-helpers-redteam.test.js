// Red-team findings on the cgroup-namespace helpers started ahead
// (lib/cgroups/namespace-helpers.ts, cordon-init --cgroupns-wait). Each test
// states what must hold; at 8ccccfc all four failed:
//  1. a helper killed while it waited, whose watch has not run yet (same
//     tick), was handed out: the box failed with EPIPE at 'take cgroup
//     namespace'. Now the child makes its own helper when the waiting one
//     gives no answer;
//  2. a stopped helper (SIGSTOP: any process of the supervisor's uid may
//     send it, e.g. an unprivileged supervisor's `pid: 'host'` box) made the
//     next spawn block Node's JS thread for ever. Now the answer is awaited
//     for 2 s (the socket's receive timeout), then the child makes its own;
//  3. such a helper outlived a SIGKILLed supervisor (it leaves on EOF, which
//     a stopped process cannot read). Now it has a parent-death signal
//     (SIGKILL), started from a set-up thread that lives as long as the
//     process;
//  4. a helper held every fd Node has without close-on-exec (inherited ones
//     above the few Node marks). Now it keeps only its socket.
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

t.test('a stopped waiting helper: the next spawn does not hang, and nothing outlives the SIGKILLed supervisor', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, LATE_REASON)) return;
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '-e', stopperSource(ROOT)], {
    cwd: '/', stdio: ['ignore', 'pipe', 'inherit'], detached: true,
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let children = [];
  t.teardown(() => {
    try { process.kill(child.pid, 'SIGKILL'); } catch {}
    // What the supervisor left (its stopped helpers, its box's set-up child), by pid.
    for (const pid of children) {
      const comm = (() => { try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } })();
      if (isHelper(pid) || comm === 'node') try { process.kill(pid, 'SIGKILL'); } catch {}
    }
  });
  const lines = [];
  child.stdout.setEncoding('utf8').on('data', (chunk) => lines.push(...chunk.split('\n').filter(Boolean).map((line) => JSON.parse(line))));
  const until = Date.now() + 15_000;
  while (!lines.some((line) => line.done !== undefined) && Date.now() < until) await sleep(50);
  const stopped = lines.find((line) => line.stopped)?.stopped ?? [];
  t.ok(stopped.length > 0, `helpers were stopped (${stopped.join(' ')})`);
  const done = lines.find((line) => line.done !== undefined);
  t.ok(done !== undefined, `the spawn after the stop returned within 15 s (${JSON.stringify(done)})`);
  const ofSupervisor = () => fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try { return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(child.pid); } catch { return false; }
  });
  children = [...new Set([...stopped, ...ofSupervisor()])];
  // The supervisor is SIGKILLed (as a crash would): what it started must go with it.
  try { process.kill(child.pid, 'SIGKILL'); } catch {}
  await exited;
  // They go at once (SIGKILL by the parent-death signal, EOF): waited for, up to 15 s.
  const running = () => children.filter((pid) => stateOf(pid) !== undefined && stateOf(pid) !== 'Z');
  const deadline = Date.now() + 15_000;
  while (running().length > 0 && Date.now() < deadline) await sleep(20);
  const left = running();
  const describe = (pid) => { try { return `${pid}:${stateOf(pid)}:${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`; } catch { return `${pid}`; } };
  t.same(left, [], `nothing of the supervisor's outlives its SIGKILL (left: ${left.map(describe).join(', ')})`);
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
// A vfork parent resumes before the kernel has closed its child's
// close-on-exec fds (exec releases the parent first): each helper's table
// is read until it holds one fd, for up to 10 s.
const held = (pid) => fs.readdirSync('/proc/' + pid + '/fd').flatMap((fd) => {
  try { return [fd + ' ' + fs.readlinkSync('/proc/' + pid + '/fd/' + fd)]; } catch { return []; }
});
const fds = {};
for (const pid of helpers.waitingHelperPids()) {
  const until = Date.now() + 10000;
  fds[pid] = held(pid);
  while (fds[pid].length > 1 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    fds[pid] = held(pid);
  }
}
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
    t.equal(held.length, 1, `helper ${pid} holds only its socket (${held.join(', ')}; fd 40 is the supervisor's inherited one)`);
  }
});
