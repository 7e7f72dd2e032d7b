/*
 * spawn-helper: the floor of the benchmark. A small, long-lived C process
 * that starts payloads with fork+execve or posix_spawn (vfork-style: glibc
 * uses clone(CLONE_VM|CLONE_VFORK)) and reports how long each took, from
 * just before the fork to just after waitpid() returned. Node sends it
 * commands over a pipe and never times anything itself, so Node's own cost
 * is excluded. The peer tools (bwrap, crun, ...) are started the same way.
 *
 * Built by the bench (benchmarks/lib/build.js) with `cc -O2`; not part of
 * the addon. One command per line on stdin, one reply line on stdout:
 *
 *   def ID ARGC            then ARGC lines, one argument each -> ok
 *                          An argument may contain {n}, replaced on every
 *                          spawn by a counter unique in this helper
 *                          (crun needs a fresh container id per run).
 *   run ID MODE N          N spawns one after another -> ns T1 T2 ... TN
 *   tput ID MODE C MINN MINMS
 *                          keep C spawns in flight until at least MINN have
 *                          finished and MINMS milliseconds have passed
 *                          -> tput COUNT ELAPSED_NS FAILURES FIRST_FAILED_STATUS
 *   probe ID MODE          one spawn with stdout+stderr captured
 *                          -> probe STATUS HEX_OUTPUT
 *   unshare-mounts         a private mount namespace for this helper -> ok
 *   umount PATH            lazily unmount PATH in it -> ok
 *   bind SRC DST           bind-mount SRC on DST in it -> ok
 *   quit
 *
 *   cgroup-make            a cgroup v2 directory for mode floor-cgroup, under
 *                          this helper's own v2 cgroup, removed at quit -> ok
 *
 * MODE is fork, vfork, floor, stage, floor-cgroup (the floor cloned into
 * the cgroup-make directory with CLONE_INTO_CGROUP) or floor-init (the
 * floor whose pid 1 execs the static tiny-init next to this program
 * instead of forking the payload itself) or floor-guarded (floor-init plus
 * the kernel's part of cordon's guarantees: the per-user limits and the
 * seccomp filters, cordon's default payload filter read from
 * payload-filter.bpf next to this program) or floor-net-host (the floor in the
 * host's network namespace). floor and stage run the payload in
 * the C isolation floor (isolation-floor.c): floor clones the box from this
 * process, stage execs the static isolation-stage program next to this
 * helper in the box's namespaces and sets up there. Payloads get /dev/null as fds 0-2 and an
 * environment of only PATH, as cordon's boxes do with stdio 'ignore'.
 * Any failure replies `err MESSAGE`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "isolation-floor.c"

#define MAX_CMDS 64
#define MAX_ARGS 64
#define MAX_RUN 100000
#define ARG_BYTES 4096

struct command {
  int used;
  int argc;
  int templated; /* some argument contains {n} */
  char *args[MAX_ARGS + 1];
};

static struct command commands[MAX_CMDS];
static char *const envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
static int devnull = -1;
static unsigned long counter = 0;
static uint64_t samples[MAX_RUN];
static char stage_path[4096];
static char init_path[4096];
static char filter_path[4096];
static int cgroup_fd = -1;
static char cgroup_dir[4096];

/* A spawn's argv: the template's, or a copy with {n} filled in. */
struct argv_buf {
  char *argv[MAX_ARGS + 1];
  char bytes[MAX_ARGS][ARG_BYTES];
};
static struct argv_buf scratch;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

static char *const *argv_for(struct command *c) {
  if (!c->templated) return c->args;
  unsigned long n = ++counter;
  for (int i = 0; i < c->argc; i++) {
    const char *src = c->args[i];
    char *dst = scratch.bytes[i];
    size_t o = 0;
    while (*src && o < ARG_BYTES - 24) {
      if (strncmp(src, "{n}", 3) == 0) {
        o += (size_t)snprintf(dst + o, ARG_BYTES - o, "%lu", n);
        src += 3;
      } else {
        dst[o++] = *src++;
      }
    }
    dst[o] = '\0';
    scratch.argv[i] = dst;
  }
  scratch.argv[c->argc] = NULL;
  return scratch.argv;
}

/* Starts one payload; returns its pid or -errno. out_fd >= 0 captures stdout+stderr. */
static pid_t start(char *const *argv, int vfork_mode, int out_fd) {
  int out = out_fd >= 0 ? out_fd : devnull;
  if (vfork_mode == 2) return floor_start(argv, envp, devnull);
  if (vfork_mode == 7) {
    floor_net_host = 1;
    pid_t pid = floor_start(argv, envp, devnull);
    floor_net_host = 0;
    return pid;
  }
  if (vfork_mode == 3) return stage_start(stage_path, argv, envp, devnull);
  if (vfork_mode == 4) return cgroup_fd < 0 ? -EBADF : floor_start_in_cgroup(argv, envp, devnull, cgroup_fd);
  if (vfork_mode == 5 || vfork_mode == 6) {
    floor_init = init_path;
    floor_filter = vfork_mode == 6 ? filter_path : NULL;
    pid_t pid = floor_start(argv, envp, devnull);
    floor_init = NULL;
    floor_filter = NULL;
    return pid;
  }
  if (vfork_mode) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, out, 2);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    return r == 0 ? pid : -r;
  }
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) {
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    execve(argv[0], argv, envp);
    _exit(127);
  }
  return pid;
}

