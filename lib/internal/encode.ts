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

// One step's record at `at`, its strings added to `strings`.
function writeRecord(records: Buffer, at: number, step: PlanStep, strings: StringArea): void {
  records.writeUInt32LE(Op[step.op], at);
  records.writeUInt32LE(Side[sideOf(step.op)], at + 4);
  records.writeInt32LE(field(step, 'slot') ?? -1, at + 8);
  records.writeUInt32LE(0, at + 12);
  const num = field(step, 'num');
  const str = field(step, 'str');
  const lists = field(step, 'lists');
  for (let k = 0; k < 4; k++) writeInt64(records, element(num, k) ?? 0, at + 16 + k * 8);
  const offsets: number[] = [NO_STRING, NO_STRING, NO_STRING, NO_STRING];
  for (let k = 0; k < 4; k++) {
    const value = element(str, k);
    if (value !== undefined) offsets[k] = strings.add([value]);
  }
  for (let k = 0; k < 4; k++) {
    const list = element(lists, k);
    if (list !== undefined) offsets[k] = strings.add(list);
  }
  offsets.forEach((offset, k) => records.writeUInt32LE(offset, at + 48 + k * 4));
}

export function encodePlan(plan: Plan): EncodedPlan {
  const { steps } = plan;
  if (steps.length === 0 || steps.length > MAX_STEPS) throw new RangeError(`a plan has 1 to ${MAX_STEPS} steps`);
  if (plan.fds.length > MAX_FD_SLOTS) throw new RangeError(`a plan has at most ${MAX_FD_SLOTS} fds`);
  const strings = new StringArea();
  strings.add(['']); // the area is never empty and always NUL-terminated
  const records = Buffer.alloc(steps.length * STEP_SIZE);
  steps.forEach((step, i) => writeRecord(records, i * STEP_SIZE, step, strings));
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
    writeRecord(head, HEADER_SIZE + index * STEP_SIZE, step, strings);
  }
  const appended = strings.bytes();
  head.writeUInt32LE(areaLength + appended.length, 20);
  const patched = Buffer.allocUnsafe(encoded.length + appended.length);
  head.copy(patched, 0);
  encoded.copy(patched, areaOffset, areaOffset);
  appended.copy(patched, encoded.length);
  return patched;
}
