// Resolved policy → classic BPF. The program:
//
//   ld  arch;  jeq AUDIT_ARCH ? next : ret KILL_PROCESS     (any other ABI dies)
//   ld  nr
//   x86_64:    jge 0x40000000 ? (jeq 0xffffffff ? dispatch : ret KILL_PROCESS) : dispatch
//   dispatch:  a binary search tree over the syscall number: the number line is
//              cut into ranges that share one decision (gaps take the default),
//              each inner node is `jge boundary`, each leaf `ret ACTION` or a
//              short list of rules (argument conditions, then `ret`) ending in
//              the call's own `ret`.
//
// A rule's conditions all hold or it is skipped: each condition falls through
// when it holds and jumps past the rule's `ret` when it does not. Classic BPF
// loads 32-bit words, so a 64-bit comparison reads the high word first and
// looks at the low word only when the high words are equal (masked: after
// masking both).
//
// Every path reads only nr and arch until it reaches a leaf that tests
// arguments, so the kernel's constant-action cache (Linux 5.11) can prove each
// plainly allowed call allowed once and skip the filter for it afterwards.
//
// Conditional jumps reach at most 255 instructions ahead; where the left subtree
// of a node is longer, the node jumps to a `ja` (32-bit offset) instead.
import type { Instruction } from './bpf';
import {
  BPF_ALU_AND_K,
  BPF_JMP_JEQ_K,
  BPF_JMP_JGE_K,
  BPF_JMP_JGT_K,
  BPF_JMP_JSET_K,
  BPF_LD_W_ABS,
  MAX_SHORT_JUMP,
  OFFSET_ARCH,
  OFFSET_NR,
  jump,
  jumpAlways,
  load,
  offsetArgHigh,
  offsetArgLow,
  ret,
} from './bpf';
import type { ResolvedCondition, ResolvedRule, ResolvedSeccomp, ResolvedSyscall } from './policy';

/** One stretch of syscall numbers [start, next range's start) with one decision. */
interface Range {
  start: number;
  key: string;
  leaf: Instruction[];
}

export function generateProgram(resolved: ResolvedSeccomp): Instruction[] {
  const program: Instruction[] = [
    load(OFFSET_ARCH),
    jump(BPF_JMP_JEQ_K, resolved.auditArch, 1, 0),
    ret(resolved.badArchRet),
    load(OFFSET_NR),
  ];
  if (resolved.x32Bit !== undefined) {
    program.push(
      jump(BPF_JMP_JGE_K, resolved.x32Bit, 0, 2),
      jump(BPF_JMP_JEQ_K, 0xffffffff, 1, 0), // nr -1: what a tracer uses to skip a call
      ret(resolved.badArchRet),
    );
  }
  program.push(...tree(ranges(resolved), 0, undefined));
  return program;
}

function ranges(resolved: ResolvedSeccomp): Range[] {
  const fallback: Range = { start: 0, key: `ret:${resolved.defaultRet}`, leaf: [ret(resolved.defaultRet)] };
  const out: Range[] = [];
  const push = (range: Range): void => {
    const last = out[out.length - 1];
    if (last !== undefined && last.key === range.key) return; // same decision: the range grows
    out.push(range);
  };
  let next = 0;
  for (const call of resolved.syscalls) {
    if (call.nr > next) push({ ...fallback, start: next });
    push({ start: call.nr, ...decision(call) });
    next = call.nr + 1;
  }
  push({ ...fallback, start: next });
  return out;
}

