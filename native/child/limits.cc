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

}  // namespace cordon::child
