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
  private size = 0;

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

export function encodePlan(plan: Plan): EncodedPlan {
  const { steps } = plan;
  if (steps.length === 0 || steps.length > MAX_STEPS) throw new RangeError(`a plan has 1 to ${MAX_STEPS} steps`);
  if (plan.fds.length > MAX_FD_SLOTS) throw new RangeError(`a plan has at most ${MAX_FD_SLOTS} fds`);
  const strings = new StringArea();
  strings.add(['']); // the area is never empty and always NUL-terminated
  const records = Buffer.alloc(steps.length * STEP_SIZE);
  steps.forEach((step, i) => {
    const at = i * STEP_SIZE;
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
  });
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
