// The attack payload of test/spawn/escape.test.js: what a hostile tenant
// would try from inside a cordon box. Built by the test with `gcc -static`
// and run in boxes as the tenant's program.
//
//   escape all              every attack whose inputs are given, in order
//   escape list             the attack names, one a line, each with the input
//                           it needs to run in `all` (if any)
//   escape <attack>         one attack
//   escape ids              prints `ids uid=U euid=E` (the planted setuid copy)
//   escape inotify-exhaust  takes inotify instances until refused, prints
//                           `inotify-exhaust HOLDING <n> <errno>` and holds
//                           them until stdin reaches EOF
//   escape inotify-one      `inotify-one OK` or `inotify-one FAILED <errno>`
//   escape pty-run CMD…     (harness helper, on the host) runs CMD on a new
//                           pseudo-terminal it controls, copying the output
//   escape write PATH TEXT  (harness helper) writes a file as the box's root
//   escape link FROM TO     (harness helper) link(2), prints `link OK` or
//                           `link FAILED <errno>`
//   escape connect-wait     (harness helper) prints `ready`, then connects to
//                           each socket path read from stdin
//
// Each attack runs in a forked process with an alarm, so a hang or a crash
// cannot stop the others, and prints exactly one line:
//   <attack> BLOCKED <errno or why>
//   <attack> ESCAPED <evidence>
//   <attack> ERROR <what went wrong in the attack itself>
// An attack killed by SIGSYS (a seccomp kill) counts as BLOCKED.
//
// Inputs come from the environment, or from KEY=VALUE arguments before the
// command (the harness sets them; an attack whose input is missing is left
// out of `all`):
//   ESCAPE_HOST_PIDS      comma list: host pids to signal (0) and ptrace
//   ESCAPE_VICTIM_PIDS    comma list: host pids to SIGKILL (the harness checks they live)
//   ESCAPE_HOST_MARKER    a host path the box must not see (chroot, .., /proc/N/root)
//   ESCAPE_UNIX_RUN       a host AF_UNIX listener (mode 0777) under /run
//   ESCAPE_UNIX_VAR       a host AF_UNIX listener (mode 0777) under /var
//   ESCAPE_UNIX_HOST      newline list: the host's other pathname sockets
//   ESCAPE_UNIX_ABSTRACT  newline list: host abstract socket names as /proc/net/unix
//                         shows them, without the leading @ (each other @ is a NUL)
//   ESCAPE_SECRET_FILES   newline list: files in the caller's home
//   ESCAPE_HOME_DIRS      newline list: home directories of the caller
//   ESCAPE_HOST_IFACES    comma list: the host's network interfaces
//   ESCAPE_HOST_CGROUPS   newline list: host cgroup directories (as /sys/fs/cgroup/...)
//   ESCAPE_HOST_PATHS     newline list: host paths that must not show in mountinfo
//   ESCAPE_HOST_NS        comma list kind=inode: the caller's namespaces
//   ESCAPE_MOUNT_MARKER   the source name of the tmpfs the payload tries to mount
//   ESCAPE_SUID_DIRS      colon list: where to plant the setuid copy (default /tmp:/dev/shm:/)
//   ESCAPE_FORBIDDEN      newline list: paths another tenant owns (must not exist in the box)
//   ESCAPE_SIZE_LIMIT     bytes: /tmp and /dev/shm must be smaller (default 1 GiB)
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_userfaultfd
#define __NR_userfaultfd 323
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define ESCAPE_MOUNT_ATTR_RDONLY 0x00000001
#define ESCAPE_CLONE_NEWTIME 0x00000080
#define X32_SYSCALL_BIT 0x40000000

enum { ATTACK_TIMEOUT = 10, ALL_EXIT_CODE = 37 };

// ---------------------------------------------------------------- reporting

static int result_fd = -1;
static int reported;

static const char* errname(int e) {
  const char* name = strerrorname_np(e);
  static char buf[16];
  if (name != NULL) return name;
  snprintf(buf, sizeof buf, "errno %d", e);
  return buf;
}

// One verdict per attack: the first one counts.
static void verdict(const char* status, const char* fmt, ...) {
  if (reported) return;
  reported = 1;
  char line[1024];
  int n = snprintf(line, sizeof line, "%s ", status);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  for (int i = 0; i < n; i++)
    if (line[i] == '\n') line[i] = ' ';
  line[n++] = '\n';
  if (write(result_fd, line, (size_t)n) < 0) _exit(3);
}

#define BLOCKED(...) verdict("BLOCKED", __VA_ARGS__)
#define ESCAPED(...) verdict("ESCAPED", __VA_ARGS__)
#define ERROR(...) verdict("ERROR", __VA_ARGS__)

// A short summary of why several tries failed: "path: ENOENT; path2: EACCES".
struct reasons {
  char text[700];
  size_t len;
};

static void reason_add(struct reasons* r, const char* what, int e) {
  if (r->len >= sizeof r->text - 1) return;
  int n = snprintf(r->text + r->len, sizeof r->text - r->len, "%s%s: %s", r->len ? "; " : "", what, errname(e));
  if (n > 0) r->len += (size_t)n;
  if (r->len >= sizeof r->text) r->len = sizeof r->text - 1;
}

// ---------------------------------------------------------------- inputs

static const char* input(const char* name) {
  const char* value = getenv(name);
  return value != NULL && value[0] != '\0' ? value : NULL;
}

// Splits a copy of `list` on `sep`; returns the number of items.
static int split(const char* list, char sep, char** items, int max, char* storage, size_t size) {
  if (list == NULL) return 0;
  snprintf(storage, size, "%s", list);
  int count = 0;
  char* p = storage;
  while (*p != '\0' && count < max) {
    char* end = strchr(p, sep);
    if (end != NULL) *end = '\0';
    if (*p != '\0') items[count++] = p;
    if (end == NULL) break;
    p = end + 1;
  }
  return count;
}

static char storage[16384];
static char* items[256];
#define SPLIT(list, sep) split((list), (sep), items, 256, storage, sizeof storage)

static int read_file(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, size - 1 - got);
    if (n < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (n == 0 || got + (size_t)n >= size - 1) {
      got += (size_t)n;
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  return (int)got;
}

// The value after "Field:" in a /proc status file, or NULL.
static const char* status_field(const char* text, const char* field, char* out, size_t size) {
  char key[64];
  snprintf(key, sizeof key, "\n%s:", field);
  const char* p = strstr(text, key);
  if (p == NULL) return NULL;
  p += strlen(key);
  while (*p == ' ' || *p == '\t') p++;
  size_t n = strcspn(p, "\n");
  if (n >= size) n = size - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return out;
}

// ---------------------------------------------------------------- PID 1, cordon's init

// PTRACE_ATTACH, then the inject step: read the word at the init's
// instruction pointer and write the same word back (proof of write access
// without changing what the init does), then detach.
static void ptrace_inject(pid_t pid, int seize) {
  long r = seize ? ptrace(PTRACE_SEIZE, pid, 0, 0) : ptrace(PTRACE_ATTACH, pid, 0, 0);
  if (r != 0) {
    BLOCKED("%s %d: %s", seize ? "PTRACE_SEIZE" : "PTRACE_ATTACH", pid, errname(errno));
    return;
  }
  if (seize && ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) {
    ESCAPED("PTRACE_SEIZE of pid %d succeeded (PTRACE_INTERRUPT: %s)", pid, errname(errno));
    ptrace(PTRACE_DETACH, pid, 0, 0);
    return;
  }
  int status;
  if (waitpid(pid, &status, __WALL) != pid) {
    ESCAPED("attached to pid %d (waitpid: %s)", pid, errname(errno));
    ptrace(PTRACE_DETACH, pid, 0, 0);
    return;
  }
  unsigned long pc = 0;
#if defined(__x86_64__)
  struct user_regs_struct regs;
  struct iovec iov = {&regs, sizeof regs};
  if (ptrace(PTRACE_GETREGSET, pid, (void*)1 /* NT_PRSTATUS */, &iov) == 0) pc = regs.rip;
#elif defined(__aarch64__)
  struct user_regs_struct regs;
  struct iovec iov = {&regs, sizeof regs};
  if (ptrace(PTRACE_GETREGSET, pid, (void*)1 /* NT_PRSTATUS */, &iov) == 0) pc = regs.pc;
#endif
  char evidence[200] = "";
  if (pc != 0) {
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, pid, (void*)pc, 0);
    int peek_errno = errno;
    if (peek_errno == 0 && ptrace(PTRACE_POKETEXT, pid, (void*)pc, (void*)word) == 0)
      snprintf(evidence, sizeof evidence, ", rewrote the code word at pc %#lx", pc);
    else
      snprintf(evidence, sizeof evidence, ", pc %#lx (peek/poke: %s)", pc, errname(peek_errno ? peek_errno : errno));
  }
  ESCAPED("%s pid %d succeeded%s", seize ? "PTRACE_SEIZE" : "PTRACE_ATTACH", pid, evidence);
  ptrace(PTRACE_DETACH, pid, 0, 0);
}

static void attack_ptrace_init_attach(void) { ptrace_inject(1, 0); }
static void attack_ptrace_init_seize(void) { ptrace_inject(1, 1); }

// The first mapping of a process, from /proc/<pid>/maps, or 0.
static unsigned long first_mapping(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  if (read_file(path, buf, sizeof buf) <= 0) return 0;
  return strtoul(buf, NULL, 16);
}

