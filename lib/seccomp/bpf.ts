// Classic BPF as seccomp runs it: the instruction encoding, the return
// values, the layout of struct seccomp_data, and the kernel's length limit.
// Nothing here knows about policies; compile.ts builds programs from these.
import { CordonOptionError } from '../errors';

/** One `struct sock_filter`: 8 bytes, little-endian (both supported arches are). */
export interface Instruction {
  /** Opcode: class | size | mode (loads), class | op | source (jumps). */
  code: number;
  /** Relative jump if the condition holds (0..255 instructions ahead). */
  jt: number;
  /** Relative jump otherwise. */
  jf: number;
  /** The constant operand (u32). */
  k: number;
}

// Opcodes (linux/bpf_common.h), combined as seccomp uses them.
export const BPF_LD_W_ABS = 0x20; // A = *(u32 *)(seccomp_data + k)
export const BPF_JMP_JA = 0x05; // pc += k (32-bit: the only long jump)
export const BPF_JMP_JEQ_K = 0x15; // pc += (A == k) ? jt : jf
export const BPF_JMP_JGT_K = 0x25; // pc += (A > k) ? jt : jf
export const BPF_JMP_JGE_K = 0x35; // pc += (A >= k) ? jt : jf
export const BPF_JMP_JSET_K = 0x45; // pc += (A & k) ? jt : jf
export const BPF_RET_K = 0x06; // return k
export const BPF_ALU_AND_K = 0x54; // A &= k

/** linux/filter.h BPF_MAXINSNS: the kernel refuses longer programs (EINVAL). */
export const BPF_MAXINSNS = 4096;
/** The farthest a conditional jump reaches (u8 offsets). */
export const MAX_SHORT_JUMP = 255;

// Return values (linux/seccomp.h). The low 16 bits carry the errno of ERRNO.
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
export const OFFSET_NR = 0;
export const OFFSET_ARCH = 4;
/** The low 32 bits of args[index] on a little-endian machine. */
export function offsetArgLow(index: number): number {
  return 16 + 8 * index;
}
/** The high 32 bits of args[index] on a little-endian machine. */
export function offsetArgHigh(index: number): number {
  return 20 + 8 * index;
}

export function load(offset: number): Instruction {
  return { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: offset };
}

export function ret(value: number): Instruction {
  return { code: BPF_RET_K, jt: 0, jf: 0, k: value >>> 0 };
}

export function jump(code: number, k: number, jt: number, jf: number): Instruction {
  if (jt > MAX_SHORT_JUMP || jf > MAX_SHORT_JUMP || jt < 0 || jf < 0) {
    throw new RangeError(`BPF conditional jump out of range (jt ${jt}, jf ${jf})`);
  }
  return { code, jt, jf, k: k >>> 0 };
}

export function jumpAlways(distance: number): Instruction {
  return { code: BPF_JMP_JA, jt: 0, jf: 0, k: distance >>> 0 };
}

/**
 * Checks the kernel's length limit and writes the `sock_filter` array. `option`
 * names the policy in the error when a program is too long.
 */
export function encodeProgram(program: readonly Instruction[], option = 'seccomp'): Buffer {
  if (program.length === 0) {
    throw new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option compiles to an empty program`);
  }
  if (program.length > BPF_MAXINSNS) {
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      option,
      `The "${option}" option compiles to ${program.length} BPF instructions, ` +
        `more than the kernel's limit of ${BPF_MAXINSNS}`,
    );
  }
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((instruction, index) => {
    const at = index * 8;
    bytes.writeUInt16LE(instruction.code, at);
    bytes.writeUInt8(instruction.jt, at + 2);
    bytes.writeUInt8(instruction.jf, at + 3);
    bytes.writeUInt32LE(instruction.k >>> 0, at + 4);
  });
  return bytes;
}
