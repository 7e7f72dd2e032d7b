// probe(): what this kernel and these privileges allow, each "no" with a
// reason. Cached: the answers do not change while the process runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { errnoName, type CordonError } from './errors';
import { native } from './internal/native';
import type { NamespaceName } from './options';
import { NAMESPACE_NAMES } from './options';
import { CLONE_FLAGS } from './plan';
import { trialSpawn } from './spawn';
import { initSource } from './internal/sealed-init';
import { kernelAtLeast } from './internal/kernel';
import { initBinaryPath } from './internal/native';
import { NEWGIDMAP, NEWUIDMAP, subordinateRanges, userNamespaceRefusal, type IdRange } from './identity';
import { probeBridge } from './bridge';
import { probeCgroups } from './cgroups/report';
import { lateCgroupJoinRefusal } from './cgroups/box';
import { probeTenants, type TenantsReport } from './probe-tenants';
import { probeQuota } from './quota';
import type { RlimitName } from './limits';
import {
  defaultCountedRlimits, defaultKernelCounters, readCallerCounterLimits, type KernelCounterName,
} from './kernel-counters';

/** Whether something works here, and if not, why. */
export interface Capability {
  available: boolean;
  /** Why not (or a caveat), in words. */
  reason?: string;
}

export type CloneRung = 'clone3' | 'clone3-basic' | 'clone' | 'none';

export interface CgroupReport {
  /** `v2`: unified only; `hybrid`: v1 controllers beside a v2 tree; `v1`; or `none`. */
  mode: 'v2' | 'hybrid' | 'v1' | 'none';
  /** Mount point of the cgroup2 hierarchy, when there is one. */
  v2Mount?: string;
  /** This process's cgroup in the v2 hierarchy (from /proc/self/cgroup). */
  v2Path?: string;
  /** Controllers the v2 hierarchy offers here. */
  v2Controllers: string[];
  /** v1 controllers and their mount points. */
  v1Controllers: Record<string, string>;
  /** Controllers this process may create child cgroups in (v2 first, then v1). */
  writableControllers: string[];
}

export interface ProbeReport {
  platform: NodeJS.Platform;
  arch: string;
  kernel: string;
  /** The effective uid is 0. */
  root: boolean;
  /** New user namespaces for this caller. */
  userNamespaces: Capability;
  /** Whether a new namespace of each kind can be made (with a user namespace when not root). */
  namespaces: Record<NamespaceName, Capability>;
  clone: {
    /** The best rung of the clone ladder on this host. */
    rung: CloneRung;
    clone3: Capability;
    /** CLONE_CLEAR_SIGHAND (Linux 5.5). */
    clearSighand: Capability;
    /** CLONE_INTO_CGROUP into this process's own cgroup (Linux 5.7, cgroup v2). */
    intoCgroup: Capability;
    /** CLONE_PIDFD (Linux 5.2). */
    pidfd: Capability;
    /**
     * A box with a cgroup and an init joins it late, once none of its
     * processes shares Node's memory, instead of being forked into it
     * (Linux 5.16, which checks a cgroup file's opener: README, Cgroups).
     */
    lateCgroupJoin: Capability;
  };
  cgroup: CgroupReport;
  /** Overlayfs mounted inside a user namespace (Linux 5.11), as cordon's layered roots need. */
  overlayInUserNamespace: Capability;
  /** The new mount API cordon builds roots with: open_tree, move_mount, fsopen, mount_setattr (Linux 5.12). */
  mountApi: Capability;
  /** Idmapped mounts: files owned by a tenant's host uid shown as the box's uid. */
  idmappedMounts: Capability;
  landlock: Capability & { abi: number };
  /** Subordinate ids this user may map through newuidmap/newgidmap (for ranges in a rootless box). */
  idRanges: { uid: IdRange[]; gid: IdRange[]; helpers: boolean };
  seccomp: Capability & { actions: string[] };
  /**
   * `kernelCounters`: whether a box's root can set the per-user limits of
   * its own user namespace here (tried with a throwaway box), the caller's
   * own limits (what all its boxes share, with it), the share a box gets by
   * default, and how many boxes at that share fit beside the caller.
   */
  kernelCounters: Capability & {
    caller: Partial<Record<KernelCounterName, number>>;
    boxDefaults: Partial<Record<KernelCounterName, number>>;
    rlimitDefaults: Partial<Record<RlimitName, number>>;
    /** Boxes that can each hold their whole default share at once and leave the caller one share (the least over all counters). */
    boxesThatFit: number | undefined;
    /** `userNamespaceOwner: 'box'`: a root caller's box namespace owned by, and charged to, another host uid (tried with a throwaway box). */
    namespaceOwner: Capability;
  };
  /**
   * How boxes exec cordon's init. `sealed`: from a sealed, execute-only copy
   * in memory (a memfd), so nothing in a box reaches the binary on disk; not
   * available where the host forbids executable memfds (`vm.memfd_noexec=2`),
   * and then boxes exec the file at `path` (the reason says what that means).
   */
  init: { sealed: Capability; path: string };
  /** `rootfs.upper.quota`: root, loop devices, mkfs.ext4 and ext4 (judged from the host, nothing made). */
  diskQuota: Capability;
  network: {
    /** `network: 'bridge'`: root, veth, bridges and the cls_bpf filter (tried in a throwaway namespace). */
    bridge: Capability;
    /** createNamespacePool(): `'net'` entries (root callers) and `'user+net'` pairs (anyone with user namespaces). */
    pool: { net: Capability; userNet: Capability };
  };
  /** Tenant cgroups (createTenantCgroup) and adoption (dieWithParent: false, adopt()): see README, Tenants. */
  tenants: TenantsReport;
}

