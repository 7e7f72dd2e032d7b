#include "host/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "sys/syscalls.h"

namespace cordon::host {
namespace {

// openat2 without following any symlink (nor magic link) on the way.
int open_no_symlinks(int dir_fd, const char* path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_NO_SYMLINKS;
  long fd = sys::openat2_retry(dir_fd, path, &how, sizeof how);
  return int(fd);
}

UpperOutcome fail(int dir, UpperPart part, int error) { return UpperOutcome{error, dir, int(part)}; }

// upper (1) or work (2) in the open rootfs.upper.dir.
UpperOutcome prepare_sub(int parent, int which, int box_uid, int box_gid, int caller_uid) {
  const char* name = which == 1 ? "upper" : "work";
  // upper is the box's root directory (overlayfs shows its mode there), so
  // it stays 0755; work is overlayfs' own and nobody else's business.
  mode_t mode = which == 1 ? 0755 : 0700;
  bool made = mkdirat(parent, name, mode) == 0;
  if (!made && errno != EEXIST) return fail(which, UpperPart::kMake, errno);
  int fd = open_no_symlinks(parent, name, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fail(which, UpperPart::kOpen, -fd);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int error = errno;
    close(fd);
    return fail(which, UpperPart::kStat, error);
  }
  UpperOutcome outcome{0, which, 0};
  if (made && int(info.st_uid) == caller_uid) {
    // Ours: given to the box's root through the fd, with the exact mode.
    if (fchown(fd, uid_t(box_uid), gid_t(box_gid)) != 0 || fchmod(fd, mode) != 0) {
      outcome = fail(which, UpperPart::kAdopt, errno);
    }
  } else if (int(info.st_uid) != box_uid || int(info.st_gid) != box_gid) {
    outcome = fail(which, UpperPart::kOwner, EPERM);
  }
  close(fd);
  return outcome;
}

}  // namespace

UpperOutcome prepare_upper(const char* dir, int box_uid, int box_gid, int caller_uid) {
  int fd = open_no_symlinks(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fail(0, UpperPart::kOpen, -fd);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int error = errno;
    close(fd);
    return fail(0, UpperPart::kStat, error);
  }
  // The files of the layer are as open as the box makes them (0644, say):
  // this directory is what keeps other tenants and host users out.
  int r = 0;
  if (int(info.st_uid) == box_uid) {
    if ((info.st_mode & 07777) != 0700) r = fchmod(fd, 0700);
  } else if (int(info.st_uid) == caller_uid) {
    if (int(info.st_gid) != box_gid) r = fchown(fd, uid_t(-1), gid_t(box_gid));
    if (r == 0 && (info.st_mode & 07777) != 0710) r = fchmod(fd, 0710);
  } else {
    close(fd);
    return fail(0, UpperPart::kOwner, EPERM);
  }
  if (r != 0) {
    int error = errno;
    close(fd);
    return fail(0, UpperPart::kProtect, error);
  }
  UpperOutcome outcome = prepare_sub(fd, 1, box_uid, box_gid, caller_uid);
  if (outcome.error == 0) outcome = prepare_sub(fd, 2, box_uid, box_gid, caller_uid);
  close(fd);
  return outcome;
}

int open_socket_dir(const char* dir, int mode, int uid, int gid, int* fds, int max_fds, int* count) {
  *count = 0;
  if (dir[0] != '/' || max_fds < 2 || max_fds > 64) return EINVAL;
  int current = open_no_symlinks(AT_FDCWD, "/", O_PATH | O_DIRECTORY);
  if (current < 0) return -current;
  // Until something is made, `current` is ours alone; from the first mkdir
  // on, every fd of the chain (the last directory that existed first) is
  // kept in fds[], to remove what cordon made by.
  bool making = false;
  std::string names[64];  // names[i]: fds[i + 1] within fds[i]
  int error = 0;
  const char* p = dir;
  while (true) {
    while (*p == '/') p++;
    if (*p == '\0') break;
    const char* end = p;
    while (*end != '\0' && *end != '/') end++;
    std::string name(p, size_t(end - p));
    p = end;
    int next = open_no_symlinks(current, name.c_str(), O_PATH | O_DIRECTORY);
    bool made = false;
    if (next == -ENOENT) {
      if (mkdirat(current, name.c_str(), mode_t(mode)) != 0) {
        error = errno;
        break;
      }
      made = true;
      next = open_no_symlinks(current, name.c_str(), O_PATH | O_DIRECTORY);
    }
    if (next < 0) {
      error = -next;
      break;
    }
    if (made && (uid >= 0 || gid >= 0) && fchownat(next, "", uid_t(uid), gid_t(gid), AT_EMPTY_PATH) != 0) {
      error = errno;
      close(next);
      break;
    }
    if (made && !making) {
      making = true;
      fds[(*count)++] = current;
    } else if (!making) {
      close(current);
    }
    if (making) {
      if (*count >= max_fds) {
        close(next);
        error = ENAMETOOLONG;
        break;
      }
      names[*count - 1] = name;
      fds[(*count)++] = next;
    }
    current = next;
  }
  if (!making) {
    if (error == 0) fds[(*count)++] = current;
    else close(current);
  }
  if (error != 0) {
    // Nothing cordon made stays behind a failure.
    for (int i = *count - 1; i > 0; i--) unlinkat(fds[i - 1], names[i - 1].c_str(), AT_REMOVEDIR);
    for (int i = 0; i < *count; i++) close(fds[i]);
    *count = 0;
  }
  return error;
}

int unlink_at(int dir_fd, const char* name, bool directory) {
  return unlinkat(dir_fd, name, directory ? AT_REMOVEDIR : 0) == 0 ? 0 : -errno;
}

}  // namespace cordon::host
