// The only file that includes napi.h: unpacks arguments, calls the native
// core, returns plain values. Errors are built in TypeScript from numbers.
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "clone.h"
#include "env_owned.h"
#include "exit_watch.h"
#include "host/bridge.h"
#include "host/cgroups.h"
#include "host/idmapped.h"
#include "host/layers.h"
#include "host/logs.h"
#include "host/netns_pool.h"
#include "host/paths.h"
#include "host/process.h"
#include "host/pty.h"
#include "host/quota.h"
#include "log_pump.h"
#include "host/sealed_init.h"
#include "host/sockets.h"
#include "plan_abi.h"
#include "probe.h"
#include "off_thread.h"
#include "spawn_async.h"
#include "spawn_box.h"
#include "sys/syscalls.h"

namespace cordon {
namespace {

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool timings = CheckSpawnArguments(info, "spawn", info.Length());
  auto plan = info[0].As<Napi::Buffer<uint8_t>>();
  auto fds = info[1].As<Napi::Int32Array>();
  SpawnOutcome outcome = spawn(plan.Data(), plan.Length(), fds.Data(), fds.ElementLength(), timings);
  if (!outcome.malformed.empty()) throw Napi::Error::New(env, "cordon: malformed plan: " + outcome.malformed);
  return OutcomeObject(env, outcome);
}

// What ExitWatch and ExitRecordWatch share: the JS object stays alive
// while its watch runs, ref/unref/close act on the watch, and the one event
// is delivered once as callback(code, signal), each a number or null.
template <typename Derived, typename Watch>
class OneShotWatchWrap : public Napi::ObjectWrap<Derived> {
 protected:
  using Method = Napi::Value (Derived::*)(const Napi::CallbackInfo&);
  static Napi::Function DefineNamed(Napi::Env env, const char* name) {
    using Base = Napi::ObjectWrap<Derived>;
    return Base::DefineClass(env, name,
                             {Base::InstanceMethod("ref", static_cast<Method>(&OneShotWatchWrap::Ref)),
                              Base::InstanceMethod("unref", static_cast<Method>(&OneShotWatchWrap::Unref)),
                              Base::InstanceMethod("close", static_cast<Method>(&OneShotWatchWrap::Close))});
  }

  // Checks (fd: number, callback: function) against `usage` and keeps the callback.
  OneShotWatchWrap(const Napi::CallbackInfo& info, const char* usage) : Napi::ObjectWrap<Derived>(info) {
    if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(info.Env(), usage);
    }
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  // Starts `start(loop, fd)` (returns 0 or a libuv error); `what` names it in the error.
  template <typename Start>
  void Begin(const Napi::CallbackInfo& info, const char* what, Start start) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(info.Env(), &loop);
    int r = start(loop, info[0].As<Napi::Number>().Int32Value());
    if (r != 0) throw Napi::Error::New(info.Env(), std::string("cordon: cannot watch ") + what + ": " + uv_strerror(r));
    Napi::ObjectWrap<Derived>::Ref();  // alive while watching, even if JS drops it
  }

  // The one event: callback(code, signal), a number where `has_*`, else null.
  void Deliver(bool has_code, int code, bool has_signal, int signal) {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Napi::Function callback = callback_.Value();
    callback_.Reset();
    Napi::Value code_value = has_code ? Napi::Number::New(env, code) : env.Null();
    Napi::Value signal_value = has_signal ? Napi::Number::New(env, signal) : env.Null();
    // Let go of the self-reference first: the callback may drop the last JS one.
    Napi::ObjectWrap<Derived>::Unref();
    // A throw from JS here (an unhandled 'error' emitted on the tick queue
    // MakeCallback drains) must become an uncaught exception, not abort.
    // A call refused with no exception pending is an env being torn down
    // (a worker thread's last turn, its JS gone): nothing to tell.
    napi_value argv[2] = {code_value, signal_value};
    napi_value ignored;
    if (napi_make_callback(env, nullptr, env.Global(), callback, 2, argv, &ignored) == napi_ok) return;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }

  // A wrap finalized while its watch runs is one whose env is being torn
  // down (while it watches, it holds itself alive): the watch stops with it
  // (FdPoll's destructor), and the fd and the box are the env's to release
  // (env_owned.h).
  Watch watch_;

 private:
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    watch_.ref();
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    watch_.unref();
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (watch_.active()) {
      watch_.stop();
      callback_.Reset();
      Napi::ObjectWrap<Derived>::Unref();
    }
    return info.Env().Undefined();
  }

  Napi::FunctionReference callback_;
};

// A box's exit through its pidfd: onExit(code, signal).
class ExitWatchWrap : public OneShotWatchWrap<ExitWatchWrap, ExitWatch> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineNamed(env, "ExitWatch"); }

  explicit ExitWatchWrap(const Napi::CallbackInfo& info)
      : OneShotWatchWrap(info, "new ExitWatch(pidfd: number, onExit: (code, signal) => void)") {
    Begin(info, "pidfd", [this](uv_loop_t* loop, int pidfd) {
      return watch_.start(loop, pidfd, [this](int code, int signal) { Deliver(code >= 0, code, signal > 0, signal); });
    });
  }

};

// The init's exit record, as it arrives: onRecord(code, signal) with the
// payload's status, or onRecord(null, null) at EOF without a record.
class ExitRecordWatchWrap : public OneShotWatchWrap<ExitRecordWatchWrap, ExitRecordWatch> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineNamed(env, "ExitRecordWatch"); }

  explicit ExitRecordWatchWrap(const Napi::CallbackInfo& info)
      : OneShotWatchWrap(info, "new ExitRecordWatch(exitFd: number, onRecord: (code, signal) => void)") {
    Begin(info, "the exit pipe", [this](uv_loop_t* loop, int fd) {
      return watch_.start(loop, fd, [this](bool got, int code, int signal) {
        Deliver(got && signal <= 0, code, got && signal > 0, signal);
      });
    });
  }
};

