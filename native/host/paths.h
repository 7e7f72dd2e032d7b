// Parent side of tenant-writable host paths: every one is resolved with
// openat2(RESOLVE_NO_SYMLINKS) and changed through the fd it resolved to,
// never by a path the kernel would resolve again (and through a link a
// tenant planted meanwhile).
#pragma once

#include "host/parts.h"

namespace cordon::host {

// What prepare_upper() found wrong, for the error: which directory and
// which part. The directory is 0 for rootfs.upper.dir, 1 upper, 2 work.
// X(Name, value, system call, what it does): exported for lib/filesystem.ts.
#define CORDON_UPPER_PART(X)                                                  \
  X(Open, 1, "openat2", "open without symlinks")                              \
  X(Stat, 2, "fstat", "stat")                                                 \
  X(Owner, 3, "fstat", "a foreign owner (EPERM)")                             \
  X(Protect, 4, "fchmod", "fchown/fchmod of rootfs.upper.dir")                \
  X(Make, 5, "mkdirat", "make the directory")                                 \
  X(Adopt, 6, "fchown", "fchown/fchmod of a directory cordon made")

CORDON_HOST_PART_ENUM(UpperPart, CORDON_UPPER_PART);

struct UpperOutcome {
  int error;  // 0 or a positive errno
  int dir;    // 0 rootfs.upper.dir, 1 upper, 2 work
  int part;   // UpperPart
};

// Readies a persistent upper layer: opens `dir` (absolute, must exist)
// without following symlinks; makes it reachable by its owner and the box's
// root only (0700 when the box's root owns it; else group box_gid, 0710; a
// third owner is refused); then makes or checks `upper` (0755: it is the
// box's root directory) and `work` (0700) in it, each opened without
// following symlinks. A directory cordon makes is given to box_uid:box_gid
// through its fd; one that exists must belong to them already.
UpperOutcome prepare_upper(const char* dir, int box_uid, int box_gid, int caller_uid);

// Opens the directory `dir` (absolute) without following symlinks, making
// its missing components (mode `mode`, owned by uid/gid when >= 0) one at a
// time with mkdirat under the fd of the one before. Returns 0 or a positive
// errno. fds[] gets O_PATH fds of the last directory that existed and of
// each one made after it, so fds[*count - 1] is `dir` itself (*count is 1
// when nothing was made); the caller closes them.
int open_socket_dir(const char* dir, int mode, int uid, int gid, int* fds, int max_fds, int* count);

// unlinkat(dir_fd, name, flags): 0 or -errno.
int unlink_at(int dir_fd, const char* name, bool directory);

}  // namespace cordon::host
