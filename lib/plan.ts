// ValidatedOptions → Plan: the one place that decides which steps a box
// takes and in what order. Pure: fds are given, nothing is opened here.
// Each mechanism module builds its own steps; buildPlan is their order.
import { bridgeSteps, type BridgeLease } from './bridge';
import { cgroupAttachSteps, cgroupJoinSteps, cgroupNamespaceSteps, type BoxCgroupFds } from './cgroups/box';
import { sysctlSteps } from './sysctl';
import {
  boxRootSteps, controllingTerminalSteps, noNewPrivsSteps, parentDeathSteps, payloadCredentialSteps, sessionSteps,
} from './credentials';
import { oomScoreSteps, processLimitSteps, rlimitRaiseSteps, rlimitSteps } from './limits';
import { boxFilesystemSteps, filesystemSteps, type ResolvedFilesystem } from './filesystem';
import { defaultCountedRlimits, defaultKernelCounters, kernelCounterSteps, type CallerCounterLimits } from './kernel-counters';
import { type HostView } from './host-view';
import { defaultIdMap, idMapSteps } from './identity';
import { landlockSteps, type LandlockReport } from './landlock';
import { chdirSteps, execSteps } from './payload';
import { seccompSteps } from './seccomp';
import { refusesFanotify, refusesNewNamespaces } from './seccomp/namespaces';
import type { NamespaceName } from './options';
import { CLONE_FLAGS, cloneSteps, enterNamespaceSteps, namespaceFlags, namespaceSetupSteps } from './namespaces';
import { fdSteps, startGateSteps } from './stdio';
import { invalidValue } from './internal/checks';
import { MAX_STEPS, OP_TABLE } from './internal/plan-abi';
import { step, type PlanStep } from './internal/steps';

export type { PlanStep, StepKind } from './internal/steps';
import type { ValidatedOptions } from './validate';

export { CLONE_FLAGS };

export interface Plan {
  steps: PlanStep[];
  /** The fd behind each slot. */
  fds: number[];
  /** argv[0] and args, for error.spawnargs. */
  spawnargs: string[];
  usesInit: boolean;
  /** What the Landlock ruleset enforces on this kernel, when the box has one. */
  landlock?: LandlockReport;
  /** What the box's default view hides (rootfs 'host'), for error hints: the caller's homes it hides, and the `mounts` targets (which show what they mount). */
  hiddenView?: { readonly homes: readonly string[]; readonly mountTargets: readonly string[] };
}

/** fds opened for this spawn by the caller of buildPlan. */
export interface RuntimeFds {
  /** Source fd for each box fd (index = target), or undefined to leave it closed. */
  stdio: readonly (number | undefined)[];
  /** An open namespace file per joined namespace. */
  namespaces: Partial<Record<NamespaceName, number>>;
  /** An entry taken from the box's namespace pool: joined instead of making these namespaces. */
  pooled?: { user?: number; net: number };
  /** The init binary, when the plan uses one. */
  init?: number;
  /** Names of the listening sockets at fds 3 and up, for LISTEN_FDNAMES. */
  listenNames?: readonly string[];
  /** Box fds to make blocking (sockets taken from Node's event loop). */
  blocking?: ReadonlySet<number>;
  /** Idmapped template layers made by the parent (rootfs.idmapLayers), by index in `rootfs.layers`. */
  layerTrees?: ReadonlyMap<number, number>;
  /** A quota'd upper layer's filesystem, mounted by the parent as a detached tree. */
  upperTree?: number;
  /** Idmapped trees made by the parent, by index in `mounts`. */
  idmappedTrees?: ReadonlyMap<number, number>;
  /** The box's cgroup: the v2 directory for CLONE_INTO_CGROUP (or -1), the files to join it by, and whether it is joined late. */
  cgroup?: BoxCgroupFds;
  /** The bridge, veth names and address leased for a bridge box. */
  bridge?: BridgeLease;
  /** What the default view hides beyond the fixed directories (rootfs 'host'). */
  hostView?: HostView;
  /** The box's terminal (the tty option): its master, and its slave's host path (bound at the box's /dev/console) when it has one. */
  terminal?: { master: number; slavePath: string | undefined };
  /** The box fd of the start gate (the startGate option), installed with the stdio. */
  startGate?: number;
}

export interface Caller {
  euid: number;
  egid: number;
  /** The Landlock ABI of this kernel (0: none), when the box asks for Landlock. */
  landlockAbi?: number;
  /** The caller's own per-user limits, which a box with a user namespace of its own gets a share of by default. */
  counterLimits?: CallerCounterLimits;
}

