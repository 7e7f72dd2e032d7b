#include "spawn_async.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
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
// settled on the JS thread. The box's stdio socket pairs are made here too,
// off the JS thread (3 socketpair calls for a default box, 10-20 µs of the
// call's JS-thread time before): each pair slot's fd is a placeholder until
// run() puts the pair's child end there; the child ends are closed once
// the box has its copies, the parent ends handed over with the outcome.
class SpawnJob : public OffThreadJob {
 public:
  SpawnJob(Napi::Env env, const Napi::Buffer<uint8_t>& plan, const Napi::Int32Array& fds, bool timings,
           std::vector<int32_t> pair_slots)
      : plan_(plan.Data(), plan.Data() + plan.Length()),
        fds_(fds.Data(), fds.Data() + fds.ElementLength()),
        timings_(timings),
        pair_slots_(std::move(pair_slots)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void run() override {
    std::vector<int> child_ends;
    for (size_t i = 0; i < pair_slots_.size(); i++) {
      int pair[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        pair_error_ = errno;
        pair_index_ = int(i);
        for (int fd : child_ends) close(fd);
        close_parent_ends();
        return;
      }
      parent_ends_.push_back(pair[0]);
      child_ends.push_back(pair[1]);
      fds_[size_t(pair_slots_[i])] = pair[1];
    }
    outcome_ = spawn(plan_.data(), plan_.size(), fds_.data(), fds_.size(), timings_);
    for (int fd : child_ends) close(fd);  // the box has its copies
    if (!outcome_.ok()) close_parent_ends();
  }

  void settle(Napi::Env env) override {
    if (!outcome_.malformed.empty()) {
      deferred_.Reject(Napi::Error::New(env, "cordon: malformed plan: " + outcome_.malformed).Value());
      return;
    }
    if (pair_error_ != 0) {
      Napi::Object failure = Napi::Object::New(env);
      failure.Set("rung", -1);
      failure.Set("stdioPair", pair_index_);
      failure.Set("errno", -pair_error_);
      deferred_.Resolve(failure);
      return;
    }
    Napi::Object result = OutcomeObject(env, outcome_);
    if (!parent_ends_.empty()) {
      auto ends = Napi::Int32Array::New(env, parent_ends_.size());
      for (size_t i = 0; i < parent_ends_.size(); i++) ends[i] = parent_ends_[i];
      result.Set("parentEnds", ends);
    }
    deferred_.Resolve(result);
    parent_ends_.clear();  // JS's now
  }

  // A box whose env went away before it could be handed over: nobody will
  // watch it, so it is ended here, reaped (cordon started it) and its fds
  // closed (and forgotten by the env, if the hand-over had begun).
  void abandon() override {
    close_parent_ends();
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
  void close_parent_ends() {
    for (int fd : parent_ends_) close(fd);
    parent_ends_.clear();
  }

  std::vector<uint8_t> plan_;
  std::vector<int32_t> fds_;
  bool timings_;
  std::vector<int32_t> pair_slots_;  // slots whose fd is a stdio pair's child end, made in run()
  std::vector<int> parent_ends_;     // by pair, until handed over
  int pair_error_ = 0;               // errno of the socketpair that failed, if one did
  int pair_index_ = -1;
  Napi::Promise::Deferred deferred_;
  SpawnOutcome outcome_;
};

}  // namespace

bool CheckSpawnArguments(const Napi::CallbackInfo& info, const char* name, size_t length) {
  if (length < 2 || length > 3 || !info[0].IsBuffer() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      (length == 3 && !info[2].IsBoolean() && !info[2].IsUndefined())) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + "(plan: Buffer, fds: Int32Array, timings?: boolean)");
  }
  return length == 3 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
}

Napi::Object OutcomeObject(Napi::Env env, const SpawnOutcome& outcome) {
  if (outcome.ok()) {
    // The hand-over: JS owns a started box's fds from here, and until it
    // closes them the env does too (a worker terminated before its Box
    // watches them). First, before any call into the env can throw (one
    // being torn down refuses them): the env's teardown then ends the box.
    // One that outlives it once recorded ends with it until then (releaseBox).
    env_owned::own(env, outcome.pidfd,
                   outcome.dies_with_parent || outcome.awaits_release ? env_owned::Kind::kBoxEndsWithEnv
                                                                      : env_owned::Kind::kBoxOutlivesEnv);
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
  if (outcome.awaits_release) result.Set("awaitsRelease", true);
  return result;
}

Napi::Value SpawnAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // (plan, fds, timings?, pairSlots?: Int32Array)
  size_t given = info.Length();
  if (given == 4 && info[3].IsUndefined()) given = 3;
  bool timings = CheckSpawnArguments(info, "spawnAsync", given == 4 ? 3 : given);
  std::vector<int32_t> pair_slots;
  if (given == 4) {
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "spawnAsync(plan: Buffer, fds: Int32Array, timings?: boolean, pairSlots?: Int32Array)");
    }
    auto fds = info[1].As<Napi::Int32Array>();
    auto slots = info[3].As<Napi::Int32Array>();
    for (size_t i = 0; i < slots.ElementLength(); i++) {
      int32_t slot = slots[i];
      // A pair's slot holds a placeholder (negative) until run() fills it.
      if (slot < 0 || size_t(slot) >= fds.ElementLength() || fds[size_t(slot)] >= 0) {
        throw Napi::RangeError::New(env, "spawnAsync: a pair slot must name a placeholder fd of the plan");
      }
      pair_slots.push_back(slot);
    }
  }
  auto* job = new SpawnJob(env, info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Int32Array>(), timings,
                           std::move(pair_slots));
  Napi::Promise promise = job->promise();
  run_off_thread(env, job, /*setup=*/true);
  return promise;
}

}  // namespace cordon
