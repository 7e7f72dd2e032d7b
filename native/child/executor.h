// The child's whole life: walk the plan, then exec.
#pragma once

#include "child/plan_view.h"

namespace cordon::child {

// Entry point handed to clone; `arg` is a PlanView*. Never returns.
int run(void* arg);

}  // namespace cordon::child
