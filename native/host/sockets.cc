#include "host/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

int listen_unix(const char* path, int mode, int uid, int gid, int backlog) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof address.sun_path) return -ENAMETOOLONG;
  strcpy(address.sun_path, path);
  struct stat info;
  // A stale socket from an earlier box is replaced; anything else is not.
  if (lstat(path, &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) return -EEXIST;
    if (unlink(path) != 0) return -errno;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return fail_and_close(fd);
  if (chmod(path, mode_t(mode)) != 0 || ((uid >= 0 || gid >= 0) && lchown(path, uid_t(uid), gid_t(gid)) != 0)) {
    int error = errno;
    unlink(path);
    close(fd);
    return -error;
  }
  if (listen(fd, backlog) != 0) {
    int error = errno;
    unlink(path);
    close(fd);
    return -error;
  }
  return fd;
}

}  // namespace cordon::host
