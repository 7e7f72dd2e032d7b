// Parent side of a box's pseudo-terminal: the pair is made in the parent,
// from the host's /dev/ptmx, and the slave becomes the box's fds 0-2 (and,
// through a plan step, its controlling terminal). Usable alone: the OCI
// `--console-socket` hands the master of such a pair to its caller.
#pragma once

namespace cordon::host {

struct PtyPair {
  int master = -1;
  int slave = -1;
};

// Opens /dev/ptmx (O_RDWR | O_NOCTTY | O_CLOEXEC), unlocks it and opens its
// slave with TIOCGPTPEER (no path lookup: nothing can swap the node under
// us), both close-on-exec and neither a controlling terminal of the caller;
// sets the window size to cols x rows. Returns 0 or a positive errno; on
// failure nothing stays open. *part says which call failed: 1 open ptmx,
// 2 unlock, 3 TIOCGPTPEER, 4 TIOCSWINSZ.
int open_pty(unsigned short cols, unsigned short rows, PtyPair* pair, int* part);

// TIOCSWINSZ on the master: the kernel sends SIGWINCH to the terminal's
// foreground process group. Returns 0 or a positive errno.
int resize_pty(int master, unsigned short cols, unsigned short rows);

// The CLI's own terminal for `cordon run -t`: `make_raw` saves its settings
// into `saved` (sizeof(struct termios) bytes) and sets cfmakeraw's: no echo,
// no line editing, no signals from ^C/^Z, and no output processing (the
// box's terminal has done that already: ONLCR twice would turn "\n" into
// "\r\r\n", and a full-screen program's bare "\n" into a carriage return).
// `restore_terminal` puts `saved` back. 0 or a positive errno.
int make_raw(int fd, void* saved, unsigned long size);
int restore_terminal(int fd, const void* saved, unsigned long size);
unsigned long terminal_settings_size();

}  // namespace cordon::host
