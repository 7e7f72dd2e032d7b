// The exact interface of build/Release/cordon.node (native/binding.cc).
// lib/internal/native.ts loads the addon and casts it to NativeBinding.

/** A spawn that got as far as exec of the payload. */
export interface NativeSpawnSuccess {
  /** Clone ladder rung used: 0 clone3 (full), 1 clone3 (basic), 2 clone. */
  rung: number;
  pid: number;
  pidfd: number;
  /** Read end of the init's exit pipe (non-blocking), or -1 without an init. */
  exitFd: number;
  /** The box outlives this process once recorded: releaseBox(pidfd, exitFd) after its state record (until then its init keeps the parent-death signal). */
  awaitsRelease?: true;
  /** spawnAsync() with pairSlots: the parent end of each pair made, in pairSlots' order. */
  parentEnds?: Int32Array;
  /** With timings asked for: when each step ended (see spawn()). */
  stepEndNs?: BigInt64Array;
}

/** spawnAsync() with pairSlots: pair `stdioPair` could not be made (nothing was spawned). */
export interface NativeStdioPairFailure {
  rung: -1;
  stdioPair: number;
  stepEndNs?: undefined;
  /** -errno of the socketpair call. */
  errno: number;
}

/** A spawn that failed at some plan step; the child has been reaped. */
export interface NativeSpawnFailure {
  rung: number;
  /** Index of the failing step in the plan. */
  failedStep: number;
  /** -errno, as every native export reports an error. */
  errno: number;
  /** Op-specific detail, e.g. which exec candidate decided the error. */
  detail: number;
  /**
   * Set when the process walking the plan died before its exec without a
   * status record (failedStep is the step it had begun, errno ECHILD): the
   * signal that killed it, or -1 if it exited. A child in a box's cgroup has
   * its own memory, and a memory limit too small for the setup gets it
   * killed by the OOM killer.
   */
  killedSignal?: number;
  /** With timings asked for: when each step ended (see spawn()). */
  stepEndNs?: BigInt64Array;
}

export type NativeSpawnResult = NativeSpawnSuccess | NativeSpawnFailure;

/** What spawnAsync() resolves with. */
export type NativeAsyncSpawnResult = NativeSpawnResult | NativeStdioPairFailure;

/** A listen socket's file as the addon removes it at a teardown (lib/sockets.ts openListenSockets' `teardown`). */
export interface NativeSocketFile {
  /** The first directory of the socket's path that existed, then each one cordon made; the socket's directory last. */
  dirFds: readonly number[];
  /** made[k]: the name of dirFds[k + 1] in dirFds[k]. */
  made: readonly string[];
  /** The socket file's name in its directory. */
  name: string;
  /** The socket file's "dev:ino" when it was bound. */
  file: string;
}

export interface NativeExitWatch {
  ref(): void;
  unref(): void;
  /** Stops watching; the callback will not run. */
  close(): void;
}

export interface NativeExitWatchConstructor {
  /**
   * Calls onExit once when the process behind pidfd ends, after reaping it.
   * (A box whose env is torn down first is released natively: env_owned.h.)
   */
  new (pidfd: number, onExit: (code: number | null, signal: number | null) => void): NativeExitWatch;
}

export interface NativeExitRecordWatchConstructor {
  /**
   * Calls onRecord once, when the init's exit record (the payload's status)
   * arrives on the exit pipe, or with (null, null) at EOF without one. Reads
   * the pipe; reaps nothing.
   */
  new (exitFd: number, onRecord: (code: number | null, signal: number | null) => void): NativeExitWatch;
}

export interface NativeLogPump {
  /** Keeps the event loop alive until the pump is done (no-op after). */
  ref(): void;
  unref(): void;
}

export interface NativeLogPumpConstructor {
  /**
   * Takes both fds and, on a thread of its own, appends what it reads from
   * the pipe's read end to the log file until EOF, then closes them and
   * calls done(0 or -errno of the first failed write, bytes appended).
   * Starts unref()ed.
   */
  new (readFd: number, fileFd: number, done: (error: number, bytes: number) => void): NativeLogPump;
}

export interface NativePlanLayout {
  magic: number;
  headerSize: number;
  stepSize: number;
  statusRecordSize: number;
  exitRecordSize: number;
  maxSteps: number;
  maxFdSlots: number;
  maxInstalledFds: number;
  sideParent: number;
  sideChild: number;
}

