// What each spawn did and how long each part took, for a person
// (NODE_DEBUG=cordon, through util.debuglog) and for APM tools
// (diagnostics_channel). Both cost nothing while off: NODE_DEBUG is read
// once, at load, and a channel is only published to (its message only
// built) when it has subscribers, looked at once per spawn. The plan steps'
// own times come from the native side, which reads the clock after each
// step only when asked to (see NativeBinding.spawn).
import * as diagnosticsChannel from 'node:diagnostics_channel';
import * as util from 'node:util';

import type { Box, ExitResult } from './box';
import { sideOf } from './internal/plan-abi';
import type { PlanStep } from './plan';

/** The names of cordon's diagnostics channels. */
export const DIAGNOSTICS_CHANNELS = {
  /** A tracing channel: `tracing:cordon:spawn:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`. */
  spawn: 'cordon:spawn',
  /** One message per parent-side phase of a spawn. */
  phase: 'cordon:spawn:phase',
  /** One message per plan step that ran. */
  step: 'cordon:spawn:step',
  /** One message per box that started and has exited (and closed its stdio). */
  exit: 'cordon:box:exit',
} as const;

/** The parent-side phases of a spawn, in order; those a spawn has no use for are left out. */
export type SpawnPhaseName =
  | 'validate'
  | 'open namespaces'
  | 'stdio'
  | 'listen sockets'
  | 'cgroup'
  | 'bridge'
  | 'host view'
  | 'upper layer'
  | 'idmapped mounts'
  | 'plan'
  | 'native spawn'
  | 'hand over';

/**
 * The context object of the `tracing:cordon:spawn:*` events, one per call of
 * spawnIsolated() (`start`, `end`; `error` before `end` when the spawn
 * failed) or spawnIsolatedAsync() (`start`, `end` when it returns its
 * promise, then `error` if it rejects, `asyncStart`, `asyncEnd`).
 */
export interface SpawnTraceContext {
  /** Numbers this process's spawns, from 1; the phase and step messages of the spawn carry it too. */
  readonly id: number;
  /** `file` as given. */
  readonly file: string;
  /** `args` as given (empty when none were). */
  readonly args: readonly string[];
  /** True for spawnIsolatedAsync(). */
  readonly async: boolean;
  /** The box, from `end` (spawnIsolated(), even when it failed) or `asyncEnd` (spawnIsolatedAsync(), when it started). */
  result?: Box;
  /** The spawn error (a CordonError, or the CordonOptionError thrown for bad options), from `error` on. */
  error?: Error;
}

/** A message on `cordon:spawn:phase`. */
export interface SpawnPhaseMessage {
  /** The spawn's `SpawnTraceContext.id`. */
  id: number;
  file: string;
  phase: SpawnPhaseName;
  /** How long the phase took, in milliseconds. */
  ms: number;
}

/** A message on `cordon:spawn:step`: a plan step that ran (also those before a step that failed). */
export interface SpawnStepMessage {
  /** The spawn's `SpawnTraceContext.id`. */
  id: number;
  file: string;
  /** The step's index in the plan (error.stepIndex names the same steps). */
  index: number;
  /** How many steps the plan has. */
  count: number;
  /** The step's name, as error.step would give it: `'clone'`, `'write uid_map'`, `'mount proc'`, `'execve'`, ... */
  name: string;
  /** The process that ran it: the parent (clone, id maps, cgroup, veth) or the box's child (everything else, up to its exec). */
  side: 'parent' | 'child';
  /**
   * Milliseconds since the previous step of the same side ended (the first
   * child step: since just before the clone). A step that waits for the other
   * side ('wait for parent') includes the wait; the exec step ends when the
   * parent sees it done. Consecutive `install fd` steps run as one and report
   * as the last of them.
   */
  ms: number;
  /** Milliseconds from just before the clone to the end of this step. */
  atMs: number;
}

/** A message on `cordon:box:exit`: a box that started has exited and its stdio has closed (when `box.exited` resolves). */
export interface BoxExitMessage {
  /** Host pid of the box's first process. */
  pid: number;
  file: string;
  /** The payload's exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the payload's exec to its exit being observed. */
  runMs: number;
  /** Milliseconds the spawn took, until the payload was exec'd. */
  spawnMs: number;
  /** The OOM killer killed a process of the box (only known with a cgroup). */
  oomKilled: boolean;
}

const debug = util.debuglog('cordon');
// NODE_DEBUG is read once per process: so is whether cordon logs.
const debugEnabled = debug.enabled;

const spawnTrace = diagnosticsChannel.tracingChannel<SpawnTraceContext>(DIAGNOSTICS_CHANNELS.spawn);
const phaseChannel = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.phase);
const stepChannel = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.step);
const exitChannel = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.exit);

// TracingChannel.hasSubscribers is newer (20.13) than the Node cordon supports.
function traced(): boolean {
  return spawnTrace.start.hasSubscribers || spawnTrace.end.hasSubscribers || spawnTrace.asyncStart.hasSubscribers ||
    spawnTrace.asyncEnd.hasSubscribers || spawnTrace.error.hasSubscribers;
}

function round(ms: number): string {
  return ms.toFixed(3);
}

let lastId = 0;

