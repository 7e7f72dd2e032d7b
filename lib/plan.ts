// ValidatedOptions → Plan: the one place that decides which steps a box
// takes and in what order. Pure: fds are given, nothing is opened here.
import { bridgeSteps, type BridgeLease } from './bridge';
import { cgroupAttachSteps, type CgroupAttachFd } from './cgroups/box';
import { sysctlSteps } from './sysctl';
import { oomScoreSteps, payloadCredentialSteps, processLimitSteps, rlimitRaiseSteps, rlimitSteps } from './credentials';
import { filesystemSteps } from './filesystem';
import { defaultCountedRlimits, defaultKernelCounters, kernelCounterSteps, type CallerCounterLimits } from './kernel-counters';
import { type HostView } from './host-view';
import { defaultIdMap, idMapSteps } from './identity';
import { landlockMasks, landlockStep, type LandlockReport } from './landlock';
import { listenEnv } from './sockets';
import { filterFor } from './seccomp';
import type { NamespaceName } from './options';
import { CLONE_FLAGS, enterNamespaceSteps, namespaceFlags } from './namespaces';
import { step, type PlanStep } from './internal/steps';

export type { PlanStep, StepKind } from './internal/steps';
import type { ValidatedOptions } from './validate';

export { CLONE_FLAGS };

const MS_PRIVATE = 1 << 18;
const SIGKILL = 9;
/** Where execvp looks when the environment has no PATH. */
const EXECVP_DEFAULT_PATH = '/bin:/usr/bin';

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
  /** The box's cgroup: the v2 directory for CLONE_INTO_CGROUP (or -1) and the cgroup.procs files to write the pid to. */
  cgroup?: {
    dirFd: number;
    procs: readonly CgroupAttachFd[];
  };
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

