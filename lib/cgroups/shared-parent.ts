// The box cgroup parent of this process: found once per configured path and
// shared by every box (and tenant cgroup). The first time a parent is found
// this process records itself as a supervisor and sweeps what dead
// supervisors left under it (lib/cleanup.ts).
import { atProcessExit, sweepLeftovers, sweepTenants } from '../cleanup';
import { sweepBridgesOnce } from '../bridge';
import { recordSupervisor } from '../state';
import { detectCgroups } from './host';
import { findParent, type FindParentOptions, type ParentChoice, validateCgroupName } from './parent';

const parents = new Map<string, ParentChoice>();

/**
 * The default parent's name: `cordon`, or CORDON_CGROUP_PARENT_NAME (one
 * path component), so that supervisors that must not share a parent (two
 * platforms on one host, a test suite beside a running platform) each
 * have their own. Read when the parent is first taken.
 */
function defaultParentOptions(): FindParentOptions {
  const name = process.env.CORDON_CGROUP_PARENT_NAME;
  return name === undefined || name === '' ? {} : { name: validateCgroupName(name, 'CORDON_CGROUP_PARENT_NAME') };
}

/**
 * The shared parent for `configured` (a cgroupParent option) or the
 * default; throws a CgroupError. The first call sweeps, unless `sweep` is
 * false (cleanup(), which sweeps with its own options).
 */
export function sharedParent(configured: string | undefined, sweep = true): ParentChoice {
  const key = configured ?? '';
  let parent = parents.get(key);
  if (parent === undefined) {
    parent = findParent(detectCgroups(), configured === undefined ? defaultParentOptions() : { cgroupParent: configured });
    parents.set(key, parent);
    // The default parent is shared by every root supervisor: whichever
    // leaves last removes it, whoever made it. At exit this process sweeps
    // what dead supervisors left in it (a SIGKILLed one's box cgroups would
    // keep it), then removes it if it is empty (another process's boxes may
    // still use it: then that process does).
    const taken = parent;
    atProcessExit('parents', () => {
      if (usesDefaultParent(taken)) sweepQuietly(taken);
      taken.release();
    });
    recordSupervisor();
    if (!sweep) return parent;
    try {
      const swept = sweepLeftovers(parent.existingDirs());
      sweepTenants(swept);
      // Bridges a dead supervisor left: only those whose lock nobody holds
      // (a live supervisor holds it from before it makes a bridge until it
      // exits, so a new bridge with no veth yet is safe; lib/bridge.ts).
      swept.bridges.push(...sweepBridgesOnce());
      for (const error of swept.errors) process.emitWarning(`cordon: clean-up after a dead supervisor: ${error.message}`, { code: 'CORDON_CLEANUP' });
    } catch (error) {
      process.emitWarning(`cordon: clean-up after a dead supervisor failed: ${(error as Error).message}`, { code: 'CORDON_CLEANUP' });
    }
  }
  return parent;
}

function usesDefaultParent(parent: ParentChoice): boolean {
  return parent.v2?.source === 'created' || parent.v1Parents().some((entry) => entry.source === 'created');
}

/** The start-up sweep's cgroup half, at exit: nothing can be awaited or warned about any more. */
function sweepQuietly(parent: ParentChoice): void {
  try {
    sweepTenants(sweepLeftovers(parent.existingDirs()));
  } catch {
    // the parent stays; the next supervisor's start, or cordon gc, sweeps
  }
}
