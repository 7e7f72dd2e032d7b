// Argument conditions of seccomp rules: the public type, its validation into
// exact 64-bit values, and the set reasoning the OCI mapping needs (can two
// rules match the same call?). compile.ts turns conditions into BPF.
import { CordonOptionError } from '../errors';
import { closest, invalidType, invalidValue, isPlainObject, rejectUnknownKeys, checkInteger } from '../internal/checks';

/**
 * How an argument is compared, all as unsigned 64-bit integers (the raw
 * register value the kernel hands seccomp):
 * - `'eq'`, `'ne'`: equal, not equal to `value`;
 * - `'lt'`, `'le'`, `'gt'`, `'ge'`: below, at most, above, at least `value`;
 * - `'maskedEq'`: `(argument & value) === valueTwo` (`value` is the mask, as in
 *   libseccomp's SCMP_CMP_MASKED_EQ and the OCI format).
 */
export type SeccompArgOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'maskedEq';

/**
 * One test on one argument of a system call. The whole 64-bit register is
 * compared: for a parameter the kernel reads as 32 bits (`int`, `unsigned
 * int`: personality's persona, socket's domain, ioctl's request) a caller
 * can set the high half freely, so a rule that must not be dodged that way
 * compares the low half alone with `{ op: 'maskedEq', value: 0xffffffff,
 * valueTwo: X }`. Values are integers: a `number` (a safe integer; negative
 * ones mean their 64-bit two's complement, `-1` is `0xffffffffffffffff`) or
 * a `bigint` from `-(2n ** 63n)` to `2n ** 64n - 1n`.
 */
export interface SeccompArgCondition {
  /** Which argument: 0 to 5. */
  readonly index: number;
  readonly op: SeccompArgOp;
  /** The value compared against; for `'maskedEq'`, the mask. */
  readonly value: number | bigint;
  /** `'maskedEq'` only (and required there): what the masked argument must equal. */
  readonly valueTwo?: number | bigint;
}

/** A validated condition: exact unsigned 64-bit values. */
export interface NormalizedArgCondition {
  readonly index: number;
  readonly op: SeccompArgOp;
  readonly value: bigint;
  readonly valueTwo?: bigint;
}

export const ARG_OPS: readonly SeccompArgOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'maskedEq'];
/** How many conditions one rule takes (as libseccomp: one per argument). */
export const MAX_ARG_CONDITIONS = 6;
const CONDITION_KEYS = ['index', 'op', 'value', 'valueTwo'] as const;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

/** Checks a rule's `args` list (`where` names it) into exact conditions. */
export function checkArgConditions(where: string, value: unknown): NormalizedArgCondition[] {
  if (!Array.isArray(value)) throw invalidType(where, 'an array of { index, op, value, valueTwo? }', value);
  if (value.length === 0) throw invalidValue(where, 'an empty array', 'must hold at least one condition (leave it out for a rule that always applies)');
  if (value.length > MAX_ARG_CONDITIONS) {
    throw invalidValue(where, `${value.length} conditions`, `must hold at most ${MAX_ARG_CONDITIONS} conditions`);
  }
  return value.map((entry: unknown, i) => checkCondition(`${where}[${i}]`, entry));
}

function checkCondition(where: string, entry: unknown): NormalizedArgCondition {
  if (!isPlainObject(entry)) throw invalidType(where, 'an object { index, op, value, valueTwo? }', entry);
  rejectUnknownKeys(entry, CONDITION_KEYS, where);
  const index = checkInteger(`${where}.index`, entry.index, 0, 5);
  const op = checkOp(`${where}.op`, entry.op);
  const compared = checkU64(`${where}.value`, entry.value);
  if (op !== 'maskedEq') {
    if (entry.valueTwo !== undefined) {
      throw new CordonOptionError('ERR_CORDON_CONFLICTING_OPTIONS', `${where}.valueTwo`, `"${where}.valueTwo" applies only with op 'maskedEq'`);
    }
    if ((op === 'lt' && compared === 0n) || (op === 'gt' && compared === U64_MAX)) {
      throw invalidValue(`${where}.value`, entry.value, `can never hold with op '${op}' (arguments are unsigned 64-bit)`);
    }
    return { index, op, value: compared };
  }
  if (entry.valueTwo === undefined) {
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', `${where}.valueTwo`, `The "${where}.valueTwo" option must be given with op 'maskedEq': the value the masked argument must equal`);
  }
  const want = checkU64(`${where}.valueTwo`, entry.valueTwo);
  if ((want & ~compared) !== 0n) {
    throw invalidValue(`${where}.valueTwo`, entry.valueTwo, `has bits outside the mask "${where}.value", so the condition can never hold`);
  }
  return { index, op, value: compared, valueTwo: want };
}

