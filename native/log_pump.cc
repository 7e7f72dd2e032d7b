#include "log_pump.h"

#include <memory>
#include <thread>

#include "host/logs.h"

namespace cordon {
namespace {

struct PumpResult {
  int error;
  unsigned long long bytes;
};

// Set on the JS thread, in the completion callback, which runs before the
// thread-safe function is finalized: ref()/unref() after it do nothing.
struct PumpState {
  bool finished = false;
};

class LogPumpWrap : public Napi::ObjectWrap<LogPumpWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LogPump", {InstanceMethod("ref", &LogPumpWrap::Ref), InstanceMethod("unref", &LogPumpWrap::Unref)});
  }

  explicit LogPumpWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LogPumpWrap>(info), state_(std::make_shared<PumpState>()) {
    Napi::Env env = info.Env();
    int read_fd = info[0].As<Napi::Number>().Int32Value();
    int file_fd = info[1].As<Napi::Number>().Int32Value();
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "cordon log pump", 0, 1);
    tsfn_.Unref(env);
    std::shared_ptr<PumpState> state = state_;
    Napi::ThreadSafeFunction tsfn = tsfn_;
    std::thread([read_fd, file_fd, tsfn, state]() mutable {
      auto* result = new PumpResult{0, 0};
      result->error = host::pump_log(read_fd, file_fd, &result->bytes);
      napi_status status = tsfn.BlockingCall(result, [state](Napi::Env env, Napi::Function done, PumpResult* outcome) {
        state->finished = true;
        if (env != nullptr && done != nullptr) done.Call({Napi::Number::New(env, -outcome->error), Napi::Number::New(env, double(outcome->bytes))});
        delete outcome;
      });
      if (status != napi_ok) delete result;
      tsfn.Release();
    }).detach();
  }

 private:
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (!state_->finished) tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (!state_->finished) tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  }

  std::shared_ptr<PumpState> state_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace

Napi::Function DefineLogPump(Napi::Env env) { return LogPumpWrap::Define(env); }

}  // namespace cordon
