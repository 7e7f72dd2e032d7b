// Boxes that outlive their supervisor (dieWithParent: false): their state
// record, their adoption by a later process, and cleanup() of what dead
// boxes and supervisors left.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Box } from './box';
import { removeUnusedBridges } from './bridge';
import { BoxCgroup } from './cgroups/box';
import { sharedParent } from './cgroups/shared-parent';
import { type CleanupReport, emptyReport, recordedCgroup, releaseBoxRecord, removeSocket, sweepLeftovers, sweepRecordsOnce, sweepTenants } from './cleanup';
import { type ParentChoice, validateCgroupParent } from './cgroups/parent';
import { CordonError, CordonOptionError, errnoName } from './errors';
import { rejectUnknownKeys } from './internal/checks';
import { native } from './internal/native';
import { Ledger } from './internal/resources';
import type { BoundSocketFile } from './sockets';
import { boxRecords, type BoxRecord, ensureStateDir, identityOf, liveness, removeRecord, startTimeOf, stateDirChoice, stateSubdir, writeRecord } from './state';
import type { ValidatedOptions } from './validate';

/** process.exit() with the box running: kill it and release what it holds, synchronously. */
export function endNow(box: Box, cgroup: BoxCgroup | undefined, ledger: Ledger): void {
  box._endAtExit();
  cgroup?.releaseSync();
  ledger.releaseAll();
}

/**
 * Writes the state record of a box that may outlive this process (or whose
 * socket files would outlive a SIGKILL of it), and registers its removal
 * with the box's ledger (the box ended while this process ran: the ledger
 * released the rest). Returns the record's id, or undefined without a state
 * directory (a warning says so for a box that outlives this process: it
 * runs, but no later process can adopt it or release what it leaves).
 */
export function recordBox(
  box: Box,
  pid: number,
  options: ValidatedOptions,
  cgroup: BoxCgroup | undefined,
  sockets: readonly BoundSocketFile[],
  ledger: Ledger,
): string | undefined {
  sweepRecordsOnce();
  try {
    const dir = ensureStateDir('boxes');
    const self = identityOf(pid);
    const supervisor = identityOf(process.pid);
    if (dir === undefined) {
      if (options.dieWithParent) return undefined;
      process.emitWarning(`cordon: box ${pid} has dieWithParent: false but no state record: ${stateDirChoice().reason ?? 'no state directory'}; no later process can adopt it or clean up after it`, { code: 'CORDON_NO_STATE_DIR' });
      return undefined;
    }
    if (self === undefined || supervisor === undefined) return undefined; // it ended already: the ledger releases it
    const id = cgroup?.name ?? `box-${pid}-${self.startTime}`;
    const record: BoxRecord = {
      ...self,
      id,
      file: box.spawnfile,
      args: box.spawnargs.slice(1),
      createdAt: Date.now(),
      supervisor,
      sockets: sockets.map((socket) => ({ path: socket.path, file: socket.file, madeDirs: socket.madeDirs, born: socket.born })),
    };
    if (cgroup !== undefined) {
      record.cgroup = { name: cgroup.name, ...(cgroup.v2Dir === undefined ? {} : { v2Dir: cgroup.v2Dir }), v1: cgroup.v1.map((entry) => ({ controllers: [...entry.controllers], dir: entry.dir })) };
    }
    if (options.cgroupTenant !== undefined) record.tenant = options.cgroupTenant.name;
    if (options.dieWithParent) record.diesWithSupervisor = true;
    const file = writeRecord(dir, id, record);
    ledger.add('state record', () => removeRecord(file));
    return id;
  } catch (error) {
    process.emitWarning(`cordon: cannot write the state record of box ${pid}: ${(error as Error).message}`, { code: 'CORDON_STATE_RECORD' });
    return undefined;
  }
}

