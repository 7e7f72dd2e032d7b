// Child half of seccomp: the program compiled in the parent is installed by
// the exec step right before execve (runtime::install_seccomp), or by the
// init in the payload's process, so every step before it may use any syscall.
#include "child/mechanisms.h"

namespace cordon::child {

int run_Seccomp(const Step&, StepRun&) { return 0; }

}  // namespace cordon::child
