// Child half of credentials: privileges the payload must not keep.
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

int set_no_new_privs() { return as_errno(sys::sc(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }

int set_parent_death_signal(int signal) {
  return as_errno(sys::sc(__NR_prctl, PR_SET_PDEATHSIG, signal, 0, 0, 0));
}

int new_session() {
  long r = sys::sc(__NR_setsid);
  return r < 0 ? as_errno(r) : 0;
}

int set_ids(long uid, long gid, bool clear_groups) {
  if (clear_groups) {
    long r = sys::sc(__NR_setgroups, 0, 0);
    if (r < 0) return as_errno(r);
  }
  long r = sys::sc(__NR_setresgid, gid, gid, gid);
  if (r < 0) return as_errno(r);
  return as_errno(sys::sc(__NR_setresuid, uid, uid, uid));
}

int drop_capabilities() {
  // The bounding set first: once it is empty, exec can grant nothing back.
  for (int cap = 0; cap <= 63; cap++) {
    long r = sys::sc(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (r == -EINVAL) break;  // past the last capability this kernel knows
    if (r < 0) return as_errno(r);
  }
  long r = sys::sc(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (r < 0 && r != -EINVAL) return as_errno(r);
  // Inheritable goes too. Effective and permitted stay until exec, which
  // computes them from the (now empty) bounding set: the steps after this one
  // may still need CAP_SETUID.
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
  r = sys::sc(__NR_capget, &header, data);
  if (r < 0) return as_errno(r);
  data[0].inheritable = 0;
  data[1].inheritable = 0;
  return as_errno(sys::sc(__NR_capset, &header, data));
}

}  // namespace cordon::child
