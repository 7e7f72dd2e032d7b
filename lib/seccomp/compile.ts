// Resolved policy → classic BPF. The program:
//
//   ld  arch;  jeq AUDIT_ARCH ? next : ret KILL_PROCESS     (any other ABI dies)
//   ld  nr
//   x86_64:    jge 0x40000000 ? (jeq 0xffffffff ? dispatch : ret KILL_PROCESS) : dispatch
//   dispatch:  a binary search tree over the syscall number: the number line is
//              cut into ranges that share one decision (gaps take the default),
//              each inner node is `jge boundary`, each leaf `ret ACTION` or a
//              short list of argument tests ending in a `ret`.
//
// Every path reads only nr and arch until it reaches a leaf that tests
// arguments, so the kernel's constant-action cache (Linux 5.11) can prove each
// plainly allowed call allowed once and skip the filter for it afterwards.
//
// Conditional jumps reach at most 255 instructions ahead; where the left subtree
// of a node is longer, the node jumps to a `ja` (32-bit offset) instead.
import type { Instruction } from './bpf';
import {
  BPF_JMP_JEQ_K,
  BPF_JMP_JGE_K,
  BPF_JMP_JSET_K,
  MAX_SHORT_JUMP,
  OFFSET_ARCH,
  OFFSET_NR,
  jump,
  jumpAlways,
  load,
  offsetArgLow,
  ret,
} from './bpf';
import type { ResolvedArgTest, ResolvedSeccomp, ResolvedSyscall } from './policy';

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
  if (call.when === undefined) return { key: `ret:${call.ret}`, leaf: [ret(call.ret)] };
  return { key: `when:${JSON.stringify([call.when, call.ret])}`, leaf: argumentTests(call.when, call.ret) };
}

// ld arg; j?? value ? next : skip; ret ACTION; ... ; ret OTHERWISE
function argumentTests(tests: readonly ResolvedArgTest[], otherwise: number): Instruction[] {
  const code: Instruction[] = [];
  let loaded: number | undefined;
  for (const test of tests) {
    if (test.arg !== loaded) {
      code.push(load(offsetArgLow(test.arg)));
      loaded = test.arg;
    }
    code.push(jump(test.test === 'equals' ? BPF_JMP_JEQ_K : BPF_JMP_JSET_K, test.value, 0, 1), ret(test.ret));
  }
  code.push(ret(otherwise));
  return code;
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