/**
 * Times one spawn's phases and steps. Exists only while someone listens
 * (NODE_DEBUG=cordon, or a phase or step subscriber when the spawn began).
 */
export class SpawnTimer {
  readonly #id: number;
  readonly #file: string;
  #last = process.hrtime.bigint();
  readonly #phases = phaseChannel.hasSubscribers;
  /** The native side is to record when each step ended. */
  readonly wantsSteps = debugEnabled || stepChannel.hasSubscribers;

  private constructor(id: number, file: string) {
    this.#id = id;
    this.#file = file;
  }

  /** A timer for the spawn, or undefined when nobody listens. */
  static start(id: number, file: string): SpawnTimer | undefined {
    if (!debugEnabled && !phaseChannel.hasSubscribers && !stepChannel.hasSubscribers) return undefined;
    return new SpawnTimer(id, file);
  }

  /** Ends the phase that ran since the previous one ended (or the spawn began). */
  phase(phase: SpawnPhaseName): void {
    const ms = Number(process.hrtime.bigint() - this.#last) / 1e6;
    if (this.#phases) phaseChannel.publish({ id: this.#id, file: this.#file, phase, ms } satisfies SpawnPhaseMessage);
    if (debugEnabled) debug('spawn #%d %s: %s %s ms', this.#id, this.#file, phase, round(ms));
    // What the reporting itself took is no phase's.
    this.#last = process.hrtime.bigint();
  }

  /** Reports the steps that ran, from the native side's record of when each ended. */
  steps(steps: readonly PlanStep[], stepEndNs: BigInt64Array | undefined): void {
    if (stepEndNs === undefined || stepEndNs.length !== steps.length + 1) return;
    const cloneStart = stepEndNs[steps.length]!;
    const lastEnd = { parent: cloneStart, child: cloneStart };
    steps.forEach((step, index) => {
      const end = stepEndNs[index]!;
      if (end === 0n) return;
      const side = sideOf(step.op);
      const ms = Number(end - lastEnd[side]) / 1e6;
      const atMs = Number(end - cloneStart) / 1e6;
      lastEnd[side] = end;
      if (stepChannel.hasSubscribers) {
        stepChannel.publish({ id: this.#id, file: this.#file, index, count: steps.length, name: step.name, side, ms, atMs } satisfies SpawnStepMessage);
      }
      if (debugEnabled) {
        debug("spawn #%d %s: step %d/%d '%s' (%s) %s ms, at %s ms", this.#id, this.#file, index + 1, steps.length, step.name, side, round(ms), round(atMs));
      }
    });
    this.#last = process.hrtime.bigint();
  }
}

/** What a traced spawn function gets: its timer, if anyone listens, and its id. */
export interface SpawnTrace {
  id: number;
  timer: SpawnTimer | undefined;
}

function logOutcome(context: SpawnTraceContext, box: Box | undefined, error: Error | undefined): void {
  if (error !== undefined) debug('spawn #%d %s: failed: %s', context.id, context.file, error.message);
  else if (box !== undefined) debug('spawn #%d %s: started pid %d', context.id, context.file, box.pid);
}

/** Runs spawnIsolated()'s body, traced when anyone listens. */
export function traceSpawn(file: string, args: readonly string[], run: (trace: SpawnTrace) => Box): Box {
  const id = ++lastId;
  const timer = SpawnTimer.start(id, file);
  if (!debugEnabled && !traced()) return run({ id, timer });
  const context: SpawnTraceContext = { id, file, args, async: false };
  return spawnTrace.traceSync(() => {
    const box = run({ id, timer });
    const error = box._spawnError;
    if (debugEnabled) logOutcome(context, box, error);
    if (error !== undefined) {
      context.error = error;
      spawnTrace.error.publish(context);
    }
    return box;
  }, context);
}

/** Runs spawnIsolatedAsync()'s body, traced when anyone listens. */
export function traceSpawnAsync(file: string, args: readonly string[], run: (trace: SpawnTrace) => Promise<Box>): Promise<Box> {
  const id = ++lastId;
  const timer = SpawnTimer.start(id, file);
  if (!debugEnabled && !traced()) return run({ id, timer });
  const context: SpawnTraceContext = { id, file, args, async: true };
  const body = debugEnabled
    ? () => run({ id, timer }).then(
      (box) => {
        logOutcome(context, box, undefined);
        return box;
      },
      (error: unknown) => {
        logOutcome(context, undefined, error instanceof Error ? error : new Error(String(error)));
        throw error;
      },
    )
    : () => run({ id, timer });
  return spawnTrace.tracePromise(body, context);
}

/** A started box has exited and closed its stdio. */
export function boxExited(file: string, result: ExitResult): void {
  if (debugEnabled) {
    debug('box %d %s: exit code %s signal %s after %s ms (spawn %s ms)%s', result.pid, file, result.code, result.signal,
      round(result.runMs), round(result.spawnMs), result.oomKilled ? ', OOM-killed' : '');
  }
  if (exitChannel.hasSubscribers) {
    exitChannel.publish({
      pid: result.pid, file, code: result.code, signal: result.signal, runMs: result.runMs, spawnMs: result.spawnMs, oomKilled: result.oomKilled,
    } satisfies BoxExitMessage);
  }
}
