// spawnIsolated(): validate, acquire, plan, spawn, hand over to a Box.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import type * as net from 'node:net';

import type { NativeSpawnFailure, NativeSpawnResult } from '../types/native';
import { Box } from './box';
import { SpawnTimer, traceSpawn, traceSpawnAsync } from './diagnostics';
import { CordonError, CordonOptionError, errnoName, hintFor, stepError, type FailedStep, type HintContext } from './errors';
import { badLayer, existsOnHost, hostPathOf, untraversableDir } from './diagnose';
import { assertLinux, native } from './internal/native';
import { initSource } from './internal/sealed-init';
import { encodePlan } from './internal/encode';
import { unreadable } from './internal/checks';
import { Ledger } from './internal/resources';
import type { NamespaceName, SpawnIsolatedOptions } from './options';
import { bindAttributes, prepareUpperLayer } from './filesystem';
import { gatherHostView, hiddenInBox } from './host-view';
import { openListenSockets, type BoundSocketFile } from './network';
import { endAtProcessExit } from './cleanup';
import { endNow, recordBox } from './adopt';
import { prepareQuotaLayer, quotaUsage } from './quota';
import { leaseBridge, VETH_PARTS } from './bridge';
import { BoxCgroup, CGROUP_LEDGER, createBoxCgroup } from './cgroups/box';
import { sharedParent } from './cgroups/shared-parent';
import { InitPart, MountPart } from './internal/plan-abi';
import { readCallerCounterLimits, type CallerCounterLimits } from './kernel-counters';
import { boxIdsOnHost, boxRootOnHost, buildPlan, defaultIdMap, mapText, type Caller, type Plan, type PlanStep, type RuntimeFds } from './plan';
import { userNamespaceRefusal } from './probe';
import { setupStdio, wrapParentEnd } from './stdio';
import { openPty, PtyStreams, slavePath } from './pty';
import { execSpawnOptions, joinTarget, openBoxNamespaces, type ExecRecipe, type JoinTarget } from './exec';
import { validateOptions, type ValidatedOptions } from './validate';
import { NAMESPACE_NAMES } from './options';

let landlockAbi: number | undefined;

function callerFacts(options: ValidatedOptions): Caller {
  const caller: Caller = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
  if (options.namespaces.user.kind === 'new') caller.counterLimits = readCallerCounterLimits();
  if (options.landlock !== undefined) {
    landlockAbi ??= Math.max(native().landlockAbi(), 0);
    caller.landlockAbi = landlockAbi;
  }
  return caller;
}
function openNamespaces(options: ValidatedOptions, ledger: Ledger): Partial<Record<NamespaceName, number>> {
  const fds: Partial<Record<NamespaceName, number>> = {};
  for (const name of NAMESPACE_NAMES) {
    const setting = options.namespaces[name];
    if (setting.kind === 'fd') fds[name] = setting.fd;
    if (setting.kind !== 'path') continue;
    try {
      fds[name] = ledger.fd(`${name} namespace file`, fs.openSync(setting.path, 'r'));
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      const code = cause.code ?? 'EIO';
      throw new CordonError(code, `open ${code}: the ${name} namespace to join, ${setting.path}, cannot be opened`, {
        errno: cause.errno ?? -5,
        syscall: 'open',
        step: `open ${name} namespace`,
        path: setting.path,
        spawnargs: options.args,
        cause,
      });
    }
  }
  return fds;
}

const POOLED_USER = 'pooled user namespace';
const TTY_MASTER = 'tty master';
const EXEC_CGROUP_DIR = 'box cgroup dir fd';
const TTY_SLAVE = 'tty slave';
const POOLED_NET = 'pooled net namespace';

// One entry from the box's pool, its fds owned by the box's ledger from
// here; undefined on a miss (the box then makes its own namespaces).
function takePooled(options: ValidatedOptions, ledger: Ledger): RuntimeFds['pooled'] {
  const entry = options.netnsPool?._take();
  if (entry === undefined) return undefined;
  const net = ledger.nativeFd(POOLED_NET, entry.net);
  if (entry.user === undefined) return { net };
  return { user: ledger.nativeFd(POOLED_USER, entry.user), net };
}

const SIGKILL = 9;
const ENOMEM = 12;

/**
 * The error of a native spawn that failed. A child that died before its
 * exec without a record (killedSignal) was killed on the way: with SIGKILL
 * in a box with a memory controller whose OOM killer has killed (or whose
 * counter cannot be read), the box's memory limit is too small for its
 * setup, and the error says so as ENOMEM. So does any failure in a box
 * whose fresh memory cgroup counted an OOM kill: the box's process was
 * killed while the parent worked for it (a parent step then fails on a
 * dead process, e.g. EACCES writing its setgroups).
 */
