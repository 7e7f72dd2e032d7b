#include "host/process.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

namespace cordon::host {

AllSignalsBlocked::AllSignalsBlocked() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old_);
}

AllSignalsBlocked::~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

int wait_child(idtype_t type, id_t id, siginfo_t* info, int options) {
  siginfo_t ignored{};
  siginfo_t* out = info != nullptr ? info : &ignored;
  int r;
  do r = waitid(type, id, out, options);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int reap_pidfd(int pidfd) {
  int flags = fcntl(pidfd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0) fcntl(pidfd, F_SETFL, flags & ~O_NONBLOCK);
  return wait_child(idtype_t(P_PIDFD), id_t(pidfd));
}

}  // namespace cordon::host
