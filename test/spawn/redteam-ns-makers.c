// Red team for test/spawn/redteam-ns-makers.test.js: every way this file
// knows to make a namespace, tried from inside a box. A default box's user
// namespace gets no namespace-count limits (lib/seccomp/namespaces.ts), so
// each must be refused. Prints one line per attempt, "NAME refused ERRNO" or
// "NAME made", then "done". x86_64 only (the ptrace rewrite and the i386 /
// x32 entries use its registers and numbers).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define X32_BIT 0x40000000L

static const struct { const char *name; unsigned long flag; } kinds[] = {
  {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID}, {"net", CLONE_NEWNET},
  {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

static void report(const char *name, long r, int error) {
  if (r >= 0) printf("%s made\n", name);
  else printf("%s refused %d\n", name, error);
  fflush(stdout);
}

// What one attempt gave, in the child that made it.
struct outcome {
  int failed;
  int error;
};

// Runs attempt(arg) in a child, so a success (or a kill by the filter)
// changes nothing here, and reports it under `name`.
static void in_child(const char *name, struct outcome (*attempt)(const void *), const void *arg) {
  int status_pipe[2];
  if (pipe(status_pipe) != 0) { perror("pipe"); exit(3); }
  pid_t pid = fork();
  if (pid == 0) {
    struct outcome o = attempt(arg);
    int result[2] = {o.failed ? -1 : 0, o.error};
    if (write(status_pipe[1], result, sizeof result) != sizeof result) _exit(1);
    _exit(0);
  }
  close(status_pipe[1]);
  int result[2] = {-1, EIO};
  ssize_t n = read(status_pipe[0], result, sizeof result);
  close(status_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n != sizeof result) {
    // Killed before it could say (a kill action): refused.
    printf("%s refused %s\n", name, WIFSIGNALED(status) ? "killed" : "silent");
    fflush(stdout);
    return;
  }
  report(name, result[0], result[1]);
}

struct call {
  long nr;
  unsigned long a0, a1, a2;
};

// A system call through libc's syscall().
static struct outcome raw_call(const void *arg) {
  const struct call *c = arg;
  errno = 0;
  long r = syscall(c->nr, c->a0, c->a1, c->a2, 0, 0, 0);
  if (r == 0 && (c->nr == SYS_clone || c->nr == SYS_clone3)) _exit(0);  // the new process: the parent reports
  return (struct outcome){r < 0, errno};
}

static void try_call(const char *name, long nr, unsigned long a0, unsigned long a1, unsigned long a2) {
  struct call c = {nr, a0, a1, a2};
  in_child(name, raw_call, &c);
}

// The i386 ABI through int 0x80: unshare is 310 there.
static struct outcome int80_unshare(const void *arg) {
  (void)arg;
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(310L), "b"((long)CLONE_NEWUSER) : "memory");
  return (struct outcome){r < 0, r < 0 ? (int)-r : 0};
}

// A tracer rewrites a child's harmless getppid into unshare(CLONE_NEWUSER)
// at the syscall-entry stop: seccomp must judge the rewritten call.
static void ptrace_rewrite(void) {
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    long r = syscall(SYS_getppid);
    _exit(r == 0 ? 0 : 1);  // unshare's 0 when the rewrite made a namespace
  }
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) { printf("ptrace-rewrite refused setup\n"); return; }
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD) != 0) {
    printf("ptrace-rewrite refused %d\n", errno);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return;
  }
  long result = -ENOSYS;
  int entered = 0;
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, pid, 0, 0) != 0) break;
    if (waitpid(pid, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status)) break;
    if (!(WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))) continue;
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, 0, &regs);
    if (!entered && regs.orig_rax == SYS_getppid) {
      regs.orig_rax = SYS_unshare;
      regs.rdi = CLONE_NEWUSER;
      ptrace(PTRACE_SETREGS, pid, 0, &regs);
      entered = 1;
    } else if (entered) {
      result = (long)regs.rax;
      kill(pid, SIGKILL);
      break;
    }
  }
  waitpid(pid, &status, 0);
  if (!entered) printf("ptrace-rewrite refused no-entry\n");
  else if (result == 0) printf("ptrace-rewrite made\n");
  else printf("ptrace-rewrite refused %ld\n", -result);
  fflush(stdout);
}

int main(void) {
  char name[64];
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    snprintf(name, sizeof name, "unshare-%s", kinds[i].name);
    try_call(name, SYS_unshare, kinds[i].flag, 0, 0);
    // High bits set: the filter tests the low 32 bits, as the kernel reads them.
    snprintf(name, sizeof name, "unshare-%s-high", kinds[i].name);
    try_call(name, SYS_unshare, kinds[i].flag | (1UL << 32), 0, 0);
    if (kinds[i].flag == CLONE_NEWTIME) continue;  // 0x80 is clone's exit-signal byte
    snprintf(name, sizeof name, "clone-%s", kinds[i].name);
    try_call(name, SYS_clone, kinds[i].flag | SIGCHLD, 0, 0);
    snprintf(name, sizeof name, "clone-%s-high", kinds[i].name);
    try_call(name, SYS_clone, kinds[i].flag | SIGCHLD | (1UL << 40), 0, 0);
    snprintf(name, sizeof name, "x32-unshare-%s", kinds[i].name);
    try_call(name, SYS_unshare | X32_BIT, kinds[i].flag, 0, 0);
  }
  uint64_t clone3_args[11] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0, 0, 0, 0};
  try_call("clone3-user", SYS_clone3, (unsigned long)clone3_args, sizeof clone3_args, 0);
  try_call("open_tree-clone", 428 /* open_tree */, (unsigned long)AT_FDCWD, (unsigned long)"/", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
  try_call("fsopen-tmpfs", 430 /* fsopen */, (unsigned long)"tmpfs", 0, 0);
  try_call("io_uring_setup", 425 /* io_uring_setup */, 8, (unsigned long)calloc(1, 120), 0);
  try_call("setns-self-user", SYS_setns, (unsigned long)open("/proc/self/ns/user", O_RDONLY), CLONE_NEWUSER, 0);
  in_child("i386-unshare", int80_unshare, NULL);
  ptrace_rewrite();
  printf("done\n");
  return 0;
}
