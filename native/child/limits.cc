// Child half of per-process limits: rlimits, umask, nice, OOM score.
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

int set_rlimit(int resource, int64_t soft, int64_t hard) {
  struct rlimit limit;
  limit.rlim_cur = soft < 0 ? RLIM_INFINITY : static_cast<rlim_t>(soft);
  limit.rlim_max = hard < 0 ? RLIM_INFINITY : static_cast<rlim_t>(hard);
  return as_errno(sys::sc(__NR_prlimit64, 0, resource, &limit, 0));
}

int raise_hard_rlimit(int resource, int64_t hard) {
  struct rlimit now;
  long r = sys::sc(__NR_prlimit64, 0, resource, 0, &now);
  if (r < 0) return as_errno(r);
  const rlim_t wanted = hard < 0 ? RLIM_INFINITY : static_cast<rlim_t>(hard);
  if (now.rlim_max == RLIM_INFINITY || now.rlim_max >= wanted) return 0;
  struct rlimit raised;
  raised.rlim_cur = now.rlim_cur;
  raised.rlim_max = wanted;
  return as_errno(sys::sc(__NR_prlimit64, 0, resource, &raised, 0));
}

int set_umask(long mask) {
  sys::sc(__NR_umask, mask);
  return 0;
}

int set_priority(long nice) { return as_errno(sys::sc(__NR_setpriority, PRIO_PROCESS, 0, nice)); }

int write_existing(const char* path, const char* content) {
  long fd = sys::sc(__NR_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) return as_errno(fd);
  unsigned long len = 0;
  while (content[len] != '\0') len++;
  long r = write_all(int(fd), content, len);
  sys::sc(__NR_close, fd);
  return as_errno(r);
}

// Op handlers (child/ops.h).

int run_SetRlimit(const Step& step, StepRun& run) {
  const auto a = SetRlimitArgs::of(step);
  // With an init, the init sets them in the payload's process instead.
  // Except a stack limit the init can run under (1 MiB or more, or
  // unlimited): it also sizes execve's room for argv and envp, which the
  // init's exec needs as much as the payload's (a large environment).
  if (run.init_runs_payload()) {
    const bool roomy = a.soft < 0 || a.soft >= (int64_t(1) << 20);
    if (a.resource != RLIMIT_STACK || !roomy) return 0;
  }
  return set_rlimit(a.resource, a.soft, a.hard);
}

int run_RaiseRlimit(const Step& step, StepRun&) {
  return raise_hard_rlimit(int(CORDON_ARG_NUM(step, RaiseRlimit, resource)), CORDON_ARG_NUM(step, RaiseRlimit, hard));
}

int run_Umask(const Step& step, StepRun&) { return set_umask(long(CORDON_ARG_NUM(step, Umask, mask))); }

int run_SetPriority(const Step& step, StepRun&) { return set_priority(long(CORDON_ARG_NUM(step, SetPriority, nice))); }

int run_WriteExisting(const Step& step, StepRun&) {
  const auto a = WriteExistingArgs::of(step);
  return write_existing(a.path, a.text);
}

}  // namespace cordon::child
