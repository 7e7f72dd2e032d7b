// Parent half of user namespaces: the id maps of a child that waits for "go".
#pragma once

#include <sys/types.h>

namespace cordon::host {

// Writes `content` to /proc/PID/<file> ("uid_map", "gid_map", "setgroups").
// Returns 0 or a positive errno.
int write_proc_file(pid_t pid, const char* file, const char* content);

// Runs newuidmap/newgidmap (`program`) for PID with the map triples in `args`
// (NULL-terminated), with an empty environment, and waits for it. Returns 0,
// an errno, or EPERM with the helper's exit status in *detail.
int run_map_helper(const char* program, pid_t pid, const char* const* args, int* detail);

// Which file of a new user namespace write_id_maps was writing.
enum class IdMapFile { kUidMap, kSetgroups, kGidMap };

// A new user namespace's maps, in the order the kernel needs them: uid_map,
// then "deny" to setgroups when asked (an unprivileged writer must, before
// gid_map), then gid_map. `write_map(file)` writes "uid_map" or "gid_map"
// (directly, or through newuidmap/newgidmap) and returns 0 or an errno.
// Returns 0 or a positive errno, with the file that failed in *failed.
template <typename WriteMap>
int write_id_maps(pid_t pid, bool deny_setgroups, IdMapFile* failed, WriteMap write_map) {
  *failed = IdMapFile::kUidMap;
  int error = write_map("uid_map");
  if (error == 0 && deny_setgroups) {
    *failed = IdMapFile::kSetgroups;
    error = write_proc_file(pid, "setgroups", "deny");
  }
  if (error == 0) {
    *failed = IdMapFile::kGidMap;
    error = write_map("gid_map");
  }
  return error;
}

}  // namespace cordon::host
