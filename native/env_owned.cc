#include "env_owned.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exit_watch.h"
#include "host/cgroups.h"
#include "host/process.h"

namespace cordon::env_owned {
namespace {

struct Entry {
  napi_env env;
  Kind kind;
  // The open file registered: at teardown an fd whose number now names
  // another file (closed behind closeFd's back and reused) is left alone.
  dev_t dev;
  ino_t ino;
  FdPoll* watch = nullptr;  // the watch polling it, if one does
  // A box's (leaves()): removed once it is reaped at teardown.
  std::vector<std::string> cgroup_dirs;
  struct Socket {
    SocketFile file;
    std::vector<std::pair<dev_t, ino_t>> dirs;  // each directory fd's file when registered
  };
  std::vector<Socket> sockets;
};

// How long a teardown waits, in all, for its boxes' cgroups to drain.
constexpr std::chrono::milliseconds kCgroupDrain{2000};

// Whether every directory fd of `socket` still is the directory registered
// (JS may have closed them, and their numbers been reused, since).
bool same_dirs(const Entry::Socket& socket) {
  for (size_t i = 0; i < socket.file.dir_fds.size(); i++) {
    struct stat now {};
    if (fstat(socket.file.dir_fds[i], &now) != 0 || now.st_dev != socket.dirs[i].first || now.st_ino != socket.dirs[i].second) return false;
  }
  return true;
}

// What a reaped box left: its cgroups, then its socket files and the
// directories made for them.
void remove_leftovers(const Entry& entry, std::chrono::steady_clock::time_point deadline) {
  for (const std::string& dir : entry.cgroup_dirs) host::remove_cgroup_tree(dir, deadline);
  for (const Entry::Socket& socket : entry.sockets) {
    const SocketFile& file = socket.file;
    if (file.dir_fds.empty() || !same_dirs(socket)) continue;
    host::unlink_socket_at(file.dir_fds.back(), file.name.c_str(), file.bound);
    for (size_t k = file.dir_fds.size() - 1; k > 0; k--) unlinkat(file.dir_fds[k - 1], file.made[k - 1].c_str(), AT_REMOVEDIR);
    for (int fd : file.dir_fds) close(fd);
  }
}

// Every env's entries, by fd (fd numbers are the process's). Never
// destroyed: a static with a destructor would run at exit under threads
// still using it.
struct Registry {
  std::mutex mutex;
  std::unordered_map<int, Entry> entries;
};

Registry& registry() {
  static Registry* made = new Registry();
  return *made;
}

bool same_file(int fd, const Entry& entry) {
  struct stat now {};
  return fstat(fd, &now) == 0 && now.st_dev == entry.dev && now.st_ino == entry.ino;
}

// Reaps boxes that outlived their env when they end: they are this
// process's children, and with their env's exit watch gone nobody else
// would. One thread for the process, started at the first such box; it
// polls the pidfds and an eventfd that brings it new ones.
class OrphanReaper {
 public:
  void add(int pidfd) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (wake_ < 0) {
      wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake_ < 0) {  // no thread to hand it to: close it, as before (the box runs on)
        close(pidfd);
        return;
      }
      host::AllSignalsBlocked blocked;  // process signals stay the JS thread's
      std::thread([this] { loop(); }).detach();
    }
    incoming_.push_back(pidfd);
    uint64_t one = 1;
    ssize_t ignored = write(wake_, &one, sizeof one);
    (void)ignored;
  }

 private:
  void loop() {
    std::vector<int> watched;
    std::vector<pollfd> polled;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        watched.insert(watched.end(), incoming_.begin(), incoming_.end());
        incoming_.clear();
      }
      polled.assign(1, pollfd{wake_, POLLIN, 0});
      for (int pidfd : watched) polled.push_back(pollfd{pidfd, POLLIN, 0});
      if (poll(polled.data(), polled.size(), -1) < 0) continue;  // EINTR
      uint64_t count;
      ssize_t ignored = read(wake_, &count, sizeof count);
      (void)ignored;
      std::vector<int> still;
      for (size_t i = 1; i < polled.size(); i++) {
        int pidfd = polled[i].fd;
        if (polled[i].revents == 0) {
          still.push_back(pidfd);
          continue;
        }
        siginfo_t info{};
        int r = host::wait_child(idtype_t(P_PIDFD), id_t(pidfd), &info, WEXITED | WNOHANG);
        if ((r == 0 && info.si_pid == 0) || r == -EAGAIN) {
          still.push_back(pidfd);  // woken early: still running (EAGAIN: a pidfd libuv made non-blocking)
          continue;
        }
        close(pidfd);  // reaped, or not ours to reap (ECHILD): done either way
      }
      watched.swap(still);
    }
  }

  std::mutex mutex_;
  int wake_ = -1;
  std::vector<int> incoming_;
};

