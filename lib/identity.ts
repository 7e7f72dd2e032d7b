// Users and groups: subordinate id ranges (/etc/subuid, /etc/subgid) for
// unprivileged callers, and per-tenant range allocation for supervisors.
import * as fs from 'node:fs';

import { CordonError, CordonOptionError } from './errors';
import { checkBoolean, checkInteger, conflict, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { step, type PlanStep } from './internal/steps';
import type { IdMapEntry } from './options';

export interface IdRange {
  start: number;
  count: number;
}

export const NEWUIDMAP = '/usr/bin/newuidmap';
export const NEWGIDMAP = '/usr/bin/newgidmap';

/** The largest uid or gid ((uid_t)-1 is "no id"). */
export const MAX_ID = 0xfffffffe;
/** The kernel's UID_GID_MAP_MAX_EXTENTS: lines of a uid_map or gid_map. */
const MAX_MAP_LINES = 340;
/** The kernel takes a map in one write of less than a page (map_write: count >= PAGE_SIZE is EINVAL; 4 KiB pages). */
const MAX_MAP_BYTES = 4095;
/** The uid and gid a root caller's box maps its root to. */
export const ROOT_CALLER_BOX_ID = 65534;

/** The map of a box's new user namespace when the options give none: its root is the caller (65534 for a root caller). */
export function defaultIdMap(callerId: number): { inside: number; outside: number; count: number }[] {
  return [{ inside: 0, outside: callerId === 0 ? ROOT_CALLER_BOX_ID : callerId, count: 1 }];
}

/** The uidMap or gidMap option, checked as the kernel will: ranges in bounds, not overlapping, one write. */
export function checkIdMap(option: string, value: unknown): IdMapEntry[] {
  value = ownSnapshot(value, option);
  if (!Array.isArray(value)) throw invalidType(option, 'an array of { inside, outside, count }', value);
  if (value.length === 0 || value.length > MAX_MAP_LINES) {
    throw invalidValue(option, value.length, `must have 1 to ${MAX_MAP_LINES} entries (the kernel's UID_GID_MAP_MAX_EXTENTS)`);
  }
  const entries = value.map((entry: unknown, i): IdMapEntry => {
    const at = `${option}[${i}]`;
    if (!isPlainObject(entry)) throw invalidType(at, 'an object { inside, outside, count }', entry);
    rejectUnknownKeys(entry, ['inside', 'outside', 'count'], at);
    const inside = checkInteger(`${at}.inside`, entry.inside, 0, MAX_ID);
    const outside = checkInteger(`${at}.outside`, entry.outside, 0, MAX_ID);
    const count = checkInteger(`${at}.count`, entry.count, 1, MAX_ID + 1);
    if (inside + count - 1 > MAX_ID || outside + count - 1 > MAX_ID) {
      throw invalidValue(`${at}.count`, count, 'reaches past the largest id (4294967294)');
    }
    return { inside, outside, count };
  });
  // The kernel refuses a map whose inside or outside ranges overlap.
  for (const side of ['inside', 'outside'] as const) {
    const sorted = [...entries].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1]!;
      if (before[side] + before.count > sorted[i]![side]) {
        throw invalidValue(option, `${before[side]}+${before.count}`, `has overlapping ${side} ranges`);
      }
    }
  }
  const bytes = entries.reduce((sum, entry) => sum + `${entry.inside} ${entry.outside} ${entry.count}\n`.length, 0);
  if (bytes > MAX_MAP_BYTES) {
    throw invalidValue(option, bytes, `makes ${bytes} bytes of map text; the kernel takes at most ${MAX_MAP_BYTES} (one write of less than a 4 KiB page)`);
  }
  return entries;
}

/** The effective euid of this process; a function so tests can reason about both cases. */
export function callerIsRoot(): boolean {
  return typeof process.geteuid === 'function' && process.geteuid() === 0;
}

export function inMap(map: readonly IdMapEntry[], id: number): boolean {
  return map.some((entry) => id >= entry.inside && id < entry.inside + entry.count);
}

/** Who the box runs as: its id maps (a new user namespace's), its uid and gid, and whether a root caller may run it as real root. */
export interface ResolvedIdentity {
  uidMap: IdMapEntry[] | undefined;
  gidMap: IdMapEntry[] | undefined;
  uid: number;
  gid: number;
  allowHostCredentials: boolean;
}

