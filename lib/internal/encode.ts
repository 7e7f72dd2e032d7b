// Plan → the byte layout of native/plan_abi.h.
import type { Plan, PlanStep } from '../plan';
import {
  HEADER_SIZE,
  MAX_FD_SLOTS,
  MAX_STEPS,
  NO_STRING,
  Op,
  PLAN_ABI_VERSION,
  PLAN_MAGIC,
  STEP_SIZE,
  Side,
  sideOf,
} from './plan-abi';

// Strings are gathered as parts of one JS string and encoded once: cheaper
// than a Buffer per string on the spawn path.
class StringArea {
  private readonly parts: string[] = [];
  private size: number;

  /** `base`: the bytes already in the area before these (a patch appends to an encoded plan's). */
  constructor(base = 0) {
    this.size = base;
  }

  /** Appends strings back to back; returns the byte offset of the first. A list, not a spread: argv may have 100,000s. */
  add(values: readonly string[]): number {
    const offset = this.size;
    for (const value of values) {
      this.parts.push(value, '\0');
      this.size += Buffer.byteLength(value) + 1;
    }
    return offset;
  }

  /** Appends one string; returns its byte offset. */
  addOne(value: string): number {
    const offset = this.size;
    this.parts.push(value, '\0');
    this.size += Buffer.byteLength(value) + 1;
    return offset;
  }

  bytes(): Buffer {
    return Buffer.from(this.parts.join(''), 'utf8');
  }
}

// An int64 field as two int32 halves: the plan's numbers are within ±2^53.
function writeInt64(buffer: Buffer, value: number, at: number): void {
  const low = value % 0x100000000;
  buffer.writeUInt32LE(low < 0 ? low + 0x100000000 : low, at);
  buffer.writeInt32LE(Math.floor(value / 0x100000000), at + 4);
}

// A step's own field, or undefined: steps are object literals, and a polluted
// Object.prototype must not give one a slot, numbers or strings it lacks.
function field<K extends keyof PlanStep>(step: PlanStep, key: K): PlanStep[K] | undefined {
  return Object.hasOwn(step, key) ? step[key] : undefined;
}

// Element k of a step's list, never read from Array.prototype past its end or at a hole.
function element<T>(list: readonly T[] | undefined, k: number): T | undefined {
  return list !== undefined && Object.hasOwn(list, k) ? list[k] : undefined;
}

/** A plan as native().spawn takes it: the bytes, and the fd behind each slot. */
export interface EncodedPlan {
  buffer: Buffer;
  fds: Int32Array;
}

// One step's record at `at`, its strings added to `strings`. `zeroed`: the
// record's bytes are all 0 (a fresh plan's), so the zero fields are left
// as they are; a patched record is written over an old one in full.
function writeRecord(records: Buffer, at: number, step: PlanStep, strings: StringArea, zeroed: boolean): void {
  records.writeUInt32LE(Op[step.op], at);
  records.writeUInt32LE(Side[sideOf(step.op)], at + 4);
  records.writeInt32LE(field(step, 'slot') ?? -1, at + 8);
  if (!zeroed) records.writeUInt32LE(0, at + 12);
  const num = field(step, 'num');
  const str = field(step, 'str');
  const lists = field(step, 'lists');
  for (let k = 0; k < 4; k++) {
    const value = element(num, k) ?? 0;
    if (value !== 0 || !zeroed) writeInt64(records, value, at + 16 + k * 8);
  }
  // Strings first, then lists (a list in slot k takes it over a string there), each appended in that order.
  for (let k = 0; k < 4; k++) {
    const value = element(str, k);
    records.writeUInt32LE(value === undefined ? NO_STRING : strings.addOne(value), at + 48 + k * 4);
  }
  for (let k = 0; k < 4; k++) {
    const list = element(lists, k);
    if (list !== undefined) records.writeUInt32LE(strings.add(list), at + 48 + k * 4);
  }
}

export function encodePlan(plan: Plan): EncodedPlan {
  const { steps } = plan;
  if (steps.length === 0 || steps.length > MAX_STEPS) throw new RangeError(`a plan has 1 to ${MAX_STEPS} steps`);
  if (plan.fds.length > MAX_FD_SLOTS) throw new RangeError(`a plan has at most ${MAX_FD_SLOTS} fds`);
  return (LITTLE_ENDIAN ? encodeAscii(plan) : undefined) ?? encodeExact(plan);
}

// The host's byte order is the plan's (little-endian) on every platform
// cordon builds for (x86_64, arm64); a typed array then writes the fields.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Strings gathered as one JS string, their offsets counted in UTF-16 code
 * units: the byte offsets when every string is ASCII (the common plan: its
 * paths, names and env), which encodeAscii checks at the end.
 */
class AsciiArea {
  readonly parts: string[] = [];
  length = 0;

  add(values: readonly string[]): number {
    const offset = this.length;
    for (const value of values) {
      this.parts.push(value, '\0');
      this.length += value.length + 1;
    }
    return offset;
  }

  addOne(value: string): number {
    const offset = this.length;
    this.parts.push(value, '\0');
    this.length += value.length + 1;
    return offset;
  }
}

