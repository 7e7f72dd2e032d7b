/*
 * The C isolation floor: what a default cordon box costs when written
 * plainly in C, with no plan, no Node and no generality. It is the physical
 * reference of the bench (issue 15): the same namespaces (user, pid, mount,
 * net, ipc, uts, cgroup), the same id map (box root = the caller, or 65534
 * for a root caller), a tmpfs root entered with pivot_root holding read-only
 * binds of /usr, /etc and /opt and the usual links, /proc, a tmpfs /dev with
 * the six device binds, devpts, /dev/shm and the fd links, tmpfs /tmp and
 * /run, a read-only /sys, the root made read-only, `lo` up, a hostname, no
 * capabilities, no_new_privs, a new session, then a minimal init (pid 1)
 * that forks the payload and waits for it. What it leaves out of cordon's
 * work: the seccomp filters, the per-user namespace limits, the rlimits
 * and the step-by-step error reporting. The "guarded" mode (floor_filter
 * set) adds the kernel's part of those guarantees: the two per-user limits
 * cordon writes into a default box's user namespace, and the exec'd init
 * (tiny-init -f) installing cordon's default payload filter in the
 * payload's process and a small one of its own. The "net host" mode
 * (floor_net_host) keeps the host's network namespace, as a box with
 * `namespaces: { net: 'host' }` does.
 *
 * Two ways to use it, both built by the bench (benchmarks/lib/build.js):
 *  - compiled into spawn-helper (floor_start below, mode `floor`): the
 *    helper clones the box itself, as cordon's parent does;
 *  - as a static "stage" program (-DFLOOR_MAIN, mode `stage`): the helper
 *    clones with CLONE_VM|CLONE_VFORK, the child execs the program at
 *    once, and the program makes the namespaces and sets the box up in its
 *    own small address space (see stage_start). This is what the stage
 *    design of issue 15 would cost at best: the difference between the two
 *    modes is one exec of a small static binary and one more process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_ROOT "/tmp"  /* in the box's own mount namespace: a fresh tmpfs over it */
#define FLOOR_STACK (64 * 1024)

struct floor_args {
  char *const *argv;
  char *const *envp;
  int devnull;
  int sync_fd; /* read end: the parent has written the id maps */
};

static int must(int ok, int code) {
  if (!ok) _exit(code);
  return 0;
}

static void bind_ro(const char *src, const char *dst) {
  must(mkdir(dst, 0755) == 0, 20);
  must(mount(src, dst, NULL, MS_BIND | MS_REC, NULL) == 0, 21);
  must(mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) == 0, 22);
}

static void bind_dev(const char *name) {
  char src[64], dst[64];
  snprintf(src, sizeof src, "/dev/%s", name);
  snprintf(dst, sizeof dst, FLOOR_ROOT "/dev/%s", name);
  int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
  must(fd >= 0, 23);
  close(fd);
  must(mount(src, dst, NULL, MS_BIND, NULL) == 0, 24);
}

static void lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  must(s >= 0, 30);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_RUNNING;
  must(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, 31);
  close(s);
}

static void drop_capabilities(void) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int cap = 0; cap <= CAP_LAST_CAP; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  must(syscall(SYS_capset, &header, data) == 0, 32);
  must(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, 33);
}

/* The box: runs as pid 1 of its pid namespace. */
static int floor_setup(struct floor_args *a);

/* The "guarded" mode: a file holding cordon's default payload filter (see above). */
static const char *floor_filter;

/* The "net host" mode: the host's network namespace (no CLONE_NEWNET, no `lo` to bring up). */
static int floor_net_host;

/* A per-user limit of the box's own user namespace (/proc/sys/user shows the reader's). */
static void limit_user_counter(const char *name, const char *value) {
  char at[96];
  snprintf(at, sizeof at, "/proc/sys/user/%s", name);
  int fd = open(at, O_WRONLY | O_CLOEXEC);
  must(fd >= 0, 57);
  must(write(fd, value, strlen(value)) == (ssize_t)strlen(value), 58);
  close(fd);
}

