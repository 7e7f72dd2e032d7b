// Child half of mounts. Runs inside the box's new mount namespace.
#include <errno.h>
#include <sys/mount.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

int set_mount_propagation(unsigned long propagation) {
  return as_errno(sys::sc(__NR_mount, 0, "/", 0, MS_REC | propagation, 0));
}

int mount_proc(const char* target) {
  return as_errno(sys::sc(__NR_mount, "proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0));
}

}  // namespace cordon::child