function failure(plan: Plan, result: NativeSpawnFailure, cgroup?: BoxCgroup, options?: ValidatedOptions): CordonError {
  let { errno } = result;
  const { failedStep: stepIndex, detail, killedSignal } = result;
  const memoryLimited = cgroup?.placement.memory !== undefined;
  const oomKills = memoryLimited ? cgroup?.oomEvents()?.oomKill : 0;
  let killedInSetup: string | undefined;
  if (killedSignal !== undefined) {
    const oom = killedSignal === SIGKILL && memoryLimited && (oomKills ?? 1) > 0;
    if (oom) errno = ENOMEM;
    killedInSetup = oom ? 'oom' : killedSignal > 0 ? signalName(killedSignal) : 'exit';
  } else if ((oomKills ?? 0) > 0) {
    errno = ENOMEM;
    killedInSetup = 'oom';
  }
  return stepFailure(plan, stepIndex, errno, detail, { memoryLimited, ...(killedInSetup === undefined ? {} : { killedInSetup }) }, options);
}

function signalName(signal: number): string {
  return Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0] ?? `signal ${signal}`;
}

function stepFailure(
  plan: Plan, stepIndex: number, errno: number, detail: number, extra: { memoryLimited?: boolean; killedInSetup?: string } = {},
  options?: ValidatedOptions,
): CordonError {
  const step = plan.steps[stepIndex];
  if (step === undefined) {
    return new CordonError('ERR_CORDON_INTERNAL', `cordon: the child reported step ${stepIndex}, which the plan lacks`);
  }
  let failed: FailedStep = { name: step.name, syscall: step.syscall, kind: step.kind, ...(step.path === undefined ? {} : { path: step.path }) };
  const part = FILESYSTEM_OPS.has(step.op) ? MountPart[detail as keyof typeof MountPart] : undefined;
  if (part !== undefined && part !== 'none') {
    failed.syscall = MOUNT_PART_SYSCALLS[part];
    if ((part === 'open source' || part === 'resolve source' || part === 'check owner') && step.source !== undefined) failed.path = step.source;
    // The symlink and owner advice of a bind or upper step is for those parts only.
    if (part !== 'resolve source' && part !== 'check owner') failed.kind = 'mount';
  }
  if (step.op === 'landlock') {
    const rule = (detail >> 8) - 1;
    failed.syscall = ['landlock_create_ruleset', 'landlock_create_ruleset', 'landlock_add_rule', 'open', 'landlock_restrict_self'][detail & 0xff] ?? 'landlock';
    const target = step.lists?.[0]?.[rule * 3 + 2];
    if (rule >= 0 && target !== undefined) failed.path = target;
  }
  if (step.op === 'attachVeth') {
    const part = VETH_PARTS[detail];
    if (part !== undefined) failed = { ...failed, name: `attach veth to bridge: ${part.what}`, syscall: part.syscall };
  }
  const initPart = step.op === 'execInit' ? InitPart[detail as keyof typeof InitPart] : undefined;
  if (initPart !== undefined) {
    // The init itself failed (not the payload's exec): to start, or to seal itself.
    failed = { name: initPart.name, syscall: initPart.syscall, kind: 'init', ...(detail === -1 ? { path: initSource().path } : {}) };
  } else if (step.op === 'exec' || step.op === 'execInit') {
    // For a PATH search, name the candidate that decided the error, as execvp would.
    const candidates = step.lists?.[2] ?? [];
    const decided = candidates[detail];
    if (decided !== undefined && candidates.length > 1 && errno !== 2) failed.path = decided;
  }
  const hiddenDir = errno === 2 && failed.path?.startsWith('/') && plan.hiddenView !== undefined
    ? hiddenInBox(failed.path, plan.hiddenView.homes, plan.hiddenView.mountTargets)
    : undefined;
  // (/proc, /dev and /sys are the box's own: a missing file there is no view's doing)
  const hiddenBy = hiddenDir === '/proc' || hiddenDir === '/dev' || hiddenDir === '/sys' ? undefined : hiddenDir;
  const context: HintContext = {
    privileged: process.geteuid?.() === 0,
    ...(hiddenBy !== undefined && (step.kind === 'exec' || step.kind === 'chdir')
      ? { hiddenBy: { dir: hiddenBy, path: failed.path!, bind: step.kind === 'exec' ? path.dirname(failed.path!) : failed.path! } }
      : {}),
    ...extra,
    ...(step.kind === 'clone' ? optionalReason(userNamespaceRefusal()) : {}),
  };
  if (options !== undefined) failed = hostFacts(options, step, failed, errno, context);
  return stepError(failed, stepIndex, plan.steps.length, errno, plan.spawnargs.slice(1), context);
}

/**
 * Looks at the host after a failed step for what newcomers hit: a directory
 * the box user cannot enter on the way to the program, a mount point a
 * read-only image lacks, an overlay layer that is not there. Fills the hint
 * context, and names the layer at fault rather than the joined lowerdir.
 */
