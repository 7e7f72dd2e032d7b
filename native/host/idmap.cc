#include "host/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "child/plan_args.h"
#include "host/ops.h"

namespace cordon::host {

int write_proc_file(pid_t pid, const char* file, const char* content) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  // The kernel takes a map in a single write, so a short write is an error.
  size_t len = strlen(content);
  ssize_t n = write(fd, content, len);
  int error = n < 0 ? errno : (size_t(n) == len ? 0 : EIO);
  close(fd);
  return error;
}

int run_map_helper(const char* program, pid_t pid, const char* const* args, int* detail) {
  std::string pid_text = std::to_string(pid);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program));
  argv.push_back(pid_text.data());
  for (int i = 0; args[i] != nullptr; i++) argv.push_back(const_cast<char*>(args[i]));
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  pid_t helper = -1;
  int error = posix_spawn(&helper, program, nullptr, nullptr, argv.data(), envp);
  if (error != 0) return error;
  int status = 0;
  while (waitpid(helper, &status, 0) < 0) {
    if (errno != EINTR) return errno;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  *detail = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return EPERM;
}

// The parent's id-map ops (host/ops.h): the maps of a new user namespace,
// written while its child waits on the sync pipe.
int run_WriteSetgroups(const child::Step& step, ParentStepRun& run) {
  return write_proc_file(run.pid, "setgroups", CORDON_ARG_STR(step, WriteSetgroups, text));
}

int run_WriteUidMap(const child::Step& step, ParentStepRun& run) {
  return write_proc_file(run.pid, "uid_map", CORDON_ARG_STR(step, WriteUidMap, map));
}

int run_WriteGidMap(const child::Step& step, ParentStepRun& run) {
  return write_proc_file(run.pid, "gid_map", CORDON_ARG_STR(step, WriteGidMap, map));
}

// newuidmap/newgidmap: setuid helpers that write ranges /etc/subuid and
// /etc/subgid grant to an unprivileged user.
int run_RunIdMapHelper(const child::Step& step, ParentStepRun& run) {
  const auto args = child::RunIdMapHelperArgs::of(step);
  return run_map_helper(args.helper, run.pid, args.map, &run.detail);
}

}  // namespace cordon::host