static int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

static struct command *lookup(const char *id_text) {
  int id = atoi(id_text);
  if (id < 0 || id >= MAX_CMDS || !commands[id].used) return NULL;
  return &commands[id];
}

static int parse_mode(const char *mode) {
  if (strcmp(mode, "fork") == 0) return 0;
  if (strcmp(mode, "vfork") == 0) return 1;
  if (strcmp(mode, "floor") == 0) return 2;
  if (strcmp(mode, "stage") == 0) return 3;
  if (strcmp(mode, "floor-cgroup") == 0) return 4;
  if (strcmp(mode, "floor-init") == 0) return 5;
  if (strcmp(mode, "floor-guarded") == 0) return 6;
  if (strcmp(mode, "floor-net-host") == 0) return 7;
  return -1;
}

static void cmd_def(char *id_text, char *argc_text) {
  int id = atoi(id_text);
  int argc = atoi(argc_text);
  if (id < 0 || id >= MAX_CMDS || argc < 1 || argc > MAX_ARGS) {
    reply("err bad def");
    return;
  }
  struct command *c = &commands[id];
  for (int i = 0; i < c->argc; i++) free(c->args[i]);
  memset(c, 0, sizeof *c);
  char line[ARG_BYTES];
  for (int i = 0; i < argc; i++) {
    if (!fgets(line, sizeof line, stdin)) exit(0);
    line[strcspn(line, "\n")] = '\0';
    c->args[i] = strdup(line);
    if (strstr(line, "{n}")) c->templated = 1;
  }
  c->args[argc] = NULL;
  c->argc = argc;
  c->used = 1;
  reply("ok");
}

static void cmd_run(struct command *c, int vfork_mode, long n) {
  if (n < 1 || n > MAX_RUN) {
    reply("err bad count");
    return;
  }
  for (long i = 0; i < n; i++) {
    char *const *argv = argv_for(c);
    uint64_t t0 = now_ns();
    pid_t pid = start(argv, vfork_mode, -1);
    if (pid < 0) {
      reply("err spawn %s: %s", argv[0], strerror((int)-pid));
      return;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    uint64_t t1 = now_ns();
    if (status_code(status) != 0) {
      reply("err run %ld of %s ended with status %d", i, argv[0], status_code(status));
      return;
    }
    samples[i] = t1 - t0;
  }
  fputs("ns", stdout);
  for (long i = 0; i < n; i++) fprintf(stdout, " %llu", (unsigned long long)samples[i]);
  fputc('\n', stdout);
  fflush(stdout);
}

static void cmd_tput(struct command *c, int vfork_mode, long conc, long min_n, long min_ms) {
  if (conc < 1 || conc > 4096) {
    reply("err bad concurrency");
    return;
  }
  uint64_t t0 = now_ns();
  uint64_t min_ns = (uint64_t)min_ms * 1000000ull;
  long inflight = 0, done = 0, failures = 0;
  int first_status = 0;
  for (long i = 0; i < conc; i++) {
    pid_t pid = start(argv_for(c), vfork_mode, -1);
    if (pid < 0) {
      if (failures++ == 0) first_status = -(int)-pid;
      break;
    }
    inflight++;
  }
  uint64_t last = t0;
  while (inflight > 0) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    inflight--;
    done++;
    if (status_code(status) != 0 && failures++ == 0) first_status = status_code(status);
    last = now_ns();
    if (failures == 0 && (last - t0 < min_ns || done + inflight < min_n)) {
      pid_t next = start(argv_for(c), vfork_mode, -1);
      if (next < 0) {
        if (failures++ == 0) first_status = -(int)-next;
      } else {
        inflight++;
      }
    }
  }
  reply("tput %ld %llu %ld %d", done, (unsigned long long)(last - t0), failures, first_status);
}

static void cmd_probe(struct command *c, int vfork_mode) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    reply("err pipe: %s", strerror(errno));
    return;
  }
  pid_t pid = start(argv_for(c), vfork_mode, fds[1]);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    reply("probe %d %s", 127, "");
    return;
  }
  char out[2048];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fds[0], out + got, sizeof out - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
    if (got == sizeof out) {
      char sink[4096];
      while (read(fds[0], sink, sizeof sink) > 0) {
      }
      break;
    }
  }
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  fprintf(stdout, "probe %d ", status_code(status));
  for (size_t i = 0; i < got; i++) fprintf(stdout, "%02x", (unsigned char)out[i]);
  fputc('\n', stdout);
  fflush(stdout);
}