export function execCandidates(file: string, env: Readonly<Record<string, string>>): string[] {
  if (file.includes('/')) return [file];
  const searchPath = env.PATH ?? EXECVP_DEFAULT_PATH;
  return searchPath.split(':').map((dir) => (dir === '' ? file : `${dir.replace(/\/+$/, '')}/${file}`));
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

export function buildPlan(options: ValidatedOptions, runtime: RuntimeFds, caller: Caller): Plan {
  const steps: PlanStep[] = [];
  const fds: number[] = [];
  const slot = (fd: number): number => {
    fds.push(fd);
    return fds.length - 1;
  };
  const ns = options.namespaces;
  const isNew = (name: NamespaceName): boolean => ns[name].kind === 'new';
  const joined = (name: NamespaceName): boolean => ns[name].kind === 'path' || ns[name].kind === 'fd';
  const root = caller.euid === 0;

  const pooled = runtime.pooled;
  const pooledUser = pooled?.user !== undefined;
  const cgroup = runtime.cgroup;
  // A box with a cgroup always makes its cgroup namespace late (see
  // namespaceFlags), and the box may be shown that cgroup (filesystem.ts,
  // /sys/fs/cgroup).
  const lateAttach = (cgroup?.procs.length ?? 0) > 0;
  const { clone: cloneFlags, late: lateFlags } = namespaceFlags(ns, runtime, lateAttach);
  const intoCgroup = cgroup !== undefined && cgroup.dirFd >= 0;
  steps.push(step('clone', { name: 'clone', syscall: 'clone3', kind: 'clone', ...(intoCgroup ? { slot: slot(cgroup.dirFd) } : {}) }, {
    cloneFlags,
    intoCgroup,
    namespaceOwner: options.namespaceOwner !== undefined && (cloneFlags & CLONE_FLAGS.user) !== 0 ? options.namespaceOwner : 0,
  }));

  if (isNew('user') && !pooledUser) steps.push(...idMapSteps(options.uidMap, options.gidMap, caller));
  steps.push(...cgroupAttachSteps(cgroup?.procs ?? [], slot));
  const bridge = runtime.bridge;
  steps.push(...bridgeSteps(bridge));
  if ((isNew('user') && !pooledUser) || (cgroup?.procs.length ?? 0) > 0 || bridge !== undefined) {
    steps.push(step('waitForParent', { name: 'wait for parent', syscall: 'read', kind: 'sync' }, {}));
  }
  steps.push(...enterNamespaceSteps(ns, runtime, lateFlags, slot));
  steps.push(...oomScoreSteps(options.credentials));
  // Become the box's root first: a root caller's own uid is not mapped in
  // the box, and files the mounts create must belong to someone who is.
  const userNamespace = isNew('user') || joined('user');
  if (userNamespace) {
    steps.push(step('setIds', { name: 'become box root', syscall: 'setresuid', kind: 'ids' }, { uid: 0, gid: 0, clearGroups: root && isNew('user') }));
  }
  // The box's own user namespace (made for it, or pooled: fresh per box)
  // gets a share of the caller's per-user limits unless the options say
  // otherwise; a joined one only what is given (see lib/kernel-counters.ts).
  const callerLimits = isNew('user') ? caller.counterLimits : undefined;
  if (userNamespace) {
    steps.push(...kernelCounterSteps(options.kernelCounters, callerLimits === undefined ? {} : defaultKernelCounters(callerLimits)));
  }
  // In the box's namespaces already, and still with its capabilities.
  steps.push(...sysctlSteps(options.sysctl));
  if (isNew('mount')) {
    steps.push(step('setMountPropagation', { name: 'make mounts private', syscall: 'mount', kind: 'mount', path: '/' }, { propagation: MS_PRIVATE }));
    steps.push(
      ...filesystemSteps(options.rootfs, options.mounts, {
        newPid: isNew('pid'),
        newNet: isNew('net'),
        inUserNamespace: isNew('user') || joined('user') || !root,
        preparedTrees: new Map([...(runtime.idmappedTrees ?? new Map<number, number>())].map(([index, fd]) => [index, slot(fd)])),
        tmpSize: options.tmpSize,
        ...(runtime.upperTree !== undefined ? { upperTree: slot(runtime.upperTree) } : {}),
        ...(runtime.layerTrees !== undefined ? { layerTrees: new Map([...runtime.layerTrees].map(([index, fd]) => [index, slot(fd)])) } : {}),
        ownCgroup2: isNew('cgroup') && lateAttach && (cgroup?.procs.some((entry) => entry.hierarchy === 'v2') ?? false),
        ...(runtime.hostView !== undefined ? { hostView: runtime.hostView } : {}),
        ...(runtime.terminal?.slavePath !== undefined ? { console: runtime.terminal.slavePath } : {}),
      }),
    );
  }
  // A pooled net namespace has lo up already.
  if (isNew('net') && pooled === undefined) steps.push(step('loopbackUp', { name: 'bring up loopback', syscall: 'ioctl', kind: 'net', path: 'lo' }, {}));
  if (options.hostname !== undefined) {
    steps.push(step('setHostname', { name: 'set hostname', syscall: 'sethostname', kind: 'uts' }, { hostname: options.hostname }));
  }
  const credentials = options.credentials;
  steps.push(...rlimitRaiseSteps(credentials));
  steps.push(...payloadCredentialSteps(credentials, { uid: options.uid, gid: options.gid }, { userNamespace, hostRoot: ns.user.kind === 'host' && root }));
  // After the ids: the kernel clears the parent-death signal whenever the
  // effective uid or gid changes.
  if (options.dieWithParent) {
    steps.push(step('setParentDeathSignal', { name: 'set parent death signal', syscall: 'prctl', kind: 'prctl' }, { signal: SIGKILL }));
  }
  steps.push(...processLimitSteps(credentials));
  if (!credentials.allowNewPrivileges) steps.push(step('setNoNewPrivs', { name: 'set no_new_privs', syscall: 'prctl', kind: 'prctl' }, {}));
  let landlock: LandlockReport | undefined;
  if (options.landlock !== undefined) {
    const masks = landlockMasks(options.landlock, caller.landlockAbi ?? 0);
    landlock = masks.report;
    if (masks.fs !== 0 || masks.net !== 0 || masks.scoped !== 0) {
      const ruleset = landlockStep(options.landlock, masks);
      if (options.init && runtime.init !== undefined) ruleset.slot = slot(runtime.init);
      steps.push(ruleset);
    }
  }
  if (options.newSession) steps.push(step('setSid', { name: 'new session', syscall: 'setsid', kind: 'session' }, {}));
  steps.push(step('chdir', { name: 'chdir', syscall: 'chdir', kind: 'chdir', path: options.cwd }, { path: options.cwd }));

  runtime.stdio.forEach((source, target) => {
    if (source === undefined) return;
    steps.push(step('installFd', { name: `install fd ${target}`, syscall: 'dup3', kind: 'fd', slot: slot(source) }, {
      target, clearNonblock: runtime.blocking?.has(target) ?? false,
    }));
  });
  steps.push(step('closeOtherFds', { name: 'close other fds', syscall: 'close_range', kind: 'fd' }, {}));
  // The terminal (fds 0-2) becomes the controlling terminal of the session
  // the setSid step made; with an init, of the payload's own (the init's doing).
  if (options.tty !== undefined) {
    steps.push(step('setControllingTerminal', { name: 'set controlling terminal', syscall: 'ioctl TIOCSCTTY', kind: 'session' }, { terminal: 0 }));
  }
  steps.push(...rlimitSteps(credentials, callerLimits === undefined ? {} : defaultCountedRlimits(callerLimits)));
  // Last before the filter and the exec: everything that can fail in set-up
  // has been reported when the box waits here for `start`.
  if (runtime.startGate !== undefined) {
    steps.push(step('awaitStart', { name: 'await start', syscall: 'read', kind: 'fd' }, { gate: runtime.startGate }));
  }
  if (options.seccomp !== undefined) {
    const filter = filterFor(options.seccomp);
    steps.push(step('seccomp', { name: 'install seccomp filter', syscall: 'seccomp', kind: 'seccomp' }, { program: filter.hex, instructions: filter.instructions }));
  }

  steps.push(execStep(options, runtime.listenNames, options.init && runtime.init !== undefined ? slot(runtime.init) : undefined));
  const hiddenView = isNew('mount') && options.rootfs.kind === 'host'
    ? { homes: runtime.hostView?.homes ?? [], mountTargets: options.mounts.map((entry) => entry.target) }
    : undefined;
  return {
    steps, fds, spawnargs: [options.file, ...options.args], usesInit: options.init,
    ...(landlock === undefined ? {} : { landlock }),
    ...(hiddenView === undefined ? {} : { hiddenView }),
  };
}


/**
 * The box's last step: the exec of the payload (through the init's binary,
 * in `initSlot`, when the box has one), with its argv, envp and the paths
 * execvp would try. Its own function: a compiled template (lib/template.ts)
 * makes it per box, for that box's file, args and env.
 */
export function execStep(options: ValidatedOptions, listenNames: readonly string[] | undefined, initSlot: number | undefined): PlanStep {
  const argv = [options.argv0, ...options.args];
  const env = listenNames && listenNames.length > 0 ? { ...options.env, ...listenEnv(listenNames) } : options.env;
  const envp = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  const candidates = execCandidates(options.file, options.env);
  const exec = { name: 'execve', syscall: `spawn ${options.file}`, kind: 'exec', path: options.file } as const;
  if (!options.init) return step('exec', exec, { argv, envp, candidates });
  if (initSlot === undefined) throw new Error('cordon: the plan needs the init binary fd');
  return step('execInit', { ...exec, slot: initSlot }, { argv, envp, candidates });
}
