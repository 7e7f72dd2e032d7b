#include "spawn_box.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <new>

#include "child/executor.h"
#include "clone.h"
#include "host/ops.h"
#include "host/process.h"
#include "plan_decode.h"
#include "sys/syscalls.h"
#include "sys/unique_fd.h"

namespace cordon {
namespace {

// Reaps a child we started and no one else knows about. Returns the signal
// that killed it, or 0.
int reap(int pidfd) {
  siginfo_t info{};
  host::wait_child(idtype_t(P_PIDFD), id_t(pidfd), &info);
  return info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED ? info.si_status : 0;
}

int reap_pid(pid_t pid) {
  siginfo_t info{};
  host::wait_child(P_PID, id_t(pid), &info);
  return info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED ? info.si_status : 0;
}

// What the child hands back through memory, on the calling thread's shared
// window (a MAP_SHARED page): the parent sees it whether or not the child
// shares the rest of our memory.
struct SharedState {
  int32_t progress;
  child::ForkState fork;
};
static_assert(sizeof(SharedState) <= 4096, "SharedState fits the shared window");

void kill_and_reap(int pidfd) {
  sys::sc(__NR_pidfd_send_signal, pidfd, SIGKILL, 0, 0);
  reap(pidfd);
}

// By op number - 1: the parent op's handler (host/ops.h), or nullptr for a
// child op. The op's mechanism file on the host side defines it.
#define CORDON_PARENT_HANDLER_ENTRY_kParent(Name) &host::run_##Name,
#define CORDON_PARENT_HANDLER_ENTRY_kChild(Name) nullptr,
#define CORDON_PARENT_HANDLER_ENTRY(number, Name, js, side, ...) CORDON_PARENT_HANDLER_ENTRY_##side(Name)
constexpr host::ParentOpHandler kParentHandlers[] = {CORDON_OP_TABLE(CORDON_PARENT_HANDLER_ENTRY)};
#undef CORDON_PARENT_HANDLER_ENTRY
#undef CORDON_PARENT_HANDLER_ENTRY_kParent
#undef CORDON_PARENT_HANDLER_ENTRY_kChild
static_assert(sizeof kParentHandlers / sizeof kParentHandlers[0] == abi::kOpCount, "a handler slot for every op");

bool make_pipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  return true;
}

// The exit channel of a box that awaits its release: the init writes its
// record one way, the parent its release byte the other (a packet each).
bool make_exit_channel(UniqueFd* ours, UniqueFd* inits) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return false;
  ours->reset(fds[0]);
  inits->reset(fds[1]);
  return true;
}

}  // namespace

// The kernel makes the euid of the thread that clones with CLONE_NEWUSER
// the owner of the new user namespace, and charges the namespace's per-user
// counts (ucounts) to that uid on the host. A root caller that wants a box
// charged to the tenant's host uid instead of its own becomes that uid on
// this thread alone (the raw syscall: glibc's wrapper would change every
// thread) for the clone. SECBIT_NO_SETUID_FIXUP keeps its capabilities
// meanwhile (CLONE_INTO_CGROUP checks the cgroup as the cloning thread);
// the real and saved uids stay 0, so switching back cannot fail.
class NamespaceOwner {
 public:
  NamespaceOwner() = default;
  NamespaceOwner(const NamespaceOwner&) = delete;
  NamespaceOwner& operator=(const NamespaceOwner&) = delete;

  // 0 or an errno; `uid` 0 leaves the caller the owner.
  int become(uint32_t uid) {
    if (uid == 0) return 0;
    if (geteuid() != 0) return EPERM;
    // A change of euid clears this thread's parent-death signal: put it back.
    int pdeath = 0;
    if (sys::sc(__NR_prctl, PR_GET_PDEATHSIG, &pdeath) == 0) saved_pdeath_ = pdeath;
    long bits = sys::sc(__NR_prctl, PR_GET_SECUREBITS);
    if (bits < 0) return int(-bits);
    long r = sys::sc(__NR_prctl, PR_SET_SECUREBITS, bits | SECBIT_NO_SETUID_FIXUP);
    if (r < 0) return int(-r);
    saved_bits_ = bits;
    r = sys::sc(__NR_setresuid, -1, long(uid), -1);
    if (r < 0) return int(-r);
    switched_ = true;
    return 0;
  }

  ~NamespaceOwner() {
    if (switched_) sys::sc(__NR_setresuid, -1, 0, -1);
    if (saved_bits_ >= 0) sys::sc(__NR_prctl, PR_SET_SECUREBITS, saved_bits_);
    if (saved_pdeath_ > 0) sys::sc(__NR_prctl, PR_SET_PDEATHSIG, saved_pdeath_);
  }