Napi::Value SendSignal(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  int signal = info[1].As<Napi::Number>().Int32Value();
  long r = sys::sc(__NR_pidfd_send_signal, pidfd, signal, 0, 0);
  return Napi::Number::New(info.Env(), double(r));
}

// sendFdToSocket(path, fd, name) -> 0 | -errno: connect to the Unix socket
// at `path` and send `fd` with SCM_RIGHTS, `name` as the data (the OCI
// --console-socket protocol: runc sends the pty master this way). Node's
// net module cannot pass fds.
Napi::Value SendFdToSocket(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Napi::Number::New(info.Env(), -ENAMETOOLONG);
  path.copy(address.sun_path, path.size());
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return Napi::Number::New(info.Env(), -errno);
  int result = 0;
  if (connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    result = -errno;
  } else {
    if (name.empty()) name = " ";
    iovec data{const_cast<char*>(name.data()), name.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    __builtin_memcpy(CMSG_DATA(header), &fd, sizeof fd);
    ssize_t sent;
    do sent = sendmsg(sock, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) result = -errno;
  }
  close(sock);
  return Napi::Number::New(info.Env(), result);
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Napi::Number::New(info.Env(), -errno);
  }
  Napi::Array pair = Napi::Array::New(info.Env(), 2);
  pair.Set(0u, fds[0]);
  pair.Set(1u, fds[1]);
  return pair;
}

// socketPairs(count): `count` close-on-exec AF_UNIX stream pairs in one
// call (a box's stdio pipes: one crossing into the addon instead of one per
// pair). An Int32Array of the pairs made, [a0, b0, a1, b1, ...]; when pair i
// could not be made it ends there with one more element, -errno, and the
// pairs before it are the caller's to close, as if made one by one.
Napi::Value SocketPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "socketPairs(count: number)");
  uint32_t count = info[0].As<Napi::Number>().Uint32Value();
  if (count > 256) throw Napi::RangeError::New(env, "socketPairs: at most 256 pairs");
  int32_t made[2 * 256 + 1];
  size_t length = 0;
  for (uint32_t i = 0; i < count; i++) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      made[length++] = -errno;
      break;
    }
    made[length++] = pair[0];
    made[length++] = pair[1];
  }
  auto result = Napi::Int32Array::New(env, length);
  for (size_t i = 0; i < length; i++) result[i] = made[i];
  return result;
}

// openPty(cols, rows) -> [master, slave] | { errno: -errno, part }: see host/pty.h.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto cols = static_cast<unsigned short>(info[0].As<Napi::Number>().Uint32Value());
  auto rows = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  host::PtyPair pair;
  int part = 0;
  int error = host::open_pty(cols, rows, &pair, &part);
  if (error != 0) {
    Napi::Object failure = Napi::Object::New(env);
    failure.Set("errno", -error);
    failure.Set("part", part);
    return failure;
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, pair.master);
  result.Set(1u, pair.slave);
  return result;
}

// resizePty(master, cols, rows) -> 0 | -errno.
Napi::Value ResizePty(const Napi::CallbackInfo& info) {
  int master = info[0].As<Napi::Number>().Int32Value();
  auto cols = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  auto rows = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(info.Env(), -host::resize_pty(master, cols, rows));
}

// makeRaw(fd) -> Buffer (the settings to restore) | -errno.
Napi::Value MakeRaw(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> saved = Napi::Buffer<uint8_t>::New(info.Env(), host::terminal_settings_size());
  int error = host::make_raw(fd, saved.Data(), saved.Length());
  if (error != 0) return Napi::Number::New(info.Env(), -error);
  return saved;
}

// restoreTerminal(fd, saved) -> 0 | -errno.
Napi::Value RestoreTerminal(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> saved = info[1].As<Napi::Buffer<uint8_t>>();
  return Napi::Number::New(info.Env(), -host::restore_terminal(fd, saved.Data(), saved.Length()));
}

// openLogFile(path, mode, uid, gid): { fd (or -errno), part, made } (see host/logs.h).
Napi::Value OpenLogFile(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  host::LogOutcome outcome = host::open_log_file(path.c_str(), info[1].As<Napi::Number>().Int32Value(),
                                                 info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Int32Value());
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("fd", outcome.fd);
  result.Set("part", outcome.part);
  result.Set("made", outcome.made);
  return result;
}

// dupFd(fd): a close-on-exec copy (3 or above), or -errno.
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 3);
  return Napi::Number::New(info.Env(), fd < 0 ? -errno : fd);
}

// listenerState(fd): 1 listening, 0 shut down, or -errno (see host/sockets.h).
Napi::Value ListenerState(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), host::listener_state(info[0].As<Napi::Number>().Int32Value()));
}

// relisten(fd, backlog): 0 or -errno.
Napi::Value Relisten(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), host::relisten(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value()));
}

// makePipe(uid, gid): [read, write] or -errno (see host/logs.h).
Napi::Value MakePipe(const Napi::CallbackInfo& info) {
  int fds[2];
  int result = host::make_pipe(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), fds);
  if (result != 0) return Napi::Number::New(info.Env(), result);
  Napi::Array pair = Napi::Array::New(info.Env(), 2);
  pair.Set(0u, fds[0]);
  pair.Set(1u, fds[1]);
  return pair;
}

Napi::Object QuotaResult(Napi::Env env, const host::QuotaOutcome& outcome) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", outcome.fd);
  result.Set("part", outcome.part);
  result.Set("fresh", outcome.fresh);
  result.Set("size", double(outcome.size));
  return result;
}

