// Red team: a box's set-up child shares Node's memory (CLONE_VM) until its
// exec. A second spawn that joins box A's user and pid namespaces, one that
// joins A's user namespace with a pid namespace of its own, and box.exec()
// into A all walk their set-up inside A's user namespace; rootless, that
// child keeps the supervisor's uid and stays dumpable (setns into a user
// namespace its uid owns changes no dumpability), so A's payload (here
// given CAP_SYS_PTRACE and no seccomp filter, the loosest box) would pass
// the kernel's ptrace check on it if it could name it. It cannot: setns of
// a pid namespace moves only later children, so no process that shares
// Node's memory is ever in A's pid namespace. A static attacker in A scans
// its /proc and tries process_vm_readv, open /proc/PID/mem and PTRACE_SEIZE
// on every pid; a host observer finds every process sharing Node's memory
// (kcmp KCMP_VM) and records its pid namespace. Each joining spawn makes
// 300 bind mounts to widen the window. Run as root and as nobody
// (scripts/test-unprivileged.js).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { spawnIsolated, spawnIsolatedAsync } = require('../..');
const { requireOrSkip } = require('../helpers/skip');
const { removeTree } = require('../helpers/remove-tree');

const SOURCE = String.raw`
/* attack SECONDS: (in box A) scan /proc, try process_vm_readv, open
 *   /proc/PID/mem and PTRACE_SEIZE on every other pid; print each pid's
 *   results when they change; on any access print HIT with its exe.
 * observe NODEPID SECONDS: (on the host) find every process whose memory is
 *   Node's (kcmp KCMP_VM) and print its pid namespace, pid_for_children,
 *   user namespace, /proc owner (root: non-dumpable) and uids when they change.
 * hold SECONDS: sleep. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXP 4194304
static unsigned short *last; /* a hash of the last line per pid */

static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }
static void out(const char *s) { (void)!write(1, s, strlen(s)); }
static unsigned short hash(const char *s) { unsigned h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return (unsigned short)(h | 1); }
static void emit(int pid, const char *line) {
  unsigned short h = hash(line);
  if (last[pid] == h) return;
  last[pid] = h;
  out(line);
}
static void field(int pid, const char *name, const char *key, char *buf, size_t n) {
  char path[64], text[4096];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  buf[0] = '-'; buf[1] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t r = read(fd, text, sizeof text - 1);
  close(fd);
  if (r <= 0) return;
  text[r] = 0;
  char *at = key ? strstr(text, key) : text;
  if (!at) return;
  if (key) at += strlen(key);
  while (*at == ' ' || *at == '\t') at++;
  size_t i = 0;
  while (at[i] && at[i] != '\n' && i + 1 < n) { buf[i] = at[i] == '\t' || at[i] == ' ' ? ',' : at[i]; i++; }
  buf[i] = 0;
}
static void link_of(int pid, const char *name, char *buf, size_t n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  ssize_t r = readlink(path, buf, n - 1);
  if (r < 0) snprintf(buf, n, "E%d", errno); else buf[r] = 0;
  for (char *c = buf; *c; c++) if (*c == ' ') *c = '_';
}

static int try_vm(int pid) {
  char b; struct iovec l = { &b, 1 }, r = { (void *)0x10, 1 };
  if (syscall(SYS_process_vm_readv, pid, &l, 1, &r, 1, 0) >= 0) return 0;
  return errno == EFAULT ? 0 : errno; /* EFAULT: access granted, address unmapped */
}
static int try_mem(int pid) {
  char path[64]; snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) { close(fd); return 0; }
  return errno;
}
/* A seized tracee is let go at once (stopped, then detached): a traced
 * process that exits waits for its tracer before its parent can reap it. */
static int try_seize(int pid) {
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) return errno;
  int st;
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0 && waitpid(pid, &st, __WALL) == pid) ptrace(PTRACE_DETACH, pid, 0, 0);
  return 0;
}

static int attack(double seconds) {
  int self = getpid();
  double end = now() + seconds;
  long scans = 0, tries = 0;
  char line[512];
  out("ready\n");
  while (now() < end) {
    DIR *d = opendir("/proc");
    if (!d) { out("no-proc\n"); return 2; }
    struct dirent *e;
    while ((e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == self || pid >= MAXP) continue;
      int vm = try_vm(pid), mem = try_mem(pid), seize = try_seize(pid);
      tries++;
      if (vm == ESRCH) continue;
      char comm[32], uid[64], exe[256];
      field(pid, "comm", NULL, comm, sizeof comm);
      field(pid, "status", "Uid:", uid, sizeof uid);
      if (vm == 0 || mem == 0 || seize == 0) {
        link_of(pid, "exe", exe, sizeof exe);
        snprintf(line, sizeof line, "HIT pid=%d comm=%s uid=%s vm=%d mem=%d seize=%d exe=%s\n", pid, comm, uid, vm, mem, seize, exe);
      } else {
        snprintf(line, sizeof line, "seen pid=%d comm=%s uid=%s vm=%d mem=%d seize=%d\n", pid, comm, uid, vm, mem, seize);
      }
      emit(pid, line);
    }
    closedir(d);
    scans++;
  }
  snprintf(line, sizeof line, "done scans=%ld tries=%ld\n", scans, tries);
  out(line);
  return 0;
}

static int observe(int node, double seconds) {
  double end = now() + seconds;
  long scans = 0, found = 0;
  char line[1024];
  out("ready\n");
  while (now() < end) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    while ((e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == node || pid >= MAXP) continue;
      long same = syscall(SYS_kcmp, node, pid, 0 /* KCMP_VM */, 0, 0);
      if (same != 0) continue; /* another mm, gone, or not ours to compare */
      char pidns[64], pfc[64], userns[64], uid[64], nspid[64], comm[32], path[64];
      link_of(pid, "ns/pid", pidns, sizeof pidns);
      link_of(pid, "ns/pid_for_children", pfc, sizeof pfc);
      link_of(pid, "ns/user", userns, sizeof userns);
      field(pid, "status", "Uid:", uid, sizeof uid);
      field(pid, "status", "NSpid:", nspid, sizeof nspid);
      field(pid, "comm", NULL, comm, sizeof comm);
      struct stat st; snprintf(path, sizeof path, "/proc/%d/status", pid); /* root-owned: non-dumpable */
      int owner = stat(path, &st) == 0 ? (int)st.st_uid : -1;
      snprintf(line, sizeof line, "nodemem pid=%d comm=%s pidns=%s pfc=%s userns=%s owner=%d uid=%s nspid=%s\n", pid, comm, pidns, pfc, userns, owner, uid, nspid);
      if (syscall(SYS_kcmp, node, pid, 0, 0, 0) != 0) continue; /* exec'd meanwhile */
      found++;
      emit(pid, line);
    }
    closedir(d);
    scans++;
  }
  snprintf(line, sizeof line, "done scans=%ld found=%ld\n", scans, found);
  out(line);
  return 0;
}

int main(int argc, char **argv) {
  last = calloc(MAXP, sizeof *last);
  if (argc >= 3 && !strcmp(argv[1], "attack")) return attack(atof(argv[2]));
  if (argc >= 4 && !strcmp(argv[1], "observe")) return observe(atoi(argv[2]), atof(argv[3]));
  if (argc >= 3 && !strcmp(argv[1], "hold")) { sleep(atoi(argv[2])); return 0; }
  out("usage\n");
  return 2;
}
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-rt-joinsetup-'));
fs.chmodSync(dir, 0o755);
t.teardown(() => removeTree(dir));
const helper = path.join(dir, 'rt');
fs.writeFileSync(path.join(dir, 'rt.c'), SOURCE);
const build = process.arch === 'x64'
  ? spawnSync('cc', ['-static', '-O1', '-Wall', '-o', helper, path.join(dir, 'rt.c')], { encoding: 'utf8' })
  : { status: 1, stderr: 'not x86_64' };
const see = { type: 'bind', source: dir, target: dir };
const slow = [see];
for (let i = 0; i < 300; i++) slow.push({ type: 'bind', source: dir, target: `/m/${i}` });

const ATTACK_SECONDS = 14;
const SPAWN_MS = 9000;

function collect(stream) {
  const out = [];
  stream.on('data', (chunk) => out.push(chunk));
  return () => Buffer.concat(out).toString().split('\n').filter((line) => line !== '');
}

/** Starts A (the attacker) and the host observer, runs `spawnOne(A)` for SPAWN_MS, and returns what both saw. */
async function run(t, spawnOne) {
  const a = spawnIsolated(helper, ['attack', String(ATTACK_SECONDS)], {
    mounts: [see], seccomp: false, capabilities: ['CAP_SYS_PTRACE'], stdio: ['ignore', 'pipe', 'inherit'],
  });
  const attacker = collect(a.stdout);
  const aClosed = new Promise((resolve) => a.stdout.once('close', resolve));
  const observer = spawn(helper, ['observe', String(process.pid), String(ATTACK_SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const observed = collect(observer.stdout);
  const observerDone = new Promise((resolve) => observer.once('close', resolve));
  t.teardown(() => {
    if (observer.exitCode === null && observer.signalCode === null) observer.kill('SIGKILL');
    a.kill('SIGKILL');
  });
  const pidns = fs.readlinkSync(`/proc/${a.pid}/ns/pid`);
  const userns = fs.readlinkSync(`/proc/${a.pid}/ns/user`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  let spawned = 0;
  const failed = [];
  const started = Date.now();
  while (Date.now() - started < SPAWN_MS) {
    const b = await spawnOne(a);
    const { code } = await b.exited;
    if (code !== 0) failed.push(code);
    spawned++;
  }
  t.same(failed, [], `every joining box ran (${spawned})`);
  await observerDone;
  await a.exited;
  await aClosed;
  return { spawned, pidns, userns, attacker: attacker(), observed: observed() };
}

function check(t, what, { spawned, pidns, userns, attacker, observed }, { pidForChildren }) {
  t.ok(spawned >= 3, `${what}: ${spawned} joining spawns`);
  const done = attacker.find((line) => line.startsWith('done '));
  t.ok(done !== undefined, `${what}: the attacker ran to its end (${done})`);
  // Any access from A: only to the box's own kind of process (a payload,
  // an init copy, one that is gone), never to one that runs Node's binary.
  const hits = attacker.filter((line) => line.startsWith('HIT '));
  const allowed = new Set([helper, '/memfd:cordon_init_(deleted)', 'E2', 'E3']);
  const bad = hits.filter((line) => !allowed.has(/ exe=(\S+)$/.exec(line)[1]));
  t.same(bad, [], `${what}: A reached no process but box payloads and inits (${hits.length} accesses)`);
  t.notOk(attacker.some((line) => line.includes(process.execPath)), `${what}: A never reached Node's binary`);

  const nodemem = observed.map((line) => /^nodemem pid=\d+ comm=\S+ pidns=(\S+) pfc=(\S+) userns=(\S+) owner=(\S+) uid=(\S+)/.exec(line)).filter(Boolean);
  const inA = nodemem.filter((m) => m[1] === pidns);
  t.same(inA.map((m) => m[0]), [], `${what}: no process sharing Node's memory was ever in A's pid namespace`);
  // The observer did catch set-up children in the window (not a vacuous pass).
  const inUserns = nodemem.filter((m) => m[3] === userns);
  t.ok(inUserns.length > 0, `${what}: the observer saw ${inUserns.length} set-up children sharing Node's memory in A's user namespace`);
  if (pidForChildren) {
    t.ok(inUserns.some((m) => m[2] === pidns), `${what}: ... after their setns into A's pid namespace (pid_for_children)`);
  }
  const owners = [...new Set(inUserns.map((m) => `owner=${m[4]} uid=${m[5]}`))];
  t.comment(`${what}: set-up children in A's user namespace: ${owners.join('; ')} (owner 0 with a non-root uid: non-dumpable)`);
}