 private:
  int saved_pdeath_ = 0;
  long saved_bits_ = -1;
  bool switched_ = false;
};

// The spawn window: from the clone until the box child has exec'd (or died),
// a child that changes its host uid or gid shares our memory, and the
// kernel marks that memory non-dumpable at the change (commit_creds). While
// any such child runs in our memory as the box's uid, the flag must stay
// off: otherwise other processes of that uid could ptrace the child or open
// its /proc/<pid>/mem and read or write Node. So the flag is restored only
// when the last child in the window has left it (exec'd or been reaped):
// an in-flight count, not a per-call restore.
//
// Concurrent (the default): spawns overlap and only the count guards the
// flag; a spawn still takes the window alone when it needs a
// box child's /proc files to belong to us: an unprivileged caller whose
// child changes its host uid (setuid id-map helpers, newuidmap checks the
// owner of /proc/<pid>) would make every other child's /proc files root's
// while the flag is off, and the parent's id-map writes would then fail.
// Serial (set_concurrent_setup(false)): one spawn at a time, whichever
// thread (worker_threads, the threadpool) started it, as before issue 15.
class SpawnWindow {
 public:
  class Turn {
   public:
    Turn(SpawnWindow& window, bool alone) : window_(window), alone_(alone) {
      if (alone_) {
        window_.gate_.lock();
      } else {
        window_.gate_.lock_shared();
      }
      std::lock_guard<std::mutex> count(window_.count_mutex_);
      if (window_.in_flight_++ == 0) window_.was_dumpable_ = prctl(PR_GET_DUMPABLE) == 1;
    }
    ~Turn() {
      {
        std::lock_guard<std::mutex> count(window_.count_mutex_);
        if (--window_.in_flight_ == 0 && window_.was_dumpable_ && prctl(PR_GET_DUMPABLE) != 1) prctl(PR_SET_DUMPABLE, 1);
      }
      if (alone_) {
        window_.gate_.unlock();
      } else {
        window_.gate_.unlock_shared();
      }
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    SpawnWindow& window_;
    bool alone_;
  };

