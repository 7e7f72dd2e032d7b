#include "host/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace cordon::host {
namespace {

int fail_and_close(int fd) {
  int error = errno;
  close(fd);
  return -error;
}

}  // namespace

int listen_tcp(const char* host, int port, int backlog) {
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(port));
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(port));
    length = sizeof *v6;
  } else {
    return -EINVAL;
  }
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) return fail_and_close(fd);
  if (listen(fd, backlog) != 0) return fail_and_close(fd);
  return fd;
}

int listen_unix_at(int dir_fd, const char* name, int mode, int uid, int gid, int backlog) {
  if (name[0] == '\0' || strchr(name, '/') != nullptr) return -EINVAL;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // The directory by its fd: the kernel resolves the magic link to exactly
  // the directory opened, whatever its path has become since.
  int length = snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/%s", dir_fd, name);
  if (length < 0 || size_t(length) >= sizeof address.sun_path) return -ENAMETOOLONG;
  struct stat info;
  // A stale socket from an earlier box is replaced; anything else (a
  // planted symlink included) is not.
  if (fstatat(dir_fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(info.st_mode)) return -EEXIST;
    if (unlinkat(dir_fd, name, 0) != 0) return -errno;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return fail_and_close(fd);
  // fchmod on a Unix socket's fd does not reach its file: the file is
  // opened O_PATH|O_NOFOLLOW, checked to be the socket we just made, and
  // changed through that fd.
  int error = 0;
  bool ours = false;
  int file = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (file < 0) {
    error = errno;
  } else {
    char through[64];
    snprintf(through, sizeof through, "/proc/self/fd/%d", file);
    if (fstat(file, &info) != 0) {
      error = errno;
    } else if (!S_ISSOCK(info.st_mode) || info.st_uid != geteuid()) {
      error = EEXIST;  // replaced meanwhile: not ours to change, nor to remove
    } else if ((ours = true), chmod(through, mode_t(mode)) != 0 ||
               ((uid >= 0 || gid >= 0) && fchownat(file, "", uid_t(uid), gid_t(gid), AT_EMPTY_PATH) != 0)) {
      error = errno;
    }
    close(file);
  }
  if (error == 0 && listen(fd, backlog) != 0) error = errno;
  if (error != 0) {
    if (ours) unlinkat(dir_fd, name, 0);
    close(fd);
    return -error;
  }
  return fd;
}

}  // namespace cordon::host