static void attack_process_vm_writev_init(void) {
  unsigned long addr = first_mapping(1);
  char data[8];
  if (addr != 0) {
    struct iovec local = {data, sizeof data}, remote = {(void*)addr, sizeof data};
    if (process_vm_readv(1, &local, 1, &remote, 1, 0) == (ssize_t)sizeof data) {
      if (process_vm_writev(1, &local, 1, &remote, 1, 0) == (ssize_t)sizeof data) {
        ESCAPED("process_vm_writev rewrote 8 bytes of pid 1 at %#lx", addr);
        return;
      }
    }
  }
  // An address below mmap_min_addr is never mapped: EFAULT there means the
  // permission check passed, EPERM that it did not. Nothing is written.
  memset(data, 0, sizeof data);
  struct iovec local = {data, 1}, remote = {(void*)0x1000, 1};
  if (process_vm_writev(1, &local, 1, &remote, 1, 0) >= 0 || errno == EFAULT) {
    ESCAPED("process_vm_writev to pid 1 passed the access check (%s at an unmapped address)", errname(errno));
    return;
  }
  BLOCKED("process_vm_writev pid 1: %s", errname(errno));
}

static void attack_proc_init_mem(void) {
  int fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    BLOCKED("open /proc/1/mem O_RDWR: %s", errname(errno));
    return;
  }
  unsigned long addr = first_mapping(1);
  char data[8];
  if (addr != 0 && pread(fd, data, sizeof data, (off_t)addr) == (ssize_t)sizeof data &&
      pwrite(fd, data, sizeof data, (off_t)addr) == (ssize_t)sizeof data) {
    ESCAPED("opened /proc/1/mem read-write and rewrote 8 bytes at %#lx", addr);
  } else {
    ESCAPED("opened /proc/1/mem read-write");
  }
  close(fd);
}

static void attack_pidfd_getfd_init(void) {
  int pidfd = (int)syscall(__NR_pidfd_open, 1, 0);
  if (pidfd < 0) {
    BLOCKED("pidfd_open(1): %s", errname(errno));
    return;
  }
  int denied = 0, last = 0;
  for (int target = 0; target < 64; target++) {
    int fd = (int)syscall(__NR_pidfd_getfd, pidfd, target, 0);
    if (fd >= 0) {
      char link[64], where[256];
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(link, where, sizeof where - 1);
      where[n > 0 ? n : 0] = '\0';
      ESCAPED("pidfd_getfd took fd %d of pid 1 (%s)", target, where);
      return;
    }
    if (errno != EBADF) denied++;
    last = errno;
  }
  if (denied == 0) {
    ESCAPED("pidfd_getfd on pid 1 passed the access check (EBADF for fds 0-63)");
    return;
  }
  BLOCKED("pidfd_getfd(pidfd of 1, fd 0-63): %s", errname(last));
}

static void attack_init_seccomp(void) {
  char text[8192], value[64];
  int n = read_file("/proc/1/status", text + 1, sizeof text - 1);
  if (n < 0) {
    BLOCKED("/proc/1/status: %s", errname(-n));
    return;
  }
  text[0] = '\n';
  if (status_field(text, "Seccomp", value, sizeof value) == NULL) {
    ERROR("no Seccomp field in /proc/1/status");
    return;
  }
  if (strcmp(value, "2") == 0)
    BLOCKED("pid 1 runs under a seccomp filter (Seccomp: 2)");
  else
    ESCAPED("pid 1 has no seccomp filter (Seccomp: %s)", value);
}

// Modifying the binary behind /proc/<pid>/exe: open it for writing, chmod it
// (to its own mode: nothing changes), truncate it (to its own size).
static void exe_attack(pid_t pid, int how) {
  char link[64], target[512];
  snprintf(link, sizeof link, "/proc/%d/exe", pid);
  ssize_t n = readlink(link, target, sizeof target - 1);
  target[n > 0 ? n : 0] = '\0';
  struct stat st;
  if (stat(link, &st) != 0) {
    BLOCKED("stat %s: %s", link, errname(errno));
    return;
  }
  if (how == 0) {
    int fd = open(link, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      ESCAPED("opened %s (%s) for writing", link, target);
    } else {
      BLOCKED("open %s O_WRONLY: %s", link, errname(errno));
    }
  } else if (how == 1) {
    if (chmod(link, st.st_mode & 07777) == 0)
      ESCAPED("chmod %s (%s) succeeded (mode kept at %o)", link, target, st.st_mode & 07777);
    else
      BLOCKED("chmod %s: %s", link, errname(errno));
  } else {
    if (truncate(link, st.st_size) == 0)
      ESCAPED("truncate %s (%s) succeeded (size kept at %lld)", link, target, (long long)st.st_size);
    else
      BLOCKED("truncate %s: %s", link, errname(errno));
  }
}

static void attack_exe_write_pid1(void) { exe_attack(1, 0); }
static void attack_exe_chmod_pid1(void) { exe_attack(1, 1); }
static void attack_exe_truncate_pid1(void) { exe_attack(1, 2); }
static void attack_exe_write_pid2(void) { exe_attack(2, 0); }
static void attack_exe_chmod_pid2(void) { exe_attack(2, 1); }
static void attack_exe_truncate_pid2(void) { exe_attack(2, 2); }

// The init reports the payload's status as an 8-byte {code, signal} record
// on a pipe; a forged "exited 0" written first would hide the real status.
static void attack_init_exit_forge(void) {
  DIR* dir = opendir("/proc/1/fd");
  if (dir == NULL) {
    BLOCKED("opendir /proc/1/fd: %s", errname(errno));
    return;
  }
  struct reasons why = {0};
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/1/fd/%s", entry->d_name);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      reason_add(&why, path, errno);
      continue;
    }
    int32_t record[2] = {0, 0};
    ssize_t n = write(fd, record, sizeof record);
    close(fd);
    if (n == (ssize_t)sizeof record) {
      closedir(dir);
      ESCAPED("wrote a forged exit record {0, 0} to %s", path);
      return;
    }
    reason_add(&why, path, n < 0 ? errno : EIO);
  }
  closedir(dir);
  // The same pipe taken with pidfd_getfd.
  int pidfd = (int)syscall(__NR_pidfd_open, 1, 0);
  if (pidfd < 0) reason_add(&why, "pidfd_open", errno);
  for (int target = 0; pidfd >= 0 && target < 64; target++) {
    int fd = (int)syscall(__NR_pidfd_getfd, pidfd, target, 0);
    if (fd < 0) {
      if (errno != EBADF) {
        reason_add(&why, "pidfd_getfd", errno);
        break;
      }
      continue;
    }
    int flags = fcntl(fd, F_GETFL);
    struct stat st;
    if (flags >= 0 && (flags & O_ACCMODE) == O_WRONLY && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
      int32_t record[2] = {0, 0};
      if (write(fd, record, sizeof record) == (ssize_t)sizeof record) {
        ESCAPED("wrote a forged exit record {0, 0} to pid 1's fd %d taken with pidfd_getfd", target);
        return;
      }
    }
    close(fd);
  }
  if (why.len == 0)
    BLOCKED("pid 1 has no fd to write to");
  else
    BLOCKED("%s", why.text);
}

// ---------------------------------------------------------------- host sockets

static int unix_connect(const char* name, int abstract) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  if (len + 1 > sizeof addr.sun_path) return -ENAMETOOLONG;
  memcpy(addr.sun_path + (abstract ? 1 : 0), name, len);
  // /proc/net/unix shows each NUL of an abstract name as '@' (Node pads
  // them to the full sun_path): the name is the bytes, NULs included.
  if (abstract)
    for (size_t i = 1; i <= len; i++)
      if (addr.sun_path[i] == '@') addr.sun_path[i] = '\0';
  // A path: its bytes and the NUL; an abstract name: the leading NUL and its bytes.
  socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  static const int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
  int e = 0;
  for (unsigned i = 0; i < 3; i++) {
    int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int r = connect(fd, (struct sockaddr*)&addr, size);
    e = errno;
    close(fd);
    if (r == 0) return 0;
    if (e != EPROTOTYPE) break;
  }
  return -e;
}

static void connect_list(const char* list, char sep, int abstract) {
  int count = SPLIT(list, sep);
  struct reasons why = {0};
  char connected[700] = "";
  size_t used = 0;
  for (int i = 0; i < count; i++) {
    int r = unix_connect(items[i], abstract);
    if (r == 0) {
      int n = snprintf(connected + used, sizeof connected - used, "%s%s%s", used ? ", " : "", abstract ? "@" : "", items[i]);
      if (n > 0 && used + (size_t)n < sizeof connected) used += (size_t)n;
    } else {
      reason_add(&why, items[i], -r);
    }
  }
  if (used > 0)
    ESCAPED("connected to host socket(s): %s", connected);
  else
    BLOCKED("%s", why.text);
}

static void attack_host_unix_connect_run(void) { connect_list(input("ESCAPE_UNIX_RUN"), '\n', 0); }
static void attack_host_unix_connect_var(void) { connect_list(input("ESCAPE_UNIX_VAR"), '\n', 0); }
static void attack_host_unix_connect_host(void) { connect_list(input("ESCAPE_UNIX_HOST"), '\n', 0); }
static void attack_host_unix_connect_abstract(void) { connect_list(input("ESCAPE_UNIX_ABSTRACT"), '\n', 1); }

// ---------------------------------------------------------------- information

static void read_files(const char* list) {
  int count = SPLIT(list, '\n');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    char buf[256];
    int n = read_file(items[i], buf, sizeof buf);
    if (n >= 0) {
      ESCAPED("read %d bytes of %s", n, items[i]);
      return;
    }
    reason_add(&why, items[i], -n);
  }
  BLOCKED("%s", why.text);
}

static void attack_read_home_secret(void) { read_files(input("ESCAPE_SECRET_FILES")); }

static void attack_read_real_home(void) {
  int count = SPLIT(input("ESCAPE_HOME_DIRS"), '\n');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    DIR* dir = opendir(items[i]);
    if (dir == NULL) {
      reason_add(&why, items[i], errno);
      continue;
    }
    int entries = 0;
    struct dirent* entry;
    char first[256] = "";
    while ((entry = readdir(dir)) != NULL) {
      if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      if (entries++ == 0) snprintf(first, sizeof first, "%s", entry->d_name);
    }
    closedir(dir);
    if (entries > 0) {
      ESCAPED("listed %s: %d entries (%s, ...)", items[i], entries, first);
      return;
    }
    reason_add(&why, items[i], ENOENT);
  }
  BLOCKED("%s", why.text);
}