t.test('a payload cannot reach a set-up child that joins its namespaces', async (t) => {
  if (!requireOrSkip(t, build.status === 0, `the helper (x86_64, cc -static) did not build: ${build.error?.message ?? build.stderr}`)) return;
  const kcmp = spawnSync(helper, ['observe', String(process.pid), '0.1'], { encoding: 'utf8' });
  if (!requireOrSkip(t, kcmp.status === 0, `the observer did not run: ${kcmp.stdout}${kcmp.stderr}`)) return;

  t.test('spawn joining A\'s user and pid namespaces, 300 binds', async (t) => {
    check(t, 'user+pid', await run(t, (a) => spawnIsolatedAsync(helper, ['hold', '0'], {
      mounts: slow, namespaces: { user: { path: `/proc/${a.pid}/ns/user` }, pid: { path: `/proc/${a.pid}/ns/pid` } },
    })), { pidForChildren: true });
  });

  t.test('spawn joining A\'s user namespace with a new pid namespace, 300 binds', async (t) => {
    check(t, 'user, new pid', await run(t, (a) => spawnIsolatedAsync(helper, ['hold', '0'], {
      mounts: slow, namespaces: { user: { path: `/proc/${a.pid}/ns/user` } },
    })), { pidForChildren: false });
  });

  t.test('box.exec() into A', async (t) => {
    check(t, 'exec', await run(t, (a) => a.exec(helper, ['hold', '0'])), { pidForChildren: true });
  });
});
