// Box: a running (or failed) isolated process, shaped like ChildProcess.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import { isMainThread } from 'node:worker_threads';

import type { NativeExitWatch } from '../types/native';
import type { BoxCgroup, CgroupStats, OomEvent, OomWatcher } from './cgroups/box';
import type { LandlockReport } from './landlock';
import type { ListenSocket } from './sockets';
import type { BridgeNetworkInfo } from './bridge';
import { boxExited } from './diagnostics';
import { CordonError, errnoName } from './errors';
import { native } from './internal/native';
import type { Ledger } from './internal/resources';
import { EXIT_RECORD_SIZE } from './internal/plan-abi';
import type { DiskUsage } from './quota';
import { endedPipe } from './stdio';
import { checkTtySize, type PtyStreams } from './pty';
import type { BoxExecOptions } from './exec';

/** How a box ended. */
export interface ExitResult {
  /** Exit status of the payload, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended the payload, or null. */
  signal: NodeJS.Signals | null;
  /** Host pid of the box's first process. */
  pid: number;
  /** Milliseconds spent in spawnIsolated() until the payload was exec'd. */
  spawnMs: number;
  /** Milliseconds from the payload's exec to its exit being observed. */
  runMs: number;
  /** The OOM killer killed a process of the box (only known with a cgroup; false without). */
  oomKilled: boolean;
  /** Final resource use of the box's cgroup, or null without one. */
  stats: CgroupStats | null;
}

export interface BoxEvents {
  spawn: [];
  /** The box hit its memory limit and the OOM killer ran (with a cgroup). */
  oom: [event: OomEvent];
  error: [error: Error];
  exit: [code: number | null, signal: NodeJS.Signals | null];
  close: [code: number | null, signal: NodeJS.Signals | null];
}

function signalName(signal: number): NodeJS.Signals | null {
  const signals = os.constants.signals as Record<string, number>;
  const name = Object.keys(signals).find((key) => signals[key] === signal);
  return (name as NodeJS.Signals | undefined) ?? null;
}

/** State handed over by spawnIsolated(); not part of the public API. */
export interface BoxInternals {
  file: string;
  args: string[];
  ledger: Ledger;
  killSignal: number;
  /** Which box fds are pipes: a box that fails still has a stream there, ended. */
  pipes: readonly boolean[];
}

/** A signal number for kill() (0 probes), or the TypeError ERR_UNKNOWN_SIGNAL ChildProcess.kill() throws. */
function killSignalNumber(signal: unknown): number {
  const signals = os.constants.signals as Record<string, number>;
  if (signal === 0 || (typeof signal === 'number' && Object.values(signals).includes(signal))) return signal;
  if (typeof signal === 'string' && Object.hasOwn(signals, signal)) return signals[signal]!;
  const shown = typeof signal === 'string' || typeof signal === 'number' ? String(signal) : typeof signal;
  throw Object.assign(new TypeError(`Unknown signal: ${shown}`), { code: 'ERR_UNKNOWN_SIGNAL' });
}

/** A listener of a Box event, with that event's arguments. */
type BoxListener<E extends keyof BoxEvents> = (...args: BoxEvents[E]) => void;

/**
 * The event methods of a Box, typed by BoxEvents so that a misspelt event
 * name (`box.on('exitt', ...)`) is a type error whichever @types/node the
 * user has: from @types/node 25, `EventEmitter<BoxEvents>` alone accepts any
 * other name with `any[]` arguments. (Merged into the class below.)
 */
export interface Box {
  on<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  once<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  addListener<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  prependListener<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  prependOnceListener<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  off<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  removeListener<E extends keyof BoxEvents>(eventName: E, listener: BoxListener<E>): this;
  emit<E extends keyof BoxEvents>(eventName: E, ...args: BoxEvents[E]): boolean;
}

