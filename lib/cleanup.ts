// What cordon left on the host, found and released on the paths where no
// box is there to release it: a supervisor that was SIGKILLed (its box
// cgroups, socket files and their directories, bridges), a box that outlived
// its supervisor (dieWithParent: false) and has ended since, and
// process.exit() with boxes still running.
//
// Ownership after a supervisor is gone: a box with dieWithParent: false owns
// its leftovers through its state record (lib/state.ts); every other box
// cgroup is owned by its supervisor, named in it (`box-<pid>-...`) and
// checked through that supervisor's record (pid + start time). A cgroup is
// removed only when its owner is known to be dead, or when it is empty and
// older than LEFTOVER_GRACE_MS (a live supervisor's box cgroup is empty only
// from its mkdir until its box joins it: the clone, or for a box that joins
// late (lib/cgroups/create.ts, joinsCgroupLate) the end of the box's
// set-up, which a set-up over the grace period (less a spare leaf's age)
// loses, failing at the join; and between its box's end and the rmdir):
// that covers supervisors in other pid namespaces and those without a
// state directory.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BoxCgroup } from './cgroups/box';
import { parseKeyValues, readOptional, readPids } from './cgroups/fsio';
import { CordonError, errnoName } from './errors';
import { native } from './internal/native';
import { isFileId, socketBirth } from './sockets';
import {
  boxRecords,
  liveness,
  pidNamespace,
  removeRecord,
  type BoxRecord,
  supervisorRecordName,
  supervisorRecords,
  tenantRecords,
} from './state';

/** How old an empty box cgroup of an unknown supervisor must be before a sweep removes it. */
export const LEFTOVER_GRACE_MS = 60_000;

/** What a sweep or cleanup() found and did. */
export interface CleanupReport {
  /** Cgroup directories removed. */
  cgroups: string[];
  /** Socket files removed. */
  sockets: string[];
  /** Socket directories cordon had made, removed. */
  directories: string[];
  /** State records removed (of boxes and supervisors that are gone). */
  records: string[];
  /** Bridges cordon made that no port used, removed. */
  bridges: string[];
  /** What was left in place, and why. */
  kept: { path: string; reason: string }[];
  /** Removals that failed. */
  errors: CordonError[];
  /** Removals still under way (a cgroup draining after its processes were killed); cleanup() awaits them. */
  pending: Promise<void>[];
}

export function emptyReport(): CleanupReport {
  return { cgroups: [], sockets: [], directories: [], records: [], bridges: [], kept: [], errors: [], pending: [] };
}

// ---- process.exit() -------------------------------------------------------

/** What runs at process exit, in this order: boxes end, then the cgroups they were in (tenants), then the parents. */
export type ExitPhase = 'boxes' | 'groups' | 'parents';
const atExit: Record<ExitPhase, Set<() => void>> = { boxes: new Set(), groups: new Set(), parents: new Set() };

// Registered when this module loads, before anything else of cordon's:
// the boxes end first, then their tenant cgroups, then the parents find
// themselves empty.
process.on('exit', () => {
  for (const phase of ['boxes', 'groups', 'parents'] as const) {
    for (const end of [...atExit[phase]]) {
      try {
        end();
      } catch {
        // one failure must not keep the others
      }
    }
    atExit[phase].clear();
  }
});

/**
 * Runs `end` (synchronous) when this process exits (`process.exit()`, or
 * the loop running out), in its phase. Returns the function that
 * unregisters it (call it once the thing is released).
 */
export function atProcessExit(phase: ExitPhase, end: () => void): () => void {
  atExit[phase].add(end);
  return () => {
    atExit[phase].delete(end);
  };
}

/** A box that dies with this process: ended and released at its exit. */
export function endAtProcessExit(end: () => void): () => void {
  return atProcessExit('boxes', end);
}

// ---- removing what a record names ----------------------------------------

