/*
 * init-attack: run as a box's payload, attacks the box's PID 1 (cordon's
 * init) the ways a tenant would, and says what the kernel answered. Built
 * static by init-seal.test.js with cc.
 *
 *   init-attack CASE...
 *
 * Cases (each prints "CASE RESULT" lines; RESULT is "ok ..." when the attack
 * worked, "err ERRNO" when the kernel refused it, or a fact):
 *   status      /proc/1/status: "seccomp N", "nnp N"; "caps HEX" (CapEff)
 *   ptrace      PTRACE_ATTACH and PTRACE_SEIZE on pid 1 (detached again)
 *   vm          process_vm_readv and process_vm_writev on pid 1 (writes back
 *               the bytes it read, so a success changes nothing)
 *   mem         open /proc/1/mem read-write and read-only
 *   forge       write a forged exit record {42, 0} through every fd of pid 1
 *               it can get: /proc/1/fd/N opened for writing, pidfd_getfd
 *   exe PID     open /proc/PID/exe for writing, chmod and truncate it (to
 *               its own mode and size: a success changes nothing), and
 *               "exe-id PID DEV:INO" of what it resolves to
 *   inject      (needs CAP_SYS_PTRACE) seize pid 1 and make it call
 *               write(-1, ...) (a call its loop makes: EBADF shows the
 *               injection works), getppid and unshare(CLONE_NEWUSER); prints
 *               what they returned there
 * Exits 7, always: the box must report 7, whatever was forged.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <elf.h>
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void line(const char *text) {
  if (write(1, text, strlen(text)) < 0) _exit(4);
}

static void say(const char *what, long r) {
  char text[160];
  if (r < 0) snprintf(text, sizeof text, "%s err %d\n", what, errno);
  else snprintf(text, sizeof text, "%s ok %ld\n", what, r);
  line(text);
}

static void status(void) {
  FILE *f = fopen("/proc/1/status", "r");
  if (f == NULL) {
    say("status", -1);
    return;
  }
  char text[256];
  while (fgets(text, sizeof text, f) != NULL) {
    char out[300];
    if (strncmp(text, "Seccomp:", 8) == 0) {
      snprintf(out, sizeof out, "seccomp %ld\n", strtol(text + 8, NULL, 10));
      line(out);
    } else if (strncmp(text, "NoNewPrivs:", 11) == 0) {
      snprintf(out, sizeof out, "nnp %ld\n", strtol(text + 11, NULL, 10));
      line(out);
    } else if (strncmp(text, "CapEff:", 7) == 0) {
      snprintf(out, sizeof out, "caps %llx\n", strtoull(text + 7, NULL, 16));
      line(out);
    }
  }
  fclose(f);
}

static void attack_ptrace(void) {
  long r = ptrace(PTRACE_ATTACH, 1, 0, 0);
  say("ptrace-attach", r);
  if (r == 0) {
    int st;
    waitpid(1, &st, __WALL);
    ptrace(PTRACE_DETACH, 1, 0, 0);
  }
  r = ptrace(PTRACE_SEIZE, 1, 0, 0);
  say("ptrace-seize", r);
  /* A seized tracee that was never stopped is detached when we exit. */
}

