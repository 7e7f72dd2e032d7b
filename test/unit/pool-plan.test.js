// The plan of a pooled box: which steps the pool entry replaces and in what
// order the box joins it (no root, no spawn: buildPlan is pure).
'use strict';
const t = require('tap');
const { buildPlan, CLONE_FLAGS } = require('../../dist/plan');
const { validateOptions } = require('../../dist/validate');

const root = { euid: 0, egid: 0 };
const rootless = { euid: 1000, egid: 1000 };
const runtime = (pooled) => ({ stdio: [0, 1, 2], namespaces: {}, init: 9, ...(pooled ? { pooled } : {}) });
const ops = (plan) => plan.steps.map((step) => step.op);
const named = (plan, op) => plan.steps.filter((step) => step.op === op);

for (const caller of [root, rootless]) {
  const who = caller === root ? 'root' : 'rootless';

  t.test(`${who}: a user+net entry replaces the maps, the net namespace and lo; the rest is unshared after the joins`, async (t) => {
    const options = validateOptions('/bin/true', [], {});
    const fresh = buildPlan(options, runtime(), caller);
    const pooled = buildPlan(options, runtime({ user: 41, net: 42 }), caller);
    const all = Object.values(CLONE_FLAGS).reduce((a, b) => a | b, 0) & ~CLONE_FLAGS.time;
    t.equal(fresh.steps[0].num[0], all, 'a fresh box is cloned into all its namespaces');
    t.equal(pooled.steps[0].num[0], 0, 'a pooled box is cloned into none: its namespaces are made after the join');
    for (const op of ['writeUidMap', 'writeGidMap', 'writeSetgroups', 'runIdMapHelper', 'waitForParent', 'loopbackUp']) {
      t.equal(named(pooled, op).length, 0, `no ${op}: the pool did it`);
    }
    t.ok(named(fresh, 'loopbackUp').length === 1 && named(fresh, 'waitForParent').length === 1);
    const joins = named(pooled, 'joinNamespace');
    t.same(joins.map((step) => step.num[0]), [CLONE_FLAGS.user, CLONE_FLAGS.net], 'joins the user namespace, then the net namespace');
    t.same(joins.map((step) => pooled.fds[step.slot]), [41, 42], 'with the entry\'s fds');
    const order = ops(pooled);
    const unshare = named(pooled, 'unshare')[0];
    t.equal(unshare.num[0], all & ~CLONE_FLAGS.user & ~CLONE_FLAGS.net, 'unshares every other new namespace');
    t.ok(order.lastIndexOf('joinNamespace') < order.indexOf('unshare'), 'after the joins');
    t.equal(order[order.indexOf('unshare') + 1], 'enterPidNamespace', 'then enters the new pid namespace by a clone');
    t.ok(order.indexOf('enterPidNamespace') < order.indexOf('setMountPropagation'), 'before any mount (its /proc is the new pid namespace\'s)');
  });

  t.test(`${who}: a user+net box in the host pid namespace needs no clone into one`, async (t) => {
    const options = validateOptions('/bin/true', [], { namespaces: { pid: 'host' } });
    const plan = buildPlan(options, runtime({ user: 41, net: 42 }), caller);
    t.equal(named(plan, 'enterPidNamespace').length, 0);
    t.equal(named(plan, 'unshare')[0].num[0] & CLONE_FLAGS.pid, 0);
  });
}

t.test('root: a net-only entry replaces the net namespace and lo; the rest is made at clone', async (t) => {
  // (Validated as this process: only a root one may give a host uid.)
  const ids = process.geteuid() === 0 ? { uid: 1000, gid: 1000 } : {};
  const options = validateOptions('/bin/true', [], { namespaces: { user: 'host' }, ...ids });
  const plan = buildPlan(options, runtime({ net: 42 }), root);
  t.equal(plan.steps[0].num[0] & CLONE_FLAGS.net, 0, 'not cloned into a new net namespace');
  t.not(plan.steps[0].num[0] & CLONE_FLAGS.pid, 0, 'the other namespaces are made at clone');
  t.same(named(plan, 'joinNamespace').map((step) => [step.num[0], plan.fds[step.slot]]), [[CLONE_FLAGS.net, 42]]);
  t.equal(named(plan, 'unshare').length, 0);
  t.equal(named(plan, 'enterPidNamespace').length, 0);
  t.equal(named(plan, 'loopbackUp').length, 0);
});