/** The uidMap, gidMap, uid, gid and allowHostCredentials options, given the box's user namespace (`user`, its kind). */
export function validateIdentity(
  o: { uidMap?: unknown; gidMap?: unknown; uid?: unknown; gid?: unknown; allowHostCredentials?: unknown },
  user: string,
): ResolvedIdentity {
  const uidMap = o.uidMap === undefined ? undefined : checkIdMap('uidMap', o.uidMap);
  const gidMap = o.gidMap === undefined ? undefined : checkIdMap('gidMap', o.gidMap);
  if ((uidMap || gidMap) && user !== 'new') {
    throw conflict(uidMap ? 'uidMap' : 'gidMap', 'uidMap and gidMap need namespaces.user to be \'new\'');
  }
  const uid = o.uid === undefined ? 0 : checkInteger('uid', o.uid, 0, MAX_ID);
  const gid = o.gid === undefined ? 0 : checkInteger('gid', o.gid, 0, MAX_ID);
  if (user === 'host' && (o.uid !== undefined || o.gid !== undefined) && !callerIsRoot()) {
    throw conflict(
      o.uid !== undefined ? 'uid' : 'gid',
      'without a user namespace only a root caller can run the box under another uid or gid',
    );
  }
  if (uidMap && !inMap(uidMap, uid)) throw conflict('uid', `uid ${uid} is not mapped by uidMap`);
  if (gidMap && !inMap(gidMap, gid)) throw conflict('gid', `gid ${gid} is not mapped by gidMap`);
  if (!uidMap && user === 'new' && uid !== 0) throw conflict('uid', `uid ${uid} is not mapped; give uidMap`);
  if (!gidMap && user === 'new' && gid !== 0) throw conflict('gid', `gid ${gid} is not mapped; give gidMap`);

  const allowHostCredentials =
    o.allowHostCredentials === undefined ? false : checkBoolean('allowHostCredentials', o.allowHostCredentials);
  if (user === 'host' && callerIsRoot() && uid === 0 && !allowHostCredentials) {
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      'namespaces.user',
      'The "namespaces.user" option is \'host\' while the caller is root, so the box would run as real root. ' +
        'Use a new user namespace, give a host uid (and gid) to run it as, or pass allowHostCredentials: true to allow it',
    );
  }
  return { uidMap, gidMap, uid, gid, allowHostCredentials };
}

function readSysctl(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Why this caller cannot make a user namespace, judged from sysctls alone; undefined if none says no. */
export function userNamespaceRefusal(): string | undefined {
  if (readSysctl('/proc/sys/user/max_user_namespaces') === '0') {
    return 'user namespaces are disabled: /proc/sys/user/max_user_namespaces is 0';
  }
  if (process.geteuid?.() === 0) return undefined;
  if (readSysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    return 'unprivileged user namespaces are disabled: /proc/sys/kernel/unprivileged_userns_clone is 0';
  }
  if (readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    return 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); ' +
      'allow it with an AppArmor profile for node granting "userns", or set the sysctl to 0';
  }
  return undefined;
}

function userName(uid: number): string | undefined {
  try {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.split(':')[2] === String(uid));
    return line?.split(':')[0];
  } catch {
    return undefined;
  }
}

/** The ranges /etc/subuid (or /etc/subgid) grants to `uid`, by name or by number. */
export function subordinateRanges(file: '/etc/subuid' | '/etc/subgid', uid: number = process.geteuid?.() ?? 0): IdRange[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const name = userName(uid);
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner === undefined || start === undefined || count === undefined) continue;
    if (owner !== String(uid) && owner !== name) continue;
    ranges.push({ start: Number(start), count: Number(count) });
  }
  return ranges;
}

/**
 * Whether an unprivileged caller can have `map` written: its own id alone
 * directly, anything else through newuidmap/newgidmap within its subordinate
 * ranges. Returns how, or throws (before anything is created) why not.
 */
export function unprivilegedMapMethod(kind: 'uid' | 'gid', map: readonly IdMapEntry[], ownId: number): 'direct' | 'helper' {
  if (map.length === 1 && map[0]!.count === 1 && map[0]!.outside === ownId) return 'direct';
  const helper = kind === 'uid' ? NEWUIDMAP : NEWGIDMAP;
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  const option = `${kind}Map`;
  if (!fs.existsSync(helper)) {
    throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `${option}: an unprivileged caller maps more than its own ${kind} only through ${helper}, which is not installed (Debian: apt-get install uidmap)`, {
      step: `write ${kind}_map`, path: helper, syscall: 'spawn',
    });
  }
  const ranges = [...subordinateRanges(file), { start: ownId, count: 1 }];
  for (const entry of map) {
    const covered = ranges.some((range) => entry.outside >= range.start && entry.outside + entry.count <= range.start + range.count);
    if (!covered) {
      throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `${option}: ${kind}s ${entry.outside}-${entry.outside + entry.count - 1} are not granted to ${userName(ownId) ?? ownId} by ${file}`, {
        step: `write ${kind}_map`, path: file, syscall: 'open', hint: `add a line like "${userName(ownId) ?? ownId}:${entry.outside}:${entry.count}" to ${file}`,
      });
    }
  }
  return 'helper';
}

