// Parent side of socket handoff: listening sockets bound as the caller
// (so a root supervisor can hand a box port 80), passed to the box as fds.
#pragma once

namespace cordon::host {

// A listening TCP socket on host:port (IPv4 or IPv6 literal), close-on-exec.
// Returns the fd or -errno.
int listen_tcp(const char* host, int port, int backlog);

// A listening Unix stream socket at `path` (removed first if it is a
// socket), with `mode`, owned by uid/gid when they are >= 0. Returns the fd
// or -errno.
int listen_unix(const char* path, int mode, int uid, int gid, int backlog);

}  // namespace cordon::host
