// The plan of a real box, with the fd of its first late cgroup join replaced
// by /dev/full (a write there fails with ENOSPC), handed straight to the
// native engine: how a cgroup the box cannot join is reported.
'use strict';
const fs = require('node:fs');

function spawnWithUnjoinableCgroup(t, options) {
  const { validateWithCache } = require('../../dist/options-cache');
  const { launchBox } = require('../../dist/spawn');
  const { native } = require('../../dist/internal/native');
  const call = validateWithCache('/bin/true', [], { stdio: 'ignore', ...options });
  const launch = launchBox(call.validated, process.hrtime.bigint(), undefined, call.planner);
  t.teardown(() => launch.ledger.releaseAll());
  const steps = launch.plan.steps;
  const join = steps.findIndex((step) => step.op === 'joinCgroupLate');
  const full = fs.openSync('/dev/full', 'w');
  t.teardown(() => fs.closeSync(full));
  const fds = Int32Array.from(launch.encoded.fds);
  fds[steps[join].slot] = full;
  const result = native().spawn(launch.encoded.buffer, fds, false);
  return { result, join, steps };
}

module.exports = { spawnWithUnjoinableCgroup };
