/*
 * seccomp-probe: installs a seccomp program compiled by cordon, then makes one
 * system call and says what the kernel answered. Built by kernel.test.js with cc.
 *
 *   seccomp-probe PROGRAM CASE [ARG...]
 *
 * PROGRAM is a file holding the raw sock_filter array (8 bytes per
 * instruction), or "-" to install nothing (the baseline). The program is
 * installed as cordon's child does it: prctl(PR_SET_NO_NEW_PRIVS), then
 * seccomp(SECCOMP_SET_MODE_FILTER). Prints one line on stdout:
 *   ok VALUE     the call returned VALUE (or what the case reports)
 *   err ERRNO    the call failed with ERRNO (a number)
 * and exits 0; exits 3 if the program could not be installed, 2 on bad usage.
 * A kill action shows as death by SIGSYS. After the install only the case's
 * own calls, write and exit_group are made: no stdio, no malloc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static void say(const char *kind, long value) {
  char line[96];
  int n = snprintf(line, sizeof line, "%s %ld\n", kind, value);
  if (write(1, line, (size_t)n) < 0) _exit(4);
}

static void say_text(const char *text) {
  if (write(1, text, strlen(text)) < 0) _exit(4);
}

/* A raw syscall's result: ok VALUE or err ERRNO. */
static void report(long r) {
  if (r < 0) say("err", errno);
  else say("ok", r);
}

static void on_sigsys(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)context;
  say("sigsys", info->si_syscall);
  _exit(0);
}

static void *thread_main(void *arg) { return arg; }

