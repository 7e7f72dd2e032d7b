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

}  // namespace cordon::host
