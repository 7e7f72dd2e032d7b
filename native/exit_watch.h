// Watches a pidfd on the libuv loop: no thread per box, no SIGCHLD handler,
// no waitpid(-1). Reaps only the child behind the pidfd.
#pragma once

#include <uv.h>

#include <functional>

namespace cordon {

class ExitWatch {
 public:
  // code is the exit status or -1; signal is the terminating signal or 0.
  using Callback = std::function<void(int code, int signal)>;

  ExitWatch() = default;
  ExitWatch(const ExitWatch&) = delete;
  ExitWatch& operator=(const ExitWatch&) = delete;
  ~ExitWatch();

  // Returns 0 or a libuv error.
  int start(uv_loop_t* loop, int pidfd, Callback callback);
  void ref();
  void unref();
  // Stops watching; the callback will not run.
  void stop();
  bool active() const { return poll_ != nullptr; }

 private:
  static void on_readable(uv_poll_t* handle, int status, int events);
  uv_poll_t* poll_ = nullptr;
  int pidfd_ = -1;
  Callback callback_;
};

}  // namespace cordon
