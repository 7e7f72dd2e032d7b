// Parent side of the plan ABI: checks a plan buffer and turns it into the
// PlanView the child walks. No N-API here, so it can be unit-tested and fuzzed.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "child/plan_view.h"

namespace cordon {

// Owns everything a PlanView points to. Must outlive the child's exec.
struct DecodedPlan {
  // The view points into this object's own members: never copy or move it.
  DecodedPlan() = default;
  DecodedPlan(const DecodedPlan&) = delete;
  DecodedPlan& operator=(const DecodedPlan&) = delete;

  std::vector<child::Step> steps;
  std::vector<std::vector<const char*>> lists;  // pointer arrays behind Step::list
  std::vector<std::string> owned_strings;        // the init's argv numbers
  std::vector<std::vector<uint8_t>> blobs;       // binary data behind Step::blob
  std::string strings;                           // a copy of the string area
  child::PlanView view{};
  uint64_t clone_flags = 0;
  bool into_cgroup = false;
  uint32_t namespace_owner = 0;  // a host uid to own the new user namespace, or 0: the caller
  int cgroup_fd = -1;
  int clone_step = -1;
  bool needs_sync = false;
  bool uses_init = false;
  bool dies_with_parent = false;  // a kSetParentDeathSignal step: the box ends when the supervisor does
  bool awaits_release = false;    // ... untilRecorded: until the supervisor has recorded it (the init's release)
  bool enters_pid = false;  // a kEnterPidNamespace step: the box's process is a grandchild
  // A kRunIdMapHelper step: a setuid helper (newuidmap) changes the child's
  // host uid while it may share our memory (see spawn_box's SpawnWindow).
  bool runs_id_map_helper = false;
  // The child goes into a cgroup (CLONE_INTO_CGROUP or a cgroup.procs write):
  // it must not share our memory (house rule; see CloneRequest::share_memory).
  // Decided here, from the plan's own steps, so no plan can get it wrong.
  bool own_memory = false;
};

// Decodes `plan` with fd slots `fds`. Returns an empty string on success or a
// message saying what is malformed. Control fds are filled in later by spawn.
std::string decode_plan(const uint8_t* plan, size_t size, const int32_t* fds, size_t fd_count,
                        DecodedPlan* out);

// Builds the init's argv now that the control fd numbers are known.
void finish_init_argv(DecodedPlan* decoded);

}  // namespace cordon
