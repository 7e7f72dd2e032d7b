// spawnIsolated(): validate, acquire, plan, spawn, hand over to a Box.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';

import type { NativeAsyncSpawnResult, NativeSocketFile } from '../types/native';
import { Box } from './box';
import { SpawnTimer, traceSpawn, traceSpawnAsync } from './diagnostics';
import { CordonError } from './errors';
import { failure } from './explain';
import { assertLinux, native } from './internal/native';
import { initSource } from './internal/sealed-init';
import { encodePlan, type EncodedPlan } from './internal/encode';
import { unreadable } from './internal/checks';
import { Ledger, type LedgerEntry } from './internal/resources';
import type { NamespaceName, SpawnIsolatedOptions } from './options';
import { prepareUpperLayer } from './filesystem';
import { acquireIdmappedTrees, acquireLayerTrees } from './idmapped';
import { acquireNamespaceFiles } from './namespaces';
import { acquirePoolEntry } from './pool';
import { gatherHostView } from './host-view';
import { openListenSockets, type BoundSocketFile } from './sockets';
import { endAtProcessExit } from './cleanup';
import { endNow, recordBox } from './adopt';
import { prepareQuotaLayer, quotaUsage } from './quota';
import { leaseBridge } from './bridge';
import { BoxCgroup, CGROUP_LEDGER, createBoxCgroup, joinsCgroupLate, lateCgroupJoinRefusal } from './cgroups/box';
import { takeCgroupNamespaceHelper } from './cgroups/namespace-helpers';
import { sharedParent } from './cgroups/shared-parent';
import { readCallerCounterLimits, type CallerCounterLimits } from './kernel-counters';
import { boxRootOnHost, boxUserOnHost, buildPlan, type Caller, type Plan, type RuntimeFds } from './plan';
import { deferredPairFd, setupStdio, socketPairError, wrapParentEnd } from './stdio';
import { openPty, PtyStreams, slavePath } from './pty';
import { execSpawnOptions, joinTarget, openBoxNamespaces, type ExecRecipe, type JoinTarget } from './exec';
import { validateOptions, type ValidatedOptions } from './validate';
import type { LandlockReport } from './landlock';
import { argsNotAnArray, planFresh, type PlannedBox, type Planner } from './compiled-options';
import { validateWithCache } from './options-cache';

/** Whether boxes may join their cgroups late on this kernel (joinsCgroupLate). */
const LATE_CGROUP_JOIN = lateCgroupJoinRefusal() === undefined;

export { argsNotAnArray, planFresh, type PlannedBox, type Planner };

let landlockAbi: number | undefined;

/** What the plan needs to know of the calling process (its ids, its limits, this kernel's Landlock). */
export function callerFacts(options: ValidatedOptions): Caller {
  const caller: Caller = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
  if (options.namespaces.user.kind === 'new') caller.counterLimits = readCallerCounterLimits();
  if (options.landlock !== undefined) {
    landlockAbi ??= Math.max(native().landlockAbi(), 0);
    caller.landlockAbi = landlockAbi;
  }
  return caller;
}

const TTY_MASTER = 'tty master';
const EXEC_CGROUP_DIR = 'box cgroup dir fd';
const TTY_SLAVE = 'tty slave';

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
    const startedAt = process.hrtime.bigint();
    const { validated, planner } = validatePlainCall(file, argsOrOptions, maybeOptions, timer);
    return startBox(launchBox(validated, startedAt, timer, planner));
  });
}

/** The file of a spawn call for its trace, before validation: a URL as its href. */
export function fileName(file: unknown): string {
  try {
    return typeof file === 'string' ? file : file instanceof URL ? file.href : String(file);
  } catch {
    return '<unreadable>'; // a revoked Proxy: validation reports it
  }
}

/** The args of a spawn call for its trace: the array, when one was given. */
export function argsGiven(argsOrOptions: unknown): readonly string[] {
  // Before validation: a revoked Proxy throws even from Array.isArray, and
  // the error for it is validation's to give (a CordonOptionError).
  try {
    return Array.isArray(argsOrOptions) ? argsOrOptions as string[] : [];
  } catch {
    return [];
  }
}

