// The child's op dispatch, generated from the op table (CORDON_OP_TABLE in
// plan_abi.h): every row whose side is kChild is run by the handler
// child::run_<Name>, declared here and defined in the op's mechanism file
// (mounts.cc, credentials.cc, ...). Adding a child op is a row in the table
// plus its handler; the executor looks handlers up in a table it generates
// from the same rows and never names an op. A row without its handler leaves
// an undefined symbol: the addon does not load and
// test/native/child-symbols.test.js fails.
#pragma once

#include <stdint.h>

#include "child/plan_view.h"

namespace cordon::child {

// What a handler gets besides its step.
struct StepRun {
  const PlanView& plan;
  ControlFds* control;
  // The step's index. A handler that takes the steps after it too (the
  // InstallFd group) moves it to the last one it took, and a failure is
  // reported for the step at `index`.
  uint32_t index;
  int detail;  // the record's detail on failure (a MountPart, a candidate, ...)

  // The plan ends by exec'ing cordon's init, which does some steps itself
  // in the payload's process.
  bool init_runs_payload() const { return plan.steps[plan.count - 1].op == abi::Op::kExecInit; }
};

// The executor's bookkeeping for step `index`: where the child is (see
// PlanView::progress) and when a step ended (PlanView::step_end_ns). A
// handler that takes the steps after it too records them itself, so each
// keeps its own mark.
void record_start(const PlanView& plan, uint32_t index);
void record_end(const PlanView& plan, uint32_t index);

// Returns 0 or a positive errno. Exec, ExecInit and EnterPidNamespace do
// not return.
using OpHandler = int (*)(const Step& step, StepRun& run);

#define CORDON_CHILD_HANDLER_DECL_kChild(Name) int run_##Name(const Step& step, StepRun& run);
#define CORDON_CHILD_HANDLER_DECL_kParent(Name)
#define CORDON_CHILD_HANDLER_DECL(number, Name, js, side, ...) CORDON_CHILD_HANDLER_DECL_##side(Name)
CORDON_OP_TABLE(CORDON_CHILD_HANDLER_DECL)
#undef CORDON_CHILD_HANDLER_DECL
#undef CORDON_CHILD_HANDLER_DECL_kChild
#undef CORDON_CHILD_HANDLER_DECL_kParent

// Walks the plan from step `start` and execs; used again by the process
// that enters a new pid namespace (namespaces.cc).
[[noreturn]] void walk(const PlanView& plan, ControlFds control, uint32_t start);

}  // namespace cordon::child
