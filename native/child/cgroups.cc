// Cgroups, child side: a box child with its own memory joins its v1 cgroups
// itself; a box child that shares Node's memory leaves the join to processes
// that do not (its cgroup-namespace helper and the init). lib/cgroups/ is the
// TypeScript half; host/cgroups.cc writes a pid for the v2 fallback, and
// clone.cc places a v2 child at the clone.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

// The JoinCgroup op: "0" into the v1 `tasks` file open as the fd moves this
// thread, the child's only one, into the cgroup. The kernel checks the
// credentials the parent opened the file with; a thread moving itself needs
// no threadgroup lock, so no RCU grace period (the parent's write of our
// pid to cgroup.procs waited for one: 1-11 ms, more with Node's memory).
int run_JoinCgroup(const Step& step, StepRun&) {
  long r = write_all(step.fd, "0", 1);
  return r < 0 ? static_cast<int>(-r) : 0;
}

// The JoinCgroupLate op: nothing to do here. This process shares Node's
// memory and must stay out of the box's cgroup (an OOM kill there would take
// Node along); the init joins before it clones the payload, and
// MakeCgroupNamespace's helper before it makes the cgroup namespace.
int run_JoinCgroupLate(const Step&, StepRun&) { return 0; }

namespace {

constexpr int kMaxLateJoins = int(abi::kMaxLateJoins);

// What the helper needs until its exec; on the caller's stack, which the
// helper shares (CLONE_VM) while the caller waits for the exec (CLONE_VFORK).
struct Helper {
  int exec_fd;
  int sync_fd;  // the helper's end of the socket pair
  int join_fds[kMaxLateJoins];
  int join_count;
  const char* argv[3 + kMaxLateJoins + 1];
  char numbers[1 + kMaxLateJoins][12];
};

// The helper's answer (plan_abi.h; native/init/cordon_init.cc, --cgroupns).
using HelperAnswer = abi::CgroupNamespaceAnswer;
constexpr int32_t kAtUnshare = abi::kCgroupNamespaceAtUnshare;
constexpr int32_t kAtExec = abi::kCgroupNamespaceAtExec;

// An fd as the helper's argument (fds are never negative, and 12 bytes hold
// any int).
const char* fd_text(int fd, char (&out)[12]) {
  runtime::format_decimal(static_cast<unsigned long>(fd), out, sizeof out);
  return out;
}

// The helper until its exec: the fds it needs survive the exec, the rest of
// the child's (close-on-exec) do not.
int helper_exec(void* arg) {
  Helper& helper = *static_cast<Helper*>(arg);
  // Nothing but these: the child still holds every fd Node had, and Node
  // marks only some of the ones it inherited close-on-exec.
  sys::sc(__NR_close_range, 0, ~0U, CLOSE_RANGE_CLOEXEC);
  sys::sc(__NR_fcntl, helper.sync_fd, F_SETFD, 0);
  for (int i = 0; i < helper.join_count; i++) sys::sc(__NR_fcntl, helper.join_fds[i], F_SETFD, 0);
  const char* const envp[] = {nullptr};
  long r = sys::sc(__NR_execveat, helper.exec_fd, "", helper.argv, envp, AT_EMPTY_PATH);
  HelperAnswer answer{int32_t(-r), kAtExec};
  write_all(helper.sync_fd, &answer, sizeof answer);
  return 127;
}

// The join files (JoinCgroupLate steps before `run.index`), for a helper.
struct Joins {
  int fds[kMaxLateJoins];
  uint32_t steps[kMaxLateJoins];
  int count;
};

int collect_joins(const StepRun& run, Joins* joins) {
  joins->count = 0;
  for (uint32_t i = 0; i < run.index; i++) {
    if (run.plan.steps[i].op != abi::Op::kJoinCgroupLate) continue;
    if (joins->count == kMaxLateJoins) return E2BIG;  // the decoder allows no more
    joins->steps[joins->count] = i;
    joins->fds[joins->count++] = run.plan.steps[i].fd;
  }
  return 0;
}

// Reads a helper's one message (the answer, and with a 0 the namespace's fd)
// and enters the namespace. A failed join is reported at its own step.
// `*answered`: a whole answer came (false: EOF, a timeout or an error
// before one).
int enter_answered_namespace(int socket_fd, const Joins& joins, StepRun& run, bool* answered) {
  HelperAnswer answer{ECHILD, kAtUnshare};  // no answer: the helper died on the way
  int ns_fd = -1;
  int got = 0;
  long n = runtime::receive_with_fds(socket_fd, &answer, sizeof answer, &ns_fd, 1, &got);
  const bool has_fd = got == 1;
  *answered = n == long(sizeof answer);
  if (!*answered) answer = HelperAnswer{n < 0 ? int32_t(-n) : ECHILD, kAtUnshare};
  int error = answer.error;
  if (error != 0 && answer.where >= 0 && answer.where < joins.count) run.index = joins.steps[answer.where];
  if (error == 0 && !has_fd) error = EPROTO;
  if (error == 0) {
    long r = sys::sc(__NR_setns, ns_fd, CLONE_NEWCGROUP);
    if (r < 0) error = static_cast<int>(-r);
  }
  if (has_fd) sys::sc(__NR_close, ns_fd);
  return error;
}

// The box's own helper: cloned (CLONE_VM|CLONE_VFORK) and exec'd from the
// init binary open as `init_fd`, then reaped.
int make_own_helper(int init_fd, const Joins& joins, StepRun& run) {
  Helper helper{};
  helper.join_count = joins.count;
  for (int i = 0; i < joins.count; i++) helper.join_fds[i] = joins.fds[i];
  int pair[2];
  long r = sys::sc(__NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
  if (r < 0) return static_cast<int>(-r);
  helper.exec_fd = init_fd;
  helper.sync_fd = pair[1];
  helper.argv[0] = "cordon-init";
  helper.argv[1] = "--cgroupns";
  helper.argv[2] = fd_text(pair[1], helper.numbers[0]);
  for (int i = 0; i < helper.join_count; i++) helper.argv[3 + i] = fd_text(helper.join_fds[i], helper.numbers[1 + i]);
  helper.argv[3 + helper.join_count] = nullptr;

  // The helper runs on this frame's spare stack until its exec, while we wait.
  alignas(16) unsigned char stack[16 * 1024];
  int pidfd = -1;
  long pid = sys::clone_run(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, stack + sizeof stack, &pidfd, helper_exec, &helper);
  sys::sc(__NR_close, pair[1]);
  if (pid < 0) {
    sys::sc(__NR_close, pair[0]);
    return static_cast<int>(-pid);
  }
  bool answered = false;
  int error = enter_answered_namespace(pair[0], joins, run, &answered);
  // EOF lets the helper go; it is ours to reap.
  sys::sc(__NR_close, pair[0]);
  siginfo_t info;
  do r = sys::sc(__NR_waitid, P_PIDFD, pidfd, &info, WEXITED, 0);
  while (r == -EINTR);
  sys::sc(__NR_close, pidfd);
  // The helper took the pid after ours. As PID 1 of the box's new pid
  // namespace we give it back, so the payload's process is PID 2 as in
  // every box with an init (a box root holds CAP_SYS_ADMIN over the
  // namespace). A failure costs only that: the payload is PID 3.
  if (error == 0 && sys::sc(__NR_getpid) == 1) {
    long fd = sys::sc(__NR_openat, AT_FDCWD, "/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      write_all(int(fd), "1", 1);
      sys::sc(__NR_close, fd);
    }
  }
  return error;
}

// The init binary's fd: the plan's ExecInit step's (a late join needs an
// init: the decoder makes it so).
int init_binary_fd(const StepRun& run) {
  for (uint32_t i = run.index; i < run.plan.count; i++) {
    if (run.plan.steps[i].op == abi::Op::kExecInit) return run.plan.steps[i].fd;
  }
  return -1;
}

}  // namespace

// The MakeCgroupNamespace op. A cgroup namespace is rooted where its maker
// stands, and this process may not stand in the box's cgroup: a helper with
// its own memory (an exec of the init binary) joins it, makes the namespace
// and holds it until this process has entered it.
int run_MakeCgroupNamespace(const Step& step, StepRun& run) {
  Joins joins;
  int error = collect_joins(run, &joins);
  if (error != 0) return error;
  return make_own_helper(step.fd, joins, run);
}

// The TakeCgroupNamespace op: the same namespace from a helper started ahead
// (lib/cgroups/namespace-helpers.ts), which is no process of the box's: it
// stands in the supervisor's pid namespace and takes no pid of the box's.
// It gets the join files and this process's user namespace (it enters that
// one, so the namespace it makes is the box's to enter) in one message.
int run_TakeCgroupNamespace(const Step& step, StepRun& run) {
  Joins joins;
  int error = collect_joins(run, &joins);
  if (error != 0) return error;
  abi::CgroupNamespaceRequest request{int32_t(CORDON_ARG_NUM(step, TakeCgroupNamespace, user))};
  int fds[runtime::kMaxPassedFds] = {};
  int count = 0;
  int user_fd = -1;
  if (request.user != 0) {
    long fd = sys::sc(__NR_openat, AT_FDCWD, "/proc/thread-self/ns/user", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return static_cast<int>(-fd);
    user_fd = int(fd);
    fds[count++] = user_fd;
  }
  for (int i = 0; i < joins.count; i++) fds[count++] = joins.fds[i];
  long n = runtime::send_with_fds(step.fd, &request, sizeof request, fds, count);
  if (user_fd >= 0) sys::sc(__NR_close, user_fd);
  bool answered = false;
  if (n >= 0) {
    error = enter_answered_namespace(step.fd, joins, run, &answered);
    if (answered) return error;
  }
  // No answer: the helper died before or during the request (EPIPE, EOF:
  // killed while it waited, its watch not run yet), or gave none within
  // the socket's receive timeout (stopped). The box makes its own; run.index
  // stays at this step for what that reports.
  const int init_fd = init_binary_fd(run);
  if (init_fd < 0) return n < 0 ? static_cast<int>(-n) : error;
  return make_own_helper(init_fd, joins, run);
}

}  // namespace cordon::child
