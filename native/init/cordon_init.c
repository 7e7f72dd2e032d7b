/*
 * cordon-init: PID 1 of a box with a new pid namespace.
 *
 * A payload that is PID 1 gets no default signal actions and must reap every
 * orphan in the box, which few programs expect. This init starts the payload,
 * reaps orphans, forwards signals to the payload and ends with its status.
 *
 * argv: cordon-init STATUS_FD EXIT_FD STEP_INDEX N CANDIDATE... [--seccomp STEP HEX] -- ARGV...
 *   STATUS_FD  the status pipe: a failed payload exec is reported there as a
 *              StatusRecord for plan step STEP_INDEX (see plan_abi.h)
 *   EXIT_FD    the exit pipe: one ExitRecord {code, signal} when the payload ends
 *   N          how many exec candidates follow (the PATH search done by cordon)
 *   --seccomp  a classic-BPF program (hex) to install in the payload's process
 *              right before its execve; a failure is reported as plan step STEP
 * The environment is passed to the payload unchanged.
 *
 * Built static, so it runs in any root the box pivots into.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define OP_EXEC 17    /* abi::Op::kExec */
#define OP_SECCOMP 40 /* abi::Op::kSeccomp */

struct status_record { int32_t step_index; uint32_t op; int32_t error; int32_t detail; };
struct exit_record { int32_t code; int32_t signal; };

static int parse_int(const char *s) {
  int v = 0;
  if (*s == '\0') _exit(126);
  for (; *s; s++) {
    if (*s < '0' || *s > '9') _exit(126);
    v = v * 10 + (*s - '0');
  }
  return v;
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    len -= (size_t)n;
  }
}

static void close_all_but(int keep) {
  if (keep > 0) syscall(SYS_close_range, 0, keep - 1, 0);
  syscall(SYS_close_range, keep + 1, ~0U, 0);
}

/* In the payload's process: try each candidate like execvp, then report. */
extern char **environ;

/* Socket activation: LISTEN_PID must be the payload's own pid; cordon
   reserves ten digits after "LISTEN_PID=" for it. */
static void patch_listen_pid(void) {
  for (char **entry = environ; *entry != NULL; entry++) {
    if (strncmp(*entry, "LISTEN_PID=", 11) != 0) continue;
    char *digits = *entry + 11;
    size_t room = strlen(digits);
    char text[16];
    int n = snprintf(text, sizeof text, "%d", (int)getpid());
    if (n > 0 && (size_t)n <= room) memcpy(digits, text, (size_t)n + 1);
    return;
  }
}

static int seccomp_step = -1;
static const char *seccomp_hex = NULL;

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Installs the payload's filter; returns 0 or an errno. */
static int install_seccomp(void) {
  size_t len = strlen(seccomp_hex);
  if (len == 0 || len % 16 != 0) return EINVAL;
  unsigned char *bytes = malloc(len / 2);
  if (bytes == NULL) return ENOMEM;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_value(seccomp_hex[2 * i]), lo = hex_value(seccomp_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return EINVAL;
    bytes[i] = (unsigned char)(hi * 16 + lo);
  }
  struct sock_fprog prog = {(unsigned short)(len / 16), (struct sock_filter *)bytes};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

static void exec_payload(int status_fd, int step_index, char **candidates, int n, char **argv,
                         sigset_t *old_mask) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  patch_listen_pid();
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  sigprocmask(SIG_SETMASK, old_mask, NULL);
  if (seccomp_hex != NULL) {
    int error = install_seccomp();
    if (error != 0) {
      struct status_record record = {seccomp_step, OP_SECCOMP, error, 0};
      write_all(status_fd, &record, sizeof record);
      _exit(127);
    }
  }
  int decided = ENOENT, detail = 0;
  for (int i = 0; i < n; i++) {
    execv(candidates[i], argv);
    int error = errno;
    if (error == ENOENT || error == ENOTDIR || error == ENAMETOOLONG || error == ELOOP) {
      if (decided == ENOENT) detail = i;
      continue;
    }
    if (error == EACCES) {
      if (decided != EACCES) detail = i;
      decided = EACCES;
      continue;
    }
    decided = error;
    detail = i;
    break;
  }
  struct status_record record = {step_index, OP_EXEC, decided, detail};
  write_all(status_fd, &record, sizeof record);
  _exit(127);
}

int main(int argc, char **argv) {
  if (argc < 6) return 126;
  int status_fd = parse_int(argv[1]);
  int exit_fd = parse_int(argv[2]);
  int step_index = parse_int(argv[3]);
  int n = parse_int(argv[4]);
  if (5 + n + 1 >= argc) return 126;
  char **candidates = argv + 5;
  int next = 5 + n;
  if (strcmp(argv[next], "--seccomp") == 0) {
    if (next + 3 >= argc) return 126;
    seccomp_step = parse_int(argv[next + 1]);
    seccomp_hex = argv[next + 2];
    next += 3;
  }
  if (strcmp(argv[next], "--") != 0) return 126;
  char **payload_argv = argv + next + 1;
  fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  fcntl(exit_fd, F_SETFD, FD_CLOEXEC);

  /* Every signal waits in the queue until sigwaitinfo takes it; a blocked
     signal reaches PID 1 even from outside its namespace. */
  sigset_t all, old_mask;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old_mask);

  pid_t payload = fork();
  if (payload < 0) {
    struct status_record record = {step_index, OP_EXEC, errno, -1};
    write_all(status_fd, &record, sizeof record);
    return 127;
  }
  if (payload == 0) exec_payload(status_fd, step_index, candidates, n, payload_argv, &old_mask);

  /* The payload holds the stdio and the status pipe now; the init keeps only
     the exit pipe so that EOF on each reaches the parent when it should. */
  close_all_but(exit_fd);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(payload, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid != payload) continue;
      struct exit_record record = {-1, 0};
      int code;
      if (WIFEXITED(status)) {
        record.code = WEXITSTATUS(status);
        code = record.code;
      } else {
        record.signal = WTERMSIG(status);
        code = 128 + record.signal;
      }
      write_all(exit_fd, &record, sizeof record);
      _exit(code);
    }
  }
}