// openQuotaImage(dir, name, bytes, waitMs): { fd (or -errno), part, fresh, size } (see host/quota.h).
Napi::Value OpenQuotaImage(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  return QuotaResult(info.Env(), host::open_quota_image(dir.c_str(), name.c_str(), int64_t(info[2].As<Napi::Number>().DoubleValue()),
                                                        info[3].As<Napi::Number>().Int32Value()));
}

// mountQuotaImage(imageFd, uid, gid): { fd (the detached mount, or -errno), part }.
Napi::Value MountQuotaImage(const Napi::CallbackInfo& info) {
  return QuotaResult(info.Env(), host::mount_quota_image(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                                                         info[2].As<Napi::Number>().Int32Value()));
}

// reopenQuotaImage(fd): a second open file description of the image, or -errno.
Napi::Value ReopenQuotaImage(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), host::reopen_quota_image(info[0].As<Napi::Number>().Int32Value()));
}

// quotaImageFree(fd): 0 when no loop device holds the image any more, -EWOULDBLOCK while one does, or -errno.
Napi::Value QuotaImageFree(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), host::quota_image_free(info[0].As<Napi::Number>().Int32Value()));
}

// quotaUsage(fd): { error, bytes, bytesFree, inodes, inodesFree }.
Napi::Value QuotaUsage(const Napi::CallbackInfo& info) {
  host::QuotaUsage usage = host::quota_usage(info[0].As<Napi::Number>().Int32Value());
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("error", -usage.error);  // every export: 0 or -errno
  result.Set("bytes", double(usage.bytes));
  result.Set("bytesFree", double(usage.bytes_free));
  result.Set("inodes", double(usage.inodes));
  result.Set("inodesFree", double(usage.inodes_free));
  return result;
}

Napi::Value ProbeClone(const Napi::CallbackInfo& info) {
  int rung = info[0].As<Napi::Number>().Int32Value();
  double ns_flags = info[1].As<Napi::Number>().DoubleValue();
  int cgroup_fd = info[2].As<Napi::Number>().Int32Value();
  if (rung < 0 || rung >= kRungCount) throw Napi::RangeError::New(info.Env(), "bad rung");
  long r = probe_clone(Rung(rung), uint64_t(ns_flags), 0, cgroup_fd);
  return Napi::Number::New(info.Env(), double(r));
}

Napi::Value SettledRung(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), settled_rung()); }

Napi::Value ForceRung(const Napi::CallbackInfo& info) {
  int rung = info[0].As<Napi::Number>().Int32Value();
  if (rung < -1 || rung >= kRungCount) throw Napi::RangeError::New(info.Env(), "bad rung");
  force_rung(rung);
  return info.Env().Undefined();
}

Napi::Value ForceOwnMemory(const Napi::CallbackInfo& info) {
  force_own_memory(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Value SetConcurrentSetup(const Napi::CallbackInfo& info) {
  set_concurrent_setup(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// Tests: whether this process is dumpable (PR_GET_DUMPABLE), which a box
// child changing its host uid in our memory turns off until spawn restores it.
Napi::Value IsDumpable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), prctl(PR_GET_DUMPABLE) == 1); }

Napi::Value ListenTcp(const Napi::CallbackInfo& info) {
  std::string address = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int backlog = info[2].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), host::listen_tcp(address.c_str(), port, backlog));
}

// listenUnixAt(dirFd, name, mode, uid, gid, backlog): { fd (or -errno), file }
// where file is the socket file's "dev:ino", for unlinkSocketAt.
Napi::Value ListenUnixAt(const Napi::CallbackInfo& info) {
  int dir_fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  int mode = info[2].As<Napi::Number>().Int32Value();
  int uid = info[3].As<Napi::Number>().Int32Value();
  int gid = info[4].As<Napi::Number>().Int32Value();
  int backlog = info[5].As<Napi::Number>().Int32Value();
  host::FileId made;
  int fd = host::listen_unix_at(dir_fd, name.c_str(), mode, uid, gid, backlog, &made);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("fd", fd);
  result.Set("file", std::to_string(made.dev) + ":" + std::to_string(made.ino));
  return result;
}

