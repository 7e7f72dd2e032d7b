// Child halves of each kernel mechanism. Every function is async-signal-safe,
// returns 0 or a positive errno, and touches only its arguments.
#pragma once

#include <stdint.h>

#include "child/plan_view.h"

namespace cordon::child {

// namespaces.cc
int join_namespace(int ns_fd, int nstype);
int unshare_namespaces(long flags);
int set_hostname(const char* name);
int loopback_up();

// mounts.cc
int set_mount_propagation(unsigned long propagation);
int mount_proc(const char* target);

// credentials.cc
int set_no_new_privs();
int set_parent_death_signal(int signal);
int drop_capabilities();
int new_session();
int set_ids(long uid, long gid, bool clear_groups);

// fds.cc
// Applies every kInstallFd step of the plan at once and leaves the control
// fds just above the highest target. Returns 0 or an errno; *failed_step gets
// the index of the step that failed.
int install_fds(const PlanView& plan, ControlFds* control, uint32_t* failed_step);
int mark_fds_cloexec_from(int first);

// exec.cc
// Tries each candidate path in order the way execvp does; returns the errno to
// report (ENOENT unless some candidate existed but could not run) and the
// index of the candidate that decided it.
int exec_candidates(const char* const* candidates, const char* const* argv,
                    const char* const* envp, int* detail);
int exec_fd(int fd, const char* const* argv, const char* const* envp);

}  // namespace cordon::child
