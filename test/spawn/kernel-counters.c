// Takes as much of one per-user kernel counter as it is given, for
// test/spawn/kernel-counters.test.js: `kernel-counters WHAT MAX [hold]`
// makes up to MAX of WHAT, prints "COUNT ERRNO" (ERRNO 0 when MAX was
// reached, else the errno of the first refusal), and with `hold` keeps them
// until its stdin closes. Runs in a box and on the host alike.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int made;

// A child that does `what` and waits on `hold` until the parent ends, so
// what it made (a user namespace, itself) lives as long as the parent holds.
static int fork_holder(int hold_read, int hold_write, int do_unshare) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return errno;
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close(report[0]);
    close(report[1]);
    return error;
  }
  if (pid == 0) {
    close(hold_write);
    int error = 0;
    if (do_unshare && unshare(CLONE_NEWUSER) != 0) error = errno;
    if (write(report[1], &error, sizeof error) != sizeof error) _exit(1);
    if (error != 0) _exit(0);
    char byte;
    while (read(hold_read, &byte, 1) > 0) {}
    _exit(0);
  }
  close(report[1]);
  int error = EIO;
  if (read(report[0], &error, sizeof error) != sizeof error) error = EIO;
  close(report[0]);
  if (error != 0) waitpid(pid, NULL, 0);
  return error;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s WHAT MAX [hold]\n", argv[0]);
    return 2;
  }
  const char *what = argv[1];
  int max = atoi(argv[2]);
  int hold = argc > 3 && strcmp(argv[3], "hold") == 0;
  int error = 0;
  // Children hold until this pipe's write end closes (when this process ends).
  int holders[2];
  if (pipe2(holders, 0) != 0) return 3;
  fcntl(holders[1], F_SETFD, FD_CLOEXEC);

  if (strcmp(what, "inotify-instances") == 0) {
    for (; made < max; made++) {
      if (inotify_init1(IN_CLOEXEC) < 0) { error = errno; break; }
    }
  } else if (strcmp(what, "inotify-watches") == 0) {
    // One instance, a watch on each of MAX files of a fresh directory.
    char dir[] = "/tmp/kernel-counters-XXXXXX";
    if (mkdtemp(dir) == NULL) { perror("mkdtemp"); return 3; }
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0) {
      error = errno;
    } else {
      for (; made < max; made++) {
        char file[64];
        snprintf(file, sizeof file, "%s/%d", dir, made);
        int f = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (f < 0) { perror("open"); return 3; }
        close(f);
        if (inotify_add_watch(fd, file, IN_MODIFY) < 0) { error = errno; break; }
      }
    }
    for (int i = 0; i <= made && i < max; i++) {
      char file[64];
      snprintf(file, sizeof file, "%s/%d", dir, i);
      unlink(file);
    }
    rmdir(dir);
  } else if (strcmp(what, "fanotify-groups") == 0) {
    for (; made < max; made++) {
      if (fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC, O_RDONLY) < 0) { error = errno; break; }
    }
  } else if (strcmp(what, "user-namespaces") == 0) {
    for (; made < max; made++) {
      if ((error = fork_holder(holders[0], holders[1], 1)) != 0) break;
    }
  } else if (strcmp(what, "processes") == 0) {
    for (; made < max; made++) {
      if ((error = fork_holder(holders[0], holders[1], 0)) != 0) break;
    }
  } else if (strcmp(what, "mqueue-bytes") == 0) {
    // Queues of ten 8 KiB messages (the default msg_max and msgsize_max of
    // an ipc namespace: about 80 KiB charged each), unlinked at once: the
    // charge stays while the descriptor is open, and nothing is left behind.
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = 8192 };
    for (; made < max; made++) {
      char name[64];
      snprintf(name, sizeof name, "/kernel-counters-%d-%d", (int)getpid(), made);
      mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
      if (q == (mqd_t)-1) { error = errno; break; }
      mq_unlink(name);
    }
  } else if (strcmp(what, "pending-signals") == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    union sigval value = { .sival_int = 0 };
    for (; made < max; made++) {
      if (sigqueue(getpid(), SIGRTMIN, value) != 0) { error = errno; break; }
    }
  } else {
    fprintf(stderr, "unknown counter %s\n", what);
    return 2;
  }
  printf("%d %d\n", made, error);
  fflush(stdout);
  if (hold) {
    char buffer[64];
    while (read(0, buffer, sizeof buffer) > 0) {}
  }
  return 0;
}