function decision(call: ResolvedSyscall): { key: string; leaf: Instruction[] } {
  if (call.rules === undefined) return { key: `ret:${call.ret}`, leaf: [ret(call.ret)] };
  const key = JSON.stringify([call.rules, call.ret], (_, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  return { key: `rules:${key}`, leaf: [...call.rules.flatMap(rule), ret(call.ret)] };
}

// A jump target inside a rule: past the rule's `ret` (the condition failed).
const FAIL = -1;
type Target = number | typeof FAIL;
interface Pending {
  code: number;
  k: number;
  jt: Target;
  jf: Target;
}

// conditions...; ret ACTION. Every FAIL lands on the instruction after the ret.
function rule(r: ResolvedRule): Instruction[] {
  const pending: Pending[] = r.conditions.flatMap(condition);
  const end = pending.length + 1;
  const resolve = (target: Target, at: number): number => (target === FAIL ? end - at - 1 : target);
  return [
    ...pending.map((p, at) => (p.code === BPF_LD_W_ABS || p.code === BPF_ALU_AND_K ? { code: p.code, jt: 0, jf: 0, k: p.k >>> 0 } : jump(p.code, p.k, resolve(p.jt, at), resolve(p.jf, at)))),
    ret(r.ret),
  ];
}

const ld = (offset: number): Pending => ({ code: BPF_LD_W_ABS, k: offset, jt: 0, jf: 0 });
const and = (mask: number): Pending => ({ code: BPF_ALU_AND_K, k: mask, jt: 0, jf: 0 });
const j = (code: number, k: number, jt: Target, jf: Target): Pending => ({ code, k, jt, jf });
const high = (value: bigint): number => Number(value >> 32n);
const low = (value: bigint): number => Number(value & 0xffffffffn);

// One condition: falls through to the next instruction when it holds, FAIL otherwise.
function condition(c: ResolvedCondition): Pending[] {
  const hi = offsetArgHigh(c.arg);
  const lo = offsetArgLow(c.arg);
  const vh = high(c.value);
  const vl = low(c.value);
  switch (c.op) {
    case 'eq':
      return [ld(hi), j(BPF_JMP_JEQ_K, vh, 0, FAIL), ld(lo), j(BPF_JMP_JEQ_K, vl, 0, FAIL)];
    case 'ne': // high words differ: holds (skip the low word); equal: the low word decides
      return [ld(hi), j(BPF_JMP_JEQ_K, vh, 0, 2), ld(lo), j(BPF_JMP_JEQ_K, vl, FAIL, 0)];
    case 'gt': // high above: holds; high equal: low above; high below: fails
      return [ld(hi), j(BPF_JMP_JGT_K, vh, 3, 0), j(BPF_JMP_JEQ_K, vh, 0, FAIL), ld(lo), j(BPF_JMP_JGT_K, vl, 0, FAIL)];
    case 'ge':
      return [ld(hi), j(BPF_JMP_JGT_K, vh, 3, 0), j(BPF_JMP_JEQ_K, vh, 0, FAIL), ld(lo), j(BPF_JMP_JGE_K, vl, 0, FAIL)];
    case 'lt': // high above: fails; high below: holds; high equal: low at least v fails
      return [ld(hi), j(BPF_JMP_JGT_K, vh, FAIL, 0), j(BPF_JMP_JEQ_K, vh, 0, 2), ld(lo), j(BPF_JMP_JGE_K, vl, FAIL, 0)];
    case 'le':
      return [ld(hi), j(BPF_JMP_JGT_K, vh, FAIL, 0), j(BPF_JMP_JEQ_K, vh, 0, 2), ld(lo), j(BPF_JMP_JGT_K, vl, FAIL, 0)];
    case 'maskedEq': {
      const want = c.valueTwo ?? 0n;
      return [...maskedWord(hi, vh, high(want)), ...maskedWord(lo, vl, low(want))];
    }
    case 'anyBit32':
      return [ld(lo), j(BPF_JMP_JSET_K, vl, 0, FAIL)];
  }
}

// (word & mask) == want for one 32-bit half; nothing to test when the mask is 0
// (validation guarantees want has no bits outside the mask).
function maskedWord(offset: number, mask: number, want: number): Pending[] {
  if (mask === 0) return [];
  return [ld(offset), ...(mask === 0xffffffff ? [] : [and(mask)]), j(BPF_JMP_JEQ_K, want, 0, FAIL)];
}

// Ranges [lo, hi) as a subtree; every path ends in a ret, so subtrees never
// fall through into one another.
function tree(all: Range[], lo: number, hi: number | undefined): Instruction[] {
  const end = hi ?? all.length;
  if (end - lo === 1) return (all[lo] as Range).leaf;
  const mid = (lo + end) >>> 1;
  const left = tree(all, lo, mid);
  const right = tree(all, mid, end);
  const boundary = (all[mid] as Range).start;
  if (left.length <= MAX_SHORT_JUMP) {
    return [jump(BPF_JMP_JGE_K, boundary, left.length, 0), ...left, ...right];
  }
  return [jump(BPF_JMP_JGE_K, boundary, 0, 1), jumpAlways(left.length), ...left, ...right];
}
