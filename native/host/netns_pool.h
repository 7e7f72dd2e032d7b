// Parent side of the namespace pool (lib/pool.ts): network namespaces made
// ahead of the spawn, on a libuv worker thread, never on the JS thread.
// Entries are open namespace fds (close-on-exec); a box joins them by setns.
#pragma once

#include <string>
#include <vector>

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
enum class PoolPart : int {
  kNone = 0,
  kThread = 1,      // the throwaway thread (net-only) could not start
  kUnshare = 2,     // unshare(CLONE_NEWNET) (net-only)
  kClone = 3,       // clone of the pair's helper
  kLoopback = 4,    // bringing lo up
  kSetgroups = 5,   // /proc/PID/setgroups
  kUidMap = 6,      // uid_map (or newuidmap)
  kGidMap = 7,      // gid_map (or newgidmap)
  kOpen = 8,        // opening /proc/.../ns/*
};

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
