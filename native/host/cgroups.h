// Cgroups, host side (host/cgroups.cc).
#pragma once

#include <chrono>
#include <string>

namespace cordon::host {

// Removes the cgroup directory `dir` (absolute) and every cgroup below it,
// deepest first: what a box that ended with its env leaves behind
// (env_owned.cc; lib/cgroups/live.ts does the same from JS). What still
// runs in it is killed through cgroup.kill first (v2: a box in the host's
// pid namespace may leave processes after its first one is reaped). A
// cgroup whose last process is still exiting refuses rmdir (EBUSY) for a
// moment, so each is tried again until `deadline`. Directories are opened
// without following symbolic links (cgroupfs has none). 0 when removed or
// already gone, else the errno of the removal that failed.
int remove_cgroup_tree(const std::string& dir, std::chrono::steady_clock::time_point deadline);

}  // namespace cordon::host
