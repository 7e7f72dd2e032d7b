// cordon-init: PID 1 of a box with a new pid namespace.
//
// A payload that is PID 1 gets no default signal actions and must reap every
// orphan in the box, which few programs expect. This init starts the payload,
// reaps orphans, forwards signals to the payload and ends with its status.
//
// argv: cordon-init STATUS_FD EXIT_FD STEP_INDEX N CANDIDATE... [--seccomp STEP HEX] -- ARGV...
//   STATUS_FD  the status pipe: a failed payload exec is reported there as a
//              StatusRecord for plan step STEP_INDEX (see plan_abi.h)
//   EXIT_FD    the exit pipe: one ExitRecord {code, signal} when the payload ends
//   N          how many exec candidates follow (the PATH search done by cordon)
//   --seccomp  a classic-BPF program (hex) to install in the payload's process
//              right before its execve; a failure is reported as plan step STEP
// The environment is passed to the payload unchanged, except LISTEN_PID.
//
// Freestanding: no libc, raw system calls only, linked static with its own
// _start. A static glibc program spends ~0.3 ms of every box start in libc's
// start-up (CPU feature probing traps to the hypervisor); this one does not.
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "plan_abi.h"
#include "sys/syscalls.h"

using cordon::sys::sc;

extern "C" {
// The compiler may emit calls to these for struct copies and zeroing.
void* memset(void* dest, int c, unsigned long n) {
  auto* p = static_cast<unsigned char*>(dest);
  while (n-- > 0) *p++ = static_cast<unsigned char>(c);
  return dest;
}
void* memcpy(void* dest, const void* src, unsigned long n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  while (n-- > 0) *d++ = *s++;
  return dest;
}
}

namespace {

constexpr int kOpExec = int(cordon::abi::Op::kExec);
constexpr int kOpSeccomp = int(cordon::abi::Op::kSeccomp);

[[noreturn]] void exit_now(int code) {
  for (;;) sc(__NR_exit_group, code);
}

bool same(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

int parse_int(const char* s) {
  int v = 0;
  if (*s == '\0') exit_now(126);
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') exit_now(126);
    v = v * 10 + (*s - '0');
  }
  return v;
}

void write_all(int fd, const void* buf, unsigned long len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    long n = sc(__NR_write, fd, p, len);
    if (n == -EINTR) continue;
    if (n <= 0) return;
    p += n;
    len -= static_cast<unsigned long>(n);
  }
}

[[noreturn]] void report(int status_fd, int step, int op, int error, int detail) {
  cordon::abi::StatusRecord record{step, static_cast<uint32_t>(op), error, detail};
  write_all(status_fd, &record, sizeof record);
  exit_now(127);
}

