// The freestanding runtime: what both programs that run on a box's side of
// the wall need, written once. cordon's child (native/child/, between clone
// and execve, in Node's memory) and cordon's init (native/init/, a static
// program with no libc) link it; so it calls nothing but raw system calls
// (sys/syscalls.h), allocates nothing, touches no libc state and needs no
// stack protector, TLS or start-up code. test/native/child-symbols.test.js
// checks it symbol by symbol.
#pragma once

#include <stdint.h>

#include "plan_abi.h"

namespace cordon::runtime {

// status.cc: the status pipe (one StatusRecord, plan_abi.h, per failure).

// Blocks until all of `len` bytes are written, retrying on EINTR. Returns 0
// or a negative errno.
long write_all(int fd, const void* buf, unsigned long len);

// Reads one byte, retrying on EINTR: 1, 0 at EOF, or a negative errno.
long read_byte(int fd, char* byte);

[[noreturn]] void exit_now(int code);

// Writes one StatusRecord (an atomic write under PIPE_BUF) for plan step
// `step` and exits with 127.
[[noreturn]] void report(int status_fd, int32_t step, abi::Op op, int error, int detail = 0);

// exec.cc: the payload's exec.

// Tries the first `count` candidate paths (fewer if a nullptr ends them) in
// order, the way execvp does (the PATH search was done in TypeScript).
// Returns the errno to report (ENOENT unless some candidate existed but
// could not run) and the index of the candidate that decided it.
int exec_candidates(const char* const* candidates, int count, const char* const* argv, const char* const* envp,
                    int* detail);

// Socket activation: LISTEN_PID is the payload's own pid, known only in its
// process. lib/ reserves "LISTEN_PID=" plus ten digits; the digits are
// written over them in place.
void patch_listen_pid(const char* const* envp);

// text.cc

// Writes `value` in decimal and a NUL into `out`, which has `room` bytes
// (fds in the helper's argv, /proc/self/fd paths, LISTEN_PID). Returns the
// number of digits, or -1 with nothing written when they do not fit.
int format_decimal(unsigned long value, char* out, unsigned long room);

// fd_passing.cc: one message with fds (SCM_RIGHTS), between cordon's child
// and a cgroup-namespace helper (the init binary).

// At most this many fds in one message: a user namespace and the late joins.
constexpr int kMaxPassedFds = 1 + int(abi::kMaxLateJoins);

// Sends `length` bytes of `body` and `count` fds as one message (no SIGPIPE;
// EINTR retried). Returns the bytes sent or a negative errno.
long send_with_fds(int socket, const void* body, unsigned long length, const int* fds, int count);

// Receives one message into `body` and its fds (close-on-exec) into `fds`,
// `*count` of them. More than `max`, or a control message cut short:
// -EPROTO, with the ones that came closed. Returns the bytes received (0 at
// EOF) or a negative errno.
long receive_with_fds(int socket, void* body, unsigned long length, int* fds, int max, int* count);

// signals.cc. Masks are the kernel's 64-bit sigset.

// Sets every signal's disposition to the default: CLONE_CLEAR_SIGHAND
// resets handled signals but keeps ignored ones, and Node ignores SIGPIPE
// and SIGXFSZ.
void reset_signal_dispositions();
// Sets the blocked mask; `old`, when given, receives the one before.
void set_signal_mask(uint64_t mask, uint64_t* old = nullptr);
constexpr uint64_t kAllSignals = ~uint64_t(0);

// seccomp.cc

// Installs a classic-BPF program of `instructions` sock_filter entries.
// Returns 0 or an errno.
int install_seccomp(const void* program, uint64_t instructions);

}  // namespace cordon::runtime
