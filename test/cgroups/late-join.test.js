// A box with a cgroup and an init joins its cgroup late (Linux >= 5.16): its
// child shares Node's memory like any box's and never stands in the box's
// cgroup (an OOM kill there takes every process sharing the victim's memory,
// Node too); the init, exec'd with memory of its own, writes "0" to the
// cgroup files the parent opened before it clones the payload, and a helper
// (an exec of the init binary) makes the box's cgroup namespace where the
// box will stand. What must hold: nothing of Node's image is ever in the
// box's cgroup, even while the box is set up; the payload is PID 2 at the
// root of its cgroup namespace and holds no cgroup file; a cgroup the box
// cannot join fails it at that join, naming the file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, spawnIsolatedAsync, createTenantCgroup } = require('../..');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { stepsOf } = require('../helpers/spawn-steps');
const { spawnWithUnjoinableCgroup } = require('../helpers/unjoinable-cgroup');
const cg = require('../../dist/cgroups');
const { kernelAtLeast } = require('../../dist/internal/kernel');

const ROOT_ONLY = 'unprivileged pass: this host delegates no cgroup to an unprivileged user (oom-guard.test.js runs a delegated one)';
// The cgroup-namespace helper here is the one the box's child starts in its
// spawn; helpers started ahead are namespace-helpers.test.js's (and the
// set-up sampler below runs with both).
const helpers = require('../../dist/cgroups/namespace-helpers');
helpers.setCgroupNamespaceHelpers(false);
const LATE = kernelAtLeast(5, 16);
const host = cg.detectCgroups();

function collect(stream) {
  let text = '';
  stream.setEncoding('utf8').on('data', (chunk) => (text += chunk));
  return () => text;
}


// Every cgroup directory below `dir` whose name is a box's.
function boxDirsBelow(dir) {
  const out = [];
  const walk = (at, depth) => {
    let entries = [];
    try {
      entries = fs.readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const full = path.join(at, entry.name);
      if (entry.name.startsWith('box-')) out.push(full);
      if (depth < 2) walk(full, depth + 1);
    }
  };
  walk(dir, 0);
  return out;
}

t.test('the steps: the child joins nothing itself, the init and the namespace helper do', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, 'Linux < 5.16: the kernel checks a cgroup file\'s writer, so the box is forked into its cgroup')) return;
  const { result: box, steps } = stepsOf(() => spawnIsolated('/bin/true', [], { stdio: 'ignore', cgroup: { pids: { max: 16 } } }));
  await box.exited;
  const names = steps.map((step) => `${step.side} ${step.name}`);
  const joins = steps.filter((step) => /^join .* cgroup$/.test(step.name));
  t.ok(joins.length >= 1, `a join step per hierarchy (${joins.map((step) => step.name).join(', ')})`);
  t.ok(joins.some((step) => step.name === 'join v2 cgroup') || host.v2 === undefined, 'the v2 hierarchy among them');
  t.notOk(steps.some((step) => step.side === 'parent' && /^attach to .* cgroup$/.test(step.name)), `no parent write of the pid (${names.join(', ')})`);
  t.ok(names.includes('child make cgroup namespace'), 'the cgroup namespace is the helper\'s');
  const root = names.indexOf('child become box root');
  t.ok(root >= 0 && root < names.indexOf('child make cgroup namespace'), 'after the box root\'s ids (the helper keeps its capabilities across its exec)');
  const { result: forked, steps: forkSteps } = stepsOf(() => spawnIsolated('/bin/true', [], { stdio: 'ignore', init: false, cgroup: { pids: { max: 16 } } }));
  await forked.exited;
  t.notOk(forkSteps.some((step) => step.name === 'make cgroup namespace'), 'without an init the box is forked into its cgroup as before');
});

for (const waiting of [false, true]) t.test(`nothing of Node's image is in the box's cgroup while the box is set up (${waiting ? 'a helper started ahead' : 'the spawn\'s own helper'})`, async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, 'Linux < 5.16: the box is forked into its cgroup')) return;
  helpers.setCgroupNamespaceHelpers(waiting);
  if (waiting) await helpers.fillCgroupNamespaceHelpers();
  const offered = helpers.waitingHelperPids();
  t.teardown(() => helpers.setCgroupNamespaceHelpers(false));
  const hierarchies = [host.v2?.mount, host.v1.pids?.mount, host.v1.memory?.mount].filter((mount) => mount !== undefined);
  const tenant = createTenantCgroup(`late-${process.pid}`, { pids: { max: 64 } });
  t.teardown(() => tenant.close());
  const node = fs.readlinkSync('/proc/self/exe');
  const seen = new Map();
  let samples = 0;
  let setUp = false;
  // A slow set-up (many mounts) on a set-up thread, while this thread looks
  // at every process in the tenant's box cgroups over and over.
  const mounts = Array.from({ length: 400 }, (_, i) => ({ type: 'tmpfs', target: `/tmp/m${i}` }));
  const spawned = spawnIsolatedAsync('/bin/sh', ['-c', 'echo ready; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'], cgroup: tenant, mounts })
    .finally(() => { setUp = true; });
  while (!setUp) {
    for (const mount of hierarchies) {
      for (const dir of boxDirsBelow(mount)) {
        let pids = [];
        try {
          pids = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
        } catch {
          continue;
        }
        for (const pid of pids) {
          let exe;
          try {
            exe = fs.readlinkSync(`/proc/${pid}/exe`);
          } catch {
            continue;  // gone meanwhile
          }
          seen.set(exe, (seen.get(exe) ?? 0) + 1);
        }
      }
    }
    samples++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const box = await spawned;
  t.teardown(() => box.kill('SIGKILL'));
  if (waiting) t.notOk(helpers.waitingHelperPids().includes(offered[0]), `the box took the waiting helper ${offered[0]}`);
  t.ok(samples >= 2, `looked ${samples} times while the box was set up`);
  t.notOk(seen.has(node), `never Node's image (${node}) in a box cgroup; seen: ${JSON.stringify([...seen])}`);
  // And once running, the box's processes are there: the init and the payload.
  await new Promise((resolve) => box.stdout.once('data', resolve));
  const leaf = boxDirsBelow(host.v2?.mount ?? host.v1.pids.mount).find((dir) => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(box.pid)));
  t.ok(leaf, 'the box\'s init is in its leaf');
  const members = fs.readFileSync(path.join(leaf, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  t.equal(members.length, 2, `the init and the payload, nothing else (${members.join(' ')})`);
  box.kill('SIGKILL');
  await box.exited.catch(() => {});
});

