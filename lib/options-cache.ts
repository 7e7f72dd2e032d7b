// spawnIsolated()'s options, compiled once they are seen again: a
// supervisor that starts boxes of the same options (a literal or the same
// object) gets compileBox()'s path without asking for it.
//
// Options are matched by content, not by identity: the own-property
// snapshot validateOptions() takes first anyway (ownSnapshot) is written
// out as a key string, and options with the same key are the same input
// to validation. A snapshot holding anything but plain data (a stream, a
// Listener, a URL, a function, ...) has no key: live objects can
// change between calls in ways a key cannot see. The exceptions: `signal`,
// an AbortSignal, which is per box (as a template's override) and so not
// part of the key; `netnsPool`, a NamespacePool, whose kind and id maps
// (all validation reads of it) never change; and a tenant cgroup as
// `cgroup` or `cgroup.tenant`, of which validation reads only whether it is
// closed. Pools and tenants are matched by identity, and options holding
// them are kept in WeakMaps keyed by them (the compiled entry refers to
// them, and an ephemeron does not keep its key alive), so a pool or tenant
// dropped without close() is still collected. A closed pool or tenant is
// checked per box, as a template checks it.
//
// Why a compiled entry still gives validateOptions()'s result:
// - validation is a function of the snapshot, the caller's euid and egid
//   (callerIsRoot, both in the key) and, for a few options, host state;
//   options whose validation or plan reads the host are never compiled
//   (see compilable()), so their errors still come when the host changes;
// - the file and args are checked per call, first, as validateOptions()
//   checks them first; then the snapshot is taken (its errors: the same,
//   in the same order); an entry only exists for options that validated,
//   so a hit can throw only what the per-box checks throw (file, args,
//   argv and envp size), with validateOptions()'s errors;
// - what a plan reads of the host per box (the host view, the caller's
//   limits, the Landlock ABI) is in the compiled plans' shape key
//   (lib/compiled-options.ts), so a change makes a new plan.
import { types } from 'node:util';

import { CompiledOptions, identityOf, planFresh, type Planner } from './compiled-options';
import { isPlainObject, ownSnapshot } from './internal/checks';
import { isValidated } from './internal/validated';
import { checkArgs } from './payload';
import { NamespacePool } from './pool';
import { isTenantCgroup, type TenantCgroup } from './cgroups/tenant';
import { validateOptions, type ValidatedOptions } from './validate';

/**
 * Options kept: compiled ones, ones seen once, ones that are never
 * compiled. With MAX_KEY_LENGTH this bounds what the cache holds (keys,
 * validated options, and a compiled set's plans, at most 4 shapes of
 * each) to a few MB even for options at the limit; most keys are < 1 KB.
 */
const MAX_ENTRIES = 64;
/** A longer key (options with a large env or many mounts) is not kept: they are validated each time, as before. */
const MAX_KEY_LENGTH = 16 * 1024;

/**
 * SEEN: met once (compiled the second time, so options that differ for
 * every box, an env with a per-box token, pay one key and no compile);
 * null: never compiled (compilable() said no).
 */
const SEEN = 0;
type Entries = Map<string, CompiledOptions | typeof SEEN | null>;
const entries: Entries = new Map();
/**
 * Options holding a pool or a tenant (see the top of this file), by them:
 * the pool first, then the tenant; a node's entries are the options that
 * hold its path's objects and no other.
 */
interface AnchoredStore {
  entries?: Entries;
  next?: WeakMap<object, AnchoredStore>;
}
let anchored = new WeakMap<object, AnchoredStore>();
/** The compiled entry last used (it is last in `entries` already). */
let mostRecent: CompiledOptions | undefined;

/** What a spawn call's options give: the validated box and the planner to plan it with. */
export interface CallOptions {
  validated: ValidatedOptions;
  planner: Planner;
}

/**
 * validateOptions(file, args, options), with the same result and the same
 * errors in the same order, through compiled options when these options
 * were seen before.
 */
