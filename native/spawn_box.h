// Parent orchestration of one spawn: pipes, signal mask, clone, the parent's
// steps, "go", and the status pipe.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace cordon {

struct SpawnOutcome {
  std::string malformed;  // non-empty: the plan itself is bad (a bug in lib/)
  int pid = -1;
  int pidfd = -1;
  int exit_fd = -1;       // our end of the init's exit channel, or -1
  bool dies_with_parent = false;  // the plan's kSetParentDeathSignal: the box ends with its env (env_owned.h)
  // ... untilRecorded: it does until the caller's release (release_box), then outlives it
  bool awaits_release = false;
  int rung = -1;
  // On failure: which plan step failed, with what errno and op detail.
  int failed_step = -1;
  int error = 0;
  int detail = 0;
  // The child died before its exec without saying why (no status record):
  // the signal that killed it (-1: it exited). failed_step is the step it
  // had begun.
  int killed_signal = 0;
  // With timings asked for: the CLOCK_MONOTONIC ns each step ended (0: it
  // did not), then the moment before the clone. Empty otherwise.
  std::vector<int64_t> step_end_ns;
  bool ok() const { return malformed.empty() && error == 0; }
};

// A box that awaits its release (SpawnOutcome::awaits_release) has been
// recorded: its init lets go of its parent-death signal, so the box now
// outlives this process. `exit_fd` is the outcome's exit channel. Waits (up
// to kReleaseAckMs) for the init to confirm. Returns 0, -ESRCH or -EPIPE
// (the init ended first), -ETIMEDOUT (no answer: the box still dies with
// this thread) or another -errno.
constexpr long kReleaseAckMs = 2000;
int release_box(int exit_fd);

// `timings`: record when each step ended (SpawnOutcome::step_end_ns).
SpawnOutcome spawn(const uint8_t* plan, size_t size, const int32_t* fds, size_t fd_count, bool timings = false);

// Benchmarks and tests: clone every box child with its own memory (as a box
// in a cgroup always is), to measure or exercise that path alone.
void force_own_memory(bool on);

// On by default (issue 15): spawns from several threads (spawnIsolatedAsync's
// threadpool, worker_threads) set their boxes up at the same time instead of
// one after another, an in-flight count guarding the dumpable flag (see
// SpawnWindow in spawn_box.cc). Off: one at a time (benchmarks, tests).
void set_concurrent_setup(bool on);

}  // namespace cordon
