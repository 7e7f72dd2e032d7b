// Cgroups, child side: a box child with its own memory joins its v1 cgroups
// itself (lib/cgroups/ is the TypeScript half; host/cgroups.cc writes a pid
// for the v2 fallback, and clone.cc places a v2 child at the clone).
#include <errno.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

// The JoinCgroup op: "0" into the v1 `tasks` file open as the fd moves this
// thread, the child's only one, into the cgroup. The kernel checks the
// credentials the parent opened the file with; a thread moving itself needs
// no threadgroup lock, so no RCU grace period (the parent's write of our
// pid to cgroup.procs waited for one: 1-11 ms, more with Node's memory).
int run_JoinCgroup(const Step& step, StepRun&) {
  long r = write_all(step.fd, "0", 1);
  return r < 0 ? static_cast<int>(-r) : 0;
}

}  // namespace cordon::child
