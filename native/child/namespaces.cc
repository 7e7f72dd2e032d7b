// Child half of namespaces: joining existing ones, the UTS name, loopback.
// New namespaces are made by the clone flags themselves (see clone.cc).
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

int join_namespace(int ns_fd, int nstype) { return as_errno(sys::sc(__NR_setns, ns_fd, nstype)); }

int unshare_namespaces(long flags) { return as_errno(sys::sc(__NR_unshare, flags)); }

int set_hostname(const char* name) {
  unsigned long len = 0;
  while (name[len] != '\0') len++;
  return as_errno(sys::sc(__NR_sethostname, name, len));
}

int loopback_up() {
  // Called on a fresh network namespace only, where lo's flags are the
  // kernel's default (IFF_LOOPBACK, none of the flags SIOCSIFFLAGS may
  // change): setting IFF_UP alone, without reading the flags first, changes
  // exactly what `ip link set lo up` changes. One ioctl; an rtnetlink
  // message would need a send and a receive for its acknowledgement.
  long sock = sys::sc(__NR_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return as_errno(sock);
  struct ifreq req;
  for (unsigned i = 0; i < sizeof req; i++) reinterpret_cast<char*>(&req)[i] = 0;
  req.ifr_name[0] = 'l';
  req.ifr_name[1] = 'o';
  req.ifr_flags = static_cast<short>(IFF_UP | IFF_LOOPBACK);
  long r = sys::sc(__NR_ioctl, sock, SIOCSIFFLAGS, &req);
  sys::sc(__NR_close, sock);
  return as_errno(r);
}

// Op handlers (child/ops.h).

int run_JoinNamespace(const Step& step, StepRun&) {
  return join_namespace(step.fd, static_cast<int>(CORDON_ARG_NUM(step, JoinNamespace, namespaceType)));
}

int run_Unshare(const Step& step, StepRun&) { return unshare_namespaces(long(CORDON_ARG_NUM(step, Unshare, cloneFlags))); }

int run_SetHostname(const Step& step, StepRun&) { return set_hostname(CORDON_ARG_STR(step, SetHostname, hostname)); }

int run_LoopbackUp(const Step&, StepRun&) { return loopback_up(); }

namespace {

// The process cloned into the new pid namespace: PID 1 there, and the
// parent's own child (CLONE_PARENT). It walks the rest of the plan.
int walk_forked(void* arg) {
  const ForkState& state = *static_cast<const ForkState*>(arg);
  walk(*state.plan, state.control, state.start);
}

}  // namespace

// unshare(CLONE_NEWPID) moved only future children into the new namespace:
// clone the one that goes on, hand its pid to the parent (through the
// shared window, which we share whether or not we share the rest of its
// memory), and end. The parent reaps us and watches it.
int run_EnterPidNamespace(const Step& step, StepRun& run) {
  const PlanView& plan = run.plan;
  const int status_fd = run.control->status_fd;
  ForkState* state = plan.fork;
  if (state == nullptr || state->stack_top == nullptr) fail(status_fd, run.index, step.op, EINVAL);
  state->plan = &plan;
  state->start = run.index + 1;
  state->control = *run.control;
  // Its exit signal is ours (SIGCHLD), as CLONE_PARENT gives it.
  long pid = sys::clone_run(CLONE_VM | CLONE_PARENT, state->stack_top, nullptr, walk_forked, state);
  if (pid < 0) fail(status_fd, run.index, step.op, int(-pid));
  __atomic_store_n(&state->pid, pid, __ATOMIC_RELEASE);
  exit_now(0);
}

}  // namespace cordon::child