/**
 * encodeExact's bytes, written through an Int32Array over the records and
 * with one string for the area, for a plan whose strings are all ASCII and
 * whose numbers are safe integers; undefined for any other plan (then
 * encodeExact writes it, with its errors).
 */
function encodeAscii(plan: Plan): EncodedPlan | undefined {
  const { steps } = plan;
  const recordsEnd = HEADER_SIZE + steps.length * STEP_SIZE;
  const head = new ArrayBuffer(recordsEnd);
  const words = new Int32Array(head);
  const strings = new AsciiArea();
  strings.addOne(''); // the area is never empty and always NUL-terminated
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const at = (HEADER_SIZE + i * STEP_SIZE) >> 2;
    const slot = field(step, 'slot') ?? -1;
    if (slot !== (slot | 0)) return undefined; // no int32: encodeExact throws as it always has
    words[at] = Op[step.op];
    words[at + 1] = Side[sideOf(step.op)];
    words[at + 2] = slot;
    const num = field(step, 'num');
    const str = field(step, 'str');
    const lists = field(step, 'lists');
    for (let k = 0; k < 4; k++) {
      const value = element(num, k) ?? 0;
      if (value === 0) continue;
      if (!Number.isSafeInteger(value)) return undefined;
      // As writeInt64: the low half as uint32 bits (a typed array wraps a negative remainder the same way), the high as int32.
      words[at + 4 + k * 2] = value % 0x100000000;
      words[at + 5 + k * 2] = Math.floor(value / 0x100000000);
    }
    for (let k = 0; k < 4; k++) {
      const value = element(str, k);
      words[at + 12 + k] = value === undefined ? NO_STRING : strings.addOne(value);
    }
    for (let k = 0; k < 4; k++) {
      const list = element(lists, k);
      if (list !== undefined) words[at + 12 + k] = strings.add(list);
    }
  }
  const area = strings.parts.join('');
  if (Buffer.byteLength(area) !== area.length) return undefined; // not all ASCII: offsets in bytes differ
  words[0] = PLAN_MAGIC;
  words[1] = PLAN_ABI_VERSION;
  words[2] = steps.length;
  words[3] = plan.fds.length;
  words[4] = recordsEnd;
  words[5] = area.length;
  const buffer = Buffer.allocUnsafe(recordsEnd + area.length);
  buffer.set(new Uint8Array(head), 0);
  buffer.write(area, recordsEnd, 'latin1');
  return { buffer, fds: Int32Array.from(plan.fds) };
}

/** @internal (exported for tests) The plan's bytes, each string's offset counted in UTF-8 bytes, each field written by Buffer. */
export function encodeExact(plan: Plan): EncodedPlan {
  const { steps } = plan;
  const strings = new StringArea();
  strings.addOne(''); // the area is never empty and always NUL-terminated
  const records = Buffer.alloc(steps.length * STEP_SIZE);
  for (let i = 0; i < steps.length; i++) writeRecord(records, i * STEP_SIZE, steps[i]!, strings, true);
  const area = strings.bytes();
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(PLAN_MAGIC, 0);
  header.writeUInt32LE(PLAN_ABI_VERSION, 4);
  header.writeUInt32LE(steps.length, 8);
  header.writeUInt32LE(plan.fds.length, 12);
  header.writeUInt32LE(HEADER_SIZE + records.length, 16);
  header.writeUInt32LE(area.length, 20);
  return { buffer: Buffer.concat([header, records, area]), fds: Int32Array.from(plan.fds) };
}

/**
 * An encoded plan with some of its steps replaced (same count): each
 * replaced record is rewritten in a copy and its strings appended to the
 * string area; the other records and strings stay as they were. For a
 * compiled template (lib/template.ts), which encodes once and patches per
 * box only the steps whose strings differ (the exec's argv and envp, the
 * terminal's path). The old strings of a replaced step stay, unreferenced.
 */
export function patchSteps(encoded: Buffer, replacements: ReadonlyMap<number, PlanStep>): Buffer {
  const count = encoded.readUInt32LE(8);
  const areaOffset = encoded.readUInt32LE(16);
  const areaLength = encoded.readUInt32LE(20);
  if (areaOffset !== HEADER_SIZE + count * STEP_SIZE || areaOffset + areaLength !== encoded.length) throw new RangeError('cordon: not an encoded plan');
  const strings = new StringArea(areaLength);
  // The records are written into a scratch copy of the header and records
  // first (their new strings' offsets are known only once added), then all
  // copied once into the result. Buffer#copy, not Buffer.from(buffer): that
  // copies byte by byte.
  const head = Buffer.allocUnsafe(areaOffset);
  encoded.copy(head, 0, 0, areaOffset);
  for (const [index, step] of replacements) {
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`cordon: the plan has no step ${index}`);
    writeRecord(head, HEADER_SIZE + index * STEP_SIZE, step, strings, false);
  }
  const appended = strings.bytes();
  head.writeUInt32LE(areaLength + appended.length, 20);
  const patched = Buffer.allocUnsafe(encoded.length + appended.length);
  head.copy(patched, 0);
  encoded.copy(patched, areaOffset, areaOffset);
  appended.copy(patched, encoded.length);
  return patched;
}
