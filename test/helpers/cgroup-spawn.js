// Until spawnIsolated() takes cgroup options, this starts a box the way the
// integration will: the plan's clone step carries the box cgroup's directory
// fd with CLONE_INTO_CGROUP (plan ABI: clone num[1] = 1, fd slot). It wraps
// buildPlan for exactly one spawnIsolated() call. Returns null, with the
// reason, when the plan does not have the shape this relies on.
'use strict';
const planModule = require('../../dist/plan');
const { spawnIsolated } = require('../..');

function spawnIntoCgroup(dirFd, file, args, options) {
  const original = planModule.buildPlan;
  let problem;
  planModule.buildPlan = (...params) => {
    const plan = original(...params);
    const clone = plan.steps[0];
    if (clone?.op !== 'clone' || !Array.isArray(clone.num) || clone.slot !== undefined) {
      problem = `the plan's first step is not a clone step without an fd slot (${JSON.stringify(clone)})`;
      return plan;
    }
    plan.fds.push(dirFd);
    clone.slot = plan.fds.length - 1;
    clone.num = [clone.num[0] ?? 0, 1];
    return plan;
  };
  try {
    const box = spawnIsolated(file, args, options);
    return { box, problem };
  } finally {
    planModule.buildPlan = original;
  }
}

module.exports = { spawnIntoCgroup };