static void attack_forbidden_files(void) {
  int count = SPLIT(input("ESCAPE_FORBIDDEN"), '\n');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    struct stat st;
    if (lstat(items[i], &st) == 0) {
      ESCAPED("sees %s", items[i]);
      return;
    }
    reason_add(&why, items[i], errno);
  }
  BLOCKED("%s", why.text);
}

static void attack_sys_class_net(void) {
  int count = SPLIT(input("ESCAPE_HOST_IFACES"), ',');
  DIR* dir = opendir("/sys/class/net");
  if (dir == NULL) {
    BLOCKED("opendir /sys/class/net: %s", errname(errno));
    return;
  }
  char seen[512] = "", leaked[512] = "";
  size_t s = 0, l = 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    int n = snprintf(seen + s, sizeof seen - s, "%s%s", s ? "," : "", entry->d_name);
    if (n > 0 && s + (size_t)n < sizeof seen) s += (size_t)n;
    if (strcmp(entry->d_name, "lo") == 0) continue;
    for (int i = 0; i < count; i++) {
      if (strcmp(items[i], entry->d_name) == 0) {
        n = snprintf(leaked + l, sizeof leaked - l, "%s%s", l ? "," : "", entry->d_name);
        if (n > 0 && l + (size_t)n < sizeof leaked) l += (size_t)n;
      }
    }
  }
  closedir(dir);
  if (l > 0)
    ESCAPED("/sys/class/net lists host interfaces: %s", leaked);
  else
    BLOCKED("/sys/class/net lists only the box's: %s", s ? seen : "(none)");
}

static void attack_sys_fs_cgroup(void) {
  int count = SPLIT(input("ESCAPE_HOST_CGROUPS"), '\n');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    struct stat st;
    if (stat(items[i], &st) == 0) {
      ESCAPED("the host's cgroup %s is visible", items[i]);
      return;
    }
    reason_add(&why, items[i], errno);
  }
  BLOCKED("%s", why.text);
}

static void attack_mountinfo_host_paths(void) {
  static char text[1 << 16];
  int n = read_file("/proc/self/mountinfo", text, sizeof text);
  if (n < 0) {
    BLOCKED("/proc/self/mountinfo: %s", errname(-n));
    return;
  }
  int count = SPLIT(input("ESCAPE_HOST_PATHS"), '\n');
  for (int i = 0; i < count; i++) {
    const char* hit = strstr(text, items[i]);
    if (hit != NULL) {
      const char* start = hit;
      while (start > text && start[-1] != '\n') start--;
      int len = (int)strcspn(start, "\n");
      ESCAPED("mountinfo shows %s: %.*s", items[i], len > 300 ? 300 : len, start);
      return;
    }
  }
  BLOCKED("no host path of the templates or the tenant in mountinfo");
}

static void size_limit(const char* path) {
  const char* given = input("ESCAPE_SIZE_LIMIT");
  unsigned long long limit = given ? strtoull(given, NULL, 10) : (1ULL << 30);
  struct statfs st;
  if (statfs(path, &st) != 0) {
    BLOCKED("statfs %s: %s", path, errname(errno));
    return;
  }
  unsigned long long total = (unsigned long long)st.f_blocks * (unsigned long long)st.f_bsize;
  if (st.f_blocks == 0)
    ESCAPED("%s has no size limit", path);
  else if (total >= limit)
    ESCAPED("%s holds %llu bytes (limit for the test: %llu): filling it takes host memory", path, total, limit);
  else
    BLOCKED("%s is limited to %llu bytes", path, total);
}

static void attack_tmp_size(void) { size_limit("/tmp"); }

// Empty files cost no bytes of a tmpfs's size but about 1 KiB of kernel
// memory each (inode and dentry, not reclaimable while the file exists),
// and a tmpfs without nr_inodes takes one per 8 KiB of the host's RAM:
// millions of files, gigabytes of memory past any size limit. The box's
// writable tmpfs mounts must not let files cost more than their size (or
// 1 MiB for a small one). /dev is writable by the box's root too.
static void attack_tmpfs_inodes(void) {
  static const char* const dirs[] = {"/tmp", "/dev/shm", "/run", "/dev"};
  char limited[600] = "";
  size_t used = 0;
  for (unsigned i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    struct statfs st;
    if (statfs(dirs[i], &st) != 0 || st.f_type != 0x01021994 /* TMPFS_MAGIC */) continue;
    if (access(dirs[i], W_OK) != 0) continue;
    unsigned long long bytes = (unsigned long long)st.f_blocks * (unsigned long long)st.f_bsize;
    unsigned long long allowance = bytes > (1ULL << 20) ? bytes : (1ULL << 20);
    if (st.f_files == 0 || (unsigned long long)st.f_files * 512ULL > allowance) {
      ESCAPED("%s takes %llu files (%llu bytes): empty files can pin %llu MiB of kernel memory", dirs[i],
              (unsigned long long)st.f_files, bytes, (unsigned long long)st.f_files / 1024ULL);
      return;
    }
    int n = snprintf(limited + used, sizeof limited - used, "%s%s: %llu files", used ? "; " : "", dirs[i], (unsigned long long)st.f_files);
    if (n > 0 && used + (size_t)n < sizeof limited) used += (size_t)n;
  }
  if (used == 0)
    ERROR("no writable tmpfs among /tmp, /dev/shm, /run, /dev");
  else
    BLOCKED("%s", limited);
}
static void attack_dev_shm_size(void) { size_limit("/dev/shm"); }

// ---------------------------------------------------------------- host processes

static void attack_kill_host_pids(void) {
  int count = SPLIT(input("ESCAPE_HOST_PIDS"), ',');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    pid_t pid = (pid_t)atoi(items[i]);
    if (kill(pid, 0) == 0) {
      ESCAPED("signal 0 reached host pid %d", pid);
      return;
    }
    reason_add(&why, items[i], errno);
  }
  count = SPLIT(input("ESCAPE_VICTIM_PIDS"), ',');
  for (int i = 0; i < count; i++) {
    pid_t pid = (pid_t)atoi(items[i]);
    if (kill(pid, SIGKILL) == 0) {
      ESCAPED("SIGKILL sent to host pid %d", pid);
      return;
    }
    reason_add(&why, items[i], errno);
  }
  BLOCKED("%s", why.text);
}

static void attack_ptrace_host_pids(void) {
  int count = SPLIT(input("ESCAPE_HOST_PIDS"), ',');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    pid_t pid = (pid_t)atoi(items[i]);
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
      ptrace(PTRACE_DETACH, pid, 0, 0);
      ESCAPED("PTRACE_SEIZE of host pid %d succeeded", pid);
      return;
    }
    reason_add(&why, items[i], errno);
  }
  BLOCKED("%s", why.text);
}

// ---------------------------------------------------------------- the root

// Whether the host marker can be seen from here (relative to the cwd or a dir fd).
static int sees_marker(int dirfd) {
  const char* marker = input("ESCAPE_HOST_MARKER");
  if (marker == NULL) return 0;
  struct stat st;
  return fstatat(dirfd, marker[0] == '/' ? marker + 1 : marker, &st, 0) == 0;
}

static int marker_visible_now(void) {
  const char* marker = input("ESCAPE_HOST_MARKER");
  struct stat st;
  return marker != NULL && stat(marker, &st) == 0;
}

static void climb(void) {
  for (int i = 0; i < 64; i++)
    if (chdir("..") != 0) break;
}

static void attack_chroot_escape(void) {
  if (marker_visible_now()) {
    ERROR("the host marker is visible before the attack");
    return;
  }
  mkdir("/tmp/.escape-jail", 0755);
  if (chroot("/tmp/.escape-jail") != 0) {
    BLOCKED("chroot: %s", errname(errno));
    return;
  }
  climb();
  if (chroot(".") != 0) {
    BLOCKED("chroot . after the climb: %s", errname(errno));
    return;
  }
  if (chdir("/") == 0 && sees_marker(AT_FDCWD))
    ESCAPED("chroot and .. reached the host root (the host marker is visible)");
  else
    BLOCKED("chroot works, but .. stops at the box root");
}

static void attack_fchdir_escape(void) {
  int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  mkdir("/tmp/.escape-jail2", 0755);
  if (chroot("/tmp/.escape-jail2") != 0) {
    BLOCKED("chroot: %s", errname(errno));
    return;
  }
  if (fchdir(fd) != 0) {
    BLOCKED("fchdir: %s", errname(errno));
    return;
  }
  climb();
  chroot(".");
  if (sees_marker(AT_FDCWD))
    ESCAPED("fchdir out of a chroot and .. reached the host root");
  else
    BLOCKED("fchdir and .. stop at the box root");
}

static void attack_dotdot_escape(void) {
  struct stat root, here;
  if (stat("/", &root) != 0 || chdir("/") != 0) {
    ERROR("stat /: %s", errname(errno));
    return;
  }
  climb();
  if (stat(".", &here) != 0) {
    ERROR("stat .: %s", errname(errno));
    return;
  }
  if (sees_marker(AT_FDCWD) || here.st_dev != root.st_dev || here.st_ino != root.st_ino)
    ESCAPED(".. left the box root (dev %lu ino %lu)", (unsigned long)here.st_dev, (unsigned long)here.st_ino);
  else
    BLOCKED(".. stops at the box root");
}

