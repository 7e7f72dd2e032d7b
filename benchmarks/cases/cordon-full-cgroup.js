// Full isolation in a fresh cgroup with limits (mkdir + CLONE_INTO_CGROUP + rmdir).
'use strict';
module.exports = {
  id: 'cordon-full-cgroup',
  title: 'cordon: full + fresh cgroup with limits',
  group: 'cordon',
  order: 51,
  notImplemented: 'cgroups (a per-box cgroup with limits, CLONE_INTO_CGROUP)',
};
