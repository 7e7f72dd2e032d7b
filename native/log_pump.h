// The JS face of host::pump_log: a thread per log file entry of a box.
#pragma once

#include <napi.h>

namespace cordon {

// new LogPump(readFd, fileFd, done(errno, bytes)): takes both fds and pumps
// on a thread of its own (never the libuv pool: a pump lasts as long as its
// box). It does not keep the event loop alive until ref() is called (an
// `exited` waiting for it does); unref() lets go again.
Napi::Function DefineLogPump(Napi::Env env);

}  // namespace cordon
