// Errors shaped like Node's own: programmer errors throw synchronously with
// an ERR_* code; runtime failures of a spawn become a CordonError carrying the
// errno, the syscall and the plan step that failed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as util from 'node:util';
import type { StepKind } from './internal/steps';

/** Codes cordon uses besides errno names. */
export type CordonErrorCode =
  | 'ERR_CORDON_UNSUPPORTED_PLATFORM'
  | 'ERR_CORDON_NATIVE_MISSING'
  | 'ERR_CORDON_NATIVE_MISMATCH'
  | 'ERR_CORDON_UNKNOWN_OPTION'
  | 'ERR_CORDON_CONFLICTING_OPTIONS'
  | 'ERR_CORDON_HOST_UNSUPPORTED'
  | 'ERR_CORDON_POOL_CLOSED'
  | 'ERR_CORDON_OCI_UNSUPPORTED'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ABORT_ERR';

export interface CordonErrorDetails {
  /** Negative errno, as in Node's system errors (`util.getSystemErrorName(errno)`). */
  errno?: number;
  /** The system call that failed: `'mount'`, `'setns'`, or `'spawn <file>'` for the exec. */
  syscall?: string;
  /** The plan step that failed, e.g. `'write uid_map'` or `'execve'`. */
  step?: string;
  /** Its index in the plan. */
  stepIndex?: number;
  /** The path the step worked on, when it has one. */
  path?: string;
  /** The file and arguments of the spawn, as in child_process errors. */
  spawnargs?: string[];
  /** What to do about it, when cordon knows. */
  hint?: string;
  cause?: unknown;
}

/**
 * The soft and hard RLIMIT_NOFILE of this process, as /proc/self/limits
 * prints them ('unlimited' or a number). Read when asked; when the process
 * is too short of fds to open the file, the values read when cordon loaded.
 */
function readOpenFileLimits(): { soft: string; hard: string } | undefined {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'latin1').split('\n').find((candidate) => candidate.startsWith('Max open files'));
    const match = line === undefined ? null : /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
    return match === null ? undefined : { soft: match[1]!, hard: match[2]! };
  } catch {
    return undefined;
  }
}
const openFileLimitsAtLoad = readOpenFileLimits();

function openFdCount(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // less the one listing it
  } catch {
    return undefined;
  }
}

/**
 * The hint for running out of file descriptors (EMFILE, ENFILE), whichever
 * step met it: in the supervisor (socketpairs, pidfds, opened directories)
 * or in the box's setup, which works with a copy of the supervisor's fds and
 * its RLIMIT_NOFILE until the exec.
 */
export function fdShortageHint(code: string): string | undefined {
  if (code === 'ENFILE') {
    return 'the system ran out of file descriptors: the kernel\'s file table is full (fs.file-max; in use: /proc/sys/fs/file-nr); ' +
      'close fds the supervisor (or other processes) no longer need, or raise fs.file-max (sysctl -w fs.file-max=...)';
  }
  if (code !== 'EMFILE') return undefined;
  const now = readOpenFileLimits();
  const limits = now ?? openFileLimitsAtLoad;
  const open = openFdCount();
  const limit = limits === undefined
    ? 'its RLIMIT_NOFILE (see /proc/self/limits)'
    : `its RLIMIT_NOFILE soft limit ${limits.soft} (hard limit ${limits.hard}${now === undefined ? ', as read when cordon loaded' : ''}; /proc/self/limits)`;
  const raise = limits !== undefined && limits.hard !== limits.soft ? `ulimit -n ${limits.hard}` : 'ulimit -n <more>';
  return `the supervisor ran out of file descriptors: ${open === undefined ? 'it is at' : `it has ${open} open of`} ${limit}, ` +
    "and a box's setup works with a copy of the supervisor's fds; raise the limit before node starts " +
    `(${raise}, LimitNOFILE= in a systemd unit, --ulimit nofile= for a container) or close fds the supervisor no longer needs ` +
    "(streams of ended boxes, idle sockets, open files)";
}

export class CordonError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly step?: string;
  readonly stepIndex?: number;
  readonly path?: string;
  readonly spawnargs?: string[];
  readonly hint?: string;

  constructor(code: string, message: string, details: CordonErrorDetails = {}) {
    // Out of fds, whichever step and module met it: say so, and what the limit is.
    const fdHint = details.hint === undefined ? fdShortageHint(code) : undefined;
    if (fdHint !== undefined) {
      message += ` (${fdHint})`;
      details = { ...details, hint: fdHint };
    }
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CordonError';
    this.code = code;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.step !== undefined) this.step = details.step;
    if (details.stepIndex !== undefined) this.stepIndex = details.stepIndex;
    if (details.path !== undefined) this.path = details.path;
    if (details.spawnargs !== undefined) this.spawnargs = details.spawnargs;
    if (details.hint !== undefined) this.hint = details.hint;
  }
}

