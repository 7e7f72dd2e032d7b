// Raw system calls for code that runs between clone and execve.
//
// The child shares the parent's memory (CLONE_VM) and its thread pointer, so
// it must not touch libc state: glibc's syscall() writes errno, which lives in
// the parent thread's TLS. These wrappers return the kernel's result as is
// (a negative errno on failure) and touch nothing else.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace cordon::sys {

// Layout of struct clone_args as of Linux 5.7 (CLONE_ARGS_SIZE_VER2).
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};

#if defined(__x86_64__)
static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory", "cc");
  return x0;
}
#else
#error "cordon supports x86_64 and aarch64"
#endif

template <typename A = long, typename B = long, typename C = long, typename D = long,
          typename E = long, typename F = long>
static inline long sc(long n, A a = 0, B b = 0, C c = 0, D d = 0, E e = 0, F f = 0) {
  return raw_syscall6(n, (long)a, (long)b, (long)c, (long)d, (long)e, (long)f);
}

// Runs fn(arg) on `stack` in a new process made by clone3, then exits with its
// result. Returns the child's pid in the parent, or -errno. Written in
// assembly because the child starts on a fresh stack with no frame to return
// to; the compiler must not touch the stack between the syscall and the call.
long clone3_run(CloneArgs* args, int (*fn)(void*), void* arg);

// The same for the legacy clone() syscall (no CLONE_CLEAR_SIGHAND, no
// CLONE_INTO_CGROUP, no time namespace).
long clone_run(unsigned long flags, void* stack_top, int* pidfd_out, int (*fn)(void*), void* arg);

}  // namespace cordon::sys

#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

#include <errno.h>

namespace cordon::sys {

// openat2 as openat2(2) asks: with RESOLVE_IN_ROOT or RESOLVE_BENEATH it
// fails with EAGAIN when a rename or a mount anywhere on the system raced
// its walk through "..", and the caller is to retry. Bounded, so a flood of
// mounts elsewhere cannot hold a spawn forever.
static inline long openat2_retry(long dir_fd, const char* path, const void* how, unsigned long size) {
  long r = -EAGAIN;
  for (int attempt = 0; attempt < 256 && r == -EAGAIN; attempt++) r = sc(__NR_openat2, dir_fd, path, how, size);
  return r;
}

}  // namespace cordon::sys
