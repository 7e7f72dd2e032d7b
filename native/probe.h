// Kernel facts that only a syscall can tell.
#pragma once

namespace cordon {

// The Landlock ABI version, or -errno (ENOSYS: not built in; EOPNOTSUPP: off).
int landlock_abi();

}  // namespace cordon