export function validateWithCache(file: unknown, args: unknown, options: unknown): CallOptions {
  const command = checkArgs(file, args);
  const snapshot = ownSnapshot(options === undefined ? {} : options, '');
  const keyed = optionsKey(snapshot);
  if (keyed === undefined) return { validated: validateOptions(command.file, command.args, snapshot), planner: planFresh };
  const store = keyed.pool === undefined && keyed.tenant === undefined ? entries : storeOf(anchorsOf(keyed), true)!;
  const entry = store.get(keyed.key);
  if (entry instanceof CompiledOptions) {
    // Most recently used last: the first key is the one to drop.
    // (mostRecent is only ever a plain-store entry: one holding a pool or
    // a tenant would keep it alive.)
    if (entry !== mostRecent) {
      store.delete(keyed.key);
      store.set(keyed.key, entry);
      if (store === entries) mostRecent = entry;
    }
    return { validated: entry.validatedWith(command, keyed.signal), planner: entry.planner };
  }
  const validated = validateOptions(command.file, command.args, snapshot);
  if (entry === null) return { validated, planner: planFresh };
  if (entry === undefined) {
    remember(store, keyed.key, SEEN);
    return { validated, planner: planFresh };
  }
  let compiled: CompiledOptions | null = null;
  if (compilable(validated)) {
    try {
      compiled = new CompiledOptions(withoutSignal(snapshot as Record<string, unknown>));
    } catch {
      compiled = null; // not seen in practice: the same options validated just now
    }
  }
  remember(store, keyed.key, compiled);
  return { validated, planner: compiled === null ? planFresh : compiled.planner };
}

function anchorsOf(keyed: { pool?: NamespacePool; tenant?: TenantCgroup }): object[] {
  const anchors: object[] = [];
  if (keyed.pool !== undefined) anchors.push(keyed.pool);
  if (keyed.tenant !== undefined) anchors.push(keyed.tenant);
  return anchors;
}

/** The store of options holding exactly `anchors` (made when `create`). */
function storeOf(anchors: readonly object[], create: boolean): Entries | undefined {
  let level = anchored;
  let node: AnchoredStore | undefined;
  for (const [i, anchor] of anchors.entries()) {
    node = level.get(anchor);
    if (node === undefined) {
      if (!create) return undefined;
      node = {};
      level.set(anchor, node);
    }
    if (i < anchors.length - 1) level = node.next ??= new WeakMap();
  }
  if (node === undefined) return entries;
  if (node.entries === undefined && create) node.entries = new Map();
  return node.entries;
}

function remember(store: Entries, key: string, entry: CompiledOptions | typeof SEEN | null): void {
  mostRecent = store === entries && entry instanceof CompiledOptions ? entry : undefined;
  store.delete(key);
  if (store.size >= MAX_ENTRIES) store.delete(store.keys().next().value!);
  store.set(key, entry);
}

/** @internal Forgets every compiled option set (for tests). */
export function clearOptionsCache(): void {
  entries.clear();
  anchored = new WeakMap();
  mostRecent = undefined;
}

/** @internal How many option sets are kept, and how many of them compiled (for tests); with a pool and/or a tenant (in that order), those holding exactly them. */
export function optionsCacheSize(...anchors: object[]): { kept: number; compiled: number } {
  const store = storeOf(anchors, false) ?? new Map();
  let compiled = 0;
  for (const entry of store.values()) if (entry instanceof CompiledOptions) compiled++;
  return { kept: store.size, compiled };
}

/**
 * Whether validated options may be compiled: their validation and plan
 * read nothing of the host that could change between boxes. A bridge is
 * checked against the host at validation (bridgeRefusal); an unprivileged
 * caller's uidMap or gidMap against newuidmap and /etc/subuid when planned
 * (idMapSteps). Streams have no key (not plain data); a tenant is
 * checked per box for being closed (CompiledOptions' recheckLive).
 */
function compilable(validated: ValidatedOptions): boolean {
  if (validated.bridge !== undefined) return false;
  if (callerEuid() !== 0 && (validated.uidMap !== undefined || validated.gidMap !== undefined)) return false;
  return true;
}

function callerEuid(): number {
  return process.geteuid?.() ?? 0;
}

// The snapshot without its signal (a null-prototype copy, like the snapshot).
function withoutSignal(snapshot: Record<string, unknown>): Record<string, unknown> {
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(snapshot)) if (key !== 'signal') copy[key] = snapshot[key];
  return copy;
}

/**
 * @internal (exported for tests) The key of an options snapshot: equal
 * for two snapshots exactly when they hold the same plain data, keys in
 * the same order, and the caller has the same euid and egid; with the
 * AbortSignal given as `signal` and the NamespacePool as `pool` (the key
 * holds the same mark for every pool: the pool selects the store).
 * Undefined when the snapshot is no plain object or holds anything but
 * plain data.
 */
