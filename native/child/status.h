// Reporting a failed step to the parent.
#pragma once

#include <stdint.h>

#include "plan_abi.h"

namespace cordon::child {

// Writes one StatusRecord (an atomic write under PIPE_BUF) and exits with 127.
[[noreturn]] void fail(int status_fd, uint32_t step_index, abi::Op op, int error, int detail = 0);

// Blocks until all of `len` bytes are written, retrying on EINTR. Returns 0 or
// a negative errno.
long write_all(int fd, const void* buf, unsigned long len);

[[noreturn]] void exit_now(int code);

}  // namespace cordon::child