static void attack_proc_root(void) {
  DIR* proc = opendir("/proc");
  if (proc == NULL) {
    BLOCKED("opendir /proc: %s", errname(errno));
    return;
  }
  struct dirent* entry;
  int looked = 0;
  while ((entry = readdir(proc)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    static const char* const links[] = {"root", "cwd"};
    for (int i = 0; i < 2; i++) {
      char path[300];
      snprintf(path, sizeof path, "/proc/%s/%s", entry->d_name, links[i]);
      int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) continue;
      looked++;
      int sees = sees_marker(fd);
      close(fd);
      if (sees) {
        closedir(proc);
        ESCAPED("%s shows the host root (the host marker is visible)", path);
        return;
      }
    }
  }
  closedir(proc);
  BLOCKED("%d /proc/*/root and cwd links opened, all inside the box", looked);
}

static void attack_open_by_handle(void) {
  struct {
    struct file_handle handle;
    unsigned char bytes[128];
  } h;
  h.handle.handle_bytes = 128;
  int mount_id;
  int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (name_to_handle_at(AT_FDCWD, "/", &h.handle, &mount_id, 0) == 0) {
    int fd = open_by_handle_at(root, &h.handle, O_RDONLY);
    if (fd >= 0) {
      ESCAPED("open_by_handle_at opened / by its handle");
      return;
    }
  }
  // The "shocker" handle: inode 2 (an ext4 root) with generation 0.
  h.handle.handle_bytes = 8;
  h.handle.handle_type = 1;  // FILEID_INO32_GEN
  uint32_t ino_gen[2] = {2, 0};
  memcpy(h.handle.f_handle, ino_gen, sizeof ino_gen);
  int fd = open_by_handle_at(root, &h.handle, O_RDONLY);
  if (fd >= 0) {
    ESCAPED("open_by_handle_at opened inode 2 of the root file system");
    return;
  }
  BLOCKED("open_by_handle_at: %s", errname(errno));
}

static void attack_mknod_device(void) {
  static const char* const paths[] = {"/tmp/.escape-mem", "/dev/shm/.escape-mem", "/.escape-mem", "/dev/.escape-mem"};
  struct reasons why = {0};
  for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    if (mknod(paths[i], S_IFCHR | 0600, makedev(1, 1)) == 0) {
      int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
      int e = errno;
      unlink(paths[i]);
      if (fd >= 0) {
        close(fd);
        ESCAPED("made and opened /dev/mem's device node at %s", paths[i]);
      } else {
        ESCAPED("made a character device node at %s (open: %s)", paths[i], errname(e));
      }
      return;
    }
    reason_add(&why, paths[i], errno);
  }
  BLOCKED("%s", why.text);
}

struct escape_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

// The directory the payload runs from (a read-only bind of the harness's).
static const char* own_dir(char* buf, size_t size) {
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  buf[n > 0 ? n : 0] = '\0';
  char* slash = strrchr(buf, '/');
  if (slash != NULL && slash != buf) *slash = '\0';
  return buf;
}

static void attack_remount_rw(void) {
  char dir[512];
  const char* const targets[] = {"/", own_dir(dir, sizeof dir)};
  struct reasons why = {0};
  for (unsigned i = 0; i < 2; i++) {
    if (mount(NULL, targets[i], NULL, MS_REMOUNT | MS_BIND, NULL) == 0) {
      ESCAPED("mount -o remount,rw %s succeeded", targets[i]);
      return;
    }
    reason_add(&why, "remount", errno);
    struct escape_mount_attr attr = {.attr_clr = ESCAPE_MOUNT_ATTR_RDONLY};
    if (syscall(__NR_mount_setattr, AT_FDCWD, targets[i], AT_RECURSIVE, &attr, sizeof attr) == 0) {
      ESCAPED("mount_setattr cleared MOUNT_ATTR_RDONLY on %s", targets[i]);
      return;
    }
    reason_add(&why, "mount_setattr", errno);
  }
  BLOCKED("%s", why.text);
}

static void attack_mount(void) {
  const char* marker = input("ESCAPE_MOUNT_MARKER");
  if (marker == NULL) marker = "cordon-escape-marker";
  struct reasons why = {0};
  char dir[512];
  const char* const targets[] = {"/tmp", own_dir(dir, sizeof dir), "/"};
  for (unsigned i = 0; i < 3; i++) {
    if (mount(marker, targets[i], "tmpfs", 0, NULL) == 0) {
      ESCAPED("mounted a tmpfs on %s", targets[i]);
      return;
    }
    reason_add(&why, targets[i], errno);
  }
  int fd = (int)syscall(__NR_fsopen, "tmpfs", 0);
  if (fd >= 0) {
    ESCAPED("fsopen(tmpfs) gave a file system context");
    return;
  }
  reason_add(&why, "fsopen", errno);
  BLOCKED("%s", why.text);
}

// ---------------------------------------------------------------- namespaces

static void attack_unshare_user(void) {
  if (unshare(CLONE_NEWUSER) == 0) {
    ESCAPED("unshare(CLONE_NEWUSER) made a nested user namespace");
    return;
  }
  BLOCKED("unshare(CLONE_NEWUSER): %s", errname(errno));
}

static void attack_clone_newuser(void) {
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0, 0, 0, 0);
  if (pid == 0) syscall(SYS_exit_group, 0);
  if (pid > 0) {
    waitpid((pid_t)pid, NULL, 0);
    ESCAPED("clone(CLONE_NEWUSER) made a child in a nested user namespace");
    return;
  }
  BLOCKED("clone(CLONE_NEWUSER): %s", errname(errno));
}

struct escape_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void attack_clone3_newuser(void) {
  struct escape_clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
  long pid = syscall(__NR_clone3, &args, sizeof args);
  if (pid == 0) syscall(SYS_exit_group, 0);
  if (pid > 0) {
    waitpid((pid_t)pid, NULL, 0);
    ESCAPED("clone3(CLONE_NEWUSER) made a child in a nested user namespace");
    return;
  }
  BLOCKED("clone3(CLONE_NEWUSER): %s", errname(errno));
}

static void attack_unshare_namespaces(void) {
  static const struct {
    int flag;
    const char* name;
  } kinds[] = {{CLONE_NEWNS, "mnt"}, {CLONE_NEWNET, "net"}, {CLONE_NEWPID, "pid"}, {CLONE_NEWIPC, "ipc"}, {CLONE_NEWUTS, "uts"}, {CLONE_NEWCGROUP, "cgroup"}, {ESCAPE_CLONE_NEWTIME, "time"}};
  struct reasons why = {0};
  for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (unshare(kinds[i].flag) == 0) {
      ESCAPED("unshare made a new %s namespace", kinds[i].name);
      return;
    }
    reason_add(&why, kinds[i].name, errno);
  }
  BLOCKED("%s", why.text);
}

static void attack_cgroup_release_agent(void) {
  struct reasons why = {0};
  // CVE-2022-0492: a new user and mount namespace, a v1 hierarchy, its release_agent.
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) reason_add(&why, "unshare", errno);
  mkdir("/tmp/.escape-cgroup", 0755);
  static const char* const controllers[] = {"rdma", "memory", "pids", "none,name=escape"};
  for (unsigned i = 0; i < 4; i++) {
    if (mount("cgroup", "/tmp/.escape-cgroup", "cgroup", 0, controllers[i]) == 0) {
      int fd = open("/tmp/.escape-cgroup/release_agent", O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        close(fd);
        ESCAPED("mounted cgroup v1 (%s) and opened its release_agent for writing", controllers[i]);
      } else {
        ESCAPED("mounted cgroup v1 (%s) (release_agent: %s)", controllers[i], errname(errno));
      }
      return;
    }
    reason_add(&why, controllers[i], errno);
  }
  // The host's own hierarchies, if visible: never written, only opened.
  DIR* dir = opendir("/sys/fs/cgroup");
  if (dir != NULL) {
    struct dirent* entry;
    while ((entry = readdir(dir)) != NULL) {
      if (entry->d_name[0] == '.') continue;
      char path[300];
      snprintf(path, sizeof path, "/sys/fs/cgroup/%s/release_agent", entry->d_name);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        close(fd);
        closedir(dir);
        ESCAPED("opened %s for writing", path);
        return;
      }
      if (errno != ENOENT) reason_add(&why, path, errno);
    }
    closedir(dir);
  }
  BLOCKED("%s", why.text);
}

// ---------------------------------------------------------------- credentials

static void attack_setuid_plant(void) {
  const char* dirs = input("ESCAPE_SUID_DIRS");
  int count = SPLIT(dirs ? dirs : "/tmp:/dev/shm:/", ':');
  struct reasons why = {0};
  char path[300] = "";
  int out = -1;
  for (int i = 0; i < count && out < 0; i++) {
    snprintf(path, sizeof path, "%s/escape-suid", strcmp(items[i], "/") == 0 ? "" : items[i]);
    unlink(path);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (out < 0) reason_add(&why, items[i], errno);
  }
  if (out < 0) {
    BLOCKED("no writable place for a setuid copy: %s", why.text);
    return;
  }
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  char buf[65536];
  ssize_t n;
  while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) break;
  if (in >= 0) close(in);
  if (fchmod(out, 04755) != 0) {
    int e = errno;
    close(out);
    BLOCKED("chmod u+s %s: %s", path, errname(e));
    return;
  }
  close(out);
  struct stat st;
  stat(path, &st);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    ERROR("pipe: %s", errname(errno));
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    char* argv[] = {path, "ids", NULL};
    char* envp[] = {NULL};
    execve(path, argv, envp);
    _exit(127);
  }
  close(pipefd[1]);
  char text[128] = "";
  ssize_t got = read(pipefd[0], text, sizeof text - 1);
  text[got > 0 ? got : 0] = '\0';
  int status = 0;
  waitpid(pid, &status, 0);
  unsigned uid = 0, euid = 0;
  if (sscanf(text, "ids uid=%u euid=%u", &uid, &euid) != 2) {
    BLOCKED("the setuid copy %s did not run (status %#x)", path, status);
    return;
  }
  if (euid != uid)
    ESCAPED("the setuid copy %s (owner %u, mode %o) ran with euid %u for uid %u", path, (unsigned)st.st_uid, st.st_mode & 07777, euid, uid);
  else if (st.st_uid == uid)
    BLOCKED("euid unchanged (%u), but trivially: the payload owns its copy %s (a second box as another uid checks it)", euid, path);
  else
    BLOCKED("the setuid copy %s (owner %u) ran with euid %u: setuid ignored", path, (unsigned)st.st_uid, euid);
}

