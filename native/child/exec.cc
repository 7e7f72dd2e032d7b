// Child half of exec: the payload's exec (or the init's), the last step.
// The PATH search was done in TypeScript; the runtime tries each candidate
// in order, as execvp would, without allocating.
#include <errno.h>
#include <fcntl.h>

#include "child/mechanisms.h"
#include "runtime/runtime.h"
#include "sys/syscalls.h"

namespace cordon::child {
namespace {

// Both execs start from the default disposition of every signal, none
// blocked, as libuv's children do.
void reset_signals() {
  runtime::reset_signal_dispositions();
  runtime::set_signal_mask(0);
}

}  // namespace

int run_Exec(const Step& step, StepRun& run) {
  const int status_fd = run.control->status_fd;
  reset_signals();
  if (run.index > 0 && run.plan.steps[run.index - 1].op == abi::Op::kSeccomp) {
    // The filter goes on last, so nothing cordon does needs to be allowed by
    // it but execve itself. (With an init, the init installs it instead.)
    const Step& filter = run.plan.steps[run.index - 1];
    const auto seccomp = SeccompArgs::of(filter);
    int error = runtime::install_seccomp(seccomp.program, seccomp.instructions);
    if (error != 0) fail(status_fd, run.index - 1, filter.op, error);
  }
  const auto payload = ExecArgs::of(step);
  runtime::patch_listen_pid(payload.envp);
  int detail = 0;
  int error = runtime::exec_candidates(payload.candidates, int(CORDON_ARG_NUM(step, Exec, candidateCount)),
                                       payload.argv, payload.envp, &detail);
  fail(status_fd, run.index, step.op, error, detail);
}

int run_ExecInit(const Step& step, StepRun& run) {
  const int status_fd = run.control->status_fd;
  reset_signals();
  // The init reports a failed payload exec on the same pipe, so it keeps it.
  sys::sc(__NR_fcntl, status_fd, F_SETFD, 0);
  const auto init = ExecArgs::of(step);  // argv: the init's own, built by the decoder
  const int fd = run.control->init_fd >= 0 ? run.control->init_fd : step.fd;
  long r = sys::sc(__NR_execveat, fd, "", init.argv, init.envp, AT_EMPTY_PATH);
  fail(status_fd, run.index, step.op, int(-r), -1);  // detail -1: the init itself did not start
}

// The start gate is the init's to do (in the payload's process): this
// process shares the parent's memory until its exec, so it cannot wait.
int run_AwaitStart(const Step&, StepRun& run) { return run.init_runs_payload() ? 0 : EINVAL; }

}  // namespace cordon::child