/* cgroup-make: a cgroup v2 directory of our own for mode floor-cgroup, made
 * under this helper's own v2 cgroup and removed at quit. */
static void cmd_cgroup_make(void) {
  char mount_point[1024] = "", own[2048] = "", line[4096];
  FILE *f = fopen("/proc/self/mountinfo", "re");
  while (f && fgets(line, sizeof line, f)) {
    char *sep = strstr(line, " - cgroup2 ");
    if (sep == NULL) continue;
    char point[1024];
    if (sscanf(line, "%*s %*s %*s %*s %1023s", point) == 1) snprintf(mount_point, sizeof mount_point, "%s", point);
    break;
  }
  if (f) fclose(f);
  f = fopen("/proc/self/cgroup", "re");
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::", 3) == 0) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(own, sizeof own, "%.2000s", line + 3);
    }
  }
  if (f) fclose(f);
  if (mount_point[0] == '\0' || own[0] == '\0') {
    reply("err no cgroup v2 hierarchy or no v2 cgroup of our own");
    return;
  }
  snprintf(cgroup_dir, sizeof cgroup_dir, "%s%s/cordon-bench-floor-%d", mount_point, strcmp(own, "/") == 0 ? "" : own, (int)getpid());
  if (mkdir(cgroup_dir, 0755) != 0) {
    reply("err mkdir %s: %s", cgroup_dir, strerror(errno));
    cgroup_dir[0] = '\0';
    return;
  }
  cgroup_fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup_fd < 0) {
    reply("err open %s: %s", cgroup_dir, strerror(errno));
    rmdir(cgroup_dir);
    cgroup_dir[0] = '\0';
    return;
  }
  reply("ok");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  ssize_t self = readlink("/proc/self/exe", stage_path, sizeof stage_path - 32);
  if (self > 0) {
    stage_path[self] = '\0';
    char *slash = strrchr(stage_path, '/');
    if (slash != NULL) strcpy(slash + 1, "isolation-stage");
    memcpy(init_path, stage_path, sizeof init_path);
    slash = strrchr(init_path, '/');
    if (slash != NULL) strcpy(slash + 1, "tiny-init");
    memcpy(filter_path, stage_path, sizeof filter_path);
    slash = strrchr(filter_path, '/');
    if (slash != NULL) strcpy(slash + 1, "payload-filter.bpf");
  }
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    perror("spawn-helper: /dev/null");
    return 1;
  }
  char line[ARG_BYTES];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    char *words[8] = {0};
    int nw = 0;
    for (char *tok = strtok(line, " "); tok && nw < 8; tok = strtok(NULL, " ")) words[nw++] = tok;
    if (nw == 0) continue;
    const char *cmd = words[0];
    if (strcmp(cmd, "quit") == 0) break;
    if (strcmp(cmd, "def") == 0 && nw == 3) {
      cmd_def(words[1], words[2]);
    } else if ((strcmp(cmd, "run") == 0 && nw == 4) || (strcmp(cmd, "tput") == 0 && nw == 6) ||
               (strcmp(cmd, "probe") == 0 && nw == 3)) {
      struct command *c = lookup(words[1]);
      int mode = parse_mode(words[2]);
      if (c == NULL || mode < 0) {
        reply("err unknown command id or mode");
      } else if (cmd[0] == 'r') {
        cmd_run(c, mode, atol(words[3]));
      } else if (cmd[0] == 't') {
        cmd_tput(c, mode, atol(words[3]), atol(words[4]), atol(words[5]));
      } else {
        cmd_probe(c, mode);
      }
    } else if (strcmp(cmd, "cgroup-make") == 0 && nw == 1) {
      cmd_cgroup_make();
    } else if (strcmp(cmd, "unshare-mounts") == 0 && nw == 1) {
      if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        reply("err unshare-mounts: %s", strerror(errno));
      } else {
        reply("ok");
      }
    } else if (strcmp(cmd, "umount") == 0 && nw == 2) {
      if (umount2(words[1], MNT_DETACH) != 0) {
        reply("err umount %s: %s", words[1], strerror(errno));
      } else {
        reply("ok");
      }
    } else if (strcmp(cmd, "bind") == 0 && (nw == 3 || nw == 4)) {
      unsigned long flags = MS_BIND | (nw == 4 && strcmp(words[3], "rec") == 0 ? MS_REC : 0);
      if (mount(words[1], words[2], NULL, flags, NULL) != 0) {
        reply("err bind %s %s: %s", words[1], words[2], strerror(errno));
      } else {
        reply("ok");
      }
    } else {
      reply("err unknown command: %s", cmd);
    }
  }
  /* Every box has been waited for: the cgroup is empty. */
  if (cgroup_dir[0] != '\0') rmdir(cgroup_dir);
  return 0;
}
