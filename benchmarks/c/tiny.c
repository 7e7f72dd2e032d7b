/*
 * The smallest payload: no libc, no dynamic loader, no CPUID-probing start-up
 * code; `_start` makes the exit system call at once. It shows what spawning
 * costs apart from the payload's own start-up. Built by the bench with
 *   cc -static -nostdlib -O2 -o tiny tiny.c
 */
void _start(void) {
#if defined(__x86_64__)
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall\n\thlt");
#elif defined(__aarch64__)
  __asm__ volatile("mov x0, #0\n\tmov x8, #93\n\tsvc #0\n\tbrk #0");
#else
#error "tiny.c: add the exit system call for this architecture"
#endif
  for (;;) {
  }
}
