// A classic-BPF interpreter for seccomp programs, written from the kernel's
// rules (net/core/filter.c bpf_check_classic, kernel/seccomp.c
// seccomp_check_filter) and independent of cordon's compiler: it checks a
// program the way the kernel would before loading it, then runs it over a
// struct seccomp_data and returns the 32-bit action.
'use strict';

const BPF_MAXINSNS = 4096;
const SECCOMP_DATA_SIZE = 64;

// Classes, sizes, modes, ops, sources (linux/bpf_common.h).
const BPF_LD = 0x00;
const BPF_LDX = 0x01;
const BPF_ST = 0x02;
const BPF_STX = 0x03;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_MISC = 0x07;
const BPF_W = 0x00;
const BPF_IMM = 0x00;
const BPF_ABS = 0x20;
const BPF_MEM = 0x60;
const BPF_LEN = 0x80;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_A = 0x10;
const BPF_TAX = 0x00;
const BPF_TXA = 0x80;

const ALU_OPS = { 0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh', 0x80: 'neg', 0x90: 'mod', 0xa0: 'xor' };
const JMP_OPS = { 0x00: 'ja', 0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset' };

function decodeProgram(bytes) {
  if (!Buffer.isBuffer(bytes)) throw new TypeError('program must be a Buffer');
  if (bytes.length % 8 !== 0) throw new Error(`program length ${bytes.length} is not a multiple of 8`);
  const program = [];
  for (let at = 0; at < bytes.length; at += 8) {
    program.push({ code: bytes.readUInt16LE(at), jt: bytes[at + 2], jf: bytes[at + 3], k: bytes.readUInt32LE(at + 4) });
  }
  return program;
}

// What the kernel accepts; throws with the reason it would answer EINVAL.
function check(program) {
  const length = program.length;
  if (length === 0 || length > BPF_MAXINSNS) throw new Error(`bad length ${length}`);
  program.forEach((insn, pc) => {
    const cls = insn.code & 0x07;
    const where = `instruction ${pc} (code 0x${insn.code.toString(16)})`;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = insn.code & 0xe0;
        const size = insn.code & 0x18;
        if (cls === BPF_LD && mode === BPF_ABS) {
          if (size !== BPF_W) throw new Error(`${where}: seccomp loads only 32-bit words`);
          if (insn.k >= SECCOMP_DATA_SIZE || insn.k % 4 !== 0) throw new Error(`${where}: bad seccomp_data offset ${insn.k}`);
        } else if (mode === BPF_LEN) {
          if (size !== BPF_W) throw new Error(`${where}: bad len load`);
        } else if (mode === BPF_MEM) {
          if (insn.k >= 16) throw new Error(`${where}: scratch slot out of range`);
        } else if (mode !== BPF_IMM) {
          throw new Error(`${where}: load mode not allowed in seccomp`);
        }
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (insn.k >= 16) throw new Error(`${where}: scratch slot out of range`);
        break;
      case BPF_ALU: {
        const op = insn.code & 0xf0;
        if (!(op in ALU_OPS)) throw new Error(`${where}: bad ALU op`);
        if ((op === 0x30 || op === 0x90) && (insn.code & BPF_X) === 0 && insn.k === 0) throw new Error(`${where}: division by zero`);
        break;
      }
      case BPF_JMP: {
        const op = insn.code & 0xf0;
        if (!(op in JMP_OPS)) throw new Error(`${where}: bad jump op`);
        if (op === 0x00) {
          if (insn.k >= length - pc - 1) throw new Error(`${where}: ja beyond the end`);
        } else if (pc + insn.jt + 1 >= length || pc + insn.jf + 1 >= length) {
          throw new Error(`${where}: jump beyond the end`);
        }
        break;
      }
      case BPF_RET:
        if ((insn.code & 0x18) !== BPF_K && (insn.code & 0x18) !== BPF_A) throw new Error(`${where}: bad ret`);
        break;
      case BPF_MISC:
        if ((insn.code & 0xf8) !== BPF_TAX && (insn.code & 0xf8) !== BPF_TXA) throw new Error(`${where}: bad misc`);
        break;
      default:
        throw new Error(`${where}: bad class`);
    }
  });
  const last = program[length - 1];
  if ((last.code & 0x07) !== BPF_RET) throw new Error('the last instruction is not a ret');
  return program;
}

/** struct seccomp_data for { nr, arch, ip?, args? } (args: numbers or BigInts). */
function seccompData({ nr, arch, ip = 0n, args = [] }) {
  const data = Buffer.alloc(SECCOMP_DATA_SIZE);
  data.writeInt32LE(nr | 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  data.writeBigUInt64LE(BigInt.asUintN(64, BigInt(ip)), 8);
  for (let i = 0; i < 6; i++) data.writeBigUInt64LE(BigInt.asUintN(64, BigInt(args[i] ?? 0)), 16 + 8 * i);
  return data;
}

/** Runs a checked program over seccomp_data; returns { ret, steps }. */
function run(program, input) {
  const data = Buffer.isBuffer(input) ? input : seccompData(input);
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const insn = program[pc];
    if (insn === undefined) throw new Error(`fell off the program at ${pc}`);
    steps++;
    const cls = insn.code & 0x07;
    const src = insn.code & BPF_X ? X : insn.k;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = insn.code & 0xe0;
        let value;
        if (mode === BPF_ABS) value = data.readUInt32LE(insn.k);
        else if (mode === BPF_LEN) value = SECCOMP_DATA_SIZE;
        else if (mode === BPF_MEM) value = mem[insn.k];
        else value = insn.k;
        if (cls === BPF_LD) A = value >>> 0;
        else X = value >>> 0;
        pc++;
        break;
      }
      case BPF_ST:
        mem[insn.k] = A;
        pc++;
        break;
      case BPF_STX:
        mem[insn.k] = X;
        pc++;
        break;
      case BPF_ALU: {
        const op = ALU_OPS[insn.code & 0xf0];
        const ops = {
          add: () => A + src,
          sub: () => A - src,
          mul: () => Math.imul(A, src),
          div: () => (src === 0 ? null : Math.floor(A / src)),
          mod: () => (src === 0 ? null : A % src),
          or: () => A | src,
          and: () => A & src,
          xor: () => A ^ src,
          lsh: () => (src >= 32 ? 0 : A << src),
          rsh: () => (src >= 32 ? 0 : A >>> src),
          neg: () => -A,
        };
        const value = ops[op]();
        if (value === null) return { ret: 0, steps }; // division by zero at run time ends the filter with 0
        A = value >>> 0;
        pc++;
        break;
      }
      case BPF_JMP: {
        const op = JMP_OPS[insn.code & 0xf0];
        if (op === 'ja') {
          pc += 1 + insn.k;
          break;
        }
        const b = src >>> 0;
        const taken = op === 'jeq' ? A === b : op === 'jgt' ? A > b : op === 'jge' ? A >= b : (A & b) !== 0;
        pc += 1 + (taken ? insn.jt : insn.jf);
        break;
      }
      case BPF_RET:
        return { ret: ((insn.code & 0x18) === BPF_A ? A : insn.k) >>> 0, steps };
      case BPF_MISC:
        if ((insn.code & 0xf8) === BPF_TAX) X = A;
        else A = X;
        pc++;
        break;
      default:
        throw new Error(`bad class at ${pc}`);
    }
  }
}

/** Decodes a returned action: { action: 'allow' | 'errno' | 'kill-process' | ..., errno? }. */
function describe(ret) {
  const action = ret & 0xffff0000;
  switch (action >>> 0) {
    case 0x7fff0000:
      return { action: 'allow' };
    case 0x7ffc0000:
      return { action: 'log' };
    case 0x80000000:
      return { action: 'kill-process' };
    case 0x00000000:
      return { action: 'kill' };
    case 0x00030000:
      return { action: 'trap', data: ret & 0xffff };
    case 0x00050000:
      return { action: 'errno', errno: ret & 0xffff };
    default:
      return { action: `unknown 0x${(ret >>> 0).toString(16)}` };
  }
}

/** Checks a program Buffer and returns a function evaluating it. */
function load(bytes) {
  const program = check(decodeProgram(bytes));
  const evaluate = (input) => run(program, input);
  evaluate.program = program;
  return evaluate;
}

module.exports = { BPF_MAXINSNS, check, decodeProgram, describe, load, run, seccompData };
