// Every skip goes through here and says why. requireOrSkip is for what must
// run in CI: under CORDON_MUST_RUN=1 (CI) a missing precondition fails instead,
// so a core test can never quietly stop running. skipExpected is for a case
// that this pass or this host variant cannot have by design (a root-only test
// in the unprivileged pass, a v1-only check on a pure cgroup v2 host): it
// skips even under CORDON_MUST_RUN, and the reason says which it is.
'use strict';

function requireOrSkip(t, condition, reason) {
  if (condition) return true;
  if (process.env.CORDON_MUST_RUN === '1') {
    t.fail(`must run (CORDON_MUST_RUN=1) but cannot: ${reason}`);
  } else {
    t.skip(reason);
  }
  return false;
}

/** Skips (returns false) unless `condition`; `reason` names the pass or host variant that cannot have it. */
function skipExpected(t, condition, reason) {
  if (condition) return true;
  t.skip(`not for this ${reason}`);
  return false;
}

module.exports = { requireOrSkip, skipExpected };
