// Parent half of user namespaces: the id maps of a child that waits for "go".
#pragma once

#include <sys/types.h>

namespace cordon::host {

// Writes `content` to /proc/PID/<file> ("uid_map", "gid_map", "setgroups").
// Returns 0 or a positive errno.
int write_proc_file(pid_t pid, const char* file, const char* content);

}  // namespace cordon::host
