// The C isolation floor with an exec'd init (c-isolation-floor-init) that
// also pays the kernel's part of cordon's default guarantees: the two
// per-user limits cordon writes into a box's user namespace
// (max_inotify_instances, max_inotify_watches), cordon's default seccomp
// filter installed by the payload's process before its execve, and a small
// allowlist filter installed by pid 1 after the fork, as cordon's init
// does. Against it, cordon's remaining cost is its own design's (JS,
// planning, step reports, the init's gate and seal), not the kernel's
// price of a guarantee the defaults promise.
'use strict';
module.exports = {
  id: 'c-isolation-floor-guarded',
  title: "C isolation floor, exec'd init, cordon's filters and limits",
  group: 'baseline',
  order: 25.6,
  driver: 'helper',
  mode: 'floor-guarded',
  requires: (ctx) => ctx.native?.filterError ?? null,
  argv: (payload) => [payload.path],
};
