// The plan's wire constants (native/plan_abi.h). The op table and the value
// enums come from plan-ops.ts, generated from the same header through the
// addon; test/unit/plan-abi.test.js and plan-ops.test.js compare every
// number with what the compiled addon exports.
import { OP_TABLE, PLAN_ENUMS } from './plan-ops';

export const PLAN_MAGIC = 0x4e445243; // "CRDN"
export const PLAN_ABI_VERSION = 4;
export const MAX_STEPS = 4096;
export const MAX_FD_SLOTS = 1024;
export const MAX_INSTALLED_FDS = 256;
export const NO_STRING = 0xffffffff;

export const HEADER_SIZE = 32;
export const STEP_SIZE = 64;
export const STATUS_RECORD_SIZE = 16;
export const EXIT_RECORD_SIZE = 8;

export const Side = { parent: 1, child: 2 } as const;
export type SideName = keyof typeof Side;

/** The op table (native/plan_abi.h), as generated into plan-ops.ts. */
export { OP_TABLE } from './plan-ops';
export type OpName = keyof typeof OP_TABLE;

/** Each op's number. */
export const Op = Object.fromEntries(Object.entries(OP_TABLE).map(([name, row]) => [name, row.number])) as {
  readonly [K in OpName]: (typeof OP_TABLE)[K]['number'];
};

/** StatusRecord.detail of a failed filesystem step (native MountPart). */
export const MountPart = PLAN_ENUMS.MountPart;

/**
 * StatusRecord.detail of a failed execInit step when the init itself failed
 * (native InitPart): the step name and system call to report.
 */
export const InitPart = PLAN_ENUMS.InitPart;

/** Target modes of filesystem steps (their targetMode field). */
export const TargetMode = PLAN_ENUMS.TargetMode;
/** How a bind's source is resolved (bindMount's sourceLinks). */
export const SourceLinks = PLAN_ENUMS.SourceLinks;
/** What setMountAttr changes (its scope). */
export const AttrScope = PLAN_ENUMS.AttrScope;

export function sideOf(op: OpName): SideName {
  return OP_TABLE[op].side;
}