static void attack_payload_confinement(void) {
  char text[8192];
  int n = read_file("/proc/self/status", text + 1, sizeof text - 1);
  if (n < 0) {
    ERROR("/proc/self/status: %s", errname(-n));
    return;
  }
  text[0] = '\n';
  static const struct {
    const char* field;
    const char* want;
  } checks[] = {{"CapInh", "0000000000000000"}, {"CapPrm", "0000000000000000"}, {"CapEff", "0000000000000000"}, {"CapBnd", "0000000000000000"}, {"CapAmb", "0000000000000000"}, {"NoNewPrivs", "1"}, {"Seccomp", "2"}};
  for (unsigned i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    char value[64];
    if (status_field(text, checks[i].field, value, sizeof value) == NULL) continue;
    if (strcmp(value, checks[i].want) != 0) {
      ESCAPED("%s: %s (expected %s)", checks[i].field, value, checks[i].want);
      return;
    }
  }
  BLOCKED("no capabilities, no_new_privs, a seccomp filter");
}

static void attack_proc_sysrq_trigger(void) {
  int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    ESCAPED("opened /proc/sysrq-trigger for writing (nothing written)");
    return;
  }
  BLOCKED("open /proc/sysrq-trigger: %s", errname(errno));
}

static void attack_proc_core_pattern(void) {
  int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    ESCAPED("opened /proc/sys/kernel/core_pattern for writing (nothing written)");
    return;
  }
  BLOCKED("open /proc/sys/kernel/core_pattern: %s", errname(errno));
}

// ---------------------------------------------------------------- terminals

static void attack_tiocsti(void) {
  struct reasons why = {0};
  char c = '#';
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) {
    reason_add(&why, "/dev/tty (no controlling terminal)", errno);
  } else {
    if (ioctl(tty, TIOCSTI, &c) == 0) {
      ESCAPED("TIOCSTI pushed input into the controlling terminal");
      return;
    }
    reason_add(&why, "TIOCSTI on /dev/tty", errno);
    close(tty);
  }
  for (int fd = 0; fd < 3; fd++) {
    char what[32];
    snprintf(what, sizeof what, "TIOCSTI on fd %d", fd);
    if (ioctl(fd, TIOCSTI, &c) == 0) {
      ESCAPED("TIOCSTI pushed input into the terminal on fd %d", fd);
      return;
    }
    reason_add(&why, what, errno);
  }
  BLOCKED("%s", why.text);
}

// ---------------------------------------------------------------- kernel surface

static void fd_or_errno(const char* what, long fd) {
  if (fd >= 0) {
    ESCAPED("%s gave fd %ld", what, fd);
    return;
  }
  BLOCKED("%s: %s", what, errname(errno));
}

static void attack_io_uring_setup(void) {
  unsigned char params[120] = {0};  // struct io_uring_params
  fd_or_errno("io_uring_setup", syscall(__NR_io_uring_setup, 1, params));
}

static void attack_x32_syscall(void) {
#if defined(__x86_64__)
  long pid = syscall(39 /* getpid */ | X32_SYSCALL_BIT);
  if (pid == getpid()) {
    long r = syscall(272 /* unshare */ | X32_SYSCALL_BIT, CLONE_NEWUSER);
    ESCAPED("the x32 ABI is reachable (x32 getpid answered; x32 unshare(CLONE_NEWUSER): %s)", r == 0 ? "succeeded" : errname(errno));
    return;
  }
  BLOCKED("x32 getpid: %s", errname(errno));
#else
  BLOCKED("not x86_64: no x32 ABI");
#endif
}

static void attack_add_key(void) {
  long id = syscall(SYS_add_key, "user", "cordon-escape", "x", 1, -3 /* KEY_SPEC_SESSION_KEYRING */);
  if (id >= 0) {
    ESCAPED("add_key made key %ld", id);
    return;
  }
  BLOCKED("add_key: %s", errname(errno));
}

static void attack_keyctl(void) {
  long id = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* KEY_SPEC_USER_KEYRING */, 0);
  if (id >= 0) {
    ESCAPED("keyctl reached the user keyring %ld (shared by every box of this uid)", id);
    return;
  }
  BLOCKED("keyctl: %s", errname(errno));
}

static void attack_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  fd_or_errno("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
}

static void attack_perf_event_open(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  fd_or_errno("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}

static void attack_userfaultfd(void) {
  long fd = syscall(__NR_userfaultfd, O_CLOEXEC);
  if (fd >= 0) {
    ESCAPED("userfaultfd gave fd %ld", fd);
    return;
  }
  int e = errno;
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev >= 0) {
    ESCAPED("/dev/userfaultfd opened");
    return;
  }
  BLOCKED("userfaultfd: %s; /dev/userfaultfd: %s", errname(e), errname(errno));
}

// A refused privileged call says EPERM (seccomp or the capability check);
// any other error means the permission check passed.
static int refused(int e) { return e == EPERM || e == EACCES || e == ENOSYS; }

static void attack_kernel_module(void) {
  struct reasons why = {0};
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  long r = syscall(SYS_finit_module, fd, "", 0);
  if (r == 0 || !refused(errno)) {
    ESCAPED("finit_module passed the permission check (%s)", r == 0 ? "loaded" : errname(errno));
    return;
  }
  reason_add(&why, "finit_module", errno);
  r = syscall(SYS_init_module, NULL, 0, "");
  if (r == 0 || !refused(errno)) {
    ESCAPED("init_module passed the permission check (%s)", r == 0 ? "loaded" : errname(errno));
    return;
  }
  reason_add(&why, "init_module", errno);
  r = syscall(SYS_delete_module, "cordon_escape_none", O_NONBLOCK);
  if (r == 0 || !refused(errno)) {
    ESCAPED("delete_module passed the permission check (%s)", r == 0 ? "removed" : errname(errno));
    return;
  }
  reason_add(&why, "delete_module", errno);
  BLOCKED("%s", why.text);
}

static void attack_kexec(void) {
  struct reasons why = {0};
  // More segments than KEXEC_SEGMENT_MAX: EINVAL once the permission check passed.
  long r = syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0UL);
  if (r == 0 || !refused(errno)) {
    ESCAPED("kexec_load passed the permission check (%s)", r == 0 ? "loaded" : errname(errno));
    return;
  }
  reason_add(&why, "kexec_load", errno);
#ifdef SYS_kexec_file_load
  r = syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL);
  if (r == 0 || !refused(errno)) {
    ESCAPED("kexec_file_load passed the permission check (%s)", r == 0 ? "loaded" : errname(errno));
    return;
  }
  reason_add(&why, "kexec_file_load", errno);
#endif
  BLOCKED("%s", why.text);
}

static void attack_reboot(void) {
  // A command that is none of reboot's: EINVAL once CAP_SYS_BOOT was granted.
  long r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x0BADC0DE, NULL);
  if (r == 0 || !refused(errno)) {
    ESCAPED("reboot passed the permission check (%s)", r == 0 ? "accepted" : errname(errno));
    return;
  }
  BLOCKED("reboot: %s", errname(errno));
}

static void attack_swapon(void) {
  if (swapon("/.cordon-escape-no-such-swap", 0) == 0 || !refused(errno)) {
    ESCAPED("swapon passed the permission check (%s)", errname(errno));
    return;
  }
  BLOCKED("swapon: %s", errname(errno));
}

static void attack_settimeofday(void) {
  // Neither a time nor a zone: changes nothing, but needs CAP_SYS_TIME.
  if (syscall(SYS_settimeofday, NULL, NULL) == 0) {
    ESCAPED("settimeofday passed the permission check");
    return;
  }
  BLOCKED("settimeofday: %s", errname(errno));
}

// ---------------------------------------------------------------- identity (namespaces, host root)

static void attack_namespaces(void) {
  int count = SPLIT(input("ESCAPE_HOST_NS"), ',');
  char shared[300] = "", fresh[300] = "";
  size_t s = 0, f = 0;
  for (int i = 0; i < count; i++) {
    char* eq = strchr(items[i], '=');
    if (eq == NULL) continue;
    *eq = '\0';
    char path[128], target[128];
    snprintf(path, sizeof path, "/proc/self/ns/%s", items[i]);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) continue;
    target[n] = '\0';
    const char* open = strchr(target, '[');
    unsigned long inode = open ? strtoul(open + 1, NULL, 10) : 0;
    int same = inode == strtoul(eq + 1, NULL, 10);
    char* buf = same ? shared : fresh;
    size_t* used = same ? &s : &f;
    int w = snprintf(buf + *used, 300 - *used, "%s%s", *used ? "," : "", items[i]);
    if (w > 0 && *used + (size_t)w < 300) *used += (size_t)w;
  }
  if (s > 0)
    ESCAPED("shares the caller's namespaces: %s (new: %s)", shared, f ? fresh : "none");
  else
    BLOCKED("new namespaces: %s", fresh);
}

static void attack_host_root(void) {
  char map[4096];
  int n = read_file("/proc/self/uid_map", map, sizeof map);
  if (n < 0) {
    ERROR("/proc/self/uid_map: %s", errname(-n));
    return;
  }
  unsigned euid = (unsigned)geteuid();
  unsigned long inside, outside, len;
  char* p = map;
  int off;
  while (sscanf(p, "%lu %lu %lu%n", &inside, &outside, &len, &off) == 3) {
    if (euid >= inside && euid - inside < len) {
      unsigned long host = outside + (euid - inside);
      if (host == 0)
        ESCAPED("euid %u is host root (uid_map: %lu %lu %lu)", euid, inside, outside, len);
      else
        BLOCKED("euid %u is host uid %lu", euid, host);
      return;
    }
    p += off;
  }
  BLOCKED("euid %u is not mapped to a host uid", euid);
}