/** Thrown synchronously for bad options, before anything is created. */
export class CordonOptionError extends TypeError {
  readonly code: CordonErrorCode;
  /** The option at fault, as a dotted path (`namespaces.net`, `stdio[3]`). */
  readonly option: string;

  constructor(code: CordonErrorCode, option: string, message: string, details: { cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CordonOptionError';
    this.code = code;
    this.option = option;
  }
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, number]) => [number, name]),
);

/** `ENOENT` for 2 or -2; libuv knows fewer names than the kernel has (ENOEXEC, EUSERS, ...). */
export function errnoName(errno: number): string {
  const known = ERRNO_NAMES.get(Math.abs(errno));
  if (known !== undefined) return known;
  try {
    return util.getSystemErrorName(-Math.abs(errno));
  } catch {
    return `Unknown system error ${errno}`;
  }
}


/** What a failing step was doing, for the error. */
export interface FailedStep {
  name: string;
  syscall: string;
  path?: string;
  /** The failed step's kind, or 'init' when the init itself failed. */
  kind: StepKind | 'init';
}

interface HintRule {
  kind: StepKind;
  code: string;
  hint: (context: HintContext) => string | undefined;
}

export interface HintContext {
  privileged: boolean;
  userNamespaceReason?: string;
  /** The box has a memory controller: what the kernel allocates for its setup is charged to its cgroup. */
  memoryLimited?: boolean;
  /** The box's process died before its exec: 'oom' (the OOM killer of its cgroup), a signal name, or 'exit'. */
  killedInSetup?: string;
  /** The failing step's path lies under this directory, which the box's default view of the host hides (not an allowed directory, or the caller's home). */
  hiddenBy?: { dir: string; path: string; bind: string };
  /** A directory on the way to the exec'd file that the box's host uid may not search (its mode bits). */
  untraversable?: { dir: string; mode: number; owner: number; uid: number };
  /** A mount point the box's read-only image (rootfs { dir }) lacks, so the mount cannot be made. */
  missingMountPoint?: { image: string; target: string };
  /** The missing file exists on the host, but the box's root is an image (rootfs { dir } or { layers }). */
  onHostOnly?: { path: string; rootfs: 'dir' | 'layers' };
  /** A mount point missing in a template layer that the box's root may not create (the template's directory belongs to a host uid the box does not map). */
  templateMountPoint?: { target: string; idmapped: boolean };
  /** The overlay of idmapped template layers (rootfs.idmapLayers) was refused. */
  idmappedLayersRefused?: boolean;
  /** The overlay layer that is missing or not a directory on the host. */
  badLayer?: { index: number; layer: string; problem: string };
}

function hiddenHint(context: HintContext): string | undefined {
  if (context.hiddenBy === undefined) return undefined;
  const { dir, path, bind } = context.hiddenBy;
  const why = dir === '/tmp'
    ? 'which a box on rootfs \'host\' does not show of the host (the box has a private /tmp of its own)'
    : dir === '/run'
      ? 'which a box on rootfs \'host\' does not show of the host (the box has an empty /run of its own)'
      : `which a box on rootfs 'host' does not show: it sees only the host's system directories (/usr, /bin, /lib*, /etc, /opt, ...), and not the caller's home`;
  return `${path} is under ${dir}, ${why}; ` +
    `bind what it needs: mounts: [{ type: 'bind', source: '${bind}', target: '${bind}' }]`;
}

function untraversableHint(context: HintContext): string | undefined {
  if (context.untraversable === undefined) return undefined;
  const { dir, mode, owner, uid } = context.untraversable;
  return `the box user (host uid ${uid}) cannot enter ${dir} (mode ${mode.toString(8).padStart(4, '0')}, owner ${owner}), ` +
    `a directory on the way to the file: let others through (chmod o+x ${dir}), ` +
    'or install the program where every user can reach it (e.g. /usr/local or /opt)';
}

function layerHint(context: HintContext): string | undefined {
  if (context.badLayer === undefined) return undefined;
  const { index, layer, problem } = context.badLayer;
  return `rootfs.layers[${index}], ${layer}, ${problem} on the host: every layer must be an existing directory`;
}

