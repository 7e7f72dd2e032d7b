/*
 * The smallest init: pid 1 of the C floor's "exec'd init" mode. Started as
 *   tiny-init PAYLOAD [ARGS...]
 * it forks, the child execs the payload, and it exits with the payload's
 * status. No libc (a static glibc start-up probes the CPU, which traps to
 * the hypervisor here), raw system calls only, like cordon's own init.
 * Built by the bench with
 *   cc -static -nostdlib -fno-stack-protector -O2 -o tiny-init tiny-init.c
 * It prices the one exec a process that shares Node's memory must make
 * before it can start the payload (cordon cannot fork Node), and nothing of
 * what cordon's init does besides (signal forwarding, reaping).
 *
 * Started as `tiny-init -f FD PAYLOAD [ARGS...]` (the floor's "guarded"
 * mode), it also pays the kernel's part of cordon's seccomp guarantees:
 * FD holds a classic-BPF program (cordon's default payload profile, as the
 * bench compiled it), which the payload's process installs right before its
 * execve, and pid 1 installs a small allowlist of its own after the fork,
 * as cordon's init does. no_new_privs is inherited from the floor's set-up.
 */
#if defined(__x86_64__)
#define NR_EXECVE 59
#define NR_EXIT 60
#define NR_WAIT4 61
#define NR_CLONE 56
#define NR_READ 0
#define NR_CLOSE 3
#define NR_SECCOMP 317
#define AUDIT_ARCH 0xc000003eu
static const unsigned int init_calls[] = {61 /* wait4 */, 60 /* exit */, 231 /* exit_group */, 15 /* rt_sigreturn */,
                                           219 /* restart_syscall */, 62 /* kill */, 1 /* write */, 128 /* rt_sigtimedwait */};
static long sys4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
#define NR_EXECVE 221
#define NR_EXIT 93
#define NR_WAIT4 260
#define NR_CLONE 220
#define NR_READ 63
#define NR_CLOSE 57
#define NR_SECCOMP 277
#define AUDIT_ARCH 0xc00000b7u
static const unsigned int init_calls[] = {260 /* wait4 */, 93 /* exit */, 94 /* exit_group */, 139 /* rt_sigreturn */,
                                          128 /* restart_syscall */, 129 /* kill */, 64 /* write */, 137 /* rt_sigtimedwait */};
static long sys4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#else
#error "tiny-init.c: add the system calls for this architecture"
#endif

#define SIGCHLD 17
#define SECCOMP_SET_MODE_FILTER 1
#define RET_ALLOW 0x7fff0000u
#define RET_KILL_PROCESS 0x80000000u
#define NCALLS (sizeof init_calls / sizeof init_calls[0])

struct insn {
  unsigned short code;
  unsigned char jt, jf;
  unsigned int k;
};
struct prog {
  unsigned short len;
  struct insn *filter;
};

static struct insn payload_filter[4096];

/* Reads the payload's program from fd; returns its instruction count, 0 on failure. */
static unsigned short read_filter(long fd) {
  long got = 0, n;
  char *at = (char *)payload_filter;
  while ((n = sys4(NR_READ, fd, (long)(at + got), (long)(sizeof payload_filter - got), 0)) > 0) got += n;
  sys4(NR_CLOSE, fd, 0, 0, 0);
  return n < 0 || got % 8 != 0 ? 0 : (unsigned short)(got / 8);
}

/* pid 1's own allowlist: its arch, then only the calls of a wait loop. */
static long seal_init(void) {
  static struct insn own[5 + NCALLS];
  unsigned i = 0;
  own[i++] = (struct insn){0x20, 0, 0, 4};                              /* ld arch */
  own[i++] = (struct insn){0x15, 0, (unsigned char)(NCALLS + 1), AUDIT_ARCH}; /* jeq arch, else kill */
  own[i++] = (struct insn){0x20, 0, 0, 0};                              /* ld nr */
  for (unsigned c = 0; c < NCALLS; c++) own[i++] = (struct insn){0x15, (unsigned char)(NCALLS - c), 0, init_calls[c]};
  own[i++] = (struct insn){0x06, 0, 0, RET_KILL_PROCESS};
  own[i++] = (struct insn){0x06, 0, 0, RET_ALLOW};
  struct prog p = {(unsigned short)i, own};
  return sys4(NR_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, (long)&p, 0);
}

static long parse_fd(const char *s) {
  long v = 0;
  if (*s == 0) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

__attribute__((noreturn)) static void leave(long code) {
  for (;;) sys4(NR_EXIT, code, 0, 0, 0);
}

__attribute__((used)) void init_main(long *stack) {
  long argc = stack[0];
  char **argv = (char **)(stack + 1);
  char **envp = argv + argc + 1;
  long filter_fd = -1;
  if (argc >= 4 && argv[1][0] == '-' && argv[1][1] == 'f' && argv[1][2] == 0) {
    filter_fd = parse_fd(argv[2]);
    if (filter_fd < 0) leave(2);
    argv += 2;
    argc -= 2;
  }
  if (argc < 2) leave(2);
  /* fork: clone(SIGCHLD) with no stack, as fork() is */
  long pid = sys4(NR_CLONE, SIGCHLD, 0, 0, 0);
  if (pid < 0) leave(126);
  if (pid == 0) {
    if (filter_fd >= 0) {
      struct prog p = {read_filter(filter_fd), payload_filter};
      if (p.len == 0 || sys4(NR_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, (long)&p, 0) != 0) leave(125);
    }
    sys4(NR_EXECVE, (long)argv[1], (long)(argv + 1), (long)envp, 0);
    leave(127);
  }
  if (filter_fd >= 0) {
    sys4(NR_CLOSE, filter_fd, 0, 0, 0);
    if (seal_init() != 0) leave(124);
  }
  int status = 0;
  while (sys4(NR_WAIT4, pid, (long)&status, 0, 0) < 0) {
  }
  leave((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f));
}

#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call init_main\n  hlt\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n  mov x29, xzr\n  mov x0, sp\n  bl init_main\n  brk #0\n");
#endif
