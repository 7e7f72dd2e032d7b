// Argument checks shared by every options module: one message shape, the
// option's dotted name, and a guess for misspelled keys.
import * as path from 'node:path';

import { CordonOptionError } from '../errors';

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `type string (${JSON.stringify(value.slice(0, 40))})`;
  return `type ${typeof value} (${String(value)})`;
}

export function invalidType(option: string, expected: string, value: unknown): CordonOptionError {
  return new CordonOptionError(
    'ERR_INVALID_ARG_TYPE',
    option,
    `The "${option}" option must be ${expected}. Received ${typeName(value)}`,
  );
}

export function invalidValue(option: string, value: unknown, reason: string): CordonOptionError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  return new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option ${reason}. Received ${shown}`);
}

export function conflict(option: string, message: string): CordonOptionError {
  return new CordonOptionError('ERR_CORDON_CONFLICTING_OPTIONS', option, message);
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