function outsideOf(map: readonly { inside: number; outside: number; count: number }[], id: number): number | undefined {
  const entry = map.find((e) => id >= e.inside && id < e.inside + e.count);
  return entry === undefined ? undefined : entry.outside + (id - entry.inside);
}

/** The host uid and gid of ids inside the box's new user namespace (65534 for an unmapped one). */
export function boxIdsOnHost(options: ValidatedOptions, caller: Caller, uid = options.uid, gid = options.gid): { uid: number; gid: number } {
  return {
    uid: outsideOf(options.uidMap ?? defaultIdMap(caller.euid), uid) ?? 65534,
    gid: outsideOf(options.gidMap ?? defaultIdMap(caller.egid), gid) ?? 65534,
  };
}

/**
 * The host uid and gid of the box's root (uid 0 inside), when cordon maps
 * them itself (a new user namespace): the box's root mounts the layers, so
 * overlayfs writes the upper layer as it.
 */
export function boxRootOnHost(options: ValidatedOptions, caller: Caller): { uid: number; gid: number } | undefined {
  if (options.namespaces.user.kind !== 'new') return undefined;
  return boxIdsOnHost(options, caller, 0, 0);
}

/** The host uid and gids (its own, then its supplementary groups) the box's payload runs as, to judge its access to host paths. */
export function boxUserOnHost(options: ValidatedOptions): { uid: number; gids: number[] } {
  const caller = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
  const groups = options.credentials.groups ?? [];
  if (options.namespaces.user.kind === 'new') {
    const ids = boxIdsOnHost(options, caller);
    return { uid: ids.uid, gids: [ids.gid, ...groups.map((group) => boxIdsOnHost(options, caller, options.uid, group).gid)] };
  }
  if (caller.euid !== 0) return { uid: caller.euid, gids: [caller.egid] };
  return { uid: options.uid, gids: [options.gid, ...groups] };
}

/**
 * The box's steps, in order, like nsjail's containProc: clone, the parent's
 * window (maps, cgroup, veth), namespaces, what needs the box's root
 * (counters, sysctls, mounts, hostname), the payload's ids and limits, its
 * confinement, its fds, the seccomp filter and the exec.
 */
export function buildPlan(options: ValidatedOptions, runtime: RuntimeFds, caller: Caller): Plan {
  const { steps, fds, slot } = stepList();
  const ns = options.namespaces;
  const root = caller.euid === 0;
  const newUser = ns.user.kind === 'new';
  const userNamespace = newUser || ns.user.kind === 'path' || ns.user.kind === 'fd';
  const pooledUser = runtime.pooled?.user !== undefined;
  const cgroup = runtime.cgroup;
  // A box in a cgroup of its own makes its cgroup namespace once it is there (namespaceFlags).
  const ownCgroup = (cgroup?.procs.length ?? 0) > 0;
  const flags = namespaceFlags(ns, runtime, ownCgroup ? (cgroup?.late === true ? 'helper' : 'unshare') : 'clone');
  // The box's own user namespace (new or pooled) gets a share of the caller's per-user limits (lib/kernel-counters.ts).
  const callerLimits = newUser ? caller.counterLimits : undefined;
  const initSlot = (): number | undefined => (options.init ? slot(initFd(runtime)) : undefined);

  steps.push(...cloneSteps(flags.clone, cgroup?.late === true ? undefined : cgroup?.dirFd, options.namespaceOwner, slot));
  if (newUser && !pooledUser) steps.push(...idMapSteps(options.uidMap, options.gidMap, caller));
  steps.push(...cgroupAttachSteps(cgroup, slot));
  steps.push(...bridgeSteps(runtime.bridge));
  steps.push(...parentWindowEnd(steps));
  steps.push(...cgroupJoinSteps(cgroup, slot));
  steps.push(...enterNamespaceSteps(ns, runtime, flags.late, slot));
  steps.push(...oomScoreSteps(options.credentials));
  steps.push(...boxRootSteps(userNamespace, root && newUser));
  steps.push(...cgroupNamespaceSteps(cgroup, ns.cgroup.kind === 'new', initSlot, slot));
  if (userNamespace) {
    const defaults = callerLimits === undefined ? {} : defaultKernelCounters(callerLimits);
    steps.push(...kernelCounterSteps(options.kernelCounters, defaults, { namespaces: !refusesNewNamespaces(options.seccomp), fanotify: !refusesFanotify(options.seccomp) }));
  }
  steps.push(...sysctlSteps(options.sysctl));
  steps.push(...boxFilesystemSteps(options, {
    newMount: ns.mount.kind === 'new', newPid: ns.pid.kind === 'new', newNet: ns.net.kind === 'new', inUserNamespace: userNamespace || !root,
    ownCgroup2: ns.cgroup.kind === 'new' && ownCgroup && (cgroup?.procs.some((entry) => entry.hierarchy === 'v2') ?? false),
  }, { ...runtime, console: runtime.terminal?.slavePath }, slot));
  steps.push(...namespaceSetupSteps(ns, runtime.pooled !== undefined, options.hostname));
  steps.push(...rlimitRaiseSteps(options.credentials));
  steps.push(...payloadCredentialSteps(options.credentials, options, { userNamespace, hostRoot: ns.user.kind === 'host' && root }));
  steps.push(...parentDeathSteps(options.dieWithParent, options.init));
  steps.push(...processLimitSteps(options.credentials));
  steps.push(...noNewPrivsSteps(options.credentials));
  const landlock = landlockSteps(options.landlock, caller.landlockAbi ?? 0, () => (runtime.init === undefined ? undefined : initSlot()));
  steps.push(...landlock.steps);
  steps.push(...sessionSteps(options.newSession));
  steps.push(...chdirSteps(options.cwd));
  steps.push(...fdSteps(runtime.stdio, runtime.blocking, slot));
  steps.push(...controllingTerminalSteps(options.tty !== undefined));
  steps.push(...rlimitSteps(options.credentials, callerLimits === undefined ? {} : defaultCountedRlimits(callerLimits)));
  steps.push(...startGateSteps(runtime.startGate));
  steps.push(...seccompSteps(options.seccomp));
  steps.push(...execSteps(options, runtime.listenNames, initSlot()));
  return { steps, fds, spawnargs: [options.file, ...options.args], usesInit: options.init, ...planReport(options, runtime, landlock.report) };
}

