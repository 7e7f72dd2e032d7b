// Child half of exec: the PATH search was done in TypeScript; here each
// candidate is tried in order, as execvp would, without allocating.
#include <errno.h>
#include <fcntl.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

int exec_candidates(const char* const* candidates, const char* const* argv,
                    const char* const* envp, int* detail) {
  int decided = ENOENT;
  *detail = 0;
  for (int i = 0; candidates[i] != nullptr; i++) {
    long r = sys::sc(__NR_execve, candidates[i], argv, envp);
    int error = static_cast<int>(-r);
    switch (error) {
      case ENOENT:
      case ENOTDIR:
      case ENAMETOOLONG:
      case ELOOP:
        if (decided == ENOENT) *detail = i;
        continue;
      case EACCES:
        // Like execvp: remember it, but a later candidate may still run.
        if (decided != EACCES) *detail = i;
        decided = EACCES;
        continue;
      default:
        *detail = i;
        return error;
    }
  }
  return decided;
}

int exec_fd(int fd, const char* const* argv, const char* const* envp) {
  long r = sys::sc(__NR_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
  return static_cast<int>(-r);
}

}  // namespace cordon::child
