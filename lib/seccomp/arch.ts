// The two architectures cordon compiles for: their audit arch value, their
// syscall table, and whether the x32 ABI must be refused.
import { CordonError, CordonOptionError } from '../errors';
import { SYSCALLS_AARCH64 } from './syscalls-aarch64';
import { SYSCALLS_X86_64 } from './syscalls-x86_64';

/** Node's names (`process.arch`) for the architectures seccomp programs are compiled for. */
export type SeccompArch = 'x64' | 'arm64';

export interface ArchInfo {
  arch: SeccompArch;
  /** The kernel's name for it. */
  kernelName: 'x86_64' | 'aarch64';
  /** AUDIT_ARCH_* (linux/audit.h), what seccomp_data.arch holds for native syscalls. */
  auditArch: number;
  /** x86_64: x32 syscalls carry __X32_SYSCALL_BIT in their number and must be refused. */
  x32Bit: number | undefined;
  syscalls: ReadonlyMap<string, number>;
}

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const X32_SYSCALL_BIT = 0x40000000;

export const ARCHES: Readonly<Record<SeccompArch, ArchInfo>> = {
  x64: {
    arch: 'x64',
    kernelName: 'x86_64',
    auditArch: AUDIT_ARCH_X86_64,
    x32Bit: X32_SYSCALL_BIT,
    syscalls: SYSCALLS_X86_64,
  },
  arm64: {
    arch: 'arm64',
    kernelName: 'aarch64',
    auditArch: AUDIT_ARCH_AARCH64,
    x32Bit: undefined,
    syscalls: SYSCALLS_AARCH64,
  },
};

/** Every name any supported architecture knows, sorted: for "Did you mean". */
export const ALL_SYSCALL_NAMES: readonly string[] = [
  ...new Set([...SYSCALLS_X86_64.keys(), ...SYSCALLS_AARCH64.keys()]),
].sort();

export function isKnownSyscall(name: string): boolean {
  return SYSCALLS_X86_64.has(name) || SYSCALLS_AARCH64.has(name);
}

/** The arch argument of the public functions: `process.arch` unless given. */
export function archInfo(arch: unknown, option = 'arch'): ArchInfo {
  if (arch === undefined) {
    if (process.arch === 'x64' || process.arch === 'arm64') return ARCHES[process.arch];
    throw new CordonError(
      'ERR_CORDON_UNSUPPORTED_PLATFORM',
      `cordon compiles seccomp programs for x64 and arm64, not ${process.arch}`,
    );
  }
  if (arch === 'x64' || arch === 'arm64') return ARCHES[arch];
  throw new CordonOptionError(
    'ERR_INVALID_ARG_VALUE',
    option,
    `The "${option}" argument must be 'x64' or 'arm64'. Received ${JSON.stringify(String(arch))}`,
  );
}
