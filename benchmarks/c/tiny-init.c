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
 * what cordon's init does besides (its seal, signal forwarding, reaping).
 */
#if defined(__x86_64__)
#define NR_EXECVE 59
#define NR_EXIT 60
#define NR_WAIT4 61
#define NR_CLONE 56
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

__attribute__((noreturn)) static void leave(long code) {
  for (;;) sys4(NR_EXIT, code, 0, 0, 0);
}

__attribute__((used)) void init_main(long *stack) {
  long argc = stack[0];
  char **argv = (char **)(stack + 1);
  char **envp = argv + argc + 1;
  if (argc < 2) leave(2);
  /* fork: clone(SIGCHLD) with no stack, as fork() is */
  long pid = sys4(NR_CLONE, SIGCHLD, 0, 0, 0);
  if (pid < 0) leave(126);
  if (pid == 0) {
    sys4(NR_EXECVE, (long)argv[1], (long)(argv + 1), (long)envp, 0);
    leave(127);
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
