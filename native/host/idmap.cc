#include "host/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

namespace cordon::host {

int write_proc_file(pid_t pid, const char* file, const char* content) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  // The kernel takes a map in a single write, so a short write is an error.
  size_t len = strlen(content);
  ssize_t n = write(fd, content, len);
  int error = n < 0 ? errno : (size_t(n) == len ? 0 : EIO);
  close(fd);
  return error;
}

}  // namespace cordon::host
