// The default profile: what a tenant never needs, and why. Everything not
// listed here is allowed in denylist mode (the default). Names a given arch
// lacks (iopl on aarch64) are skipped for that arch.
//
// Left allowed on purpose:
// - ptrace, process_vm_readv/writev, kcmp: debugging one's own processes
//   (strace, gdb) is ordinary work. The pid namespace limits them to the
//   box, and the one process there the payload did not start, cordon's init,
//   is out of their reach: it is non-dumpable (the kernel's ptrace access
//   checks refuse it to a payload without CAP_SYS_PTRACE over it) and runs
//   under a stricter filter than any payload's, so even a traced init could
//   make no call the payload cannot (native/init/cordon_init.cc).
// - chroot, sethostname, setdomainname: harmless inside the box's own mount and
//   UTS namespaces (and chroot needs CAP_SYS_CHROOT).
// - personality, modify_ldt, mbind/set_mempolicy/move_pages: needed by some
//   runtimes (Wine, NUMA-aware servers) and not a boundary.
// - statmount, listmount: read-only views of the box's own mounts.
import * as os from 'node:os';

/** A test on one syscall argument; seccomp sees the raw register values. */
export interface ArgTest {
  /** Which argument (0..5). */
  arg: number;
  /**
   * `equals`: the low 32 bits of the argument equal `value` (for `unsigned int`
   * parameters such as ioctl's request: the kernel itself ignores the high half,
   * so comparing all 64 bits could be bypassed by setting it).
   * `hasAnyBit`: the low 32 bits share a set bit with `value`.
   */
  test: 'equals' | 'hasAnyBit';
  value: number;
}

export interface ProfileEntry {
  /** The calls this entry refuses. */
  syscalls: readonly string[];
  /** What the refused call returns: an errno name. */
  errno: 'EPERM' | 'ENOSYS';
  /** When present, only calls whose arguments pass one of these tests are refused. */
  when?: readonly ArgTest[];
  /** Why a tenant never needs it. */
  reason: string;
}

const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

// linux/sched.h
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWTIME = 0x00000080;

/** The namespace flags clone(2) accepts (0x80 is part of its exit-signal byte there). */
export const CLONE_NAMESPACE_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
/** The namespace flags unshare(2) accepts. */
export const UNSHARE_NAMESPACE_FLAGS = CLONE_NAMESPACE_FLAGS | CLONE_NEWTIME;

