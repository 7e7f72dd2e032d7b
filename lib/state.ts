// The state directory: small records that let a later process tell what a
// dead supervisor left on the host, and adopt the boxes that outlived it.
//
//   <state>/supervisors/<pidns>-<pid>.json  a supervisor that made box cgroups
//   <state>/boxes/<id>.json                 a box with dieWithParent: false
//   <state>/tenants/<name>.json             a tenant cgroup and its owner
//
// A record names its process by pid, pid namespace and start time (field 22
// of /proc/<pid>/stat, clock ticks since boot): a recycled pid has another
// start time, so it is never taken for the recorded process. A process in
// another pid namespace cannot be checked by pid at all: its records are
// left alone ('unknown').
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CordonError } from './errors';

/** Where records live: `CORDON_STATE_DIR`, else `/run/cordon` (root), else `$XDG_RUNTIME_DIR/cordon`. */
export interface StateDirChoice {
  /** The directory, or undefined when there is none. */
  dir: string | undefined;
  /** Why there is none. */
  reason?: string;
}

/** Resolves the state directory (does not create it). */
export function stateDirChoice(env: NodeJS.ProcessEnv = process.env): StateDirChoice {
  const configured = env.CORDON_STATE_DIR;
  if (configured !== undefined && configured !== '') {
    if (!path.isAbsolute(configured)) return { dir: undefined, reason: `CORDON_STATE_DIR is not an absolute path (${JSON.stringify(configured)})` };
    return { dir: configured };
  }
  if ((process.geteuid?.() ?? 0) === 0) return { dir: '/run/cordon' };
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && path.isAbsolute(runtime)) return { dir: path.join(runtime, 'cordon') };
  return {
    dir: undefined,
    reason: 'not root and XDG_RUNTIME_DIR is not set: no private directory for state records (set XDG_RUNTIME_DIR or CORDON_STATE_DIR)',
  };
}

function stateError(error: unknown, syscall: string, step: string, file: string): CordonError {
  const cause = error as NodeJS.ErrnoException;
  const code = cause.code ?? 'EIO';
  return new CordonError(code, `${syscall} ${code}: '${step}' ${file} failed`, { errno: cause.errno ?? -5, syscall, step, path: file, cause });
}

/**
 * Makes (0700) and checks the state directory and its `kind` subdirectory:
 * each must be a real directory (not a symlink) owned by this uid and
 * writable by nobody else, so no other user can plant or read a record.
 * Throws a CordonError; undefined when there is no state directory.
 */
export function ensureStateDir(kind: 'supervisors' | 'boxes' | 'tenants'): string | undefined {
  const base = stateDirChoice().dir;
  if (base === undefined) return undefined;
  ensurePrivateDirs([base, path.join(base, kind)]);
  return path.join(base, kind);
}

/**
 * Makes (0700) and checks each directory in turn, parents first: a real
 * directory owned by this uid and writable by nobody else. Throws a CordonError.
 */
export function ensurePrivateDirs(dirs: readonly string[]): void {
  const euid = process.geteuid?.() ?? 0;
  for (const dir of dirs) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw stateError(error, 'mkdir', 'make state directory', dir);
    }
    let info: fs.Stats;
    try {
      info = fs.lstatSync(dir);
    } catch (error) {
      throw stateError(error, 'lstat', 'check state directory', dir);
    }
    if (!info.isDirectory() || info.uid !== euid || (info.mode & 0o022) !== 0) {
      throw new CordonError('EPERM', `the state directory ${dir} is not a directory owned by uid ${euid} and writable only by it`, {
        errno: -1, syscall: 'lstat', step: 'check state directory', path: dir,
        hint: 'remove it, or point CORDON_STATE_DIR at a private directory',
      });
    }
  }
}

/** The directory of `kind` records if it exists (never creates it). */
export function stateSubdir(kind: 'supervisors' | 'boxes' | 'tenants'): string | undefined {
  const base = stateDirChoice().dir;
  return base === undefined ? undefined : path.join(base, kind);
}

/** A process as records name it. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. */
  startTime: string;
  /** The pid namespace it was seen in (the inode of /proc/self/ns/pid). */
  pidns: string;
}

let ownPidns: string | undefined;

/** The inode of this process's pid namespace, as a string. */
export function pidNamespace(): string {
  if (ownPidns !== undefined) return ownPidns;
  try {
    ownPidns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? 'unknown';
  } catch {
    ownPidns = 'unknown';
  }
  return ownPidns;
}

/**
 * The start time of `pid` in this pid namespace, or undefined when there is
 * no such process or it has ended (a zombie nobody has reaped yet: its
 * parent may be a reaper that is slow, or this very supervisor's ghost).
 */
export function startTimeOf(pid: number): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // field 3: the state
  return fields[19]; // field 22 overall: the 20th after the state
}

/** The identity of process `pid` now, in this pid namespace. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime, pidns: pidNamespace() };
}

/** `alive`: the recorded process runs; `dead`: it does not; `unknown`: another pid namespace. */
export type Liveness = 'alive' | 'dead' | 'unknown';

export function liveness(identity: ProcessIdentity): Liveness {
  if (identity.pidns !== pidNamespace()) return 'unknown';
  return startTimeOf(identity.pid) === identity.startTime ? 'alive' : 'dead';
}

