#include <errno.h>

#include "runtime/runtime.h"
#include "sys/syscalls.h"

namespace cordon::runtime {

int exec_candidates(const char* const* candidates, int count, const char* const* argv, const char* const* envp,
                    int* detail) {
  int decided = ENOENT;
  *detail = 0;
  for (int i = 0; i < count && candidates[i] != nullptr; i++) {
    int error = static_cast<int>(-sys::sc(__NR_execve, candidates[i], argv, envp));
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

void patch_listen_pid(const char* const* envp) {
  static const char kName[] = "LISTEN_PID=";
  for (int i = 0; envp[i] != nullptr; i++) {
    const char* entry = envp[i];
    int k = 0;
    while (kName[k] != '\0' && entry[k] == kName[k]) k++;
    if (kName[k] != '\0') continue;
    // envp is the caller's own copy (the parent's plan, or the init's
    // stack), which exec copies.
    char* digits = const_cast<char*>(entry) + k;
    int room = 0;
    while (digits[room] != '\0') room++;
    // Over the reserved digits, or not at all if the pid needs more.
    format_decimal(static_cast<unsigned long>(sys::sc(__NR_getpid)), digits, room + 1);
    return;
  }
}

}  // namespace cordon::runtime
