// spawnIsolatedAsync's native half: spawn() on one of cordon's set-up
// threads (off_thread.h: never libuv's threadpool).
#pragma once

#include <napi.h>

#include "spawn_box.h"

namespace cordon {

// spawnAsync(plan: Buffer, fds: Int32Array, timings?: boolean, pairSlots?:
// Int32Array): a promise of spawn()'s outcome (the object OutcomeObject
// makes, with parentEnds: the stdio socket pairs' parent ends, one per
// pair slot, made on the set-up thread; or { rung: -1, stdioPair, errno }
// when one could not be made). The plan and fds are copied. While a spawn of this thread's env is queued or running, the
// env's event loop stays alive; an env torn down meanwhile (a worker thread
// terminated) gets nothing: its box, if one started, is killed and reaped.
Napi::Value SpawnAsync(const Napi::CallbackInfo& info);

// The JS object of a spawn's outcome: { rung, stepEndNs?, pid, pidfd, exitFd }
// or { rung, stepEndNs?, failedStep, errno, detail, killedSignal? }. A
// started box's fds become the env's (env_owned.h) as they are handed over.
Napi::Object OutcomeObject(Napi::Env env, const SpawnOutcome& outcome);

// (plan: Buffer, fds: Int32Array, timings?: boolean) for spawn and
// spawnAsync (its first `length` arguments), throwing a TypeError naming
// `name` otherwise; returns timings.
bool CheckSpawnArguments(const Napi::CallbackInfo& info, const char* name, size_t length);

}  // namespace cordon
