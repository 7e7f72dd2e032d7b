// Full isolation with a network namespace from a pool and a pre-created
// cgroup: the configuration the ≤1.0× fork+exec target is about. (Joining a
// pre-made netns with { net: { path } } is refused today: setns runs after
// the new user namespace exists, which does not own the netns — EPERM.)
'use strict';
module.exports = {
  id: 'cordon-full-pooled',
  title: 'cordon: full, pooled netns + pre-created cgroup',
  group: 'cordon',
  order: 52,
  notImplemented: 'pooled network namespaces and pre-created cgroups',
};