// Socket activation: LISTEN_PID is the payload's own pid; cordon reserves
// ten digits after "LISTEN_PID=" for it.
void patch_listen_pid(char** envp) {
  const char* name = "LISTEN_PID=";
  for (char** entry = envp; *entry != nullptr; entry++) {
    int k = 0;
    while (name[k] != '\0' && (*entry)[k] == name[k]) k++;
    if (name[k] != '\0') continue;
    char* digits = *entry + k;
    int room = 0;
    while (digits[room] != '\0') room++;
    long pid = sc(__NR_getpid);
    char text[12];
    int n = 0;
    do {
      text[n++] = char('0' + pid % 10);
      pid /= 10;
    } while (pid > 0 && n < 12);
    if (n > room) return;
    for (int j = 0; j < n; j++) digits[j] = text[n - 1 - j];
    digits[n] = '\0';
    return;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

sock_filter g_filter[4096];

// Returns 0 or an errno.
int install_seccomp(const char* hex) {
  unsigned long len = 0;
  while (hex[len] != '\0') len++;
  if (len == 0 || len % 16 != 0 || len / 16 > 4096) return EINVAL;
  auto* bytes = reinterpret_cast<unsigned char*>(g_filter);
  for (unsigned long i = 0; i < len / 2; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return EINVAL;
    bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  sock_fprog prog{static_cast<unsigned short>(len / 16), g_filter};
  long r = sc(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  return r < 0 ? int(-r) : 0;
}

struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

struct Args {
  int status_fd, exit_fd, step;
  char** candidates;
  int candidate_count;
  int seccomp_step;
  const char* seccomp_hex;
  char** argv;
  char** envp;
};

// In the payload's process: try each candidate like execvp, then report.
[[noreturn]] void exec_payload(const Args& args, uint64_t old_mask) {
  sc(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sc(__NR_rt_sigaction, sig, &dfl, 0, 8);
  }
  patch_listen_pid(args.envp);
  sc(__NR_rt_sigprocmask, SIG_SETMASK, &old_mask, 0, 8);
  if (args.seccomp_hex != nullptr) {
    int error = install_seccomp(args.seccomp_hex);
    if (error != 0) report(args.status_fd, args.seccomp_step, kOpSeccomp, error, 0);
  }
  int decided = ENOENT, detail = 0;
  for (int i = 0; i < args.candidate_count; i++) {
    int error = int(-sc(__NR_execve, args.candidates[i], args.argv, args.envp));
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
  report(args.status_fd, args.step, kOpExec, decided, detail);
}

}  // namespace

extern "C" [[noreturn]] void init_main(long* stack) {
  int argc = int(stack[0]);
  char** argv = reinterpret_cast<char**>(stack + 1);
  char** envp = argv + argc + 1;
  if (argc < 6) exit_now(126);
  Args args{};
  args.status_fd = parse_int(argv[1]);
  args.exit_fd = parse_int(argv[2]);
  args.step = parse_int(argv[3]);
  args.candidate_count = parse_int(argv[4]);
  args.candidates = argv + 5;
  args.seccomp_step = -1;
  int next = 5 + args.candidate_count;
  if (next >= argc) exit_now(126);
  if (same(argv[next], "--seccomp")) {
    if (next + 3 >= argc) exit_now(126);
    args.seccomp_step = parse_int(argv[next + 1]);
    args.seccomp_hex = argv[next + 2];
    next += 3;
  }
  if (!same(argv[next], "--") || next + 1 >= argc) exit_now(126);
  args.argv = argv + next + 1;
  args.envp = envp;
  sc(__NR_fcntl, args.status_fd, F_SETFD, FD_CLOEXEC);
  sc(__NR_fcntl, args.exit_fd, F_SETFD, FD_CLOEXEC);

  // Every signal waits in the queue until rt_sigtimedwait takes it; a
  // blocked signal reaches PID 1 even from outside its namespace.
  uint64_t all = ~uint64_t(0), old_mask = 0;
  sc(__NR_rt_sigprocmask, SIG_BLOCK, &all, &old_mask, 8);

  long payload = sc(__NR_clone, SIGCHLD, 0, 0, 0, 0);
  if (payload < 0) report(args.status_fd, args.step, kOpExec, int(-payload), -1);
  if (payload == 0) exec_payload(args, old_mask);

  // The payload holds the stdio and the status pipe now; the init keeps only
  // the exit pipe, so EOF on each reaches the parent when it should.
  if (args.exit_fd > 0) sc(__NR_close_range, 0, args.exit_fd - 1, 0);
  sc(__NR_close_range, args.exit_fd + 1, ~0U, 0);

  for (;;) {
    siginfo_t info;
    long sig = sc(__NR_rt_sigtimedwait, &all, &info, 0, 8);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      sc(__NR_kill, payload, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      long pid = sc(__NR_wait4, -1, &status, WNOHANG, 0);
      if (pid <= 0) break;
      if (pid != payload) continue;
      cordon::abi::ExitRecord record{-1, 0};
      int code;
      if (WIFEXITED(status)) {
        record.code = WEXITSTATUS(status);
        code = record.code;
      } else {
        record.signal = WTERMSIG(status);
        code = 128 + record.signal;
      }
      write_all(args.exit_fd, &record, sizeof record);
      exit_now(code);
    }
  }
}

// The entry point: the kernel leaves argc, argv and envp on the stack.
#if defined(__x86_64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call init_main\n"
    "  hlt\n");
#elif defined(__aarch64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  mov x29, xzr\n"
    "  mov x0, sp\n"
    "  bl init_main\n"
    "  brk #0\n");
#endif
