// child_process-style stdio → the fd table of a box (validated entries,
// the fds that back them, the plan steps that install them), and the
// parent's ends. The C++ half is native/child/stdio.cc (install_fds).
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Stream } from 'node:stream';

import type { Ledger } from './internal/resources';
import { checkAbsolutePath, checkInteger, conflict, invalidType, invalidValue, isPlainObject, rejectUnknownKeys } from './internal/checks';
import { native } from './internal/native';
import { step, type PlanStep } from './internal/steps';
import { CordonError, errnoName } from './errors';
import type { StdioEntry } from './options';
import type { TtySize } from './pty';

export type ResolvedStdio =
  | { kind: 'pipe' }
  | { kind: 'inherit' }
  | { kind: 'ignore' }
  | { kind: 'fd'; fd: number }
  | { kind: 'stream'; fd: number; stream: Stream }
  | { kind: 'file'; path: string; mode: number };

export interface ResolvedStdioOptions {
  /** Box fds from 0 up; empty with a terminal (tty), which is fds 0-2. */
  stdio: ResolvedStdio[];
  /** The start gate's fd (of this process), or undefined. */
  startGate: number | undefined;
  /** What 'pipe' entries for fds 0-2 are. */
  stdioPipes: 'socketpair' | 'pipe';
}

export function streamFd(stream: Stream): number | undefined {
  const candidate = stream as unknown as { fd?: unknown; _handle?: { fd?: unknown } | null };
  if (typeof candidate.fd === 'number' && candidate.fd >= 0) return candidate.fd;
  const handleFd = candidate._handle?.fd;
  if (typeof handleFd === 'number' && handleFd >= 0) return handleFd;
  return undefined;
}

function checkStdioEntry(index: number, entry: StdioEntry | unknown): ResolvedStdio {
  const option = `stdio[${index}]`;
  if (entry === null || entry === undefined) return index <= 2 ? { kind: 'pipe' } : { kind: 'ignore' };
  if (entry === 'pipe' || entry === 'inherit' || entry === 'ignore') return { kind: entry };
  if (typeof entry === 'number') return { kind: 'fd', fd: checkInteger(option, entry, 0, 0x7fffffff) };
  if (entry instanceof Stream) {
    const fd = streamFd(entry);
    if (fd === undefined) throw invalidValue(option, 'stream', 'is a stream without an underlying fd (open it first)');
    return { kind: 'stream', fd, stream: entry };
  }
  if (entry === 'ipc' || entry === 'overlapped') throw invalidValue(option, entry, 'is not supported by cordon');
  if (isPlainObject(entry) && 'file' in entry) {
    rejectUnknownKeys(entry, ['file', 'mode'], option);
    const filePath = checkAbsolutePath(`${option}.file`, entry.file);
    if (filePath.endsWith('/')) throw invalidValue(`${option}.file`, filePath, 'must name a file, not a directory');
    if (index === 0) throw invalidValue(option, '{ file }', 'is for output: a log file can be fd 1 and up, not stdin');
    return { kind: 'file', path: filePath, mode: entry.mode === undefined ? 0o620 : checkInteger(`${option}.mode`, entry.mode, 0, 0o777) };
  }
  throw invalidType(option, `'pipe', 'inherit', 'ignore', an fd, a stream, { file }, null or undefined`, entry);
}

function checkStdio(value: unknown): ResolvedStdio[] {
  if (value === undefined) value = 'pipe';
  if (value === 'pipe' || value === 'inherit' || value === 'ignore') value = [value, value, value];
  if (!Array.isArray(value)) throw invalidType('stdio', `'pipe', 'inherit', 'ignore' or an array`, value);
  if (value.length > 256) throw invalidValue('stdio', value.length, 'may have at most 256 entries');
  const entries = [...value];
  while (entries.length < 3) entries.push(undefined);
  return entries.map((entry: unknown, i) => checkStdioEntry(i, entry));
}