/** The native spawn has returned: its phase and its steps' times are reported (when anyone listens). */
function spawned(launch: Launch, result: NativeAsyncSpawnResult): void {
  launch.timer?.phase('native spawn');
  launch.timer?.steps(launch.plan.steps, result.stepEndNs);
}

/**
 * Like spawnIsolated(), but the clone and the box's setup up to the
 * payload's exec run on a set-up thread of cordon's own (not libuv's
 * threadpool, which the process's fs, dns and zlib need), so the JS thread is free
 * meanwhile (spawnIsolated() holds it for about 2 ms). Resolves with the
 * started box once the payload runs; rejects with the spawn error (the same
 * CordonError spawnIsolated() would emit) or, for bad options, with the
 * CordonOptionError spawnIsolated() would throw. Spawns from the
 * set-up threads (and from worker threads) set their boxes up at the same time.
 */
export function spawnIsolatedAsync(file: string | URL, args?: readonly string[], options?: SpawnIsolatedOptions): Promise<Box>;
export function spawnIsolatedAsync(file: string | URL, options?: SpawnIsolatedOptions): Promise<Box>;
export async function spawnIsolatedAsync(
  file: string | URL,
  argsOrOptions?: readonly string[] | SpawnIsolatedOptions,
  maybeOptions?: SpawnIsolatedOptions,
): Promise<Box> {
  return traceSpawnAsync(fileName(file), argsGiven(argsOrOptions), async ({ timer }) => {
    const startedAt = process.hrtime.bigint();
    const { validated, planner } = validatePlainCall(file, argsOrOptions, maybeOptions, timer);
    return startBoxAsync(launchBox(validated, startedAt, timer, planner, undefined, true));
  });
}

/** Runs a launch's native spawn on the JS thread and hands the box over. */
export function startBox(launch: Launch | Box): Box {
  if (launch instanceof Box) return launch;
  return settle(launch, () => {
    const result = native().spawn(launch.encoded.buffer, launch.encoded.fds, launch.timer?.wantsSteps === true);
    spawned(launch, result);
    return complete(launch, result);
  });
}

