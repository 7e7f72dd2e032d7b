// Typed step constructors: the one place in lib/ that turns an op's named
// fields into the positions of its record (num[k], str[k], lists[k]). The
// positions come from the op table (plan-ops.ts, generated from
// native/plan_abi.h), so a field can only be given by its name, a list's
// count is always its list's length, and a field the op does not have, or a
// required one left out, does not compile.
import { OP_TABLE, type OpName } from './plan-abi';

/**
 * What a step does, for the hints and explanations of its failure (errors.ts):
 * finer than the op where the op serves several purposes (a bind of the
 * host's /proc, a layer, the upper layer).
 */
export type StepKind =
  | 'bind' | 'caps' | 'cgroup' | 'chdir' | 'clone' | 'exec' | 'fd' | 'idhelper' | 'idmap' | 'ids' | 'join' | 'landlock'
  | 'layer' | 'mount' | 'net' | 'nice' | 'oom' | 'pivot' | 'prctl' | 'proc' | 'rlimit' | 'seccomp' | 'session' | 'sync'
  | 'sysctl' | 'sysfs' | 'ucount' | 'umask' | 'upper' | 'uts';

/** One step of a plan, as lib/internal/encode.ts writes it. Built only by `step` below. */
export interface PlanStep {
  op: OpName;
  /** Shown in errors: `step 3/17 'mount proc' /proc`. */
  name: string;
  /** The system call behind it, for error.syscall. */
  syscall: string;
  /** Groups steps for the hint table. */
  kind: StepKind;
  path?: string;
  /** The host path a bind step reads, for errors about it. */
  source?: string;
  /** Index into the spawn's fd slots. */
  slot?: number;
  /** The record's fields by position (the op table's layout). */
  num?: readonly number[];
  str?: readonly (string | undefined)[];
  /** String lists by str slot: argv, envp and exec candidates of an exec step; the fs config of a mount. */
  lists?: readonly (readonly string[] | undefined)[];
}

type Layout<O extends OpName> = (typeof OP_TABLE)[O];
type NumField<O extends OpName> = Exclude<Layout<O>['num'][number], null>;
type StrField<O extends OpName> = Exclude<Layout<O>['str'][number], null>;
/** A flag (a field of range 0..1) may be given as a boolean. */
type NumValue<F> = F extends { readonly max: 1 } ? number | boolean : number;

/** The named fields of op O: numbers (but list counts, taken from the lists), strings and lists. */
export type StepArgs<O extends OpName> = {
  readonly [F in NumField<O> as F extends { readonly count: true } ? never : F['name']]: NumValue<F>;
} & {
  readonly [F in StrField<O> as F['use'] extends 'required' ? F['name'] : never]: string;
} & {
  readonly [F in StrField<O> as F['use'] extends 'optional' ? F['name'] : never]?: string;
} & {
  readonly [F in StrField<O> as F['use'] extends 'list' ? F['name'] : never]: readonly string[];
} & {
  readonly [F in StrField<O> as F['use'] extends 'optionalList' ? F['name'] : never]?: readonly string[];
};

/** What a step says about itself in errors, beside its fields. */
export interface StepLabel {
  /** Shown in errors: `step 3/17 'mount proc' /proc`. */
  name: string;
  /** The system call behind it, for error.syscall. */
  syscall: string;
  /** Groups steps for the hint table and the explanations. */
  kind: PlanStep['kind'];
  path?: string;
  /** The host path a bind step reads, for errors about it. */
  source?: string;
}

/** The fd slot of an op that takes one: required, optional, or none at all. */
type SlotOf<O extends OpName> = Layout<O>['fd'] extends 'required'
  ? { slot: number }
  : Layout<O>['fd'] extends 'optional'
    ? { slot?: number | undefined }
    : { slot?: never };

/** Where each named field goes, worked out once per op. */
interface Placement {
  readonly nums: readonly { readonly name: string; readonly slot: number }[];
  readonly counts: readonly { readonly list: string; readonly slot: number }[];
  readonly strs: readonly { readonly name: string; readonly slot: number }[];
  readonly lists: readonly { readonly name: string; readonly slot: number; readonly optional: boolean }[];
}

const PLACEMENTS = new Map<OpName, Placement>();
for (const [op, row] of Object.entries(OP_TABLE) as [OpName, (typeof OP_TABLE)[OpName]][]) {
  const nums: { name: string; slot: number }[] = [];
  const counts: { list: string; slot: number }[] = [];
  const strs: { name: string; slot: number }[] = [];
  const lists: { name: string; slot: number; optional: boolean }[] = [];
  row.num.forEach((field, slot) => {
    if (field !== null && !('count' in field)) nums.push({ name: field.name, slot });
  });
  row.str.forEach((field, slot) => {
    if (field === null) return;
    if (field.use === 'list' || field.use === 'optionalList') {
      lists.push({ name: field.name, slot, optional: field.use === 'optionalList' });
      if ('count' in field) counts.push({ list: field.name, slot: field.count });
    } else {
      strs.push({ name: field.name, slot });
    }
  });
  PLACEMENTS.set(op, { nums, counts, strs, lists });
}

/**
 * One step of op `op`: `label` says what it is in errors, `args` are its
 * fields by name (see the op's row in native/plan_abi.h).
 */
export function step<O extends OpName>(op: O, label: StepLabel & SlotOf<O>, args: StepArgs<O>): PlanStep {
  const placement = PLACEMENTS.get(op) as Placement;
  const fields = args as unknown as Readonly<Record<string, number | boolean | string | readonly string[] | undefined>>;
  const num = [0, 0, 0, 0];
  const str: (string | undefined)[] = [undefined, undefined, undefined, undefined];
  let lists: (readonly string[] | undefined)[] | undefined;
  for (const { name, slot } of placement.nums) {
    const value = fields[name];
    num[slot] = typeof value === 'boolean' ? (value ? 1 : 0) : (value as number);
  }
  for (const { name, slot } of placement.strs) str[slot] = fields[name] as string | undefined;
  for (const { name, slot, optional } of placement.lists) {
    const list = fields[name] as readonly string[] | undefined;
    // An empty optional list is left out (its count 0), as the decoder allows.
    if (list === undefined || (optional && list.length === 0)) continue;
    lists ??= [undefined, undefined, undefined, undefined];
    lists[slot] = list;
  }
  for (const { list, slot } of placement.counts) {
    num[slot] = (fields[list] as readonly string[] | undefined)?.length ?? 0;
  }
  const built: PlanStep = { op, name: label.name, syscall: label.syscall, kind: label.kind, num, str };
  if (label.path !== undefined) built.path = label.path;
  if (label.source !== undefined) built.source = label.source;
  if (label.slot !== undefined) built.slot = label.slot;
  if (lists !== undefined) built.lists = lists;
  return built;
}

/** A field of a built step of op `op`, by name: what `step` placed (a list count is read from its list). */
export function fieldOf<O extends OpName, K extends keyof StepArgs<O> & string>(built: PlanStep, op: O, name: K): StepArgs<O>[K] | undefined {
  if (built.op !== op) return undefined;
  const row = OP_TABLE[op];
  const num = row.num.findIndex((field) => field !== null && field.name === name);
  if (num >= 0) return built.num?.[num] as StepArgs<O>[K];
  const str = row.str.findIndex((field) => field !== null && field.name === name);
  const use = row.str[str]?.use;
  if (use === 'list' || use === 'optionalList') return built.lists?.[str] as StepArgs<O>[K];
  return built.str?.[str] as StepArgs<O>[K];
}