/** Removes a Unix socket file if it is still the one cordon bound ("dev:ino"), then the directories it made, deepest first. */
export function removeSocket(socket: { path: string; file: string; madeDirs: readonly string[]; born?: string }, report: CleanupReport): void {
  const dir = path.dirname(socket.path);
  // Kept (with why) when the record cannot show that the file at the path
  // is the one cordon bound; the directories it made are still tried. The
  // same inode number may have been given to a later socket at the path
  // (ext4 reuses freed ones at once): only the one born when cordon bound
  // it is removed.
  let kept: string | undefined;
  if (!isFileId(socket.file)) {
    kept = 'its state record does not name the file cordon bound there (a damaged record)';
  } else {
    const born = socketBirth(socket.path, socket.file);
    if (born !== '' && (socket.born === undefined || socket.born === '' || born !== socket.born)) kept = 'another socket is at the path now (same inode number, made later)';
  }
  if (kept !== undefined) report.kept.push({ path: socket.path, reason: kept });
  const opened = native().openSocketDir(dir, 0o700, -1, -1);
  if (opened.error === 0) {
    const fds = opened.fds;
    // openSocketDir makes what is missing: a directory that is gone has no socket left to remove.
    if (fds.length === 1) {
      const result = kept !== undefined ? -2 /* ENOENT: nothing of ours to remove */ : native().unlinkSocketAt(fds[0]!, path.basename(socket.path), socket.file);
      if (result === 0) report.sockets.push(socket.path);
      else if (result === -116 /* ESTALE */) report.kept.push({ path: socket.path, reason: 'another file is at the path now (not the socket cordon bound)' });
      else if (result !== -2 /* ENOENT */) report.errors.push(new CordonError(errnoName(result), `unlink ${errnoName(result)}: ${socket.path}`, { errno: result, syscall: 'unlinkat', step: 'remove socket file', path: socket.path }));
    } else {
      const names = dir.split('/').filter((part) => part !== '').slice(-(fds.length - 1));
      for (let k = fds.length - 1; k > 0; k--) native().unlinkAt(fds[k - 1]!, names[k - 1]!, true);
    }
    for (const fd of fds) native().closeFd(fd);
  }
  for (const made of [...socket.madeDirs].reverse()) {
    const parent = native().openSocketDir(path.dirname(made), 0o700, -1, -1);
    if (parent.error !== 0) continue;
    if (parent.fds.length === 1 && native().unlinkAt(parent.fds[0]!, path.basename(made), true) === 0) report.directories.push(made);
    else if (parent.fds.length > 1) {
      const names = path.dirname(made).split('/').filter((part) => part !== '').slice(-(parent.fds.length - 1));
      for (let k = parent.fds.length - 1; k > 0; k--) native().unlinkAt(parent.fds[k - 1]!, names[k - 1]!, true);
    }
    for (const fd of parent.fds) native().closeFd(fd);
  }
}

/** Kills what is left in a cgroup and removes it; a draining one goes on in `report.pending`. */
function removeCgroup(cgroup: BoxCgroup, report: CleanupReport): void {
  if (cgroup.releaseSync(200)) {
    report.cgroups.push(...cgroup.dirs);
    return;
  }
  report.pending.push(
    cgroup.remove({ kill: true }).then((removal) => {
      report.cgroups.push(...removal.dirs);
      for (const left of removal.remaining) {
        report.errors.push(new CordonError(left.code, `rmdir ${left.code}: ${left.dir}`, { syscall: 'rmdir', step: 'remove cgroup', path: left.dir }));
      }
    }),
  );
}

/** Whether a record's cgroup directory is one cordon makes: a box name, on a cgroup filesystem. */
function isBoxCgroupDir(dir: string | undefined, name: string): boolean {
  if (dir === undefined) return true;
  return path.isAbsolute(dir) && path.basename(dir) === name && BOX_NAME.test(name) && fs.existsSync(`${dir}/cgroup.procs`) && !dir.split('/').includes('..');
}

