// Child half of stdio (lib/stdio.ts): stdio and extra fds in place, the rest closed
// before the exec. An addon cannot take libuv's cloexec lock, so any fd may be
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
// (no dup3 below writes at or above floor, and CloseOtherFds closes it
// later). Returns the fd to use or -errno.
static long lift(int fd, int floor) {
  if (fd >= floor) return fd;
  return sys::sc(__NR_fcntl, fd, F_DUPFD_CLOEXEC, floor);
}

int install_fds(const PlanView& plan, ControlFds* control, uint32_t* failed_step) {
  // Everything we still need goes above the targets and the two slots
  // reserved for the control fds, so no dup2 below can clobber a source.
  const int reserved = control->highest_target + 1;
  // Above the control slots: the files the init joins the box's cgroups by
  // (JoinCgroupLate), where finish_init_argv (plan_decode.cc) told it.
  int late_joins = 0;
  for (uint32_t i = 0; i < plan.count; i++) late_joins += plan.steps[i].op == abi::Op::kJoinCgroupLate ? 1 : 0;
  const int floor = reserved + 2 + late_joins;
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
  int joins[abi::kMaxLateJoins];
  int join_count = 0;
  for (uint32_t i = 0; i < plan.count && late_joins > 0; i++) {
    if (plan.steps[i].op != abi::Op::kJoinCgroupLate) continue;
    *failed_step = i;
    if (uint32_t(join_count) == abi::kMaxLateJoins) return E2BIG;  // the decoder allows no more
    long moved = lift(plan.steps[i].fd, floor);
    if (moved < 0) return as_errno(moved);
    joins[join_count++] = static_cast<int>(moved);
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
  // Not close-on-exec: the init takes them (and closes them before the payload's process starts).
  for (int k = 0; k < join_count; k++) {
    r = sys::sc(__NR_dup3, joins[k], reserved + 2 + k, 0);
    if (r < 0) return as_errno(r);
  }
  control->late_joins = join_count;
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

// Closes every fd from `first` on but `keep` (-1: none). Closed, not only
// close-on-exec: until the exec, /proc/self/fd/N of an open fd is a magic
// link the exec's own path resolution follows, and the fds above the
// control slots are Node's (a host directory among them: the box's cgroup),
// so an exec path through /proc/self/fd/N/.. would reach the host's tree
// (runc's CVE-2024-21626).
static int close_fds_from(int first, int keep) {
  long r = 0;
  if (keep >= first) {
    if (keep > first) r = sys::sc(__NR_close_range, first, keep - 1, 0);
    if (r == 0) r = sys::sc(__NR_close_range, keep + 1, ~0U, 0);
  } else {
    r = sys::sc(__NR_close_range, first, ~0U, 0);
  }
  if (r == 0) return 0;
  if (r != -ENOSYS) return as_errno(r);
  // Kernels before 5.9: walk up to the fd limit.
  struct rlimit limit;
  r = sys::sc(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &limit);
  if (r < 0) return as_errno(r);
  unsigned long last = limit.rlim_cur > (1UL << 20) ? (1UL << 20) : limit.rlim_cur;
  for (unsigned long fd = static_cast<unsigned long>(first); fd < last; fd++) {
    if (fd != static_cast<unsigned long>(keep)) sys::sc(__NR_close, fd);
  }
  return 0;
}

int run_CloseOtherFds(const Step&, StepRun& run) {
  // The control fds sit just above the targets (install_fds put them there).
  const ControlFds& control = *run.control;
  int last_kept = control.exit_fd > control.status_fd ? control.exit_fd : control.status_fd;
  // And above them the init's cgroup files (install_fds).
  if (control.late_joins > 0) last_kept = control.highest_target + 2 + control.late_joins;
  // The init binary's fd is exec'd by the last step: it stays (close-on-exec).
  int init = control.init_fd;
  if (init < 0 && run.init_runs_payload()) init = run.plan.steps[run.plan.count - 1].fd;
  if (init > last_kept) {
    long r = sys::sc(__NR_fcntl, init, F_SETFD, FD_CLOEXEC);
    if (r < 0) return as_errno(r);
  }
  return close_fds_from(last_kept + 1, init);
}

}  // namespace cordon::child
