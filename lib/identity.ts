// Users and groups: subordinate id ranges (/etc/subuid, /etc/subgid) for
// unprivileged callers, and per-tenant range allocation for supervisors.
import * as fs from 'node:fs';
import * as os from 'node:os';

import { CordonError } from './errors';
import type { IdMapEntry } from './options';

export interface IdRange {
  start: number;
  count: number;
}

export const NEWUIDMAP = '/usr/bin/newuidmap';
export const NEWGIDMAP = '/usr/bin/newgidmap';

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

export function currentUserName(): string {
  return userName(process.geteuid?.() ?? 0) ?? os.userInfo().username;
}