function adoptRecord(record: BoxRecord, file: string): Box | CordonError {
  if (record.diesWithSupervisor === true) {
    return new CordonError('EPERM', `box ${record.id} dies with its supervisor (dieWithParent): it is not adoptable`, { errno: -1, syscall: 'pidfd_open', step: 'adopt box', path: file });
  }
  const state = liveness(record);
  if (state === 'unknown') {
    return new CordonError('ESRCH', `box ${record.id} was started in another pid namespace (${record.pidns}): it cannot be checked or adopted from here`, {
      errno: -3, syscall: 'pidfd_open', step: 'adopt box', path: file,
    });
  }
  const gone = (): CordonError => new CordonError('ESRCH', `box ${record.id} (pid ${record.pid}) has ended; what it left was removed`, {
    errno: -3, syscall: 'pidfd_open', step: 'adopt box', path: file,
  });
  if (state === 'dead') return gone();
  if (liveness(record.supervisor) !== 'dead') {
    return new CordonError('EBUSY', `box ${record.id} is owned by process ${record.supervisor.pid}, which still runs${record.supervisor.pid === process.pid ? ' (this one)' : ''}: a box has one owner`, {
      errno: -16, syscall: 'pidfd_open', step: 'adopt box', path: file,
    });
  }
  const pidfd = native().pidfdOpen(record.pid);
  if (pidfd < 0) return pidfd === -3 ? gone() : new CordonError(errnoName(pidfd), `pidfd_open ${errnoName(pidfd)}: box ${record.id} (pid ${record.pid})`, { errno: pidfd, syscall: 'pidfd_open', step: 'adopt box', path: file });
  // The pidfd pins a process; the pid may have been recycled before it was
  // opened. The start time read after opening, with the process still
  // there after the read, is the pidfd's process's.
  const matches = liveness(record) === 'alive' && native().sendSignal(pidfd, 0) !== -3 /* ESRCH: it ended (EPERM still means it is there) */;
  if (!matches) {
    native().closeFd(pidfd);
    return gone();
  }
  // This process owns it now: a third one must not adopt it while this one runs.
  const owner = identityOf(process.pid);
  if (owner !== undefined) {
    try {
      writeRecord(path.dirname(file), record.id, { ...record, supervisor: owner });
    } catch (error) {
      native().closeFd(pidfd);
      return error as CordonError;
    }
  }
  const ledger = new Ledger();
  ledger.add('state record', () => removeRecord(file));
  for (const socket of record.sockets) ledger.add(`socket ${socket.path}`, () => removeSocket(socket, emptyReport()));
  let cgroup: BoxCgroup | undefined;
  const made = recordedCgroup(record);
  if (made !== undefined) {
    cgroup = made;
    ledger.add('cgroup', () => made.release());
  }
  ledger.nativeFd('pidfd', pidfd);
  const box = new Box({ file: record.file, args: record.args, ledger, killSignal: 15, pipes: [] });
  if (cgroup !== undefined) box._cgroup(cgroup);
  box.adoptionId = record.id;
  box._started(record.pid, pidfd, -1, 0, []);
  return box;
}

function checkId(id: unknown): string {
  if (typeof id !== 'string') throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'id', `The "id" argument must be a string. Received type ${id === null ? 'null' : typeof id}`);
  if (!/^box-[0-9a-f.-]+$/.test(id)) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', 'id', `The "id" argument must be a box id (box.adoptionId). Received ${JSON.stringify(id)}`);
  return id;
}

/**
 * Adopts a box another (now gone, or still running) process started with
 * `dieWithParent: false`: a Box watching the same process through a pidfd
 * (checked against the recorded start time, so a recycled pid is never
 * adopted), with its cgroup (stats, kill, freeze) and its clean-up (cgroup,
 * socket files, record) when it ends. It has no stdio, and its exit status
 * is not known (the process is not this one's child): 'exit' and 'close'
 * come with (null, null) unless this process killed it. Rejects with a
 * CordonError: ENOENT (no record), ESRCH (it has ended: what it left is
 * removed; or another pid namespace).
 */
