#include "host/idmapped.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clone.h"
#include "host/idmap.h"
#include "host/process.h"
#include "sys/syscalls.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace cordon::host {
namespace {

// The holder of the mapping namespace: it only waits for its pipe to close.
// Its copy of the write end goes first, or the read would never see EOF.
int hold(void* arg) {
  const int* fds = static_cast<const int*>(arg);
  sys::sc(__NR_close, fds[1]);
  char byte;
  while (sys::sc(__NR_read, fds[0], &byte, 1) == -EINTR) {
  }
  return 0;
}

// A user namespace with the given maps, as an fd: made by a short-lived
// child that holds it while the maps are written and the fd opened.
int mapping_namespace(const char* uid_map, const char* gid_map) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -errno;
  CloneOutcome child;
  {
    AllSignalsBlocked blocked;
    child = clone_child(CloneRequest{CLONE_NEWUSER, -1, hold, pipe_fds, true});
  }
  close(pipe_fds[0]);
  if (child.pid < 0) {
    close(pipe_fds[1]);
    return int(child.pid);
  }
  const pid_t pid = pid_t(child.pid);
  IdMapFile failed;
  int result = write_id_maps(pid, true, &failed, [&](const char* file) {
    return write_proc_file(pid, file, strcmp(file, "uid_map") == 0 ? uid_map : gid_map);
  });
  int ns = -1;
  if (result == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/ns/user", child.pid);
    ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) result = errno;
  }
  close(pipe_fds[1]);  // the holder ends; the namespace lives on in `ns`
  wait_child(idtype_t(P_PIDFD), id_t(child.pidfd));
  close(child.pidfd);
  return result == 0 ? ns : -result;
}

}  // namespace

int idmapped_tree(const char* source, bool recursive, bool follow_symlinks, unsigned long long attrs,
                  const char* uid_map, const char* gid_map, int* part) {
  long resolved = AT_FDCWD;
  if (!follow_symlinks) {
    *part = int(IdmappedPart::kResolve);
    struct open_how how = {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    resolved = sys::openat2_retry(AT_FDCWD, source, &how, sizeof how);
    if (resolved < 0) return int(resolved);
  }
  *part = int(IdmappedPart::kMapNamespace);
  int ns = mapping_namespace(uid_map, gid_map);
  if (ns < 0) {
    if (resolved >= 0) close(int(resolved));
    return ns;
  }
  *part = int(IdmappedPart::kOpenTree);
  long tree = follow_symlinks
                  ? sys::sc(__NR_open_tree, AT_FDCWD, source,
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0))
                  : sys::sc(__NR_open_tree, resolved, "",
                            AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (resolved >= 0) close(int(resolved));
  if (tree < 0) {
    close(ns);
    return int(tree);
  }
  *part = int(IdmappedPart::kSetAttr);
  struct mount_attr attr = {};
  attr.attr_set = attrs | MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<unsigned long long>(ns);
  long r = sys::sc(__NR_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
  close(ns);
  if (r < 0) {
    close(int(tree));
    return int(r);
  }
  return int(tree);
}

}  // namespace cordon::host
