// cordon-init: PID 1 of a box with a new pid namespace.
//
// A payload that is PID 1 gets no default signal actions and must reap every
// orphan in the box, which few programs expect. This init starts the payload,
// reaps orphans, forwards signals to the payload and ends with its status.
//
// argv: cordon-init STATUS_FD EXIT_FD STEP_INDEX N CANDIDATE...
//         [--rlimit STEP RESOURCE SOFT HARD]... [--join STEP FD]... [--ctty STEP FD] [--start STEP FD]
//         [--release] [--seccomp STEP HEX]
//         -- ARGV...
//   STATUS_FD  the status pipe: a failed payload exec is reported there as a
//              StatusRecord for plan step STEP_INDEX (see plan_abi.h)
//   EXIT_FD    the exit pipe: one ExitRecord {code, signal} when the payload ends
//   N          how many exec candidates follow (the PATH search done by cordon)
//   --rlimit   a limit (-1: unlimited) to set in the payload's process right
//              before its execve; a failure is reported as plan step STEP
//   --join     the box's cgroup, joined late: the init writes "0" to the
//              cgroup.procs (or v1 tasks) file open as FD, then closes it,
//              before it clones the payload's process. cordon's child shares
//              Node's memory and so never stands in the box's cgroup; the
//              init is the box's first process that does not. A failure is
//              reported as plan step STEP
//   --ctty     the payload's process makes a session of its own and takes the
//              terminal at FD as its controlling terminal (TIOCSCTTY) right
//              before its execve, so the payload, not the init, leads the
//              terminal's session (job control, ^C, SIGWINCH, SIGHUP); a
//              failure is reported as plan step STEP
//   --start    the start gate (OCI create/start): the payload's process
//              closes the status pipe (the parent sees the box set up) and
//              waits for one byte on FD before its filter and execve; EOF
//              without a byte ends it with 127
//   --release  the box outlives its supervisor, but only once the supervisor
//              has recorded it: the init keeps the parent-death signal the
//              child set until one byte arrives on EXIT_FD (a SEQPACKET
//              socket then, both ways), clears it and answers with one
//              byte. A supervisor killed before its record so takes the box
//              along instead of leaving it running where no later process
//              can find it.
//   --seccomp  a classic-BPF program (hex) to install in the payload's process
//              right before its execve; a failure is reported as plan step STEP
// The environment is passed to the payload unchanged, except LISTEN_PID.
//
// argv: cordon-init --cgroupns SYNC_FD FD...
//   The cgroup-namespace helper (the MakeCgroupNamespace op, child/cgroups.cc):
//   cordon's child execs it to get a process with memory of its own, which
//   joins the cgroups open as the FDs, unshares CLONE_NEWCGROUP (so the
//   namespace is rooted at the box's cgroup) and answers on SYNC_FD with
//   {errno, where} (where: the FD's index, or -1 for the unshare). Then it
//   waits for EOF on SYNC_FD: until the child has entered the namespace.
//   With a 0 comes the namespace's fd (SCM_RIGHTS); where -3: its open.
//
// argv: cordon-init --cgroupns-wait SYNC_FD
//   The same, started by the supervisor before the spawn (the
//   TakeCgroupNamespace op; lib/cgroups/namespace-helpers.ts): it waits on
//   SYNC_FD (a SEQPACKET socket) for one request, the FDs then coming with
//   it (SCM_RIGHTS, the box's user namespace first, which it enters before
//   the unshare: where -4), answers and exits. EOF: it exits.
//
// Sealed: the box holds no process less confined than its payload, nor one
// the payload can trace. The init makes itself non-dumpable before anything
// else (no ptrace, no /proc/1/mem, /proc/1/fd or /proc/1/exe, no
// process_vm_*, no pidfd_getfd for the box's processes), and once the
// payload's process is cloned (filters and no_new_privs are inherited, so
// not before) it sets no_new_privs, drops every capability and installs its
// own allowlist filter: only the calls of its wait-and-forward loop. All of
// that happens before the status pipe closes; a failure is reported there
// as InitPart (plan_abi.h) and the box never starts.
//
// Freestanding: no libc, raw system calls only, linked static with its own
// _start. A static glibc program spends ~0.3 ms of every box start in libc's
// start-up (CPU feature probing traps to the hypervisor); this one does not.
// What it shares with cordon's child (the status record, the exec
// candidates, the seccomp install, LISTEN_PID, the signal mask) is the
// freestanding runtime both link (native/runtime/).
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "plan_abi.h"
#include "runtime/runtime.h"
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