export function optionsKey(snapshot: unknown): { key: string; signal: AbortSignal | undefined; pool?: NamespacePool; tenant?: TenantCgroup } | undefined {
  if (types.isProxy(snapshot) || !isPlainObject(snapshot)) return undefined;
  let key = `${callerEuid()}:${process.getegid?.() ?? 0}{`;
  let signal: AbortSignal | undefined;
  let pool: NamespacePool | undefined;
  let tenant: TenantCgroup | undefined;
  for (const name of Object.keys(snapshot)) {
    const value = snapshot[name];
    if (name === 'signal' && value !== undefined) {
      // Proxies are left to validation (no trap is run an extra time here).
      if (types.isProxy(value) || !(value instanceof AbortSignal)) return undefined;
      signal = value;
      key += '"signal":S,';
      continue;
    }
    if (name === 'netnsPool' && value !== undefined) {
      if (types.isProxy(value) || !(value instanceof NamespacePool)) return undefined;
      pool = value;
      key += '"netnsPool":P,';
      continue;
    }
    if (name === 'cgroup') {
      const tenantKey = tenantCgroupKey(value);
      if (tenantKey !== undefined) {
        tenant = tenantKey.tenant;
        key += `"cgroup":${tenantKey.key},`;
        continue;
      }
    }
    const part = valueKey(value);
    if (part === undefined) return undefined;
    key += `${JSON.stringify(name)}:${part},`;
    if (key.length > MAX_KEY_LENGTH) return undefined;
  }
  key += '}';
  if (key.length > MAX_KEY_LENGTH) return undefined;
  const keyed: { key: string; signal: AbortSignal | undefined; pool?: NamespacePool; tenant?: TenantCgroup } = { key, signal };
  if (pool !== undefined) keyed.pool = pool;
  if (tenant !== undefined) keyed.tenant = tenant;
  return keyed;
}

/**
 * The key of a `cgroup` option naming a tenant (`tenant`, or `{ tenant,
 * ...limits }` with plain-data limits), the tenant as a mark (the tenant
 * selects the store); undefined for any other value (then keyed as plain
 * data, or not at all). Proxies are left to validation.
 */
function tenantCgroupKey(value: unknown): { key: string; tenant: TenantCgroup } | undefined {
  const isTenant = (candidate: unknown): candidate is TenantCgroup => !types.isProxy(candidate) && isTenantCgroup(candidate);
  if (isTenant(value)) return { key: 'T', tenant: value };
  // The snapshot's own copy of an object: no prototype.
  if (typeof value !== 'object' || value === null || types.isProxy(value) || Object.getPrototypeOf(value) !== null) return undefined;
  const fields = value as Record<string, unknown>;
  if (!Object.hasOwn(fields, 'tenant') || !isTenant(fields.tenant)) return undefined;
  let key = '{';
  for (const name of Object.keys(fields)) {
    const part = name === 'tenant' ? 'T' : valueKey(fields[name]);
    if (part === undefined) return undefined;
    key += `${JSON.stringify(name)}:${part},`;
  }
  return { key: `${key}}`, tenant: fields.tenant };
}


// One value of a snapshot as key text, each type with its own first character; undefined for what is not plain data.
function valueKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? 'n-0' : `n${value}`;
    case 'boolean':
      return value ? 't' : 'f';
    case 'undefined':
      return 'u';
    case 'bigint':
      return `b${value}`;
    case 'object': {
      if (value === null) return 'N';
      // A Proxy the snapshot kept (not a plain object) is live; asked nothing here, so its traps run as often as without the cache.
      if (types.isProxy(value)) return undefined;
      // A validator's own copy (a seccompPolicy(), ...) is deep-frozen: the same object is the same input.
      if (isValidated(value)) return `v${identityOf(value)}`;
      if (Array.isArray(value)) {
        let text = '[';
        for (const element of value as unknown[]) {
          const part = valueKey(element);
          if (part === undefined) return undefined;
          text += `${part},`;
        }
        return `${text}]`;
      }
      // The snapshot's own copies have no prototype; anything else is a live object.
      if (Object.getPrototypeOf(value) !== null) return undefined;
      let text = '{';
      for (const name of Object.keys(value)) {
        const part = valueKey((value as Record<string, unknown>)[name]);
        if (part === undefined) return undefined;
        text += `${JSON.stringify(name)}:${part},`;
      }
      return `${text}}`;
    }
    default:
      return undefined; // a function, a symbol
  }
}
