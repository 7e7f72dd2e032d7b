// Child halves of each kernel mechanism (each file also defines its ops'
// handlers, child/ops.h). Every function is async-signal-safe,
// returns 0 or a positive errno, and touches only its arguments.
#pragma once

#include <stdint.h>

#include "child/ops.h"
#include "child/plan_args.h"
#include "child/plan_view.h"
#include "child/status.h"

namespace cordon::child {

// namespaces.cc
int join_namespace(int ns_fd, int nstype);
int unshare_namespaces(long flags);
int set_hostname(const char* name);
int loopback_up();

// mounts.cc. `part` reports which part of a step failed (abi::MountPart).
using abi::TargetMode;
int set_mount_propagation(unsigned long propagation);
int resolve_target(int root_fd, const char* path, TargetMode mode, bool source_is_dir, int* out_fd, int* part);
// With `layer_fd_prefix`, the values of upperdir and workdir are staging
// paths opened without following symlinks and handed over by fd.
int mount_filesystem(const char* fstype, const char* const* config, uint64_t attrs, int root_fd,
                     const char* target, TargetMode mode, const char* layer_fd_prefix, int* part);
// How a bind source is resolved: abi::SourceLinks (plan_abi.h).
using abi::SourceLinks;
int bind_mount(const char* source, int prepared_tree, bool recursive, uint64_t attrs, int root_fd, const char* target,
               TargetMode mode, SourceLinks links, const char* host_root, int* part);
// What kSetMountAttr changes: abi::AttrScope (plan_abi.h).
using abi::AttrScope;
int set_mount_attr(int root_fd, const char* target, uint64_t set, uint64_t clear, AttrScope scope, int* part);
// Binds the device nodes `names` (nullptr-ended) of the plain directory
// `source_dir` onto new files in `target_dir` (in root). *part gets the
// MountPart plus 256 * (index + 1) of the device that failed.
int bind_devices(const char* source_dir, const char* const* names, uint64_t attrs, int root_fd, const char* target_dir,
                 int* part);
int make_dir(const char* path, long mode, int* part);
int pivot_into(const char* new_root, const char* put_old, int* part);
int enter_root(const char* path, int* part);
int make_symlink(const char* content, int root_fd, const char* link_path, int* part);
int write_file(const char* path, const char* content, long mode, int* part);
int open_root(const char* path, int* root_fd, int* part);
int mask_path(const char* file_source, int root_fd, const char* target, bool if_reachable, int* part);

// credentials.cc
int set_no_new_privs();
int set_parent_death_signal(int signal);
// The box dies with its supervisor: sets the parent-death signal (SIGKILL)
// and ends the child at once if the supervisor's process (control.parent_fd,
// a pidfd; -1: not checked) has already exited, which no signal would say.
// Called first thing in the child (it waits for the parent next) and again
// after its last credential change (a uid or gid change clears the signal).
int die_with_parent(int signal, int parent_fd);
int drop_capabilities(uint64_t keep);
int new_session();
// TIOCSCTTY: the terminal at `fd` becomes the controlling terminal of the
// session this process leads.
int set_controlling_terminal(int fd);
int set_ids(long uid, long gid, bool clear_groups);
int set_groups(const char* const* gids);
int raise_ambient(uint64_t mask);

// limits.cc
int set_rlimit(int resource, int64_t soft, int64_t hard);
// Raises the hard limit to `hard` (-1: unlimited) if it is lower; the soft
// limit stays (clamped to the new hard one, which only a lower hard changes).
int raise_hard_rlimit(int resource, int64_t hard);
int set_umask(long mask);
int set_priority(long nice);
int write_existing(const char* path, const char* content);

// landlock.cc. `part`: 1 create ruleset, 2 add rule, 3 open rule path, 4
// restrict self; plus 256 * (rule index + 1) for a rule's failure.
int apply_landlock(uint64_t fs, uint64_t net, uint64_t scoped, const char* const* rules, int exec_fd, int* part);

// stdio.cc
// Applies every kInstallFd step of the plan at once and leaves the control
// fds just above the highest target. Returns 0 or an errno; *failed_step gets
// the index of the step that failed.
int install_fds(const PlanView& plan, ControlFds* control, uint32_t* failed_step);

// The runtime shared with the init (runtime/runtime.h) installs the seccomp
// filter and tries the exec candidates.

}  // namespace cordon::child
