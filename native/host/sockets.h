// Parent side of socket handoff: listening sockets bound as the caller
// (so a root supervisor can hand a box port 80), passed to the box as fds.
#pragma once

namespace cordon::host {

// A listening TCP socket on host:port (IPv4 or IPv6 literal), close-on-exec.
// Returns the fd or -errno.
int listen_tcp(const char* host, int port, int backlog);

// A listening Unix stream socket named `name` in the directory open as
// `dir_fd` (see host/paths.h: opened without following symlinks), bound
// through /proc/self/fd/N/name so no path is resolved again; a stale socket
// there is replaced, anything else is not. Its mode and owner (uid/gid when
// >= 0) are set through an O_PATH|O_NOFOLLOW fd of the file it made, after
// checking that file is a socket of ours. Returns the fd or -errno.
int listen_unix_at(int dir_fd, const char* name, int mode, int uid, int gid, int backlog);

}  // namespace cordon::host
