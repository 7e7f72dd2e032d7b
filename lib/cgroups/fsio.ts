// Plain file I/O on cgroup filesystems, and the error every failure becomes.
// Each write is one open(O_WRONLY) + one write(2): cgroup files parse a
// whole write at once and must never be opened with O_CREAT or for reading
// (cgroup.kill, cgroup.event_control and friends are write-only).
import * as fs from 'node:fs';

import { CordonError, type CordonErrorDetails, errnoName } from '../errors';

export interface CgroupErrorDetails extends CordonErrorDetails {
  /** The controller at fault (`memory`, `pids`, `blkio`, ...), when one is. */
  controller?: string;
}

/**
 * A cgroup step that failed, or a controller that cannot be had. A
 * CordonError: `code` is the errno name (`EBUSY`, `EACCES`, ...) or
 * `ERR_CORDON_HOST_UNSUPPORTED` when the host lacks something (a controller
 * not mounted, not delegated, a file the kernel does not have); `step` names
 * what cordon was doing (`create cgroup`, `enable controllers`, `write
 * memory.max`, `attach`, ...), `path` the file or directory, `controller`
 * the controller, `hint` what to do. `syscall` is always set, so spawn code
 * that reports "a CordonError with a syscall" on the box reports these too.
 */
export class CgroupError extends CordonError {
  readonly controller?: string;

  constructor(code: string, message: string, details: CgroupErrorDetails = {}) {
    super(code, message, details);
    this.name = 'CgroupError';
    if (details.controller !== undefined) this.controller = details.controller;
  }
}

interface HintRule {
  /** Matches the step name's start. */
  step: string;
  code: string;
  hint: string;
}

// Keyed by (step, errno name): what a person needs to fix it.
const HINTS: HintRule[] = [
  { step: 'enable controllers', code: 'EBUSY', hint: 'the parent cgroup has processes in it: cgroup v2 lets a non-root cgroup with processes have no controllers in cgroup.subtree_control (the no-internal-processes rule); use a parent without processes, or pass moveSelf to findParent' },
  { step: 'enable controllers', code: 'ENOENT', hint: 'the controller is not in the parent\'s cgroup.controllers: its own parent does not enable it in cgroup.subtree_control' },
  { step: 'enable controllers', code: 'EACCES', hint: 'the parent\'s cgroup.subtree_control is not writable by this user: the subtree is not delegated' },
  { step: 'create cgroup', code: 'EACCES', hint: 'the parent cgroup is not writable by this user: run as root, pass a delegated cgroupParent, or run under systemd with Delegate=yes' },
  { step: 'create cgroup', code: 'EEXIST', hint: 'a cgroup of that name exists already; cordon never reuses a box cgroup it did not create' },
  { step: 'create cgroup', code: 'EROFS', hint: 'the cgroup filesystem is mounted read-only (as in many containers): give the container a writable, delegated cgroup' },
  { step: 'create cgroup', code: 'ENOMEM', hint: 'the memory limit of the parent cgroup (a tenant cgroup\'s memory.max) leaves no room for a new cgroup: the kernel charges it there' },
  { step: 'create cgroup', code: 'EAGAIN', hint: 'cgroup.max.descendants or cgroup.max.depth of an ancestor is reached' },
  { step: 'attach', code: 'ENOSPC', hint: 'a v1 cpuset cgroup with empty cpuset.cpus or cpuset.mems cannot take processes' },
  { step: 'attach', code: 'EOPNOTSUPP', hint: 'the target is not a domain cgroup that can take processes (threaded or invalid type)' },
  { step: 'attach', code: 'EBUSY', hint: 'the target cgroup has controllers enabled in its cgroup.subtree_control (no-internal-processes rule)' },
  { step: 'attach', code: 'EACCES', hint: 'moving a process needs write access to cgroup.procs of the common ancestor of its source and target cgroups' },
  { step: 'write cpuset', code: 'EINVAL', hint: 'the CPUs or memory nodes must exist and be a subset of the parent cgroup\'s' },
  { step: 'write cpuset', code: 'ERANGE', hint: 'no such CPU or memory node: they must exist and be a subset of the parent cgroup\'s' },
  { step: 'write memory', code: 'EBUSY', hint: 'the box already uses more memory than the new limit and it cannot be reclaimed' },
  { step: 'write io', code: 'ENODEV', hint: 'no such block device (major:minor), or it is a partition: limits apply to whole disks' },
  { step: 'write io', code: 'EINVAL', hint: 'the device does not accept this limit (a partition, or a device-mapper/loop device)' },
  { step: 'write blkio', code: 'ENODEV', hint: 'no such block device (major:minor), or it is a partition: limits apply to whole disks' },
  { step: 'write blkio', code: 'EINVAL', hint: 'the device does not accept this limit (a partition, or a device-mapper/loop device)' },
  { step: 'write cpu', code: 'EINVAL', hint: 'cpu.max quota must be at least 1000 µs and period between 1000 and 1000000 µs' },
  { step: 'remove cgroup', code: 'EBUSY', hint: 'processes are still in the cgroup (or exiting); kill() the box first' },
];