// A socket file's "dev:ino" as listenUnixAt gives it: false if `file` is not one.
// One unsigned 64-bit decimal, digits only: false for anything else (no
// exception: the text may come from a damaged state record, and a C++
// exception escaping a binding would abort the supervisor).
bool decimal_u64(const std::string& text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = uint64_t(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

bool file_id_of(const std::string& file, host::FileId* id) {
  size_t colon = file.find(':');
  if (colon == std::string::npos) return false;
  uint64_t dev = 0;
  uint64_t ino = 0;
  if (!decimal_u64(file.substr(0, colon), &dev) || !decimal_u64(file.substr(colon + 1), &ino)) return false;
  id->dev = dev;
  id->ino = ino;
  return true;
}

// unlinkSocketAt(dirFd, name, file): removes the socket file if it is still
// `file` ("dev:ino" from listenUnixAt); 0, -ESTALE (another file) or -errno.
Napi::Value UnlinkSocketAt(const Napi::CallbackInfo& info) {
  int dir_fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  host::FileId made;
  if (!file_id_of(info[2].As<Napi::String>().Utf8Value(), &made)) return Napi::Number::New(info.Env(), -EINVAL);
  return Napi::Number::New(info.Env(), host::unlink_socket_at(dir_fd, name.c_str(), made));
}

// openSocketDir(dir, mode, uid, gid): { error, fds } (see host/paths.h).
Napi::Value OpenSocketDir(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  int mode = info[1].As<Napi::Number>().Int32Value();
  int uid = info[2].As<Napi::Number>().Int32Value();
  int gid = info[3].As<Napi::Number>().Int32Value();
  int fds[64];
  int count = 0;
  int error = host::open_socket_dir(dir.c_str(), mode, uid, gid, fds, 64, &count);
  Napi::Object result = Napi::Object::New(info.Env());
  Napi::Array list = Napi::Array::New(info.Env(), size_t(count));
  for (int i = 0; i < count; i++) list.Set(uint32_t(i), fds[i]);
  result.Set("error", -error);  // every export: 0 or -errno
  result.Set("fds", list);
  return result;
}

// unlinkAt(dirFd, name, directory): 0 or -errno.
Napi::Value UnlinkAt(const Napi::CallbackInfo& info) {
  int dir_fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  bool directory = info[2].As<Napi::Boolean>().Value();
  return Napi::Number::New(info.Env(), host::unlink_at(dir_fd, name.c_str(), directory));
}

// makeWhiteout(path): 0 or -errno (see host/layers.h).
Napi::Value MakeWhiteout(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "makeWhiteout(path: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), host::make_whiteout(path.c_str()));
}

// setDirXattr(path, name, value): 0 or -errno (see host/layers.h).
Napi::Value SetDirXattr(const Napi::CallbackInfo& info) {
  if (info.Length() != 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString()) {
    throw Napi::TypeError::New(info.Env(), "setDirXattr(path: string, name: string, value: string)");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  std::string value = info[2].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), host::set_dir_xattr(path.c_str(), name.c_str(), value));
}

// getXattr(path, name): the value, or -errno.
Napi::Value GetXattr(const Napi::CallbackInfo& info) {
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(info.Env(), "getXattr(path: string, name: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  std::string value;
  int error = host::get_xattr(path.c_str(), name.c_str(), &value);
  if (error != 0) return Napi::Number::New(info.Env(), error);
  return Napi::String::New(info.Env(), value);
}

// prepareUpper(dir, boxUid, boxGid, callerUid): { error, dir, part } (see host/paths.h).
Napi::Value PrepareUpper(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  int box_uid = info[1].As<Napi::Number>().Int32Value();
  int box_gid = info[2].As<Napi::Number>().Int32Value();
  int caller_uid = info[3].As<Napi::Number>().Int32Value();
  host::UpperOutcome outcome = host::prepare_upper(dir.c_str(), box_uid, box_gid, caller_uid);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("error", -outcome.error);  // every export: 0 or -errno
  result.Set("dir", outcome.dir);
  result.Set("part", outcome.part);
  return result;
}

// createBridge(name, address, prefix): 0 or a positive errno. `address` is IPv4 in host byte order.
Napi::Value CreateBridge(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t address = info[1].As<Napi::Number>().Uint32Value();
  int prefix = info[2].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), -host::create_bridge(name.c_str(), htonl(address), prefix));
}

// Deleting a link waits for RCU grace periods under the rtnl lock (tens of
// ms when the kernel is tearing down namespaces): never on the JS thread.
// A bridge's host-side link deleted off the JS thread (netlink waits for
// the kernel's teardown); nothing to release if the env goes first.
class DeleteLinkJob : public OffThreadJob {
 public:
  DeleteLinkJob(Napi::Env env, std::string name) : name_(std::move(name)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void run() override { result_ = -host::delete_link(name_.c_str()); }
  void settle(Napi::Env env) override { deferred_.Resolve(Napi::Number::New(env, result_)); }
  void abandon() override {}

 private:
  std::string name_;
  Napi::Promise::Deferred deferred_;
  int result_ = 0;
};

// deleteLinkAsync(name): a promise of 0 or -errno.
Napi::Value DeleteLinkAsync(const Napi::CallbackInfo& info) {
  auto* job = new DeleteLinkJob(info.Env(), info[0].As<Napi::String>().Utf8Value());
  Napi::Promise promise = job->promise();
  run_off_thread(info.Env(), job, /*setup=*/false);
  return promise;
}

// probeBridge(): { error, part } (see host::probe_bridge).
Napi::Value ProbeBridge(const Napi::CallbackInfo& info) {
  int part = 0;
  int error = -host::probe_bridge(&part);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("error", error);
  result.Set("part", part);
  return result;
}

// ipv4Address(name): { address, prefix } (address in host byte order) or a positive errno.
Napi::Value Ipv4Address(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t address = 0;
  int prefix = 0;
  int error = host::ipv4_address(name.c_str(), &address, &prefix);
  if (error != 0) return Napi::Number::New(info.Env(), -error);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("address", Napi::Number::New(info.Env(), address));
  result.Set("prefix", prefix);
  return result;
}

// deleteLink(name): 0 or a positive errno (ENODEV when it is gone).
Napi::Value DeleteLink(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), -host::delete_link(name.c_str()));
}

// lockFile(dir, name, operation, create = true): an fd holding the flock, or -errno (see host::lock_file).
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  bool create = info.Length() < 4 || info[3].As<Napi::Boolean>().Value();
  return Napi::Number::New(info.Env(), host::lock_file(dir.c_str(), name.c_str(), info[2].As<Napi::Number>().Int32Value(), create));
}

// unlinkLockFile(dir, name, fd): 0 or -errno (see host::unlink_lock_file).
Napi::Value UnlinkLockFile(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), host::unlink_lock_file(dir.c_str(), name.c_str(), info[2].As<Napi::Number>().Int32Value()));
}

// flockFd(fd, operation): 0 or -errno.
Napi::Value FlockFd(const Napi::CallbackInfo& info) {
  int result = flock(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), result == 0 ? 0 : -errno);
}

Napi::Value LocalPort(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return Napi::Number::New(info.Env(), -errno);
  int port = address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port)
                                           : ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return Napi::Number::New(info.Env(), port);
}

