// The two clone entry points used by the spawn path; see syscalls.h.
#include "sys/syscalls.h"

namespace cordon::sys {

#if defined(__x86_64__)
long clone3_run(CloneArgs* args, int (*fn)(void*), void* arg) {
  long ret;
  register long r12 __asm__("r12") = (long)fn;
  register long r13 __asm__("r13") = (long)arg;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"  // SYS_exit
      "syscall\n\t"
      "hlt\n"
      "1:\n\t"
      : "=a"(ret)
      : "a"((long)__NR_clone3), "D"(args), "S"(sizeof(CloneArgs)), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
}

long clone_run(unsigned long flags, void* stack_top, int* pidfd_out, int (*fn)(void*), void* arg) {
  long ret;
  register long r10 __asm__("r10") = 0;  // child_tid
  register long r8 __asm__("r8") = 0;    // tls
  register long r12 __asm__("r12") = (long)fn;
  register long r13 __asm__("r13") = (long)arg;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"
      "syscall\n\t"
      "hlt\n"
      "1:\n\t"
      : "=a"(ret)
      : "a"((long)__NR_clone), "D"(flags), "S"(stack_top), "d"(pidfd_out), "r"(r10), "r"(r8),
        "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
long clone3_run(CloneArgs* args, int (*fn)(void*), void* arg) {
  register long x8 __asm__("x8") = __NR_clone3;
  register long x0 __asm__("x0") = (long)args;
  register long x1 __asm__("x1") = sizeof(CloneArgs);
  register long x19 __asm__("x19") = (long)fn;
  register long x20 __asm__("x20") = (long)arg;
  __asm__ volatile(
      "svc 0\n\t"
      "cbnz x0, 1f\n\t"
      "mov x29, xzr\n\t"
      "mov x0, x20\n\t"
      "blr x19\n\t"
      "mov x8, #93\n\t"  // SYS_exit
      "svc 0\n\t"
      "brk #0\n"
      "1:\n\t"
      : "+r"(x0)
      : "r"(x8), "r"(x1), "r"(x19), "r"(x20)
      : "x30", "memory", "cc");
  return x0;
}

long clone_run(unsigned long flags, void* stack_top, int* pidfd_out, int (*fn)(void*), void* arg) {
  // arm64 clone(flags, stack, parent_tid, tls, child_tid)
  register long x8 __asm__("x8") = __NR_clone;
  register long x0 __asm__("x0") = (long)flags;
  register long x1 __asm__("x1") = (long)stack_top;
  register long x2 __asm__("x2") = (long)pidfd_out;
  register long x3 __asm__("x3") = 0;
  register long x4 __asm__("x4") = 0;
  register long x19 __asm__("x19") = (long)fn;
  register long x20 __asm__("x20") = (long)arg;
  __asm__ volatile(
      "svc 0\n\t"
      "cbnz x0, 1f\n\t"
      "mov x29, xzr\n\t"
      "mov x0, x20\n\t"
      "blr x19\n\t"
      "mov x8, #93\n\t"
      "svc 0\n\t"
      "brk #0\n"
      "1:\n\t"
      : "+r"(x0)
      : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x19), "r"(x20)
      : "x30", "memory", "cc");
  return x0;
}
#endif

}  // namespace cordon::sys
