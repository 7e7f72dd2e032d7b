// Child half of per-process limits: rlimits, umask, nice, OOM score.
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>

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

namespace {

// Where the last '/' of `path` is (the length of its directory part).
unsigned long directory_length(const char* path) {
  unsigned long slash = 0;
  for (unsigned long i = 0; path[i] != '\0'; i++) {
    if (path[i] == '/') slash = i;
  }
  return slash;
}

// Whether `path` is a file of the directory `dir` (its first `len` chars).
bool in_directory(const char* path, const char* dir, unsigned long len) {
  if (directory_length(path) != len) return false;
  for (unsigned long i = 0; i < len; i++) {
    if (path[i] != dir[i]) return false;
  }
  return true;
}

// Writes `content` to the existing file `name` beneath `dir` (AT_FDCWD: a
// path), never following a final symlink and never blocking, and only when
// it is procfs's (oom_score_adj, /proc/sys). box.exec() joins the box's
// mount namespace first, whose payload, when allowed to mount, decides what
// /proc is there: a FIFO in place of the file blocked the open (and the
// spawn with it; now ENXIO), and a file on a tmpfs over /proc took the limit
// without applying it (now EXDEV).
int write_beneath(int dir, const char* name, const char* content) {
  long fd = sys::sc(__NR_openat, dir, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
  if (fd < 0) return as_errno(fd);
  struct statfs fs;
  long r = sys::sc(__NR_fstatfs, fd, &fs);
  if (r == 0 && fs.f_type != PROC_SUPER_MAGIC) r = -EXDEV;
  if (r == 0) {
    unsigned long len = 0;
    while (content[len] != '\0') len++;
    r = write_all(int(fd), content, len);
  }
  sys::sc(__NR_close, fd);
  return as_errno(r);
}

}  // namespace

int write_existing(const char* path, const char* content) { return write_beneath(AT_FDCWD, path, content); }

int run_WriteExisting(const Step& step, StepRun& run) {
  const auto first = WriteExistingArgs::of(step);
  // The writes that follow into the same directory (the per-user counters
  // in /proc/sys/user, sysctls of one subtree) are taken here too: the
  // directory is walked once and each file opened beneath it. In a new user
  // namespace each /proc/sys directory and file is a dentry of that
  // namespace's own, found by scanning the hash chain of every namespace's
  // dentries of that name, so the walk costs as much as the file (measured:
  // 4 counters 175 µs by full path, 146 beneath one directory fd).
  const unsigned long dir_len = directory_length(first.path);
  uint32_t last = run.index;
  while (last + 1 < run.plan.count && run.plan.steps[last + 1].op == abi::Op::kWriteExisting &&
         in_directory(WriteExistingArgs::of(run.plan.steps[last + 1]).path, first.path, dir_len)) {
    last++;
  }
  char dir[4096];
  if (last == run.index || dir_len == 0 || dir_len >= sizeof dir) return write_existing(first.path, first.text);
  for (unsigned long i = 0; i < dir_len; i++) dir[i] = first.path[i];
  dir[dir_len] = '\0';
  // The directory is walked as the full path would be; each file is opened
  // with O_NOFOLLOW as write_existing opens it. A failure to reach the
  // directory is the first file's (its path names it).
  long dir_fd = sys::sc(__NR_openat, AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir_fd < 0) return as_errno(dir_fd);
  int error = 0;
  for (uint32_t i = run.index; i <= last; i++) {
    if (i != run.index) record_start(run.plan, i);
    const auto a = WriteExistingArgs::of(run.plan.steps[i]);
    error = write_beneath(int(dir_fd), a.path + dir_len + 1, a.text);
    if (error != 0) {
      run.index = i;
      break;
    }
    if (i != last) record_end(run.plan, i);
  }
  sys::sc(__NR_close, dir_fd);
  if (error == 0) run.index = last;
  return error;
}

}  // namespace cordon::child