Napi::Value IdmappedTree(const Napi::CallbackInfo& info) {
  std::string source = info[0].As<Napi::String>().Utf8Value();
  bool recursive = info[1].As<Napi::Boolean>().Value();
  double attrs = info[2].As<Napi::Number>().DoubleValue();
  std::string uid_map = info[3].As<Napi::String>().Utf8Value();
  std::string gid_map = info[4].As<Napi::String>().Utf8Value();
  bool follow_symlinks = info[5].As<Napi::Boolean>().Value();
  int part = 0;
  int fd = host::idmapped_tree(source.c_str(), recursive, follow_symlinks, (unsigned long long)attrs, uid_map.c_str(),
                               gid_map.c_str(), &part);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("fd", fd);
  result.Set("part", part);
  return result;
}

// sealedInit(path): { fd, part }: the sealed in-memory copy of the init
// binary, or fd = -errno and the part that failed (host::SealPart).
Napi::Value SealedInit(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "sealedInit(path: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  host::SealPart part = host::SealPart::kOpen;
  int fd = host::sealed_init_copy(path.c_str(), &part);
  env_owned::own(info.Env(), fd, env_owned::Kind::kFd);  // kept for the env's life (lib/internal/sealed-init.ts)
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("fd", fd);
  result.Set("part", int(part));
  return result;
}

// closeFd(fd): 0 or -errno. For fds the addon made: in a worker thread
// Node warns when fs.closeSync closes an fd that fs did not open.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  env_owned::forget(fd);
  return Napi::Number::New(info.Env(), close(fd) == 0 ? 0 : -errno);
}

// releaseBox(pidfd, exitFd): a box that awaits its release (the spawn
// result's awaitsRelease) has been recorded: its init lets go of its
// parent-death signal, and once it has said so a worker's teardown leaves
// the box running. 0 or -errno, as release_box (spawn_box.h).
Napi::Value ReleaseBox(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  int exit_fd = info[1].As<Napi::Number>().Int32Value();
  int released = release_box(exit_fd);
  if (released == 0) env_owned::outlives(pidfd);
  return Napi::Number::New(info.Env(), released);
}

// boxLeaves(pidfd, cgroupDirs, sockets): what a box that dies with this
// env leaves on the host, removed after it is reaped if the env is torn
// down first (a worker thread terminated: no JS runs then; env_owned.h).
// sockets: [{ dirFds, made, name, file }] as lib/sockets.ts keeps them.
Napi::Value BoxLeaves(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsArray() || !info[2].IsArray()) {
    throw Napi::TypeError::New(env, "boxLeaves(pidfd: number, cgroupDirs: string[], sockets: { dirFds, made, name, file }[])");
  }
  auto strings = [&](Napi::Array list) {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < list.Length(); i++) out.push_back(list.Get(i).As<Napi::String>().Utf8Value());
    return out;
  };
  std::vector<env_owned::SocketFile> sockets;
  Napi::Array given = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < given.Length(); i++) {
    Napi::Object entry = given.Get(i).As<Napi::Object>();
    env_owned::SocketFile socket;
    Napi::Array fds = entry.Get("dirFds").As<Napi::Array>();
    for (uint32_t k = 0; k < fds.Length(); k++) socket.dir_fds.push_back(fds.Get(k).As<Napi::Number>().Int32Value());
    socket.made = strings(entry.Get("made").As<Napi::Array>());
    socket.name = entry.Get("name").As<Napi::String>().Utf8Value();
    if (!file_id_of(entry.Get("file").As<Napi::String>().Utf8Value(), &socket.bound)) {
      throw Napi::TypeError::New(env, "boxLeaves: a socket's file is \"dev:ino\"");
    }
    sockets.push_back(std::move(socket));
  }
  env_owned::leaves(info[0].As<Napi::Number>().Int32Value(), strings(info[1].As<Napi::Array>()), std::move(sockets));
  return env.Undefined();
}

// pidfdOpen(pid): a pidfd (close-on-exec) for a process this one did not
// start (an adopted box), or -errno. The caller checks the process's start
// time after opening: a pidfd pins the process, a pid does not.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  long pid = long(info[0].As<Napi::Number>().Int64Value());
  long fd = pid > 0 ? syscall(SYS_pidfd_open, pid, 0) : (errno = ESRCH, -1L);
  return Napi::Number::New(info.Env(), fd < 0 ? -errno : double(fd));
}

// reap(pidfd): waits for the child behind it to end and reaps it: 0 or -errno.
Napi::Value Reap(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), host::reap_pidfd(pidfd));
}

// Makes namespace pool entries on a libuv worker thread. Stops at the first
// failure; the entries made before it are returned with the error.
// A namespace pool's batch made off the JS thread, on a thread of its own
// (not a set-up thread: a refill must not delay a box); its namespace fds
// are closed if the env goes first.
class NamespacesJob : public OffThreadJob {
 public:
  NamespacesJob(Napi::Function callback, bool pair, int count, host::PairIds ids)
      : callback_(Napi::Persistent(callback)), pair_(pair), count_(count), ids_(std::move(ids)) {}

  void run() override {
    host::PoolPart part = host::PoolPart::kNone;
    error_ = host::make_entries(pair_, ids_, count_, &entries_, &part);
    part_ = int(part);
  }