/** The BoxCgroup a record names, or undefined when it names anything but box cgroups (or they are gone). */
export function recordedCgroup(record: BoxRecord): BoxCgroup | undefined {
  const cgroup = record.cgroup;
  if (cgroup === undefined) return undefined;
  const v1 = cgroup.v1.filter((entry) => isBoxCgroupDir(entry.dir, cgroup.name));
  const v2Dir = cgroup.v2Dir !== undefined && isBoxCgroupDir(cgroup.v2Dir, cgroup.name) ? cgroup.v2Dir : undefined;
  if (v2Dir === undefined && v1.length === 0) return undefined;
  return BoxCgroup.existing(cgroup.name, v2Dir, v1);
}

/** Releases what a dead box's record names: its cgroup, sockets, directories, and the record. */
export function releaseBoxRecord(record: BoxRecord, file: string, report: CleanupReport): void {
  const cgroup = recordedCgroup(record);
  if (cgroup !== undefined) removeCgroup(cgroup, report);
  for (const socket of record.sockets) removeSocket(socket, report);
  removeRecord(file);
  report.records.push(file);
}

// ---- the sweep ------------------------------------------------------------

const BOX_NAME = /^box-(\d+)-\d+-[0-9a-f]+$/;

function isPopulated(dir: string): boolean {
  const events = parseKeyValues(readOptional(`${dir}/cgroup.events`));
  if (events.has('populated')) return events.get('populated') === 1;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (readPids(`${current}/cgroup.procs`).length > 0) return true;
    try {
      for (const entry of fs.readdirSync(current, { withFileTypes: true })) if (entry.isDirectory()) stack.push(path.join(current, entry.name));
    } catch {
      // gone
    }
  }
  return false;
}

function ageMs(dir: string): number {
  try {
    const info = fs.statSync(dir);
    return Date.now() - Math.max(info.mtimeMs, info.ctimeMs);
  } catch {
    return 0;
  }
}

export interface SweepOptions {
  /** The grace period for empty box cgroups of unknown supervisors (default LEFTOVER_GRACE_MS). */
  graceMs?: number;
  /** Remove the records of dead supervisors (default true): only once their box cgroups were swept too. */
  supervisorRecords?: boolean;
}

let recordsSwept = false;

/**
 * Once per process, at its first box with a state record (socket files,
 * dieWithParent: false): releases what ended boxes' records name, for a
 * supervisor that never takes a cgroup parent (an unprivileged one). The
 * cgroup sweep comes with the cgroup parent.
 */
export function sweepRecordsOnce(): void {
  if (recordsSwept) return;
  recordsSwept = true;
  try {
    const report = sweepLeftovers({ v1: [] }, { supervisorRecords: false });
    for (const error of report.errors) process.emitWarning(`cordon: clean-up after a dead box: ${error.message}`, { code: 'CORDON_CLEANUP' });
  } catch (error) {
    process.emitWarning(`cordon: clean-up after dead boxes failed: ${(error as Error).message}`, { code: 'CORDON_CLEANUP' });
  }
}

/**
 * Releases what dead boxes and dead supervisors left: box records whose
 * process is gone (their cgroups, socket files and directories), and, in
 * the given box cgroup parents (v2 and every v1 hierarchy, tenant cgroups
 * included), box cgroups whose supervisor is dead (a populated one is
 * killed first: its boxes were meant to die with it) or that are empty and
 * older than the grace period. Never touches a box cgroup of a live
 * supervisor, of a live box record, or of another pid namespace's record.
 * Synchronous, but a cgroup that is still draining goes on in
 * `report.pending`.
 */
