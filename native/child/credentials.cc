// Child half of credentials: privileges the payload must not keep.
#include <errno.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <time.h>

#include "child/mechanisms.h"
#include "child/status.h"
#include "sys/syscalls.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef PR_CAP_AMBIENT_RAISE
#define PR_CAP_AMBIENT_RAISE 2
#endif

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

int set_no_new_privs() { return as_errno(sys::sc(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }

int set_parent_death_signal(int signal) {
  return as_errno(sys::sc(__NR_prctl, PR_SET_PDEATHSIG, signal, 0, 0, 0));
}

int die_with_parent(int signal, int parent_fd) {
  int error = set_parent_death_signal(signal);
  if (error != 0 || parent_fd < 0) return error;
  // A pidfd polls readable once the process has exited: the parent is gone
  // (it died before the signal was set, so none will come).
  struct pollfd parent = {parent_fd, POLLIN, 0};
  struct timespec now = {0, 0};
  long ready = sys::sc(__NR_ppoll, &parent, 1, &now, 0, 0);
  if (ready > 0 && (parent.revents & POLLIN) != 0) exit_now(127);
  return 0;
}

int new_session() {
  long r = sys::sc(__NR_setsid);
  return r < 0 ? as_errno(r) : 0;
}

int set_controlling_terminal(int fd) { return as_errno(sys::sc(__NR_ioctl, fd, TIOCSCTTY, 0)); }

int set_ids(long uid, long gid, bool clear_groups) {
  if (clear_groups) {
    long r = sys::sc(__NR_setgroups, 0, 0);
    if (r < 0) return as_errno(r);
  }
  long r = sys::sc(__NR_setresgid, gid, gid, gid);
  if (r < 0) return as_errno(r);
  return as_errno(sys::sc(__NR_setresuid, uid, uid, uid));
}

int drop_capabilities(uint64_t keep) {
  // One capget tells what the calls below would change. Effective and
  // permitted stay until exec, which computes them from the bounding set:
  // the steps after this one may still need CAP_SETUID.
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
  long r = sys::sc(__NR_capget, &header, data);
  if (r < 0) return as_errno(r);
  // The bounding set first: once it is empty, exec can grant nothing back.
  // Without CAP_SETPCAP every PR_CAPBSET_DROP says EPERM: an unprivileged
  // caller without a user namespace holds no capability to drop, nor the
  // right to shrink the bounding set; no_new_privs keeps exec from granting
  // any. There is no call that reads the whole bounding set, so each
  // capability is dropped until the kernel says EINVAL, past the last it knows.
  if (data[0].effective & (1u << CAP_SETPCAP)) {
    for (int cap = 0; cap <= 63; cap++) {
      if (keep & (uint64_t(1) << cap)) continue;
      r = sys::sc(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
      if (r == -EINVAL || r == -EPERM) break;
      if (r < 0) return as_errno(r);
    }
  }
  // Ambient and inheritable go too. The kernel keeps ambient within
  // permitted & inheritable, so an empty inheritable set (always so in a
  // fresh user namespace) means an empty ambient set: nothing to clear.
  if (data[0].inheritable != 0 || data[1].inheritable != 0) {
    r = sys::sc(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (r < 0 && r != -EINVAL) return as_errno(r);
    data[0].inheritable = 0;
    data[1].inheritable = 0;
    r = sys::sc(__NR_capset, &header, data);
    if (r < 0) return as_errno(r);
  }
  // Kept capabilities must survive the change to a non-root uid.
  if (keep != 0) return as_errno(sys::sc(__NR_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0));
  return 0;
}

int set_groups(const char* const* gids) {
  uint32_t list[64];
  unsigned long n = 0;
  for (; gids[n] != nullptr; n++) {
    if (n >= sizeof list / sizeof list[0]) return E2BIG;
    uint64_t value = 0;
    for (const char* p = gids[n]; *p != '\0'; p++) {
      if (*p < '0' || *p > '9') return EINVAL;
      value = value * 10 + uint64_t(*p - '0');
    }
    list[n] = uint32_t(value);
  }
  return as_errno(sys::sc(__NR_setgroups, n, list));
}

int raise_ambient(uint64_t mask) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  data[0].effective = data[0].permitted = data[0].inheritable = uint32_t(mask);
  data[1].effective = data[1].permitted = data[1].inheritable = uint32_t(mask >> 32);
  long r = sys::sc(__NR_capset, &header, data);
  if (r < 0) return as_errno(r);
  for (int cap = 0; cap <= 63; cap++) {
    if (!(mask & (uint64_t(1) << cap))) continue;
    r = sys::sc(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    if (r < 0) return as_errno(r);
  }
  return 0;
}

// Op handlers (child/ops.h).

int run_SetParentDeathSignal(const Step& step, StepRun& run) {
  return die_with_parent(static_cast<int>(CORDON_ARG_NUM(step, SetParentDeathSignal, signal)), run.control->parent_fd);
}

int run_SetIds(const Step& step, StepRun&) {
  const auto a = SetIdsArgs::of(step);
  return set_ids(a.uid, a.gid, a.clear_groups);
}

int run_DropCapabilities(const Step& step, StepRun&) {
  return drop_capabilities(uint64_t(CORDON_ARG_NUM(step, DropCapabilities, keep)));
}

int run_SetGroups(const Step& step, StepRun&) { return set_groups(CORDON_ARG_LIST(step, SetGroups, gids)); }

int run_RaiseAmbient(const Step& step, StepRun&) { return raise_ambient(uint64_t(CORDON_ARG_NUM(step, RaiseAmbient, mask))); }

int run_SetNoNewPrivs(const Step&, StepRun&) { return set_no_new_privs(); }

int run_SetSid(const Step&, StepRun&) { return new_session(); }

int run_SetControllingTerminal(const Step& step, StepRun& run) {
  // With an init, the init does it in the payload's process: the payload
  // must lead the terminal's session, not PID 1.
  if (run.init_runs_payload()) return 0;
  return set_controlling_terminal(int(CORDON_ARG_NUM(step, SetControllingTerminal, terminal)));
}

}  // namespace cordon::child
