#include "spawn_async.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "host/process.h"
#include "sys/syscalls.h"

namespace cordon {
namespace {

// As many boxes set up at once as libuv's default pool allowed before: with
// two cores, four set-ups in flight keep both busy (each spends most of its
// time waiting for the child); more only add contention. Shared by every
// env of the process (worker threads too), as the pool was.
constexpr int kSetupThreads = 4;

struct SpawnJob;
void settle(Napi::Env env, Napi::Function unused, std::nullptr_t* context, SpawnJob* job);
// Typed: its callback also runs, with a null env, for an outcome still
// queued when the env is torn down (the untyped one drops it).
using Deliver = Napi::TypedThreadSafeFunction<std::nullptr_t, SpawnJob, settle>;

// One env's (the main thread's or a worker thread's) side: the thread-safe
// function that brings outcomes back to its JS thread, and how many of its
// spawns are in flight (the event loop is kept alive while any is). Node
// frees the thread-safe function when the env is torn down (a worker
// thread terminated), whatever threads still hold it: `closed`, set then by
// its finalizer under `mutex`, keeps the set-up threads from calling it.
struct EnvSpawns {
  std::mutex mutex;     // held by a set-up thread across its call into `deliver`
  bool closed = false;  // the env is gone, and `deliver` with it
  Deliver deliver;
  int in_flight = 0;    // the env's JS thread only
};

struct SpawnJob {
  std::vector<uint8_t> plan;
  std::vector<int32_t> fds;
  bool timings;
  Napi::Promise::Deferred deferred;
  std::shared_ptr<EnvSpawns> env_spawns;
  SpawnOutcome outcome;
};

// A box whose env went away before it could be handed over: nobody will
// watch it, so it is ended here, reaped (cordon started it) and its fds
// closed.
void abandon(const SpawnOutcome& outcome) {
  if (!outcome.ok()) return;
  if (outcome.pidfd >= 0) {
    syscall(__NR_pidfd_send_signal, outcome.pidfd, SIGKILL, nullptr, 0);
    host::wait_child(idtype_t(P_PIDFD), id_t(outcome.pidfd));
    close(outcome.pidfd);
  }
  if (outcome.exit_fd >= 0) close(outcome.exit_fd);
}

// On the env's JS thread: settle the promise. env is null when the env is
// being torn down with this outcome still queued. An env that is being torn
// down (a worker thread terminated) may also refuse the calls below: then
// nobody can take the box either, and it is abandoned. (Before, the error
// thrown there aborted the whole process.)
void settle(Napi::Env env, Napi::Function /*unused*/, std::nullptr_t* /*context*/, SpawnJob* job) {
  if (env == nullptr) {
    abandon(job->outcome);
    delete job;
    return;
  }
  EnvSpawns* spawns = job->env_spawns.get();
  try {
    if (--spawns->in_flight == 0) spawns->deliver.Unref(env);
    if (!job->outcome.malformed.empty()) {
      job->deferred.Reject(Napi::Error::New(env, "cordon: malformed plan: " + job->outcome.malformed).Value());
    } else {
      job->deferred.Resolve(OutcomeObject(env, job->outcome));
    }
  } catch (const Napi::Error&) {
    abandon(job->outcome);
  }
  delete job;
}

// The set-up threads: started as spawns arrive, up to kSetupThreads, and
// kept for the life of the process (never destroyed: a static with a
// destructor would run at exit under threads still using it).
class SetupThreads {
 public:
  void submit(SpawnJob* job) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
    if (idle_ == 0 && started_ < kSetupThreads) {
      started_++;
      start_thread();
    }
    wake_.notify_one();
  }

 private:
  void start_thread() {
    // Every signal blocked in the new thread (it inherits the mask of the
    // thread creating it): process signals stay the JS thread's, as on
    // libuv's pool. A box child resets its mask before its exec.
    host::AllSignalsBlocked blocked;
    std::thread([this] { run(); }).detach();
  }

