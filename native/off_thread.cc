#include "off_thread.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "host/process.h"

namespace cordon {

struct OffThreadAccess {
  static std::shared_ptr<EnvSide>& side(OffThreadJob* job) { return job->side_; }
};

namespace {

// As many boxes set up at once as libuv's default pool allowed before: with
// two cores, four set-ups in flight keep both busy (each spends most of its
// time waiting for its child); more only add contention. Shared by every
// env of the process (worker threads too), as the pool was.
constexpr int kSetupThreads = 4;

void settle_on_js_thread(Napi::Env env, Napi::Function unused, std::nullptr_t* context, OffThreadJob* job);
// Typed: its callback also runs, with a null env, for a job still queued
// when the env is torn down (the untyped one drops it).
using Deliver = Napi::TypedThreadSafeFunction<std::nullptr_t, OffThreadJob, settle_on_js_thread>;

}  // namespace

// One env's (the main thread's or a worker thread's) side: the thread-safe
// function that brings finished jobs back to its JS thread, and how many
// of its jobs are in flight (its event loop is kept alive while any is).
// Node frees the thread-safe function when the env is torn down, whatever
// threads still hold it: `closed`, set then by its finalizer under
// `mutex`, keeps cordon's threads from calling it.
struct EnvSide {
  std::mutex mutex;     // held by a thread of cordon's across its call into `deliver`
  bool closed = false;  // the env is gone, and `deliver` with it
  Deliver deliver;
  int in_flight = 0;    // the env's JS thread only
};

namespace {

void settle_on_js_thread(Napi::Env env, Napi::Function /*unused*/, std::nullptr_t* /*context*/, OffThreadJob* job) {
  if (env == nullptr) {
    job->abandon();
    delete job;
    return;
  }
  EnvSide* side = OffThreadAccess::side(job).get();
  try {
    if (--side->in_flight == 0) side->deliver.Unref(env);
    job->settle(env);
  } catch (const Napi::Error&) {
    // The env is being torn down (before, this error aborted the process).
    job->abandon();
  }
  delete job;
}

// On the thread that ran the job.
void deliver(OffThreadJob* job) {
  // Held here: the job may be settled and deleted before the call returns.
  std::shared_ptr<EnvSide> side = OffThreadAccess::side(job);
  bool delivered;
  {
    std::lock_guard<std::mutex> lock(side->mutex);
    delivered = !side->closed && side->deliver.NonBlockingCall(job) == napi_ok;
  }
  if (!delivered) {
    job->abandon();
    delete job;
  }
}

// Every signal blocked in a new thread (it inherits the mask of the thread
// creating it): process signals stay the JS thread's, as on libuv's pool.
// A box child sets its own mask before its exec.
template <typename Body>
void start_thread(Body body) {
  host::AllSignalsBlocked blocked;
  std::thread(std::move(body)).detach();
}

// The set-up threads: started as jobs arrive, up to kSetupThreads, and kept
// for the life of the process (never destroyed: a static with a destructor
// would run at exit under threads still using it).
class SetupThreads {
 public:
  void submit(OffThreadJob* job) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
    if (idle_ == 0 && started_ < kSetupThreads) {
      started_++;
      start_thread([this] { loop(); });
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      OffThreadJob* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        idle_++;
        wake_.wait(lock, [this] { return !queue_.empty(); });
        idle_--;
        job = queue_.front();
        queue_.pop_front();
      }
      job->run();
      deliver(job);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<OffThreadJob*> queue_;
  int started_ = 0;
  int idle_ = 0;
};

SetupThreads& setup_threads() {
  static SetupThreads* threads = new SetupThreads();
  return *threads;
}

// This JS thread's env side, made at its first job. One env per JS thread
// (the main thread, each worker thread); kept by the thread, the
// finalizer and each job in flight, so a thread of cordon's can still look
// at `closed` after the env is gone.
const std::shared_ptr<EnvSide>& env_side(Napi::Env env) {
  thread_local std::shared_ptr<EnvSide> side;
  if (side == nullptr) {
    side = std::make_shared<EnvSide>();
    auto* held = new std::shared_ptr<EnvSide>(side);
    side->deliver = Deliver::New(env, "cordon", 0, 1, nullptr, [](Napi::Env, std::shared_ptr<EnvSide>* gone, std::nullptr_t*) {
      {
        std::lock_guard<std::mutex> lock((*gone)->mutex);
        (*gone)->closed = true;
      }
      delete gone;
    }, held);
    side->deliver.Unref(env);
  }
  return side;
}

}  // namespace

void run_off_thread(Napi::Env env, OffThreadJob* job, bool setup) {
  const std::shared_ptr<EnvSide>& side = env_side(env);
  OffThreadAccess::side(job) = side;
  if (side->in_flight++ == 0) side->deliver.Ref(env);
  if (setup) {
    setup_threads().submit(job);
  } else {
    start_thread([job] {
      job->run();
      deliver(job);
    });
  }
}

}  // namespace cordon