/** How a pool pair's helper gets one id map: written directly, or through newuidmap/newgidmap. */
export type NativeIdMapPlan = { text: string } | { helper: string[] };

export interface NativePairIds {
  uid: NativeIdMapPlan;
  gid: NativeIdMapPlan;
  /** Write "deny" to the helper's setgroups before its gid_map (an unprivileged direct map). */
  denySetgroups: boolean;
}

/** What a makeNamespaces() call made. */
export interface NativeNamespaceBatch {
  /** Open namespace fds (close-on-exec); `user` is -1 for a net-only entry. */
  entries: { user: number; net: number }[];
  /** 0, or -errno of the entry that could not be made (the batch stopped there). */
  errno: number;
  /** Which part failed: 1 thread, 2 unshare, 3 clone, 4 lo up, 5 setgroups, 6 uid_map, 7 gid_map, 8 open. */
  part: number;
}

/** One row of the op table (CORDON_OP_TABLE in native/plan_abi.h). */
export interface NativeOpRow {
  name: string;
  number: number;
  side: 'parent' | 'child';
  fd: 'none' | 'required' | 'optional';
  /** Each num slot: null when unused; min and max when range-checked; count when a list's length. */
  num: ({ name: string; min?: number; max?: number; count?: true } | null)[];
  /** Each str slot: null when unused; count is the num slot holding a list's length. */
  str: ({ name: string; use: 'required' | 'optional' | 'list' | 'optionalList'; count?: number } | null)[];
}

