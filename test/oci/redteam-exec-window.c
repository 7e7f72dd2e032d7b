// The container's process for the exec-window attack of
// redteam-bundle.test.js (CVE-2019-5736 family): while `cordon oci exec`
// starts processes in the container, watch its /proc for each new one and
// open /proc/PID/exe (O_PATH, what an attacker keeps to write later) and
// /proc/PID/mem before that process has exec'd. Until its exec the process
// entering the box is a clone of the runtime (Node: its binary, its memory).
//
//   redteam-exec-window DEV:INO   the host file the runtime runs (process.execPath)
//
// Prints "started", then for each new pid whose exe it could open:
// "exe PID DEV:INO", "HOST-EXE PID" when that is the runtime's binary and
// "MEM PID" when its memory opened too. Each exec'd process waits for
// /tmp/seen-PID, which this makes once it has looked at that pid. On
// SIGTERM: "done seen=N host-exe=N mem=N".
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int signal_number) {
  (void)signal_number;
  stop = 1;
}

int main(int argc, char** argv) {
  unsigned long long want_dev = 0, want_ino = 0;
  if (argc < 2 || sscanf(argv[1], "%llu:%llu", &want_dev, &want_ino) != 2) return 2;
  signal(SIGTERM, on_term);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("started\n");
  static unsigned char done_with[1 << 22];
  long seen = 0, host_exe = 0, mem = 0;
  const int self = getpid();
  while (!stop) {
    DIR* proc = opendir("/proc");
    if (proc == NULL) return 3;
    struct dirent* entry;
    while ((entry = readdir(proc)) != NULL) {
      int pid = atoi(entry->d_name);
      if (pid <= 1 || pid == self || pid >= (int)sizeof done_with || done_with[pid]) continue;
      char file[64];
      snprintf(file, sizeof file, "/proc/%d/exe", pid);
      int exe = open(file, O_PATH | O_CLOEXEC);
      if (exe < 0) continue;  // not (yet) ours to look at, or gone: the next scan tries again
      struct stat st;
      int stated = fstat(exe, &st);
      close(exe);
      if (stated != 0) continue;
      if ((unsigned long long)st.st_dev == want_dev && (unsigned long long)st.st_ino == want_ino) {
        host_exe++;
        printf("HOST-EXE %d\n", pid);
        snprintf(file, sizeof file, "/proc/%d/mem", pid);
        int memory = open(file, O_RDONLY | O_CLOEXEC);
        if (memory >= 0) {
          mem++;
          printf("MEM %d\n", pid);
          close(memory);
        }
        continue;  // look again: it is not past its exec yet
      }
      done_with[pid] = 1;
      seen++;
      printf("exe %d %llu:%llu\n", pid, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
      snprintf(file, sizeof file, "/tmp/seen-%d", pid);
      int mark = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (mark >= 0) close(mark);
    }
    closedir(proc);
  }
  printf("done seen=%ld host-exe=%ld mem=%ld\n", seen, host_exe, mem);
  return 0;
}
