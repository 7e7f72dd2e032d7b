// Parent side of the namespace pool (lib/pool.ts): network namespaces made
// ahead of the spawn, on a libuv worker thread, never on the JS thread.
// Entries are open namespace fds (close-on-exec); a box joins them by setns.
#pragma once

#include <string>
#include <vector>

#include "host/parts.h"

namespace cordon::host {

// One pool entry: the net namespace, and for a pair the user namespace that
// owns it (-1 for a net-only entry).
struct NamespaceEntry {
  int user = -1;
  int net = -1;
};

// How a pair's helper gets its id maps: written directly (`text`, map lines)
// or through newuidmap/newgidmap (`helper`: program, then the map triples;
// the helper's pid is inserted after the program).
struct IdMapPlan {
  std::string text;
  std::vector<std::string> helper;
};

struct PairIds {
  IdMapPlan uid;
  IdMapPlan gid;
  bool deny_setgroups = false;
};

// Which part of making an entry failed (reported with the errno).
// X(Name, value, system call, what it does): exported for lib/pool.ts.
#define CORDON_POOL_PART(X)                                                    \
  X(None, 0, "unshare", "make entry")                                          \
  /* the throwaway thread (net-only) could not start */                        \
  X(Thread, 1, "pthread_create", "start thread")                               \
  X(Unshare, 2, "unshare", "unshare net namespace")                            \
  /* clone of the pair's helper */                                             \
  X(Clone, 3, "clone", "clone helper")                                         \
  X(Loopback, 4, "ioctl", "bring up loopback")                                 \
  X(Setgroups, 5, "write", "write setgroups")                                  \
  /* uid_map (or newuidmap) */                                                 \
  X(UidMap, 6, "write", "write uid_map")                                       \
  X(GidMap, 7, "write", "write gid_map")                                       \
  /* opening /proc/PID/ns/NAME */                                              \
  X(Open, 8, "open", "open namespace file")

CORDON_HOST_PART_ENUM(PoolPart, CORDON_POOL_PART);

// Makes `count` entries on a throwaway thread and appends them to *out. No
// Node or libuv thread ever changes namespace: the throwaway thread does,
// and ends. (It keeps its normal priority: SCHED_IDLE measured no better
// here, and a starved thread holding rtnl_lock or pernet_ops_rwsem would
// stall every other network namespace operation on the host.)
//
// - net-only (pair false): the thread unshares a fresh network namespace,
//   brings lo up and opens /proc/thread-self/ns/net, once per entry. Needs
//   CAP_SYS_ADMIN.
// - pairs: a user namespace with `ids`' maps and a network namespace it
//   owns, with lo up, made by a helper process cloned with
//   CLONE_NEWUSER|CLONE_NEWNET that holds them while the maps are written
//   and the fds opened, then ends (reaped before returning).
//
// Stops at the first failure: returns 0 or -errno with *part set.
int make_entries(bool pair, const PairIds& ids, int count, std::vector<NamespaceEntry>* out, PoolPart* part);

}  // namespace cordon::host