  void settle(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    Napi::Array entries = Napi::Array::New(env, entries_.size());
    for (size_t i = 0; i < entries_.size(); i++) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("user", entries_[i].user);
      entry.Set("net", entries_[i].net);
      entries.Set(uint32_t(i), entry);
    }
    result.Set("entries", entries);
    result.Set("errno", error_);
    result.Set("part", part_);
    // The env's from the hand-over (JS may close some within the call).
    for (const host::NamespaceEntry& entry : entries_) {
      env_owned::own(env, entry.user, env_owned::Kind::kFd);
      env_owned::own(env, entry.net, env_owned::Kind::kFd);
    }
    napi_value argv[1] = {result};
    napi_value ignored;
    napi_status status = napi_call_function(env, env.Global(), callback_.Value(), 1, argv, &ignored);
    bool pending = false;
    if (status != napi_ok && (napi_is_exception_pending(env, &pending) != napi_ok || !pending)) {
      // Refused: the env is being torn down and no JS ran to take the fds.
      for (const host::NamespaceEntry& entry : entries_) {
        env_owned::forget(entry.user);
        env_owned::forget(entry.net);
      }
      abandon();
      return;
    }
    // Handed over: from here the JS side owns the fds.
    entries_.clear();
    if (status == napi_ok) return;
    // The callback's own exception: JS's, uncaught as it would be (a
    // pending exception left here is only a deprecation warning), not
    // taken for an env that is going away.
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }

  void abandon() override {
    for (const host::NamespaceEntry& entry : entries_) {
      if (entry.user >= 0) close(entry.user);
      if (entry.net >= 0) close(entry.net);
    }
    entries_.clear();
    // The env (and the reference with it) may be gone: not deleted through it.
    callback_.SuppressDestruct();
  }

 private:
  Napi::FunctionReference callback_;
  bool pair_;
  int count_;
  host::PairIds ids_;
  std::vector<host::NamespaceEntry> entries_;
  int error_ = 0;
  int part_ = 0;
};

// Cgroup-namespace helpers started on a set-up thread (each start waits for
// the helper's exec: not on the JS thread, which a supervisor needs for its
// boxes' events meanwhile).
class NamespaceHelpersJob : public OffThreadJob {
 public:
  NamespaceHelpersJob(Napi::Function callback, int init_fd, int count)
      : callback_(Napi::Persistent(callback)), init_fd_(init_fd), count_(count) {}

  void run() override {
    for (int i = 0; i < count_; i++) {
      host::NamespaceHelper helper;
      int r = host::start_namespace_helper(init_fd_, &helper);
      if (r < 0) {
        error_ = -r;
        return;
      }
      helpers_.push_back(helper);
    }
  }

  void settle(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    Napi::Array list = Napi::Array::New(env, helpers_.size());
    for (size_t i = 0; i < helpers_.size(); i++) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("pid", double(helpers_[i].pid));
      entry.Set("pidfd", helpers_[i].pidfd);
      entry.Set("socket", helpers_[i].socket);
      list.Set(uint32_t(i), entry);
    }
    result.Set("helpers", list);
    result.Set("errno", error_);
    // The env's from the hand-over: killed and reaped at its teardown.
    for (const host::NamespaceHelper& helper : helpers_) {
      env_owned::own(env, helper.pidfd, env_owned::Kind::kBoxEndsWithEnv);
      env_owned::own(env, helper.socket, env_owned::Kind::kFd);
    }
    napi_value argv[1] = {result};
    napi_value ignored;
    napi_status status = napi_call_function(env, env.Global(), callback_.Value(), 1, argv, &ignored);
    bool pending = false;
    if (status != napi_ok && (napi_is_exception_pending(env, &pending) != napi_ok || !pending)) {
      for (const host::NamespaceHelper& helper : helpers_) {
        env_owned::forget(helper.pidfd);
        env_owned::forget(helper.socket);
      }
      abandon();
      return;
    }
    helpers_.clear();
    if (status == napi_ok) return;
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }

  void abandon() override {
    // Killed (a stopped one reads no EOF) and reaped here, as nobody else will.
    for (const host::NamespaceHelper& helper : helpers_) {
      sys::sc(__NR_pidfd_send_signal, helper.pidfd, SIGKILL, 0, 0);
      close(helper.socket);
      host::reap_pidfd(helper.pidfd);
      close(helper.pidfd);
    }
    helpers_.clear();
    callback_.SuppressDestruct();
  }

 private:
  Napi::FunctionReference callback_;
  int init_fd_;
  int count_;
  std::vector<host::NamespaceHelper> helpers_;
  int error_ = 0;
};

// startCgroupNamespaceHelpers(initFd, count, done): starts `count`
// cgroup-namespace helpers (host::start_namespace_helper) off the JS thread,
// then done({ helpers: [{ pid, pidfd, socket }], errno }): those started,
// and the errno that stopped the rest (0 when all did).
Napi::Value StartCgroupNamespaceHelpers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "startCgroupNamespaceHelpers(initFd: number, count: number, done: function)");
  }
  int count = info[1].As<Napi::Number>().Int32Value();
  if (count < 1 || count > 64) throw Napi::RangeError::New(env, "startCgroupNamespaceHelpers: count must be 1 to 64");
  // On a set-up thread: those live as long as the process, and a helper
  // dies with the thread that started it (host/cgroups.h).
  run_off_thread(env, new NamespaceHelpersJob(info[2].As<Napi::Function>(), info[0].As<Napi::Number>().Int32Value(), count), /*setup=*/true);
  return env.Undefined();
}

host::IdMapPlan ReadMapPlan(const Napi::Object& spec) {
  host::IdMapPlan plan;
  if (spec.Has("text")) plan.text = spec.Get("text").As<Napi::String>().Utf8Value();
  if (spec.Has("helper")) {
    Napi::Array helper = spec.Get("helper").As<Napi::Array>();
    for (uint32_t i = 0; i < helper.Length(); i++) plan.helper.push_back(helper.Get(i).As<Napi::String>().Utf8Value());
  }
  return plan;
}