function checkOp(where: string, value: unknown): SeccompArgOp {
  if (typeof value !== 'string') throw invalidType(where, `one of ${ARG_OPS.map((op) => `'${op}'`).join(', ')}`, value);
  if ((ARG_OPS as readonly string[]).includes(value)) return value as SeccompArgOp;
  const guess = closest(value, ARG_OPS);
  throw new CordonOptionError(
    'ERR_INVALID_ARG_VALUE',
    where,
    `The "${where}" option must be one of ${ARG_OPS.map((op) => `'${op}'`).join(', ')}. ` +
      `Received ${JSON.stringify(value.slice(0, 80))}${guess === undefined ? '' : `. Did you mean '${guess}'?`}`,
  );
}

/** A number (safe integer) or bigint as the unsigned 64-bit value the register holds. */
function checkU64(where: string, value: unknown): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalidValue(where, value, 'must be a safe integer (a bigint for values beyond 2 ** 53)');
    }
    return BigInt.asUintN(64, BigInt(value));
  }
  if (typeof value === 'bigint') {
    if (value < I64_MIN || value > U64_MAX) throw invalidValue(where, `${value}n`, 'must fit in 64 bits');
    return BigInt.asUintN(64, value);
  }
  throw invalidType(where, 'an integer (number or bigint)', value);
}

/** A canonical string of a condition list: equal for equal conditions. */
export function conditionsKey(conditions: readonly NormalizedArgCondition[] | undefined): string {
  if (conditions === undefined) return '';
  return conditions
    .map((c) => `${c.index}:${c.op}:${c.value.toString(16)}${c.valueTwo === undefined ? '' : `:${c.valueTwo.toString(16)}`}`)
    .join(',');
}

// Disjointness, for the OCI mapping: two rules with different actions on one
// call must never both match, or which one wins would depend on an order the
// OCI format does not define. Proved per argument: the rules are disjoint if
// for some argument the values their conditions admit share none. The proof is
// sound, not complete: where it cannot decide it answers "may overlap".

/** True when no call can satisfy both condition lists (`undefined`: always holds). */
export function provablyDisjoint(
  a: readonly NormalizedArgCondition[] | undefined,
  b: readonly NormalizedArgCondition[] | undefined,
): boolean {
  if (a === undefined || b === undefined) return false;
  for (let index = 0; index <= 5; index++) {
    const on = [...a, ...b].filter((c) => c.index === index);
    if (on.length > 0 && emptyOn(on)) return true;
  }
  return false;
}

// Whether the conditions on one argument admit no value at all.
function emptyOn(conditions: readonly NormalizedArgCondition[]): boolean {
  let low = 0n;
  let high = U64_MAX;
  const excluded = new Set<bigint>();
  const masks: { mask: bigint; want: bigint }[] = [];
  for (const c of conditions) {
    switch (c.op) {
      case 'eq':
        low = low > c.value ? low : c.value;
        high = high < c.value ? high : c.value;
        break;
      case 'ne':
        excluded.add(c.value);
        break;
      case 'lt':
        high = high < c.value - 1n ? high : c.value - 1n;
        break;
      case 'le':
        high = high < c.value ? high : c.value;
        break;
      case 'gt':
        low = low > c.value + 1n ? low : c.value + 1n;
        break;
      case 'ge':
        low = low > c.value ? low : c.value;
        break;
      case 'maskedEq':
        masks.push({ mask: c.value, want: c.valueTwo ?? 0n });
        break;
    }
  }
  // (x & mask) == want puts bounds on x too: it has want's bits (x >= want)
  // and none of the mask's other bits (x <= ~(mask & ~want)).
  for (const m of masks) {
    if (m.want > low) low = m.want;
    const ceiling = U64_MAX & ~(m.mask & ~m.want);
    if (ceiling < high) high = ceiling;
  }
  if (low > high) return true;
  // Two masks that want different bits where both look.
  for (const x of masks) {
    for (const y of masks) if (((x.want ^ y.want) & x.mask & y.mask) !== 0n) return true;
  }
  if (low === high) {
    // One value left: test it against everything.
    if (excluded.has(low)) return true;
    return masks.some((m) => (low & m.mask) !== m.want);
  }
  // No masks: empty when the values excluded cover the whole range. With
  // masks as well, the proof gives up (may overlap).
  if (masks.length > 0) return false;
  const covered = [...excluded].filter((v) => v >= low && v <= high).length;
  return high - low + 1n <= BigInt(covered);
}
