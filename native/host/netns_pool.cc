#include "host/netns_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <system_error>
#include <thread>

#include "child/mechanisms.h"
#include "clone.h"
#include "host/idmap.h"
#include "host/process.h"
#include "sys/syscalls.h"
#include "sys/unique_fd.h"

namespace cordon::host {
namespace {

// What the pair's helper needs; it shares our memory (CLONE_VM) until it ends.
struct HelperArgs {
  int ready_w;  // the helper writes its lo-up result (an int32 errno) here
  int hold_r;   // ...and then waits for EOF on this one
};

// The pair's helper: raw system calls only (it runs on a borrowed stack,
// sharing the parent's memory). It drops every fd it inherited but its two
// pipe ends, so it holds no copy of another helper's pipe, brings lo up,
// reports, and waits for the parent to let go.
int hold_pair(void* arg) {
  const auto* args = static_cast<const HelperArgs*>(arg);
  int low = args->ready_w < args->hold_r ? args->ready_w : args->hold_r;
  int high = args->ready_w < args->hold_r ? args->hold_r : args->ready_w;
  if (low > 0) sys::sc(__NR_close_range, 0, low - 1, 0);
  if (high > low + 1) sys::sc(__NR_close_range, low + 1, high - 1, 0);
  sys::sc(__NR_close_range, high + 1, ~0U, 0);
  int32_t result = child::loopback_up();
  while (sys::sc(__NR_write, args->ready_w, &result, sizeof result) == -EINTR) {
  }
  sys::sc(__NR_close, args->ready_w);
  char byte;
  while (sys::sc(__NR_read, args->hold_r, &byte, 1) == -EINTR) {
  }
  return 0;
}

int open_ns(long pid, const char* name, int* fd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, name);
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  return *fd < 0 ? errno : 0;
}

int write_map(const IdMapPlan& plan, pid_t pid, const char* file) {
  if (plan.helper.empty()) return write_proc_file(pid, file, plan.text.c_str());
  std::vector<const char*> args;
  for (size_t i = 1; i < plan.helper.size(); i++) args.push_back(plan.helper[i].c_str());
  args.push_back(nullptr);
  int detail = 0;
  return run_map_helper(plan.helper[0].c_str(), pid, args.data(), &detail);
}

// On the maker thread: a fresh network namespace for it, with lo up, as an fd.
int make_net_entry(NamespaceEntry* entry, PoolPart* part) {
  if (unshare(CLONE_NEWNET) != 0) {
    *part = PoolPart::kUnshare;
    return -errno;
  }
  int error = child::loopback_up();
  if (error != 0) {
    *part = PoolPart::kLoopback;
    return -error;
  }
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *part = PoolPart::kOpen;
    return -errno;
  }
  entry->user = -1;
  entry->net = fd;
  return 0;
}

int make_pair_entry_once(const PairIds& ids, NamespaceEntry* entry, PoolPart* part) {
  int ready[2];
  int hold[2];
  *part = PoolPart::kClone;
  if (pipe2(ready, O_CLOEXEC) != 0) return -errno;
  UniqueFd ready_r(ready[0]);
  UniqueFd ready_w(ready[1]);
  if (pipe2(hold, O_CLOEXEC) != 0) return -errno;
  UniqueFd hold_r(hold[0]);
  UniqueFd hold_w(hold[1]);

  HelperArgs args{ready_w.get(), hold_r.get()};
  CloneOutcome child;
  {
    AllSignalsBlocked blocked;
    child = clone_child(CloneRequest{CLONE_NEWUSER | CLONE_NEWNET, -1, hold_pair, &args, true});
  }
  if (child.pid < 0) return int(child.pid);
  UniqueFd pidfd(child.pidfd);
  ready_w.reset();
  hold_r.reset();
  pid_t pid = pid_t(child.pid);

  int error = 0;
  int user = -1;
  int net = -1;
  IdMapFile failed = IdMapFile::kUidMap;
  error = write_id_maps(pid, ids.deny_setgroups, &failed, [&](const char* file) {
    return write_map(strcmp(file, "uid_map") == 0 ? ids.uid : ids.gid, pid, file);
  });
  if (error != 0) {
    *part = failed == IdMapFile::kUidMap   ? PoolPart::kUidMap
            : failed == IdMapFile::kGidMap ? PoolPart::kGidMap
                                           : PoolPart::kSetgroups;
  }
  if (error == 0) {
    *part = PoolPart::kLoopback;
    int32_t result = EPROTO;
    ssize_t n;
    do n = read(ready_r.get(), &result, sizeof result);
    while (n < 0 && errno == EINTR);
    error = n == ssize_t(sizeof result) ? result : (n < 0 ? errno : EPROTO);
  }
  if (error == 0) {
    *part = PoolPart::kOpen;
    error = open_ns(child.pid, "user", &user);
    if (error == 0) error = open_ns(child.pid, "net", &net);
  }
  hold_w.reset();  // the helper ends; the namespaces live on in the fds
  wait_child(idtype_t(P_PIDFD), id_t(pidfd.get()));
  if (error != 0) {
    if (user >= 0) close(user);
    if (net >= 0) close(net);
    return -error;
  }
  *part = PoolPart::kNone;
  entry->user = user;
  entry->net = net;
  return 0;
}

int make_pair_entry(const PairIds& ids, NamespaceEntry* entry, PoolPart* part) {
  // A box being spawned at this moment that changes its uid makes the memory
  // its child shares with us (and our helper) non-dumpable until it execs;
  // /proc/PID of the helper then belongs to root and an unprivileged map
  // write gets EACCES. Such a window is short: try again a few times.
  int r = 0;
  for (int attempt = 0; attempt < 4; attempt++) {
    r = make_pair_entry_once(ids, entry, part);
    if (r != -EACCES || (*part != PoolPart::kUidMap && *part != PoolPart::kGidMap && *part != PoolPart::kSetgroups)) break;
    usleep(2000);
  }
  return r;
}

}  // namespace

int make_entries(bool pair, const PairIds& ids, int count, std::vector<NamespaceEntry>* out, PoolPart* part) {
  int result = 0;
  *part = PoolPart::kNone;
  try {
    std::thread maker([&] {
      for (int i = 0; i < count; i++) {
        NamespaceEntry entry;
        result = pair ? make_pair_entry(ids, &entry, part) : make_net_entry(&entry, part);
        if (result < 0) return;
        out->push_back(entry);
      }
    });
    maker.join();
  } catch (const std::system_error& e) {
    result = -(e.code().value() != 0 ? e.code().value() : EAGAIN);
    *part = PoolPart::kThread;
  }
  return result;
}

}  // namespace cordon::host
