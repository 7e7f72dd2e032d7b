// Native work that must not hold the JS thread, run on threads of cordon's
// own and never on libuv's threadpool: that pool (UV_THREADPOOL_SIZE, 4 by
// default) is the whole process's fs, dns.lookup, zlib and crypto, and
// cordon's jobs hold a thread for milliseconds (a box's set-up from its
// clone to its exec, a batch of pooled namespaces). On the pool, eight
// boxes starting at once made a 14 µs fs.stat() wait 14 ms (median), and a
// process whose pool was busy could start no box.
#pragma once

#include <napi.h>

#include <memory>

namespace cordon {

struct EnvSide;

// One job: run() on a thread of cordon's own, then settle() on the JS
// thread of the env that queued it. While a job is in flight its env's
// event loop stays alive. If the env is torn down first (a worker thread
// terminated), abandon() is called instead of settle(), on either thread:
// it releases whatever run() made (nobody will take it).
class OffThreadJob {
 public:
  virtual ~OffThreadJob() = default;
  virtual void run() = 0;
  // May throw Napi::Error (an env being torn down refuses calls): the job
  // is then abandoned.
  virtual void settle(Napi::Env env) = 0;
  virtual void abandon() = 0;

 private:
  // Set and read by off_thread.cc alone (the env that queued the job).
  friend struct OffThreadAccess;
  std::shared_ptr<EnvSide> side_;
};

// Queues `job` (owned from here on) from its env's JS thread. setup: on one
// of the four set-up threads (box set-ups: as many at once as keep two cores
// busy); otherwise on a thread of its own (slow maintenance, such as a
// namespace pool's refill, that must not delay a box's set-up).
void run_off_thread(Napi::Env env, OffThreadJob* job, bool setup);

}  // namespace cordon