export const DEFAULT_PROFILE: readonly ProfileEntry[] = [
  {
    syscalls: ['init_module', 'finit_module', 'delete_module'],
    errno: 'EPERM',
    reason: 'loading or removing kernel modules changes the host kernel',
  },
  {
    syscalls: ['kexec_load', 'kexec_file_load'],
    errno: 'EPERM',
    reason: 'replaces the running kernel',
  },
  {
    syscalls: ['reboot'],
    errno: 'EPERM',
    reason: 'reboots or halts the host (in a pid namespace: ends the box init), never needed by a tenant',
  },
  {
    syscalls: ['swapon', 'swapoff'],
    errno: 'EPERM',
    reason: 'swap devices are host-wide',
  },
  {
    syscalls: ['settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex'],
    errno: 'EPERM',
    reason:
      'the real-time clock is host-wide (time namespaces cover only the monotonic and boot clocks); ' +
      'adjtimex and clock_adjtime are refused even for read-only NTP status queries: allow them if a program needs those',
  },
  {
    syscalls: ['acct'],
    errno: 'EPERM',
    reason: 'process accounting is host-wide',
  },
  {
    syscalls: ['quotactl', 'quotactl_fd'],
    errno: 'EPERM',
    reason: 'disk quotas belong to the host file systems',
  },
  {
    syscalls: ['syslog'],
    errno: 'EPERM',
    reason: 'the kernel log is host-wide and leaks kernel addresses and the events of other tenants',
  },
  {
    syscalls: ['vhangup'],
    errno: 'EPERM',
    reason: 'hangs up the controlling terminal for every process using it',
  },
  {
    syscalls: ['iopl', 'ioperm'],
    errno: 'EPERM',
    reason: 'raw I/O port access (x86_64 only)',
  },
  {
    syscalls: ['add_key', 'keyctl', 'request_key'],
    errno: 'EPERM',
    reason:
      'the kernel keyrings are not namespaced (keys of one uid are shared across boxes) and have a long CVE history',
  },
  {
    syscalls: ['bpf'],
    errno: 'EPERM',
    reason: 'eBPF programs reach into the kernel: the verifier is a large attack surface',
  },
  {
    syscalls: ['perf_event_open'],
    errno: 'EPERM',
    reason: 'performance counters observe other processes and the kernel, and are a frequent exploit vector',
  },
  {
    syscalls: ['fanotify_init'],
    errno: 'EPERM',
    reason:
      'fanotify watches whole mounts and filesystems; Docker\'s and Podman\'s default profiles refuse it to a container without ' +
      'CAP_SYS_ADMIN, and a box has none (allowing it also gives the box its own fanotify limits, see kernelCounters)',
  },
  {
    syscalls: ['userfaultfd'],
    errno: 'EPERM',
    reason: 'lets a process stall the kernel on a page fault: the standard tool to win kernel race conditions',
  },
  {
    syscalls: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
    errno: 'EPERM',
    reason:
      'the operations an io_uring performs are not seen by seccomp, and it has been the source of many ' +
      'kernel exploits; libuv, liburing users and tokio fall back to ordinary syscalls',
  },
  {
    syscalls: ['open_by_handle_at', 'name_to_handle_at'],
    errno: 'EPERM',
    reason: 'file handles open files by inode, beneath any mount or root (the "shocker" container escape)',
  },
  {
    syscalls: [
      'mount',
      'umount2',
      'pivot_root',
      'fsopen',
      'fsconfig',
      'fsmount',
      'fspick',
      'move_mount',
      'open_tree',
      'open_tree_attr',
      'mount_setattr',
    ],
    errno: 'EPERM',
    reason:
      'cordon builds the file system of the box before the filter is installed; the payload must not rebuild it ' +
      '(and mounts reach much file-system code)',
  },
  {
    syscalls: ['setns'],
    errno: 'EPERM',
    reason: 'joining other namespaces is the way out of a box',
  },
  {
    syscalls: ['unshare'],
    errno: 'EPERM',
    when: [{ arg: 0, test: 'hasAnyBit', value: UNSHARE_NAMESPACE_FLAGS }],
    reason:
      'new namespaces (above all user namespaces) open kernel code that is otherwise root-only; ' +
      'unshare of files or fs state stays allowed',
  },
  {
    syscalls: ['clone'],
    errno: 'EPERM',
    when: [{ arg: 0, test: 'hasAnyBit', value: CLONE_NAMESPACE_FLAGS }],
    reason: 'as unshare: fork and threads stay allowed, new namespaces do not',
  },
  {
    syscalls: ['clone3'],
    errno: 'ENOSYS',
    reason:
      'its flags sit in memory seccomp cannot read, so it cannot be filtered like clone; ENOSYS makes glibc ' +
      'and other runtimes fall back to clone, which is',
  },
  {
    syscalls: ['ioctl'],
    errno: 'EPERM',
    when: [
      { arg: 1, test: 'equals', value: TIOCSTI },
      { arg: 1, test: 'equals', value: TIOCLINUX },
    ],
    reason:
      'TIOCSTI pushes input into a terminal (commands typed into the shell outside the box); TIOCLINUX ' +
      'can read and paste the console selection; every other ioctl is allowed',
  },
  {
    syscalls: ['lookup_dcookie', 'uselib'],
    errno: 'EPERM',
    reason: 'obsolete (oprofile; a.out libraries), gone from recent kernels; refused on older ones',
  },
];

export function errnoValue(name: 'EPERM' | 'ENOSYS'): number {
  return os.constants.errno[name];
}