  void run() {
    for (;;) {
      SpawnJob* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        idle_++;
        wake_.wait(lock, [this] { return !queue_.empty(); });
        idle_--;
        job = queue_.front();
        queue_.pop_front();
      }
      job->outcome = spawn(job->plan.data(), job->plan.size(), job->fds.data(), job->fds.size(), job->timings);
      // Held here: the job may be settled and deleted before the call returns.
      std::shared_ptr<EnvSpawns> spawns = job->env_spawns;
      bool delivered;
      {
        std::lock_guard<std::mutex> lock(spawns->mutex);
        delivered = !spawns->closed && spawns->deliver.NonBlockingCall(job) == napi_ok;
      }
      if (!delivered) {
        // The env is gone or closing: nobody will take the box.
        abandon(job->outcome);
        delete job;
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SpawnJob*> queue_;
  int started_ = 0;
  int idle_ = 0;
};

SetupThreads& setup_threads() {
  static SetupThreads* threads = new SetupThreads();
  return *threads;
}

// This JS thread's env side, made at its first spawnAsync. One env per JS
// thread (the main thread, each worker thread); kept by the thread, the
// finalizer and each job in flight, so a set-up thread can still look at
// `closed` after the env is gone.
const std::shared_ptr<EnvSpawns>& env_spawns(Napi::Env env) {
  thread_local std::shared_ptr<EnvSpawns> spawns;
  if (spawns == nullptr) {
    spawns = std::make_shared<EnvSpawns>();
    auto* held = new std::shared_ptr<EnvSpawns>(spawns);
    spawns->deliver = Deliver::New(env, "cordon spawn", 0, 1, nullptr, [](Napi::Env, std::shared_ptr<EnvSpawns>* gone, std::nullptr_t*) {
      {
        std::lock_guard<std::mutex> lock((*gone)->mutex);
        (*gone)->closed = true;
      }
      delete gone;
    }, held);
    spawns->deliver.Unref(env);
  }
  return spawns;
}

}  // namespace

bool CheckSpawnArguments(const Napi::CallbackInfo& info, const char* name) {
  if (info.Length() < 2 || info.Length() > 3 || !info[0].IsBuffer() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      (info.Length() == 3 && !info[2].IsBoolean() && !info[2].IsUndefined())) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + "(plan: Buffer, fds: Int32Array, timings?: boolean)");
  }
  return info.Length() == 3 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
}

Napi::Object OutcomeObject(Napi::Env env, const SpawnOutcome& outcome) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("rung", outcome.rung);
  if (!outcome.step_end_ns.empty()) {
    auto ends = Napi::BigInt64Array::New(env, outcome.step_end_ns.size());
    for (size_t i = 0; i < outcome.step_end_ns.size(); i++) ends[i] = outcome.step_end_ns[i];
    result.Set("stepEndNs", ends);
  }
  if (!outcome.ok()) {
    result.Set("failedStep", outcome.failed_step);
    result.Set("errno", -outcome.error);  // every export: -errno (the status record carries it positive)
    result.Set("detail", outcome.detail);
    if (outcome.killed_signal != 0) result.Set("killedSignal", outcome.killed_signal);
    return result;
  }
  result.Set("pid", outcome.pid);
  result.Set("pidfd", outcome.pidfd);
  result.Set("exitFd", outcome.exit_fd);
  return result;
}

Napi::Value SpawnAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool timings = CheckSpawnArguments(info, "spawnAsync");
  auto plan = info[0].As<Napi::Buffer<uint8_t>>();
  auto fds = info[1].As<Napi::Int32Array>();
  const std::shared_ptr<EnvSpawns>& spawns = env_spawns(env);
  auto* job = new SpawnJob{std::vector<uint8_t>(plan.Data(), plan.Data() + plan.Length()),
                           std::vector<int32_t>(fds.Data(), fds.Data() + fds.ElementLength()),
                           timings,
                           Napi::Promise::Deferred::New(env),
                           spawns,
                           SpawnOutcome{}};
  Napi::Promise promise = job->deferred.Promise();
  if (spawns->in_flight++ == 0) spawns->deliver.Ref(env);
  setup_threads().submit(job);
  return promise;
}

}  // namespace cordon
