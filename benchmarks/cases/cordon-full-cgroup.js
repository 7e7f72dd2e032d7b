// Full isolation in a fresh cgroup of its own with limits (memory and pids):
// made before the clone, the box placed in it (CLONE_INTO_CGROUP on cgroup
// v2; on a v1 or hybrid host, cgroup.procs writes before the child runs),
// removed when the box ends. Measured once cordon accepts the cgroup option.
'use strict';
module.exports = {
  id: 'cordon-full-cgroup',
  title: 'cordon: full + fresh cgroup with limits',
  group: 'cordon',
  order: 51,
  driver: 'cordon',
  feature: 'cgroups (the cgroup option)',
  options: { cgroup: { memory: { max: 256 * 2 ** 20 }, pids: { max: 64 } } },
};