// ---------------------------------------------------------------- red team: the sealed init, the view, the counters

// The fds open when main() started (other than 0-2): what the box handed
// the payload. Filled in by main before anything else opens a file.
static char inherited[700];

static void record_inherited_fds(void) {
  size_t used = 0;
  for (int fd = 3; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    char link[64], where[200];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, where, sizeof where - 1);
    where[n > 0 ? n : 0] = '\0';
    int w = snprintf(inherited + used, sizeof inherited - used, "%s%d -> %s", used ? ", " : "", fd, where);
    if (w > 0 && used + (size_t)w < sizeof inherited) used += (size_t)w;
  }
}

static void attack_inherited_fds(void) {
  if (inherited[0] != '\0')
    ESCAPED("the payload started with fds beyond stdio: %s", inherited);
  else
    BLOCKED("the payload started with fds 0-2 only");
}

// What /proc/1 still gives a process of the box once the init is sealed:
// each of these needs ptrace read access to the init (its mountinfo and
// status do not, and tell nothing the payload's own do not). Unprivileged,
// the init's /proc entries belong to the box's root (its mm stays in the
// box's user namespace: the caller's own init copy is readable there), so
// the payload may list /proc/1/fd and /proc/1/ns: the names, not what they
// lead to.
static void attack_proc_init_files(void) {
  static const char* const files[] = {"environ", "maps", "smaps", "auxv", "stack", "syscall", "pagemap", "personality", "io", "timers", "task/1/environ", "task/1/maps", "task/1/mem"};
  static const char* const dirs[] = {"cwd", "root", "task/1/cwd", "task/1/root"};
  static const char* const links[] = {"fd", "map_files", "ns", "fdinfo", "task/1/fd"};
  struct reasons why = {0};
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/1/%s", files[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      reason_add(&why, files[i], errno);
      continue;
    }
    // (mem: the word at the init's first mapping; at offset 0 nothing is mapped)
    ssize_t n = strstr(files[i], "mem") ? pread(fd, buf, sizeof buf, (off_t)first_mapping(1)) : read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    if (n > 0) {
      ESCAPED("read %zd bytes of %s", n, path);
      return;
    }
    reason_add(&why, files[i], n < 0 ? e : ENODATA);
  }
  for (unsigned i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/1/%s", dirs[i]);
    DIR* dir = opendir(path);
    if (dir != NULL) {
      closedir(dir);
      ESCAPED("opened the init's %s", path);
      return;
    }
    reason_add(&why, dirs[i], errno);
  }
  // Each entry of the init's fd, map_files, ns and fdinfo: where it leads
  // (readlink) and what it opens (open).
  for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/1/%s", links[i]);
    DIR* dir = opendir(path);
    if (dir == NULL) {
      reason_add(&why, links[i], errno);
      continue;
    }
    struct dirent* entry;
    int last = ENODATA;
    while ((entry = readdir(dir)) != NULL) {
      if (entry->d_name[0] == '.') continue;
      char entry_path[400], target[256];
      snprintf(entry_path, sizeof entry_path, "%s/%s", path, entry->d_name);
      ssize_t n = readlink(entry_path, target, sizeof target - 1);
      if (n >= 0 && strcmp(links[i], "fdinfo") != 0) {
        target[n] = '\0';
        closedir(dir);
        ESCAPED("readlink %s: %s", entry_path, target);
        return;
      }
      int fd = open(entry_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        char buf[64];
        ssize_t got = read(fd, buf, sizeof buf);
        close(fd);
        if (strcmp(links[i], "fdinfo") != 0 || got > 0) {
          closedir(dir);
          ESCAPED("opened %s", entry_path);
          return;
        }
      }
      last = errno;
    }
    closedir(dir);
    reason_add(&why, links[i], last);
  }
  // The init's binary through its task directory, for writing.
  int exe = open("/proc/1/task/1/exe", O_WRONLY | O_CLOEXEC);
  if (exe >= 0) {
    close(exe);
    ESCAPED("opened /proc/1/task/1/exe for writing");
    return;
  }
  reason_add(&why, "task/1/exe", errno);
  BLOCKED("%s", why.text);
}

// Unprivileged, /proc/1/oom_score_adj belongs to the box's root (see
// above): raising the init's score only makes the box's own end likelier
// under memory pressure, but lowering it (to be the last process the OOM
// killer picks, host-wide) needs CAP_SYS_RESOURCE.
static void attack_init_oom_score(void) {
  int fd = open("/proc/1/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    BLOCKED("open /proc/1/oom_score_adj O_WRONLY: %s", errname(errno));
    return;
  }
  ssize_t n = write(fd, "-1000", 5);
  int e = errno;
  close(fd);
  if (n == 5)
    ESCAPED("set pid 1's oom_score_adj to -1000");
  else
    BLOCKED("opened /proc/1/oom_score_adj, writing -1000: %s", errname(e));
}

// The init's state letter in /proc/1/stat and whether SIGSTOP or SIGKILL
// waits in its pending sets (a signal that was not dropped on sending).
static char init_state(int* pending) {
  char text[4096], value[64];
  *pending = 0;
  if (read_file("/proc/1/status", text + 1, sizeof text - 1) > 0) {
    text[0] = '\n';
    const char* fields[] = {"SigPnd", "ShdPnd"};
    for (int i = 0; i < 2; i++) {
      if (status_field(text, fields[i], value, sizeof value) != NULL) {
        unsigned long long mask = strtoull(value, NULL, 16);
        if (mask & ((1ULL << (SIGSTOP - 1)) | (1ULL << (SIGKILL - 1)))) *pending = 1;
      }
    }
  }
  if (read_file("/proc/1/stat", text, sizeof text) <= 0) return '?';
  const char* close_paren = strrchr(text, ')');
  return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : '?';
}

// SIGSTOP and SIGKILL to PID 1 from inside its pid namespace: a stopped
// init reports nothing, a dead one takes the box along without an exit
// record. The kernel drops both (an init only gets signals it handles, and
// SIGKILL/SIGSTOP only from an ancestor namespace). If SIGKILL got through,
// this whole box dies: the harness sees no `done` line.
static void attack_init_signals(void) {
  int r_stop = kill(1, SIGSTOP);
  int e_stop = errno;
  int pending = 0;
  char state = init_state(&pending);
  if (state == 'T' || state == 't' || pending) {
    kill(1, SIGCONT);
    ESCAPED("SIGSTOP to pid 1 %s (state %c, pending %d)", r_stop == 0 ? "sent" : errname(e_stop), state, pending);
    return;
  }
  int r_kill = kill(1, SIGKILL);
  int e_kill = errno;
  state = init_state(&pending);
  if (state == 'Z' || state == 'X' || pending) {
    ESCAPED("SIGKILL to pid 1 %s (state %c, pending %d)", r_kill == 0 ? "sent" : errname(e_kill), state, pending);
    return;
  }
  BLOCKED("SIGSTOP %s, SIGKILL %s: dropped, pid 1 is '%c'", r_stop == 0 ? "accepted" : errname(e_stop),
          r_kill == 0 ? "accepted" : errname(e_kill), state);
}

// Every file under /proc/sys opened for writing (nothing written), but the
// box's own IPC and pid namespace limits: the kernel counters' limits in
// /proc/sys/user (the box's user namespace: writing needs CAP_SYS_RESOURCE),
// the net sysctls of its network namespace (CAP_NET_ADMIN), the host's.
// The sysctls of the box's own IPC and pid namespaces belong to the box's
// root by design (ipc_permissions, pid_table_root_permissions): its own
// message, semaphore and shared memory limits, its pid_max (each level of
// pids is still bounded by its own namespace's), ns_last_pid (a write needs
// CAP_CHECKPOINT_RESTORE). IPC objects are charged to the box's memory cgroup.
static int own_namespace_sysctl(const char* path) {
  static const char* const own[] = {"/proc/sys/fs/mqueue/", "/proc/sys/kernel/msg", "/proc/sys/kernel/sem", "/proc/sys/kernel/shm",
                                    "/proc/sys/kernel/auto_msgmni", "/proc/sys/kernel/pid_max", "/proc/sys/kernel/ns_last_pid"};
  for (unsigned i = 0; i < sizeof own / sizeof own[0]; i++)
    if (strncmp(path, own[i], strlen(own[i])) == 0) return 1;
  return 0;
}

static int sys_writable(const char* dir, char* found, size_t size, size_t* used, int depth, int* checked) {
  DIR* d = opendir(dir);
  if (d == NULL || depth > 8) {
    if (d) closedir(d);
    return 0;
  }
  int hits = 0;
  struct dirent* entry;
  while ((entry = readdir(d)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      hits += sys_writable(path, found, size, used, depth + 1, checked);
      continue;
    }
    if (!S_ISREG(st.st_mode) || own_namespace_sysctl(path)) continue;
    (*checked)++;
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    close(fd);
    hits++;
    int n = snprintf(found + *used, size - *used, "%s%s", *used ? ", " : "", path + 10);
    if (n > 0 && *used + (size_t)n < size) *used += (size_t)n;
  }
  closedir(d);
  return hits;
}

static void attack_proc_sys_write(void) {
  char found[600] = "";
  size_t used = 0;
  int checked = 0;
  int hits = sys_writable("/proc/sys", found, sizeof found, &used, 0, &checked);
  if (checked == 0)
    ERROR("no file under /proc/sys to try");
  else if (hits > 0)
    ESCAPED("%d of %d /proc/sys files open for writing: %s", hits, checked, found);
  else
    BLOCKED("none of %d /proc/sys files opens for writing (kernel counters included)", checked);
}

