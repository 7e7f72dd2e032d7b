// Parent side of a persistent upper layer with a disk quota: an ext4 image
// per tenant, attached to a loop device that clears itself
// (LO_FLAGS_AUTOCLEAR) and mounted as a detached tree that only the box's
// mount namespace ever holds. When the box's namespace and cordon's fd are
// gone, the filesystem is unmounted and the loop device detached by the
// kernel: nothing is left on the host on any path.
#pragma once

#include <stdint.h>

namespace cordon::host {

// Which part failed, for the error's syscall (see lib/quota.ts).
enum class QuotaPart : int {
  kDir = 1,      // openat2 of rootfs.upper.dir without following symlinks
  kImage = 2,    // openat/creat of the image (O_NOFOLLOW)
  kCheck = 3,    // fstat: a regular file of the caller's, one link
  kSize = 4,     // ftruncate of a new image
  kLock = 5,     // flock: another box (any process) has the image mounted
  kLoop = 6,     // /dev/loop-control, LOOP_CTL_GET_FREE, LOOP_CONFIGURE
  kMount = 7,    // fsopen/fsconfig/fsmount of ext4
  kLayout = 8,   // upper/ and work/ in the filesystem
  kStatfs = 9,   // fstatfs
};

struct QuotaOutcome {
  int fd;      // the image (open_quota_image) or the mount (mount_quota_image), or -errno
  int part;    // QuotaPart when fd < 0
  bool fresh;  // the image was just made: it needs a filesystem
  int64_t size;  // the image's size in bytes
};

// Opens (or makes, `bytes` long, mode 0600) the image `name` in `dir`,
// resolved without following symlinks, and takes an exclusive flock on it,
// waiting up to `wait_ms` for a box that just ended to let go: the loop
// device holds the same open file, so the lock lasts exactly as long as a
// mount of the image anywhere, and two boxes never mount one image at once.
QuotaOutcome open_quota_image(const char* dir, const char* name, int64_t bytes, int wait_ms);

// Attaches the image to a free loop device (LO_FLAGS_AUTOCLEAR), mounts its
// ext4 as a detached tree (nosuid, nodev), and makes upper/ (0755) and
// work/ (0700) in it owned by uid:gid. Returns the mount's fd.
QuotaOutcome mount_quota_image(int image_fd, int uid, int gid);

// A second open file description of the image open as `fd` (read-only):
// its flock conflicts with the one the loop device holds, so it tells when
// the kernel has let go of the image. The fd, or -errno.
int reopen_quota_image(int fd);

// Whether the image's lock is free now: 0 (taken and dropped at once),
// -EWOULDBLOCK while a loop device still holds the image, or -errno.
int quota_image_free(int fd);

struct QuotaUsage {
  int error;
  uint64_t bytes, bytes_free, inodes, inodes_free;
};

// The filesystem's size and what is left (for unprivileged users), by fd.
QuotaUsage quota_usage(int fd);

}  // namespace cordon::host
