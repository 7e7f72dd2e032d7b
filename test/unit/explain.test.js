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

t.test('the /dev nodes are one step; a failure names the node and its part', async (t) => {
  const plan = planOf({});
  const devices = plan.steps.filter((step) => step.op === 'bindDevices');
  t.equal(devices.length, 1, 'one step binds every node');
  t.equal(plan.steps.filter((step) => step.op === 'bindMount' && /^\/dev\//.test(step.path ?? '')).length, 0, 'no bind per node');
  const index = plan.steps.indexOf(devices[0]);
  const ENOENT = 2;
  // The native side adds 256 * (index + 1) of the node: 4 is urandom.
  const source = stepFailure(plan, index, ENOENT, 256 * 5 + part('open source'));
  t.equal(source.syscall, 'open_tree');
  t.equal(source.path, '/dev/urandom', 'the host node at fault');
  const attach = stepFailure(plan, index, EPERM, 256 * 1 + part('attach'));
  t.equal(attach.syscall, 'move_mount');
  t.equal(attach.path, '/dev/null');
  const whole = stepFailure(plan, index, ENOENT, part('resolve target'));
  t.equal(whole.syscall, 'openat2');
  t.equal(whole.path, '/dev', 'the directory, when no node is at fault');
});
