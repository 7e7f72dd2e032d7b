// A service: one box kept running. A small, optional convenience over the
// public API (spawnIsolated, Box, Listener): a restart policy with backoff
// and crash-loop detection, a health check with a watchdog, a graceful stop
// that escalates to SIGKILL, reload by signal, and an event per transition.
// It owns nothing but timers and its current box; what the boxes share
// (a Listener, a quota'd layer, a cgroup parent) is the caller's.
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';

import type { Box, ExitResult } from './box';
import { checkInteger, checkString, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { isLastingSocket } from './internal/lasting';
import type { Listener } from './listener';
import type { SpawnIsolatedOptions } from './options';
import { spawnIsolated } from './spawn';
import { checkSignal } from './validate';

/** Where a connect or HTTP check goes: a Listener, a Unix socket path, or a TCP address. */
export type HealthTarget = Listener | { readonly path: string } | { readonly port: number; readonly host?: string };

/**
 * A health check:
 * - `{ connect }`: a Unix or TCP connect succeeds. (A Listener queues
 *   connections even while no box accepts, so for a lasting listener
 *   this says only that the socket exists: use `http`.)
 * - `{ http: { target, path?, host? } }`: a GET answers with a status below 400.
 * - `{ custom: (box, signal) => Promise<void> }`: resolves when healthy,
 *   rejects when not (e.g. a command run with box.exec() once it exists);
 *   `signal` aborts at the check's timeout.
 */
export type HealthCheck =
  | { readonly connect: HealthTarget }
  | { readonly http: { readonly target: HealthTarget; readonly path?: string; readonly host?: string } }
  | { readonly custom: (box: Box, signal: AbortSignal) => Promise<void> };

export interface ServiceOptions {
  /** The payload's file (as for spawnIsolated). */
  readonly file: string;
  readonly args?: readonly string[];
  /** Options of every box, or a function giving each new box its own (called at each start). */
  readonly options?: SpawnIsolatedOptions | (() => SpawnIsolatedOptions);
  readonly restart?: {
    /** When an exit the service did not ask for is restarted: `'always'` (default), `'on-failure'` (not after exit code 0), `'never'`. */
    readonly policy?: 'always' | 'on-failure' | 'never';
    /** Delay before the first restart after a crash, doubled (`factor`) for each crash in a row up to `maxMs`. Defaults 100, 2, 30000. */
    readonly initialMs?: number;
    readonly factor?: number;
    readonly maxMs?: number;
    /** A box that ran this long resets the delay to `initialMs`. Default 10000. */
    readonly resetAfterMs?: number;
    /** More than `maxRestarts` automatic restarts within `windowMs` is a crash loop: the service stops restarting (state `'crash-loop'`). Defaults 5 and 60000. */
    readonly maxRestarts?: number;
    readonly windowMs?: number;
  };
  readonly stop?: {
    /** The signal stop() and restart() send first. Default `'SIGTERM'`. */
    readonly signal?: NodeJS.Signals;
    /** Then SIGKILL after this many ms. Default 10000. */
    readonly timeoutMs?: number;
  };
  /** The signal reload() sends. Default `'SIGHUP'`. */
  readonly reloadSignal?: NodeJS.Signals;
  readonly health?: {
    readonly check: HealthCheck;
    /** Between checks, ms. Default 10000. */
    readonly intervalMs?: number;
    /** Before the first check after a start, ms. Default `intervalMs`. */
    readonly startPeriodMs?: number;
    /** A check that takes longer fails. Default 2000. */
    readonly timeoutMs?: number;
    /** This many failures in a row restart the box (the watchdog). Default 3. */
    readonly failures?: number;
  };
}

export type ServiceState = 'idle' | 'starting' | 'running' | 'stopping' | 'backoff' | 'crash-loop' | 'stopped';

/** Why a transition happened. */
export type ServiceReason = 'start' | 'spawned' | 'exit' | 'crash' | 'spawn-error' | 'backoff' | 'restart' | 'unhealthy' | 'stop' | 'crash-loop';

export interface ServiceEvents {
  /** Every transition: the new state, the old one, and why. */
  state: [to: ServiceState, from: ServiceState, reason: ServiceReason];
  /** A box was spawned and runs. */
  start: [box: Box];
  /** The current box ended (result), or its spawn failed (error). */
  exit: [box: Box, result: ExitResult | undefined, error: Error | undefined];
  /** A crashed box will be started again after `delayMs` (the `attempt`-th crash in a row). */
  restart: [info: { attempt: number; delayMs: number }];
  /** Too many restarts: `restarts` within `windowMs`. The service no longer restarts; restart() or start() start it again. */
  'crash-loop': [info: { restarts: number; windowMs: number }];
  /** The stop signal did not end the box within the timeout: SIGKILL was sent. */
  kill: [box: Box];
  /** reload() sent the reload signal. */
  reload: [box: Box];
  /** A health check's outcome. */
  health: [result: { ok: boolean; error?: Error; failures: number }];
  /** `failures` checks in a row failed: the box is restarted. */
  unhealthy: [box: Box];
}

type ServiceListener<E extends keyof ServiceEvents> = (...args: ServiceEvents[E]) => void;

export interface Service {
  on<E extends keyof ServiceEvents>(eventName: E, listener: ServiceListener<E>): this;
  once<E extends keyof ServiceEvents>(eventName: E, listener: ServiceListener<E>): this;
  off<E extends keyof ServiceEvents>(eventName: E, listener: ServiceListener<E>): this;
  removeListener<E extends keyof ServiceEvents>(eventName: E, listener: ServiceListener<E>): this;
  emit<E extends keyof ServiceEvents>(eventName: E, ...args: ServiceEvents[E]): boolean;
}

interface Resolved {
  file: string;
  args: string[];
  options: SpawnIsolatedOptions | (() => SpawnIsolatedOptions);
  policy: 'always' | 'on-failure' | 'never';
  initialMs: number;
  factor: number;
  maxMs: number;
  resetAfterMs: number;
  maxRestarts: number;
  windowMs: number;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  reloadSignal: NodeJS.Signals;
  health: { check: HealthCheck; intervalMs: number; startPeriodMs: number; timeoutMs: number; failures: number } | undefined;
}

const MAX_MS = 0x7fffffff;

function ms(option: string, value: unknown, fallback: number, min = 0): number {
  return value === undefined ? fallback : checkInteger(option, value, min, MAX_MS);
}

function signal(option: string, value: unknown, fallback: NodeJS.Signals): NodeJS.Signals {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw invalidType(option, 'a signal name', value);
  return checkSignal(option, value).name as NodeJS.Signals;
}

function checkTarget(option: string, value: unknown): HealthTarget {
  if (isLastingSocket(value)) return value as Listener;
  if (!isPlainObject(value)) throw invalidType(option, 'a Listener, { path } or { port, host? }', value);
  if ('path' in value) {
    rejectUnknownKeys(value, ['path'], option);
    return { path: checkString(`${option}.path`, value.path) };
  }
  rejectUnknownKeys(value, ['port', 'host'], option);
  const port = checkInteger(`${option}.port`, value.port, 1, 65535);
  return value.host === undefined ? { port } : { port, host: checkString(`${option}.host`, value.host) };
}

function checkHealth(value: unknown): Resolved['health'] {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw invalidType('health', 'an object { check, intervalMs?, ... }', value);
  rejectUnknownKeys(value, ['check', 'intervalMs', 'startPeriodMs', 'timeoutMs', 'failures'], 'health');
  const raw = value.check;
  let check: HealthCheck;
  if (!isPlainObject(raw)) throw invalidType('health.check', '{ connect }, { http } or { custom }', raw);
  if ('connect' in raw) {
    rejectUnknownKeys(raw, ['connect'], 'health.check');
    check = { connect: checkTarget('health.check.connect', raw.connect) };
  } else if ('http' in raw) {
    rejectUnknownKeys(raw, ['http'], 'health.check');
    if (!isPlainObject(raw.http)) throw invalidType('health.check.http', 'an object { target, path?, host? }', raw.http);
    rejectUnknownKeys(raw.http, ['target', 'path', 'host'], 'health.check.http');
    const target = checkTarget('health.check.http.target', raw.http.target);
    const path = raw.http.path === undefined ? '/' : checkString('health.check.http.path', raw.http.path);
    if (!path.startsWith('/')) throw invalidValue('health.check.http.path', path, 'must start with "/"');
    check = { http: { target, path, ...(raw.http.host === undefined ? {} : { host: checkString('health.check.http.host', raw.http.host) }) } };
  } else if ('custom' in raw) {
    rejectUnknownKeys(raw, ['custom'], 'health.check');
    if (typeof raw.custom !== 'function') throw invalidType('health.check.custom', 'a function (box, signal) => Promise<void>', raw.custom);
    check = { custom: raw.custom as (box: Box, signal: AbortSignal) => Promise<void> };
  } else {
    throw invalidType('health.check', '{ connect }, { http } or { custom }', raw);
  }
  const intervalMs = ms('health.intervalMs', value.intervalMs, 10000, 1);
  return {
    check, intervalMs,
    startPeriodMs: ms('health.startPeriodMs', value.startPeriodMs, intervalMs),
    timeoutMs: ms('health.timeoutMs', value.timeoutMs, 2000, 1),
    failures: value.failures === undefined ? 3 : checkInteger('health.failures', value.failures, 1, 1000),
  };
}

function resolve(value: unknown): Resolved {
  const o = ownSnapshot(value, 'service');
  if (!isPlainObject(o)) throw invalidType('service', 'an object { file, args?, options?, ... }', o);
  rejectUnknownKeys(o, ['file', 'args', 'options', 'restart', 'stop', 'reloadSignal', 'health'], 'service');
  const file = checkString('file', o.file);
  if (o.args !== undefined && (!Array.isArray(o.args) || o.args.some((arg) => typeof arg !== 'string'))) throw invalidType('args', 'an array of strings', o.args);
  if (o.options !== undefined && typeof o.options !== 'function' && !isPlainObject(o.options)) throw invalidType('options', 'spawnIsolated options or a function returning them', o.options);
  const restart = o.restart ?? {};
  if (!isPlainObject(restart)) throw invalidType('restart', 'an object', restart);
  rejectUnknownKeys(restart, ['policy', 'initialMs', 'factor', 'maxMs', 'resetAfterMs', 'maxRestarts', 'windowMs'], 'restart');
  const policy = restart.policy ?? 'always';
  if (policy !== 'always' && policy !== 'on-failure' && policy !== 'never') throw invalidValue('restart.policy', policy, "must be 'always', 'on-failure' or 'never'");
  const stop = o.stop ?? {};
  if (!isPlainObject(stop)) throw invalidType('stop', 'an object { signal?, timeoutMs? }', stop);
  rejectUnknownKeys(stop, ['signal', 'timeoutMs'], 'stop');
  const initialMs = ms('restart.initialMs', restart.initialMs, 100);
  return {
    file,
    args: (o.args as string[] | undefined) ?? [],
    options: (o.options as Resolved['options'] | undefined) ?? {},
    policy,
    initialMs,
    factor: restart.factor === undefined ? 2 : checkInteger('restart.factor', restart.factor, 1, 100),
    maxMs: Math.max(initialMs, ms('restart.maxMs', restart.maxMs, 30000)),
    resetAfterMs: ms('restart.resetAfterMs', restart.resetAfterMs, 10000),
    maxRestarts: restart.maxRestarts === undefined ? 5 : checkInteger('restart.maxRestarts', restart.maxRestarts, 0, 1_000_000),
    windowMs: ms('restart.windowMs', restart.windowMs, 60000, 1),
    stopSignal: signal('stop.signal', stop.signal, 'SIGTERM'),
    stopTimeoutMs: ms('stop.timeoutMs', stop.timeoutMs, 10000),
    reloadSignal: signal('reloadSignal', o.reloadSignal, 'SIGHUP'),
    health: checkHealth(o.health),
  };
}

function targetAddress(target: HealthTarget): net.NetConnectOpts {
  if (isLastingSocket(target)) {
    return target.path !== undefined ? { path: target.path } : { host: target.host ?? '127.0.0.1', port: target.port ?? 0 };
  }
  return 'path' in target ? { path: target.path } : { host: target.host ?? '127.0.0.1', port: target.port };
}

function connectCheck(target: HealthTarget, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...targetAddress(target), signal } as net.NetConnectOpts);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