let cached: ProbeReport | undefined;

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function fromResult(result: number, what: string): Capability {
  if (result === 0) return { available: true };
  return { available: false, reason: `${what} failed with ${errnoName(result)}` };
}

const RUNGS: CloneRung[] = ['clone3', 'clone3-basic', 'clone'];


function lateJoinCapability(): Capability {
  const refusal = lateCgroupJoinRefusal();
  return refusal === undefined ? { available: true } : { available: false, reason: refusal };
}

function probeIntoCgroup(cgroup: CgroupReport): Capability {
  if (cgroup.v2Mount === undefined) return { available: false, reason: 'no cgroup v2 hierarchy' };
  const dir = `${cgroup.v2Mount}${cgroup.v2Path && cgroup.v2Path !== '/' ? cgroup.v2Path : ''}`;
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (error) {
    return { available: false, reason: `cannot open ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  try {
    return fromResult(native().probeClone(0, 0, fd), `clone3(CLONE_INTO_CGROUP) into ${dir}`);
  } finally {
    fs.closeSync(fd);
  }
}

function probeSeccomp(): Capability & { actions: string[] } {
  const actions = readText('/proc/sys/kernel/seccomp/actions_avail');
  if (actions === undefined) return { available: false, reason: 'the kernel has no seccomp filter support', actions: [] };
  return { available: true, actions: actions.split(' ') };
}

// A box over one empty template layer and a tmpfs upper: the overlay works if
// the box gets as far as its exec (which then fails: the layer is empty).
function probeOverlay(userNamespaces: Capability): Capability {
  if (!userNamespaces.available) return { available: false, reason: `no user namespaces: ${userNamespaces.reason ?? ''}` };
  const layer = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-probe-'));
  try {
    fs.chmodSync(layer, 0o755);
    const error = trialSpawn('/cordon-probe', {
      rootfs: { layers: [layer], upper: 'tmpfs' },
      namespaces: { net: 'host' },
      init: false,
    });
    if (error === undefined || error.step === 'execve') return { available: true };
    return { available: false, reason: error.message };
  } finally {
    fs.rmSync(layer, { recursive: true, force: true });
  }
}

// A box in a user namespace alone: its root writes the default limits and
// then fails at the exec (the file does not exist) if they were accepted.
function probeKernelCounters(userNamespaces: Capability): ProbeReport['kernelCounters'] {
  const caller = readCallerCounterLimits();
  const boxDefaults = defaultKernelCounters(caller);
  const rlimitDefaults = defaultCountedRlimits(caller);
  let boxesThatFit: number | undefined;
  for (const [name, perBox] of Object.entries(boxDefaults) as [KernelCounterName, number][]) {
    const callerLimit = caller.sysctl[name];
    if (callerLimit === undefined || perBox === 0) continue;
    const fit = Math.max(Math.floor(callerLimit / perBox) - 1, 0);
    boxesThatFit = boxesThatFit === undefined ? fit : Math.min(boxesThatFit, fit);
  }
  const facts = { caller: caller.sysctl, boxDefaults, rlimitDefaults, boxesThatFit };
  if (!userNamespaces.available) {
    const reason = `no user namespaces: ${userNamespaces.reason ?? ''}`;
    return { available: false, reason, ...facts, namespaceOwner: { available: false, reason } };
  }
  // No filter: a box that may make namespaces gets their counters' defaults too, so every default is tried.
  const bare = { namespaces: { pid: 'host', mount: 'host', net: 'host', ipc: 'host', uts: 'host', cgroup: 'host' }, init: false, seccomp: false } as const;
  const tried = (error: CordonError | undefined): Capability =>
    error === undefined || error.step === 'execve' ? { available: true } : { available: false, reason: error.message };
  // A uid no one runs as, for a box that never gets past its exec.
  const namespaceOwner: Capability = process.geteuid?.() === 0
    ? tried(trialSpawn('/cordon-probe', { ...bare, uidMap: [{ inside: 0, outside: PROBE_OWNER, count: 1 }], gidMap: [{ inside: 0, outside: PROBE_OWNER, count: 1 }], userNamespaceOwner: 'box', kernelCounters: {} }))
    : { available: false, reason: "only a root caller can have a box's user namespace owned by another uid" };
  if (Object.keys(boxDefaults).length === 0) return { available: false, reason: 'this kernel has no /proc/sys/user limits', ...facts, namespaceOwner };
  return { ...tried(trialSpawn('/cordon-probe', bare)), ...facts, namespaceOwner };
}

const PROBE_OWNER = 2147483646;

function probeMountApi(): Capability {
  if (!kernelAtLeast(5, 12)) return { available: false, reason: `Linux ${os.release()}: mount_setattr needs 5.12` };
  return { available: true };
}

function probeInit(): ProbeReport['init'] {
  try {
    const source = initSource();
    return { sealed: source.sealed ? { available: true } : { available: false, reason: source.reason ?? 'not sealed' }, path: source.path };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    let path = '';
    try {
      path = initBinaryPath();
    } catch {
      // reported in the reason
    }
    return { sealed: { available: false, reason }, path };
  }
}

/** Reports what this host allows. Cached after the first call. */
export function probe(): ProbeReport {
  if (cached) return cached;
  const binding = native();
  const root = process.geteuid?.() === 0;
  const userFlag = CLONE_FLAGS.user;

  const rungResults = RUNGS.map((_, rung) => binding.probeClone(rung, 0, -1));
  const best = rungResults.findIndex((result) => result === 0);
  const userResult = binding.probeClone(Math.max(best, 0), userFlag, -1);
  const userNamespaces: Capability =
    userResult === 0
      ? { available: true }
      : { available: false, reason: userNamespaceRefusal() ?? `clone(CLONE_NEWUSER) failed with ${errnoName(userResult)}` };

  const namespaces = {} as Record<NamespaceName, Capability>;
  for (const name of NAMESPACE_NAMES) {
    if (name === 'user') {
      namespaces.user = userNamespaces;
      continue;
    }
    const file = `/proc/self/ns/${name === 'mount' ? 'mnt' : name}`;
    if (!fs.existsSync(file)) {
      namespaces[name] = { available: false, reason: `the kernel has no ${name} namespaces (${file} missing)` };
      continue;
    }
    const withUser = !root && userNamespaces.available ? userFlag : 0;
    const result = binding.probeClone(Math.max(best, 0), CLONE_FLAGS[name] | withUser, -1);
    namespaces[name] = fromResult(result, `clone(CLONE_NEW${name === 'mount' ? 'NS' : name.toUpperCase()})`);
  }

  const cgroup = probeCgroups();
  const landlockAbi = binding.landlockAbi();
  cached = {
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
    root,
    userNamespaces,
    namespaces,
    clone: {
      rung: best < 0 ? 'none' : (RUNGS[best] ?? 'none'),
      clone3: fromResult(rungResults[1] ?? -38, 'clone3'),
      clearSighand: fromResult(rungResults[0] ?? -38, 'clone3(CLONE_CLEAR_SIGHAND)'),
      intoCgroup: probeIntoCgroup(cgroup),
      pidfd: fromResult(rungResults[2] ?? -38, 'clone(CLONE_PIDFD)'),
      lateCgroupJoin: lateJoinCapability(),
    },
    cgroup,
    overlayInUserNamespace: probeOverlay(userNamespaces),
    mountApi: probeMountApi(),
    idmappedMounts: !kernelAtLeast(5, 12)
      ? { available: false, reason: 'needs Linux 5.12 or later' }
      : root
        ? { available: true, reason: 'per filesystem: ext4, xfs, btrfs, tmpfs (6.3) and others support them' }
        : { available: false, reason: 'needs a root caller: mount_setattr(MOUNT_ATTR_IDMAP) wants CAP_SYS_ADMIN on the host' },
    landlock:
      landlockAbi > 0
        ? { available: true, abi: landlockAbi }
        : { available: false, abi: 0, reason: `landlock_create_ruleset: ${errnoName(landlockAbi)}` },
    seccomp: probeSeccomp(),
    kernelCounters: probeKernelCounters(userNamespaces),
    init: probeInit(),
    diskQuota: probeQuota(),
    network: {
      bridge: probeBridge(),
      pool: {
        net: root ? namespaces.net : { available: false, reason: "a 'net' pool needs root (its namespaces belong to the caller's user namespace); use a 'user+net' pool" },
        userNet: userNamespaces.available && namespaces.net.available
          ? { available: true }
          : { available: false, reason: userNamespaces.reason ?? namespaces.net.reason ?? 'no user or network namespaces' },
      },
    },
    tenants: probeTenants(cgroup, fromResult(rungResults[2] ?? -38, 'clone(CLONE_PIDFD)')),
    idRanges: {
      uid: subordinateRanges('/etc/subuid'),
      gid: subordinateRanges('/etc/subgid'),
      helpers: fs.existsSync(NEWUIDMAP) && fs.existsSync(NEWGIDMAP),
    },
  };
  return cached;
}
