// Parent side of stdio that is not a socket pair: log files opened
// append-only for a box, and real pipes the box can reopen as /dev/stderr.
#pragma once

namespace cordon::host {

// Which part of open_log_file() failed, for the error's syscall.
enum class LogPart : int {
  kDir = 1,      // openat2 of the directory, without following symlinks
  kOpen = 2,     // openat of the file (O_NOFOLLOW)
  kStat = 3,     // fstat
  kNotFile = 4,  // not a regular file
  kOwner = 5,    // fchmod/fchown of a file cordon made
  kFlags = 6,    // fcntl(F_SETFL)
};

struct LogOutcome {
  int fd;     // the file, or -errno
  int part;   // LogPart when fd < 0
  bool made;  // cordon created it
};

// Opens `path` (absolute; its directory must exist) for appending
// (O_WRONLY|O_APPEND, close-on-exec, blocking) with its directory resolved
// without following symlinks and the file itself not followed either. A
// file it creates gets `mode` exactly (not masked by the umask) and, when
// uid/gid >= 0, that owner and group, through its fd. An existing file is appended to
// as it is (its owner and mode unchanged); it must be a regular file.
LogOutcome open_log_file(const char* path, int mode, int uid, int gid);

// pipe2(O_CLOEXEC) whose inode is given to uid:gid (when >= 0) so that the
// box's user may reopen its end through /proc/self/fd (what /dev/stderr
// is). 0 and fds[0] (read), fds[1] (write), or -errno.
int make_pipe(int uid, int gid, int fds[2]);

// The host side of a log file entry: the box writes to a pipe, and this
// appends what it reads to the file (opened O_APPEND by open_log_file), so
// the payload never holds the file and cannot truncate, rewrite or seek
// it. Blocks until every write end is closed (EOF), then closes both fds.
// A failed write (ENOSPC, EIO) stops the appending but not the reading: the
// box never blocks on a full pipe. Returns 0 or the first errno; *bytes is
// what reached the file.
int pump_log(int read_fd, int file_fd, unsigned long long* bytes);

}  // namespace cordon::host
