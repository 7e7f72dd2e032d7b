// The namespace pool: network namespaces made ahead of time, on a libuv
// worker thread, so that a spawn joins one (setns, ~14 µs) instead of making
// one (~0.4 ms). Every box gets a fresh entry and its fds are closed after
// the spawn: an entry is never reused. Taking one schedules a refill, in
// the next pause between takes (or at once when the pool runs low); an
// empty pool never blocks a spawn, which then makes its own namespace (a
// miss).

import type { NativeIdMapPlan, NativeNamespaceBatch, NativePairIds } from '../types/native';
import { CordonError, CordonOptionError, errnoName } from './errors';
import { checkInteger, conflict, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { assertLinux, native } from './internal/native';
import { PLAN_ENUMS } from './internal/plan-ops';
import type { Ledger, LedgerEntry } from './internal/resources';
import type { IdMapEntry } from './options';
import { checkIdMap, defaultIdMap, NEWGIDMAP, NEWUIDMAP, unprivilegedMapMethod } from './identity';
import type { ResolvedNamespace } from './namespaces';

/**
 * What a pool entry holds:
 * - `'user+net'`: a user namespace with the box's id maps and a network
 *   namespace it owns, for boxes with a new user namespace (the default, and
 *   every rootless caller's). The box joins the user namespace, then the
 *   network namespace, and makes its other namespaces after that.
 * - `'net'`: a network namespace alone, owned by the caller's user
 *   namespace, for a root caller's boxes with `namespaces.user: 'host'`
 *   (e.g. a supervisor running tenants as host uids). Needs root.
 */
export type NamespacePoolKind = 'user+net' | 'net';

export interface NamespacePoolOptions {
  /** What each entry holds. Default `'user+net'`. */
  readonly kind?: NamespacePoolKind;
  /** How many entries the pool keeps ready, 1 to 256. Default 4. */
  readonly size?: number;
  /**
   * uid_map of a `'user+net'` pool's user namespaces: the map of the boxes
   * that use it, whose own `uidMap` must be the same (a pool serves one box
   * identity). Default as for spawnIsolated(): the caller's euid, or 65534
   * when the caller is root.
   */
  readonly uidMap?: readonly IdMapEntry[];
  /** gid_map of a `'user+net'` pool's user namespaces; defaults as for `uidMap`, with the egid. */
  readonly gidMap?: readonly IdMapEntry[];
}

/** Counters of a pool since it was made. */
export interface NamespacePoolStats {
  readonly kind: NamespacePoolKind;
  readonly size: number;
  /** Entries ready now. */
  readonly available: number;
  /** Entries being made on the worker thread now. */
  readonly creating: number;
  /** Entries made. */
  readonly created: number;
  /** Spawns that took an entry. */
  readonly taken: number;
  /** Spawns that found the pool empty and made their own namespace. */
  readonly misses: number;
  /** Entries closed unused (by close()). */
  readonly discarded: number;
  /** Refills that failed; the last error is `lastError`. */
  readonly failures: number;
  readonly lastError: CordonError | null;
  readonly closed: boolean;
}

/** A pool entry as a spawn takes it: open namespace fds, now the spawn's to close. */
export interface PoolEntry {
  user?: number;
  net: number;
}

const OPTION_KEYS = ['kind', 'size', 'uidMap', 'gidMap'] as const;
const DEFAULT_SIZE = 4;
const MAX_SIZE = 256;
/** Entries made per worker call: small, so the first ones are ready early. */
const BATCH = 4;
/**
 * Making an entry costs ~0.5 ms of CPU (the namespaces, their loopback): a
 * pool refills in a pause between the boxes that take its entries, so that
 * it does not compete with them for the cores; once this long has passed
 * without a take. Below LOW_WATER of its size it refills at once, so a
 * steady stream of boxes still finds entries.
 */
const REFILL_PAUSE_MS = 10;
const LOW_WATER = 0.25;
/** Which part of making an entry failed (native host::PoolPart, declared once in host/netns_pool.h). */
const PARTS: Readonly<Record<number, { readonly syscall: string; readonly what: string }>> = PLAN_ENUMS.PoolPart;

const constructing = Symbol('NamespacePool');

// A pool dropped without close(): its unused entries' fds are closed when it
// is collected (the held value is the pool's entry list, not the pool).
const dropped = new FinalizationRegistry<PoolEntry[]>((entries) => {
  for (const entry of entries.splice(0)) closeEntry(entry);
});

function closeEntry(entry: PoolEntry): void {
  if (entry.user !== undefined) native().closeFd(entry.user);
  native().closeFd(entry.net);
}

function sameMap(a: readonly IdMapEntry[], b: readonly IdMapEntry[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry.inside === b[i]!.inside && entry.outside === b[i]!.outside && entry.count === b[i]!.count);
}

function mapText(map: readonly IdMapEntry[]): string {
  return map.map((entry) => `${entry.inside} ${entry.outside} ${entry.count}`).join(', ');
}

function callerIds(): { euid: number; egid: number } {
  return { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
}

function mapPlan(kind: 'uid' | 'gid', map: readonly IdMapEntry[], ownId: number, root: boolean): NativeIdMapPlan {
  if (!root && unprivilegedMapMethod(kind, map, ownId) === 'helper') {
    return { helper: [kind === 'uid' ? NEWUIDMAP : NEWGIDMAP, ...map.flatMap((e) => [String(e.inside), String(e.outside), String(e.count)])] };
  }
  return { text: map.map((e) => `${e.inside} ${e.outside} ${e.count}\n`).join('') };
}

/**
 * Network namespaces (with their user namespaces, for `'user+net'`) made
 * ahead of time for boxes' `netnsPool` option. Made by createNamespacePool().
 */
export class NamespacePool {
  /** What each entry holds. */
  readonly kind: NamespacePoolKind;
  /** How many entries the pool keeps ready. */
  readonly size: number;
  /** The id maps of a `'user+net'` pool (undefined for `'net'`). */
  readonly uidMap: readonly IdMapEntry[] | undefined;
  /** The gid map of a `'user+net'` pool (undefined for `'net'`). */
  readonly gidMap: readonly IdMapEntry[] | undefined;

  readonly #ids: NativePairIds | null;
  readonly #entries: PoolEntry[] = [];
  #creating = 0;
  #worker: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #stale = false;
  /** When a box last took an entry (performance.now()), and the timer that refills after a pause. */
  #lastTake = -Infinity;
  #pauseTimer: NodeJS.Timeout | undefined;
  /** A refill is queued for the next turn of the loop (the pool runs low). */
  #soon = false;
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #counts = { created: 0, taken: 0, misses: 0, discarded: 0, failures: 0 };
  #lastError: CordonError | null = null;

  /** @internal Use createNamespacePool(). */
  constructor(token: symbol, kind: NamespacePoolKind, size: number, maps: { uid: IdMapEntry[]; gid: IdMapEntry[] } | undefined, ids: NativePairIds | null) {
    if (token !== constructing) throw new TypeError('use createNamespacePool() to make a NamespacePool');
    this.kind = kind;
    this.size = size;
    this.uidMap = maps?.uid;
    this.gidMap = maps?.gid;
    this.#ids = ids;
    dropped.register(this, this.#entries, this);
    this.#refill();
  }

  /** Entries ready now. */
  get available(): number {
    return this.#entries.length;
  }

  /** True once close() was called: spawns with this pool are refused. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Counters since the pool was made, and what it holds now. */
  stats(): NamespacePoolStats {
    return {
      kind: this.kind, size: this.size, available: this.#entries.length, creating: this.#creating, ...this.#counts,
      lastError: this.#lastError, closed: this.#closed,
    };
  }

  /** @internal What the next refill waits for (for tests): nothing to do, a pause between takes, the next turn of the loop, or a batch being made. */
  get _refillState(): 'full' | 'pause' | 'soon' | 'making' | 'idle' {
    if (this.#worker !== undefined) return 'making';
    if (this.#entries.length >= this.size) return 'full';
    if (this.#pauseTimer !== undefined) return 'pause';
    return this.#soon ? 'soon' : 'idle';
  }

  /**
   * Resolves once the pool is full (at once if it is). Rejects with the
   * error if making an entry fails, or if the pool is closed first.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#entries.length >= this.size) return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#stale = false;
    this.#refill();
    return waiting;
  }

  /**
   * Drains the pool: refuses further use, waits for an entry being made
   * (its helper process has ended when the worker returns), and closes every
   * unused fd. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    dropped.unregister(this);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closedError());
    this.#discard(this.#entries.splice(0));
    this.#closing = (this.#worker ?? Promise.resolve()).then(() => undefined);
    return this.#closing;
  }

  /** Same as close(), for `await using pool = createNamespacePool()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * @internal One entry for a spawn, or undefined when the pool is empty (a
   * miss: the box makes its own namespace). The fds are the caller's to close.
   */
  _take(): PoolEntry | undefined {
    if (this.#closed) throw closedError();
    const entry = this.#entries.shift();
    if (entry === undefined) this.#counts.misses++;
    else this.#counts.taken++;
    // A failed refill is tried again when a box next needs an entry.
    this.#stale = false;
    this.#lastTake = performance.now();
    this.#refillLater();
    return entry;
  }

  /**
   * A refill in the next pause between takes, or (running low) once this
   * spawn has returned: never during the spawn, whose box it would compete
   * with for a CPU.
   */
  #refillLater(): void {
    if (this.#closed || this.#entries.length >= this.size) return;
    if (this.#entries.length <= Math.floor(this.size * LOW_WATER)) {
      clearTimeout(this.#pauseTimer);
      this.#pauseTimer = undefined;
      if (!this.#soon) {
        this.#soon = true;
        setImmediate(() => {
          this.#soon = false;
          this.#refill();
        });
      }
      return;
    }
    if (this.#pauseTimer !== undefined) {
      this.#pauseTimer.refresh();
      return;
    }
    // Unref'd: a pool waiting for a pause keeps no process alive.
    this.#pauseTimer = setTimeout(() => {
      this.#pauseTimer = undefined;
      if (performance.now() - this.#lastTake < REFILL_PAUSE_MS) this.#refillLater();
      else this.#refill();
    }, REFILL_PAUSE_MS).unref();
  }

  #discard(entries: readonly PoolEntry[]): void {
    for (const entry of entries) {
      closeEntry(entry);
      this.#counts.discarded++;
    }
  }

  #refill(): void {
    if (this.#closed || this.#stale || this.#worker !== undefined) return;
    const missing = this.size - this.#entries.length;
    if (missing <= 0) return;
    const count = Math.min(missing, BATCH);
    this.#creating = count;
    this.#worker = new Promise<void>((resolve) => {
      native().makeNamespaces(this.kind === 'user+net', count, this.#ids, (batch) => {
        this.#worker = undefined;
        this.#creating = 0;
        this.#received(batch);
        resolve();
      });
    });
  }

  #received(batch: NativeNamespaceBatch): void {
    const entries = batch.entries.map((entry): PoolEntry => (entry.user >= 0 ? { user: entry.user, net: entry.net } : { net: entry.net }));
    this.#counts.created += entries.length;
    if (this.#closed) {
      this.#discard(entries);
      return;
    }
    this.#entries.push(...entries);
    if (batch.errno < 0) {
      const code = errnoName(batch.errno);
      const part = PARTS[batch.part] ?? PARTS[0]!;
      const syscall = part.syscall;
      this.#lastError = new CordonError(code, `${syscall} ${code}: the namespace pool could not make a ${this.kind} entry (${part.what})`, {
        errno: batch.errno, syscall, step: `namespace pool: ${part.what}`,
      });
      this.#counts.failures++;
      this.#stale = true;
      for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#lastError);
      return;
    }
    if (this.#entries.length >= this.size) {
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    }
    // Boxes taking entries meanwhile: the next batch waits for a pause too
    // (unless someone waits in ready()).
    if (this.#waiters.length === 0 && performance.now() - this.#lastTake < REFILL_PAUSE_MS) this.#refillLater();
    else this.#refill();
  }
}

function closedError(): CordonOptionError {
  return new CordonOptionError('ERR_CORDON_POOL_CLOSED', 'netnsPool', 'The namespace pool is closed: make a new one with createNamespacePool()');
}

/**
 * Makes a pool of network namespaces (with their user namespaces for
 * `'user+net'`), filled in the background at once. Give it to spawns as
 * `netnsPool`; close() it when done. Throws for bad options (nothing is made).
 */
export function createNamespacePool(options?: NamespacePoolOptions): NamespacePool {
  const o: unknown = ownSnapshot(options ?? {}, '');
  if (!isPlainObject(o)) throw invalidType('options', 'an object', o);
  rejectUnknownKeys(o, OPTION_KEYS, '');
  let kind: NamespacePoolKind = 'user+net';
  if (o.kind !== undefined) {
    if (typeof o.kind !== 'string') throw invalidType('kind', "'user+net' or 'net'", o.kind);
    if (o.kind !== 'user+net' && o.kind !== 'net') throw invalidValue('kind', o.kind, "must be 'user+net' or 'net'");
    kind = o.kind;
  }
  const size = o.size === undefined ? DEFAULT_SIZE : checkInteger('size', o.size, 1, MAX_SIZE);
  const uidMap = o.uidMap === undefined ? undefined : checkIdMap('uidMap', o.uidMap);
  const gidMap = o.gidMap === undefined ? undefined : checkIdMap('gidMap', o.gidMap);
  const caller = callerIds();
  const root = caller.euid === 0;
  if (kind === 'net') {
    if (uidMap !== undefined || gidMap !== undefined) {
      throw conflict(uidMap !== undefined ? 'uidMap' : 'gidMap', "a 'net' pool has no user namespace: uidMap and gidMap are for 'user+net' pools");
    }
    if (!root) {
      throw conflict('kind', "a 'net' pool needs a root caller (a network namespace outside a user namespace needs CAP_SYS_ADMIN); use 'user+net'");
    }
  }
  assertLinux();
  if (kind === 'net') return new NamespacePool(constructing, kind, size, undefined, null);
  const uid = uidMap ?? defaultIdMap(caller.euid);
  const gid = gidMap ?? defaultIdMap(caller.egid);
  // As spawnIsolated() writes them: an unprivileged caller's own id directly
  // (gid_map after setgroups "deny"), ranges through newuidmap/newgidmap.
  const gidPlan = mapPlan('gid', gid, caller.egid, root);
  const ids: NativePairIds = { uid: mapPlan('uid', uid, caller.euid, root), gid: gidPlan, denySetgroups: !root && 'text' in gidPlan };
  return new NamespacePool(constructing, kind, size, { uid, gid }, ids);
}

/** What validateNetnsPool() needs of the box's other options. */
export interface PoolBoxSettings {
  namespaces: Readonly<Record<'user' | 'net', ResolvedNamespace>>;
  uidMap: readonly IdMapEntry[] | undefined;
  gidMap: readonly IdMapEntry[] | undefined;
}

/**
 * Checks the `netnsPool` option against the box's other settings (before
 * anything is created) and returns the pool. `option` names it in errors.
 */
export function validateNetnsPool(value: unknown, box: PoolBoxSettings, option = 'netnsPool'): NamespacePool {
  if (!(value instanceof NamespacePool)) throw invalidType(option, 'a NamespacePool (from createNamespacePool())', value);
  if (value.closed) throw new CordonOptionError('ERR_CORDON_POOL_CLOSED', option, `The "${option}" option is a closed namespace pool: make a new one with createNamespacePool()`);
  const ns = box.namespaces;
  if (ns.net.kind !== 'new') {
    throw conflict(option, `${option} gives the box its network namespace: namespaces.net must be left 'new' (it is ${ns.net.kind === 'host' ? "'host'" : `a joined one, { ${ns.net.kind} }`})`);
  }
  if (value.kind === 'net') {
    if (ns.user.kind !== 'host') {
      throw conflict(option, `a 'net' pool's network namespaces belong to the caller's user namespace, which a box in ${ns.user.kind === 'new' ? 'a new' : 'a joined'} user namespace may not join (setns EPERM): use a 'user+net' pool, or namespaces.user 'host'`);
    }
    return value;
  }
  if (ns.user.kind !== 'new') {
    throw conflict(option, `a 'user+net' pool gives the box its user namespace: namespaces.user must be left 'new' (it is ${ns.user.kind === 'host' ? "'host'" : 'a joined one'}); use a 'net' pool for boxes in the caller's user namespace`);
  }
  const caller = callerIds();
  const uid = box.uidMap ?? defaultIdMap(caller.euid);
  const gid = box.gidMap ?? defaultIdMap(caller.egid);
  if (!sameMap(uid, value.uidMap ?? [])) {
    throw conflict('uidMap', `the box's uid map (${mapText(uid)}) is not the pool's (${mapText(value.uidMap ?? [])}): a 'user+net' pool serves one box identity; make a pool with createNamespacePool({ uidMap, gidMap }) for these maps`);
  }
  if (!sameMap(gid, value.gidMap ?? [])) {
    throw conflict('gidMap', `the box's gid map (${mapText(gid)}) is not the pool's (${mapText(value.gidMap ?? [])}): a 'user+net' pool serves one box identity; make a pool with createNamespacePool({ uidMap, gidMap }) for these maps`);
  }
  // A new time namespace in the pool's user namespace is checked in
  // validateOptions(), with the explicitly joined ones.
  return value;
}

/**
 * One entry from a box's pool, its fds held by the box's `ledger` from here
 * and listed in `spawnOnly` (an entry is never reused: the box joins it or
 * fails); undefined without a pool or on a miss (the box then makes its own
 * namespaces).
 */
export function acquirePoolEntry(pool: NamespacePool | undefined, ledger: Ledger, spawnOnly: LedgerEntry[]): { user?: number; net: number } | undefined {
  const entry = pool?._take();
  if (entry === undefined) return undefined;
  const net = ledger.hold('pooled net namespace', entry.net, 'native');
  spawnOnly.push(net);
  if (entry.user === undefined) return { net: net.fd };
  const user = ledger.hold('pooled user namespace', entry.user, 'native');
  spawnOnly.push(user);
  return { user: user.fd, net: net.fd };
}
