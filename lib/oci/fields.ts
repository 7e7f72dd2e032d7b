// Reading an OCI config's JSON one object at a time: every key read is
// remembered, so a key left over is refused as unknown, never dropped.
import { badType, badValue, unknownField, unsupported } from './errors';

/** A field fromOciConfig left out, and why (also listed in docs/oci.md). */
export interface OciIgnoredField {
  /** JSON path of the field, e.g. `linux.cgroupsPath`. */
  readonly field: string;
  readonly reason: string;
}

export type Json = Record<string, unknown>;
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Reads the keys of one JSON object, remembering which were read: `done()`
 * refuses every key left over as unknown, so no field is dropped unseen.
 */
export class Fields {
  private readonly seen = new Set<string>();
  constructor(
    readonly value: Json,
    readonly at: string,
  ) {}

  static of(value: unknown, at: string): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badType(at, 'an object', value);
    return new Fields(value as Json, at);
  }

  /** `at.key`, or `at["key.with.dots"]` for a key that is no identifier (sysctl names, cgroup files). */
  path(key: string): string {
    if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${this.at}[${JSON.stringify(key)}]`;
    return this.at === '' ? key : `${this.at}.${key}`;
  }

  get(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.value, key) ? this.value[key] : undefined;
  }

  object(key: string): Fields | undefined {
    const value = this.get(key);
    return value === undefined || value === null ? undefined : Fields.of(value, this.path(key));
  }

  string(key: string): string | undefined {
    const value = this.get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw badType(this.path(key), 'a string', value);
    if (value.includes('\0')) throw badValue(this.path(key), value, 'must not contain null bytes');
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw badType(this.path(key), 'a boolean', value);
    return value;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.get(key);
    if (value === undefined || value === null) return undefined;
    return integer(this.path(key), value, min, max);
  }

  array(key: string): unknown[] {
    const value = this.get(key);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw badType(this.path(key), 'an array', value);
    return value;
  }

  strings(key: string): string[] {
    return this.array(key).map((entry, i) => {
      if (typeof entry !== 'string') throw badType(`${this.path(key)}[${i}]`, 'a string', entry);
      return entry;
    });
  }

  /** Refuses the field when set to anything but an empty value. */
  refuse(key: string, why: string): void {
    if (!isEmpty(this.get(key))) throw unsupported(this.path(key), why);
  }

  /** Accepts and drops the field, noting why when it is set. */
  ignore(key: string, why: string, ignored: OciIgnoredField[]): void {
    if (!isEmpty(this.get(key))) ignored.push({ field: this.path(key), reason: why });
  }

  done(): void {
    for (const key of Object.keys(this.value)) if (!this.seen.has(key)) throw unknownField(this.path(key));
  }
}

export function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

export function integer(at: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw badType(at, 'a number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw badValue(at, value, `must be an integer from ${min} to ${max}`);
  return value;
}