using cordon::abi::Op;
using cordon::runtime::exit_now;
using cordon::runtime::report;

struct KernelRlimit {
  uint64_t soft, hard;
};
using cordon::abi::InitPart;

bool same(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

// A non-negative decimal; anything else ends the init (a bad argv is cordon's bug).
int64_t parse_decimal(const char* s) {
  int64_t v = 0;
  if (*s == '\0') exit_now(126);
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') exit_now(126);
    v = v * 10 + (*s - '0');
  }
  return v;
}

int parse_int(const char* s) { return int(parse_decimal(s)); }

// A decimal that may be -1 (unlimited), for rlimit values.
int64_t parse_limit(const char* s) { return same(s, "-1") ? -1 : parse_decimal(s); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

sock_filter g_filter[4096];

// Returns 0 or an errno.
int install_payload_filter(const char* hex) {
  unsigned long len = 0;
  while (hex[len] != '\0') len++;
  if (len == 0 || len % 16 != 0 || len / 16 > 4096) return EINVAL;
  auto* bytes = reinterpret_cast<unsigned char*>(g_filter);
  for (unsigned long i = 0; i < len / 2; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return EINVAL;
    bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return cordon::runtime::install_seccomp(g_filter, len / 16);
}

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "cordon_init: no seccomp architecture for this target"
#endif

// Every call the init makes once sealed: its loop waits for signals, reaps,
// forwards, writes the exit record and exits; the status pipe is closed
// right after the filter goes on.
constexpr uint32_t kSealedSyscalls[] = {
    __NR_rt_sigtimedwait, __NR_wait4, __NR_kill, __NR_write, __NR_close,
    __NR_exit_group, __NR_exit, __NR_rt_sigreturn, __NR_restart_syscall,
};
constexpr int kSealedCount = sizeof kSealedSyscalls / sizeof kSealedSyscalls[0];
#if defined(__x86_64__)
constexpr int kFirstCheck = 4;  // after the x32 check
#else
constexpr int kFirstCheck = 3;
#endif
// With --release: read (the release byte) and prctl, for PR_SET_PDEATHSIG
// alone (the argument's low word: the kernel takes the option as an int).
constexpr int kReleaseChecks = 4;
constexpr int kMaxProgram = kFirstCheck + kSealedCount + kReleaseChecks + 3;

// The init's own filter: another architecture (or x32) kills it, a call of
// its loop is allowed, anything else (an injected call) fails with EPERM.
// `release`: the calls that take the supervisor's release too.
int install_own_filter(bool release) {
  sock_filter program[kMaxProgram];
  const int checks = kSealedCount + (release ? kReleaseChecks : 0);
  const int ret_errno = kFirstCheck + checks, ret_allow = ret_errno + 1, ret_kill = ret_errno + 2;
  int n = 0;
  auto jump_to = [&](int target) { return static_cast<unsigned char>(target - n - 1); };
  program[n++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, __builtin_offsetof(seccomp_data, arch));
  program[n] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 0, jump_to(ret_kill));
  n++;
  program[n++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, __builtin_offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  program[n] = BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, jump_to(ret_kill), 0);
  n++;
#endif
  for (uint32_t nr : kSealedSyscalls) {
    program[n] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, jump_to(ret_allow), 0);
    n++;
  }
  if (release) {
    program[n] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_read, jump_to(ret_allow), 0);
    n++;
    program[n] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, jump_to(ret_errno));
    n++;
    program[n++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, __builtin_offsetof(seccomp_data, args[0]));
    program[n] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_PDEATHSIG, jump_to(ret_allow), jump_to(ret_errno));
    n++;
  }
  program[n++] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
  program[n++] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  program[n++] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  return cordon::runtime::install_seccomp(program, uint64_t(n));
}

