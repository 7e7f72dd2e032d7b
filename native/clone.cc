#include "clone.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "host/ops.h"
#include "host/process.h"
#include "sys/syscalls.h"

namespace cordon {
namespace {

// Two halves: the child runs on the upper one; a process it clones with
// CLONE_VM (kEnterPidNamespace) on the lower one. A guard page below each.
constexpr size_t kStackSize = 512 * 1024;
constexpr size_t kHalf = kStackSize / 2;
std::atomic<int> g_settled{-1};
std::atomic<int> g_forced{-1};

// One child stack per thread that spawns, reused: the child is done with it
// (exec'd or exited) before spawn returns.
struct ChildStack {
  void* base = nullptr;
  ~ChildStack() {
    if (base != nullptr) munmap(base, kStackSize);
  }
};
thread_local ChildStack t_stack;

struct SharedPage {
  void* base = nullptr;
  ~SharedPage() {
    if (base != nullptr) munmap(base, 4096);
  }
};
thread_local SharedPage t_shared;

void* stack_base() {
  if (t_stack.base == nullptr) {
    void* p = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    mprotect(p, 4096, PROT_NONE);  // guard pages: overflow faults instead of corrupting
    mprotect(static_cast<char*>(p) + kHalf, 4096, PROT_NONE);
    t_stack.base = p;
  }
  return t_stack.base;
}

long run_rung(Rung rung, const CloneRequest& request, uint64_t extra, int* pidfd) {
  void* base = stack_base();
  if (base == nullptr) return -ENOMEM;
  if (rung == Rung::kClone) {
    if (request.ns_flags & CLONE_NEWTIME) return -EINVAL;  // clone() can't express it
    unsigned long flags = (request.share_memory ? CLONE_VM : 0) | CLONE_PIDFD | request.ns_flags | SIGCHLD;
    return sys::clone_run(flags, static_cast<char*>(base) + kStackSize, pidfd, request.fn, request.arg);
  }
  sys::CloneArgs args{};
  args.flags = (request.share_memory ? CLONE_VM : 0) | CLONE_PIDFD | request.ns_flags | extra;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  // The upper half (above its guard page); the lower half is a grandchild's.
  args.stack = reinterpret_cast<uint64_t>(static_cast<char*>(base) + kHalf + 4096);
  args.stack_size = kHalf - 4096;
  if (rung == Rung::kClone3) {
    args.flags |= CLONE_CLEAR_SIGHAND;
    if (request.cgroup_fd >= 0) {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = static_cast<uint64_t>(request.cgroup_fd);
    }
  }
  // Below the first rung the cgroup is not joined at clone; the plan's
  // conditional cgroup.procs step does it in the parent's window.
  return sys::clone3_run(&args, request.fn, request.arg);
}

// Whether an error means "this rung does not exist here" rather than "this
// clone is not allowed".
bool rung_missing(long error) { return error == -ENOSYS || error == -E2BIG || error == -EINVAL; }

int exit_immediately(void*) { return 0; }

}  // namespace

CloneOutcome clone_child(const CloneRequest& request) {
  int forced = g_forced.load();
  int settled = g_settled.load();
  int start = forced >= 0 ? forced : (settled >= 0 ? settled : 0);
  CloneOutcome outcome{-ENOSYS, -1, Rung(start), false};
  for (int rung = start; rung < kRungCount; rung++) {
    int pidfd = -1;
    long pid = run_rung(Rung(rung), request, 0, &pidfd);
    outcome = {pid, pidfd, Rung(rung), request.cgroup_fd >= 0 && Rung(rung) == Rung::kClone3};
    if (pid > 0) {
      if (forced < 0 && settled != rung) g_settled.store(rung);
      return outcome;
    }
    // EINVAL is ambiguous: an unknown flag on an old kernel, or a bad
    // combination. Only fall back while this rung has never worked.
    if (!rung_missing(pid) || (settled >= 0 && rung == settled)) return outcome;
  }
  return outcome;
}

CloneOutcome clone_into_cgroup(int cgroup_fd, uint64_t ns_flags, int (*fn)(void*), void* arg) {
  if (cgroup_fd < 0) return CloneOutcome{-EBADF, -1, Rung::kClone3, false};
  return clone_child(CloneRequest{ns_flags, cgroup_fd, fn, arg, false});
}

void* shared_window(size_t* size) {
  if (t_shared.base == nullptr) {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // Fault it in here: the page is then ours (our memory cgroup's), and a
    // child's writes to it never allocate in the box's cgroup.
    static_cast<volatile char*>(p)[0] = 0;
    t_shared.base = p;
  }
  *size = 4096;
  return t_shared.base;
}

void* grandchild_stack_top() {
  void* base = stack_base();
  return base == nullptr ? nullptr : static_cast<char*>(base) + kHalf;
}

int settled_rung() { return g_settled.load(); }

void force_rung(int rung) { g_forced.store(rung); }

long probe_clone(Rung rung, uint64_t ns_flags, uint64_t extra_flags, int cgroup_fd) {
  CloneRequest request{ns_flags, cgroup_fd, exit_immediately, nullptr, cgroup_fd < 0};
  int pidfd = -1;
  long pid;
  {
    host::AllSignalsBlocked blocked;
    pid = run_rung(rung, request, extra_flags, &pidfd);
  }
  if (pid < 0) return pid;
  host::wait_child(P_PID, static_cast<id_t>(pid));
  if (pidfd >= 0) close(pidfd);
  return 0;
}

namespace host {

// The Clone op's handler (host/ops.h). Every other parent step needs the
// child's pid, so spawn() makes the clone itself (clone_child, or
// clone_into_cgroup) and walks the parent's steps after it: this handler
// only keeps the table without an exception, and has nothing left to do.
int run_Clone(const child::Step&, ParentStepRun&) { return 0; }

}  // namespace host

}  // namespace cordon