static int floor_box(void *raw) {
  struct floor_args *a = raw;
  char go;
  while (read(a->sync_fd, &go, 1) < 0 && errno == EINTR) {
  }
  close(a->sync_fd);
  must(setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0, 10);
  if (floor_filter != NULL) {
    /* cordon's defaults for a box that maps one id (lib/kernel-counters.ts) */
    limit_user_counter("max_inotify_instances", "128");
    limit_user_counter("max_inotify_watches", "8192");
  }
  return floor_setup(a);
}

/* A payload outside the system directories (the bench's static one, under
 * /var/tmp): its directory bound read-only at the same path, as the bench
 * does for cordon's default box. */
static void bind_payload_dir(const char *file) {
  if (strncmp(file, "/usr/", 5) == 0 || strncmp(file, "/bin/", 5) == 0) return;
  char dir[512], at[600];
  snprintf(dir, sizeof dir, "%s", file);
  char *slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir) return;
  *slash = '\0';
  for (char *p = dir + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char keep = *p;
      *p = '\0';
      snprintf(at, sizeof at, FLOOR_ROOT "%s", dir);
      must(mkdir(at, 0755) == 0 || errno == EEXIST, 54);
      *p = keep;
      if (keep == '\0') break;
    }
  }
  must(mount(dir, at, NULL, MS_BIND, NULL) == 0, 55);
  must(mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) == 0, 56);
}

/* The "exec'd init" mode (floor_start with floor_init set): pid 1 execs
 * this static init (tiny-init.c) after the set-up instead of forking the
 * payload itself, the one exec a box set up in a process that shares
 * Node's memory must make before its payload (cordon cannot fork Node). */
static const char *floor_init;