// After the payload's process is cloned: the init keeps no privilege and no
// call it does not need. Returns 0 or an errno with *part set.
// `payload_filtered`: the payload's process installs a filter of its own.
// `release`: the init still waits for the supervisor's release (--release).
int seal_self(bool payload_filtered, bool release, InitPart* part) {
  *part = InitPart::kNoNewPrivs;
  long r = sc(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (r < 0) return int(-r);
  // No capability left in any set (the ambient set empties with the
  // permitted one); the bounding set only matters to an exec, which the
  // filter refuses.
  *part = InitPart::kCapabilities;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  r = sc(__NR_capset, &header, none);
  if (r < 0) return int(-r);
  *part = InitPart::kSeccomp;
  int error = install_own_filter(release);
  // A kernel without seccomp filters (ENOSYS, or EINVAL for the mode) can
  // confine no payload either: the init then stays as confined as a
  // payload with `seccomp: false`. A payload that asked for a filter fails
  // on its own install and reports it.
  if ((error == ENOSYS || error == EINVAL) && !payload_filtered) return 0;
  return error;
}

// Closes every fd but the `count` ones in `keep`, which are in ascending order.
void close_all_but(const int* keep, int count) {
  int from = 0;
  for (int i = 0; i < count; i++) {
    if (keep[i] > from) sc(__NR_close_range, from, keep[i] - 1, 0);
    from = keep[i] + 1;
  }
  sc(__NR_close_range, from, ~0U, 0);
}

// One `--rlimit STEP RESOURCE SOFT HARD` of the argv: its four strings.
constexpr int kMaxRlimits = 16;

// One `--join STEP FD` per hierarchy.
constexpr int kMaxJoins = int(cordon::abi::kMaxLateJoins);

struct Args {
  int status_fd, exit_fd, step;
  char** candidates;
  int candidate_count;
  char** rlimits[kMaxRlimits];
  int rlimit_count;
  char** joins[kMaxJoins];
  int join_count;
  int ctty_step;
  int ctty_fd;  // -1: no terminal
  int start_fd;  // -1: no start gate
  bool release;  // --release: the parent-death signal stays until the supervisor's release byte
  int seccomp_step;
  const char* seccomp_hex;
  char** argv;
  char** envp;
};

// In the payload's process: try each candidate like execvp, then report.
// `gate`: the read end of the pipe on which the init says it is sealed.
[[noreturn]] void exec_payload(const Args& args, uint64_t old_mask, int gate) {
  sc(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Nothing of the payload runs before the init is sealed: no window in
  // which it could trace an init that still has its capabilities and no
  // filter, and a box whose init failed to seal never starts. EOF without
  // the byte: the init is gone.
  char go = 0;
  if (cordon::runtime::read_byte(gate, &go) != 1) exit_now(127);
  sc(__NR_close, gate);
  if (args.ctty_fd >= 0) {
    // Not a process group leader (the init leads its group), so setsid works.
    long r = sc(__NR_setsid);
    if (r >= 0) r = sc(__NR_ioctl, args.ctty_fd, TIOCSCTTY, 0);
    if (r < 0) report(args.status_fd, args.ctty_step, Op::kSetControllingTerminal, int(-r));
  }
  // No signal disposition to reset: cordon's child set every one to the
  // default before it exec'd the init, and the init installs no handler and
  // ignores nothing (it only blocks signals and takes them with
  // rt_sigtimedwait), so the payload's process starts with the defaults.
  cordon::runtime::patch_listen_pid(args.envp);
  cordon::runtime::set_signal_mask(old_mask);
  // The payload's limits, set here and nowhere else: neither cordon's child
  // nor the init runs under them (a limit the init could not start under
  // would otherwise look like the payload's crash).
  for (int i = 0; i < args.rlimit_count; i++) {
    char** entry = args.rlimits[i];
    int64_t soft = parse_limit(entry[2]), hard = parse_limit(entry[3]);
    KernelRlimit limit{soft < 0 ? ~uint64_t(0) : uint64_t(soft), hard < 0 ? ~uint64_t(0) : uint64_t(hard)};
    long r = sc(__NR_prlimit64, 0, parse_int(entry[1]), &limit, 0);
    if (r < 0) report(args.status_fd, parse_int(entry[0]), Op::kSetRlimit, int(-r));
  }
  // The parent takes the spawn for done only with this record before EOF
  // (plan_abi.h, kReachedExec): before the filter, which may refuse write.
  const cordon::abi::StatusRecord reached{cordon::abi::kReachedExec, uint32_t(Op::kExecInit), 0, 0};
  if (cordon::runtime::write_all(args.status_fd, &reached, sizeof reached) < 0) exit_now(127);
  if (args.start_fd >= 0) {
    // Set up: the parent may report the box created. Signals act by default
    // here already, so `kill` of a created container ends it.
    sc(__NR_close, args.status_fd);
    char start = 0;
    if (cordon::runtime::read_byte(args.start_fd, &start) != 1) exit_now(127);
    sc(__NR_close, args.start_fd);
  }
  if (args.seccomp_hex != nullptr) {
    int error = install_payload_filter(args.seccomp_hex);
    if (error != 0) report(args.status_fd, args.seccomp_step, Op::kSeccomp, error);
  }
  int detail = 0;
  int error = cordon::runtime::exec_candidates(args.candidates, args.candidate_count, args.argv, args.envp, &detail);
  report(args.status_fd, args.step, Op::kExec, error, detail);
}

// The supervisor's release (--release): true once its byte has been read,
// the parent-death signal cleared and that acknowledged (one byte back, so
// the supervisor knows the box no longer dies with it). EOF (the supervisor
// went without a release) or nothing yet: false, and the signal stays.
bool take_release(int exit_fd) {
  char byte = 0;
  if (sc(__NR_read, exit_fd, &byte, 1) != 1) return false;
  sc(__NR_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0);
  sc(__NR_write, exit_fd, &byte, 1);
  return true;
}

// Joins the cgroups open as `joins`, enters `user` (>= 0: a waiting helper
// is in the supervisor's user namespace), unshares CLONE_NEWCGROUP and sends
// {errno, where} with the namespace's fd on `sync_fd`. Closes what it gets.
void answer_cgroup_namespace(int sync_fd, int user, const int* joins, int count) {
  cordon::abi::CgroupNamespaceAnswer answer{0, 0};
  for (int i = 0; i < count; i++) {
    if (answer.error == 0) {
      long r = cordon::runtime::write_all(joins[i], "0", 1);
      if (r < 0) answer = {int32_t(-r), int32_t(i)};
    }
    sc(__NR_close, joins[i]);
  }
  if (user >= 0) {
    if (answer.error == 0) {
      long r = sc(__NR_setns, user, CLONE_NEWUSER);
      if (r < 0) answer = {int32_t(-r), cordon::abi::kCgroupNamespaceAtUser};
    }
    sc(__NR_close, user);
  }
  long ns = -1;
  if (answer.error == 0) {
    long r = sc(__NR_unshare, CLONE_NEWCGROUP);
    if (r < 0) answer = {int32_t(-r), cordon::abi::kCgroupNamespaceAtUnshare};
  }
  if (answer.error == 0) {
    // Handed over as an fd: the child may not open it through /proc/PID or
    // a pidfd. This process is non-dumpable, and exec'd from an unreadable
    // file whose owner (a root supervisor's host root) the box's user
    // namespace does not map, the kernel judges ptrace access to it in the
    // initial user namespace, where the child holds no capability.
    ns = sc(__NR_openat, AT_FDCWD, "/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC, 0);
    if (ns < 0) answer = {int32_t(-ns), cordon::abi::kCgroupNamespaceAtOpen};
  }
  const int ns_fd = int(ns);
  cordon::runtime::send_with_fds(sync_fd, &answer, sizeof answer, &ns_fd, ns >= 0 ? 1 : 0);
}

// --cgroupns: see the top. Non-dumpable first, like the init: for its short
// life it holds the box root's capabilities, in the box's namespaces.
[[noreturn]] void make_cgroup_namespace(int argc, char** argv) {
  sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  const int sync_fd = parse_int(argv[2]);
  int joins[cordon::abi::kMaxLateJoins];
  int count = 0;
  for (int i = 3; i < argc && count < int(cordon::abi::kMaxLateJoins); i++) joins[count++] = parse_int(argv[i]);
  answer_cgroup_namespace(sync_fd, -1, joins, count);
  char byte;
  while (sc(__NR_read, sync_fd, &byte, 1) > 0) {
  }
  exit_now(0);
}

// --cgroupns-wait: see the top. Started by the supervisor ahead of a spawn
// (lib/cgroups/namespace-helpers.ts) with the signals it had blocked; it
// blocks on SYNC_FD until a box's child sends its request
// (CgroupNamespaceRequest and the fds), or EOF: the supervisor let it go
// or is gone. Non-dumpable first: it holds the supervisor's credentials,
// and once in the box's user namespace, every capability there.
[[noreturn]] void wait_for_cgroup_namespace(char** argv) {
  sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  cordon::runtime::set_signal_mask(0);
  const int sync_fd = parse_int(argv[2]);
  cordon::abi::CgroupNamespaceRequest request{0};
  int fds[cordon::runtime::kMaxPassedFds];
  int count = 0;
  long n = cordon::runtime::receive_with_fds(sync_fd, &request, sizeof request, fds, cordon::runtime::kMaxPassedFds, &count);
  if (n == 0) exit_now(0);  // let go without a request
  // A request cut short, or without the user namespace it announces, is
  // answered as a failed unshare.
  if (n != long(sizeof request) || (request.user != 0 && count == 0)) {
    for (int i = 0; i < count; i++) sc(__NR_close, fds[i]);
    cordon::abi::CgroupNamespaceAnswer answer{n < 0 ? int32_t(-n) : EPROTO, cordon::abi::kCgroupNamespaceAtUnshare};
    cordon::runtime::send_with_fds(sync_fd, &answer, sizeof answer, nullptr, 0);
    exit_now(0);
  }
  const int user = request.user != 0 ? fds[0] : -1;
  const int first_join = request.user != 0 ? 1 : 0;
  answer_cgroup_namespace(sync_fd, user, fds + first_join, count - first_join);
  exit_now(0);
}

}  // namespace

extern "C" [[noreturn]] void init_main(long* stack) {
  int argc = int(stack[0]);
  char** argv = reinterpret_cast<char**>(stack + 1);
  char** envp = argv + argc + 1;
  if (argc >= 3 && same(argv[1], "--cgroupns")) make_cgroup_namespace(argc, argv);
  if (argc == 3 && same(argv[1], "--cgroupns-wait")) wait_for_cgroup_namespace(argv);
  if (argc < 6) exit_now(126);
  Args args{};
  args.status_fd = parse_int(argv[1]);
  args.exit_fd = parse_int(argv[2]);
  args.step = parse_int(argv[3]);
  args.candidate_count = parse_int(argv[4]);
  args.candidates = argv + 5;
  args.seccomp_step = -1;
  args.ctty_fd = -1;
  args.start_fd = -1;
  int next = 5 + args.candidate_count;
  if (next >= argc) exit_now(126);
  while (same(argv[next], "--rlimit")) {
    if (next + 5 >= argc || args.rlimit_count == kMaxRlimits) exit_now(126);
    args.rlimits[args.rlimit_count++] = argv + next + 1;
    next += 5;
  }
  while (same(argv[next], "--join")) {
    if (next + 3 >= argc || args.join_count == kMaxJoins) exit_now(126);
    args.joins[args.join_count++] = argv + next + 1;
    next += 3;
  }
  if (same(argv[next], "--ctty")) {
    if (next + 3 >= argc) exit_now(126);
    args.ctty_step = parse_int(argv[next + 1]);
    args.ctty_fd = parse_int(argv[next + 2]);
    next += 3;
  }
  if (same(argv[next], "--start")) {
    if (next + 3 >= argc) exit_now(126);
    args.start_fd = parse_int(argv[next + 2]);
    next += 3;
  }
  if (same(argv[next], "--release")) {
    args.release = true;
    next += 1;
  }
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
  if (args.release) {
    // The release byte wakes the loop below as a SIGIO (blocked, so queued
    // for rt_sigtimedwait), with si_fd naming the exit channel. It can only
    // come once the parent has read EOF on the status pipe, which the init
    // closes after this: it cannot be missed.
    long r = sc(__NR_fcntl, args.exit_fd, F_SETSIG, SIGIO);
    if (r >= 0) r = sc(__NR_fcntl, args.exit_fd, F_SETOWN, sc(__NR_getpid));
    long flags = r >= 0 ? sc(__NR_fcntl, args.exit_fd, F_GETFL) : r;
    r = flags >= 0 ? sc(__NR_fcntl, args.exit_fd, F_SETFL, flags | O_ASYNC | O_NONBLOCK) : flags;
    if (r < 0) report(args.status_fd, args.step, Op::kExecInit, int(-r), int(InitPart::kRelease));
  }

  // Out of reach from here on: ptrace, /proc/1/{mem,fd,exe,environ,maps},
  // process_vm_* and pidfd_getfd all need the init to be dumpable (or the
  // caller to hold CAP_SYS_PTRACE over it). Exec'd from cordon's
  // execute-only copy, it started non-dumpable already.
  long dumpable = sc(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (dumpable < 0) report(args.status_fd, args.step, Op::kExecInit, int(-dumpable), int(InitPart::kDumpable));
  // Into the box's cgroup before anything of the box's is charged (the gate,
  // the payload's process): from here on the box's limits bind the init too.
  for (int i = 0; i < args.join_count; i++) {
    const int fd = parse_int(args.joins[i][1]);
    long r = cordon::runtime::write_all(fd, "0", 1);
    if (r < 0) report(args.status_fd, parse_int(args.joins[i][0]), Op::kJoinCgroupLate, int(-r));
    sc(__NR_close, fd);
  }
  // Exec'd from a memfd, its name would be "memfd:cordon_in": keep the one
  // `ps` in a box has always shown.
  sc(__NR_prctl, PR_SET_NAME, "cordon_init", 0, 0, 0);

  // Every signal waits in the queue until rt_sigtimedwait takes it; a
  // blocked signal reaches PID 1 even from outside its namespace.
  uint64_t all = cordon::runtime::kAllSignals, old_mask = 0;
  cordon::runtime::set_signal_mask(all, &old_mask);

  int gate[2];
  long piped = sc(__NR_pipe2, gate, O_CLOEXEC);
  if (piped < 0) report(args.status_fd, args.step, Op::kExecInit, int(-piped), int(InitPart::kGate));
  long payload = sc(__NR_clone, SIGCHLD, 0, 0, 0, 0);
  if (payload < 0) report(args.status_fd, args.step, Op::kExecInit, int(-payload), int(InitPart::kClone));
  if (payload == 0) {
    sc(__NR_close, gate[1]);
    exec_payload(args, old_mask, gate[0]);
  }

  // The payload holds the stdio now; the init keeps only the exit pipe, and
  // the status pipe and the gate until it is sealed, so EOF on each reaches
  // the parent when it should.
  int keep[3] = {args.status_fd, args.exit_fd, gate[1]};
  for (int i = 1; i < 3; i++) {
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int swap = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = swap;
    }
  }
  close_all_but(keep, 3);
  InitPart part = InitPart::kSeccomp;
  int sealed = seal_self(args.seccomp_hex != nullptr, args.release, &part);
  if (sealed != 0) {
    // The payload waits at the gate; PID 1's exit would take it along, but
    // in a joined pid namespace the init is not PID 1.
    sc(__NR_kill, payload, SIGKILL);
    report(args.status_fd, args.step, Op::kExecInit, sealed, int(part));
  }
  // The status pipe is closed before the gate opens: from the payload's
  // first instruction on, the init holds no end of it. A payload allowed to
  // trace the init (CAP_SYS_PTRACE over it) could otherwise make it write
  // into the pipe while it was still open, and the parent would read that
  // as the box's own setup report. EOF still means the payload exec'd: its
  // process holds its own copy until then.
  sc(__NR_close, args.status_fd);
  char go = 1;
  cordon::runtime::write_all(gate[1], &go, 1);
  sc(__NR_close, gate[1]);

  bool awaiting_release = args.release;
  for (;;) {
    siginfo_t info;
    long sig = sc(__NR_rt_sigtimedwait, &all, &info, 0, 8);
    if (sig < 0) continue;
    // Looked for at every wake, not only at its own SIGIO: a SIGIO already
    // pending (one the payload sent) absorbs the kernel's.
    if (awaiting_release) awaiting_release = !take_release(args.exit_fd);
    // The kernel's SIGIO for the exit channel is the init's own, not the payload's.
    if (sig == SIGIO && args.release && info.si_code > 0 && info.si_fd == args.exit_fd) continue;
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
      cordon::runtime::write_all(args.exit_fd, &record, sizeof record);
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
