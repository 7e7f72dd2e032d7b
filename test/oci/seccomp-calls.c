/*
 * seccomp-calls: makes the calls whose arguments podman's default seccomp
 * profile filters, with raw 64-bit register values, and prints one line per
 * call: "NAME ok" or "NAME err ERRNO". Built static by test/oci/seccomp.test.js
 * so it runs in a busybox rootfs; the same lines under crun (libseccomp) and
 * under cordon mean the same decisions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void call(const char *name, long nr, unsigned long a0, unsigned long a1, unsigned long a2) {
  errno = 0;
  long r = syscall(nr, a0, a1, a2, 0UL, 0UL, 0UL);
  if (r < 0) printf("%s err %d\n", name, errno);
  else printf("%s ok\n", name);
  /* a socket made is closed: only the decision matters */
  if (r >= 0 && nr == SYS_socket) close((int)r);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* personality: the profile allows 0, 8, 0x20000, 0x20008 and 0xffffffff (a query) */
  call("personality-query", SYS_personality, 0xffffffffUL, 0, 0);
  call("personality-query-high-word", SYS_personality, 0x1ffffffffUL, 0, 0);
  call("personality-0x10000", SYS_personality, 0x10000UL, 0, 0);
  call("personality-8-high-word", SYS_personality, 0x100000008UL, 0, 0);
  call("personality-linux", SYS_personality, 0, 0, 0);
  /* socket: AF_NETLINK with NETLINK_AUDIT refused (EINVAL) without CAP_AUDIT_WRITE */
  call("socket-netlink-audit", SYS_socket, 16, 3, 9);
  call("socket-netlink-route", SYS_socket, 16, 3, 0);
  call("socket-inet", SYS_socket, 2, 2, 0);
  call("socket-unix-protocol-9", SYS_socket, 1, 1, 9);
  call("socket-netlink-audit-high-word", SYS_socket, 16, 3, 0x100000009UL);
  /* podman lists setns as allowed and, without CAP_SYS_ADMIN, refused: the first rule wins in libseccomp */
  call("setns", SYS_setns, ~0UL, 0, 0);
  /* unlisted in the profile: its default errno */
  call("bpf", SYS_bpf, ~0UL, 0, 0);
  return 0;
}
