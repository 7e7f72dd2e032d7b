// Seccomp: policy → classic-BPF program, compiled in the parent before clone.
// The child installs the bytes with seccomp(SECCOMP_SET_MODE_FILTER) as its
// last step before exec (native/child/seccomp.cc); nothing here runs in it.
//
// Why cordon's own compiler rather than libseccomp. libseccomp would be a
// native dependency of the addon (a shared library to find at run time, or
// to build and ship in every prebuild) for something that is, in the end, a
// few hundred 8-byte instructions. Written in TypeScript, the compiler runs in
// the parent with no native code at all, a policy is compiled once and the
// bytes cached per policy (the same bytes go into every plan that uses it), and
// the output is deterministic and testable without root: the tests run every
// program through a BPF interpreter over every syscall of both architectures,
// and through the real kernel. It also compiles for x86_64 and aarch64 from
// either, and owns its syscall tables, so a config is checked the same on every
// host. The trade-offs: cordon carries those tables (generated from the kernel
// headers, see README.md here) and must add new syscalls itself, where
// libseccomp users get them with a library update; it implements only what
// cordon needs (two architectures; argument conditions with libseccomp's seven
// 64-bit comparisons), not every ABI or the notify and trace actions; and its
// tree dispatch and jump layout are cordon's to get right, which is why the
// interpreter tests cover every syscall number and both sides of every
// comparison.
import { archInfo } from './arch';
import type { SeccompArch } from './arch';
import { encodeProgram } from './bpf';
import { generateProgram } from './compile';
import { canonicalKey, resolveSeccomp, validateSeccomp } from './policy';
import type { NormalizedSeccompPolicy, SeccompPolicy } from './policy';
import { conflict } from '../internal/checks';
import { step, type PlanStep } from '../internal/steps';

export type { SeccompArch } from './arch';
export { AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from './arch';
export {
  BPF_MAXINSNS,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRAP,
} from './bpf';
export { CLONE_NAMESPACE_FLAGS, DEFAULT_PROFILE, UNSHARE_NAMESPACE_FLAGS } from './profile';
export type { ArgTest, ProfileEntry } from './profile';
export { resolveSeccomp, validateSeccomp } from './policy';
export type {
  ErrnoName,
  NormalizedAction,
  NormalizedAllowRule,
  NormalizedDenyRule,
  NormalizedSeccompPolicy,
  ResolvedCondition,
  ResolvedRule,
  ResolvedSeccomp,
  ResolvedSyscall,
  SeccompAction,
  SeccompAllowRule,
  SeccompPolicy,
  SeccompRule,
} from './policy';
export { MAX_ARG_CONDITIONS } from './args';
export type { NormalizedArgCondition, SeccompArgCondition, SeccompArgOp } from './args';
export { SYSCALLS_AARCH64 } from './syscalls-aarch64';
export { SYSCALLS_X86_64 } from './syscalls-x86_64';

/**
 * Compiles a policy for `arch` (the host's by default) into the `sock_filter`
 * array the kernel takes: 8 bytes per instruction (u16 code, u8 jt, u8 jf,
 * u32 k, little-endian), at most 4096 instructions. Validates the policy first
 * (throws CordonOptionError on `seccomp.*` like validateSeccomp). Pure: the
 * same policy gives the same bytes.
 */
export function compileSeccomp(policy: SeccompPolicy, arch?: SeccompArch): Buffer {
  return encodeProgram(generateProgram(resolveSeccomp(policy, archInfo(arch).arch)));
}

const CACHE_LIMIT = 64;

/** A compiled filter as a plan carries it: made once per (architecture, policy), shared by every box. */
export interface CompiledFilter {
  /** The `sock_filter` bytes. Shared: do not write to it. */
  readonly program: Buffer;
  /** The same bytes in hex, as the plan's seccomp step and the init's `--seccomp` take them. */
  readonly hex: string;
  /** How many instructions (`program.length / 8`). */
  readonly instructions: number;
}

const cache = new Map<string, CompiledFilter>();

// The most recently used entries stay; the oldest goes past CACHE_LIMIT.
function cachedFilter(key: string, compile: () => Buffer): CompiledFilter {
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const program = compile();
  const filter: CompiledFilter = Object.freeze({ program, hex: program.toString('hex'), instructions: program.length / 8 });
  cache.set(key, filter);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return filter;
}

/**
 * compileSeccomp, remembered per (architecture, policy): policies that differ
 * only in the order of their lists or in errno names versus numbers share one
 * entry. Returns the cached Buffer itself, shared by every caller: do not write
 * to it (copy it first). Keeps the 64 most recently compiled policies.
 */
export function compileCached(policy: SeccompPolicy, arch?: SeccompArch): Buffer {
  return filterFor(validateSeccomp(policy), arch).program;
}

/**
 * The box's filter for a policy validateSeccomp has already checked (the
 * spawn's validated options): found in the cache that compileCached shares,
 * with its hex, so a box whose policy was seen before costs one key lookup,
 * not a validation, a compilation and a hex encoding (measured in
 * benchmarks/RESULTS.md). The key is the policy's canonical form per
 * architecture, which decides the program (resolution and compilation are
 * pure), so equal policies from different objects share one entry.
 */
export function filterFor(policy: NormalizedSeccompPolicy, arch?: SeccompArch): CompiledFilter {
  const info = archInfo(arch);
  return cachedFilter(`${info.arch} ${canonicalKey(policy)}`, () => compileSeccomp(policy, info.arch));
}


/**
 * The `seccomp` option of a box. A filter needs no_new_privs to install (the
 * payload has no CAP_SYS_ADMIN left): with new privileges allowed there is no
 * default filter, and an explicit one is a conflict.
 */
export function validateSeccompOption(value: unknown, allowNewPrivileges: boolean): NormalizedSeccompPolicy | undefined {
  if (value !== undefined && value !== false && allowNewPrivileges) {
    throw conflict('seccomp', 'a seccomp filter needs no_new_privs: it cannot be combined with allowNewPrivileges');
  }
  return value === false || allowNewPrivileges ? undefined : validateSeccomp(value, 'seccomp');
}

/** The box's seccomp step: the filter compiled once per policy (filterFor); the box installs it, it does not compile it. */
export function seccompSteps(policy: NormalizedSeccompPolicy | undefined): PlanStep[] {
  if (policy === undefined) return [];
  const filter = filterFor(policy);
  return [step('seccomp', { name: 'install seccomp filter', syscall: 'seccomp', kind: 'seccomp' }, { program: filter.hex, instructions: filter.instructions })];
}
