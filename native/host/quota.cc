#include "host/quota.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "sys/syscalls.h"

namespace cordon::host {
namespace {

QuotaOutcome fail(QuotaPart part, int error) { return QuotaOutcome{-error, int(part), false, 0}; }

void sleep_ms(int ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, nullptr);
}

// An upper/ or work/ directory of the image's filesystem, owned by the box's root.
int make_owned_dir(int root, const char* name, mode_t mode, int uid, int gid) {
  if (mkdirat(root, name, mode) != 0 && errno != EEXIST) return errno;
  int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = 0;
  if (fchown(fd, uid_t(uid), gid_t(gid)) != 0 || fchmod(fd, mode) != 0) error = errno;
  close(fd);
  return error;
}

}  // namespace

QuotaOutcome open_quota_image(const char* dir, const char* name, int64_t bytes, int wait_ms) {
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long dir_fd = sys::openat2_retry(AT_FDCWD, dir, &how, sizeof how);
  if (dir_fd < 0) return fail(QuotaPart::kDir, int(-dir_fd));
  bool fresh = true;
  int fd = openat(int(dir_fd), name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    fresh = false;
    fd = openat(int(dir_fd), name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  }
  int error = fd < 0 ? errno : 0;
  if (fd < 0) {
    close(int(dir_fd));
    return fail(QuotaPart::kImage, error);
  }
  QuotaPart part = QuotaPart::kCheck;
  struct stat info;
  // The kernel parses this file as a filesystem: only the caller's own
  // regular file, with no other name a tenant could have written through.
  if (fstat(fd, &info) != 0) {
    error = errno;
  } else if (!S_ISREG(info.st_mode) || info.st_nlink != 1 || info.st_uid != geteuid() || (info.st_mode & 0022) != 0) {
    error = EPERM;
  } else if (fresh && ftruncate(fd, off_t(bytes)) != 0) {
    part = QuotaPart::kSize;
    error = errno;
  } else if (fcntl(fd, F_SETFL, 0) != 0) {
    error = errno;
  }
  if (error == 0) {
    part = QuotaPart::kLock;
    for (int waited = 0;; waited += 5) {
      if (flock(fd, LOCK_EX | LOCK_NB) == 0) break;
      error = errno;
      if (error != EWOULDBLOCK || waited >= wait_ms) break;
      error = 0;
      sleep_ms(5);
    }
  }
  if (error != 0) {
    if (fresh) unlinkat(int(dir_fd), name, 0);
    close(int(dir_fd));
    close(fd);
    return fail(part, error);
  }
  close(int(dir_fd));
  if (!fresh) fstat(fd, &info);
  return QuotaOutcome{fd, 0, fresh, fresh ? bytes : int64_t(info.st_size)};
}

QuotaOutcome mount_quota_image(int image_fd, int uid, int gid) {
  int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) return fail(QuotaPart::kLoop, errno);
  int loop = -1;
  char device[32];
  // Another process may take the free device between asking and binding it: ask again.
  for (int attempt = 0; attempt < 64 && loop < 0; attempt++) {
    int number = ioctl(control, LOOP_CTL_GET_FREE);
    if (number < 0) {
      int error = errno;
      close(control);
      return fail(QuotaPart::kLoop, error);
    }
    snprintf(device, sizeof device, "/dev/loop%d", number);
    int fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      close(control);
      return fail(QuotaPart::kLoop, error);
    }
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = uint32_t(image_fd);
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    snprintf(reinterpret_cast<char*>(config.info.lo_file_name), sizeof config.info.lo_file_name, "cordon-quota");
    if (ioctl(fd, LOOP_CONFIGURE, &config) == 0) {
      loop = fd;
      break;
    }
    int error = errno;
    close(fd);
    if (error != EBUSY) {
      close(control);
      return fail(QuotaPart::kLoop, error);
    }
  }
  close(control);
  if (loop < 0) return fail(QuotaPart::kLoop, EBUSY);
  // From here the loop device goes when its last opener does: our fd until
  // the mount below holds it, then the mount.
  long fs = sys::sc(__NR_fsopen, "ext4", FSOPEN_CLOEXEC);
  long mount = -1;
  long r = fs;
  if (fs >= 0) r = sys::sc(__NR_fsconfig, fs, FSCONFIG_SET_STRING, "source", device, 0);
  if (r >= 0) r = sys::sc(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0);
  if (r >= 0) r = mount = sys::sc(__NR_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (fs >= 0) close(int(fs));
  close(loop);
  if (r < 0) return fail(QuotaPart::kMount, int(-r));
  int error = make_owned_dir(int(mount), "upper", 0755, uid, gid);
  if (error == 0) error = make_owned_dir(int(mount), "work", 0700, uid, gid);
  if (error != 0) {
    close(int(mount));
    return fail(QuotaPart::kLayout, error);
  }
  return QuotaOutcome{int(mount), 0, false, 0};
}

int reopen_quota_image(int fd) {
  char through[64];
  snprintf(through, sizeof through, "/proc/self/fd/%d", fd);
  int copy = open(through, O_RDONLY | O_CLOEXEC);  // the magic link to our own fd
  return copy < 0 ? -errno : copy;
}

int quota_image_free(int fd) {
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) return -errno;
  flock(fd, LOCK_UN);
  return 0;
}

QuotaUsage quota_usage(int fd) {
  struct statfs info;
  if (fstatfs(fd, &info) != 0) return QuotaUsage{errno, 0, 0, 0, 0};
  return QuotaUsage{0, uint64_t(info.f_blocks) * info.f_bsize, uint64_t(info.f_bavail) * info.f_bsize, uint64_t(info.f_files), uint64_t(info.f_ffree)};
}

}  // namespace cordon::host
