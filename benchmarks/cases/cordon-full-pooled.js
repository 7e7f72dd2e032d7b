// Full isolation with a network namespace from a pool and a pre-created
// cgroup: the configuration the ≤1.0× fork+exec target is about. The netns
// pool exists (cordon-full-pooled-netns measures it alone); pre-created
// cgroups do not yet.
'use strict';
module.exports = {
  id: 'cordon-full-pooled',
  title: 'cordon: full, pooled netns + pre-created cgroup',
  group: 'cordon',
  order: 52,
  notImplemented: 'pre-created cgroups',
};