// The rlimits cordon sets by default for the per-user kernel counters: a
// payload without CAP_SYS_RESOURCE cannot raise a hard limit.
static void attack_raise_rlimits(void) {
  static const int counted[] = {RLIMIT_NPROC, RLIMIT_MSGQUEUE, RLIMIT_SIGPENDING, RLIMIT_MEMLOCK};
  static const char* const names[] = {"nproc", "msgqueue", "sigpending", "memlock"};
  struct reasons why = {0};
  int finite = 0;
  for (unsigned i = 0; i < 4; i++) {
    struct rlimit limit;
    if (getrlimit(counted[i], &limit) != 0 || limit.rlim_max == RLIM_INFINITY) continue;
    finite++;
    struct rlimit raised = {limit.rlim_max + 1, limit.rlim_max + 1};
    if (setrlimit(counted[i], &raised) == 0) {
      ESCAPED("raised the hard %s limit from %llu", names[i], (unsigned long long)limit.rlim_max);
      return;
    }
    reason_add(&why, names[i], errno);
  }
  if (finite == 0)
    ERROR("no finite hard limit among nproc, msgqueue, sigpending, memlock");
  else
    BLOCKED("%s", why.text);
}

// The box's own cgroup under /sys/fs/cgroup (or an empty directory): its
// limits, its membership and a child cgroup, opened for writing only.
static void attack_cgroup_write(void) {
  static const char* const files[] = {"memory.max", "memory.high", "pids.max", "cpu.max", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.max.descendants", "cgroup.freeze", "cgroup.kill", "../cgroup.procs"};
  struct reasons why = {0};
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[128];
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s", files[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      ESCAPED("opened %s for writing", path);
      return;
    }
    if (errno != ENOENT) reason_add(&why, files[i], errno);
  }
  if (mkdir("/sys/fs/cgroup/escape-child", 0755) == 0) {
    rmdir("/sys/fs/cgroup/escape-child");
    ESCAPED("made a child cgroup /sys/fs/cgroup/escape-child");
    return;
  }
  reason_add(&why, "mkdir child", errno);
  BLOCKED("%s", why.text);
}

// The box's sysfs: the mount made writable again, or a file opened for
// writing (nothing written).
static void attack_sysfs_write(void) {
  struct reasons why = {0};
  if (mount("sysfs", "/sys", "sysfs", MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
    ESCAPED("remounted /sys read-write");
    return;
  }
  reason_add(&why, "remount /sys", errno);
  struct {
    uint64_t set, clr, propagation, userns;
  } attr = {0, ESCAPE_MOUNT_ATTR_RDONLY, 0, 0};
  if (syscall(__NR_mount_setattr, AT_FDCWD, "/sys", 0, &attr, sizeof attr) == 0) {
    ESCAPED("mount_setattr cleared MOUNT_ATTR_RDONLY on /sys");
    return;
  }
  reason_add(&why, "mount_setattr /sys", errno);
  static const char* const files[] = {"/sys/kernel/uevent_helper", "/sys/class/net/lo/mtu", "/sys/class/net/lo/tx_queue_len", "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/power/state", "/sys/kernel/profiling"};
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
    int fd = open(files[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      ESCAPED("opened %s for writing", files[i]);
      return;
    }
    if (errno != ENOENT) reason_add(&why, files[i], errno);
  }
  BLOCKED("%s", why.text);
}

// The directories the default view empties: a file, a directory or a mode
// change made there would be seen by every hidden directory of the box
// (they share one empty tmpfs), or by the host if it were the host's.
static void attack_hidden_dir_write(void) {
  int count = SPLIT(input("ESCAPE_HIDDEN_DIRS"), '\n');
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/escape-file", items[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      close(fd);
      unlink(path);
      ESCAPED("made %s", path);
      return;
    }
    reason_add(&why, items[i], errno);
    snprintf(path, sizeof path, "%s/escape-dir", items[i]);
    if (mkdir(path, 0755) == 0) {
      rmdir(path);
      ESCAPED("made %s", path);
      return;
    }
    struct stat st;
    if (stat(items[i], &st) == 0 && chmod(items[i], st.st_mode & 07777) == 0) {
      ESCAPED("chmod %s succeeded (mode kept)", items[i]);
      return;
    }
  }
  BLOCKED("%s", why.text);
}

// Every mount point of the box unmounted (detached): the masks over host
// sockets, the empty directories over /home or /var, /proc and /sys over
// the host's (still underneath in the box's mount namespace).
static void attack_unmount(void) {
  static char text[1 << 16];
  int n = read_file("/proc/self/mountinfo", text, sizeof text);
  if (n < 0) {
    ERROR("/proc/self/mountinfo: %s", errname(-n));
    return;
  }
  int tried = 0, last = 0;
  char* line = text;
  while (line != NULL && *line != '\0') {
    char* next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    char point[512];
    if (sscanf(line, "%*s %*s %*s %*s %511s", point) == 1 && strcmp(point, "/") != 0 && strchr(point, '\\') == NULL) {
      tried++;
      if (umount2(point, MNT_DETACH) == 0) {
        ESCAPED("unmounted %s", point);
        return;
      }
      last = errno;
    }
    line = next;
  }
  if (tried == 0)
    ERROR("no mount point besides / in mountinfo");
  else
    BLOCKED("umount2 of %d mount points: %s", tried, errname(last));
}

// A host file linked into a writable directory of the box (a copy the
// host's owner could not take back, or one the box could rewrite): the
// links cross filesystems, directly or through an O_PATH fd.
static void attack_hardlink_host_file(void) {
  int count = SPLIT(input("ESCAPE_LINK_FILES"), '\n');
  static const char* const dirs[] = {"/tmp", "/dev/shm", "/run"};
  struct reasons why = {0};
  for (int i = 0; i < count; i++) {
    for (unsigned d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
      char to[256];
      snprintf(to, sizeof to, "%s/escape-link", dirs[d]);
      if (link(items[i], to) == 0) {
        unlink(to);
        ESCAPED("linked %s to %s", items[i], to);
        return;
      }
      if (errno != ENOENT || d == 0) reason_add(&why, to, errno);
      int fd = open(items[i], O_PATH | O_CLOEXEC);
      if (fd >= 0) {
        int r = linkat(fd, "", AT_FDCWD, to, AT_EMPTY_PATH);
        int e = errno;
        close(fd);
        if (r == 0) {
          unlink(to);
          ESCAPED("linked %s to %s through an O_PATH fd", items[i], to);
          return;
        }
        if (d == 0) reason_add(&why, "AT_EMPTY_PATH", e);
      }
    }
  }
  BLOCKED("%s", why.text);
}

// A pipe the box was handed as stdio (with stdio 'inherit', the
// supervisor's own, which every such box and the supervisor write to) is
// reopened through /proc/self/fd for the other direction: its read end
// takes what other writers send, its write end feeds the box's stdin
// writer's readers. A pipe's inode belongs to the uid that made it.
static void attack_reopen_stdio(void) {
  struct reasons why = {0};
  int tried = 0;
  for (int fd = 0; fd <= 2; fd++) {
    struct stat st;
    // A socket pair ('pipe' stdio) cannot be reopened (ENXIO): tried too.
    if (fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) continue;
    tried++;
    int flags = fcntl(fd, F_GETFL);
    int other = (flags & O_ACCMODE) == O_RDONLY ? O_WRONLY : O_RDONLY;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int reopened = open(path, other | O_NONBLOCK | O_CLOEXEC);
    if (reopened >= 0) {
      close(reopened);
      ESCAPED("reopened fd %d (a %s) %s through %s", fd, S_ISFIFO(st.st_mode) ? "pipe" : "socket", other == O_RDONLY ? "for reading" : "for writing", path);
      return;
    }
    reason_add(&why, path, errno);
  }
  if (tried == 0)
    ERROR("no pipe or socket among fds 0-2");
  else
    BLOCKED("%s", why.text);
}

// ---------------------------------------------------------------- the table

struct attack {
  const char* name;
  void (*run)(void);
  const char* needs;  // the input it needs to run in `all`, or NULL
};

