#include <linux/filter.h>
#include <linux/seccomp.h>

#include "runtime/runtime.h"
#include "sys/syscalls.h"

namespace cordon::runtime {

int install_seccomp(const void* program, uint64_t instructions) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(instructions);
  prog.filter = static_cast<sock_filter*>(const_cast<void*>(program));
  long r = sys::sc(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  return r < 0 ? static_cast<int>(-r) : 0;
}

}  // namespace cordon::runtime
