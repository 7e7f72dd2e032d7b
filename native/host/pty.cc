#include "host/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace cordon::host {

int open_pty(unsigned short cols, unsigned short rows, PtyPair* pair, int* part) {
  *part = 1;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return errno;
  int unlock = 0;
  *part = 2;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) {
    int error = errno;
    close(master);
    return error;
  }
  // The peer of this very master (Linux 4.13): no /dev/pts/N lookup, so a
  // devpts mounted over the path, or a node swapped in, cannot give us
  // another terminal.
  *part = 3;
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int error = errno;
    close(master);
    return error;
  }
  *part = 4;
  int error = resize_pty(master, cols, rows);
  if (error != 0) {
    close(slave);
    close(master);
    return error;
  }
  pair->master = master;
  pair->slave = slave;
  *part = 0;
  return 0;
}

int resize_pty(int master, unsigned short cols, unsigned short rows) {
  struct winsize size {};
  size.ws_col = cols;
  size.ws_row = rows;
  return ioctl(master, TIOCSWINSZ, &size) == 0 ? 0 : errno;
}

unsigned long terminal_settings_size() { return sizeof(struct termios); }

int make_raw(int fd, void* saved, unsigned long size) {
  if (size != sizeof(struct termios)) return EINVAL;
  struct termios settings;
  if (tcgetattr(fd, &settings) != 0) return errno;
  *static_cast<struct termios*>(saved) = settings;
  cfmakeraw(&settings);
  return tcsetattr(fd, TCSANOW, &settings) == 0 ? 0 : errno;
}

int restore_terminal(int fd, const void* saved, unsigned long size) {
  if (size != sizeof(struct termios)) return EINVAL;
  return tcsetattr(fd, TCSANOW, static_cast<const struct termios*>(saved)) == 0 ? 0 : errno;
}

}  // namespace cordon::host
