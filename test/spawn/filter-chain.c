/*
 * filter-chain: fills this process's seccomp filter chain until the kernel
 * takes no further filter at all (ENOMEM: MAX_INSNS_PER_PATH), then execs
 * the given program, which inherits the full chain: any filter it (or a
 * process it starts) installs fails with ENOMEM. Every filter allows
 * everything. Built by init-seal.test.js with cc.
 *
 *   filter-chain PROGRAM [ARG...]
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_FILTER 4096

static struct sock_filter program[MAX_FILTER];

static int install(int length) {
  for (int i = 0; i < length - 1; i++) program[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
  program[length - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {(unsigned short)length, program};
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0 ? 0 : errno;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return perror("no_new_privs"), 3;
  int length = MAX_FILTER;
  for (;;) {
    int error = install(length);
    if (error == 0) continue;
    if (error != ENOMEM) return fprintf(stderr, "seccomp: errno %d\n", error), 3;
    if (length == 1) break;
    length /= 2;
  }
  execv(argv[1], argv + 1);
  perror("execv");
  return 127;
}
