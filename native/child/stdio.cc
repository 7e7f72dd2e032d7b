// Child half of stdio (lib/stdio.ts): stdio and extra fds in place, the rest closed
// at exec. An addon cannot take libuv's cloexec lock, so any fd may be
// inherited here; only the plan's targets survive exec.
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "child/mechanisms.h"
#include "child/plan_args.h"
#include "sys/syscalls.h"

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

// Moves fd to a number >= floor, close-on-exec, unless it is there already
// (no dup3 below writes at or above floor, and CloseOtherFds marks it
// close-on-exec later). Returns the fd to use or -errno.
static long lift(int fd, int floor) {
  if (fd >= floor) return fd;
  return sys::sc(__NR_fcntl, fd, F_DUPFD_CLOEXEC, floor);
}

int install_fds(const PlanView& plan, ControlFds* control, uint32_t* failed_step) {
  // Everything we still need goes above the targets and the two slots
  // reserved for the control fds, so no dup2 below can clobber a source.
  const int reserved = control->highest_target + 1;
  const int floor = reserved + 2;
  int lifted[abi::kMaxInstalledFds];
  uint32_t n = 0;
  for (uint32_t i = 0; i < plan.count; i++) {
    const Step& step = plan.steps[i];
    if (step.op != abi::Op::kInstallFd) continue;
    *failed_step = i;
    if (n >= sizeof lifted / sizeof lifted[0]) return EMFILE;
    long moved = lift(step.fd, floor);
    if (moved < 0) return as_errno(moved);
    lifted[n++] = static_cast<int>(moved);
  }
  // The init binary is exec'd after the fds are in place: wherever its fd
  // happens to be, a target or a control slot may land on it.
  for (uint32_t i = 0; i < plan.count; i++) {
    if (plan.steps[i].op != abi::Op::kExecInit) continue;
    *failed_step = i;
    long init = lift(plan.steps[i].fd, floor);
    if (init < 0) return as_errno(init);
    control->init_fd = static_cast<int>(init);
  }
  long status = lift(control->status_fd, floor);
  if (status < 0) return as_errno(status);
  long exit_fd = -1;
  if (control->exit_fd >= 0) {
    exit_fd = lift(control->exit_fd, floor);
    if (exit_fd < 0) return as_errno(exit_fd);
  }
  n = 0;
  for (uint32_t i = 0; i < plan.count; i++) {
    const Step& step = plan.steps[i];
    if (step.op != abi::Op::kInstallFd) continue;
    *failed_step = i;
    const auto install = InstallFdArgs::of(step);
    long r = sys::sc(__NR_dup3, lifted[n++], install.target, 0);
    if (r < 0) return as_errno(r);
    if (install.clear_nonblock) {
      // A socket handed over from Node's event loop is non-blocking; the
      // payload expects the default. (The flag lives in the shared open file
      // description: lib/ closes the parent's copy right after the spawn.)
      long flags = sys::sc(__NR_fcntl, install.target, F_GETFL);
      if (flags >= 0) sys::sc(__NR_fcntl, install.target, F_SETFL, flags & ~long(O_NONBLOCK));
    }
  }
  // The status pipe stays close-on-exec (EOF tells the parent exec worked);
  // the exit pipe must survive into the init.
  long r = sys::sc(__NR_dup3, status, reserved, O_CLOEXEC);
  if (r < 0) return as_errno(r);
  control->status_fd = reserved;
  if (exit_fd >= 0) {
    r = sys::sc(__NR_dup3, exit_fd, reserved + 1, 0);
    if (r < 0) return as_errno(r);
    control->exit_fd = reserved + 1;
  }
  return 0;
}

int mark_fds_cloexec_from(int first) {
  long r = sys::sc(__NR_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
  if (r == 0) return 0;
  if (r != -ENOSYS && r != -EINVAL) return as_errno(r);
  // Kernels before 5.11: walk up to the fd limit.
  struct rlimit limit;
  r = sys::sc(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &limit);
  if (r < 0) return as_errno(r);
  unsigned long last = limit.rlim_cur > (1UL << 20) ? (1UL << 20) : limit.rlim_cur;
  for (unsigned long fd = static_cast<unsigned long>(first); fd < last; fd++) {
    sys::sc(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }
  return 0;
}

// Op handlers (child/ops.h).

// All install steps are adjacent (the decoder checks); the first applies
// them all and moves the walk past the group.
int run_InstallFd(const Step&, StepRun& run) {
  uint32_t failed = run.index;
  int error = install_fds(run.plan, run.control, &failed);
  if (error != 0) {
    run.index = failed;
    return error;
  }
  while (run.index + 1 < run.plan.count && run.plan.steps[run.index + 1].op == abi::Op::kInstallFd) run.index++;
  return 0;
}

int run_CloseOtherFds(const Step&, StepRun& run) {
  // The control fds sit just above the targets (install_fds put them there).
  const ControlFds& control = *run.control;
  int last_kept = control.exit_fd > control.status_fd ? control.exit_fd : control.status_fd;
  return mark_fds_cloexec_from(last_kept + 1);
}

}  // namespace cordon::child