/** The stdio, startGate and stdioPipes options; a terminal (`tty`) takes fds 0-2 itself, and the start gate needs the init. */
export function validateStdio(o: { stdio?: unknown; startGate?: unknown; stdioPipes?: unknown }, tty: TtySize | undefined, init: boolean): ResolvedStdioOptions {
  const stdio = tty === undefined ? checkStdio(o.stdio) : [];
  if (o.startGate !== undefined && (typeof o.startGate !== 'number' || !Number.isInteger(o.startGate) || o.startGate < 0)) {
    throw invalidValue('startGate', o.startGate, 'must be an open fd (a non-negative integer)');
  }
  const startGate = o.startGate as number | undefined;
  if (startGate !== undefined && !init) {
    throw conflict('startGate', 'the init holds the payload at the start gate: it needs init (and a pid namespace of the box\'s own)');
  }
  if (o.stdioPipes !== undefined && o.stdioPipes !== 'socketpair' && o.stdioPipes !== 'pipe') {
    throw invalidValue('stdioPipes', o.stdioPipes, "must be 'socketpair' or 'pipe'");
  }
  const stdioPipes = (o.stdioPipes ?? 'socketpair') as 'socketpair' | 'pipe';
  return { stdio, startGate, stdioPipes };
}

/** The box's fd table: each source fd dup'ed to its target (sockets from Node's loop made blocking), then every other fd closed. */
export function fdSteps(sources: readonly (number | undefined)[], blocking: ReadonlySet<number> | undefined, slot: (fd: number) => number): PlanStep[] {
  const steps: PlanStep[] = [];
  sources.forEach((source, target) => {
    if (source === undefined) return;
    steps.push(step('installFd', { name: `install fd ${target}`, syscall: 'dup3', kind: 'fd', slot: slot(source) }, {
      target, clearNonblock: blocking?.has(target) ?? false,
    }));
  });
  steps.push(step('closeOtherFds', { name: 'close other fds', syscall: 'close_range', kind: 'fd' }, {}));
  return steps;
}

/**
 * The start gate (the startGate option, at box fd `gate`): last before the
 * filter and the exec, so everything that can fail in set-up has been
 * reported when the box waits here for `start`.
 */
export function startGateSteps(gate: number | undefined): PlanStep[] {
  return gate === undefined ? [] : [step('awaitStart', { name: 'await start', syscall: 'read', kind: 'fd' }, { gate })];
}

export interface StdioSetup {
  /** Source fd for each box fd (index = target), undefined = closed in the box. */
  childFds: (number | undefined)[];
  /** The parent's end of each 'pipe' entry. */
  parentFds: (number | undefined)[];
  /** Ledger names of the child-side fds, released right after the spawn. */
  childSide: string[];
  /**
   * With `deferPairs`: the targets whose socket pair the set-up thread
   * makes (their child fd is deferredPairFd(target) until then; their
   * parent fd comes with the spawn's outcome).
   */
  deferredPairs: number[];
  /**
   * One per log file entry: keeps the event loop alive until everything
   * the box wrote has reached the file, and resolves then (`exited` waits).
   */
  logsWritten: (() => Promise<void>)[];
}

let devNull: number | undefined;

function openDevNull(): number {
  // One per thread: read-write, close-on-exec (Node opens everything so).
  // Node closes a worker thread's fs-opened fds when the worker ends (it
  // must not be closed natively too: the number may be reused by then).
  if (devNull === undefined) devNull = fs.openSync('/dev/null', 'r+');
  return devNull;
}

/**
 * The stand-in for a socket pair the set-up thread makes (spawnAsync's
 * pairSlots): negative, so no real fd, and one per target, so each gets a
 * slot of its own.
 */
export function deferredPairFd(target: number): number {
  return -1000 - target;
}

/** A socket pair for stdio[target] could not be made (-errno), here or on the set-up thread. */
export function socketPairError(target: number, errno: number): CordonError {
  return new CordonError(errnoName(errno), `socketpair ${errnoName(errno)}: cannot create stdio[${target}]`, {
    errno, syscall: 'socketpair', step: `stdio[${target}]`,
  });
}

/** How setupStdio makes what is not a socket pair. */
export interface StdioChoices {
  /** Leave the socket pairs to the set-up thread (spawnIsolatedAsync): see StdioSetup.deferredPairs. */
  deferPairs?: boolean;
  /** What 'pipe' entries for fds 0-2 are. Default 'socketpair'. */
  pipes?: 'socketpair' | 'pipe';
  /** The payload's host uid:gid (root callers): pipes cordon makes (log file entries' too) are given to it, so the payload may reopen them. */
  owner?: { uid: number; gid: number } | undefined;
}

const LOG_PARTS: Record<number, string> = { 1: 'openat2', 2: 'openat', 3: 'fstat', 4: 'fstat', 5: 'fchown', 6: 'fcntl' };