export async function adopt(id: string): Promise<Box> {
  checkId(id);
  const entry = boxRecords().find((candidate) => candidate.record.id === id);
  if (entry === undefined) {
    const where = stateSubdir('boxes');
    throw new CordonError('ENOENT', `no state record for box ${id}${where === undefined ? `: ${stateDirChoice().reason ?? 'no state directory'}` : ` in ${where}`}`, {
      errno: -2, syscall: 'open', step: 'adopt box', path: where ?? '',
    });
  }
  const adopted = adoptRecord(entry.record, entry.file);
  if (adopted instanceof Box) return adopted;
  if (liveness(entry.record) === 'dead') {
    const report = emptyReport();
    releaseBoxRecord(entry.record, entry.file, report);
    await Promise.all(report.pending);
  }
  throw adopted;
}

/**
 * Adopts every recorded box that still runs (see adopt()); releases what
 * the ended ones left. Boxes of another pid namespace are left alone.
 */
export async function adoptAll(): Promise<Box[]> {
  const boxes: Box[] = [];
  const report = emptyReport();
  for (const { file, record } of boxRecords()) {
    const adopted = adoptRecord(record, file);
    if (adopted instanceof Box) boxes.push(adopted);
    else if (liveness(record) === 'dead') releaseBoxRecord(record, file, report);
    // else: another live owner's, or another pid namespace's: not this one's to adopt
  }
  await Promise.all(report.pending);
  return boxes;
}

export interface CleanupOptions {
  /** The box cgroup parent to sweep (as the spawn option); default: the default parent. */
  cgroupParent?: string;
  /** Empty box cgroups of supervisors that cannot be checked are removed once this old (default 60000 ms). */
  graceMs?: number;
  /**
   * Bridges (root only): `true` (default) removes the bridges cordon made
   * that have no port and whose lock no supervisor holds (a supervisor holds
   * it from before it makes or looks up a bridge until it exits);
   * `'unlocked'` also removes portless cordon bridges that have no lock file
   * at all (made by a cordon from before the locks: only when no such
   * supervisor is starting boxes); `false` leaves bridges alone.
   */
  bridges?: boolean | 'unlocked';
}

/**
 * Removes what dead boxes and dead supervisors left on the host: ended
 * boxes' records and what they name (cgroups, socket files, the
 * directories cordon made), box cgroups of supervisors that are gone,
 * tenant cgroups whose owner is gone and that are empty, and (root) bridges
 * cordon made that no box uses. Never touches a live box or supervisor's.
 * Resolves with a report; a host without a usable cgroup parent is swept
 * for records only (`kept` says why).
 */
export async function cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'options', 'The "options" argument must be an object');
  rejectUnknownKeys(options as Record<string, unknown>, ['cgroupParent', 'graceMs', 'bridges'], '');
  if (options.cgroupParent !== undefined) validateCgroupParent(options.cgroupParent);
  if (options.bridges !== undefined && options.bridges !== true && options.bridges !== false && options.bridges !== 'unlocked') {
    throw new CordonOptionError('ERR_INVALID_ARG_VALUE', 'bridges', `The "bridges" option must be true, false or 'unlocked'. Received ${String(options.bridges)}`);
  }
  if (options.graceMs !== undefined && (!Number.isInteger(options.graceMs) || options.graceMs < 0)) {
    throw new CordonOptionError('ERR_INVALID_ARG_VALUE', 'graceMs', `The "graceMs" option must be a non-negative integer. Received ${String(options.graceMs)}`);
  }
  const report = emptyReport();
  const state = stateDirChoice();
  if (state.dir === undefined) report.kept.push({ path: '', reason: `no state records to read: ${state.reason ?? 'no state directory'}` });
  let dirs: { v2?: string; v1: { controllers: string[]; dir: string }[] } = { v1: [] };
  let parent: ParentChoice | undefined;
  try {
    parent = sharedParent(options.cgroupParent, false);
    dirs = parent.existingDirs();
  } catch (error) {
    report.kept.push({ path: '', reason: `no cgroup parent to sweep: ${(error as Error).message}` });
  }
  sweepLeftovers(dirs, options.graceMs === undefined ? {} : { graceMs: options.graceMs }, report);
  sweepTenants(report);
  if (options.bridges !== false && (process.geteuid?.() ?? 0) === 0) report.bridges.push(...removeUnusedBridges({ withoutLock: options.bridges === 'unlocked' }));
  await Promise.all(report.pending);
  report.pending = [];
  if (parent !== undefined) removeEmptyParents(parent, report);
  return report;
}

