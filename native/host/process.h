// Host-side process plumbing every cloning caller repeats: blocking signals
// around a clone that shares our memory, and waiting for a child's exit.
#pragma once

#include <signal.h>
#include <sys/wait.h>

namespace cordon::host {

// Blocks every signal on this thread while it lives. Taken around a clone
// whose child shares our memory (CLONE_VM): a handler running in the child
// would run Node's code on the child's stack.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked();
  ~AllSignalsBlocked();
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// waitid(type, id, info, options), retried on EINTR: 0 or -errno. `info`
// may be nullptr. For children cordon started itself (rule 3).
int wait_child(idtype_t type, id_t id, siginfo_t* info = nullptr, int options = WEXITED);

// Waits for the child behind `pidfd` to end and reaps it: 0 or -errno
// (ECHILD: reaped already). Blocking even on a pidfd libuv's poll made
// O_NONBLOCK, on which waitid returns EAGAIN for a child still running.
int reap_pidfd(int pidfd);

}  // namespace cordon::host