static const struct attack attacks[] = {
    {"payload-confinement", attack_payload_confinement, NULL},
    {"ptrace-init-attach", attack_ptrace_init_attach, NULL},
    {"ptrace-init-seize", attack_ptrace_init_seize, NULL},
    {"process-vm-writev-init", attack_process_vm_writev_init, NULL},
    {"proc-init-mem", attack_proc_init_mem, NULL},
    {"pidfd-getfd-init", attack_pidfd_getfd_init, NULL},
    {"init-seccomp", attack_init_seccomp, NULL},
    {"exe-write-pid1", attack_exe_write_pid1, NULL},
    {"exe-chmod-pid1", attack_exe_chmod_pid1, NULL},
    {"exe-truncate-pid1", attack_exe_truncate_pid1, NULL},
    {"exe-write-pid2", attack_exe_write_pid2, NULL},
    {"exe-chmod-pid2", attack_exe_chmod_pid2, NULL},
    {"exe-truncate-pid2", attack_exe_truncate_pid2, NULL},
    {"init-exit-forge", attack_init_exit_forge, NULL},
    {"host-unix-connect-run", attack_host_unix_connect_run, "ESCAPE_UNIX_RUN"},
    {"host-unix-connect-var", attack_host_unix_connect_var, "ESCAPE_UNIX_VAR"},
    {"host-unix-connect-host", attack_host_unix_connect_host, "ESCAPE_UNIX_HOST"},
    {"host-unix-connect-abstract", attack_host_unix_connect_abstract, "ESCAPE_UNIX_ABSTRACT"},
    {"read-home-secret", attack_read_home_secret, "ESCAPE_SECRET_FILES"},
    {"read-real-home", attack_read_real_home, "ESCAPE_HOME_DIRS"},
    {"forbidden-files", attack_forbidden_files, "ESCAPE_FORBIDDEN"},
    {"sys-class-net", attack_sys_class_net, "ESCAPE_HOST_IFACES"},
    {"sys-fs-cgroup", attack_sys_fs_cgroup, "ESCAPE_HOST_CGROUPS"},
    {"mountinfo-host-paths", attack_mountinfo_host_paths, "ESCAPE_HOST_PATHS"},
    {"tmp-size", attack_tmp_size, NULL},
    {"tmpfs-inodes", attack_tmpfs_inodes, NULL},
    {"dev-shm-size", attack_dev_shm_size, NULL},
    {"kill-host-pids", attack_kill_host_pids, "ESCAPE_HOST_PIDS"},
    {"ptrace-host-pids", attack_ptrace_host_pids, "ESCAPE_HOST_PIDS"},
    {"chroot-escape", attack_chroot_escape, "ESCAPE_HOST_MARKER"},
    {"fchdir-escape", attack_fchdir_escape, "ESCAPE_HOST_MARKER"},
    {"dotdot-escape", attack_dotdot_escape, "ESCAPE_HOST_MARKER"},
    {"proc-root", attack_proc_root, "ESCAPE_HOST_MARKER"},
    {"open-by-handle", attack_open_by_handle, NULL},
    {"mknod-device", attack_mknod_device, NULL},
    {"remount-rw", attack_remount_rw, NULL},
    {"mount", attack_mount, NULL},
    {"unshare-user", attack_unshare_user, NULL},
    {"clone-newuser", attack_clone_newuser, NULL},
    {"clone3-newuser", attack_clone3_newuser, NULL},
    {"unshare-namespaces", attack_unshare_namespaces, NULL},
    {"cgroup-release-agent", attack_cgroup_release_agent, NULL},
    {"setuid-plant", attack_setuid_plant, NULL},
    {"proc-sysrq-trigger", attack_proc_sysrq_trigger, NULL},
    {"proc-core-pattern", attack_proc_core_pattern, NULL},
    {"tiocsti", attack_tiocsti, NULL},
    {"io-uring-setup", attack_io_uring_setup, NULL},
    {"x32-syscall", attack_x32_syscall, NULL},
    {"add-key", attack_add_key, NULL},
    {"keyctl", attack_keyctl, NULL},
    {"bpf", attack_bpf, NULL},
    {"perf-event-open", attack_perf_event_open, NULL},
    {"userfaultfd", attack_userfaultfd, NULL},
    {"kernel-module", attack_kernel_module, NULL},
    {"kexec", attack_kexec, NULL},
    {"reboot", attack_reboot, NULL},
    {"swapon", attack_swapon, NULL},
    {"settimeofday", attack_settimeofday, NULL},
    {"namespaces", attack_namespaces, "ESCAPE_HOST_NS"},
    {"host-root", attack_host_root, NULL},
    {"inherited-fds", attack_inherited_fds, NULL},
    {"reopen-stdio", attack_reopen_stdio, NULL},
    {"proc-init-files", attack_proc_init_files, NULL},
    {"init-oom-score", attack_init_oom_score, NULL},
    {"proc-sys-write", attack_proc_sys_write, NULL},
    {"raise-rlimits", attack_raise_rlimits, NULL},
    {"cgroup-write", attack_cgroup_write, NULL},
    {"sysfs-write", attack_sysfs_write, NULL},
    {"hidden-dir-write", attack_hidden_dir_write, "ESCAPE_HIDDEN_DIRS"},
    {"unmount", attack_unmount, NULL},
    {"hardlink-host-file", attack_hardlink_host_file, "ESCAPE_LINK_FILES"},
    // Last: if it gets through, the box is gone.
    {"init-signals", attack_init_signals, NULL},
};

static void print_line(const char* name, const char* rest) {
  char line[1200];
  int n = snprintf(line, sizeof line, "%s %s", name, rest);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  if (n > 0 && line[n - 1] != '\n') line[n++] = '\n';
  if (write(1, line, (size_t)n) < 0) _exit(3);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

// Runs one attack in a forked process that has ATTACK_TIMEOUT seconds.
static void run_attack(const struct attack* attack) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    print_line(attack->name, "ERROR pipe failed");
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    char why[64];
    snprintf(why, sizeof why, "ERROR fork: %s", errname(errno));
    print_line(attack->name, why);
    close(pipefd[0]);
    close(pipefd[1]);
    return;
  }
  if (pid == 0) {
    close(pipefd[0]);
    result_fd = pipefd[1];
    alarm(ATTACK_TIMEOUT);
    attack->run();
    if (!reported) ERROR("the attack returned no verdict");
    _exit(0);
  }
  close(pipefd[1]);
  int status = 0;
  long waited = 0;
  pid_t done;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 && waited < (ATTACK_TIMEOUT + 5) * 1000L) {
    sleep_ms(10);
    waited += 10;
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  char buf[1100];
  ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
  close(pipefd[0]);
  if (n > 0) {
    buf[n] = '\0';
    print_line(attack->name, buf);
    return;
  }
  char why[128];
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
    snprintf(why, sizeof why, "BLOCKED killed by SIGSYS (seccomp)");
  else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    snprintf(why, sizeof why, "ERROR timed out after %d s", ATTACK_TIMEOUT);
  else if (WIFSIGNALED(status))
    snprintf(why, sizeof why, "ERROR killed by signal %d", WTERMSIG(status));
  else
    snprintf(why, sizeof why, "ERROR exited %d without a verdict", WEXITSTATUS(status));
  print_line(attack->name, why);
}

static void inotify_exhaust(void) {
  int count = 0, e = 0;
  for (;;) {
    if (inotify_init1(IN_CLOEXEC) < 0) {
      e = errno;
      break;
    }
    count++;
    if (count > 1000000) break;
  }
  char line[128];
  snprintf(line, sizeof line, "HOLDING %d %s", count, errname(e));
  print_line("inotify-exhaust", line);
  char c;
  while (read(0, &c, 1) > 0) {
  }
}

// A helper for the harness, not an attack: a file written as the box's
// root (another tenant's data).
static int write_file(const char* path, const char* content) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, content, strlen(content)) < 0) {
    fprintf(stderr, "escape write %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}

// Runs argv on a new pseudo-terminal that is its controlling terminal and
// copies what the terminal shows to stdout: the caller's terminal, for the
// TIOCSTI attack from a box started with stdio 'inherit'.
static int pty_run(char** argv) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    fprintf(stderr, "escape pty-run: no pseudo-terminal: %s\n", strerror(errno));
    return 125;
  }
  const char* name = ptsname(master);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int slave = open(name, O_RDWR);
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) != 0) _exit(125);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
    execvp(argv[0], argv);
    _exit(127);
  }
  char buf[4096];
  ssize_t n;
  // EIO once every holder of the terminal's other side has closed it.
  while ((n = read(master, buf, sizeof buf)) > 0)
    if (write(1, buf, (size_t)n) < 0) break;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A helper for the harness: prints `ready`, then connects to each socket
// path read from stdin (one a line, until EOF) and prints
// `connect <path> OK` or `connect <path> BLOCKED <errno>`: sockets the host
// makes or moves after the box has started.
static int connect_wait(void) {
  print_line("ready", "");
  static char buf[16384];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof buf - 1 && (n = read(0, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
  buf[got] = '\0';
  int count = SPLIT(buf, '\n');
  for (int i = 0; i < count; i++) {
    int r = unix_connect(items[i], 0);
    char line[600];
    snprintf(line, sizeof line, "%s %s%s", items[i], r == 0 ? "OK" : "BLOCKED ", r == 0 ? "" : errname(-r));
    print_line("connect", line);
  }
  return 0;
}

int main(int argc, char** argv) {
  record_inherited_fds();
  signal(SIGPIPE, SIG_IGN);
  // Leading KEY=VALUE arguments set inputs (for a box spawned without env).
  while (argc > 1 && strchr(argv[1], '=') != NULL) {
    putenv(argv[1]);
    argv++;
    argc--;
  }
  const char* command = argc > 1 ? argv[1] : "all";
  if (strcmp(command, "ids") == 0) {
    printf("ids uid=%u euid=%u\n", (unsigned)getuid(), (unsigned)geteuid());
    return 0;
  }
  if (strcmp(command, "inotify-exhaust") == 0) {
    inotify_exhaust();
    return 0;
  }
  if (strcmp(command, "inotify-one") == 0) {
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd >= 0)
      printf("inotify-one OK\n");
    else
      printf("inotify-one FAILED %s\n", errname(errno));
    return fd >= 0 ? 0 : 1;
  }
  if (strcmp(command, "pty-run") == 0 && argc > 2) return pty_run(argv + 2);
  if (strcmp(command, "write") == 0 && argc == 4) return write_file(argv[2], argv[3]);
  if (strcmp(command, "link") == 0 && argc == 4) {
    if (link(argv[2], argv[3]) == 0) {
      printf("link OK\n");
      return 0;
    }
    printf("link FAILED %s\n", errname(errno));
    return 1;
  }
  if (strcmp(command, "connect-wait") == 0) return connect_wait();
  if (strcmp(command, "list") == 0) {
    for (unsigned i = 0; i < sizeof attacks / sizeof attacks[0]; i++)
      printf("%s%s%s\n", attacks[i].name, attacks[i].needs ? " " : "", attacks[i].needs ? attacks[i].needs : "");
    return 0;
  }
  if (strcmp(command, "all") == 0) {
    for (unsigned i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
      if (attacks[i].needs != NULL && input(attacks[i].needs) == NULL) continue;
      run_attack(&attacks[i]);
    }
    print_line("done", "");
    return ALL_EXIT_CODE;
  }
  for (int a = 1; a < argc; a++) {
    unsigned i = 0;
    while (i < sizeof attacks / sizeof attacks[0] && strcmp(attacks[i].name, argv[a]) != 0) i++;
    if (i == sizeof attacks / sizeof attacks[0]) {
      fprintf(stderr, "escape: no attack named %s (try: escape list)\n", argv[a]);
      return 2;
    }
    run_attack(&attacks[i]);
  }
  return 0;
}
