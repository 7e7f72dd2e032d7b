// Options are validated once: what a validator returns is branded (and
// frozen, so what was checked is what is used), and a later stage that
// gets it back takes it as it is instead of checking it again.
'use strict';
const t = require('tap');
const { validateLimits } = require('../../dist/cgroups/limits');
const { validateSeccomp } = require('../../dist/seccomp/policy');
const { validateOptions } = require('../../dist/validate');
const { isValidated } = require('../../dist/internal/validated');

t.test('cgroup limits: validated once, then taken as they are', async (t) => {
  const raw = { memory: { max: 64 * 1024 * 1024 }, pids: { max: 32 } };
  const checked = validateLimits(raw);
  t.not(checked, raw, 'a private copy');
  t.ok(isValidated(checked));
  t.equal(validateLimits(checked), checked, 'not checked again');
  t.ok(Object.isFrozen(checked.memory), 'frozen: what was checked is what is used');
  t.throws(() => validateLimits({ memory: { max: -1 } }), { code: 'ERR_INVALID_ARG_VALUE' }, 'a raw value is still checked');
});

t.test('seccomp policy: validated once, then taken as it is', async (t) => {
  const checked = validateSeccomp({ deny: ['ptrace'] });
  t.ok(isValidated(checked));
  t.equal(validateSeccomp(checked), checked);
  t.throws(() => validateSeccomp({ defaultAction: 'nope' }), /seccomp/, 'a raw value is still checked');
});

t.test('validateOptions hands on the validated limits and policy', async (t) => {
  const options = validateOptions('/bin/true', [], { cgroup: { pids: { max: 8 } }, seccomp: {} });
  t.ok(isValidated(options.cgroup), 'cgroup');
  t.ok(isValidated(options.seccomp), 'seccomp');
});
