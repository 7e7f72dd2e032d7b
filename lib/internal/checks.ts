// Argument checks shared by every options module: one message shape, the
// option's dotted name, and a guess for misspelled keys.
import * as path from 'node:path';

import { CordonOptionError } from '../errors';
import { isValidated } from './validated';

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `type string (${JSON.stringify(value.slice(0, 40))})`;
  if (typeof value !== 'object') return `type ${typeof value} (${safeString(value)})`;
  try {
    if (Array.isArray(value)) return 'an array';
    const constructor: unknown = Object.getPrototypeOf(value)?.constructor;
    return `an instance of ${typeof constructor === 'function' && constructor.name !== '' ? constructor.name : 'Object'}`;
  } catch {
    return 'an object';
  }
}

export function invalidType(option: string, expected: string, value: unknown): CordonOptionError {
  return new CordonOptionError(
    'ERR_INVALID_ARG_TYPE',
    option,
    `The "${option}" option must be ${expected}. Received ${typeName(value)}`,
  );
}

export function invalidValue(option: string, value: unknown, reason: string): CordonOptionError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value === 'object' && value !== null ? typeName(value) : safeString(value);
  return new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option ${reason}. Received ${shown}`);
}

export function conflict(option: string, message: string): CordonOptionError {
  return new CordonOptionError('ERR_CORDON_CONFLICTING_OPTIONS', option, message);
}

/** Deeper than any option nests (`cgroup.io.devices[0].readBps` is four levels). */
export const MAX_OPTION_DEPTH = 8;
/** Longer than any list an option takes; each list's own limit is checked after. */
export const MAX_OPTION_LIST = 1 << 20;

function child(option: string, key: string): string {
  return option === '' ? key : `${option}.${key}`;
}

/**
 * The caller's options as cordon reads them, read once: every plain object
 * becomes a null-prototype copy of its own enumerable string keys, every
 * array a dense copy whose holes are undefined. So a polluted
 * Object.prototype or Array.prototype is never read as an option, and a
 * getter (or Proxy) is asked once: what is validated is what is used.
 * Values of other classes (streams, servers, AbortSignals, pools) are kept
 * as they are. An exception thrown while reading (a getter, a Proxy trap)
 * becomes a CordonOptionError naming the option, the exception its cause.
 * `option` names `value` in errors; '' for the options object itself.
 */
export function ownSnapshot(value: unknown, option: string, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  // A validator's own frozen copy already: taken as it is.
  if (isValidated(value)) return value;
  const name = option === '' ? 'options' : option;
  let keys: string[];
  let list = false;
  try {
    list = Array.isArray(value);
    if (!list && !isPlainObject(value)) return value;
    if (depth >= MAX_OPTION_DEPTH) {
      throw invalidValue(name, list ? 'an array' : 'an object', `nests deeper than any option (${MAX_OPTION_DEPTH} levels)`);
    }
    if (list) {
      const length = (value as unknown[]).length;
      if (length > MAX_OPTION_LIST) throw invalidValue(name, length, `has more entries than any option takes (${MAX_OPTION_LIST})`);
      const copy: unknown[] = new Array<unknown>(length);
      // An element's name is made only for an error or a nested value (argv and env lists are long).
      for (let i = 0; i < length; i++) copy[i] = snapshotOwn(value, String(i), name, true, depth);
      return copy;
    }
    keys = Object.keys(value);
  } catch (error) {
    throw unreadable(name, error);
  }
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of keys) copy[key] = snapshotOwn(value, key, option, false, depth);
  return copy;
}

// ownSnapshot() of an own property (undefined for a hole or an inherited
// key), read once. Its name (`parent[key]` for an element, `parent.key`
// else) is made only when needed: for an error, or a value that nests.
function snapshotOwn(object: object, key: string, parent: string, element: boolean, depth: number): unknown {
  let found: unknown;
  try {
    found = Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
  } catch (error) {
    throw unreadable(element ? `${parent}[${key}]` : child(parent, key), error);
  }
  if (typeof found !== 'object' || found === null) return found;
  return ownSnapshot(found, element ? `${parent}[${key}]` : child(parent, key), depth + 1);
}

/** A CordonOptionError for an option whose reading threw (a getter, a Proxy trap); the exception is its cause. */
export function unreadable(option: string, error: unknown): CordonOptionError {
  if (error instanceof CordonOptionError) return error;
  const reason = error instanceof Error ? error.message : safeString(error);
  return new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option could not be read: ${reason}`, { cause: error });
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

// Names the option the caller most likely meant: `readOnly` for `readonly`,
// `hostName` for `hostname`, one typo away.
export function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function rejectUnknownKeys(object: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const option = prefix === '' ? key : `${prefix}.${key}`;
    const guess = closest(key, known);
    const suggestion = guess === undefined ? '' : ` Did you mean "${prefix === '' ? guess : `${prefix}.${guess}`}"?`;
    throw new CordonOptionError('ERR_CORDON_UNKNOWN_OPTION', option, `Unknown option "${option}".${suggestion}`);
  }
}

export function checkString(option: string, value: unknown, { allowEmpty = false } = {}): string {
  if (typeof value !== 'string') throw invalidType(option, 'of type string', value);
  if (!allowEmpty && value.length === 0) throw invalidValue(option, value, 'must not be empty');
  if (value.includes('\0')) throw invalidValue(option, value, 'must not contain null bytes');
  return value;
}

export function checkAbsolutePath(option: string, value: unknown): string {
  const text = checkString(option, value);
  if (!path.isAbsolute(text)) throw invalidValue(option, text, 'must be an absolute path');
  return text;
}

export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(option, 'of type boolean', value);
  return value;
}

export function checkInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(option, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidValue(option, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

