// Runs in the cloned child, on its own stack, sharing the parent's memory
// until exec. Only raw syscalls: no heap, no locks, no exceptions, no libc
// state (see sys/syscalls.h for why not even errno).
//
// The executor knows no op: each step goes to its handler from the op table
// (child/ops.h), which lives in the op's mechanism file.
#include "child/executor.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "child/mechanisms.h"
#include "child/ops.h"
#include "child/status.h"
#include "sys/syscalls.h"

namespace cordon::child {
namespace {

// By op number - 1: the child op's handler (child/ops.h), or nullptr for a
// parent op. Local, so the child reaches it without a GOT.
#define CORDON_CHILD_HANDLER_ENTRY_kChild(Name) &run_##Name,
#define CORDON_CHILD_HANDLER_ENTRY_kParent(Name) nullptr,
#define CORDON_CHILD_HANDLER_ENTRY(number, Name, js, side, ...) CORDON_CHILD_HANDLER_ENTRY_##side(Name)
constexpr OpHandler kOpHandlers[] = {CORDON_OP_TABLE(CORDON_CHILD_HANDLER_ENTRY)};
#undef CORDON_CHILD_HANDLER_ENTRY
#undef CORDON_CHILD_HANDLER_ENTRY_kChild
#undef CORDON_CHILD_HANDLER_ENTRY_kParent
static_assert(sizeof kOpHandlers / sizeof kOpHandlers[0] == abi::kOpCount, "a handler slot for every op");

}  // namespace

void record_start(const PlanView& plan, uint32_t index) {
  if (plan.progress != nullptr) __atomic_store_n(plan.progress, int32_t(index), __ATOMIC_RELAXED);
}

void record_end(const PlanView& plan, uint32_t index) {
  if (plan.step_end_ns != nullptr) __atomic_store_n(&plan.step_end_ns[index], monotonic_ns(), __ATOMIC_RELAXED);
}

// The executor's own protocol with the parent: block until it has finished
// its steps.
int run_WaitForParent(const Step&, StepRun& run) {
  char go = 0;
  long n = runtime::read_byte(run.control->sync_fd, &go);
  if (n < 0) return static_cast<int>(-n);
  if (n == 0) exit_now(127);  // the parent gave up on us and reported why
  return 0;
}

void walk(const PlanView& plan, ControlFds control, uint32_t start) {
  for (uint32_t i = start; i < plan.count; i++) {
    const Step& step = plan.steps[i];
    if (step.side != abi::Side::kChild) continue;
    record_start(plan, i);
    const OpHandler handler = kOpHandlers[uint32_t(step.op) - 1];  // the decoder checked the op
    StepRun run{plan, &control, i, 0};
    int error = handler != nullptr ? handler(step, run) : EINVAL;
    if (error != 0) fail(control.status_fd, run.index, plan.steps[run.index].op, error, run.detail);
    record_end(plan, run.index);
    i = run.index;
  }
  fail(control.status_fd, plan.count, abi::Op::kExec, ENOEXEC);  // no exec step: decoder forbids
}

int64_t monotonic_ns() {
  struct timespec now {};
  sys::sc(__NR_clock_gettime, CLOCK_MONOTONIC, &now);
  return int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
}

int run(void* arg) {
  const PlanView& plan = *static_cast<const PlanView*>(arg);
  // Before anything, the waits for the parent included: a supervisor that
  // dies during the set-up takes the box along (the plan's own step sets
  // the signal again after the last credential change, which clears it).
  if (plan.control.parent_fd >= 0) die_with_parent(SIGKILL, plan.control.parent_fd);
  walk(plan, plan.control, 0);
}

}  // namespace cordon::child
