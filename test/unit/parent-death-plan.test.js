// Which boxes get a parent-death signal, and of which kind (no root, no
// spawn: buildPlan is pure). A box that dies with its supervisor has one for
// good; one that outlives it has one until the supervisor has recorded it,
// when it has an init to let go of it (native/init/cordon_init.cc --release);
// without an init it has none.
'use strict';
const t = require('tap');
const { buildPlan } = require('../../dist/plan');
const { validateOptions } = require('../../dist/validate');

const caller = { euid: 1000, egid: 1000 };
const runtime = { stdio: [0, 1, 2], namespaces: {}, init: 9 };

function deathSteps(options) {
  const plan = buildPlan(validateOptions('/bin/true', [], options), { ...runtime, ...(options.init === false ? { init: undefined } : {}) }, caller);
  const order = plan.steps.map((step) => step.op);
  return { order, steps: plan.steps.filter((step) => step.op === 'setParentDeathSignal') };
}

t.test('dieWithParent (the default): one for good, after the last credential change', async (t) => {
  const { order, steps } = deathSteps({});
  t.equal(steps.length, 1);
  t.same(steps[0].num.slice(0, 2), [9, 0], 'SIGKILL, not until recorded');
  t.equal(steps[0].name, 'set parent death signal');
  t.ok(order.indexOf('setIds') < order.indexOf('setParentDeathSignal'), 'after the ids change (which clears it)');
});

t.test('dieWithParent: false with an init: one until recorded', async (t) => {
  const { order, steps } = deathSteps({ dieWithParent: false });
  t.equal(steps.length, 1);
  t.same(steps[0].num.slice(0, 2), [9, 1], 'SIGKILL, until recorded');
  t.equal(steps[0].name, 'set parent death signal until recorded');
  t.ok(order.indexOf('setIds') < order.indexOf('setParentDeathSignal'), 'after the ids change (which clears it)');
  t.equal(order[order.length - 1], 'execInit', 'the init lets go of it');
});

t.test('dieWithParent: false without an init: none (nothing in the box could let go of it)', async (t) => {
  const { order, steps } = deathSteps({ dieWithParent: false, init: false });
  t.equal(steps.length, 0);
  t.equal(order[order.length - 1], 'exec');
});