function hostFacts(options: ValidatedOptions, step: PlanStep, failed: FailedStep, errno: number, context: HintContext): FailedStep {
  const code = errnoName(errno);
  // The mounts that put something else than the root's own files at their target.
  const covering = options.mounts.filter((entry) => entry.type !== 'remount-ro');
  if (failed.kind === 'exec' && code === 'EACCES' && failed.path?.startsWith('/')) {
    const ids = boxUserOnHost(options);
    const onHost = hostPathOf(failed.path, options.rootfs, covering);
    const blocked = onHost === undefined ? undefined : untraversableDir(onHost, ids.uid, ids.gids);
    if (blocked !== undefined) context.untraversable = { dir: blocked.dir, mode: blocked.mode, owner: blocked.owner, uid: ids.uid };
  }
  if (failed.kind === 'exec' && code === 'ENOENT' && options.rootfs.kind !== 'host' && failed.path?.startsWith('/') &&
    hostPathOf(failed.path, { kind: 'layers' }, covering) === undefined && existsOnHost(failed.path)) {
    context.onHostOnly = { path: failed.path, rootfs: options.rootfs.kind };
  }
  if (failed.kind === 'mount' && code === 'EROFS' && failed.syscall === 'mkdirat' && options.rootfs.kind === 'dir' && step.path !== undefined) {
    context.missingMountPoint = { image: options.rootfs.dir, target: step.path };
  }
  if (failed.kind === 'mount' && code === 'EACCES' && failed.syscall === 'mkdirat' && options.rootfs.kind === 'layers' && step.path !== undefined) {
    context.templateMountPoint = { target: step.path, idmapped: options.rootfs.idmapLayers === true };
  }
  if (code === 'EINVAL' && failed.kind === 'mount' && options.rootfs.kind === 'layers' && options.rootfs.idmapLayers === true &&
    step.op === 'mountFs' && step.path === options.rootfs.layers.join(':')) {
    context.idmappedLayersRefused = true;
  }
  if (options.rootfs.kind === 'layers') {
    const layers = options.rootfs.layers;
    const overlay = step.op === 'mountFs' && step.path === layers.join(':');
    const bound = step.source === undefined ? -1 : layers.indexOf(step.source);
    const bad = overlay ? badLayer(layers) : bound >= 0 ? badLayer([layers[bound]!]) : undefined;
    if (bad !== undefined) {
      context.badLayer = { index: overlay ? bad.index : bound, layer: bad.layer, problem: bad.problem };
      return { ...failed, kind: 'layer', path: bad.layer };
    }
  }
  return failed;
}

/**
 * Who pipes and log files cordon makes for a box belong to: the payload's
 * host uid and gid, so it may reopen them through /proc/self/fd. Only a
 * root caller can give them away; anyone else's are its own (the box's
 * root by default).
 */
function stdioOwner(options: ValidatedOptions, caller: Caller): { uid: number; gid: number } | undefined {
  if (caller.euid !== 0) return undefined;
  if (!options.stdio.some((entry) => entry.kind === 'file' || (entry.kind === 'pipe' && options.stdioPipes === 'pipe'))) return undefined;
  const ids = boxUserOnHost(options);
  return { uid: ids.uid, gid: ids.gids[0]! };
}

/** The host uid and gids (its own, then its supplementary groups) the box's payload runs as, to judge its access to host paths. */
function boxUserOnHost(options: ValidatedOptions): { uid: number; gids: number[] } {
  const caller = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
  const groups = options.credentials.groups ?? [];
  if (options.namespaces.user.kind === 'new') {
    const ids = boxIdsOnHost(options, caller);
    return { uid: ids.uid, gids: [ids.gid, ...groups.map((group) => boxIdsOnHost(options, caller, options.uid, group).gid)] };
  }
  if (caller.euid !== 0) return { uid: caller.euid, gids: [caller.egid] };
  return { uid: options.uid, gids: [options.gid, ...groups] };
}

const FILESYSTEM_OPS: ReadonlySet<string> = new Set([
  'mountFs', 'bindMount', 'makeDir', 'pivotRoot', 'enterRoot', 'symlink', 'writeFile', 'setMountAttr', 'openRoot', 'mask',
]);

// Which system call each part of a filesystem step is, for error.syscall.
const MOUNT_PART_SYSCALLS: Record<(typeof MountPart)[keyof typeof MountPart], string> = {
  none: 'mount',
  'resolve target': 'openat2',
  'create target': 'mkdirat',
  'open source': 'open_tree',
  fsopen: 'fsopen',
  fsconfig: 'fsconfig',
  'create filesystem': 'fsconfig',
  fsmount: 'fsmount',
  attach: 'move_mount',
  'set attributes': 'mount_setattr',
  mkdir: 'mkdir',
  pivot_root: 'pivot_root',
  'detach old root': 'umount2',
  write: 'write',
  symlink: 'symlinkat',
  'open root': 'open',
  chdir: 'chdir',
  'resolve source': 'openat2',
  'check owner': 'statx',
};