export function cgroupHint(step: string, code: string): string | undefined {
  return HINTS.find((rule) => step.startsWith(rule.step) && rule.code === code)?.hint;
}

/** Turns a failed fs call into a CgroupError naming the step and the path. */
export function fsFailure(
  error: unknown,
  syscall: string,
  step: string,
  path: string,
  controller?: string,
): CgroupError {
  const cause = error as NodeJS.ErrnoException;
  const code = cause.code ?? errnoName(cause.errno ?? 5);
  const errno = cause.errno !== undefined ? -Math.abs(cause.errno) : -5;
  const hint = cgroupHint(step, code);
  let message = `${syscall} ${code}: '${step}' ${path} failed`;
  if (hint !== undefined) message += ` (${hint})`;
  const details: CgroupErrorDetails = { errno, syscall, step, path, cause };
  if (hint !== undefined) details.hint = hint;
  if (controller !== undefined) details.controller = controller;
  return new CgroupError(code, message, details);
}

/** The host lacks a controller or a feature: names it and says why. */
export function unsupported(controller: string | undefined, reason: string, path?: string, hint?: string): CgroupError {
  const what = controller === undefined ? 'cgroups' : `cgroup controller '${controller}'`;
  const details: CgroupErrorDetails = { syscall: 'open', step: controller === undefined ? 'find cgroup parent' : `use controller ${controller}` };
  if (controller !== undefined) details.controller = controller;
  if (path !== undefined) details.path = path;
  if (hint !== undefined) details.hint = hint;
  return new CgroupError('ERR_CORDON_HOST_UNSUPPORTED', `${what} cannot be used: ${reason}${hint === undefined ? '' : ` (${hint})`}`, details);
}

/** The file's text, trimmed; undefined when it cannot be read (missing file, gone cgroup). */
export function readOptional(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readRequired(file: string, step: string, controller?: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw fsFailure(error, 'read', step, file, controller);
  }
}

/** One write(2) of `value` to an existing cgroup file; throws a CgroupError. */
export function writeCgroupFile(file: string, value: string, step: string, controller?: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY);
  } catch (error) {
    throw fsFailure(error, 'open', step, file, controller);
  }
  try {
    fs.writeSync(fd, value);
  } catch (error) {
    throw fsFailure(error, 'write', step, file, controller);
  } finally {
    fs.closeSync(fd);
  }
}

/** `key value` lines (cpu.stat, memory.events, memory.oom_control, ...) as numbers. */
export function parseKeyValues(text: string | undefined): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const number = Number(value);
    if (Number.isFinite(number)) values.set(key, number);
  }
  return values;
}

/** Pids in a cgroup.procs file (empty when the file is gone). */
export function readPids(file: string): number[] {
  const text = readOptional(file);
  if (text === undefined || text === '') return [];
  return text.split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (short waits inside synchronous kill paths only). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

export function canWrite(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
