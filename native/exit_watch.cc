#include "exit_watch.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include <unistd.h>

#include "env_owned.h"
#include "host/process.h"
#include "plan_abi.h"
#include "sys/syscalls.h"

namespace cordon {

int FdPoll::start(uv_loop_t* loop, int fd, void* data, uv_poll_cb on_readable) {
  poll_ = new uv_poll_t;
  int r = uv_poll_init(loop, poll_, fd);
  if (r != 0) {
    delete poll_;
    poll_ = nullptr;
    return r;
  }
  poll_->data = data;
  fd_ = fd;
  env_owned::watching(fd, this);
  return uv_poll_start(poll_, UV_READABLE, on_readable);
}

void FdPoll::ref() {
  if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
}

void FdPoll::unref() {
  if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

void FdPoll::stop() {
  if (poll_ == nullptr) return;
  env_owned::not_watching(fd_, this);
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  poll_ = nullptr;
}

int ExitWatch::start(uv_loop_t* loop, int pidfd, Callback callback) {
  pidfd_ = pidfd;
  callback_ = std::move(callback);
  return FdPoll::start(loop, pidfd, this, on_readable);
}

void ExitWatch::on_readable(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<ExitWatch*>(handle->data);
  siginfo_t info{};
  int r = host::wait_child(idtype_t(P_PIDFD), id_t(self->pidfd_), &info, WEXITED | WNOHANG);
  if (r == 0 && info.si_pid == 0 && status == 0) return;  // woken early; still running
  int code = -1, signal = 0;
  if (r == 0 && info.si_code == CLD_EXITED) {
    code = info.si_status;
  } else if (r == 0) {
    signal = info.si_status;
  }
  Callback callback = std::move(self->callback_);
  self->stop();
  if (callback) callback(code, signal);
}

int ExitRecordWatch::start(uv_loop_t* loop, int exit_fd, Callback callback) {
  fd_ = exit_fd;
  callback_ = std::move(callback);
  return FdPoll::start(loop, exit_fd, this, on_readable);
}

void ExitRecordWatch::on_readable(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<ExitRecordWatch*>(handle->data);
  abi::ExitRecord record{-1, 0};
  ssize_t n;
  do n = read(self->fd_, &record, sizeof record);
  while (n < 0 && errno == EINTR);
  // The init writes the record in one write of 8 bytes (atomic on a pipe).
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && status == 0) return;  // woken early
  // A box released after its record (a socket channel then): the init's
  // one-byte answer, when its release stopped waiting for it.
  if (n == 1) return;
  bool got = n == ssize_t(sizeof record);
  Callback callback = std::move(self->callback_);
  self->stop();
  if (callback) callback(got, record.code, record.signal);
}

}  // namespace cordon
