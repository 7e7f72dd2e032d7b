// A box's own cgroup(s): made before the clone (./create.ts), then the
// running box's placement, accounting, OOM events, kill, freeze and removal
// (./live.ts). This module is their one entry point.
export { CGROUP_LEDGER, cgroupAttachSteps, cgroupJoinSteps, cgroupNamespaceSteps, createBoxCgroup, joinsCgroupLate, lateCgroupJoinRefusal, ownBoxCgroup } from './create';
export type { BoxCgroupFds, BoxCgroupOptions, CgroupAttachFd } from './create';
export { BoxCgroup } from './live';
export type { AttachTarget, CgroupStats, KillReport, OomCounts, OomEvent, OomWatcher, Placement, RemoveReport } from './live';
