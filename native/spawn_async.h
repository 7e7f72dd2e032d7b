// spawnIsolatedAsync's native half: spawn() on set-up threads of cordon's
// own, never on libuv's threadpool. That pool (UV_THREADPOOL_SIZE, 4 by
// default) is the whole process's fs, dns.lookup, zlib and crypto, and a
// box's set-up holds its thread from the clone to the payload's exec: with
// the boxes on it, eight starting at once made a 14 µs fs.stat() wait
// 14 ms (median), and a process whose pool was busy could start no box.
#pragma once

#include <napi.h>

#include "spawn_box.h"

namespace cordon {

// spawnAsync(plan: Buffer, fds: Int32Array, timings?: boolean): a promise of
// spawn()'s outcome (the object OutcomeObject makes). The plan and fds are
// copied. While a spawn of this thread's env is queued or running, the
// env's event loop stays alive; an env torn down meanwhile (a worker thread
// terminated) gets nothing: its box, if one started, is killed and reaped.
Napi::Value SpawnAsync(const Napi::CallbackInfo& info);

// The JS object of a spawn's outcome: { rung, stepEndNs?, pid, pidfd, exitFd }
// or { rung, stepEndNs?, failedStep, errno, detail, killedSignal? }.
Napi::Object OutcomeObject(Napi::Env env, const SpawnOutcome& outcome);

// (plan: Buffer, fds: Int32Array, timings?: boolean) for spawn and
// spawnAsync, throwing a TypeError naming `name` otherwise; returns timings.
bool CheckSpawnArguments(const Napi::CallbackInfo& info, const char* name);

}  // namespace cordon
