// Cgroups, parent side: what the parent does to place a box child in its
// cgroup when the clone could not (lib/cgroups/ is the TypeScript half;
// clone_into_cgroup() in clone.cc places it at the clone where the kernel
// can).
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "child/plan_args.h"
#include "host/ops.h"

namespace cordon::host {
namespace {

int write_pid(int fd, pid_t pid) {
  char text[16];
  int len = snprintf(text, sizeof text, "%d", int(pid));
  ssize_t n;
  do n = write(fd, text, size_t(len));
  while (n < 0 && errno == EINTR);
  return n < 0 ? errno : (n == len ? 0 : EIO);
}

}  // namespace

// The parent's WriteCgroupProcs op (host/ops.h): the child's pid into an
// open cgroup.procs (a v1 hierarchy, or v2 below Linux 5.7), while it waits
// on the sync pipe. `unlessPlaced`: skipped when CLONE_INTO_CGROUP already
// put it there.
int run_WriteCgroupProcs(const child::Step& step, ParentStepRun& run) {
  if (child::WriteCgroupProcsArgs::of(step).unless_placed && run.placed) return 0;
  return write_pid(step.fd, run.pid);
}

}  // namespace cordon::host
