// A box child with its own memory (a box forked into its cgroup: without an
// init, or before Linux 5.16; late-join.test.js has the box with an init)
// joins its v1 cgroups itself ("0" into each
// hierarchy's `tasks` file, its first step after the parent's window) rather
// than the parent writing its pid to cgroup.procs: a thread moving itself
// skips the global threadgroup lock and the RCU grace period it waits for
// (1–11 ms a box on v1, growing with Node's memory; benchmarks/heap-growth.js).
// What must hold: the box, its init and the payload's children are all in
// the box's v1 cgroups, the step is the child's and names the hierarchy,
// and the limits bind from the first fork.
'use strict';
const t = require('tap');
const { spawnIsolated } = require('../..');
const { isRoot } = require('../helpers/payload');
const { skipExpected } = require('../helpers/skip');
const { stepsOf } = require('../helpers/spawn-steps');
const cg = require('../../dist/cgroups');

const host = cg.detectCgroups();
const v1 = Object.keys(host.v1);

function readCgroups(pid) {
  const lines = require('node:fs').readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  return Object.fromEntries(lines.map((line) => {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line);
    return [controllers, path];
  }));
}


t.test('the box child joins its v1 cgroups itself, before anything in it forks', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: v1 hierarchies are not delegated to this user (test/spawn/cgroup.test.js checks the refusal)')) return;
  if (!skipExpected(t, host.v1.memory !== undefined && host.v1.pids !== undefined, 'host without v1 memory and pids hierarchies (pure v2: the clone places the box)')) return;
  // The init's payload forks a grandchild that reports its own cgroups.
  const { result: box, steps } = stepsOf(() => spawnIsolated('/bin/sh', ['-c', '(sleep 30 & wait) & echo ready; wait'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    init: false,
    cgroup: { memory: { max: 64 * 2 ** 20 }, pids: { max: 16 } },
  }));
  t.teardown(() => box.kill('SIGKILL'));
  await new Promise((resolve) => box.stdout.once('data', resolve));
  const joins = steps.filter((step) => /^join .* cgroup$/.test(step.name));
  t.ok(joins.length >= 2, `a join step per v1 hierarchy (${joins.map((step) => step.name).join(', ')})`);
  t.ok(joins.every((step) => step.side === 'child'), 'run by the box child');
  t.notOk(steps.some((step) => step.side === 'parent' && /^attach to (?!v2).* cgroup$/.test(step.name)), 'no parent write of the pid to a v1 hierarchy');
  // Every process of the box (its pid 1 and what it forked) is in the box's memory and pids cgroups.
  const init = readCgroups(box.pid);
  t.match(init.memory, /\/box-[^/]+$/, `the box's first process is in a box memory cgroup (${init.memory})`);
  t.match(init.pids, /\/box-[^/]+$/, `and in a box pids cgroup (${init.pids})`);
  const children = require('node:fs').readFileSync(`/proc/${box.pid}/task/${box.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  t.ok(children.length > 0, 'the box has forked');
  for (const pid of children) {
    const own = readCgroups(pid);
    t.equal(own.memory, init.memory, `child ${pid}: same memory cgroup`);
    t.equal(own.pids, init.pids, `child ${pid}: same pids cgroup`);
  }
  box.kill('SIGKILL');
  await box.exited.catch(() => {});
});