/**
 * The default parent, once the sweep emptied it: removed as the last
 * supervisor's exit would (one a dead supervisor was the last to use stays
 * otherwise). Not listed when this process made it a moment ago to look in it.
 */
function removeEmptyParents(parent: ParentChoice, report: CleanupReport): void {
  const madeHere = new Set([...(parent.v2?.created === true ? [parent.v2.dir] : []), ...parent.v1Parents().filter((entry) => entry.created).map((entry) => entry.dir)]);
  const { removed, errors } = parent.removeEmpty();
  report.cgroups.push(...removed.filter((dir) => !madeHere.has(dir)));
  report.errors.push(...errors);
}

// ---- detached boxes -------------------------------------------------------
// A box acted on by later processes through a record of their own rather
// than adopted: `cordon oci`'s containers, which engines create, start,
// signal, freeze and delete with one short CLI process per step. The record
// names the process as box records do (pid + start time, checked after a
// pidfd is open: a reused pid is never acted on) and the cgroup
// directories cordon made for it, which its delete removes.

/** What a detached box's record holds of it (the caller keeps the rest). */
export interface DetachedBox {
  pid?: number;
  /** The pid's start time (/proc/PID/stat field 22). */
  startTime?: string;
  /** The cgroup directories cordon made for it, one per hierarchy, as host paths. */
  cgroupDirs?: string[];
}

/** The record of a box that runs now: its pid, start time and own cgroups; undefined when it has ended. */
export function detachBox(pid: number): Required<Pick<DetachedBox, 'pid' | 'startTime'>> & DetachedBox | undefined {
  const started = startTimeOf(pid);
  if (started === undefined) return undefined;
  const cgroupDirs = ownCgroupDirs(pid);
  return { pid, startTime: started, ...(cgroupDirs.length === 0 ? {} : { cgroupDirs }) };
}

/** Whether the recorded process still runs (not a zombie, same start time). */
export function detachedAlive(record: DetachedBox): boolean {
  return record.pid !== undefined && record.startTime !== undefined && startTimeOf(record.pid) === record.startTime;
}

/**
 * A pidfd for the recorded process, or undefined when it has ended. The
 * start time is checked after the pidfd is open: from then on the pidfd
 * names that process even if the pid is reused.
 */
function openDetached(record: DetachedBox): number | undefined {
  if (record.pid === undefined || record.startTime === undefined) return undefined;
  const fd = native().pidfdOpen(record.pid);
  if (fd < 0) return undefined;
  if (startTimeOf(record.pid) === record.startTime) return fd;
  native().closeFd(fd);
  return undefined;
}

