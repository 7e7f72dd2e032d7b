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

// A cgroup-namespace helper started ahead of the spawns that take it
// (lib/cgroups/namespace-helpers.ts, the TakeCgroupNamespace op): the init
// binary open as `init_fd`, exec'd as `cordon-init --cgroupns-wait FD`. It
// shares our memory only from its CLONE_VFORK clone to its exec, with every
// signal blocked, keeps no fd of ours but its socket, dies with the calling
// thread (PR_SET_PDEATHSIG: call it from a thread that lives as long as the
// process), and waits on `socket` (ours; SEQPACKET, close-on-exec, with a
// receive timeout for the box child that takes it) for one request.
// Closing `socket` lets it go. Returns 0 or -errno.
// How long a box child waits for a waiting helper's answer before it makes
// its own helper (a stopped or starved one).
constexpr long kNamespaceHelperAnswerSeconds = 2;
struct NamespaceHelper {
  long pid = -1;
  int pidfd = -1;
  int socket = -1;
};
int start_namespace_helper(int init_fd, NamespaceHelper* out);

}  // namespace cordon::host