// Idmapped binds need the host's CAP_SYS_ADMIN: the parent makes each
// detached tree, the child attaches it.
function prepareIdmappedTrees(options: ValidatedOptions, caller: Caller, ledger: Ledger): Map<number, number> {
  const trees = new Map<number, number>();
  options.mounts.forEach((entry, i) => {
    if (entry.type !== 'bind' || entry.idmap === undefined) return;
    const box = boxIdsOnHost(options, caller);
    const result = native().idmappedTree(
      entry.source, entry.recursive !== false, bindAttributes(entry),
      `${entry.idmap.uid} ${box.uid} 1\n`, `${entry.idmap.gid} ${box.gid} 1\n`, entry.followSymlinks === true,
    );
    if (result.fd < 0) {
      const code = errnoName(result.fd);
      const syscall = ['', 'clone', 'open_tree', 'mount_setattr', 'openat2'][result.part] ?? 'mount_setattr';
      const hint = code === 'ELOOP' && syscall === 'openat2' ? hintFor('bind', code, { privileged: true }) : undefined;
      throw new CordonError(code, `${syscall} ${code}: cannot make the idmapped mount mounts[${i}] of ${entry.source}`, {
        errno: result.fd, syscall, step: `mounts[${i}] bind`, path: entry.source,
        ...(syscall === 'mount_setattr' && code === 'EINVAL' ? { hint: 'the filesystem may not support idmapped mounts (see probe().idmappedMounts)' } : {}),
        ...(hint === undefined ? {} : { hint }),
      });
    }
    trees.set(i, ledger.nativeFd(`mounts[${i}] idmapped tree`, result.fd));
  });
  return trees;
}

/**
 * rootfs.idmapLayers: each template layer as an idmapped tree whose mapping
 * is the box's own uid and gid maps, so a file host root owns in a template
 * shows as the box's root (uid 33 as the box's 33, ...). The box's root may
 * then create in a template directory (overlayfs copies it up). Read-only,
 * not recursive, symlinks followed as for any layer (the caller's).
 */
function prepareLayerTrees(options: ValidatedOptions, caller: Caller, ledger: Ledger): Map<number, number> | undefined {
  if (options.rootfs.kind !== 'layers' || options.rootfs.idmapLayers !== true) return undefined;
  const uidMap = mapText(options.uidMap ?? defaultIdMap(caller.euid));
  const gidMap = mapText(options.gidMap ?? defaultIdMap(caller.egid));
  const trees = new Map<number, number>();
  options.rootfs.layers.forEach((layer, i) => {
    const result = native().idmappedTree(layer, false, MOUNT_ATTR_RDONLY_NOSUID_NODEV, uidMap, gidMap, true);
    if (result.fd < 0) {
      const code = errnoName(result.fd);
      const syscall = ['', 'clone', 'open_tree', 'mount_setattr', 'openat2'][result.part] ?? 'mount_setattr';
      const hint = syscall === 'mount_setattr' && code === 'EINVAL' ? 'the layer\'s filesystem may not support idmapped mounts (see probe().idmappedMounts)' : undefined;
      throw new CordonError(code, `${syscall} ${code}: cannot make the idmapped template layer rootfs.layers[${i}], ${layer}${hint === undefined ? '' : ` (${hint})`}`, {
        errno: result.fd, syscall, step: `bind layer ${i}`, path: layer, ...(hint === undefined ? {} : { hint }),
      });
    }
    trees.set(i, ledger.nativeFd(`rootfs.layers[${i}] idmapped tree`, result.fd));
  });
  return trees;
}

// MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
const MOUNT_ATTR_RDONLY_NOSUID_NODEV = 0x1 | 0x2 | 0x4;

function optionalReason(reason: string | undefined): { userNamespaceReason?: string } {
  return reason === undefined ? {} : { userNamespaceReason: reason };
}

/**
 * Starts a throwaway box up to its exec, synchronously, to learn whether the
 * host allows what `options` ask (probe() uses it). Resolves to undefined if
 * every step before the exec worked, else to the error of the step that did not.
 * A box whose exec succeeds is killed and reaped at once.
 */