function openLogFile(target: number, filePath: string, mode: number, ledger: Ledger): number {
  // The caller's file: the box never holds it (it writes to a pipe a
  // thread of the parent appends from), so neither its user nor its group
  // is given anything on the host.
  const outcome = native().openLogFile(filePath, mode, -1, -1);
  if (outcome.fd < 0) {
    const code = errnoName(outcome.fd);
    const syscall = LOG_PARTS[outcome.part] ?? 'open';
    const hint = outcome.part === 4
      ? 'it is not a regular file: a stdio file entry appends to a regular file only'
      : code === 'ELOOP'
        ? 'a component of the path is a symlink: cordon never follows symlinks to a log file (a tenant could point it anywhere); give the real path'
        : code === 'ENOENT' && outcome.part === 1
          ? 'the log file\'s directory must exist'
          : undefined;
    throw new CordonError(code, `${syscall} ${code}: cannot open the log file of stdio[${target}], ${filePath}${hint === undefined ? '' : ` (${hint})`}`, {
      errno: outcome.fd, syscall, step: `stdio[${target}] file`, path: filePath, ...(hint === undefined ? {} : { hint }),
    });
  }
  return ledger.nativeFd(`stdio[${target}] file`, outcome.fd);
}

function makePipe(target: number, owner: { uid: number; gid: number } | undefined): [number, number] {
  const pipe = native().makePipe(owner?.uid ?? -1, owner?.gid ?? -1);
  if (typeof pipe === 'number') {
    const code = errnoName(pipe);
    throw new CordonError(code, `pipe2 ${code}: cannot create stdio[${target}]`, { errno: pipe, syscall: 'pipe2', step: `stdio[${target}]` });
  }
  return pipe;
}

/**
 * Starts the pump of a log file entry (it owns both fds from here and ends
 * at EOF: when the box's last process, or a failed spawn's ledger, has
 * closed the write end). A failed append is reported as a warning: the box
 * goes on, its output goes nowhere.
 */
function pumpLog(target: number, filePath: string, read: number, fileFd: number): () => Promise<void> {
  let pump: { ref(): void } | undefined;
  const written = new Promise<void>((resolve) => {
    pump = new (native().LogPump)(read, fileFd, (error) => {
      if (error !== 0) {
        const code = errnoName(error);
        process.emitWarning(new CordonError(code, `write ${code}: the log file of stdio[${target}], ${filePath}, stopped taking the box's output`, {
          errno: error, syscall: 'write', step: `stdio[${target}] file`, path: filePath,
        }));
      }
      resolve();
    });
  });
  return () => {
    pump?.ref();
    return written;
  };
}

/** Whether setupStdio() gives this entry a socket pair ('pipe', except fds 0-2 when they are to be pipes). */
function takesSocketPair(entry: ResolvedStdio, target: number, pipes: StdioChoices['pipes']): boolean {
  return entry.kind === 'pipe' && !(pipes === 'pipe' && target <= 2);
}

/**
 * The socket pairs of a box's stdio, made in one call into the addon and
 * each held by the ledger under its target's names at once; by target, or
 * the -errno its socketpair() failed with (thrown when setupStdio reaches
 * that target, so the entries before it fail first, as they would have).
 */
function makeSocketPairs(entries: readonly ResolvedStdio[], ledger: Ledger, pipes: StdioChoices['pipes']): Map<number, readonly [number, number] | number> {
  const pairs = new Map<number, readonly [number, number] | number>();
  let count = 0;
  for (let target = 0; target < entries.length; target++) if (takesSocketPair(entries[target]!, target, pipes)) count++;
  if (count === 0) return pairs;
  const made = native().socketPairs(count);
  let next = 0;
  for (let target = 0; target < entries.length && next < made.length; target++) {
    if (!takesSocketPair(entries[target]!, target, pipes)) continue;
    if (next + 1 === made.length) {
      pairs.set(target, made[next]!);
      break;
    }
    const parentEnd = made[next]!;
    const childEnd = made[next + 1]!;
    next += 2;
    ledger.nativeFd(`stdio[${target}] parent end`, parentEnd);
    ledger.nativeFd(`stdio[${target}] child end`, childEnd);
    pairs.set(target, [parentEnd, childEnd]);
  }
  return pairs;
}