/** Runs a launch's native spawn on a set-up thread (native/spawn_async.cc); resolves with the started box, rejects with its failure. */
export async function startBoxAsync(launch: Launch | Box): Promise<Box> {
  const box = launch instanceof Box ? launch : await native().spawnAsync(launch.encoded.buffer, launch.encoded.fds, launch.timer?.wantsSteps === true, pairSlots(launch)).then(
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
}

/** The plan slots of the socket pairs the set-up thread is to make (see StdioSetup.deferredPairs). */
function pairSlots(launch: Launch): Int32Array | undefined {
  const targets = launch.stdio.deferredPairs;
  if (targets.length === 0) return undefined;
  const slots = new Int32Array(targets.length);
  targets.forEach((target, i) => {
    slots[i] = launch.encoded.fds.indexOf(deferredPairFd(target));
  });
  return slots;
}

/** What a spawn has acquired by the time the native spawn runs. */
export interface Launch {
  startedAt: bigint;
  validated: ValidatedOptions;
  ledger: Ledger;
  box: Box;
  runtime: RuntimeFds;
  plan: Plan;
  encoded: EncodedPlan;
  stdio: ReturnType<typeof setupStdio>;
  listenParentSide: string[];
  /** What the parent held for the spawn alone (namespace files, a pool entry, idmapped trees): released right after it. */
  spawnOnly: LedgerEntry[];
  /** The Unix socket files bound for `listen` (for a box's state record). */
  socketFiles: BoundSocketFile[];
  /** The same, as the addon removes them if this thread's env is torn down first (native().boxLeaves). */
  socketTeardown: NativeSocketFile[];
  cgroup: BoxCgroup | undefined;
  /** Times the phases and steps while anyone listens (NODE_DEBUG=cordon, diagnostics_channel). */
  timer: SpawnTimer | undefined;
  /** The caller's per-user limits the box got a share of (its own user namespace), for box.exec(). */
  counterLimits: CallerCounterLimits | undefined;
}

/** spawnIsolated's (args, options) or (options): the args and the options. */
function argsAndOptions(
  argsOrOptions: readonly string[] | SpawnIsolatedOptions | undefined, maybeOptions: SpawnIsolatedOptions | undefined,
): { args: unknown; options: unknown } {
  let isArgs: boolean;
  try {
    isArgs = Array.isArray(argsOrOptions);
  } catch (error) {
    throw unreadable('args', error); // a revoked Proxy
  }
  if (argsOrOptions !== undefined && argsOrOptions !== null && typeof argsOrOptions !== 'object') throw argsNotAnArray(argsOrOptions);
  if (argsOrOptions !== undefined && !isArgs) {
    if (maybeOptions !== undefined) throw argsNotAnArray(argsOrOptions);
    return { args: undefined, options: argsOrOptions };
  }
  return { args: argsOrOptions, options: maybeOptions };
}

/** spawnIsolated's arguments → validated options (throwing a CordonOptionError for bad ones). */
function validateCall(
  file: string | URL,
  argsOrOptions: readonly string[] | SpawnIsolatedOptions | undefined,
  maybeOptions: SpawnIsolatedOptions | undefined,
  timer: SpawnTimer | undefined,
  join?: JoinTarget,
): ValidatedOptions {
  const { args, options } = argsAndOptions(argsOrOptions, maybeOptions);
  const validated = join === undefined ? validateOptions(file, args, options) : join.confine(validateOptions(file, args, options));
  assertLinux();
  timer?.phase('validate');
  return validated;
}

/**
 * As validateCall() for spawnIsolated() and spawnIsolatedAsync(), through
 * compiled options when the same options come again (lib/options-cache.ts):
 * the validated options and the planner of their plans.
 */
function validatePlainCall(
  file: string | URL,
  argsOrOptions: readonly string[] | SpawnIsolatedOptions | undefined,
  maybeOptions: SpawnIsolatedOptions | undefined,
  timer: SpawnTimer | undefined,
): { validated: ValidatedOptions; planner: Planner } {
  const { args, options } = argsAndOptions(argsOrOptions, maybeOptions);
  const call = validateWithCache(file, args, options);
  assertLinux();
  timer?.phase('validate');
  return call;
}

/**
 * Acquires everything a validated box needs up to the native spawn, then
 * plans it with `planner`. Returns the launch, or a Box that has failed
 * already (an aborted signal, a host resource that could not be had).
 */
export function launchBox(
  validated: ValidatedOptions, startedAt: bigint, timer: SpawnTimer | undefined, planner: Planner, join?: JoinTarget, deferPairs = false,
): Launch | Box {
  const ledger = new Ledger();
  const pipes = validated.tty !== undefined ? [true, true, false] : validated.stdio.map((entry) => entry.kind === 'pipe');
  const box = new Box({ file: validated.file, args: validated.args, ledger, killSignal: validated.killSignal, pipes });
  if (validated.signal?.aborted) {
    const error = new CordonError('ABORT_ERR', 'The operation was aborted', { cause: validated.signal.reason });
    error.name = 'AbortError';
    box._failed(error);
    return box;
  }
  const spawnOnly: LedgerEntry[] = [];
  return settle({ ledger, box }, (): Launch => {
    const caller = callerFacts(validated);
    const acquired = acquire(validated, caller, ledger, box, spawnOnly, timer, join, deferPairs);
    const { plan, encoded } = planner(validated, acquired.runtime, caller);
    // Each box its own report: a compiled plan (a template's, or options seen again) is shared by its boxes.
    // The plan's own: a polluted Object.prototype.landlock is no report.
    const landlock = Object.hasOwn(plan, 'landlock') ? plan.landlock : undefined;
    if (landlock !== undefined) box._landlock(ownLandlockReport(landlock));
    timer?.phase('plan');
    const counterLimits = validated.namespaces.user.kind === 'new' ? caller.counterLimits : undefined;
    // One literal, not spreads of the parts: this runs for every box.
    return {
      startedAt, validated, ledger, box, timer, spawnOnly, runtime: acquired.runtime, stdio: acquired.stdio, listenParentSide: acquired.listenParentSide,
      socketFiles: acquired.socketFiles, socketTeardown: acquired.socketTeardown, cgroup: acquired.cgroup, plan, encoded, counterLimits,
    };
  });
}

function ownLandlockReport(report: LandlockReport): LandlockReport {
  return { ...report, filesystem: [...report.filesystem], scopes: [...report.scopes], missing: [...report.missing] };
}

/** What acquire() got for one box: the fds its plan names, and what the parent keeps of them. */
interface Acquired {
  runtime: RuntimeFds;
  stdio: ReturnType<typeof setupStdio>;
  listenParentSide: string[];
  socketFiles: BoundSocketFile[];
  socketTeardown: NativeSocketFile[];
  cgroup: BoxCgroup | undefined;
}

/**
 * Every host resource of one box, each from its mechanism's module and
 * held by the box's `ledger`: namespace files, a pool entry, stdio, the
 * terminal, listen sockets, the cgroup, the bridge lease, the upper layer
 * and idmapped trees. Never shared between boxes (a template's included).
 */
function acquire(
  validated: ValidatedOptions, caller: Caller, ledger: Ledger, box: Box, spawnOnly: LedgerEntry[], timer: SpawnTimer | undefined, join: JoinTarget | undefined,
  deferPairs: boolean,
): Acquired {
  // No prototype: buildPlan reads optional fields (cgroup, bridge, init, ...) a polluted Object.prototype could fill.
  const runtime = Object.assign(Object.create(null) as RuntimeFds, {
    stdio: [], namespaces: acquireNamespaceFiles(validated.namespaces, ledger, spawnOnly, validated.args),
  } as RuntimeFds);
  const pooled = acquirePoolEntry(validated.netnsPool, ledger, spawnOnly);
  if (pooled !== undefined) runtime.pooled = pooled;
  timer?.phase('open namespaces');
  // Async spawns leave their socket pairs to the set-up thread; a terminal replaces fds 0-2 (no pairs to make there).
  const stdio = setupStdio(validated.stdio, ledger, {
    pipes: validated.stdioPipes, owner: stdioOwner(validated, caller), deferPairs: deferPairs && validated.tty === undefined,
  });
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
  let socketTeardown: NativeSocketFile[] = [];
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
    socketTeardown = sockets.teardown;
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
    // Joined like any box cgroup (below; see lib/cgroups/tenant.ts).
    cgroup = tenant === undefined
      ? createBoxCgroup(sharedParent(validated.cgroupParent), undefined, validated.cgroup, ledger)
      : tenant._leaf(validated.cgroup, ledger);
    box._cgroup(cgroup);
    // Joined late (by the init: the box child shares Node's memory and
    // never stands in the box's cgroup) where the kernel allows it; else the
    // child gets its own memory: v1 hierarchies it joins itself, v2 takes it
    // at the clone (CLONE_INTO_CGROUP) or by the parent's write of its pid.
    const late = joinsCgroupLate(validated.init, LATE_CGROUP_JOIN, validated.namespaces.pid.kind === 'path' || validated.namespaces.pid.kind === 'fd');
    // A late join clones nothing into the cgroup: no directory, no parent's write to skip.
    const dirFd = late ? -1 : cgroup.dirFd;
    const procs = cgroup.openAttachFds({ v2: true }, ledger).map((entry) => ({ ...entry, unlessPlaced: entry.hierarchy === 'v2' && dirFd >= 0 }));
    runtime.cgroup = { dirFd, procs, late };
    // Its cgroup namespace from a helper started ahead, which enters the
    // box's user namespace with the supervisor's credentials: not one the
    // box joins, which the supervisor may hold no capability over.
    const user = validated.namespaces.user.kind;
    const helper = late && validated.namespaces.cgroup.kind === 'new' && (user === 'new' || user === 'host') ? takeCgroupNamespaceHelper(ledger, spawnOnly) : undefined;
    if (helper !== undefined) runtime.cgroup.namespaceHelper = { socket: helper.socket, user: user === 'new' };
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
  runtime.idmappedTrees = acquireIdmappedTrees(validated, caller, ledger, spawnOnly);
  const layerTrees = acquireLayerTrees(validated, caller, ledger, spawnOnly);
  if (layerTrees !== undefined) runtime.layerTrees = layerTrees;
  if (runtime.idmappedTrees.size > 0) timer?.phase('idmapped mounts');
  return { runtime, stdio, listenParentSide, socketFiles, socketTeardown, cgroup };
}

/** After the native spawn: our copies of the box's fds go, and the box starts or fails. */
function complete(launch: Launch, result: NativeAsyncSpawnResult): Box {
  const { validated, ledger, box, runtime, stdio, cgroup } = launch;
  // The box holds its own copies now; ours of its ends go at once.
  for (const name of [...stdio.childSide, ...launch.listenParentSide]) ledger.releaseOne(name);
  // A handed-over net.Server is the box's now: the parent must stop accepting.
  for (const entry of validated.listen) if (entry.kind === 'server') entry.server.close();
  // The namespace files, pool entry and idmapped trees were the spawn's alone.
  for (const entry of launch.spawnOnly) entry.release();
  if (cgroup !== undefined) ledger.releaseOne(CGROUP_LEDGER.dirFd);
  ledger.releaseOne(EXEC_CGROUP_DIR);
  for (const entry of runtime.cgroup?.procs ?? []) ledger.releaseOne(`cgroup.procs ${entry.hierarchy}`);
  if ('stdioPair' in result) {
    // The set-up thread could not make a socket pair: as setupStdio reports it, and nothing was spawned.
    box._failed(socketPairError(stdio.deferredPairs[result.stdioPair]!, result.errno));
    ledger.releaseAll();
    return box;
  }
  if ('failedStep' in result) {
    box._failed(failure(launch.plan, result, cgroup, validated));
    ledger.releaseAll();
    return box;
  }
  // The pairs made on the set-up thread: their parent ends, the child's closed there.
  result.parentEnds?.forEach((fd, i) => {
    stdio.parentFds[stdio.deferredPairs[i]!] = fd;
  });
  ledger.nativeFd('pidfd', result.pidfd);
  if (result.exitFd >= 0) ledger.nativeFd('exit pipe', result.exitFd);
  // A worker thread terminated under a box that dies with it runs no JS:
  // the addon then removes what the ledger would (native/env_owned.h).
  if (validated.dieWithParent && (cgroup !== undefined || launch.socketTeardown.length > 0)) {
    native().boxLeaves(result.pidfd, cgroup?.dirs ?? [], launch.socketTeardown);
  }
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
  // The addon also owns the pidfd until it is closed: a worker thread terminated under the box (no JS runs then) ends or reaps it (native/env_owned.h).
  box._started(result.pid, result.pidfd, result.exitFd, spawnMs, pipes);
  for (const written of stdio.logsWritten) box._beforeExited(written);
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
    // Recorded (or warned that it could not be): until here the box's init
    // kept its parent-death signal, so a supervisor killed before the record
    // took the box along (lib/credentials.ts parentDeathSteps). The release
    // waits for the init to confirm it has let go.
    if (result.awaitsRelease === true && native().releaseBox(result.pidfd, result.exitFd) === -os.constants.errno.ETIMEDOUT) {
      process.emitWarning(`cordon: the init of box ${result.pid} did not confirm its release in time: the box still ends when this process does`, { code: 'CORDON_RELEASE' });
    }
  }
  if (validated.timeout !== undefined && validated.timeout > 0) box._setTimeout(validated.timeout);
  if (validated.signal) box._watchAbort(validated.signal);
  launch.timer?.phase('hand over');
  return box;
}

/**
 * `cordon oci exec`: `file` started in a running box this process did not
 * spawn (a container `create` left), given the box's confinement as a
 * recipe rebuilt from its config and its recorded cgroup. As box.exec().
 */
export function spawnIntoRunningBox(recipe: ExecRecipe, pid: number, alive: () => boolean, file: string, args: readonly string[], options: unknown): Box {
  return spawnJoined(recipe, pid, alive, file, args, options);
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
      const startedAt = process.hrtime.bigint();
      const join = joinTarget(recipe);
      const validated = validateCall(file, args ?? [], execSpawnOptions(options, namespaces, recipe.validated.cwd, recipe.validated.allowHostCredentials), timer, join);
      launch = launchBox(validated, startedAt, timer, planFresh, join);
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
    return startBox(launch);
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
