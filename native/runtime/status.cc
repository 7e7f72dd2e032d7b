#include <errno.h>

#include "runtime/runtime.h"
#include "sys/syscalls.h"

namespace cordon::runtime {

long write_all(int fd, const void* buf, unsigned long len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    long n = sys::sc(__NR_write, fd, p, len);
    if (n == -EINTR) continue;
    if (n < 0) return n;
    if (n == 0) return -EIO;
    p += n;
    len -= static_cast<unsigned long>(n);
  }
  return 0;
}

long read_byte(int fd, char* byte) {
  long n;
  do n = sys::sc(__NR_read, fd, byte, 1);
  while (n == -EINTR);
  return n;
}

void exit_now(int code) {
  for (;;) sys::sc(__NR_exit_group, code);
}

void report(int status_fd, int32_t step, abi::Op op, int error, int detail) {
  abi::StatusRecord record{step, static_cast<uint32_t>(op), error, detail};
  write_all(status_fd, &record, sizeof record);
  exit_now(127);
}

}  // namespace cordon::runtime
