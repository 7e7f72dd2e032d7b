#include "host/layers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace cordon::host {

int make_whiteout(const char* path) {
  return mknodat(AT_FDCWD, path, S_IFCHR | 0000, makedev(0, 0)) == 0 ? 0 : -errno;
}

int set_dir_xattr(const char* path, const char* name, const std::string& value) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -errno;
  int result = fsetxattr(fd, name, value.data(), value.size(), 0) == 0 ? 0 : -errno;
  close(fd);
  return result;
}

int get_xattr(const char* path, const char* name, std::string* value) {
  char buffer[256];
  ssize_t size = lgetxattr(path, name, buffer, sizeof buffer);
  if (size < 0) return -errno;
  value->assign(buffer, size_t(size));
  return 0;
}

}  // namespace cordon::host
