// The parent's op dispatch, generated from the op table (CORDON_OP_TABLE in
// plan_abi.h), as child/ops.h is the child's: every row whose side is
// kParent is run by the handler host::run_<Name>, declared here and defined
// in the op's mechanism file on the host side (idmap.cc, cgroups.cc,
// bridge.cc, clone.cc). spawn_box.cc walks the parent's steps through an
// array generated from the same rows and never names an op. A row without
// its handler leaves an undefined symbol: the addon does not load and
// test/native/child-symbols.test.js names the handler.
//
// Parent handlers run in the spawn window, in the addon's own thread, with
// the child waiting on the sync pipe (or not yet past its first step): they
// may use libc and the heap, unlike the child's.
#pragma once

#include <sys/types.h>

#include "child/plan_view.h"

namespace cordon::host {

// What a parent handler gets besides its step.
struct ParentStepRun {
  pid_t pid;    // the box child, cloned and waiting
  bool placed;  // the clone put it in its cgroup already (CLONE_INTO_CGROUP)
  int detail;   // the record's detail on failure (a VethPart, a helper's exit status, ...)
};

// Returns 0 or a positive errno (with the detail in run.detail).
using ParentOpHandler = int (*)(const child::Step& step, ParentStepRun& run);

#define CORDON_PARENT_HANDLER_DECL_kParent(Name) int run_##Name(const child::Step& step, ParentStepRun& run);
#define CORDON_PARENT_HANDLER_DECL_kChild(Name)
#define CORDON_PARENT_HANDLER_DECL(number, Name, js, side, ...) CORDON_PARENT_HANDLER_DECL_##side(Name)
CORDON_OP_TABLE(CORDON_PARENT_HANDLER_DECL)
#undef CORDON_PARENT_HANDLER_DECL
#undef CORDON_PARENT_HANDLER_DECL_kParent
#undef CORDON_PARENT_HANDLER_DECL_kChild

}  // namespace cordon::host