function isIdentity(value: unknown): value is ProcessIdentity {
  const record = value as Partial<ProcessIdentity> | null;
  return typeof record === 'object' && record !== null && Number.isInteger(record.pid) && typeof record.startTime === 'string' && typeof record.pidns === 'string';
}

/** Writes a record atomically (a temp file renamed over it), mode 0600. */
export function writeRecord(dir: string, name: string, record: object): string {
  const file = path.join(dir, `${name}.json`);
  const temp = path.join(dir, `.${name}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temp, `${JSON.stringify(record)}\n`, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, file);
  } catch (error) {
    try {
      fs.unlinkSync(temp);
    } catch {
      // not made
    }
    throw stateError(error, 'write', 'write state record', file);
  }
  return file;
}

/**
 * Whether records in `dir` can be trusted: it and the state directory are
 * real directories owned by this uid and writable by no one else. A record
 * names cgroups to kill and files to remove: one planted by another user
 * (a CORDON_STATE_DIR pointing somewhere shared) must never be acted on.
 */
function trusted(dir: string): boolean {
  const euid = process.geteuid?.() ?? 0;
  for (const each of [path.dirname(dir), dir]) {
    try {
      const info = fs.lstatSync(each);
      if (!info.isDirectory() || info.uid !== euid || (info.mode & 0o022) !== 0) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Reads every `*.json` record in `dir` (unreadable or malformed ones are skipped; none from a directory that is not trusted). */
export function readRecords<T>(dir: string | undefined, check: (value: unknown) => value is T): { name: string; file: string; record: T }[] {
  if (dir === undefined || !trusted(dir)) return [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: { name: string; file: string; record: T }[] = [];
  for (const entry of names) {
    if (!entry.endsWith('.json') || entry.startsWith('.')) continue;
    const file = path.join(dir, entry);
    try {
      const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (check(value)) out.push({ name: entry.slice(0, -5), file, record: value });
    } catch {
      // a record being written, or not ours to read
    }
  }
  return out;
}

export function removeRecord(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // gone already
  }
}

// ---- supervisors ----------------------------------------------------------

export type SupervisorRecord = ProcessIdentity;

let supervisorFile: string | null | undefined;

/** The supervisor record's name for a pid in this pid namespace. */
export function supervisorRecordName(pid: number, pidns = pidNamespace()): string {
  return `${pidns}-${pid}`;
}

/**
 * Records this process as a supervisor (once), so that a later process can
 * tell its box cgroups from a live one's after it is gone; the record goes
 * when it exits. Without a state directory it records nothing (the sweep
 * then goes by age alone). A failure to record is a warning, not an error:
 * it must not stop a box.
 */
export function recordSupervisor(): void {
  if (supervisorFile !== undefined) return;
  supervisorFile = null;
  try {
    const dir = ensureStateDir('supervisors');
    const self = identityOf(process.pid);
    if (dir === undefined || self === undefined) return;
    const file = writeRecord(dir, supervisorRecordName(process.pid), self);
    supervisorFile = file;
    process.once('exit', () => removeRecord(file));
  } catch (error) {
    process.emitWarning(`cordon: cannot record this supervisor: ${(error as Error).message}`, { code: 'CORDON_STATE_RECORD' });
  }
}

/** The recorded supervisors: by record name (`<pidns>-<pid>`). */
export function supervisorRecords(): Map<string, { file: string; record: SupervisorRecord }> {
  const out = new Map<string, { file: string; record: SupervisorRecord }>();
  for (const { name, file, record } of readRecords(stateSubdir('supervisors'), isIdentity)) out.set(name, { file, record });
  return out;
}

// ---- boxes ----------------------------------------------------------------

/** A box that may outlive its supervisor (dieWithParent: false). */
export interface BoxRecord extends ProcessIdentity {
  /** The record's id (the box cgroup's name, or `box-<pid>-<start>` without one). */
  id: string;
  file: string;
  args: string[];
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The supervisor that started it. */
  supervisor: ProcessIdentity;
  /** Its cgroup: the name and every directory (v2 first), when it has one. */
  cgroup?: { name: string; v2Dir?: string; v1: { controllers: string[]; dir: string }[] };
  /** Its Unix listening sockets: the path, the "dev:ino" cordon bound and when it was made (see BoundSocketFile). */
  sockets: { path: string; file: string; madeDirs: string[]; born?: string }[];
  /** The tenant cgroup it joined, by name. */
  tenant?: string;
  /** It dies with its supervisor (recorded for its socket files only): never adopted. */
  diesWithSupervisor?: boolean;
}

export function isBoxRecord(value: unknown): value is BoxRecord {
  const record = value as Partial<BoxRecord> | null;
  return isIdentity(value) && typeof record?.id === 'string' && Array.isArray(record.sockets) && isIdentity(record.supervisor);
}

export function boxRecords(): { file: string; record: BoxRecord }[] {
  return readRecords(stateSubdir('boxes'), isBoxRecord);
}

// ---- tenants --------------------------------------------------------------

export interface TenantRecord {
  name: string;
  owner: ProcessIdentity;
  dirs: string[];
}

export function isTenantRecord(value: unknown): value is TenantRecord {
  const record = value as Partial<TenantRecord> | null;
  return typeof record === 'object' && record !== null && typeof record.name === 'string' && isIdentity(record.owner) && Array.isArray(record.dirs);
}

export function tenantRecords(): { file: string; record: TenantRecord }[] {
  return readRecords(stateSubdir('tenants'), isTenantRecord);
}
