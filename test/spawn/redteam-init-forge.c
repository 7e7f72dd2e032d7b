/* A payload allowed CAP_SYS_PTRACE (an explicit loosening) that reaches pid 1
 * (the init) forges the init's exit record: it makes pid 1 write {code 0,
 * signal 0} on its exit pipe, then keeps running. The host must not take
 * that for the box's end: kill(), the timeout, the abort signal and dispose
 * must still end the box. x86_64 only (the injection is arch-specific).
 * Prints "forged FD" or "forge-failed STEP ERRNO", then waits forever. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void out(const char *text) { (void)!write(1, text, strlen(text)); }

static void fail(const char *step) {
  char text[80];
  snprintf(text, sizeof text, "forge-failed %s %d\n", step, errno);
  out(text);
}

#if defined(__x86_64__)
/* Runs one system call in the stopped pid 1; its return value or -1000. */
static long inject(const struct user_regs_struct *saved, long nr, long a0, long a1, long a2) {
  struct user_regs_struct regs = *saved;
  regs.rip -= 2;
  regs.rax = (unsigned long)nr;
  regs.orig_rax = (unsigned long)-1;
  regs.rdi = (unsigned long)a0;
  regs.rsi = (unsigned long)a1;
  regs.rdx = (unsigned long)a2;
  if (ptrace(PTRACE_SETREGS, 1, 0, &regs) < 0) return -1000;
  int st;
  for (int stop = 0; stop < 2; stop++) {
    if (ptrace(PTRACE_SYSCALL, 1, 0, 0) < 0) return -1000;
    if (waitpid(1, &st, __WALL) < 0 || !WIFSTOPPED(st)) return -1000;
  }
  if (ptrace(PTRACE_GETREGS, 1, 0, &regs) < 0) return -1000;
  return (long)regs.rax;
}

static void forge(void) {
  if (ptrace(PTRACE_SEIZE, 1, 0, PTRACE_O_TRACESYSGOOD) < 0) return fail("seize");
  int st;
  if (ptrace(PTRACE_INTERRUPT, 1, 0, 0) < 0 || waitpid(1, &st, __WALL) < 0) return fail("stop");
  struct user_regs_struct saved;
  if (ptrace(PTRACE_GETREGS, 1, 0, &saved) < 0) return fail("regs");
  /* An ExitRecord {code 0, signal 0} below pid 1's stack pointer. */
  unsigned long record = (saved.rsp - 512) & ~7UL;
  if (ptrace(PTRACE_POKEDATA, 1, (void *)record, 0) < 0) return fail("poke");
  int fd = -1;
  for (int candidate = 0; candidate < 256 && fd < 0; candidate++) {
    if (inject(&saved, SYS_write, candidate, (long)record, 8) == 8) fd = candidate;
  }
  saved.rax = (unsigned long)-EINTR;
  saved.orig_rax = (unsigned long)-1;
  ptrace(PTRACE_SETREGS, 1, 0, &saved);
  ptrace(PTRACE_DETACH, 1, 0, 0);
  if (fd < 0) {
    errno = 0;
    return fail("write");
  }
  char text[40];
  snprintf(text, sizeof text, "forged %d\n", fd);
  out(text);
}
#else
static void forge(void) {
  errno = ENOSYS;
  fail("arch");
}
#endif

int main(void) {
  forge();
  for (;;) pause();
}
