// A failed step is explained by its kind (StepKind) and by the mechanism
// that made it: these tests fail a step of a real plan as the native side
// would report it (step index, errno, detail) and read the error.
'use strict';
const t = require('tap');
const { validateOptions } = require('../../dist/validate');
const { buildPlan } = require('../../dist/plan');
const { stepFailure } = require('../../dist/explain');
const { PLAN_ENUMS } = require('../../dist/internal/plan-ops');

const EPERM = 1;
const part = (name) => Number(Object.entries(PLAN_ENUMS.MountPart).find(([, what]) => what === name)[0]);
const caller = { euid: 1000, egid: 1000 };
const planOf = (options) => buildPlan(validateOptions('/bin/true', [], { init: false, ...options }), { stdio: [], namespaces: {} }, caller);

t.test("a box's own /proc refused with EPERM says why (the host's /proc is masked)", async (t) => {
  const plan = planOf({});
  const index = plan.steps.findIndex((step) => step.name === 'mount proc');
  t.ok(index > 0, 'the plan mounts a fresh /proc');
  t.equal(plan.steps[index].kind, 'proc', 'as a step of kind proc, not any mount');
  const error = stepFailure(plan, index, EPERM, part('fsmount'));
  t.equal(error.code, 'EPERM');
  t.equal(error.syscall, 'fsmount', 'the part that failed');
  t.match(error.hint, /fully visible \/proc/);
});

t.test('the same failure of another mount gives no /proc hint', async (t) => {
  const plan = planOf({});
  const index = plan.steps.findIndex((step) => step.name === 'mount /tmp');
  const error = stepFailure(plan, index, EPERM, part('fsmount'));
  t.equal(error.code, 'EPERM');
  t.notMatch(error.hint ?? '', /\/proc/);
});

t.test("a bind's symlink advice is for the resolve part only", async (t) => {
  const plan = planOf({ mounts: [{ type: 'bind', source: '/usr', target: '/mnt' }] });
  const index = plan.steps.findIndex((step) => step.name === 'mounts[0] bind');
  const ELOOP = 40;
  t.match(stepFailure(plan, index, ELOOP, part('resolve source')).hint, /symlink/);
  t.equal(stepFailure(plan, index, ELOOP, part('resolve source')).path, '/usr', 'the source at fault');
  t.notMatch(stepFailure(plan, index, ELOOP, part('attach')).hint ?? '', /symlink/);
});
