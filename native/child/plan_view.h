// The decoded plan as the child sees it: plain arrays prepared by the parent
// before clone. Nothing here owns memory; the parent keeps it alive until the
// child has exec'd or exited.
#pragma once

#include <stdint.h>

#include "plan_abi.h"

namespace cordon::child {

struct Step {
  abi::Op op;
  abi::Side side;
  int fd;                      // the real fd number behind the step's slot, or -1
  int64_t num[4];
  const char* str[4];          // nullptr when absent
  const char* const* list[4];  // by str slot: NULL-terminated arrays (exec lists, fs config, gids, Landlock rules)
  const void* blob;            // binary data decoded by the parent (the seccomp program), or nullptr
};

// fds the executor itself uses, and where they must end up before exec.
struct ControlFds {
  int status_fd;       // write end of the status pipe (O_CLOEXEC)
  int sync_fd;         // read end of the "go" pipe, or -1
  int exit_fd;         // write end of the exit pipe for the init, or -1
  int highest_target;  // the highest fd number a kInstallFd step fills, at least 2
  int root_fd;         // the root targets resolve beneath (kOpenRoot), or -1
  int init_fd = -1;    // the init binary once install_fds moved it clear of the targets, or -1
  // The files the init joins its cgroups by (JoinCgroupLate), which
  // install_fds put right above the exit fd for it: how many.
  int late_joins = 0;
  // A pidfd of the supervisor's process (O_CLOEXEC), for a box that dies
  // with it, or -1: the child looks at it after setting its parent-death
  // signal, to see whether the supervisor died before (see parent_gone).
  int parent_fd = -1;
};

struct PlanView;

// Handed from the process that enters a new pid namespace (kEnterPidNamespace)
// to the one it clones there, in memory the parent sees (a MAP_SHARED page:
// the child may have a copy of the rest): the parent reads `pid` once the
// first one has ended.
struct ForkState {
  const PlanView* plan;
  uint32_t start;      // the step the new process walks from
  ControlFds control;  // the control fds as they were at the fork
  void* stack_top;     // its stack (a region the parent set aside)
  long pid;            // its pid in the parent's pid namespace, or 0
};

struct PlanView {
  const Step* steps;
  uint32_t count;
  ControlFds control;
  ForkState* fork;  // set when the plan has a kEnterPidNamespace step, else nullptr
  // Where the child notes the index of the step it is about to take, in
  // memory the parent sees: a child with its own memory that is killed
  // before its exec (the OOM killer of the box's cgroup) leaves no status
  // record, and this says where it died. nullptr: not kept.
  int32_t* progress;
  // When the caller asked for step timings (NODE_DEBUG=cordon, a
  // diagnostics_channel subscriber): CLOCK_MONOTONIC nanoseconds at which
  // each step ended, written by the side that ran it, in the parent's memory;
  // count + 1 entries, the last the moment before the clone. Else nullptr,
  // and no step reads the clock.
  int64_t* step_end_ns = nullptr;
};

// CLOCK_MONOTONIC in nanoseconds, by raw syscall (the clock process.hrtime reads).
int64_t monotonic_ns();

}  // namespace cordon::child
