// The clone ladder: the best clone this kernel offers, found once and kept.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace cordon {

// Rungs, best first. Numbers are exported to TS (probe().clone.rung).
enum class Rung : int {
  kClone3 = 0,        // clone3 with CLONE_PIDFD, CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP
  kClone3Basic = 1,   // clone3 with CLONE_PIDFD only (Linux 5.3, 5.4)
  kClone = 2,         // clone with CLONE_PIDFD (Linux 5.2); no time namespace
};
constexpr int kRungCount = 3;

struct CloneRequest {
  uint64_t ns_flags;        // CLONE_NEW* flags
  int cgroup_fd;            // -1, or a cgroup v2 directory for CLONE_INTO_CGROUP
  int (*fn)(void*);
  void* arg;
  // Share this process's memory (CLONE_VM). False for a child that is placed
  // in a box's cgroup: the OOM killer kills every process sharing its
  // victim's memory, so a child sharing ours there would take Node with it.
  // Without it the child gets a copy-on-write copy (a fork) and only
  // MAP_SHARED mappings (shared_window()) stay common.
  bool share_memory;
};

struct CloneOutcome {
  long pid;        // > 0, or -errno
  int pidfd;
  Rung rung;       // the rung that was used (or last tried)
  bool placed;     // the child started in the requested cgroup (CLONE_INTO_CGROUP)
};

// Clones a child that shares this process's memory (CLONE_VM, not
// CLONE_VFORK: the parent has work to do while the child waits), or a copy
// of it (request.share_memory false), and runs fn(arg) on a stack owned by
// the calling thread. The caller must not return to JavaScript before the
// child has exec'd or exited.
CloneOutcome clone_child(const CloneRequest& request);

// CLONE_INTO_CGROUP as a primitive: clones a box child straight into the
// cgroup v2 directory `cgroup_fd` (an O_RDONLY|O_DIRECTORY fd of it), so
// there is no moment in which the child runs outside it, and never with our
// memory (a box in a cgroup must not share Node's: the OOM killer kills
// every process sharing its victim's memory). For a box's fresh cgroup, a
// tenant's shared one or a pre-created pool entry alike; joining costs the
// kernel about as much as a clone without it.
//   CloneOutcome out = clone_into_cgroup(cgroup_fd, CLONE_NEWUSER | ..., fn, arg);
//   out.placed: the child started in the cgroup (the clone3 rung). False on
//   a kernel below it (Linux < 5.7): the child runs where we are, and the
//   caller must write its pid to the cgroup's cgroup.procs before it goes
//   on (spawn_box's plan does, with its conditional cgroup.procs step).
// From TS, a spawn reaches it through buildPlan's runtime fds:
// `runtime.cgroup = { dirFd, procs: [] }` (lib/plan.ts RuntimeFds) makes the
// clone step carry the fd, and spawn_box calls this.
CloneOutcome clone_into_cgroup(int cgroup_fd, uint64_t ns_flags, int (*fn)(void*), void* arg);

// The top of a second stack region for a process the child itself clones
// sharing our memory (kEnterPidNamespace), below a guard page, on the
// calling thread's child stack mapping; nullptr if it cannot be mapped.
void* grandchild_stack_top();

// One page per thread that spawns, mapped MAP_SHARED and touched (so charged
// to our own memory cgroup, never a box's) before any clone: what a child
// with its own memory must hand back to the parent lives here. nullptr if it
// cannot be mapped.
void* shared_window(size_t* size);

// The rung the ladder settled on, or -1 before the first clone.
int settled_rung();

// Forces the ladder to start at `rung` (tests of the fallbacks). -1 resets.
void force_rung(int rung);

// A bare child with the given flags on the given rung that exits at once,
// reaped before returning: 0 or -errno. Used by probe(). A child cloned into
// a cgroup (cgroup_fd >= 0) does not share our memory.
long probe_clone(Rung rung, uint64_t ns_flags, uint64_t extra_flags, int cgroup_fd);

}  // namespace cordon