/** A uid_map or gid_map file's text: one "inside outside count" line per entry. */
export function mapText(map: readonly { inside: number; outside: number; count: number }[]): string {
  return map.map((entry) => `${entry.inside} ${entry.outside} ${entry.count}\n`).join('');
}

function idMapStep(kind: 'uid' | 'gid', map: readonly { inside: number; outside: number; count: number }[], helper: boolean): PlanStep {
  if (helper) {
    const program = kind === 'uid' ? NEWUIDMAP : NEWGIDMAP;
    const args = map.flatMap((entry) => [String(entry.inside), String(entry.outside), String(entry.count)]);
    return step('runIdMapHelper', { name: `write ${kind}_map`, syscall: `spawn ${program}`, kind: 'idhelper', path: program }, {
      which: kind === 'uid' ? 0 : 1, helper: program, map: args,
    });
  }
  return step(kind === 'uid' ? 'writeUidMap' : 'writeGidMap', { name: `write ${kind}_map`, syscall: 'write', kind: 'idmap', path: `/proc/<pid>/${kind}_map` }, {
    map: mapText(map),
  });
}

/**
 * The parent's writes of a new user namespace's maps (the default map when
 * the options give none). An unprivileged caller writes its own id itself
 * (after denying setgroups); ranges go through the setuid helpers, which
 * check /etc/subuid and /etc/subgid.
 */
export function idMapSteps(uidMap: readonly IdMapEntry[] | undefined, gidMap: readonly IdMapEntry[] | undefined, caller: { euid: number; egid: number }): PlanStep[] {
  const uids = uidMap ?? defaultIdMap(caller.euid);
  const gids = gidMap ?? defaultIdMap(caller.egid);
  const root = caller.euid === 0;
  const uidHelper = !root && unprivilegedMapMethod('uid', uids, caller.euid) === 'helper';
  const gidHelper = !root && unprivilegedMapMethod('gid', gids, caller.egid) === 'helper';
  const steps: PlanStep[] = [];
  if (!root && !gidHelper) {
    steps.push(step('writeSetgroups', { name: 'write setgroups', syscall: 'write', kind: 'idmap', path: '/proc/<pid>/setgroups' }, { text: 'deny' }));
  }
  steps.push(idMapStep('uid', uids, uidHelper), idMapStep('gid', gids, gidHelper));
  return steps;
}

/**
 * Hands out non-overlapping id ranges, one per tenant, for a root supervisor
 * that maps, say, 65,536 ids per tenant: `uidMap: ranges.allocate('site42')`.
 * Ranges start at `base` and skip what /etc/subuid and /etc/subgid grant to
 * anyone (so tenants never share ids with other users' containers). State
 * can be saved with toJSON() and restored with the `assigned` option.
 */
export class IdRangeAllocator {
  readonly base: number;
  readonly size: number;
  readonly #assigned = new Map<string, number>();
  readonly #reserved: IdRange[];

  constructor(options: { base?: number; size?: number; assigned?: Readonly<Record<string, number>>; reserved?: readonly IdRange[] } = {}) {
    this.base = options.base ?? 1_000_000;
    this.size = options.size ?? 65536;
    if (!Number.isInteger(this.base) || this.base < 1 || !Number.isInteger(this.size) || this.size < 1) {
      throw new RangeError('IdRangeAllocator: base and size must be positive integers');
    }
    this.#reserved = [...(options.reserved ?? hostSubordinateRanges())];
    for (const [tenant, start] of Object.entries(options.assigned ?? {})) this.#assigned.set(tenant, start);
  }

  /** The tenant's uid_map/gid_map (the same ids for both): inside 0..size-1 → its own range. */
  allocate(tenant: string): IdMapEntry[] {
    let start = this.#assigned.get(tenant);
    if (start === undefined) {
      start = this.#nextFree();
      this.#assigned.set(tenant, start);
    }
    return [{ inside: 0, outside: start, count: this.size }];
  }

  release(tenant: string): boolean {
    return this.#assigned.delete(tenant);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.#assigned);
  }

  #nextFree(): number {
    const taken = [...this.#reserved, ...[...this.#assigned.values()].map((start) => ({ start, count: this.size }))];
    for (let start = this.base; start + this.size - 1 <= 0xfffffffe; start += this.size) {
      if (!taken.some((range) => start < range.start + range.count && range.start < start + this.size)) return start;
    }
    throw new RangeError('IdRangeAllocator: no free range left');
  }
}

function hostSubordinateRanges(): IdRange[] {
  const ranges: IdRange[] = [];
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    try {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const [, start, count] = line.trim().split(':');
        if (start !== undefined && count !== undefined) ranges.push({ start: Number(start), count: Number(count) });
      }
    } catch {
      // no such file: nothing reserved
    }
  }
  return ranges;
}