/* Everything after the box has become its root: filesystem, network, credentials, init. */
static int floor_setup(struct floor_args *a) {
  /* Opened while the host's tree is still there; exec'd after pivot_root, as cordon execs its memfd. */
  int init_fd = floor_init == NULL ? -1 : open(floor_init, O_PATH | O_CLOEXEC);
  must(floor_init == NULL || init_fd >= 0, 48);
  /* Left open across the init's exec: its payload's process reads the program from it. */
  int filter_fd = floor_filter == NULL ? -1 : open(floor_filter, O_RDONLY);
  must(floor_filter == NULL || filter_fd >= 0, 59);
  must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, 11);
  must(mount("box", FLOOR_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") == 0, 12);
  bind_payload_dir(a->argv[0]);
  bind_ro("/usr", FLOOR_ROOT "/usr");
  bind_ro("/etc", FLOOR_ROOT "/etc");
  if (access("/opt", F_OK) == 0) bind_ro("/opt", FLOOR_ROOT "/opt");
  static const char *const links[][2] = {{"usr/bin", "bin"}, {"usr/sbin", "sbin"}, {"usr/lib", "lib"}, {"usr/lib64", "lib64"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    char at[64];
    snprintf(at, sizeof at, FLOOR_ROOT "/%s", links[i][1]);
    must(symlink(links[i][0], at) == 0, 13);
  }
  must(mkdir(FLOOR_ROOT "/proc", 0755) == 0, 14);
  must(mount("proc", FLOOR_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0, 15);
  must(mkdir(FLOOR_ROOT "/dev", 0755) == 0, 16);
  must(mount("dev", FLOOR_ROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") == 0, 17);
  static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) bind_dev(devices[i]);
  must(mkdir(FLOOR_ROOT "/dev/pts", 0755) == 0, 18);
  must(mount("devpts", FLOOR_ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") == 0, 19);
  must(mkdir(FLOOR_ROOT "/dev/shm", 01777) == 0, 25);
  must(mount("shm", FLOOR_ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") == 0, 26);
  static const char *const dev_links[][2] = {
      {"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++) {
    char at[64];
    snprintf(at, sizeof at, FLOOR_ROOT "/dev/%s", dev_links[i][1]);
    must(symlink(dev_links[i][0], at) == 0, 27);
  }
  must(mkdir(FLOOR_ROOT "/tmp", 01777) == 0, 28);
  must(mount("tmp", FLOOR_ROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0, 29);
  must(mkdir(FLOOR_ROOT "/run", 0755) == 0, 34);
  must(mount("run", FLOOR_ROOT "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0, 35);
  must(mkdir(FLOOR_ROOT "/sys", 0755) == 0, 36);
  /* sysfs shows its mounter's network namespace: in the host's, /sys stays empty (as cordon leaves it). */
  must(floor_net_host || mount("sys", FLOOR_ROOT "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0, 37);
  must(mkdir(FLOOR_ROOT "/oldroot", 0755) == 0, 38);
  must(chdir(FLOOR_ROOT) == 0, 39);
  must(syscall(SYS_pivot_root, ".", "oldroot") == 0, 40);
  must(umount2("/oldroot", MNT_DETACH) == 0, 41);
  must(rmdir("/oldroot") == 0, 42);
  must(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) == 0, 43);
  must(chdir("/") == 0, 44);
  if (!floor_net_host) lo_up();
  must(sethostname("box", 3) == 0, 45);
  drop_capabilities();
  must(setsid() >= 0, 46);
  if (init_fd >= 0) {
    char *args[64];
    int n = 0;
    char filter_arg[16];
    args[n++] = "tiny-init";
    if (filter_fd >= 0) {
      snprintf(filter_arg, sizeof filter_arg, "%d", filter_fd);
      args[n++] = "-f";
      args[n++] = filter_arg;
    }
    for (int i = 0; a->argv[i] != NULL && n < 63; i++) args[n++] = a->argv[i];
    args[n] = NULL;
    dup2(a->devnull, 0);
    dup2(a->devnull, 1);
    dup2(a->devnull, 2);
    syscall(SYS_execveat, init_fd, "", args, a->envp, AT_EMPTY_PATH);
    _exit(49);
  }
  /* pid 1: a minimal init that starts the payload and passes on its status. */
  pid_t payload = fork();
  if (payload < 0) _exit(47);
  if (payload == 0) {
    dup2(a->devnull, 0);
    dup2(a->devnull, 1);
    dup2(a->devnull, 2);
    execve(a->argv[0], a->argv, a->envp);
    _exit(127);
  }
  int status;
  while (waitpid(payload, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int write_file(pid_t pid, const char *name, const char *text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, text, strlen(text));
  int error = n < 0 ? errno : 0;
  close(fd);
  return -error;
}

/* The parent's part: the box's id maps, then "go". Kills the box on failure. */
static int write_maps(pid_t pid, int go_fd) {
  char map[64];
  uid_t uid = geteuid();
  gid_t gid = getegid();
  int error = write_file(pid, "setgroups", "deny");
  snprintf(map, sizeof map, "0 %u 1\n", uid == 0 ? 65534u : (unsigned)uid);
  if (error == 0) error = write_file(pid, "uid_map", map);
  snprintf(map, sizeof map, "0 %u 1\n", gid == 0 ? 65534u : (unsigned)gid);
  if (error == 0) error = write_file(pid, "gid_map", map);
  if (error == 0 && write(go_fd, "", 1) != 1) error = -errno;
  if (error != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  return error;
}

/* Starts one box running argv; returns its pid (the caller waits for it) or -errno. */
__attribute__((unused)) static pid_t floor_start(char *const *argv, char *const *envp, int devnull) {
  static char *stack;
  if (stack == NULL && (stack = malloc(FLOOR_STACK)) == NULL) return -ENOMEM;
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) return -errno;
  struct floor_args a = {argv, envp, devnull, sync[0]};
  int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | (floor_net_host ? 0 : CLONE_NEWNET) | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
              SIGCHLD;
  pid_t pid = clone(floor_box, stack + FLOOR_STACK, flags, &a);
  close(sync[0]);
  int error = pid < 0 ? -errno : write_maps(pid, sync[1]);
  close(sync[1]);
  return error != 0 ? error : pid;
}

/* The floor with a pre-created cgroup: the box cloned straight into the
 * cgroup v2 directory `cgroup_fd` (clone3 with CLONE_INTO_CGROUP), without
 * sharing our memory, as cordon's clone_into_cgroup() does. */
__attribute__((unused)) static pid_t floor_start_in_cgroup(char *const *argv, char *const *envp, int devnull, int cgroup_fd) {
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) return -errno;
  struct floor_args a = {argv, envp, devnull, sync[0]};
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
  } args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
               0x200000000ULL /* CLONE_INTO_CGROUP */;
  args.exit_signal = SIGCHLD;
  args.cgroup = (uint64_t)cgroup_fd;
  pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(floor_box(&a)); /* a copy of our memory, on a copy of our stack, as after fork() */
  close(sync[0]);
  int error = pid < 0 ? -errno : write_maps(pid, sync[1]);
  close(sync[1]);
  return error != 0 ? error : pid;
}

/* The stage design's model. A child that shares our memory only until it
 * has exec'd the static stage program (CLONE_VM|CLONE_VFORK, no namespace
 * flags: a child made in a new user namespace by a root caller would lose
 * its capabilities at the exec, as its uid is not yet mapped there). The
 * stage unshares the namespaces itself, says "ready" (fd 4), waits for the
 * id maps (fd 3), becomes the box's root and clones the box's pid 1 in its
 * own small address space; it then waits for pid 1 and passes on its
 * status. */
struct stage_args {
  const char *stage;
  char *const *argv;
  char *const *envp;
  int devnull;
  int go_fd;
  int ready_fd;
};

static int stage_exec(void *raw) {
  struct stage_args *s = raw;
  char *args[64];
  int n = 0;
  args[n++] = (char *)s->stage;
  for (int i = 0; s->argv[i] != NULL && n < 63; i++) args[n++] = s->argv[i];
  args[n] = NULL;
  if (syscall(SYS_dup2, s->go_fd, 3) < 0 || syscall(SYS_dup2, s->ready_fd, 4) < 0 || syscall(SYS_dup2, s->devnull, 0) < 0) _exit(126);
  syscall(SYS_execve, s->stage, args, s->envp);
  _exit(127);
}

__attribute__((unused)) static pid_t stage_start(const char *stage, char *const *argv, char *const *envp, int devnull) {
  static char *stack;
  if (stack == NULL && (stack = malloc(FLOOR_STACK)) == NULL) return -ENOMEM;
  int go[2], ready[2];
  if (pipe2(go, O_CLOEXEC) != 0) return -errno;
  if (pipe2(ready, O_CLOEXEC) != 0) {
    close(go[0]);
    close(go[1]);
    return -errno;
  }
  struct stage_args s = {stage, argv, envp, devnull, go[0], ready[1]};
  pid_t pid = clone(stage_exec, stack + FLOOR_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &s);
  close(go[0]);
  close(ready[1]);
  int error = pid < 0 ? -errno : 0;
  char byte;
  if (error == 0 && read(ready[0], &byte, 1) != 1) error = -EPROTO;
  if (error == 0) error = write_maps(pid, go[1]);
  else if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  close(ready[0]);
  close(go[1]);
  return error != 0 ? error : pid;
}

#ifdef FLOOR_MAIN
static int stage_pid1(void *raw) { return floor_setup(raw); }

/* The stage: isolation-stage PAYLOAD [ARGS...], with "go" on fd 3, "ready"
 * on fd 4 and /dev/null as fd 0. */
int main(int argc, char **argv, char **envp) {
  static char stack[FLOOR_STACK];
  if (argc < 2) return 2;
  must(unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) == 0, 50);
  must(write(4, "", 1) == 1, 51);
  close(4);
  char go;
  must(read(3, &go, 1) == 1, 52);
  close(3);
  must(setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0, 10);
  struct floor_args a = {argv + 1, envp, 0, -1};
  pid_t pid1 = clone(stage_pid1, stack + sizeof stack, SIGCHLD, &a);
  must(pid1 > 0, 53);
  int status;
  while (waitpid(pid1, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
#endif