export class Box extends EventEmitter {
  /** Host pid of the box's first process (its init, if it has one); undefined if the spawn failed. */
  pid: number | undefined = undefined;
  /** The box's fd 0, when it is a pipe (or, with `tty`, its terminal's input). */
  stdin: net.Socket | null = null;
  /** The box's fd 1, when it is a pipe (or, with `tty`, all its terminal shows: stdout and stderr). */
  stdout: net.Socket | null = null;
  /** The box's fd 2, when it is a pipe; null with `tty` (fd 2 is the terminal, read through stdout). */
  stderr: net.Socket | null = null;
  /** Parent ends of every stdio pipe, by box fd; null where the fd is not a pipe. */
  stdio: (net.Socket | null)[] = [];
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** True once kill() has delivered a signal. */
  killed = false;
  readonly spawnfile: string;
  readonly spawnargs: string[];
  /**
   * Settles when the box has exited and its stdio is closed; rejects with the
   * spawn error. A caller that has looked at `exited` handles errors there:
   * 'error' is then emitted only if it has a listener. Otherwise an unhandled
   * 'error' throws, as with child_process, so no failure goes unseen.
   */
  get exited(): Promise<ExitResult> {
    this.#exitedObserved = true;
    // The caller's own promise: the internal one is always handled, so a
    // failure the caller looked at but never handled surfaces as an
    // unhandled rejection (the 'error' event is then not emitted for it).
    this.#callerExited ??= this.#exited.then((result) => result);
    return this.#callerExited;
  }

  #ledger: Ledger;
  #pidfd = -1;
  #exitFd = -1;
  #watch: NativeExitWatch | undefined;
  /** The init's exit pipe, watched for the payload's status (boxes with an init). */
  #recordWatch: NativeExitWatch | undefined;
  /** 'exit' has been emitted: the payload has ended. */
  #exitEmitted = false;
  /** The box's first process (the init, or the payload without one) is gone: its pidfd fired. */
  #gone = false;
  #runMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #closesNeeded = 1;
  #spawnMs = 0;
  #startedAt = 0n;
  #running = false;
  // Started and its pidfd not yet fired: the box's processes may still run.
  #alive = false;
  #referenced = true;
  #settle!: { resolve: (result: ExitResult) => void; reject: (error: Error) => void };
  #abortCleanup: (() => void) | undefined;
  #exited: Promise<ExitResult>;
  #exitedObserved = false;
  #callerExited: Promise<ExitResult> | undefined;
  #cgroup: BoxCgroup | undefined;
  #oomWatch: OomWatcher | undefined;
  #finalStats: CgroupStats | null = null;
  #oomKilled = false;
  #oomKillsSeen = 0;
  readonly #killSignal: number;
  readonly #pipes: readonly boolean[];
  #terminal: PtyStreams | undefined;
  #diskUsage: (() => DiskUsage | undefined) | undefined;
  readonly #beforeExited: (() => Promise<void> | undefined)[] = [];

  constructor(internals: BoxInternals) {
    super();
    this.spawnfile = internals.file;
    this.spawnargs = [internals.file, ...internals.args];
    this.#ledger = internals.ledger;
    this.#killSignal = internals.killSignal;
    this.#pipes = internals.pipes;
    this.#exited = new Promise<ExitResult>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // A caller that never looks at `exited` must not get an unhandled rejection.
    this.#exited.catch(() => undefined);
  }

