#include "spawn_async.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "env_owned.h"
#include "host/process.h"
#include "off_thread.h"
#include "sys/syscalls.h"

namespace cordon {
namespace {

// One spawnIsolatedAsync() box: spawn() on a set-up thread, its promise
// settled on the JS thread.
class SpawnJob : public OffThreadJob {
 public:
  SpawnJob(Napi::Env env, const Napi::Buffer<uint8_t>& plan, const Napi::Int32Array& fds, bool timings)
      : plan_(plan.Data(), plan.Data() + plan.Length()),
        fds_(fds.Data(), fds.Data() + fds.ElementLength()),
        timings_(timings),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void run() override { outcome_ = spawn(plan_.data(), plan_.size(), fds_.data(), fds_.size(), timings_); }

  void settle(Napi::Env env) override {
    if (!outcome_.malformed.empty()) {
      deferred_.Reject(Napi::Error::New(env, "cordon: malformed plan: " + outcome_.malformed).Value());
    } else {
      deferred_.Resolve(OutcomeObject(env, outcome_));
    }
  }

  // A box whose env went away before it could be handed over: nobody will
  // watch it, so it is ended here, reaped (cordon started it) and its fds
  // closed (and forgotten by the env, if the hand-over had begun).
  void abandon() override {
    if (!outcome_.ok()) return;
    env_owned::forget(outcome_.pidfd);
    env_owned::forget(outcome_.exit_fd);
    if (outcome_.pidfd >= 0) {
      syscall(__NR_pidfd_send_signal, outcome_.pidfd, SIGKILL, nullptr, 0);
      host::reap_pidfd(outcome_.pidfd);
      close(outcome_.pidfd);
    }
    if (outcome_.exit_fd >= 0) close(outcome_.exit_fd);
  }

 private:
  std::vector<uint8_t> plan_;
  std::vector<int32_t> fds_;
  bool timings_;
  Napi::Promise::Deferred deferred_;
  SpawnOutcome outcome_;
};

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
  if (outcome.ok()) {
    // The hand-over: JS owns a started box's fds from here, and until it
    // closes them the env does too (a worker terminated before its Box
    // watches them). First, before any call into the env can throw (one
    // being torn down refuses them): the env's teardown then ends the box.
    env_owned::own(env, outcome.pidfd,
                   outcome.dies_with_parent ? env_owned::Kind::kBoxEndsWithEnv : env_owned::Kind::kBoxOutlivesEnv);
    env_owned::own(env, outcome.exit_fd, env_owned::Kind::kFd);
  }
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
  auto* job = new SpawnJob(env, info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Int32Array>(), timings);
  Napi::Promise promise = job->promise();
  run_off_thread(env, job, /*setup=*/true);
  return promise;
}

}  // namespace cordon
