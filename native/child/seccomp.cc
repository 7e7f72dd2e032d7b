// Child half of seccomp: install the program compiled in the parent. It is
// the last step before exec, so every step before it may use any syscall.
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

int install_seccomp(const void* program, uint64_t instructions) {
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(instructions);
  prog.filter = static_cast<struct sock_filter*>(const_cast<void*>(program));
  long r = sys::sc(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  return r < 0 ? static_cast<int>(-r) : 0;
}

}  // namespace cordon::child
