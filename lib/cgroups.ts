// Cgroup manager: per-box cgroups on v2, hybrid and v1 hosts, through plain
// file I/O. The native side only passes BoxCgroup.dirFd to clone3 with
// CLONE_INTO_CGROUP; everything else (directories, limits, accounting, OOM
// events, kill, freeze, removal) happens here.
//
// Integration into spawnIsolated(), in order:
//
//   const limits = validateLimits(options.cgroup, 'cgroup');      // with the other options: throws, creates nothing
//   const parent = findParent(detectCgroups(), { cgroupParent }); // once per process; share it between boxes
//   const cg = createBoxCgroup(parent, undefined, limits, ledger); // before clone; registered in the ledger
//   plan: clone step gets slot(cg.dirFd) and num[1] = 1 (CLONE_INTO_CGROUP) when cg.dirFd >= 0;
//         the v1 attach targets (cg.attachTargets(), or cg.openAttachFds() for fds) become parent
//         steps in the window before "go" (the child must then wait for the parent); with v1
//         targets, the new cgroup namespace must be unshared by the child after that wait, not at
//         clone (else its root is the parent's v1 cgroups, not the box's);
//   after the spawn: ledger.releaseOne(CGROUP_LEDGER.dirFd);
//   if the clone fell back to a rung without CLONE_INTO_CGROUP: cg.attach(pid, { v2: true }) in the window;
//   while it runs: cg.stats(), cg.watchOom(...) → 'oom', cg.kill(), cg.freeze(), cg.thaw();
//   at exit: final cg.stats() and cg.oomKilled() before the ledger releases (kill + remove).
export { CgroupError } from './cgroups/fsio';
export { detectCgroups, parseCgroupHost } from './cgroups/host';
export type { CgroupHost, CgroupMode, CgroupTexts, ParsedCgroupHost, V1Hierarchy, V2Hierarchy } from './cgroups/host';
export { controllersFor, sharesFromWeight, validateLimits, V1_NAME } from './cgroups/limits';
export type {
  Bytes,
  CgroupLimits,
  CpuLimits,
  CpusetLimits,
  IoDeviceLimit,
  IoLimits,
  LogicalController,
  MemoryLimits,
  PidsLimits,
} from './cgroups/limits';
export { findParent, validateCgroupName, validateCgroupParent } from './cgroups/parent';
export type { FindParentOptions, ParentChoice, ParentSource, V1Parent, V2Parent } from './cgroups/parent';
export { BoxCgroup, CGROUP_LEDGER, createBoxCgroup } from './cgroups/box';
export type {
  AttachTarget,
  BoxCgroupOptions,
  CgroupStats,
  KillReport,
  OomCounts,
  OomEvent,
  OomWatcher,
  Placement,
  RemoveReport,
} from './cgroups/box';
export { probeCgroups } from './cgroups/report';
