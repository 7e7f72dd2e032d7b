// Watches a pidfd on the libuv loop: no thread per box, no SIGCHLD handler,
// no waitpid(-1). Reaps only the child behind the pidfd.
#pragma once

#include <uv.h>

#include <functional>

namespace cordon {

// One uv_poll_t on an fd, readable events only: the handle's lifecycle that
// both watches below share (made on start, closed and freed on stop).
class FdPoll {
 public:
  FdPoll() = default;
  FdPoll(const FdPoll&) = delete;
  FdPoll& operator=(const FdPoll&) = delete;
  ~FdPoll() { stop(); }

  // Returns 0 or a libuv error; `data` is handed back in the handle.
  int start(uv_loop_t* loop, int fd, void* data, uv_poll_cb on_readable);
  void ref();
  void unref();
  void stop();
  bool active() const { return poll_ != nullptr; }

 private:
  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
};

// ref, unref, stop (the callback will not run) and active: FdPoll's.
class ExitWatch : public FdPoll {
 public:
  // code is the exit status or -1; signal is the terminating signal or 0.
  using Callback = std::function<void(int code, int signal)>;

  // Returns 0 or a libuv error.
  int start(uv_loop_t* loop, int pidfd, Callback callback);

 private:
  static void on_readable(uv_poll_t* handle, int status, int events);
  int pidfd_ = -1;
  Callback callback_;
};

// Watches the read end of an init's exit pipe (non-blocking) on the libuv
// loop: the init writes one ExitRecord (plan_abi.h) with the payload's
// status the moment it has reaped the payload, about a millisecond before
// the init's own pidfd fires (the box's namespaces are torn down in
// between). Only the init holds the write end, so the record is the
// payload's status and nothing else's. Reads; never reaps.
// ref, unref, stop (the callback will not run) and active: FdPoll's.
class ExitRecordWatch : public FdPoll {
 public:
  // got: a whole record arrived (code is the exit status or -1; signal the
  // terminating signal or 0); false: EOF or an error without one (the init
  // died before it could report: its pidfd has the status).
  using Callback = std::function<void(bool got, int code, int signal)>;

  // Returns 0 or a libuv error.
  int start(uv_loop_t* loop, int exit_fd, Callback callback);

 private:
  static void on_readable(uv_poll_t* handle, int status, int events);
  int fd_ = -1;
  Callback callback_;
};

}  // namespace cordon