// Keyed by (step kind, errno name): the advice a person needs to fix it.
const HINTS: HintRule[] = [
  {
    kind: 'clone',
    code: 'EPERM',
    hint: (context) =>
      context.userNamespaceReason ??
      (context.privileged
        ? 'the kernel refused to create the namespaces; a seccomp policy (e.g. a container runtime) may block them'
        : 'unprivileged user namespaces may be disabled: see probe().userNamespaces; ' +
          'without them, only root can create namespaces'),
  },
  {
    kind: 'clone',
    code: 'ENOSPC',
    hint: () => 'a namespace limit was reached: see /proc/sys/user/max_*_namespaces',
  },
  {
    kind: 'clone',
    code: 'EUSERS',
    hint: () => 'too many nested user namespaces',
  },
  {
    kind: 'idmap',
    code: 'EPERM',
    hint: (context) =>
      context.privileged
        ? undefined
        : 'an unprivileged caller can map only its own uid and gid (one id each); ' +
          'ranges need newuidmap/newgidmap and /etc/subuid, /etc/subgid',
  },
  {
    kind: 'seccomp',
    code: 'EACCES',
    hint: () => 'installing a seccomp filter needs no_new_privs (allowNewPrivileges: false) or CAP_SYS_ADMIN',
  },
  {
    kind: 'idhelper',
    code: 'EPERM',
    hint: () => 'newuidmap/newgidmap refused the map: check /etc/subuid and /etc/subgid for this user',
  },
  {
    kind: 'exec',
    code: 'EACCES',
    hint: (context) => untraversableHint(context) ?? 'the file is not executable by the box user, or sits on a noexec mount',
  },
  {
    kind: 'exec',
    code: 'ENOENT',
    hint: (context) =>
      hiddenHint(context) ??
      (context.onHostOnly === undefined
        ? undefined
        : `${context.onHostOnly.path} exists on the host, but the box's root is its image (rootfs { ${context.onHostOnly.rootfs} }), ` +
          `not the host's: put the program in the image, or bind it: mounts: [{ type: 'bind', source: '${context.onHostOnly.path}', target: '${context.onHostOnly.path}' }]`) ??
      'no such file in the box; for a name without a slash, env.PATH of the box is searched',
  },
  {
    kind: 'chdir',
    code: 'ENOENT',
    hint: (context) => hiddenHint(context),
  },
  {
    kind: 'join',
    code: 'EPERM',
    hint: () => 'joining a namespace needs CAP_SYS_ADMIN over the user namespace that owns it',
  },
  {
    kind: 'join',
    code: 'EINVAL',
    hint: () => 'the file is not a namespace of the expected type',
  },
  {
    kind: 'bind',
    code: 'ELOOP',
    hint: () =>
      'a component of the bind source is a symlink, and cordon does not follow symlinks in bind sources ' +
      '(a tenant that can write below it could point it anywhere): give the real path (fs.realpathSync), ' +
      'or set followSymlinks: true on the mount (CLI: --ro-bind-follow, --bind-follow) if no tenant can write along the path',
  },
  {
    kind: 'proc',
    code: 'ELOOP',
    hint: () => 'procfs is mounted only on an ordinary directory: a symlink in the target path (an image\'s /proc -> elsewhere) is refused, as runc does',
  },
  {
    kind: 'upper',
    code: 'ELOOP',
    hint: () =>
      'a component of rootfs.upper.dir, or its upper/ or work/, is a symlink: cordon never follows symlinks in a tenant\'s upper layer',
  },
  {
    kind: 'upper',
    code: 'EPERM',
    hint: () =>
      "upper/ and work/ must belong to the box's root as the box sees it (uid 0 inside): cordon checked their host owner " +
      'before the spawn, so they were replaced since, or the joined user namespace maps its root to another host uid',
  },
  {
    kind: 'mount',
    code: 'EROFS',
    hint: (context) => {
      if (context.missingMountPoint === undefined) return undefined;
      const { image, target } = context.missingMountPoint;
      return `the image ${image} has no ${target} to mount on, and its root is read-only in the box: ` +
        `create the mount point in the image (mkdir -p ${image === '/' ? '' : image}${target}), or set rootfs.writable: true`;
    },
  },
  {
    kind: 'mount',
    code: 'EACCES',
    hint: (context) => {
      if (context.templateMountPoint === undefined) return undefined;
      const { target, idmapped } = context.templateMountPoint;
      return idmapped
        ? `the box's root may not create the mount point ${target} in its template layers (their directory there is not the box's): create it in the template`
        : `the template layers have no ${target} to mount on, and their directory there belongs to host root, whom the box does not map, so the box's root cannot create it: ` +
          'set rootfs.idmapLayers: true (root callers: host root in the templates is then the box\'s root, and the mount point is made in the box\'s upper layer), or create the mount point in the template';
    },
  },
  {
    kind: 'mount',
    code: 'EINVAL',
    hint: (context) => context.idmappedLayersRefused === true
      ? "this kernel's overlayfs may not take idmapped layers (Linux 5.19 and later do): leave rootfs.idmapLayers off, or create what the box needs in the templates"
      : undefined,
  },
  { kind: 'layer', code: 'ENOENT', hint: layerHint },
  { kind: 'layer', code: 'ENOTDIR', hint: layerHint },
  { kind: 'layer', code: 'EINVAL', hint: layerHint },
  {
    kind: 'ucount',
    code: 'ENOENT',
    hint: () => 'this kernel has no such per-user limit (see probe().kernelCounters); leave it out of kernelCounters',
  },
  {
    kind: 'ucount',
    code: 'EACCES',
    hint: () => "writing the box's /proc/sys/user needs CAP_SYS_RESOURCE in its user namespace; a read-only /proc (a container's) refuses it too",
  },
  {
    kind: 'ucount',
    code: 'EROFS',
    hint: () => "the host's /proc/sys is read-only (as in some containers): the box's per-user limits cannot be set; see probe().kernelCounters",
  },
  // A /proc file that is no procfs file (EXDEV) or a FIFO (ENXIO): something is mounted over /proc where the child writes it.
  ...(['oom', 'ucount', 'sysctl'] as const).flatMap((kind) => (['EXDEV', 'ENXIO'] as const).map((code) => ({
    kind,
    code,
    hint: () => "the file is not procfs's: something is mounted over /proc in the namespace written (box.exec() joins the box's, where a payload allowed to mount decides what /proc is); the limit was not set",
  }))),
  {
    kind: 'sysfs',
    code: 'EPERM',
    hint: () =>
      "a box's own /sys in a user namespace needs a fully visible /sys on the host (not the masked one of some " +
      "containers); go without one: mounts: [{ type: 'mask', target: '/sys' }]",
  },
  {
    kind: 'proc',
    code: 'EPERM',
    hint: () =>
      'mounting /proc in a user namespace needs a fully visible /proc on the host (no masked paths, as in some containers)',
  },
];

