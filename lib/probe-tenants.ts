// probe().tenants: whether this caller can have tenant cgroups and adopt
// boxes that outlive their supervisor.
import type { Capability, CgroupReport } from './probe';
import { stateDirChoice } from './state';

export interface TenantsReport {
  /** createTenantCgroup(): a cgroup parent this caller may create cgroups in. */
  cgroups: Capability;
  /** dieWithParent: false boxes leave records a later process adopts; the directory they go in. */
  adoption: Capability & { stateDir: string | undefined };
}

export function probeTenants(cgroup: CgroupReport, pidfd: Capability): TenantsReport {
  const cgroups: Capability = cgroup.writableControllers.length > 0
    ? { available: true }
    : {
      available: false,
      reason: cgroup.mode === 'none'
        ? 'no cgroup hierarchy is mounted'
        : 'no writable cgroup: not root and no delegated cgroup (run under `systemd-run --user --scope -p Delegate=yes`, or pass a delegated cgroupParent)',
    };
  const state = stateDirChoice();
  const adoption: TenantsReport['adoption'] = !pidfd.available
    ? { available: false, reason: `needs pidfds (Linux 5.3): ${pidfd.reason ?? 'not available'}`, stateDir: state.dir }
    : state.dir === undefined
      ? { available: false, reason: state.reason ?? 'no state directory', stateDir: undefined }
      : { available: true, stateDir: state.dir };
  return { cgroups, adoption };
}
