// Cgroups, parent side: what the parent does to place a box child in its
// cgroup when the clone could not (lib/cgroups/ is the TypeScript half;
// clone_into_cgroup() in clone.cc places it at the clone where the kernel
// can), and the cgroup-namespace helpers it starts ahead of the spawns.
#include "host/cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "child/plan_args.h"
#include "host/ops.h"
#include "host/process.h"
#include "runtime/runtime.h"
#include "sys/syscalls.h"

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

// The cgroups directly below the one open as `dir_fd`.
std::vector<std::string> child_cgroups(int dir_fd) {
  std::vector<std::string> names;
  int listed = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listed < 0) return names;
  DIR* dir = fdopendir(listed);
  if (dir == nullptr) {
    close(listed);
    return names;
  }
  while (dirent* entry = readdir(dir)) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
    names.emplace_back(entry->d_name);
  }
  closedir(dir);
  return names;
}

// How deep remove_below() goes: a box allowed to make cgroups could nest
// them deeper than a thread's stack would follow (a tree deeper than this
// stays, for cordon gc).
constexpr int kMaxDepth = 64;

// rmdir of `name` in `parent_fd` after its own children, retried while busy until `deadline`.
int remove_below(int parent_fd, const char* name, std::chrono::steady_clock::time_point deadline, int depth = 0) {
  if (depth > kMaxDepth) return ELOOP;
  int dir_fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return errno == ENOENT ? 0 : errno;
  int failed = 0;
  for (const std::string& child : child_cgroups(dir_fd)) {
    int error = remove_below(dir_fd, child.c_str(), deadline, depth + 1);
    if (error != 0) failed = error;
  }
  close(dir_fd);
  if (failed != 0) return failed;
  for (long pause_ms = 1;; pause_ms = pause_ms < 32 ? pause_ms * 2 : 32) {
    if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return 0;
    if ((errno != EBUSY && errno != ENOTEMPTY) || std::chrono::steady_clock::now() >= deadline) return errno;
    timespec pause{0, pause_ms * 1000000L};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace

int remove_cgroup_tree(const std::string& dir, std::chrono::steady_clock::time_point deadline) {
  size_t slash = dir.rfind('/');
  if (dir.empty() || dir[0] != '/' || slash == std::string::npos || slash + 1 == dir.size()) return EINVAL;
  std::string parent = slash == 0 ? "/" : dir.substr(0, slash);
  int parent_fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return errno == ENOENT ? 0 : errno;
  std::string name = dir.substr(slash + 1);
  // v2 only (v1 has no cgroup.kill): everything left in the tree at once.
  int dir_fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd >= 0) {
    int kill_fd = openat(dir_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
    if (kill_fd >= 0) {
      ssize_t ignored = write(kill_fd, "1", 1);  // fails only on a cgroup already gone
      (void)ignored;
      close(kill_fd);
    }
    close(dir_fd);
  }
  int error = remove_below(parent_fd, name.c_str(), deadline);
  close(parent_fd);
  return error;
}

// The parent's WriteCgroupProcs op (host/ops.h): the child's pid into an
// open cgroup.procs (a v1 hierarchy, or v2 below Linux 5.7), while it waits
// on the sync pipe. `unlessPlaced`: skipped when CLONE_INTO_CGROUP already
// put it there.
int run_WriteCgroupProcs(const child::Step& step, ParentStepRun& run) {
  if (child::WriteCgroupProcsArgs::of(step).unless_placed && run.placed) return 0;
  return write_pid(step.fd, run.pid);
}

namespace {

// What the helper needs until its exec, on our stack (CLONE_VFORK: we wait).
struct HelperStart {
  int init_fd;
  int socket;
  const char* argv[4];
  char number[12];
  int exec_error;
};

int exec_waiting_helper(void* arg) {
  HelperStart& start = *static_cast<HelperStart*>(arg);
  // It keeps nothing of ours but its socket: Node marks only some of the
  // fds it inherited close-on-exec.
  sys::sc(__NR_close_range, 0, ~0U, CLOSE_RANGE_CLOEXEC);
  sys::sc(__NR_fcntl, start.socket, F_SETFD, 0);
  // Killed with the thread that starts it: a set-up thread, which lives as
  // long as the process. A stopped helper reads no EOF, so without this it
  // would outlive a supervisor that was killed.
  sys::sc(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  const char* const envp[] = {nullptr};
  long r = sys::sc(__NR_execveat, start.init_fd, "", start.argv, envp, AT_EMPTY_PATH);
  start.exec_error = int(-r);
  return 127;
}

}  // namespace

int start_namespace_helper(int init_fd, NamespaceHelper* out) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -errno;
  HelperStart start{init_fd, pair[1], {}, {}, 0};
  runtime::format_decimal(static_cast<unsigned long>(pair[1]), start.number, sizeof start.number);
  start.argv[0] = "cordon-init";
  start.argv[1] = "--cgroupns-wait";
  start.argv[2] = start.number;
  start.argv[3] = nullptr;
  alignas(16) unsigned char stack[16 * 1024];
  int pidfd = -1;
  long pid;
  {
    AllSignalsBlocked blocked;
    pid = sys::clone_run(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, stack + sizeof stack, &pidfd, exec_waiting_helper, &start);
  }
  close(pair[1]);
  if (pid < 0) {
    close(pair[0]);
    return int(pid);
  }
  // The box child that takes the helper waits on this socket (the same open
  // file) for its answer: not for ever, if the helper was stopped.
  timeval bound{kNamespaceHelperAnswerSeconds, 0};
  setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  if (start.exec_error != 0) {
    reap_pidfd(pidfd);
    close(pidfd);
    close(pair[0]);
    return -start.exec_error;
  }
  out->pid = pid;
  out->pidfd = pidfd;
  out->socket = pair[0];
  return 0;
}

}  // namespace cordon::host