  /** @internal Called by spawnIsolated once the payload runs. */
  _started(pid: number, pidfd: number, exitFd: number, spawnMs: number, pipes: (net.Socket | null)[]): void {
    this.pid = pid;
    this.#pidfd = pidfd;
    this.#exitFd = exitFd;
    this.#spawnMs = spawnMs;
    this.#startedAt = process.hrtime.bigint();
    this.#running = true;
    this.#alive = true;
    this.stdio = pipes;
    this.stdin = pipes[0] ?? null;
    this.stdout = pipes[1] ?? null;
    this.stderr = pipes[2] ?? null;
    // Like ChildProcess: 'close' waits for every pipe the box writes to;
    // stdin is ours to end.
    pipes.forEach((pipe, target) => {
      if (pipe === null || target === 0) return;
      this.#closesNeeded++;
      pipe.on('close', () => this.#maybeClose());
    });
    // With an init, the payload's status arrives on the exit pipe the moment
    // the init has reaped it, about a millisecond before the init's pidfd
    // fires (the kernel tears the box's namespaces down in between): 'exit'
    // comes from the record, 'close' from the pidfd. The record is watched
    // first: libuv registers fds in start order, and one payload that ended
    // before the loop's next turn finds both ready at once, in that order.
    if (exitFd >= 0) {
      const RecordWatch = native().ExitRecordWatch;
      this.#recordWatch = new RecordWatch(exitFd, (code, signal) => this.#onExitRecord(code, signal));
    }
    const Watch = native().ExitWatch;
    this.#watch = new Watch(pidfd, (code, signal) => this.#onGone(code, signal));
    if (this.#cgroup !== undefined && this.#cgroup.placement.memory !== undefined) {
      this.#oomWatch = this.#cgroup.watchOom((event) => {
        this.#oomKillsSeen = event.oomKill;
        this.emit('oom', event);
      });
    }
    process.nextTick(() => this.emit('spawn'));
  }

  /**
   * The id of the box's state record (`dieWithParent: false` with a state
   * directory): what `adopt(id)` takes in a later process. Undefined otherwise.
   */
  adoptionId: string | undefined = undefined;

  /** The listening sockets handed to the box (the `listen` option). */
  sockets: ListenSocket[] = [];
  /** The bridge, address and gateway of a `network: 'bridge'` box; undefined otherwise. */
  network: BridgeNetworkInfo | undefined = undefined;
  /** What the box's Landlock ruleset enforces, when it has one. */
  landlock: LandlockReport | undefined = undefined;

  #exec: ((file: string | URL, args: readonly string[] | undefined, options: unknown, pid: number, alive: () => boolean) => Box) | undefined;

  /** @internal How exec() starts a process in this box (set by spawnIsolated). */
  _execWith(exec: (file: string | URL, args: readonly string[] | undefined, options: unknown, pid: number, alive: () => boolean) => Box): void {
    this.#exec = exec;
  }

  /**
   * Starts `file` inside this running box, as `docker exec` would: in all of
   * its namespaces (its root and cwd), its cgroup, as its user, with its
   * capabilities, no_new_privs, rlimits, Landlock ruleset and seccomp
   * filter; with its own stdio (or `tty`), exit and Box. `options` takes
   * only `env`, `cwd`, `argv0`, `stdio`, `tty`, `timeout`, `killSignal`,
   * `signal`, `dieWithParent` and `newSession` (defaults as for
   * spawnIsolated; `cwd` defaults to the box's). Throws
   * ERR_CORDON_NOT_RUNNING once the box has ended.
   */
  exec(file: string | URL, args?: readonly string[], options?: BoxExecOptions): Box {
    if (!this.#running || this.#exec === undefined || this.pid === undefined) {
      const adopted = this.#running && this.#exec === undefined;
      throw new CordonError('ERR_CORDON_NOT_RUNNING', adopted
        ? 'box.exec() needs a box this process started: an adopted box\'s confinement (its options) is not in its record'
        : 'box.exec() needs a running box');
    }
    const pidfd = this.#pidfd;
    return this.#exec(file, args, options, this.pid, () => this.#running && native().sendSignal(pidfd, 0) === 0);
  }

  /** @internal The box's terminal (the tty option), before _started. */
  _terminal(terminal: PtyStreams): void {
    this.#terminal = terminal;
  }

  /**
   * Sets the size of the box's terminal (the `tty` option), as a terminal
   * emulator does when its window changes: the payload's foreground process
   * group gets SIGWINCH. Returns false once the terminal is closed.
   */
  resize(cols: number, rows: number): boolean {
    const size = checkTtySize(cols, rows);
    if (this.#terminal === undefined) {
      if (this.pid === undefined) return false;
      throw new CordonError('ERR_CORDON_NO_TTY', 'box.resize() needs a box with a terminal (the tty option)');
    }
    return this.#terminal.resize(size);
  }

  /** @internal */
  _landlock(report: LandlockReport): void {
    this.landlock = report;
  }

  /** @internal The box's cgroup, made before the clone; owned by the ledger. */
  _cgroup(cgroup: BoxCgroup): void {
    this.#cgroup = cgroup;
  }

  /** @internal What `exited` waits for after the box's resources are released (a quota'd layer's loop device going). */
  _beforeExited(wait: () => Promise<void> | undefined): void {
    this.#beforeExited.push(wait);
  }

  /** @internal Reads the usage of a quota'd upper layer (lib/quota.ts) while its mount fd is held. */
  _diskUsage(read: () => DiskUsage | undefined): void {
    this.#diskUsage = read;
  }

  /**
   * Bytes and inodes of the box's quota'd upper layer (`rootfs.upper.quota`)
   * used and free, while the box runs; undefined without a quota, before the
   * box has started or after it has ended.
   */
  diskUsage(): DiskUsage | undefined {
    return this.#running ? this.#diskUsage?.() : undefined;
  }

  /** Resource use of the box's cgroup now, or null without one. */
  stats(): CgroupStats | null {
    if (this.#cgroup === undefined) return null;
    // Live until the box is gone (after 'exit', its other processes may still be ending).
    return this.pid !== undefined && !this.#gone ? this.#cgroup.stats() : this.#finalStats;
  }

  /** Stops every process of the box (cgroup freezer); resolves once frozen. Needs a cgroup. */
  async freeze(): Promise<void> {
    await this.#requireCgroup('freeze').freeze();
  }

  /** Lets a frozen box run again. */
  async thaw(): Promise<void> {
    await this.#requireCgroup('thaw').thaw();
  }

  #requireCgroup(what: string): BoxCgroup {
    if (this.#cgroup === undefined || !this.#running) {
      throw new CordonError('ERR_CORDON_NO_CGROUP', `box.${what}() needs a running box with a cgroup (the cgroup option)`);
    }
    return this.#cgroup;
  }

  /** @internal The error of a spawn that failed (for its trace), else undefined. */
  _spawnError: CordonError | undefined = undefined;

  /** @internal Called by spawnIsolated when the spawn failed. */
  _failed(error: CordonError): void {
    this._spawnError = error;
    const code = typeof error.errno === 'number' ? error.errno : null;
    this.exitCode = code;
    const pipes = this.#pipes.map((pipe, target) => (pipe ? endedPipe(target) : null));
    this.stdio = pipes;
    this.stdin = pipes[0] ?? null;
    this.stdout = pipes[1] ?? null;
    this.stderr = pipes[2] ?? null;
    process.nextTick(() => {
      if (!this.#exitedObserved || this.listenerCount('error') > 0) this.emit('error', error);
      // Like child_process's flushStdio: an output nobody reads still ends.
      for (const pipe of pipes) if (pipe?.readable && pipe.readableFlowing === null) pipe.resume();
      this.emit('close', code, null);
      this.#settle.reject(error);
    });
  }

  /** @internal Sends killSignal after `ms`. */
  _setTimeout(ms: number): void {
    this.#timer = setTimeout(() => this.#end(this.#killSignal), ms);
    if (!this.#referenced) this.#timer.unref();
  }

  /** @internal Kills the box when `signal` aborts, with an AbortError. */
  _watchAbort(signal: AbortSignal): void {
    const onAbort = (): void => {
      const running = this.#running;
      this.#end(this.#killSignal);
      if (running && (!this.#exitedObserved || this.listenerCount('error') > 0)) this.emit('error', abortError(signal));
    };
    // signal set: Node reads it from these options, from Object.prototype if absent.
    signal.addEventListener('abort', onAbort, { once: true, signal: undefined } as unknown as { once: boolean });
    this.#abortCleanup = () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * Sends a signal to the box (to its init, which passes it on to the
   * payload) through the pidfd, so it can never hit a recycled pid. Returns
   * false if the box is not running.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const number = killSignalNumber(signal);
    if (!this.#running) return false;
    return this.#send(number);
  }

  // The timeout's, the abort signal's and dispose's kill: it reaches the box
  // until its pidfd says it is gone, even after an 'exit' (see #payloadExited).
  #end(signal: NodeJS.Signals | number): void {
    if (this.#alive) this.#send(killSignalNumber(signal));
  }

  #send(number: number): boolean {
    // SIGKILL ends the whole box, double-forked daemons included: with a
    // cgroup through it (cgroup.kill, or freeze and kill on v1).
    if (number === 9 && this.#cgroup !== undefined) {
      this.#cgroup.kill();
      this.killed = true;
      return true;
    }
    const result = native().sendSignal(this.#pidfd, number);
    if (result === 0) {
      this.killed = true;
      return true;
    }
    if (result === -3 /* ESRCH: exiting */) return false;
    throw new CordonError(errnoName(result), `pidfd_send_signal ${errnoName(result)}`, {
      errno: result,
      syscall: 'pidfd_send_signal',
    });
  }

  /**
   * @internal At process exit with the box running: SIGKILL it (the whole
   * cgroup with one) and stop watching it, so that its pidfd and exit pipe
   * can be closed (a watched fd closed under libuv aborts the process at
   * teardown).
   */
  _endAtExit(): void {
    try {
      this.#end('SIGKILL');
    } catch {
      // ended already
    }
    // A worker thread's exit leaves the process running: the box is reaped
    // here (its watch stops now), or it would stay a zombie of the process.
    // At the process's own exit its end is enough.
    if (!isMainThread && this.#alive) native().reap(this.#pidfd);
    this.#watch?.close();
    this.#watch = undefined;
    this.#recordWatch?.close(); // the exit pipe is closed with the pidfd
    this.#recordWatch = undefined;
    this.#oomWatch?.close();
    this.#running = false;
    this.#alive = false;
  }

  /** Lets the event loop exit while the box runs. */
  unref(): this {
    this.#referenced = false;
    this.#watch?.unref();
    this.#recordWatch?.unref();
    this.#timer?.unref();
    this.#terminal?.unref();
    for (const pipe of this.stdio) pipe?.unref();
    return this;
  }

  ref(): this {
    this.#referenced = true;
    this.#watch?.ref();
    this.#recordWatch?.ref();
    this.#timer?.ref();
    this.#terminal?.ref();
    for (const pipe of this.stdio) pipe?.ref();
    return this;
  }

  /** Kills the box if it runs, waits for it, and releases everything it holds. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#end('SIGKILL');
    // A box that failed, runs, or has had its 'exit' but not yet its 'close'.
    if (!this.#gone) await this.#exited.catch(() => undefined);
    for (const pipe of this.stdio) pipe?.destroy();
    this.#terminal?.destroy();
    this.#release();
  }

  /** Same as `await box[Symbol.asyncDispose]()`. */
  dispose(): Promise<void> {
    return this[Symbol.asyncDispose]();
  }

  // The init's record: the payload has ended. (null, null): EOF without a
  // record, the init died first (SIGKILL); its pidfd decides then.
  #onExitRecord(code: number | null, signal: number | null): void {
    this.#recordWatch = undefined;
    if (code === null && signal === null) return;
    this.#payloadExited(code, signal);
  }

  // 'exit': the payload's status is known. The box's first process may still
  // be ending, so nothing it holds is released here: that is #onGone's. Nor
  // are the timeout and the abort signal disarmed here: until the pidfd says
  // the box is gone, they and dispose still end it (#end). The record is the
  // init's word, and a payload allowed to trace the init (CAP_SYS_PTRACE with
  // an unprivileged caller) can make it write one early and run on.
  #payloadExited(code: number | null, signal: number | null): void {
    if (this.#exitEmitted) return;
    this.#exitEmitted = true;
    this.#running = false;
    this.#runMs = Number(process.hrtime.bigint() - this.#startedAt) / 1e6;
    this.exitCode = signal ? null : code;
    this.signalCode = signal ? signalName(signal) : null;
    // Like ChildProcess: nothing can read the box's stdin any more.
    this.stdin?.destroy();
    this.emit('exit', this.exitCode, this.signalCode);
    // Like ChildProcess's flushStdio: output nobody read is drained once the
    // box has exited, so 'close' and `exited` still come instead of the
    // process ending with them pending.
    process.nextTick(() => {
      for (const pipe of this.stdio) {
        if (pipe && pipe !== this.stdin && pipe.readable) pipe.resume();
      }
    });
  }

  // The pidfd: the box's first process is gone, and with it (in its own pid
  // namespace) every process of the box; the kernel has torn its namespaces
  // down. What the box holds is released here, before 'close'.
  #onGone(code: number | null, signal: number | null): void {
    this.#running = false;
    this.#alive = false;
    this.#gone = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abortCleanup?.();
    this.#watch = undefined;
    // Both may be ready in one turn of the loop: the record is read here then.
    this.#recordWatch?.close();
    this.#recordWatch = undefined;
    if (!this.#exitEmitted) {
      const payload = this.#readExitRecord();
      if (payload !== undefined) {
        code = payload.code;
        signal = payload.signal;
      }
    }
    this.#oomWatch?.close();
    if (this.#cgroup !== undefined) {
      this.#finalStats = this.#cgroup.stats();
      // One read of the counters for both (the box's last moment, before its cgroup goes).
      const counts = this.#cgroup.oomEvents();
      this.#oomKilled = (counts?.oomKill ?? 0) > 0;
      // An OOM kill that ended the box usually beats the watcher to it.
      if (counts !== null && counts.oomKill > this.#oomKillsSeen) {
        this.emit('oom', { ...counts, newOomKills: counts.oomKill - this.#oomKillsSeen });
      }
    }
    this.#release();
    this.#payloadExited(code, signal);
    this.#maybeClose();
  }

  // With an init, the payload's own status comes over the exit pipe; the
  // init's status is only the fallback (it was killed before it could say).
  #readExitRecord(): { code: number | null; signal: number | null } | undefined {
    if (this.#exitFd < 0) return undefined;
    const record = Buffer.alloc(EXIT_RECORD_SIZE);
    let got = 0;
    try {
      got = fs.readSync(this.#exitFd, record, 0, EXIT_RECORD_SIZE, null);
      // A one-byte packet first: the init's answer to a release that stopped waiting for it.
      if (got === 1) got = fs.readSync(this.#exitFd, record, 0, EXIT_RECORD_SIZE, null);
    } catch {
      return undefined;
    }
    if (got !== EXIT_RECORD_SIZE) return undefined;
    const code = record.readInt32LE(0);
    const signal = record.readInt32LE(4);
    return { code: signal > 0 ? null : code, signal: signal > 0 ? signal : null };
  }

  #maybeClose(): void {
    this.#closesNeeded--;
    if (this.#closesNeeded > 0) return;
    const runMs = this.#runMs;
    this.emit('close', this.exitCode, this.signalCode);
    const result: ExitResult = {
      code: this.exitCode,
      signal: this.signalCode,
      pid: this.pid ?? -1,
      spawnMs: this.#spawnMs,
      runMs,
      oomKilled: this.#oomKilled,
      stats: this.#finalStats,
    };
    boxExited(this.spawnfile, result);
    // A cgroup still draining is removed in the background; `exited` waits
    // for it, so nothing of the box is left when it settles.
    // So is a quota'd layer's loop device, which the kernel lets go of
    // asynchronously once the box's mount is gone.
    const removal = this.#cgroup?.removal;
    const waits = [removal, ...this.#beforeExited.map((wait) => wait())].filter((wait) => wait !== undefined);
    if (waits.length === 0) this.#settle.resolve(result);
    else void Promise.allSettled(waits).then(() => this.#settle.resolve(result));
  }

  #release(): void {
    const errors = this.#ledger.releaseAll();
    for (const error of errors) process.emitWarning(error);
  }
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('The operation was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  (error as Error & { code: string }).code = 'ABORT_ERR';
  return error;
}