export function setupStdio(entries: readonly ResolvedStdio[], ledger: Ledger, choices: StdioChoices = {}): StdioSetup {
  // Dense: an fd left out is undefined, never read from Array.prototype.
  const setup: StdioSetup = {
    childFds: new Array<number | undefined>(entries.length).fill(undefined), parentFds: new Array<number | undefined>(entries.length).fill(undefined),
    childSide: [], logsWritten: [], deferredPairs: [],
  };
  const socketPairs = choices.deferPairs === true ? new Map<number, readonly [number, number] | number>() : makeSocketPairs(entries, ledger, choices.pipes);
  entries.forEach((entry, target) => {
    switch (entry.kind) {
      case 'file': {
        // The box gets a pipe, never the file: with the file's fd it could
        // ftruncate it, reopen it with O_TRUNC through /proc/self/fd, or
        // drop O_APPEND and write over what is there. A thread of the
        // parent appends what comes through (native/host/logs.cc).
        const fileName = `stdio[${target}] file`;
        const fileFd = openLogFile(target, entry.path, entry.mode, ledger);
        const [read, write] = makePipe(target, choices.owner);
        const childName = `stdio[${target}] child end`;
        ledger.nativeFd(childName, write);
        setup.childFds[target] = write;
        setup.childSide.push(childName);
        setup.logsWritten.push(pumpLog(target, entry.path, read, fileFd));
        ledger.transfer(fileName);
        break;
      }
      case 'pipe': {
        if (choices.pipes === 'pipe' && target <= 2) {
          // stdin: the box reads, the parent writes; stdout and stderr the other way.
          const [read, write] = makePipe(target, choices.owner);
          const [parentEnd, childEnd] = target === 0 ? [write, read] : [read, write];
          ledger.nativeFd(`stdio[${target}] parent end`, parentEnd);
          const childName = `stdio[${target}] child end`;
          ledger.nativeFd(childName, childEnd);
          setup.parentFds[target] = parentEnd;
          setup.childFds[target] = childEnd;
          setup.childSide.push(childName);
          break;
        }
        if (choices.deferPairs === true) {
          setup.childFds[target] = deferredPairFd(target);
          setup.deferredPairs.push(target);
          break;
        }
        // Made and held by the ledger already (makeSocketPairs).
        const pair = socketPairs.get(target)!;
        if (typeof pair === 'number') {
          throw socketPairError(target, pair);
        }
        const [parentEnd, childEnd] = pair;
        const childName = `stdio[${target}] child end`;
        setup.parentFds[target] = parentEnd;
        setup.childFds[target] = childEnd;
        setup.childSide.push(childName);
        break;
      }
      case 'inherit':
        setup.childFds[target] = target;
        break;
      case 'ignore':
        if (target <= 2) setup.childFds[target] = openDevNull();
        break;
      case 'fd':
      case 'stream':
        setup.childFds[target] = entry.fd;
        break;
    }
  });
  return setup;
}

/** Wraps the parent end of a stdio pipe; the socket owns the fd from then on. */
export function wrapParentEnd(fd: number, target: number): net.Socket {
  const readable = target !== 0;
  const writable = target === 0 || target > 2;
  return new net.Socket(socketOptions({ fd, readable, writable }));
}

/**
 * Socket options with `fd` and `signal` always set: net.Socket copies its
 * options into a plain object and reads both from it, so a polluted
 * Object.prototype.fd would otherwise make an ended pipe wrap that fd.
 */
function socketOptions(options: net.SocketConstructorOpts): net.SocketConstructorOpts {
  return { fd: undefined, signal: undefined, ...options } as net.SocketConstructorOpts;
}

/**
 * The parent end of a pipe of a box that never ran, as child_process gives a
 * spawn that failed: stdout and stderr end (a 'data' listener added right
 * after the spawn sees 'end', then 'close'); stdin and fds from 3 up are
 * closed at once, so a write gets an error in its callback, never an
 * unhandled 'error' event.
 */
export function endedPipe(target: number): net.Socket {
  if (target === 1 || target === 2) {
    const socket = new net.Socket(socketOptions({ readable: true, writable: false }));
    socket.push(null);
    socket.once('end', () => socket.destroy());
    return socket;
  }
  const socket = new net.Socket(socketOptions({ readable: false, writable: true }));
  socket.destroy();
  return socket;
}