/** Signals the recorded process through a checked pidfd; false when it has ended. */
export function signalDetached(record: DetachedBox, signal: number): boolean {
  const fd = openDetached(record);
  if (fd === undefined) return false;
  try {
    const result = native().sendSignal(fd, signal);
    if (result < 0 && result !== -3 /* ESRCH: it just ended */) {
      throw new CordonError(errnoName(result), `pidfd_send_signal ${errnoName(result)}: box ${record.pid}`, { errno: result, syscall: 'pidfd_send_signal', step: 'signal box', path: '' });
    }
    return result === 0;
  } finally {
    native().closeFd(fd);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Waits (bounded, about 10 s) until the recorded process has ended. */
export function awaitDetachedEnd(record: DetachedBox): boolean {
  for (let i = 0; i < 1000; i++) {
    if (!detachedAlive(record)) return true;
    Atomics.wait(sleeper, 0, 0, 10);
  }
  return false;
}

/** The recorded cgroups as a BoxCgroup (freeze, thaw, placement of an exec'd process); undefined without any. */
export function detachedCgroup(record: DetachedBox): BoxCgroup | undefined {
  const dirs = record.cgroupDirs ?? [];
  if (dirs.length === 0) return undefined;
  let v2Dir: string | undefined;
  const v1: { controllers: string[]; dir: string }[] = [];
  for (const dir of dirs) {
    const hierarchy = hierarchyOf(dir);
    if (hierarchy === undefined) continue;
    if (hierarchy.v2) v2Dir = dir;
    else v1.push({ controllers: hierarchy.controllers, dir });
  }
  return BoxCgroup.existing(path.basename(dirs[0]!), v2Dir, v1);
}

/** Removes the recorded cgroups once the box's processes are gone (EBUSY is retried until the kernel lets go). */
export function removeDetachedCgroups(record: DetachedBox): void {
  for (const dir of record.cgroupDirs ?? []) {
    let removed = false;
    for (let i = 0; i < 500 && !removed; i++) {
      try {
        fs.rmdirSync(dir);
        removed = true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') removed = true;
        else if (code !== 'EBUSY') throw new CordonError(code ?? 'EIO', `cannot remove the box's cgroup ${dir}: ${code}`, { errno: -((error as NodeJS.ErrnoException).errno ?? 5), syscall: 'rmdir', step: 'remove cgroup', path: dir });
        else Atomics.wait(sleeper, 0, 0, 10);
      }
    }
    if (!removed) throw new CordonError('EBUSY', `the box's cgroup ${dir} stays busy`, { errno: -16, syscall: 'rmdir', step: 'remove cgroup', path: dir });
  }
}

const MOUNT_FLAGS = ['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'clone_children'];

/** The cgroup mounts: where, whether v2, and a v1 hierarchy's controllers (as /proc/PID/cgroup names them). */
function cgroupMounts(): { where: string; v2: boolean; controllers: string[] }[] {
  const mounts: { where: string; v2: boolean; controllers: string[] }[] = [];
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, where, type, options] = line.split(' ');
    if (where === undefined || options === undefined || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    mounts.push({ where, v2: type === 'cgroup2', controllers: options.split(',').filter((option) => !MOUNT_FLAGS.includes(option) && (!option.includes('=') || option.startsWith('name='))) });
  }
  return mounts;
}

/** The hierarchy a cgroup directory is in, from the deepest mount above it. */
function hierarchyOf(dir: string): { v2: boolean; controllers: string[] } | undefined {
  let best: { where: string; v2: boolean; controllers: string[] } | undefined;
  for (const mount of cgroupMounts()) {
    if (!dir.startsWith(`${mount.where}/`) || (best !== undefined && best.where.length >= mount.where.length)) continue;
    best = mount;
  }
  return best;
}

/**
 * The cgroups cordon made for the box (those it is in and this process is
 * not), one per hierarchy, as host paths.
 */
function ownCgroupDirs(pid: number): string[] {
  const parse = (text: string): Map<string, string> => new Map(text.split('\n').filter(Boolean).map((line) => {
    const [, controllers, where] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    return [controllers === '' ? 'v2' : controllers ?? '', where ?? ''];
  }));
  try {
    const box = parse(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    const ours = parse(fs.readFileSync('/proc/self/cgroup', 'utf8'));
    const mounts = new Map<string, string>();
    for (const mount of cgroupMounts()) {
      const key = mount.v2 ? 'v2' : mount.controllers.join(',');
      if (!mounts.has(key)) mounts.set(key, mount.where);
    }
    const dirs: string[] = [];
    for (const [hierarchy, where] of box) {
      const mount = mounts.get(hierarchy);
      if (mount === undefined || where === '/' || where === ours.get(hierarchy)) continue;
      dirs.push(path.join(mount, where));
    }
    return dirs;
  } catch {
    return [];
  }
}
