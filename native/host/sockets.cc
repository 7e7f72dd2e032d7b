#include "host/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

namespace cordon::host {
namespace {

int fail_and_close(int fd) {
  int error = errno;
  close(fd);
  return -error;
}

// Whether a listening Unix socket of this network namespace is bound to the
// file (dev, ino), asked of the kernel through sock_diag (what `ss -xl`
// reads): 1 yes, 0 no, -1 cannot tell (no unix_diag in this kernel).
int listener_bound_to(dev_t dev, ino_t ino) {
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (sock < 0) return -1;
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = 1u << 10;  // TCP_LISTEN
  message.request.udiag_show = UDIAG_SHOW_VFS;
  if (send(sock, &message, sizeof message, 0) != ssize_t(sizeof message)) {
    close(sock);
    return -1;
  }
  alignas(nlmsghdr) char buffer[16384];
  int found = 0;
  for (;;) {
    ssize_t length = recv(sock, buffer, sizeof buffer, 0);
    if (length <= 0) {
      close(sock);
      return -1;
    }
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, size_t(length)); header = NLMSG_NEXT(header, length)) {
      if (header->nlmsg_type == NLMSG_DONE) {
        close(sock);
        return found;
      }
      if (header->nlmsg_type == NLMSG_ERROR) {
        close(sock);
        return -1;
      }
      auto* entry = reinterpret_cast<unix_diag_msg*>(NLMSG_DATA(header));
      int rest = int(header->nlmsg_len) - int(NLMSG_LENGTH(sizeof *entry));
      for (auto* attribute = reinterpret_cast<rtattr*>(entry + 1); RTA_OK(attribute, rest); attribute = RTA_NEXT(attribute, rest)) {
        if (attribute->rta_type != UNIX_DIAG_VFS) continue;
        auto* vfs = reinterpret_cast<unix_diag_vfs*>(RTA_DATA(attribute));
        // The kernel's dev_t (major << 20 | minor), not stat's encoding.
        if (vfs->udiag_vfs_ino == ino && makedev(vfs->udiag_vfs_dev >> 20, vfs->udiag_vfs_dev & 0xfffff) == dev) found = 1;
      }
    }
  }
}

// Whether something listens on the socket file `name` (already checked to be
// a socket, `info`). The kernel's list of listening sockets of this network
// namespace says so without touching them. A socket it does not list may
// still belong to a supervisor in another network namespace: a connect
// tells, refused (ECONNREFUSED) when nobody listens and the file is stale.
// Only in that rare case does a live listener see a connection open and
// close at once.
bool socket_in_use(const char* address_path, const struct stat& info) {
  if (listener_bound_to(info.st_dev, info.st_ino) == 1) return true;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  snprintf(address.sun_path, sizeof address.sun_path, "%s", address_path);
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (probe < 0) return true;  // cannot tell: leave it
  int error = connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 ? 0 : errno;
  close(probe);
  return error != ECONNREFUSED && error != ENOENT;
}

// The shutdown flags of the Unix socket with inode `ino`, asked of the
// kernel through sock_diag: -1 when it cannot tell.
int unix_shutdown_flags(ino_t ino) {
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (sock < 0) return -1;
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0u;
  message.request.udiag_ino = static_cast<unsigned int>(ino);
  message.request.udiag_cookie[0] = ~0u;  // no cookie: find it by inode
  message.request.udiag_cookie[1] = ~0u;
  int flags = -1;
  if (send(sock, &message, sizeof message, 0) == ssize_t(sizeof message)) {
    alignas(nlmsghdr) char buffer[4096];
    ssize_t length = recv(sock, buffer, sizeof buffer, 0);
    auto* header = reinterpret_cast<nlmsghdr*>(buffer);
    if (length > 0 && NLMSG_OK(header, size_t(length)) && header->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      auto* entry = reinterpret_cast<unix_diag_msg*>(NLMSG_DATA(header));
      int rest = int(header->nlmsg_len) - int(NLMSG_LENGTH(sizeof *entry));
      for (auto* attribute = reinterpret_cast<rtattr*>(entry + 1); RTA_OK(attribute, rest); attribute = RTA_NEXT(attribute, rest)) {
        if (attribute->rta_type == UNIX_DIAG_SHUTDOWN) flags = *reinterpret_cast<unsigned char*>(RTA_DATA(attribute));
      }
    }
  }
  close(sock);
  return flags;
}

}  // namespace

int listener_state(int fd) {
  int accepting = 0;
  socklen_t size = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) != 0) return -errno;
  if (!accepting) return 0;
  int domain = 0;
  size = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0) return -errno;
  if (domain != AF_UNIX) return 1;
  // A Unix socket shut down still says it listens, but refuses connections.
  struct stat info;
  if (fstat(fd, &info) != 0) return -errno;
  int flags = unix_shutdown_flags(info.st_ino);
  return flags > 0 ? 0 : 1;
}

int relisten(int fd, int backlog) { return listen(fd, backlog) == 0 ? 0 : -errno; }

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

int listen_unix_at(int dir_fd, const char* name, int mode, int uid, int gid, int backlog, FileId* made) {
  if (name[0] == '\0' || strchr(name, '/') != nullptr) return -EINVAL;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // The directory by its fd: the kernel resolves the magic link to exactly
  // the directory opened, whatever its path has become since.
  int length = snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/%s", dir_fd, name);
  if (length < 0 || size_t(length) >= sizeof address.sun_path) return -ENAMETOOLONG;
  struct stat info;
  // A stale socket from an earlier box (or a supervisor that was killed) is
  // replaced; one something listens on is another box's, maybe another
  // supervisor's, and is left to it; anything else (a planted symlink
  // included) is not replaced either.
  if (fstatat(dir_fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(info.st_mode)) return -EEXIST;
    if (socket_in_use(address.sun_path, info)) return -EADDRINUSE;
    if (unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT) return -errno;
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
    } else if ((ours = true), made->dev = info.st_dev, made->ino = info.st_ino, chmod(through, mode_t(mode)) != 0 ||
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

int unlink_socket_at(int dir_fd, const char* name, FileId made) {
  struct stat info;
  if (fstatat(dir_fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK(info.st_mode) || info.st_dev != made.dev || info.st_ino != made.ino) return -ESTALE;
  return unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
}

}  // namespace cordon::host