OrphanReaper& orphan_reaper() {
  static OrphanReaper* reaper = new OrphanReaper();
  return *reaper;
}

// The env's cleanup hook: runs once it is torn down, when none of its JS
// runs any more (its exit watches' callbacks included).
void release_env(void* arg) {
  auto env = static_cast<napi_env>(arg);
  std::vector<std::pair<int, Entry>> mine;
  {
    Registry& owned = registry();
    std::lock_guard<std::mutex> lock(owned.mutex);
    for (auto it = owned.entries.begin(); it != owned.entries.end();) {
      if (it->second.env == env) {
        mine.emplace_back(*it);
        it = owned.entries.erase(it);
      } else {
        ++it;
      }
    }
  }
  // No watch may run on an fd closed here (the loop may turn once more).
  for (const auto& [fd, entry] : mine) {
    if (entry.watch != nullptr) entry.watch->stop();
  }
  // Every box that dies with its env is signalled before any is waited
  // for: their namespaces are torn down side by side.
  for (const auto& [fd, entry] : mine) {
    if (entry.kind == Kind::kBoxEndsWithEnv && same_file(fd, entry)) syscall(__NR_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  }
  std::vector<const Entry*> reaped;
  for (const auto& [fd, entry] : mine) {
    if (!same_file(fd, entry)) continue;
    switch (entry.kind) {
      case Kind::kBoxEndsWithEnv:
        host::reap_pidfd(fd);  // ECHILD when its watch reaped it already
        close(fd);
        reaped.push_back(&entry);
        break;
      case Kind::kBoxOutlivesEnv:
        orphan_reaper().add(fd);
        break;
      case Kind::kFd:
        close(fd);
        break;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + kCgroupDrain;
  for (const Entry* entry : reaped) remove_leftovers(*entry, deadline);
}

}  // namespace

void install(napi_env env) { napi_add_env_cleanup_hook(env, release_env, env); }

void own(napi_env env, int fd, Kind kind) {
  if (fd < 0) return;
  struct stat now {};
  if (fstat(fd, &now) != 0) return;
  Registry& owned = registry();
  std::lock_guard<std::mutex> lock(owned.mutex);
  owned.entries[fd] = Entry{env, kind, now.st_dev, now.st_ino, nullptr, {}, {}};
}

void forget(int fd) {
  Registry& owned = registry();
  std::lock_guard<std::mutex> lock(owned.mutex);
  owned.entries.erase(fd);
}

void leaves(int pidfd, std::vector<std::string> cgroup_dirs, std::vector<SocketFile> sockets) {
  std::vector<Entry::Socket> held;
  for (SocketFile& file : sockets) {
    if (file.made.size() + 1 != file.dir_fds.size()) continue;
    Entry::Socket socket{std::move(file), {}};
    for (int fd : socket.file.dir_fds) {
      struct stat dir {};
      if (fstat(fd, &dir) != 0) break;
      socket.dirs.emplace_back(dir.st_dev, dir.st_ino);
    }
    if (socket.dirs.size() == socket.file.dir_fds.size()) held.push_back(std::move(socket));
  }
  Registry& owned = registry();
  std::lock_guard<std::mutex> lock(owned.mutex);
  auto it = owned.entries.find(pidfd);
  if (it == owned.entries.end() || it->second.kind != Kind::kBoxEndsWithEnv) return;
  it->second.cgroup_dirs = std::move(cgroup_dirs);
  it->second.sockets = std::move(held);
}

void outlives(int fd) {
  Registry& owned = registry();
  std::lock_guard<std::mutex> lock(owned.mutex);
  auto it = owned.entries.find(fd);
  if (it == owned.entries.end() || it->second.kind != Kind::kBoxEndsWithEnv) return;
  it->second.kind = Kind::kBoxOutlivesEnv;
  // What it leaves is its state record's now (adopt(), cordon gc).
  it->second.cgroup_dirs.clear();
  it->second.sockets.clear();
}

void watching(int fd, FdPoll* watch) {
  Registry& owned = registry();
  std::lock_guard<std::mutex> lock(owned.mutex);
  auto it = owned.entries.find(fd);
  if (it != owned.entries.end()) it->second.watch = watch;
}

void not_watching(int fd, const FdPoll* watch) {
  Registry& owned = registry();
  std::lock_guard<std::mutex> lock(owned.mutex);
  auto it = owned.entries.find(fd);
  if (it != owned.entries.end() && it->second.watch == watch) it->second.watch = nullptr;
}

}  // namespace cordon::env_owned