/** The plan's steps and the fds behind its slots: `slot(fd)` gives an fd the next slot. */
function stepList(): { steps: PlanStep[]; fds: number[]; slot: (fd: number) => number } {
  const fds: number[] = [];
  return { steps: [], fds, slot: (fd) => fds.push(fd) - 1 };
}

function initFd(runtime: RuntimeFds): number {
  if (runtime.init === undefined) throw new Error('cordon: the plan needs the init binary fd');
  return runtime.init;
}

/** The child waits for the parent when the parent has work in its window after the clone (id maps, cgroup attach, veth). */
function parentWindowEnd(steps: readonly PlanStep[]): PlanStep[] {
  const parentWork = steps.some((built) => built.op !== 'clone' && OP_TABLE[built.op].side === 'parent');
  return parentWork ? [step('waitForParent', { name: 'wait for parent', syscall: 'read', kind: 'sync' }, {})] : [];
}

/** What the plan reports beside its steps: Landlock's enforcement, and what the default view hides (for error hints). */
function planReport(options: ValidatedOptions, runtime: RuntimeFds, landlock: LandlockReport | undefined): Pick<Plan, 'landlock' | 'hiddenView'> {
  const hiddenView = options.namespaces.mount.kind === 'new' && options.rootfs.kind === 'host'
    ? { homes: runtime.hostView?.homes ?? [], mountTargets: options.mounts.map((entry) => entry.target) }
    : undefined;
  return { ...(landlock === undefined ? {} : { landlock }), ...(hiddenView === undefined ? {} : { hiddenView }) };
}

/**
 * A bound on the plan steps a box takes besides its filesystem's and one
 * per fd (buildPlan: clone, maps, cgroup attaches, joins, ids, limits,
 * rlimits, exec, ...; about 60 at most today), with room to grow.
 */
const PLAN_STEPS_BESIDES_FILESYSTEM = 128;
/** A bound on the steps of the filesystem without mounts (the root, /proc, /dev, /tmp; about 40 today). */
const BASE_FILESYSTEM_STEPS = 128;

/** A plan has at most MAX_STEPS steps: the filesystem's are counted, the rest bounded. */
export function checkPlanSize(filesystem: Readonly<ResolvedFilesystem>, fds: number): void {
  const { rootfs, mounts } = filesystem;
  // The common case, counted cheaply: a mount takes at most 2 steps (a file; the first mask too).
  if (BASE_FILESYSTEM_STEPS + 2 * mounts.length <= MAX_STEPS - PLAN_STEPS_BESIDES_FILESYSTEM - fds) return;
  const count = filesystemSteps(rootfs, mounts, { newPid: true, newNet: true, inUserNamespace: true }).length;
  const limit = MAX_STEPS - PLAN_STEPS_BESIDES_FILESYSTEM - fds;
  if (count > limit) {
    throw invalidValue('mounts', mounts.length,
      `makes ${count} filesystem steps; with ${fds} fds a box takes at most ${limit} (a plan has at most ${MAX_STEPS} steps; a file mount takes 2, every other mount 1)`);
  }
}
