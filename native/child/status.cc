#include "child/status.h"

#include <errno.h>

#include "sys/syscalls.h"

namespace cordon::child {

long write_all(int fd, const void* buf, unsigned long len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    long n = sys::sc(__NR_write, fd, p, len);
    if (n == -EINTR) continue;
    if (n < 0) return n;
    p += n;
    len -= static_cast<unsigned long>(n);
  }
  return 0;
}

void exit_now(int code) {
  for (;;) sys::sc(__NR_exit_group, code);
}

void fail(int status_fd, uint32_t step_index, abi::Op op, int error, int detail) {
  abi::StatusRecord record{static_cast<int32_t>(step_index), static_cast<uint32_t>(op), error, detail};
  write_all(status_fd, &record, sizeof record);
  exit_now(127);
}

}  // namespace cordon::child