function httpCheck(check: { target: HealthTarget; path?: string; host?: string }, signal: AbortSignal): Promise<void> {
  const address = targetAddress(check.target) as { path?: string; host?: string; port?: number };
  return new Promise((resolve, reject) => {
    const request = http.get({
      ...(address.path !== undefined ? { socketPath: address.path } : { host: address.host, port: address.port }),
      path: check.path ?? '/', headers: { host: check.host ?? 'localhost', connection: 'close' }, signal, agent: false,
    }, (response) => {
      // The status is all a check needs: the connection goes now, so a
      // tenant whose server answers with an endless body cannot keep one
      // open per check (and exhaust the supervisor's fds).
      response.on('error', () => undefined); // its end, by the destroy: nothing to report
      request.destroy();
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 400) resolve();
      else reject(new Error(`health check: HTTP ${status}`));
    });
    request.on('error', reject);
  });
}

/**
 * Keeps one box running (see ServiceOptions). Bad options throw a
 * CordonOptionError here; spawn failures arrive as 'exit' events with the
 * error and count as crashes.
 */
export class Service extends EventEmitter {
  readonly #config: Resolved;
  #state: ServiceState = 'idle';
  #box: Box | undefined;
  #attempt = 0;
  #restartTimes: number[] = [];
  #backoff: NodeJS.Timeout | undefined;
  #health: { timer: NodeJS.Timeout | undefined; failures: number; abort: AbortController | undefined } | undefined;
  #stopping: Promise<ExitResult | undefined> | undefined;
  /** start(), stop() and restart() run one after another, so two calls never make two boxes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ServiceOptions) {
    super();
    this.#config = resolve(options);
  }

  /** Where the service is: idle, starting, running, stopping, backoff, crash-loop or stopped. */
  get state(): ServiceState {
    return this.#state;
  }