 private:
  std::shared_mutex gate_;
  std::mutex count_mutex_;
  int in_flight_ = 0;
  bool was_dumpable_ = false;
};

static SpawnWindow g_spawn_window;
static std::atomic<bool> g_concurrent_setup{true};  // on by default since issue 15

void set_concurrent_setup(bool on) { g_concurrent_setup.store(on); }

// Whether this spawn must have the window to itself (see SpawnWindow).
static bool needs_window_alone(const DecodedPlan& decoded) {
  if (!g_concurrent_setup.load()) return true;
  return geteuid() != 0 && decoded.runs_id_map_helper;
}

// Benchmarks and tests: every box child gets its own memory, cgroup or not.
static std::atomic<bool> g_force_own_memory{false};

void force_own_memory(bool on) { g_force_own_memory.store(on); }

int release_box(int exit_fd) {
  char release = 1;
  ssize_t n;
  do n = send(exit_fd, &release, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n != 1) return -errno;
  // Released only once the init says so: until it has cleared its signal
  // the box still dies with this thread, and a caller that exits right
  // after the spawn (`cordon oci create`) would take it along. The answer
  // is a packet of one byte; a packet of eight is the init's exit record
  // (it ended first), left for the record watch.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kReleaseAckMs);
  for (;;) {
    const long left_ms = long(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left_ms <= 0) return -ETIMEDOUT;
    struct pollfd answer = {exit_fd, POLLIN, 0};
    int ready = poll(&answer, 1, int(left_ms));
    if (ready < 0 && errno != EINTR) return -errno;
    if (ready <= 0) continue;  // interrupted, or the time is up (above)
    char byte;
    ssize_t size = recv(exit_fd, &byte, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (size < 0) return -errno;
    if (size != 1) return -ESRCH;  // EOF, or the exit record: the init ended before it could let go
    recv(exit_fd, &byte, 1, MSG_DONTWAIT);
    return 0;
  }
}

SpawnOutcome spawn(const uint8_t* plan, size_t size, const int32_t* fds, size_t fd_count, bool timings) {
  SpawnOutcome outcome;
  DecodedPlan decoded;
  outcome.malformed = decode_plan(plan, size, fds, fd_count, &decoded);
  if (!outcome.malformed.empty()) return outcome;
  outcome.dies_with_parent = decoded.dies_with_parent;
  outcome.awaits_release = decoded.awaits_release;
  SpawnWindow::Turn turn(g_spawn_window, needs_window_alone(decoded));
  // Step timings (when asked for) in memory the child shares even when it
  // has its own: copied into the outcome on every return, then unmapped.
  struct TimingMap {
    int64_t* data = nullptr;
    size_t count = 0;
    ~TimingMap() {
      if (data != nullptr) munmap(data, count * sizeof(int64_t));
    }
  } timing_map;
  auto with_timings = [&]() -> SpawnOutcome& {
    if (timing_map.data != nullptr) outcome.step_end_ns.assign(timing_map.data, timing_map.data + timing_map.count);
    return outcome;
  };
  auto fail = [&](int step, int error, int detail = 0) {
    outcome.failed_step = step;
    outcome.error = error;
    outcome.detail = detail;
    return with_timings();
  };

  UniqueFd status_r, status_w, sync_r, sync_w, exit_r, exit_w, parent_pidfd;
  if (decoded.dies_with_parent || decoded.awaits_release) {
    // The child checks it once its parent-death signal is set: a supervisor
    // that died before then sent none. Without pidfds (before 5.3) it goes
    // without the check, as before.
    parent_pidfd.reset(int(syscall(__NR_pidfd_open, getpid(), 0)));
  }
  if (!make_pipe(&status_r, &status_w)) return fail(decoded.clone_step, errno);
  if (decoded.needs_sync && !make_pipe(&sync_r, &sync_w)) return fail(decoded.clone_step, errno);
  if (decoded.uses_init && !(decoded.awaits_release ? make_exit_channel(&exit_r, &exit_w) : make_pipe(&exit_r, &exit_w))) {
    return fail(decoded.clone_step, errno);
  }
  decoded.view.control.status_fd = status_w.get();
  decoded.view.control.sync_fd = sync_r.get();
  decoded.view.control.exit_fd = exit_w.get();
  decoded.view.control.root_fd = -1;
  decoded.view.control.parent_fd = parent_pidfd.get();
  if (decoded.uses_init) finish_init_argv(&decoded);
  size_t window_size = 0;
  void* shared_page = shared_window(&window_size);
  if (shared_page == nullptr) return fail(decoded.clone_step, ENOMEM);
  auto* shared = new (shared_page) SharedState{};
  shared->progress = -1;
  child::ForkState& fork_state = shared->fork;
  decoded.view.progress = &shared->progress;
  // Step timings live in a shared mapping too: a child with its own memory
  // (a box in a cgroup) writes there as well. Touched here first, so Node's
  // cgroup pays for its pages.
  if (timings) {
    size_t count = size_t(decoded.view.count) + 1;
    void* mapped = mmap(nullptr, count * sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return fail(decoded.clone_step, ENOMEM);
    memset(mapped, 0, count * sizeof(int64_t));
    timing_map.data = static_cast<int64_t*>(mapped);
    timing_map.count = count;
    decoded.view.step_end_ns = timing_map.data;
  }
  auto record_end = [&](uint32_t index) {
    if (decoded.view.step_end_ns != nullptr) decoded.view.step_end_ns[index] = child::monotonic_ns();
  };
  if (decoded.enters_pid) {
    fork_state.stack_top = grandchild_stack_top();
    decoded.view.fork = &fork_state;
  }

  // A child that changes its uid or gid makes the memory it shares with us
  // non-dumpable, and with it this process: its /proc files then belong to
  // root, and an unprivileged caller could no longer write the next box's
  // id maps. The window's turn restores it when the last child has left
  // our memory (see SpawnWindow).

  // Every signal stays blocked while the child shares our memory: a handler
  // running in the child would run Node's code on the child's stack.
  CloneRequest request{decoded.clone_flags, -1,
                       child::run, &decoded.view, !(decoded.own_memory || g_force_own_memory.load())};
  CloneOutcome cloned;
  record_end(decoded.view.count);
  {
    host::AllSignalsBlocked blocked;
    NamespaceOwner owner;
    int error = owner.become(decoded.namespace_owner);
    if (error != 0) {
      cloned = CloneOutcome{-error, -1, Rung::kClone3, false};
    } else if (decoded.into_cgroup) {
      cloned = clone_into_cgroup(decoded.cgroup_fd, decoded.clone_flags, child::run, &decoded.view);
    } else {
      cloned = clone_child(request);
    }
  }
  outcome.rung = int(cloned.rung);
  if (cloned.pid < 0) return fail(decoded.clone_step, int(-cloned.pid));
  if (decoded.clone_step >= 0) record_end(uint32_t(decoded.clone_step));
  UniqueFd pidfd(cloned.pidfd);
  status_w.reset();
  sync_r.reset();
  exit_w.reset();
  parent_pidfd.reset();

  // The parent's steps after the clone (step 0, the decoder checked), each
  // through its handler (host/ops.h), while the child waits for "go".
  for (uint32_t i = uint32_t(decoded.clone_step) + 1; i < decoded.view.count; i++) {
    const child::Step& step = decoded.steps[i];
    if (step.side != abi::Side::kParent) continue;
    host::ParentStepRun run{pid_t(cloned.pid), cloned.placed, 0};
    int error = kParentHandlers[uint32_t(step.op) - 1](step, run);  // the decoder checked the op and its side
    if (error != 0) {
      sync_w.reset();
      kill_and_reap(pidfd.get());
      return fail(int(i), error, run.detail);
    }
    record_end(i);
  }
  if (sync_w) {
    char go = 1;
    ssize_t n;
    do n = write(sync_w.get(), &go, 1);
    while (n < 0 && errno == EINTR);
    sync_w.reset();
  }

  // EOF: the payload exec'd (the pipe is close-on-exec). A record: a step
  // failed. An init's payload process first says it reached its exec.
  abi::StatusRecord record{};
  size_t got = 0;
  bool payload_reached_exec = false;
  for (;;) {
    got = 0;
    while (got < sizeof record) {
      ssize_t n = read(status_r.get(), reinterpret_cast<char*>(&record) + got, sizeof record - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += size_t(n);
    }
    if (!decoded.uses_init || payload_reached_exec || got != sizeof record || record.step_index != abi::kReachedExec) break;
    payload_reached_exec = true;
  }
  // EOF without a record, and the exec step never begun: the process
  // walking the plan was killed on the way (with its own memory, in the
  // box's cgroup: the OOM killer of a memory limit too small for the setup).
  // With an init, EOF before its payload process reached its exec: the
  // init (in the box's cgroup from its late join) or that process died.
  const int32_t reached = __atomic_load_n(&shared->progress, __ATOMIC_ACQUIRE);
  const bool died_in_setup = got == 0 && (reached < int32_t(decoded.view.count) - 1 || (decoded.uses_init && !payload_reached_exec));
  auto died = [&](int signal) {
    outcome.killed_signal = signal == 0 ? -1 : signal;
    return fail(reached < 0 ? decoded.clone_step : int(reached), ECHILD);
  };
  if (decoded.enters_pid) {
    // The child only cloned the box's process into the new pid namespace
    // and ended (or failed before): reap it, then take the process it made
    // (our own child) as the box.
    int first_signal = reap(pidfd.get());
    long box = __atomic_load_n(&fork_state.pid, __ATOMIC_ACQUIRE);
    if (died_in_setup) return died(box > 0 ? reap_pid(pid_t(box)) : first_signal);
    if (got != 0) {
      // A record ends the spawn: the box is killed before it is reaped, so
      // a payload that forges a record into the status pipe (one allowed
      // to trace the init) cannot hold the spawn by living on. A real
      // failure is exiting anyway.
      if (box > 0) {
        kill(pid_t(box), SIGKILL);  // our unreaped child: its pid cannot have been reused
        reap_pid(pid_t(box));
      }
      if (got != sizeof record) return fail(decoded.clone_step, EPROTO);
      return fail(record.step_index, record.error, record.detail);
    }
    long box_pidfd = box > 0 ? sys::sc(__NR_pidfd_open, box, 0) : -ESRCH;
    if (box_pidfd < 0) {
      if (box > 0) {
        kill(pid_t(box), SIGKILL);  // our unreaped child: its pid cannot have been reused
        reap_pid(pid_t(box));
      }
      return fail(decoded.clone_step, int(-box_pidfd));
    }
    fcntl(int(box_pidfd), F_SETFD, FD_CLOEXEC);
    pidfd.reset(int(box_pidfd));
    cloned.pid = box;
  }
  if (died_in_setup) return died(reap(pidfd.get()));
  if (got != 0) {
    sys::sc(__NR_pidfd_send_signal, pidfd.get(), SIGKILL, 0, 0);  // as above: never wait on a box that lives on
    reap(pidfd.get());
    if (got != sizeof record) return fail(decoded.clone_step, EPROTO);
    return fail(record.step_index, record.error, record.detail);
  }
  // EOF: the exec (the last step) is done.
  record_end(decoded.view.count - 1);
  if (exit_r) fcntl(exit_r.get(), F_SETFL, O_NONBLOCK);
  outcome.pid = int(cloned.pid);
  outcome.pidfd = pidfd.release();
  outcome.exit_fd = exit_r.release();
  return with_timings();
}

}  // namespace cordon
