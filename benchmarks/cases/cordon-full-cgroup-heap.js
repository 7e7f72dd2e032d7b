// Full isolation in a fresh cgroup with limits from a Node process holding
// ~150 MB more heap: a box in a cgroup is cloned without CLONE_VM (so the
// OOM killer of its cgroup can never pick a process sharing Node's memory),
// and that fork copies page tables in proportion to Node's resident memory.
'use strict';
module.exports = {
  id: 'cordon-full-cgroup-heap',
  title: 'cordon: full + fresh cgroup with limits, +150 MB heap',
  group: 'cordon',
  order: 52,
  driver: 'cordon',
  heap: 'large',
  feature: 'cgroups (the cgroup option)',
  options: { cgroup: { memory: { max: 256 * 2 ** 20 }, pids: { max: 64 } } },
};
