// Child half of namespaces: joining existing ones, the UTS name, loopback.
// New namespaces are made by the clone flags themselves (see clone.cc).
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "child/mechanisms.h"
#include "sys/syscalls.h"

namespace cordon::child {

static int as_errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }

int join_namespace(int ns_fd, int nstype) { return as_errno(sys::sc(__NR_setns, ns_fd, nstype)); }

int unshare_namespaces(long flags) { return as_errno(sys::sc(__NR_unshare, flags)); }

int set_hostname(const char* name) {
  unsigned long len = 0;
  while (name[len] != '\0') len++;
  return as_errno(sys::sc(__NR_sethostname, name, len));
}

int loopback_up() {
  // Called on a fresh network namespace only, where lo's flags are the
  // kernel's default (IFF_LOOPBACK, none of the flags SIOCSIFFLAGS may
  // change): setting IFF_UP alone, without reading the flags first, changes
  // exactly what `ip link set lo up` changes. One ioctl; an rtnetlink
  // message would need a send and a receive for its acknowledgement.
  long sock = sys::sc(__NR_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return as_errno(sock);
  struct ifreq req;
  for (unsigned i = 0; i < sizeof req; i++) reinterpret_cast<char*>(&req)[i] = 0;
  req.ifr_name[0] = 'l';
  req.ifr_name[1] = 'o';
  req.ifr_flags = static_cast<short>(IFF_UP | IFF_LOOPBACK);
  long r = sys::sc(__NR_ioctl, sock, SIOCSIFFLAGS, &req);
  sys::sc(__NR_close, sock);
  return as_errno(r);
}

}  // namespace cordon::child