/* A writable mapping of pid 1 (from its maps, when readable), else its text. */
static uintptr_t writable_address(void) {
  FILE *f = fopen("/proc/1/maps", "r");
  if (f == NULL) return 0x400000;
  char text[512];
  uintptr_t found = 0x400000;
  while (fgets(text, sizeof text, f) != NULL) {
    unsigned long start, end;
    char perms[8];
    if (sscanf(text, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[0] == 'r' && perms[1] == 'w') {
      found = start;
      break;
    }
  }
  fclose(f);
  return found;
}

static void attack_vm(void) {
  char buf[8];
  struct iovec local = {buf, sizeof buf};
  struct iovec remote = {(void *)writable_address(), sizeof buf};
  long r = process_vm_readv(1, &local, 1, &remote, 1, 0);
  say("vm-readv", r);
  if (r != (long)sizeof buf) {
    /* Nothing read: write zeros only if the kernel lets nothing through anyway. */
    memset(buf, 0, sizeof buf);
    remote.iov_base = (void *)0x400000;  /* text: a write there could not land */
  }
  say("vm-writev", process_vm_writev(1, &local, 1, &remote, 1, 0));
}

static void attack_mem(void) {
  int fd = open("/proc/1/mem", O_RDWR);
  say("mem-rdwr", fd);
  if (fd >= 0) close(fd);
  fd = open("/proc/1/mem", O_RDONLY);
  say("mem-rdonly", fd);
  if (fd >= 0) close(fd);
}

static const int32_t forged[2] = {42, 0};

static void attack_forge(void) {
  /* Every fd number, listed or not: a refused listing must not hide one. */
  DIR *dir = opendir("/proc/1/fd");
  say("fd-list", dir == NULL ? -1 : 0);
  if (dir != NULL) closedir(dir);
  int opened = 0, wrote = 0, last_errno = 0;
  for (int n = 0; n < 64; n++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/1/fd/%d", n);
    int fd = open(path, O_WRONLY | O_NONBLOCK);
    if (fd < 0) {
      if (errno != ENOENT) last_errno = errno;
      continue;
    }
    opened++;
    if (write(fd, forged, sizeof forged) == (ssize_t)sizeof forged) wrote++;
    close(fd);
  }
  char text[96];
  if (opened > 0) snprintf(text, sizeof text, "fd-write ok %d %d\n", opened, wrote);
  else snprintf(text, sizeof text, "fd-write err %d\n", last_errno);
  line(text);

  long pidfd = syscall(SYS_pidfd_open, 1, 0);
  say("pidfd-open", pidfd);
  if (pidfd < 0) return;
  int got = 0;
  last_errno = 0;
  for (int n = 0; n < 64; n++) {
    long fd = syscall(SYS_pidfd_getfd, pidfd, n, 0);
    if (fd < 0) {
      if (errno != EBADF) last_errno = errno;
      continue;
    }
    got++;
    if (write((int)fd, forged, sizeof forged) < 0) {
    }
    close((int)fd);
  }
  if (got > 0) snprintf(text, sizeof text, "pidfd-getfd ok %d\n", got);
  else snprintf(text, sizeof text, "pidfd-getfd err %d\n", last_errno);
  line(text);
  close((int)pidfd);
}

static void attack_exe(const char *pid) {
  char path[64], what[64];
  snprintf(path, sizeof path, "/proc/%s/exe", pid);
  struct stat st;
  if (stat(path, &st) == 0) {
    char text[128];
    snprintf(text, sizeof text, "exe-id %s %lu:%lu\n", pid, (unsigned long)st.st_dev, (unsigned long)st.st_ino);
    line(text);
  } else {
    snprintf(what, sizeof what, "exe-stat %s", pid);
    say(what, -1);
    st.st_mode = 0755;
    st.st_size = 0;
  }
  int fd = open(path, O_WRONLY);
  snprintf(what, sizeof what, "exe-open-write %s", pid);
  say(what, fd);
  if (fd >= 0) close(fd);
  snprintf(what, sizeof what, "exe-chmod %s", pid);
  say(what, chmod(path, st.st_mode & 07777));
  snprintf(what, sizeof what, "exe-truncate %s", pid);
  /* Only a file we could stat is truncated, and to its own size. */
  say(what, st.st_size > 0 ? truncate(path, st.st_size) : (errno = EACCES, -1));
}

#if defined(__x86_64__) || defined(__aarch64__)
struct regs_io {
#if defined(__x86_64__)
  struct user_regs_struct r;
#else
  struct user_pt_regs r;
#endif
};

static long get_regs(struct regs_io *regs) {
#if defined(__x86_64__)
  return ptrace(PTRACE_GETREGS, 1, 0, &regs->r);
#else
  struct iovec io = {&regs->r, sizeof regs->r};
  return ptrace(PTRACE_GETREGSET, 1, (void *)NT_PRSTATUS, &io);
#endif
}

static long set_regs(struct regs_io *regs) {
#if defined(__x86_64__)
  return ptrace(PTRACE_SETREGS, 1, 0, &regs->r);
#else
  struct iovec io = {&regs->r, sizeof regs->r};
  return ptrace(PTRACE_SETREGSET, 1, (void *)NT_PRSTATUS, &io);
#endif
}

/* Makes the stopped pid 1 run one system call; its return value, or LONG_MIN. */
static long inject(const struct regs_io *saved, long nr, long a0) {
  struct regs_io regs = *saved;
#if defined(__x86_64__)
  regs.r.rip -= 2; /* back onto the syscall instruction it stopped after */
  regs.r.rax = (unsigned long)nr;
  regs.r.orig_rax = (unsigned long)-1;
  regs.r.rdi = (unsigned long)a0;
#else
  regs.r.pc -= 4;
  regs.r.regs[8] = (unsigned long)nr;
  regs.r.regs[0] = (unsigned long)a0;
#endif
  if (set_regs(&regs) < 0) return LONG_MIN;
  int st;
  /* Entry, then exit of the call. */
  for (int stop = 0; stop < 2; stop++) {
    if (ptrace(PTRACE_SYSCALL, 1, 0, 0) < 0) return LONG_MIN;
    if (waitpid(1, &st, __WALL) < 0 || !WIFSTOPPED(st)) return LONG_MIN;
  }
  if (get_regs(&regs) < 0) return LONG_MIN;
#if defined(__x86_64__)
  return (long)regs.r.rax;
#else
  return (long)regs.r.regs[0];
#endif
}

static void attack_inject(void) {
  long r = ptrace(PTRACE_SEIZE, 1, 0, PTRACE_O_TRACESYSGOOD);
  say("inject-seize", r);
  if (r < 0) return;
  int st;
  if (ptrace(PTRACE_INTERRUPT, 1, 0, 0) < 0 || waitpid(1, &st, __WALL) < 0) {
    say("inject-stop", -1);
    return;
  }
  struct regs_io saved;
  if (get_regs(&saved) < 0) {
    say("inject-regs", -1);
    return;
  }
  char text[96];
  /* A call its loop makes, as a control: the injection itself works. */
  long got = inject(&saved, SYS_write, -1);
  snprintf(text, sizeof text, "inject-write %ld\n", got);
  line(text);
  got = inject(&saved, SYS_getppid, 0);
  snprintf(text, sizeof text, "inject-getppid %ld\n", got);
  line(text);
  got = inject(&saved, SYS_unshare, CLONE_NEWUSER);
  snprintf(text, sizeof text, "inject-unshare %ld\n", got);
  line(text);
  /* Back where it was: interrupted in its wait, which it simply retries. */
#if defined(__x86_64__)
  saved.r.rax = (unsigned long)-EINTR;
  saved.r.orig_rax = (unsigned long)-1;
#else
  saved.r.regs[0] = (unsigned long)-EINTR;
#endif
  set_regs(&saved);
  ptrace(PTRACE_DETACH, 1, 0, 0);
}
#else
static void attack_inject(void) { line("inject-seize err 38\n"); }
#endif

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "status") == 0) status();
    else if (strcmp(argv[i], "ptrace") == 0) attack_ptrace();
    else if (strcmp(argv[i], "vm") == 0) attack_vm();
    else if (strcmp(argv[i], "mem") == 0) attack_mem();
    else if (strcmp(argv[i], "forge") == 0) attack_forge();
    else if (strcmp(argv[i], "exe") == 0 && i + 1 < argc) attack_exe(argv[++i]);
    else if (strcmp(argv[i], "inject") == 0) attack_inject();
    else {
      line("usage\n");
      return 2;
    }
  }
  return 7;
}
