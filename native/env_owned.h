// What an env (the main thread's or a worker thread's) owns through the
// addon: its boxes' pidfds and exit pipes from the moment the addon hands
// them to JS, its sealed init and its pooled namespace fds. JS releases them
// through closeFd, which forgets them here. An env torn down first (a
// worker thread terminated, or one that ended with boxes running: no JS
// runs then, not even 'exit' hooks) has them released by its cleanup hook
// instead: a box that dies with its parent is killed and reaped, a box that
// outlives it is reaped by the orphan reaper when it ends (no zombie stays
// in the supervisor), and every fd is closed.
//
// Before this, what a terminated worker held depended on its JS: a box
// settled to JS but not yet watched ran on, and boxes killed as their
// watch was finalized (or by their parent-death signal) stayed zombies of
// the supervisor until it exited.
//
// A box that dies with its env also has what its ledger would remove at
// its end removed once it is reaped there: its cgroup directories and its
// listen sockets' files (leaves()). Before, they stayed on the host until a
// later `cordon gc`.
#pragma once

#include <node_api.h>

#include <string>
#include <vector>

#include "host/sockets.h"

namespace cordon {
class FdPoll;
}  // namespace cordon

namespace cordon::env_owned {

enum class Kind {
  kFd,              // closed at teardown
  kBoxEndsWithEnv,  // a box's pidfd (dieWithParent): killed, reaped, closed
  kBoxOutlivesEnv,  // a box's pidfd (dieWithParent: false): reaped once it ends
};

// Registers `env`'s cleanup hook; once per env, when the addon loads in it.
void install(napi_env env);

// `fd` is `env`'s until forget(fd). On the env's JS thread; fd < 0 is ignored.
void own(napi_env env, int fd, Kind kind);

// closeFd's first step: `fd` is about to be closed by its owner's JS.
void forget(int fd);

// A listen socket's file, removed through the fd of its directory while it
// is still the file the box bound ("dev:ino", as host::unlink_socket_at),
// then the directories cordon made for it, bottom up while empty (as
// lib/sockets.ts openSocketDirChain's release).
struct SocketFile {
  std::vector<int> dir_fds;        // the first directory that existed, then each one made; the socket's last
  std::vector<std::string> made;   // made[k]: the name of dir_fds[k + 1] in dir_fds[k]
  std::string name;
  host::FileId bound;
};

// What the box behind `pidfd` (owned as kBoxEndsWithEnv) leaves on the
// host: removed after it is reaped at the env's teardown, the directory
// fds closed then (each only while it still is the directory registered).
// Forgotten with the pidfd: once JS closes it, its ledger removes them (it
// closes the pidfd first: newest first).
void leaves(int pidfd, std::vector<std::string> cgroup_dirs, std::vector<SocketFile> sockets);

// A box's pidfd owned as kBoxEndsWithEnv until its release (a box that
// outlives its supervisor once recorded): kBoxOutlivesEnv from here on.
void outlives(int fd);

// A watch polls `fd` on the env's loop (or no longer does): at teardown it
// is stopped before the fd is closed, so its callback cannot run on a
// closed fd, or on the same number reused by another env's box.
void watching(int fd, FdPoll* watch);
void not_watching(int fd, const FdPoll* watch);

}  // namespace cordon::env_owned