export interface NativeBinding {
  abiVersion: number;
  ops: Readonly<Record<string, number>>;
  /** The op table, from which scripts/gen-plan-ops.js writes lib/internal/plan-ops.ts. */
  opTable: readonly NativeOpRow[];
  /** The value enums of op fields and status details (TargetMode, SourceLinks, AttrScope, MountPart, InitPart). */
  enums: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  layout: NativePlanLayout;
  /**
   * Throws on a malformed plan (a bug in lib/), never on a runtime failure.
   * With `timings`, the result's `stepEndNs` holds the CLOCK_MONOTONIC
   * nanoseconds (process.hrtime.bigint()'s clock) at which each plan step
   * ended, 0n for a step that did not run, and last the moment before the
   * clone: the child and the parent each read the clock after their own steps.
   */
  spawn(plan: Buffer, fds: Int32Array, timings?: boolean): NativeSpawnResult;
  /**
   * spawn() on a set-up thread; rejects only for a malformed plan. pairSlots:
   * slots whose fd is a placeholder for a stdio socket pair to make there
   * (the child end goes in the slot; the parent ends come back as parentEnds).
   */
  spawnAsync(plan: Buffer, fds: Int32Array, timings?: boolean, pairSlots?: Int32Array): Promise<NativeAsyncSpawnResult>;
  ExitWatch: NativeExitWatchConstructor;
  ExitRecordWatch: NativeExitRecordWatchConstructor;
  /** pidfd_send_signal: 0 or -errno. */
  sendSignal(pidfd: number, signal: number): number;
  /** A close-on-exec AF_UNIX stream pair, or -errno. */
  socketPair(): [number, number] | number;
  /** `count` (at most 256) such pairs in one call, [a0, b0, a1, b1, ...]; when one fails it ends there with -errno (the pairs before it are the caller's). */
  socketPairs(count: number): Int32Array;
  /** Connects to the Unix socket at path and sends fd (SCM_RIGHTS) with name as the data; 0 or -errno. */
  sendFdToSocket(path: string, fd: number, name: string): number;
  /** A pseudo-terminal pair from /dev/ptmx (master, slave; both close-on-exec, neither our controlling tty) sized cols x rows, or the failing errno and part (1 open, 2 unlock, 3 TIOCGPTPEER, 4 TIOCSWINSZ). */
  openPty(cols: number, rows: number): [number, number] | { errno: number; part: number };
  /** TIOCSWINSZ on a pty master: 0 or -errno. */
  resizePty(master: number, cols: number, rows: number): number;
  /** cfmakeraw on the terminal at fd: the settings to restore, or -errno. */
  makeRaw(fd: number): Buffer | number;
  /** Puts back settings makeRaw saved: 0 or -errno. */
  restoreTerminal(fd: number, saved: Buffer): number;
  /** A log file opened append-only for a box (see native/host/logs.h): fd or -errno, the failing part, whether it was made. */
  openLogFile(path: string, mode: number, uid: number, gid: number): { fd: number; part: number; made: boolean };
  /** Whether a listening socket still accepts: 1, 0 (shut down by a holder of a copy), or -errno. */
  listenerState(fd: number): number;
  /** listen(fd, backlog) again: 0 or -errno. */
  relisten(fd: number, backlog: number): number;
  /** fcntl(F_DUPFD_CLOEXEC, 3): a copy of the fd, or -errno. */
  dupFd(fd: number): number;
  /** A pipe whose inode is given to uid:gid (when >= 0): [read, write] or -errno. */
  makePipe(uid: number, gid: number): [number, number] | number;
  LogPump: NativeLogPumpConstructor;
  /** A tenant's quota image, opened (made) and locked (see native/host/quota.h). */
  openQuotaImage(dir: string, name: string, bytes: number, waitMs: number): { fd: number; part: number; fresh: boolean; size: number };
  /** The image on an autoclearing loop device, its ext4 mounted as a detached tree with upper/ and work/. */
  mountQuotaImage(imageFd: number, uid: number, gid: number): { fd: number; part: number; fresh: boolean; size: number };
  /** A second open file description of a quota image (its lock tells when the loop device let go), or -errno. */
  reopenQuotaImage(fd: number): number;
  /** 0 when no loop device holds the image any more, -EWOULDBLOCK while one does, or -errno. */
  quotaImageFree(fd: number): number;
  /** fstatfs of an fd: sizes in bytes and inode counts (error: 0 or -errno). */
  quotaUsage(fd: number): { error: number; bytes: number; bytesFree: number; inodes: number; inodesFree: number };
  /** A bare child on a clone rung with CLONE_NEW* flags (and CLONE_INTO_CGROUP when cgroupFd >= 0): 0 or -errno. */
  probeClone(rung: number, nsFlags: number, cgroupFd: number): number;
  /** The rung spawns settled on, or -1 before the first spawn. */
  settledRung(): number;
  /** Makes the ladder start at a rung (tests of the fallbacks); -1 resets. */
  forceRung(rung: number): void;
  /** Benchmarks and tests: every box child gets its own memory (no CLONE_VM), as one in a cgroup always does. */
  forceOwnMemory(on: boolean): void;
  /** On by default (issue 15): spawns from several threads set their boxes up at the same time (an in-flight count guards the dumpable flag); false: one at a time. */
  setConcurrentSetup(on: boolean): void;
  /** Tests: whether this process is dumpable (PR_GET_DUMPABLE). */
  isDumpable(): boolean;
  /** Waits for the process behind pidfd to end and reaps it (blocking): 0 or -errno. */
  reap(pidfd: number): number;
  /** pidfd_open(pid, 0) for a process this one did not start: the fd (close-on-exec), or -errno. */
  pidfdOpen(pid: number): number;
  /** close(2) for an fd the addon made: 0 or -errno. */
  closeFd(fd: number): number;
  /** A box whose spawn result awaitsRelease has been recorded: its init lets go of its parent-death signal (waits up to 2 s for it to confirm), a worker's teardown leaves it running. 0, -ESRCH/-EPIPE (it ended first), -ETIMEDOUT (no answer: it still dies with this thread) or -errno. */
  releaseBox(pidfd: number, exitFd: number): number;
  /**
   * What a box that dies with this thread leaves on the host (its cgroup
   * directories, its listen sockets' files and the directories made for
   * them), removed after it is reaped if the thread's env is torn down
   * first (a worker terminated: no JS runs then). Forgotten with the pidfd.
   */
  boxLeaves(pidfd: number, cgroupDirs: readonly string[], sockets: readonly NativeSocketFile[]): void;
  /** A listening TCP socket bound as this process (close-on-exec): the fd, or -errno. */
  listenTcp(host: string, port: number, backlog: number): number;
  /** A listening Unix socket at path with mode and owner (-1: unchanged): the fd, or -errno. */
  /** fd: the listening socket or -errno; file: the socket file's "dev:ino", for unlinkSocketAt. */
  listenUnixAt(dirFd: number, name: string, mode: number, uid: number, gid: number, backlog: number): { fd: number; file: string };
  /** Removes the socket file if it is still `file`: 0, -ESTALE when another file has the name, or -errno. */
  unlinkSocketAt(dirFd: number, name: string, file: string): number;
  /** The socket's directory and those cordon made on the way: error 0, or -errno. */
  openSocketDir(dir: string, mode: number, uid: number, gid: number): { error: number; fds: number[] };
  unlinkAt(dirFd: number, name: string, directory: boolean): number;
  /** An overlayfs whiteout (char device 0/0) at `path`, not through a symlink: 0 or -errno. */
  makeWhiteout(path: string): number;
  /** Sets xattr `name` on the directory at `path` (O_NOFOLLOW): 0 or -errno. */
  setDirXattr(path: string, name: string, value: string): number;
  /** The xattr `name` of `path` (not following a symlink), or -errno. */
  getXattr(path: string, name: string): string | number;
  /** Readies a persistent upper layer: error 0, or -errno with the directory and part (UpperPart). */
  prepareUpper(dir: string, boxUid: number, boxGid: number, callerUid: number): { error: number; dir: number; part: number };
  /** The local port of a bound socket, or -errno. */
  localPort(fd: number): number;
  /**
   * A detached, idmapped copy of a host path (needs root): `fd` is the tree,
   * or -errno with `part` 1 (mapping namespace), 2 (open_tree), 3 (mount_setattr).
   */
  idmappedTree(source: string, recursive: boolean, attrs: number, uidMap: string, gidMap: string, followSymlinks: boolean): { fd: number; part: number };
  /**
   * The init binary at `path` copied into a sealed, execute-only memfd
   * (close-on-exec): `fd`, or -errno with `part` 1 (open), 2 (memfd_create;
   * EACCES: vm.memfd_noexec=2), 3 (copy), 4 (fchmod), 5 (F_ADD_SEALS).
   */
  sealedInit(path: string): { fd: number; part: number };
  /**
   * Starts `count` cgroup-namespace helpers off the JS thread (lib/cgroups/namespace-helpers.ts), then calls `done`
   * with those started and the errno that stopped the rest (0 when all did).
   */
  startCgroupNamespaceHelpers(
    initFd: number,
    count: number,
    done: (result: { helpers: { pid: number; pidfd: number; socket: number }[]; errno: number }) => void,
  ): void;
  /** A bridge with one IPv4 address (host byte order), up: 0 or -errno. */
  createBridge(name: string, address: number, prefix: number): number;
  /** Deletes a network link by name: 0 or -errno (-ENODEV when gone). */
  deleteLink(name: string): number;
  /** A link's primary IPv4 address (host byte order) and prefix, whatever its carrier, or -errno. */
  ipv4Address(name: string): { address: number; prefix: number } | number;
  /** deleteLink on a libuv worker thread. */
  deleteLinkAsync(name: string): Promise<number>;
  /**
   * Opens (or makes, 0600) the lock file `name` in `dir` without following
   * symlinks and flocks it (`operation`: LOCK_SH 1 / LOCK_EX 2, | LOCK_NB 4);
   * a file unlinked while waiting is opened again. The fd (close-on-exec), or
   * -errno (-EWOULDBLOCK: held elsewhere).
   */
  /** `create` false: -ENOENT for a lock file that is not there (a sweep never makes one back). */
  lockFile(dir: string, name: string, operation: number, create?: boolean): number;
  /** Unlinks the lock file `name` in `dir` if it is still the file `fd` has open: 0, or -errno (-ESTALE). */
  unlinkLockFile(dir: string, name: string, fd: number): number;
  /** flock(fd, operation): 0 or -errno. */
  flockFd(fd: number, operation: number): number;
  /** Tries a bridge, a veth pair and the filter in a throwaway network namespace: error 0, or -errno and the failing part. */
  probeBridge(): { error: number; part: number };
  /**
   * Makes `count` namespace pool entries on a libuv worker thread and calls
   * `done` on the JS thread: net-only entries (pair false, needs root), or
   * user+net pairs with the id maps of `ids`.
   */
  makeNamespaces(pair: boolean, count: number, ids: NativePairIds | null, done: (batch: NativeNamespaceBatch) => void): void;
  /** Landlock ABI version, or -errno. */
  landlockAbi(): number;
}