export function trialSpawn(file: string, options: SpawnIsolatedOptions): CordonError | undefined {
  const validated = validateOptions(file, [], { ...options, stdio: 'ignore' });
  const ledger = new Ledger();
  try {
    const runtime = Object.assign(Object.create(null) as RuntimeFds, { stdio: setupStdio(validated.stdio, ledger).childFds, namespaces: {} } as RuntimeFds);
    if (validated.init) runtime.init = initSource().fd;
    const plan = buildPlan(validated, runtime, callerFacts(validated));
    const encoded = encodePlan(plan);
    const result = native().spawn(encoded.buffer, encoded.fds);
    if ('failedStep' in result) return failure(plan, result, undefined, validated);
    native().sendSignal(result.pidfd, 9);
    native().reap(result.pidfd);
    native().closeFd(result.pidfd);
    if (result.exitFd >= 0) native().closeFd(result.exitFd);
    return undefined;
  } finally {
    ledger.releaseAll();
  }
}

/**
 * Runs `file` with `args` in a new box: fresh namespaces, no capabilities,
 * no_new_privs, a minimal environment and only the fds given in `stdio`.
 * Throws synchronously for bad options (nothing is created then); a failure
 * of the spawn itself is emitted as 'error' on the returned Box and rejects
 * `box.exited`, like child_process.spawn.
 */
export function spawnIsolated(file: string | URL, args?: readonly string[], options?: SpawnIsolatedOptions): Box;
export function spawnIsolated(file: string | URL, options?: SpawnIsolatedOptions): Box;
export function spawnIsolated(
  file: string | URL,
  argsOrOptions?: readonly string[] | SpawnIsolatedOptions,
  maybeOptions?: SpawnIsolatedOptions,
): Box {
  return traceSpawn(fileName(file), argsGiven(argsOrOptions), ({ timer }) => {
    const launch = prepare(file, argsOrOptions, maybeOptions, timer);
    if (launch instanceof Box) return launch;
    return settle(launch, () => {
      const result = native().spawn(launch.encoded.buffer, launch.encoded.fds, timer?.wantsSteps === true);
      spawned(launch, result);
      return complete(launch, result);
    });
  });
}

/** The file of a spawn call for its trace, before validation: a URL as its href. */
function fileName(file: unknown): string {
  try {
    return typeof file === 'string' ? file : file instanceof URL ? file.href : String(file);
  } catch {
    return '<unreadable>'; // a revoked Proxy: validation reports it
  }
}

/** The args of a spawn call for its trace: the array, when one was given. */
function argsGiven(argsOrOptions: readonly string[] | SpawnIsolatedOptions | undefined): readonly string[] {
  // Before validation: a revoked Proxy throws even from Array.isArray, and
  // the error for it is validation's to give (a CordonOptionError).
  try {
    return Array.isArray(argsOrOptions) ? argsOrOptions : [];
  } catch {
    return [];
  }
}

/** The native spawn has returned: its phase and its steps' times are reported (when anyone listens). */
function spawned(launch: Launch, result: NativeSpawnResult): void {
  launch.timer?.phase('native spawn');
  launch.timer?.steps(launch.plan.steps, result.stepEndNs);
}

/**
 * Like spawnIsolated(), but the clone and the box's setup up to the
 * payload's exec run on a libuv worker thread, so the JS thread is free
 * meanwhile (spawnIsolated() holds it for about 2 ms). Resolves with the
 * started box once the payload runs; rejects with the spawn error (the same
 * CordonError spawnIsolated() would emit) or, for bad options, with the
 * CordonOptionError spawnIsolated() would throw. Spawns from the
 * threadpool (and from worker threads) set their boxes up at the same time.
 */
export function spawnIsolatedAsync(file: string | URL, args?: readonly string[], options?: SpawnIsolatedOptions): Promise<Box>;
export function spawnIsolatedAsync(file: string | URL, options?: SpawnIsolatedOptions): Promise<Box>;
export async function spawnIsolatedAsync(
  file: string | URL,
  argsOrOptions?: readonly string[] | SpawnIsolatedOptions,
  maybeOptions?: SpawnIsolatedOptions,
): Promise<Box> {
  return traceSpawnAsync(fileName(file), argsGiven(argsOrOptions), async ({ timer }) => {
    const launch = prepare(file, argsOrOptions, maybeOptions, timer);
    const box = launch instanceof Box ? launch : await native().spawnAsync(launch.encoded.buffer, launch.encoded.fds, timer?.wantsSteps === true).then(
      (result) => settle(launch, () => {
        spawned(launch, result);
        return complete(launch, result);
      }),
      (error: unknown) => settle(launch, () => {
        throw error;
      }),
    );
    // A failed spawn rejects with its error (and looking at exited keeps the
    // box's own 'error' event from going unhandled).
    if (box.pid === undefined) await box.exited;
    return box;
  });
}

