#include <signal.h>

#include "runtime/runtime.h"
#include "sys/syscalls.h"

namespace cordon::runtime {
namespace {

// The kernel's sigaction layout for rt_sigaction.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

}  // namespace

void reset_signal_dispositions() {
  KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sys::sc(__NR_rt_sigaction, sig, &dfl, 0, sizeof(uint64_t));
  }
}

void set_signal_mask(uint64_t mask, uint64_t* old) {
  sys::sc(__NR_rt_sigprocmask, SIG_SETMASK, &mask, old, sizeof mask);
}

}  // namespace cordon::runtime
