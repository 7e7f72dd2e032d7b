// Reporting a failed step to the parent: the runtime's status record.
#pragma once

#include <stdint.h>

#include "plan_abi.h"
#include "runtime/runtime.h"

namespace cordon::child {

using runtime::exit_now;
using runtime::write_all;

// Writes one StatusRecord (an atomic write under PIPE_BUF) and exits with 127.
[[noreturn]] inline void fail(int status_fd, uint32_t step_index, abi::Op op, int error, int detail = 0) {
  runtime::report(status_fd, static_cast<int32_t>(step_index), op, error, detail);
}

}  // namespace cordon::child
