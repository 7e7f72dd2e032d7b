#include "host/logs.h"

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

LogOutcome fail(LogPart part, int error) { return LogOutcome{-error, int(part), false}; }

}  // namespace

LogOutcome open_log_file(const char* path, int mode, int uid, int gid) {
  std::string full(path);
  size_t slash = full.rfind('/');
  if (full.empty() || full[0] != '/' || slash == std::string::npos || slash + 1 >= full.size()) return fail(LogPart::kOpen, EINVAL);
  std::string dir = slash == 0 ? "/" : full.substr(0, slash);
  std::string name = full.substr(slash + 1);
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long dir_fd = sys::openat2_retry(AT_FDCWD, dir.c_str(), &how, sizeof how);
  if (dir_fd < 0) return fail(LogPart::kDir, int(-dir_fd));
  // O_NONBLOCK for the open only: a FIFO planted at the path must not block
  // the supervisor (it fails ENXIO without a reader, or is refused below).
  const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  bool made = true;
  int fd = openat(int(dir_fd), name.c_str(), flags | O_CREAT | O_EXCL, mode_t(mode));
  if (fd < 0 && errno == EEXIST) {
    made = false;
    fd = openat(int(dir_fd), name.c_str(), flags);
  }
  int error = fd < 0 ? errno : 0;
  close(int(dir_fd));
  if (fd < 0) return fail(LogPart::kOpen, error);
  struct stat info;
  LogPart part = LogPart::kStat;
  if (fstat(fd, &info) != 0) {
    error = errno;
  } else if (!S_ISREG(info.st_mode)) {
    part = LogPart::kNotFile;
    error = EINVAL;
  } else if (made && (fchmod(fd, mode_t(mode)) != 0 || ((uid >= 0 || gid >= 0) && fchown(fd, uid_t(uid), gid_t(gid)) != 0))) {
    part = LogPart::kOwner;
    error = errno;
  } else if (fcntl(fd, F_SETFL, O_APPEND) != 0) {
    part = LogPart::kFlags;
    error = errno;
  }
  if (error != 0) {
    close(fd);
    return fail(part, error);
  }
  return LogOutcome{fd, 0, made};
}

int make_pipe(int uid, int gid, int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
  // Both ends share one inode: giving it to the box's user lets the box
  // reopen its end through /proc/self/fd (the kernel checks the inode's
  // owner and mode, 0600, on that open).
  if ((uid >= 0 || gid >= 0) && fchown(fds[0], uid_t(uid), gid_t(gid)) != 0) {
    int error = errno;
    close(fds[0]);
    close(fds[1]);
    return -error;
  }
  return 0;
}

int pump_log(int read_fd, int file_fd, unsigned long long* bytes) {
  char buffer[65536];
  int error = 0;
  *bytes = 0;
  for (;;) {
    // A write of up to PIPE_BUF is atomic in the pipe and a read takes
    // whole writes: one append per read keeps the box's lines whole in a
    // file that other boxes append to too.
    ssize_t got = read(read_fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      if (error == 0) error = errno;
      break;
    }
    if (got == 0) break;
    for (ssize_t done = 0; error == 0 && done < got;) {
      ssize_t put = write(file_fd, buffer + done, size_t(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) {
        error = errno;
        break;
      }
      done += put;
      *bytes += static_cast<unsigned long long>(put);
    }
  }
  close(read_fd);
  close(file_fd);
  return error;
}

}  // namespace cordon::host