  /** The current box, while one is spawned. */
  get box(): Box | undefined {
    return this.#box;
  }

  /**
   * Starts the service (again, after stop() or a crash loop). Resolves with
   * the box once it runs; rejects with the spawn error if it fails (the
   * restart policy then goes on as after a crash). A running service is
   * left as it is.
   */
  start(): Promise<Box> {
    return this.#serial(() => {
      if (this.#box !== undefined && (this.#state === 'running' || this.#state === 'starting')) return Promise.resolve(this.#box);
      this.#clearBackoff();
      this.#attempt = 0;
      this.#restartTimes = [];
      return this.#launch('start');
    });
  }

  /**
   * Stops the box gracefully and starts a new one: the stop signal, SIGKILL
   * after the timeout, then a fresh box (no backoff). With a lasting
   * listener no connection is refused meanwhile: they queue for the next box.
   */
  restart(): Promise<Box> {
    this.#clearBackoff();
    return this.#serial(() => this.#restart('restart'));
  }

  /** Sends the stop signal, then SIGKILL after `stop.timeoutMs`; no restart follows. Resolves with the box's exit (undefined if none ran). */
  stop(): Promise<ExitResult | undefined> {
    this.#clearBackoff();
    return this.#serial(async () => {
      this.#clearBackoff();
      const result = await this.#stopBox('stop');
      this.#setState('stopped', 'stop');
      return result;
    });
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation, operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Sends the reload signal (default SIGHUP) to the running box; false when none runs. */
  reload(): boolean {
    const box = this.#box;
    if (box === undefined || this.#state !== 'running') return false;
    const sent = box.kill(this.#config.reloadSignal);
    if (sent) this.emit('reload', box);
    return sent;
  }

  async #restart(reason: 'restart' | 'unhealthy'): Promise<Box> {
    this.#clearBackoff();
    await this.#stopBox(reason);
    this.#attempt = 0;
    return this.#launch(reason);
  }

  #setState(to: ServiceState, reason: ServiceReason): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.emit('state', to, from, reason);
  }

  #clearBackoff(): void {
    if (this.#backoff !== undefined) clearTimeout(this.#backoff);
    this.#backoff = undefined;
  }

  #launch(reason: ServiceReason): Promise<Box> {
    this.#setState('starting', reason);
    const options = typeof this.#config.options === 'function' ? this.#config.options() : this.#config.options;
    let box: Box;
    try {
      box = spawnIsolated(this.#config.file, this.#config.args, options);
    } catch (error) {
      // Bad options: no box; a crash loop would only repeat them.
      this.#setState('stopped', 'spawn-error');
      return Promise.reject(error as Error);
    }
    this.#box = box;
    return new Promise<Box>((resolve, reject) => {
      box.once('spawn', () => {
        if (this.#box !== box) return;
        this.#setState('running', 'spawned');
        this.emit('start', box);
        this.#watch(box);
        resolve(box);
      });
      box.exited.then(
        (result) => this.#ended(box, result, undefined),
        (error: Error) => {
          reject(error);
          this.#ended(box, undefined, error);
        },
      );
    });
  }

  #ended(box: Box, result: ExitResult | undefined, error: Error | undefined): void {
    if (this.#box !== box) return;
    this.#box = undefined;
    this.#unwatch();
    this.emit('exit', box, result, error);
    // stop() and restart() take it from here.
    if (this.#stopping !== undefined) return;
    const clean = result !== undefined && result.code === 0 && result.signal === null;
    if (this.#config.policy === 'never' || (this.#config.policy === 'on-failure' && clean)) {
      this.#setState('stopped', 'exit');
      return;
    }
    const now = Date.now();
    this.#restartTimes = this.#restartTimes.filter((time) => now - time < this.#config.windowMs);
    if (this.#restartTimes.length >= this.#config.maxRestarts) {
      this.#setState('crash-loop', 'crash-loop');
      this.emit('crash-loop', { restarts: this.#restartTimes.length, windowMs: this.#config.windowMs });
      return;
    }
    this.#restartTimes.push(now);
    if (result !== undefined && result.runMs >= this.#config.resetAfterMs) this.#attempt = 0;
    const delayMs = Math.min(this.#config.initialMs * this.#config.factor ** this.#attempt, this.#config.maxMs);
    this.#attempt++;
    this.#setState('backoff', error === undefined ? 'crash' : 'spawn-error');
    this.emit('restart', { attempt: this.#attempt, delayMs });
    this.#backoff = setTimeout(() => {
      this.#backoff = undefined;
      if (this.#state !== 'backoff') return;
      // A spawn error is reported through 'exit'; nothing to reject to here.
      this.#launch('backoff').catch(() => {});
    }, delayMs);
  }

  /** Ends the current box: stop signal, then SIGKILL after the timeout. */
  async #stopBox(reason: ServiceReason): Promise<ExitResult | undefined> {
    if (this.#stopping !== undefined) return this.#stopping;
    const box = this.#box;
    if (box === undefined) return undefined;
    this.#setState('stopping', reason);
    this.#unwatch();
    this.#stopping = (async () => {
      const escalate = setTimeout(() => {
        if (box.kill('SIGKILL')) {
          this.emit('kill', box);
        } else if (box.pid !== undefined) {
          // kill() answers false from 'exit' on, but the box is not gone (its
          // init's exit record can be forged by a payload that may trace it):
          // dispose still ends it.
          void box.dispose();
          this.emit('kill', box);
        }
      }, this.#config.stopTimeoutMs);
      try {
        if (box.pid !== undefined) box.kill(this.#config.stopSignal);
        return await box.exited.catch(() => undefined);
      } finally {
        clearTimeout(escalate);
      }
    })();
    try {
      return await this.#stopping;
    } finally {
      this.#stopping = undefined;
    }
  }

  #watch(box: Box): void {
    const health = this.#config.health;
    if (health === undefined) return;
    const state = { timer: undefined as NodeJS.Timeout | undefined, failures: 0, abort: undefined as AbortController | undefined };
    this.#health = state;
    const run = (): void => {
      state.timer = undefined;
      if (this.#health !== state || this.#box !== box || this.#state !== 'running') return;
      const abort = new AbortController();
      state.abort = abort;
      const timeout = setTimeout(() => abort.abort(new Error(`health check: no answer within ${health.timeoutMs} ms`)), health.timeoutMs);
      const check = health.check;
      const outcome = 'connect' in check ? connectCheck(check.connect, abort.signal)
        : 'http' in check ? httpCheck(check.http, abort.signal)
          : Promise.resolve().then(() => check.custom(box, abort.signal));
      outcome.then(() => undefined, (error: unknown) => (error instanceof Error ? error : new Error(String(error)))).then((error) => {
        clearTimeout(timeout);
        if (this.#health !== state || this.#box !== box) return;
        state.abort = undefined;
        state.failures = error === undefined ? 0 : state.failures + 1;
        this.emit('health', { ok: error === undefined, ...(error === undefined ? {} : { error: abort.signal.aborted ? (abort.signal.reason as Error) : error }), failures: state.failures });
        if (state.failures >= health.failures) {
          this.emit('unhealthy', box);
          this.#serial(() => (this.#box === box ? this.#restart('unhealthy') : Promise.resolve(box))).catch(() => {});
          return;
        }
        state.timer = setTimeout(run, health.intervalMs);
      });
    };
    state.timer = setTimeout(run, health.startPeriodMs);
  }

  #unwatch(): void {
    const state = this.#health;
    this.#health = undefined;
    if (state === undefined) return;
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.abort?.abort(new Error('health check: the box is stopping'));
  }
}

/** A Service for `options` (not started: call start()). */
export function createService(options: ServiceOptions): Service {
  return new Service(options);
}
