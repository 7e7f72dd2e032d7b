// Runs in the cloned child, on its own stack, sharing the parent's memory
// until exec. Only raw syscalls: no heap, no locks, no exceptions, no libc
// state (see sys/syscalls.h for why not even errno).
#include "child/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "child/mechanisms.h"
#include "child/plan_args.h"
#include "child/status.h"
#include "sys/syscalls.h"

namespace cordon::child {
namespace {

// The kernel's sigaction layout for rt_sigaction.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

void reset_signal_handlers() {
  KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sys::sc(__NR_rt_sigaction, sig, &dfl, 0, sizeof(uint64_t));
  }
}

void unblock_all_signals() {
  uint64_t empty = 0;
  sys::sc(__NR_rt_sigprocmask, SIG_SETMASK, &empty, 0, sizeof empty);
}

int wait_for_parent(int sync_fd) {
  char go = 0;
  for (;;) {
    long n = sys::sc(__NR_read, sync_fd, &go, 1);
    if (n == -EINTR) continue;
    if (n < 0) return static_cast<int>(-n);
    if (n == 0) exit_now(127);  // the parent gave up on us and reported why
    return 0;
  }
}

// A step's end, for the caller's step timings (see PlanView::step_end_ns).
void record_end(const PlanView& plan, uint32_t index) {
  if (plan.step_end_ns != nullptr) __atomic_store_n(&plan.step_end_ns[index], monotonic_ns(), __ATOMIC_RELAXED);
}

// Ops with one field read it by name (CORDON_ARG_*); the rest through their
// views (plan_args.h). Either way the op table holds the positions.
int run_step(const PlanView& plan, ControlFds* control, uint32_t* index, int* detail) {
  const Step& step = plan.steps[*index];
  switch (step.op) {
    case abi::Op::kMountFs: {
      const auto a = MountFsArgs::of(step);
      return mount_filesystem(a.fstype, a.config, a.attrs, control->root_fd, a.target, a.target_mode, a.fd_prefix,
                              detail);
    }
    case abi::Op::kBindMount: {
      const auto a = BindMountArgs::of(step);
      return bind_mount(a.source, a.prepared_tree, a.recursive, a.attrs, control->root_fd, a.target, a.target_mode,
                        a.source_links, a.host_root, detail);
    }
    case abi::Op::kMakeDir: {
      const auto a = MakeDirArgs::of(step);
      return make_dir(a.path, a.mode, detail);
    }
    case abi::Op::kPivotRoot: {
      const auto a = PivotRootArgs::of(step);
      return pivot_into(a.new_root, a.put_old, detail);
    }
    case abi::Op::kEnterRoot:
      return enter_root(CORDON_ARG_STR(step, EnterRoot, root), detail);
    case abi::Op::kSymlink: {
      const auto a = SymlinkArgs::of(step);
      return make_symlink(a.link_to, control->root_fd, a.target, detail);
    }
    case abi::Op::kWriteFile: {
      const auto a = WriteFileArgs::of(step);
      return write_file(a.path, a.content, a.mode, detail);
    }
    case abi::Op::kSetMountAttr: {
      const auto a = SetMountAttrArgs::of(step);
      return set_mount_attr(control->root_fd, a.target, a.set, a.clear, a.scope, detail);
    }
    case abi::Op::kMask: {
      const auto a = MaskArgs::of(step);
      return mask_path(a.cover, control->root_fd, a.target, a.optional, detail);
    }
    case abi::Op::kBindDevices:
      return bind_devices(CORDON_ARG_STR(step, BindDevices, source), CORDON_ARG_LIST(step, BindDevices, devices),
                          uint64_t(CORDON_ARG_NUM(step, BindDevices, attrs)), control->root_fd,
                          CORDON_ARG_STR(step, BindDevices, target), detail);
    case abi::Op::kOpenRoot:
      return open_root(CORDON_ARG_STR(step, OpenRoot, path), &control->root_fd, detail);
    case abi::Op::kWaitForParent:
      return wait_for_parent(control->sync_fd);
    case abi::Op::kSetParentDeathSignal:
      return set_parent_death_signal(static_cast<int>(CORDON_ARG_NUM(step, SetParentDeathSignal, signal)));
    case abi::Op::kJoinNamespace:
      return join_namespace(step.fd, static_cast<int>(CORDON_ARG_NUM(step, JoinNamespace, namespaceType)));
    case abi::Op::kSetMountPropagation:
      return set_mount_propagation(static_cast<unsigned long>(CORDON_ARG_NUM(step, SetMountPropagation, propagation)));
    case abi::Op::kLoopbackUp:
      return loopback_up();
    case abi::Op::kSetHostname:
      return set_hostname(CORDON_ARG_STR(step, SetHostname, hostname));
    case abi::Op::kUnshare:
      return unshare_namespaces(long(CORDON_ARG_NUM(step, Unshare, cloneFlags)));
    case abi::Op::kSetIds: {
      const auto a = SetIdsArgs::of(step);
      return set_ids(a.uid, a.gid, a.clear_groups);
    }
    case abi::Op::kDropCapabilities:
      return drop_capabilities(uint64_t(CORDON_ARG_NUM(step, DropCapabilities, keep)));
    case abi::Op::kSetGroups:
      return set_groups(CORDON_ARG_LIST(step, SetGroups, gids));
    case abi::Op::kRaiseAmbient:
      return raise_ambient(uint64_t(CORDON_ARG_NUM(step, RaiseAmbient, mask)));
    case abi::Op::kSetRlimit: {
      const auto a = SetRlimitArgs::of(step);
      // With an init, the init sets them in the payload's process instead.
      // Except a stack limit the init can run under (1 MiB or more, or
      // unlimited): it also sizes execve's room for argv and envp, which the
      // init's exec needs as much as the payload's (a large environment).
      if (plan.steps[plan.count - 1].op == abi::Op::kExecInit) {
        const bool roomy = a.soft < 0 || a.soft >= (int64_t(1) << 20);
        if (a.resource != RLIMIT_STACK || !roomy) return 0;
      }
      return set_rlimit(a.resource, a.soft, a.hard);
    }
    case abi::Op::kRaiseRlimit:
      return raise_hard_rlimit(int(CORDON_ARG_NUM(step, RaiseRlimit, resource)), CORDON_ARG_NUM(step, RaiseRlimit, hard));
    case abi::Op::kUmask:
      return set_umask(long(CORDON_ARG_NUM(step, Umask, mask)));
    case abi::Op::kSetPriority:
      return set_priority(long(CORDON_ARG_NUM(step, SetPriority, nice)));
    case abi::Op::kWriteExisting: {
      const auto a = WriteExistingArgs::of(step);
      return write_existing(a.path, a.text);
    }
    case abi::Op::kLandlock: {
      const auto a = LandlockArgs::of(step);
      return apply_landlock(a.fs, a.net, a.scoped, a.rules, a.init_fd, detail);
    }
    case abi::Op::kSeccomp:
      return 0;  // installed by exec_payload (or the init) right before execve
    case abi::Op::kSetNoNewPrivs:
      return set_no_new_privs();
    case abi::Op::kSetSid:
      return new_session();
    case abi::Op::kSetControllingTerminal:
      // With an init, the init does it in the payload's process: the payload
      // must lead the terminal's session, not PID 1.
      if (plan.steps[plan.count - 1].op == abi::Op::kExecInit) return 0;
      return set_controlling_terminal(int(CORDON_ARG_NUM(step, SetControllingTerminal, terminal)));
    case abi::Op::kAwaitStart:
      // The init's to do (in the payload's process): this process shares
      // the parent's memory until its exec, so it cannot wait.
      return plan.steps[plan.count - 1].op == abi::Op::kExecInit ? 0 : EINVAL;
    case abi::Op::kChdir: {
      long r = sys::sc(__NR_chdir, CORDON_ARG_STR(step, Chdir, path));
      return r < 0 ? static_cast<int>(-r) : 0;
    }
    case abi::Op::kInstallFd: {
      // All install steps are adjacent (the decoder checks); apply them at once.
      uint32_t failed = *index;
      int error = install_fds(plan, control, &failed);
      if (error != 0) {
        *index = failed;
        return error;
      }
      while (*index + 1 < plan.count && plan.steps[*index + 1].op == abi::Op::kInstallFd) ++*index;
      return 0;
    }
    case abi::Op::kCloseOtherFds: {
      // The control fds sit just above the targets (install_fds put them there).
      int last_kept = control->exit_fd > control->status_fd ? control->exit_fd : control->status_fd;
      return mark_fds_cloexec_from(last_kept + 1);
    }
    default:
      return EINVAL;  // parent-side and exec ops never reach here
  }
}

// Socket activation: LISTEN_PID is the payload's pid as it sees it, known
// only here. lib/ reserves "LISTEN_PID=" plus ten digits; the digits are
// written over them (envp lives in the parent's copy of the plan, which
// exec copies).
void patch_listen_pid(const char* const* envp) {
  static const char kName[] = "LISTEN_PID=";
  for (int i = 0; envp[i] != nullptr; i++) {
    const char* entry = envp[i];
    int k = 0;
    while (kName[k] != '\0' && entry[k] == kName[k]) k++;
    if (kName[k] != '\0') continue;
    char* digits = const_cast<char*>(entry) + k;
    int length = 0;
    while (digits[length] != '\0') length++;
    long pid = sys::sc(__NR_getpid);
    char text[12];
    int n = 0;
    do {
      text[n++] = char('0' + pid % 10);
      pid /= 10;
    } while (pid > 0 && n < int(sizeof text));
    if (n > length) return;
    for (int j = 0; j < n; j++) digits[j] = text[n - 1 - j];
    digits[n] = '\0';
    return;
  }
}

[[noreturn]] void exec_payload(const PlanView& plan, const ControlFds& control, uint32_t index) {
  const Step& step = plan.steps[index];
  // CLONE_CLEAR_SIGHAND resets handled signals but keeps ignored ones, and
  // Node ignores SIGPIPE and SIGXFSZ: reset every disposition, as libuv does.
  reset_signal_handlers();
  unblock_all_signals();
  int detail = 0;
  int error;
  if (step.op == abi::Op::kExec && index > 0 && plan.steps[index - 1].op == abi::Op::kSeccomp) {
    // The filter goes on last, so nothing cordon does needs to be allowed by
    // it but execve itself. (With an init, the init installs it instead.)
    const Step& filter = plan.steps[index - 1];
    const auto seccomp = SeccompArgs::of(filter);
    int error = install_seccomp(seccomp.program, seccomp.instructions);
    if (error != 0) fail(control.status_fd, index - 1, filter.op, error);
  }
  if (step.op == abi::Op::kExecInit) {
    // The init reports a failed payload exec on the same pipe, so it keeps it.
    sys::sc(__NR_fcntl, control.status_fd, F_SETFD, 0);
    const auto init = ExecArgs::of(step);  // argv: the init's own, built by the decoder
    error = exec_fd(control.init_fd >= 0 ? control.init_fd : step.fd, init.argv, init.envp);
    detail = -1;  // the init itself did not start
  } else {
    const auto payload = ExecArgs::of(step);
    patch_listen_pid(payload.envp);
    error = exec_candidates(payload.candidates, payload.argv, payload.envp, &detail);
  }
  fail(control.status_fd, index, step.op, error, detail);
}

[[noreturn]] void walk(const PlanView& plan, ControlFds control, uint32_t start);

// The process cloned into the new pid namespace: PID 1 there, and the
// parent's own child (CLONE_PARENT). It walks the rest of the plan.
int walk_forked(void* arg) {
  const ForkState& state = *static_cast<const ForkState*>(arg);
  walk(*state.plan, state.control, state.start);
}

// unshare(CLONE_NEWPID) moved only future children into the new namespace:
// clone the one that goes on, hand its pid to the parent (through the
// shared window, which we share whether or not we share the rest of its
// memory), and end. The parent reaps us and watches it.
[[noreturn]] void enter_pid_namespace(const PlanView& plan, const ControlFds& control, uint32_t index) {
  ForkState* state = plan.fork;
  if (state == nullptr || state->stack_top == nullptr) fail(control.status_fd, index, abi::Op::kEnterPidNamespace, EINVAL);
  state->plan = &plan;
  state->start = index + 1;
  state->control = control;
  // Its exit signal is ours (SIGCHLD), as CLONE_PARENT gives it.
  long pid = sys::clone_run(CLONE_VM | CLONE_PARENT, state->stack_top, nullptr, walk_forked, state);
  if (pid < 0) fail(control.status_fd, index, abi::Op::kEnterPidNamespace, int(-pid));
  __atomic_store_n(&state->pid, pid, __ATOMIC_RELEASE);
  exit_now(0);
}

[[noreturn]] void walk(const PlanView& plan, ControlFds control, uint32_t start) {
  for (uint32_t i = start; i < plan.count; i++) {
    const Step& step = plan.steps[i];
    if (step.side != abi::Side::kChild) continue;
    if (plan.progress != nullptr) __atomic_store_n(plan.progress, int32_t(i), __ATOMIC_RELAXED);
    if (step.op == abi::Op::kExec || step.op == abi::Op::kExecInit) exec_payload(plan, control, i);
    if (step.op == abi::Op::kEnterPidNamespace) enter_pid_namespace(plan, control, i);
    uint32_t index = i;
    int detail = 0;
    int error = run_step(plan, &control, &index, &detail);
    if (error != 0) fail(control.status_fd, index, plan.steps[index].op, error, detail);
    record_end(plan, index);
    i = index;
  }
  fail(control.status_fd, plan.count, abi::Op::kExec, ENOEXEC);  // no exec step: decoder forbids
}

}  // namespace

int64_t monotonic_ns() {
  struct timespec now {};
  sys::sc(__NR_clock_gettime, CLOCK_MONOTONIC, &now);
  return int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
}

int run(void* arg) {
  const PlanView& plan = *static_cast<const PlanView*>(arg);
  walk(plan, plan.control, 0);
}

}  // namespace cordon::child