t.test('the payload is PID 2 at the root of its cgroup namespace and holds no cgroup file', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  const box = spawnIsolated('/bin/sh', ['-c', 'echo pid $$; cat /proc/self/cgroup; ls /proc/self/fd; ls /sys/fs/cgroup/cgroup.procs'], {
    stdio: ['ignore', 'pipe', 'pipe'], cgroup: { pids: { max: 16 } },
  });
  const out = collect(box.stdout);
  const err = collect(box.stderr);
  const { code } = await box.exited;
  t.equal(code, 0, `the box ran (${err()})`);
  const lines = out().trim().split('\n');
  t.equal(lines[0], 'pid 2', 'the payload\'s process is PID 2: the helper\'s pid was given back');
  t.ok(lines.includes('0::/'), `its v2 cgroup is its namespace's root (${lines.filter((line) => /^\d+:/.test(line)).join(' ')})`);
  const fds = lines.filter((line) => /^\d+$/.test(line)).map(Number);
  t.same(fds.filter((fd) => fd > 3), [], `no fd beyond stdio and ls's own (${fds.join(' ')})`);
  if (host.v2 !== undefined) t.ok(lines.includes('/sys/fs/cgroup/cgroup.procs'), 'its cgroup2 view is mounted');
});

for (const [label, namespaces, who] of [
  ['a new cgroup namespace', {}, 'the namespace helper'],
  ['the host\'s cgroup namespace', { cgroup: 'host' }, 'the init'],
]) {
  t.test(`${label}: a cgroup ${who} cannot join fails the box at that join`, async (t) => {
    if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
    if (!requireOrSkip(t, LATE, 'Linux < 5.16: the box is forked into its cgroup')) return;
    const { result, join, steps } = spawnWithUnjoinableCgroup(t, { namespaces, cgroup: { pids: { max: 16 } } });
    t.ok(join >= 0, 'the plan has a late join');
    t.equal(steps.some((step) => step.op === 'makeCgroupNamespace'), who === 'the namespace helper', `${who} joins first`);
    t.notOk(result.pid > 0, 'no box');
    t.equal(result.failedStep, join, `failed at the join (${steps[result.failedStep]?.name})`);
    t.equal(Math.abs(result.errno), 28, 'ENOSPC, the write\'s own error');
  });
}

// The init is the first process charged to the box: a limit too small for
// it (or for its clone of the payload's process) must fail the spawn, not
// start a box that then dies by SIGKILL without its payload ever running.
t.test('a memory limit too small for the init fails the spawn: never a box that started', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, 'Linux < 5.16: the box is forked into its cgroup (oom-guard.test.js)')) return;
  for (const max of [16 * 1024, 32 * 1024]) {
    const box = spawnIsolated('/bin/true', [], { stdio: 'ignore', cgroup: { memory: { max } } });
    let spawned = false;
    box.on('spawn', () => { spawned = true; });
    const outcome = await box.exited.then((result) => ({ result }), (error) => ({ error }));
    t.notOk(spawned, `memory max ${max / 1024} KiB: no 'spawn' (${JSON.stringify(outcome.result ?? outcome.error?.message)})`);
    t.equal(outcome.error?.code, 'ENOMEM', 'a CordonError ENOMEM');
    t.match(outcome.error?.message ?? '', /memory limit/, 'that says the memory limit is the cause');
  }
});

// The helper shares Node's memory from its clone to its exec: in another
// box's pid namespace, that box's payload could trace it meanwhile (an
// unprivileged supervisor's memory stays dumpable). Such a box is forked.
t.test('a box that joins another box\'s pid namespace is forked into its cgroup, no helper there', async (t) => {
  if (!skipExpected(t, isRoot, ROOT_ONLY)) return;
  if (!requireOrSkip(t, LATE, 'Linux < 5.16: every box with a cgroup is forked into it')) return;
  const holder = spawnIsolated('/bin/sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise((resolve) => holder.once('spawn', resolve));
  const namespaces = { user: { path: `/proc/${holder.pid}/ns/user` }, pid: { path: `/proc/${holder.pid}/ns/pid` } };
  const { result: box, steps } = stepsOf(() => spawnIsolated('/bin/true', [], { stdio: 'ignore', namespaces, cgroup: { pids: { max: 16 } } }));
  const { code } = await box.exited;
  t.equal(code, 0, 'the box ran');
  t.notOk(steps.some((step) => step.name === 'make cgroup namespace'), 'no cgroup namespace helper');
  t.notOk(steps.some((step) => step.op === 'joinCgroupLate'), 'no late join');
  holder.kill('SIGKILL');
  await holder.exited.catch(() => {});
});