export function sweepLeftovers(parents: { v2?: string; v1: { controllers: string[]; dir: string }[] }, options: SweepOptions = {}, report = emptyReport()): CleanupReport {
  const graceMs = options.graceMs ?? LEFTOVER_GRACE_MS;
  // Boxes that outlive their supervisor: a live (or unknowable) one keeps its cgroup.
  const protectedNames = new Set<string>();
  for (const { file, record } of boxRecords()) {
    const state = liveness(record);
    if (state === 'dead') releaseBoxRecord(record, file, report);
    else if (record.cgroup !== undefined) protectedNames.add(record.cgroup.name);
  }
  const supervisors = supervisorRecords();
  const ownerState = (pid: number): 'alive' | 'dead' | 'unknown' => {
    if (pid === process.pid) return 'alive';
    const entry = supervisors.get(supervisorRecordName(pid));
    return entry === undefined ? 'unknown' : liveness(entry.record);
  };

  // Every box cgroup by name, with its directory in each hierarchy.
  const found = new Map<string, { v2?: string; v1: { controllers: string[]; dir: string }[] }>();
  const collect = (parentDir: string, hierarchy: string[] | undefined, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(parentDir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(parentDir, entry.name);
      if (depth === 0 && entry.name.startsWith('tenant-')) {
        collect(dir, hierarchy, 1);
        continue;
      }
      if (!BOX_NAME.test(entry.name)) continue;
      const key = `${depth === 0 ? '' : `${path.basename(parentDir)}/`}${entry.name}`;
      const box = found.get(key) ?? { v1: [] };
      if (hierarchy === undefined) box.v2 = dir;
      else box.v1.push({ controllers: hierarchy, dir });
      found.set(key, box);
    }
  };
  if (parents.v2 !== undefined) collect(parents.v2, undefined, 0);
  for (const v1 of parents.v1) collect(v1.dir, v1.controllers, 0);

  for (const [key, dirs] of found) {
    const name = path.basename(key);
    const all = [...(dirs.v2 === undefined ? [] : [dirs.v2]), ...dirs.v1.map((entry) => entry.dir)];
    if (protectedNames.has(name)) continue;
    const owner = ownerState(Number(BOX_NAME.exec(name)![1]));
    if (owner === 'alive') continue;
    const populated = all.some(isPopulated);
    if (owner === 'dead' || (!populated && all.every((dir) => ageMs(dir) >= graceMs))) {
      removeCgroup(BoxCgroup.existing(name, dirs.v2, dirs.v1), report);
    } else {
      report.kept.push({ path: all[0]!, reason: populated ? 'its supervisor cannot be checked (another pid namespace, or no record) and it has processes' : 'its supervisor cannot be checked and it is younger than the grace period' });
    }
  }

  // Records of supervisors that are gone (their cgroups were swept above).
  for (const [, entry] of options.supervisorRecords === false ? [] : supervisors) {
    if (entry.record.pidns === pidNamespace() && liveness(entry.record) === 'dead') {
      removeRecord(entry.file);
      report.records.push(entry.file);
    }
  }
  return report;
}

/** Tenant cgroups whose owner is dead and that are empty: removed with their records. */
export function sweepTenants(report: CleanupReport): void {
  for (const { file, record } of tenantRecords()) {
    if (liveness(record.owner) !== 'dead') continue;
    const dirs = record.dirs.filter((dir) => fs.existsSync(dir));
    if (dirs.some(isPopulated)) {
      report.kept.push({ path: dirs[0]!, reason: `tenant ${record.name}: its owner is gone but boxes still run in it` });
      continue;
    }
    let removedAll = true;
    for (const dir of dirs) {
      try {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) fs.rmdirSync(path.join(dir, entry.name));
        fs.rmdirSync(dir);
        report.cgroups.push(dir);
      } catch (error) {
        removedAll = false;
        const cause = error as NodeJS.ErrnoException;
        report.errors.push(new CordonError(cause.code ?? 'EIO', `rmdir ${cause.code ?? 'EIO'}: ${dir}`, { syscall: 'rmdir', step: 'remove tenant cgroup', path: dir, cause }));
      }
    }
    if (removedAll) {
      removeRecord(file);
      report.records.push(file);
    }
  }
}