/** Step kinds that are mounts of a particular sort: what is true of any mount is true of them. */
export function isMountKind(kind: string): boolean {
  return kind === 'mount' || kind === 'proc' || kind === 'sysfs';
}

export function hintFor(kind: string, code: string, context: HintContext): string | undefined {
  if (context.killedInSetup === 'oom') {
    return "the OOM killer of the box's memory cgroup killed the box's process during its setup: the box's memory limit is too small";
  }
  if (context.killedInSetup !== undefined) {
    return context.killedInSetup === 'exit'
      ? "the box's process ended during its setup without saying why"
      : `the box's process was killed by ${context.killedInSetup} during its setup`;
  }
  if (code === 'ENOMEM' && context.memoryLimited === true) {
    return "the kernel charges what the box's processes allocate (their memory, and a forked box's namespaces and mounts) to the box's memory cgroup: the box's memory limit may be too small";
  }
  const rule = HINTS.find((candidate) => candidate.kind === kind && candidate.code === code);
  // A mount of a particular kind (its own /proc, /sys) also gets the advice for any mount.
  const general = isMountKind(kind) && kind !== 'mount' ? HINTS.find((candidate) => candidate.kind === 'mount' && candidate.code === code) : undefined;
  return rule?.hint(context) ?? general?.hint(context) ?? fdShortageHint(code);
}

/** Builds the error for a step that failed in the child or in the parent's window. */
export function stepError(
  failed: FailedStep,
  stepIndex: number,
  stepCount: number,
  errno: number,
  spawnargs: string[],
  context: HintContext,
): CordonError {
  const code = errnoName(errno);
  const hint = hintFor(failed.kind, code, context);
  const where = failed.path === undefined ? '' : ` ${failed.path}`;
  let message = `${failed.syscall} ${code}: step ${stepIndex + 1}/${stepCount} '${failed.name}'${where} failed`;
  if (hint !== undefined) message += ` (${hint})`;
  const details: CordonErrorDetails = {
    errno: -Math.abs(errno),
    syscall: failed.syscall,
    step: failed.name,
    stepIndex,
    spawnargs,
  };
  if (failed.path !== undefined) details.path = failed.path;
  if (hint !== undefined) details.hint = hint;
  return new CordonError(code, message, details);
}