Napi::Value MakeNamespaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsBoolean() || !info[1].IsNumber() || !info[3].IsFunction() ||
      (info[0].As<Napi::Boolean>().Value() && !info[2].IsObject())) {
    throw Napi::TypeError::New(env, "makeNamespaces(pair: boolean, count: number, ids: object | null, done: function)");
  }
  bool pair = info[0].As<Napi::Boolean>().Value();
  int count = info[1].As<Napi::Number>().Int32Value();
  if (count < 1 || count > 1024) throw Napi::RangeError::New(env, "makeNamespaces: count must be 1 to 1024");
  host::PairIds ids;
  if (pair) {
    Napi::Object spec = info[2].As<Napi::Object>();
    ids.uid = ReadMapPlan(spec.Get("uid").As<Napi::Object>());
    ids.gid = ReadMapPlan(spec.Get("gid").As<Napi::Object>());
    ids.deny_setgroups = spec.Get("denySetgroups").As<Napi::Boolean>().Value();
  }
  run_off_thread(env, new NamespacesJob(info[3].As<Napi::Function>(), pair, count, std::move(ids)), /*setup=*/false);
  return env.Undefined();
}

Napi::Value LandlockAbi(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), landlock_abi()); }

Napi::Object Ops(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
  for (const abi::OpLayout& op : abi::kOpLayouts) ops.Set(op.name, op.number);
  return ops;
}

// The op table as lib/internal/plan-ops.ts declares it (scripts/gen-plan-ops.js
// writes that file from this; test/unit/plan-abi.test.js checks it is current).
Napi::Array OpTable(Napi::Env env) {
  static const char* const kFdUse[] = {"none", "required", "optional"};
  static const char* const kStrUse[] = {"none", "required", "optional", "list", "optionalList"};
  Napi::Array table = Napi::Array::New(env, abi::kOpCount);
  uint32_t i = 0;
  for (const abi::OpLayout& op : abi::kOpLayouts) {
    Napi::Object row = Napi::Object::New(env);
    row.Set("name", op.name);
    row.Set("number", op.number);
    row.Set("side", op.side == abi::Side::kParent ? "parent" : "child");
    row.Set("fd", kFdUse[int(op.fd)]);
    Napi::Array num = Napi::Array::New(env, 4), str = Napi::Array::New(env, 4);
    for (uint32_t k = 0; k < 4; k++) {
      const abi::NumField& n = op.num[k];
      if (n.name == nullptr) {
        num.Set(k, env.Null());
      } else {
        Napi::Object field = Napi::Object::New(env);
        field.Set("name", n.name);
        if (n.count) field.Set("count", true);
        if (n.checked) {
          field.Set("min", double(n.min));
          field.Set("max", double(n.max));
        }
        num.Set(k, field);
      }
      const abi::StrField& s = op.str[k];
      if (s.name == nullptr) {
        str.Set(k, env.Null());
      } else {
        Napi::Object field = Napi::Object::New(env);
        field.Set("name", s.name);
        field.Set("use", kStrUse[int(s.use)]);
        if (s.count_slot >= 0) field.Set("count", int(s.count_slot));
        str.Set(k, field);
      }
    }
    row.Set("num", num);
    row.Set("str", str);
    table.Set(i++, row);
  }
  return table;
}

// The value enums of op fields and status details (plan_abi.h).
Napi::Object Enums(Napi::Env env) {
  Napi::Object enums = Napi::Object::New(env);
  auto values = [&](const char* name) {
    Napi::Object object = Napi::Object::New(env);
    enums.Set(name, object);
    return object;
  };
  Napi::Object target_mode = values("TargetMode"), source_links = values("SourceLinks"), attr_scope = values("AttrScope");
#define CORDON_TM(Name, js, value) target_mode.Set(#js, value);
#define CORDON_SL(Name, js, value) source_links.Set(#js, value);
#define CORDON_AS(Name, js, value) attr_scope.Set(#js, value);
  CORDON_TARGET_MODE(CORDON_TM)
  CORDON_SOURCE_LINKS(CORDON_SL)
  CORDON_ATTR_SCOPE(CORDON_AS)
#undef CORDON_TM
#undef CORDON_SL
#undef CORDON_AS
  Napi::Object mount_part = values("MountPart"), init_part = values("InitPart");
#define CORDON_MP(Name, value, what) mount_part.Set(uint32_t(value), what);
  CORDON_MOUNT_PART(CORDON_MP)
#undef CORDON_MP
#define CORDON_IP(Name, value, name, syscall)                 \
  {                                                           \
    Napi::Object part = Napi::Object::New(env);               \
    part.Set("name", name);                                   \
    part.Set("syscall", syscall);                             \
    init_part.Set(std::to_string(value), part);               \
  }
  CORDON_INIT_PART(CORDON_IP)
#undef CORDON_IP
  // The parts of the host-side calls (which part failed, with the errno).
  auto part = [&](Napi::Object object, int value, const char* name, const char* syscall, const char* what) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", name);
    entry.Set("syscall", syscall);
    entry.Set("what", what);
    object.Set(uint32_t(value), entry);
  };
  // Every host part table has one shape (host/parts.h).
  Napi::Object table;
#define CORDON_HOST_PART_EXPORT(Name, value, syscall, what) part(table, value, #Name, syscall, what);
  table = values("VethPart");
  CORDON_VETH_PART(CORDON_HOST_PART_EXPORT)
  table = values("PoolPart");
  CORDON_POOL_PART(CORDON_HOST_PART_EXPORT)
  table = values("IdmappedPart");
  CORDON_IDMAPPED_PART(CORDON_HOST_PART_EXPORT)
  table = values("UpperPart");
  CORDON_UPPER_PART(CORDON_HOST_PART_EXPORT)
