// Full isolation with a network namespace from a pool and a pre-created
// cgroup: the configuration the ≤1.0× fork+exec target is about. The
// pre-created cgroup is a tenant cgroup (createTenantCgroup), made once
// when the case opens and closed with it; each box still gets its own leaf
// under it (tenant-<name>/box-...), taken from the tenant's spare leaves
// (made ahead, the next once no box has taken one for 10 ms) and joined with
// CLONE_INTO_CGROUP through runtime.cgroup.dirFd on v2 (the box child's
// `tasks` write per hierarchy on v1). Compare with "cordon: full, pooled netns"
// (the same without a cgroup) and "cordon: full + fresh cgroup with limits"
// in the same run.
'use strict';
module.exports = {
  id: 'cordon-full-pooled',
  title: 'cordon: full, pooled netns + pre-created cgroup',
  group: 'cordon',
  order: 52,
  driver: 'cordon',
  feature: 'tenant cgroups (createTenantCgroup)',
  options: {},
  netnsPool: () => ({ kind: 'user+net', size: 16 }),
  // The tenant's limits; the box's own leaf carries none (cgroup: tenant).
  tenant: () => ({ limits: { memory: { max: 256 * 2 ** 20 }, pids: { max: 4096 } }, spareLeaves: 2 }),
  requires: (ctx) => (ctx.isRoot ? null : 'a tenant cgroup needs a writable cgroup parent: run the suite as root'),
};