static int load_and_install(const char *path) {
  static unsigned char program[4096 * 8 + 1];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t size = read(fd, program, sizeof program);
  close(fd);
  if (size <= 0 || size % 8 != 0 || size > 4096 * 8) return EINVAL;
  struct sock_fprog prog = {.len = (unsigned short)(size / 8), .filter = (struct sock_filter *)program};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *what = argv[2];

  /* Everything a case needs that is not the call under test happens before the install. */
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  int pipe_fds[2];
  if (null_fd < 0 || pipe(pipe_fds) != 0) return 2;
  char status[4096];
  int status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, NULL);

  if (strcmp(argv[1], "-") != 0) {
    int error = load_and_install(argv[1]);
    if (error != 0) {
      say("install-failed", error);
      return 3;
    }
  }

  char c = 'x';
  errno = 0;
  if (strcmp(what, "nothing") == 0) {
    say_text("ok 0\n");
  } else if (strcmp(what, "getpid") == 0) {
    report(syscall(SYS_getpid));
  } else if (strcmp(what, "getppid") == 0) {
    report(syscall(SYS_getppid));
  } else if (strcmp(what, "getpgid") == 0) {
    report(syscall(SYS_getpgid, 0));
  } else if (strcmp(what, "getsid") == 0) {
    report(syscall(SYS_getsid, 0));
  } else if (strcmp(what, "gettid") == 0) {
    report(syscall(SYS_gettid));
  } else if (strcmp(what, "sysinfo") == 0) {
    static char info[256];
    report(syscall(SYS_sysinfo, info));
  } else if (strcmp(what, "keyctl") == 0) {
    report(syscall(SYS_keyctl, 9999, 0, 0, 0, 0));
  } else if (strcmp(what, "add_key") == 0) {
    report(syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
  } else if (strcmp(what, "request_key") == 0) {
    report(syscall(SYS_request_key, NULL, NULL, NULL, 0));
  } else if (strcmp(what, "bpf") == 0) {
    report(syscall(SYS_bpf, -1, NULL, 0));
  } else if (strcmp(what, "perf_event_open") == 0) {
    report(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  } else if (strcmp(what, "userfaultfd") == 0) {
    report(syscall(SYS_userfaultfd, ~0));
  } else if (strcmp(what, "io_uring_setup") == 0) {
    report(syscall(SYS_io_uring_setup, 0, NULL));
  } else if (strcmp(what, "kexec_load") == 0) {
    report(syscall(SYS_kexec_load, 0, 0, NULL, 0));
  } else if (strcmp(what, "init_module") == 0) {
    report(syscall(SYS_init_module, NULL, 0, ""));
  } else if (strcmp(what, "delete_module") == 0) {
    report(syscall(SYS_delete_module, NULL, 0));
  } else if (strcmp(what, "reboot") == 0) {
    report(syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: EINVAL even for root */
  } else if (strcmp(what, "swapon") == 0) {
    report(syscall(SYS_swapon, NULL, 0));
  } else if (strcmp(what, "settimeofday") == 0) {
    report(syscall(SYS_settimeofday, NULL, NULL)); /* a no-op when allowed */
  } else if (strcmp(what, "clock_settime") == 0) {
    report(syscall(SYS_clock_settime, CLOCK_REALTIME, NULL));
  } else if (strcmp(what, "adjtimex") == 0) {
    struct timex tx;
    memset(&tx, 0, sizeof tx); /* modes 0: a read-only query when allowed */
    report(syscall(SYS_adjtimex, &tx));
  } else if (strcmp(what, "syslog") == 0) {
    report(syscall(SYS_syslog, 10, NULL, 0)); /* SYSLOG_ACTION_SIZE_BUFFER */
  } else if (strcmp(what, "acct") == 0) {
    report(syscall(SYS_acct, (char *)1));
  } else if (strcmp(what, "open_by_handle_at") == 0) {
    report(syscall(SYS_open_by_handle_at, -1, NULL, 0));
  } else if (strcmp(what, "name_to_handle_at") == 0) {
    static struct { unsigned int bytes; int type; } handle = {0, 0};
    int mount_id;
    report(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0));
  } else if (strcmp(what, "mount") == 0) {
    report(syscall(SYS_mount, NULL, NULL, NULL, 0, NULL));
  } else if (strcmp(what, "umount2") == 0) {
    report(syscall(SYS_umount2, NULL, 0));
  } else if (strcmp(what, "pivot_root") == 0) {
    report(syscall(SYS_pivot_root, NULL, NULL));
  } else if (strcmp(what, "setns") == 0) {
    report(syscall(SYS_setns, -1, 0));
  } else if (strcmp(what, "unshare-user") == 0) {
    report(syscall(SYS_unshare, CLONE_NEWUSER));
  } else if (strcmp(what, "unshare-fs") == 0) {
    report(syscall(SYS_unshare, CLONE_FS));
  } else if (strcmp(what, "clone-newuser") == 0) {
    long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
    if (r == 0) _exit(0);
    if (r > 0) waitpid((pid_t)r, NULL, 0);
    report(r < 0 ? -1 : 0);
  } else if (strcmp(what, "clone3") == 0) {
    report(syscall(SYS_clone3, NULL, 0));
  } else if (strcmp(what, "fork") == 0) {
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    int wstatus = 0;
    if (pid < 0 || waitpid(pid, &wstatus, 0) < 0) report(-1);
    else say("ok", WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus));
  } else if (strcmp(what, "thread") == 0) {
    pthread_t thread;
    int error = pthread_create(&thread, NULL, thread_main, NULL);
    if (error == 0) error = pthread_join(thread, NULL);
    if (error != 0) say("err", error);
    else say("ok", 0);
  } else if (strcmp(what, "tiocsti") == 0) {
    report(syscall(SYS_ioctl, null_fd, TIOCSTI, &c));
  } else if (strcmp(what, "tiocsti-high") == 0) {
    report(syscall(SYS_ioctl, null_fd, 0x100000000UL | TIOCSTI, &c));
  } else if (strcmp(what, "tioclinux") == 0) {
    report(syscall(SYS_ioctl, null_fd, TIOCLINUX, &c));
  } else if (strcmp(what, "tcgets") == 0) {
    struct termios tio;
    report(syscall(SYS_ioctl, null_fd, TCGETS, &tio));
  } else if (strcmp(what, "fionread") == 0) {
    int pending = -1;
    long r = syscall(SYS_ioctl, pipe_fds[0], FIONREAD, &pending);
    report(r < 0 ? r : pending);
  } else if (strcmp(what, "status") == 0) {
    /* Seccomp and NoNewPrivs as /proc shows them after the install. */
    ssize_t n = status_fd < 0 ? -1 : read(status_fd, status, sizeof status - 1);
    if (n < 0) {
      report(-1);
    } else {
      status[n] = '\0';
      char *nnp = strstr(status, "NoNewPrivs:");
      char *mode = strstr(status, "Seccomp:");
      say("ok", (nnp ? strtol(nnp + 11, NULL, 10) : -1) * 10 + (mode ? strtol(mode + 8, NULL, 10) : -1));
    }
#if defined(__x86_64__)
  } else if (strcmp(what, "x32-getpid") == 0) {
    report(syscall(0x40000000 | 39));
  } else if (strcmp(what, "int80-getpid") == 0) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    if (r < 0) say("err", -r);
    else say("ok", r);
#endif
  } else if (strcmp(what, "getppid-args") == 0 && argc == 9) {
    /* getppid ignores its arguments; the filter sees the six registers as given. */
    unsigned long a[6];
    for (int i = 0; i < 6; i++) a[i] = strtoul(argv[3 + i], NULL, 0);
    report(syscall(SYS_getppid, a[0], a[1], a[2], a[3], a[4], a[5]) > 0 ? 1 : -1);
  } else if (strcmp(what, "exec") == 0 && argc > 3) {
    execv(argv[3], argv + 3);
    report(-1);
  } else {
    return 2;
  }
  return 0;
}