#undef CORDON_HOST_PART_EXPORT
  return enums;
}

Napi::Object Layout(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("magic", abi::kPlanMagic);
  layout.Set("headerSize", uint32_t(sizeof(abi::PlanHeader)));
  layout.Set("stepSize", uint32_t(sizeof(abi::StepRecord)));
  layout.Set("statusRecordSize", uint32_t(sizeof(abi::StatusRecord)));
  layout.Set("exitRecordSize", uint32_t(sizeof(abi::ExitRecord)));
  layout.Set("maxSteps", abi::kMaxSteps);
  layout.Set("maxFdSlots", abi::kMaxFdSlots);
  layout.Set("maxInstalledFds", abi::kMaxInstalledFds);
  layout.Set("sideParent", uint32_t(abi::Side::kParent));
  layout.Set("sideChild", uint32_t(abi::Side::kChild));
  return layout;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env_owned::install(env);
  exports.Set("abiVersion", abi::kPlanAbiVersion);
  exports.Set("ops", Ops(env));
  exports.Set("opTable", OpTable(env));
  exports.Set("enums", Enums(env));
  exports.Set("layout", Layout(env));
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("ExitWatch", ExitWatchWrap::Define(env));
  exports.Set("ExitRecordWatch", ExitRecordWatchWrap::Define(env));
  exports.Set("sendSignal", Napi::Function::New(env, SendSignal));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair));
  exports.Set("socketPairs", Napi::Function::New(env, SocketPairs));
  exports.Set("sendFdToSocket", Napi::Function::New(env, SendFdToSocket));
  exports.Set("openPty", Napi::Function::New(env, OpenPty));
  exports.Set("resizePty", Napi::Function::New(env, ResizePty));
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw));
  exports.Set("restoreTerminal", Napi::Function::New(env, RestoreTerminal));
  exports.Set("openLogFile", Napi::Function::New(env, OpenLogFile));
  exports.Set("makePipe", Napi::Function::New(env, MakePipe));
  exports.Set("LogPump", DefineLogPump(env));
  exports.Set("dupFd", Napi::Function::New(env, DupFd));
  exports.Set("listenerState", Napi::Function::New(env, ListenerState));
  exports.Set("relisten", Napi::Function::New(env, Relisten));
  exports.Set("openQuotaImage", Napi::Function::New(env, OpenQuotaImage));
  exports.Set("mountQuotaImage", Napi::Function::New(env, MountQuotaImage));
  exports.Set("quotaUsage", Napi::Function::New(env, QuotaUsage));
  exports.Set("reopenQuotaImage", Napi::Function::New(env, ReopenQuotaImage));
  exports.Set("quotaImageFree", Napi::Function::New(env, QuotaImageFree));
  exports.Set("probeClone", Napi::Function::New(env, ProbeClone));
  exports.Set("settledRung", Napi::Function::New(env, SettledRung));
  exports.Set("forceRung", Napi::Function::New(env, ForceRung));
  exports.Set("forceOwnMemory", Napi::Function::New(env, ForceOwnMemory));
  exports.Set("setConcurrentSetup", Napi::Function::New(env, SetConcurrentSetup));
  exports.Set("isDumpable", Napi::Function::New(env, IsDumpable));
  exports.Set("landlockAbi", Napi::Function::New(env, LandlockAbi));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("releaseBox", Napi::Function::New(env, ReleaseBox));
  exports.Set("boxLeaves", Napi::Function::New(env, BoxLeaves));
  exports.Set("spawnAsync", Napi::Function::New(env, SpawnAsync));
  exports.Set("listenTcp", Napi::Function::New(env, ListenTcp));
  exports.Set("listenUnixAt", Napi::Function::New(env, ListenUnixAt));
  exports.Set("openSocketDir", Napi::Function::New(env, OpenSocketDir));
  exports.Set("unlinkAt", Napi::Function::New(env, UnlinkAt));
  exports.Set("unlinkSocketAt", Napi::Function::New(env, UnlinkSocketAt));
  exports.Set("prepareUpper", Napi::Function::New(env, PrepareUpper));
  exports.Set("localPort", Napi::Function::New(env, LocalPort));
  exports.Set("idmappedTree", Napi::Function::New(env, IdmappedTree));
  exports.Set("sealedInit", Napi::Function::New(env, SealedInit));
  exports.Set("startCgroupNamespaceHelpers", Napi::Function::New(env, StartCgroupNamespaceHelpers));
  exports.Set("makeNamespaces", Napi::Function::New(env, MakeNamespaces));
  exports.Set("createBridge", Napi::Function::New(env, CreateBridge));
  exports.Set("deleteLink", Napi::Function::New(env, DeleteLink));
  exports.Set("ipv4Address", Napi::Function::New(env, Ipv4Address));
  exports.Set("probeBridge", Napi::Function::New(env, ProbeBridge));
  exports.Set("deleteLinkAsync", Napi::Function::New(env, DeleteLinkAsync));
  exports.Set("lockFile", Napi::Function::New(env, LockFile));
  exports.Set("unlinkLockFile", Napi::Function::New(env, UnlinkLockFile));
  exports.Set("flockFd", Napi::Function::New(env, FlockFd));
  exports.Set("makeWhiteout", Napi::Function::New(env, MakeWhiteout));
  exports.Set("setDirXattr", Napi::Function::New(env, SetDirXattr));
  exports.Set("getXattr", Napi::Function::New(env, GetXattr));
  return exports;
}

}  // namespace
}  // namespace cordon

static Napi::Object InitCordon(Napi::Env env, Napi::Object exports) { return cordon::Init(env, exports); }

NODE_API_MODULE(cordon, InitCordon)