/** What a spawn has acquired by the time the native spawn runs. */
interface Launch {
  startedAt: bigint;
  validated: ValidatedOptions;
  ledger: Ledger;
  box: Box;
  runtime: RuntimeFds;
  plan: Plan;
  encoded: ReturnType<typeof encodePlan>;
  stdio: ReturnType<typeof setupStdio>;
  listenParentSide: string[];
  /** The Unix socket files bound for `listen` (for a box's state record). */
  socketFiles: BoundSocketFile[];
  cgroup: BoxCgroup | undefined;
  /** Times the phases and steps while anyone listens (NODE_DEBUG=cordon, diagnostics_channel). */
  timer: SpawnTimer | undefined;
  /** The caller's per-user limits the box got a share of (its own user namespace), for box.exec(). */
  counterLimits: CallerCounterLimits | undefined;
}

/**
 * Validates (throwing for bad options) and acquires everything up to the
 * native spawn. Returns the launch, or a Box that has failed already (an
 * aborted signal, a host resource that could not be had).
 */
function prepare(
  file: string | URL,
  argsOrOptions: readonly string[] | SpawnIsolatedOptions | undefined,
  maybeOptions: SpawnIsolatedOptions | undefined,
  timer: SpawnTimer | undefined,
  join?: JoinTarget,
): Launch | Box {
  const startedAt = process.hrtime.bigint();
  let args: unknown = argsOrOptions;
  let options: unknown = maybeOptions;
  let isArgs: boolean;
  try {
    isArgs = Array.isArray(argsOrOptions);
  } catch (error) {
    throw unreadable('args', error); // a revoked Proxy
  }
  if (argsOrOptions !== undefined && argsOrOptions !== null && typeof argsOrOptions !== 'object') {
    // spawnIsolated(file, 'x'): as child_process, a word about args, not options.
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'args', `The "args" argument must be an array of strings. Received type ${typeof argsOrOptions}`);
  }
  if (argsOrOptions !== undefined && !isArgs) {
    if (maybeOptions !== undefined) {
      throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'args', 'The "args" argument must be an array of strings');
    }
    args = undefined;
    options = argsOrOptions;
  }
  const validated = join === undefined ? validateOptions(file, args, options) : join.confine(validateOptions(file, args, options));
  assertLinux();
  timer?.phase('validate');

  const ledger = new Ledger();
  const pipes = validated.tty !== undefined ? [true, true, false] : validated.stdio.map((entry) => entry.kind === 'pipe');
  const box = new Box({ file: validated.file, args: validated.args, ledger, killSignal: validated.killSignal, pipes });
  if (validated.signal?.aborted) {
    const error = new CordonError('ABORT_ERR', 'The operation was aborted', { cause: validated.signal.reason });
    error.name = 'AbortError';
    box._failed(error);
    return box;
  }
  const partial = { startedAt, validated, ledger, box, timer };
  return settle(partial, () => {
    const caller = callerFacts(validated);
    // No prototype: buildPlan reads optional fields (cgroup, bridge, init, ...) a polluted Object.prototype could fill.
    const runtime = Object.assign(Object.create(null) as RuntimeFds, { stdio: [], namespaces: openNamespaces(validated, ledger) } as RuntimeFds);
    const pooled = takePooled(validated, ledger);
    if (pooled !== undefined) runtime.pooled = pooled;
    timer?.phase('open namespaces');
    const stdio = setupStdio(validated.stdio, ledger, { pipes: validated.stdioPipes, owner: stdioOwner(validated, caller) });
    runtime.stdio = stdio.childFds;
    if (validated.tty !== undefined) {
      // The terminal is the box's fds 0-2; the master stays ours.
      const pair = openPty(validated.tty);
      ledger.nativeFd(TTY_MASTER, pair.master);
      ledger.nativeFd(TTY_SLAVE, pair.slave);
      stdio.childFds.splice(0, 3, pair.slave, pair.slave, pair.slave);
      stdio.childSide.push(TTY_SLAVE);
      runtime.terminal = { master: pair.master, slavePath: slavePath(pair.slave) };
    }
    timer?.phase('stdio');
    let listenParentSide: string[] = [];
    let socketFiles: BoundSocketFile[] = [];
    if (validated.listen.length > 0) {
      const sockets = openListenSockets(validated.listen, ledger, boxRootOnHost(validated, caller));
      sockets.fds.forEach((fd, i) => {
        stdio.childFds[3 + i] = fd;
      });
      runtime.listenNames = sockets.names;
      // A Listener's socket is blocking for every box: a server that sets
      // O_NONBLOCK on its copy sets it on the shared file, so the next box
      // gets it back cleared.
      runtime.blocking = new Set(validated.listen.flatMap((entry, i) => (entry.kind === 'server' || entry.kind === 'listener' ? [3 + i] : [])));
      box.sockets = sockets.sockets;
      listenParentSide = sockets.parentSide;
      socketFiles = sockets.files;
      timer?.phase('listen sockets');
    }
    if (validated.startGate !== undefined) {
      // Above every other box fd; closed in the box before the exec.
      const target = Math.max(3, stdio.childFds.length);
      stdio.childFds[target] = validated.startGate;
      runtime.startGate = target;
    }
    if (validated.init) runtime.init = initSource().fd;
    let cgroup: BoxCgroup | undefined;
    if (validated.cgroup !== undefined) {
      const tenant = validated.cgroupTenant;
      // A tenant's box gets its own leaf under the tenant, in every hierarchy the tenant joined.
      // Cloned into the leaf by native/clone.cc's clone_into_cgroup (v2), like any box cgroup (see lib/cgroups/tenant.ts).
      cgroup = tenant === undefined
        ? createBoxCgroup(sharedParent(validated.cgroupParent), undefined, validated.cgroup, ledger)
        : createBoxCgroup(tenant._parent(), undefined, validated.cgroup, ledger, { controllers: tenant._boxControllers() });
      box._cgroup(cgroup);
      // v1 hierarchies always take the pid in the parent's window; v2 only
      // when the clone could not place the box itself (CLONE_INTO_CGROUP).
      const procs = cgroup.openAttachFds({ v2: true }, ledger).map((entry) => ({
        ...entry,
        unlessPlaced: entry.hierarchy === 'v2' && cgroup!.dirFd >= 0,
      }));
      runtime.cgroup = { dirFd: cgroup.dirFd, procs };
      timer?.phase('cgroup');
    }
    if (join?.cgroup !== undefined) {
      // box.exec(): the box's own cgroup, so its limits bind this process too.
      const target = join.cgroup;
      const dirFd = target.v2Dir === undefined ? -1 : ledger.fd(EXEC_CGROUP_DIR, fs.openSync(target.v2Dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
      const procs = target.openAttachFds({ v2: dirFd < 0 }, ledger).map((entry) => ({ ...entry, unlessPlaced: entry.hierarchy === 'v2' && dirFd >= 0 }));
      runtime.cgroup = { dirFd, procs };
    }
    if (validated.bridge !== undefined) {
      runtime.bridge = leaseBridge(validated.bridge, ledger, validated.dieWithParent);
      box.network = runtime.bridge.info;
      timer?.phase('bridge');
    }
    if (validated.rootfs.kind === 'host' && validated.namespaces.mount.kind === 'new') {
      runtime.hostView = gatherHostView();
      timer?.phase('host view');
    }
    if (validated.rootfs.kind === 'layers' && validated.rootfs.upper.kind === 'dir') {
      const owner = boxRootOnHost(validated, caller) ?? { uid: caller.euid, gid: caller.egid };
      const quota = validated.rootfs.upper.quota;
      if (quota === undefined) {
        prepareUpperLayer(validated.rootfs, owner, caller.euid);
      } else {
        const layer = prepareQuotaLayer(validated.rootfs.upper.dir, quota, owner, ledger);
        runtime.upperTree = layer.mount;
        box._diskUsage(() => quotaUsage(layer.mount));
        box._beforeExited(layer.released);
      }
      timer?.phase('upper layer');
    }
    runtime.idmappedTrees = prepareIdmappedTrees(validated, caller, ledger);
    const layerTrees = prepareLayerTrees(validated, caller, ledger);
    if (layerTrees !== undefined) runtime.layerTrees = layerTrees;
    if (runtime.idmappedTrees.size > 0) timer?.phase('idmapped mounts');
    const plan = buildPlan(validated, runtime, caller);
    if (plan.landlock !== undefined) box._landlock(plan.landlock);
    const encoded = encodePlan(plan);
    timer?.phase('plan');
    const counterLimits = validated.namespaces.user.kind === 'new' ? caller.counterLimits : undefined;
    return { ...partial, runtime, plan, encoded, stdio, listenParentSide, socketFiles, cgroup, counterLimits };
  });
}

/** After the native spawn: our copies of the box's fds go, and the box starts or fails. */
function complete(launch: Launch, result: NativeSpawnResult): Box {
  const { validated, ledger, box, runtime, stdio, cgroup } = launch;
  // The box holds its own copies now; ours of its ends go at once.
  for (const name of [...stdio.childSide, ...launch.listenParentSide]) ledger.releaseOne(name);
  for (const index of runtime.idmappedTrees?.keys() ?? []) ledger.releaseOne(`mounts[${index}] idmapped tree`);
  for (const index of runtime.layerTrees?.keys() ?? []) ledger.releaseOne(`rootfs.layers[${index}] idmapped tree`);
  // A handed-over net.Server is the box's now: the parent must stop accepting.
  for (const entry of validated.listen) if (entry.kind === 'server') entry.server.close();
  for (const name of NAMESPACE_NAMES) ledger.releaseOne(`${name} namespace file`);
  // A pool entry is never reused: the box has joined it or failed.
  ledger.releaseOne(POOLED_USER);
  ledger.releaseOne(POOLED_NET);
  if (cgroup !== undefined) ledger.releaseOne(CGROUP_LEDGER.dirFd);
  ledger.releaseOne(EXEC_CGROUP_DIR);
  for (const entry of runtime.cgroup?.procs ?? []) ledger.releaseOne(`cgroup.procs ${entry.hierarchy}`);
  if ('failedStep' in result) {
    box._failed(failure(launch.plan, result, cgroup, validated));
    ledger.releaseAll();
    return box;
  }
  ledger.nativeFd('pidfd', result.pidfd);
  if (result.exitFd >= 0) ledger.nativeFd('exit pipe', result.exitFd);
  // null, not a hole, where an fd is not a pipe (ChildProcess.stdio's shape).
  let pipes = Array.from({ length: validated.stdio.length }, (_, target): net.Socket | null => {
    const fd = stdio.parentFds[target];
    if (fd === undefined) return null;
    ledger.transfer(`stdio[${target}] parent end`);
    return wrapParentEnd(fd, target);
  });
  if (runtime.terminal !== undefined) {
    // The master is the terminal streams' from here (they close it).
    ledger.transfer(TTY_MASTER);
    const terminal = new PtyStreams(runtime.terminal.master);
    box._terminal(terminal);
    pipes = [terminal.input, terminal.output, null];
  }
  const spawnMs = Number(process.hrtime.bigint() - launch.startedAt) / 1e6;
  const recipe: ExecRecipe = { validated, counterLimits: launch.counterLimits, cgroup };
  box._execWith((file, args, options, pid, alive) => spawnJoined(recipe, pid, alive, file, args, options));
  box._started(result.pid, result.pidfd, result.exitFd, spawnMs, pipes);
  // Who releases the box's host resources if this process goes first: at
  // process.exit() a box that dies with it is ended and released here; one
  // that outlives it hands them to its state record (adopt(), cleanup()).
  // A record names what a SIGKILL of this process would leave outside any
  // cgroup (socket files): written for boxes with Unix listen paths too.
  if (validated.dieWithParent) {
    ledger.add('exit hook', endAtProcessExit(() => endNow(box, cgroup, ledger)));
    if (launch.socketFiles.length > 0) recordBox(box, result.pid, validated, cgroup, launch.socketFiles, ledger);
  } else {
    box.adoptionId = recordBox(box, result.pid, validated, cgroup, launch.socketFiles, ledger);
  }
  if (validated.timeout !== undefined && validated.timeout > 0) box._setTimeout(validated.timeout);
  if (validated.signal) box._watchAbort(validated.signal);
  launch.timer?.phase('hand over');
  return box;
}

/**
 * box.exec(): `file` started inside the running box whose first process is
 * `pid`, through the ordinary spawn with every namespace of the box joined
 * (user first) and the box's cgroup and confinement. Bad options throw;
 * a failure of the spawn is reported on the returned box.
 */
function spawnJoined(recipe: ExecRecipe, pid: number, alive: () => boolean, file: string | URL, args: readonly string[] | undefined, options: unknown): Box {
  return traceSpawn(fileName(file), args ?? [], ({ timer }) => {
    // The namespace fds are opened into a ledger of their own, handed to the launch's below.
    const opening = new Ledger();
    let namespaces: Partial<Record<NamespaceName, number>>;
    try {
      namespaces = openBoxNamespaces(pid, alive, opening);
    } catch (error) {
      opening.releaseAll();
      throw error;
    }
    let launch: Launch | Box;
    try {
      launch = prepare(file, args ?? [], execSpawnOptions(options, namespaces, recipe.validated.cwd), timer, joinTarget(recipe));
    } catch (error) {
      opening.releaseAll();
      throw error;
    }
    if (launch instanceof Box) {
      opening.releaseAll();
      return launch;
    }
    // The launch owns them now: complete() closes them right after the spawn.
    for (const [name, fd] of Object.entries(namespaces) as [NamespaceName, number][]) {
      opening.transfer(`${name} namespace file`);
      launch.ledger.fd(`${name} namespace file`, fd);
    }
    return settle(launch, () => {
      const result = native().spawn(launch.encoded.buffer, launch.encoded.fds, timer?.wantsSteps === true);
      spawned(launch, result);
      return complete(launch, result);
    });
  });
}

/**
 * Runs a phase of a spawn that has not started yet. A host resource that
 * could not be had (a namespace file, a pipe) is a runtime failure like any
 * step's: reported on the box, not thrown; what the box holds is released.
 */
function settle<T>(launch: { ledger: Ledger; box: Box }, phase: () => T): T | Box {
  try {
    return phase();
  } catch (error) {
    if (launch.box.pid !== undefined) throw error;
    launch.ledger.releaseAll();
    if (error instanceof CordonError && error.syscall !== undefined) {
      launch.box._failed(error);
      return launch.box;
    }
    throw error;
  }
}
