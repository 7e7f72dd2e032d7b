// Parent side of socket handoff: listening sockets bound as the caller
// (so a root supervisor can hand a box port 80), passed to the box as fds.
#pragma once

namespace cordon::host {

// Whether a listening socket still accepts connections: 1 yes, 0 no (a
// process holding a copy shut it down: TCP then stops listening, a Unix
// socket refuses connections), or -errno.
int listener_state(int fd);

// listen() again (a TCP socket a box shut down is still bound). 0 or -errno.
int relisten(int fd, int backlog);

// A listening TCP socket on host:port (IPv4 or IPv6 literal), close-on-exec.
// Returns the fd or -errno.
int listen_tcp(const char* host, int port, int backlog);

// Which file a socket was bound to: it is removed only while it is still that one.
struct FileId {
  unsigned long long dev = 0;
  unsigned long long ino = 0;
};

// A listening Unix stream socket named `name` in the directory open as
// `dir_fd` (see host/paths.h: opened without following symlinks), bound
// through /proc/self/fd/N/name so no path is resolved again; a stale socket
// there (nothing listens on it) is replaced, a live one fails with
// EADDRINUSE, anything else with EEXIST. Its mode and owner (uid/gid when
// >= 0) are set through an O_PATH|O_NOFOLLOW fd of the file it made, after
// checking that file is a socket of ours; `made` gets that file's identity.
// Returns the fd or -errno.
int listen_unix_at(int dir_fd, const char* name, int mode, int uid, int gid, int backlog, FileId* made);

// Removes the socket file `name` in `dir_fd` if it is still the one `made`
// (another supervisor may have bound the path since it was removed): 0 when
// removed or already gone, -ESTALE when another file has the name, or -errno.
int unlink_socket_at(int dir_fd, const char* name, FileId made);

}  // namespace cordon::host
