// Errors shaped like Node's own: programmer errors throw synchronously with
// an ERR_* code; runtime failures of a spawn become a CordonError carrying the
// errno, the syscall and the plan step that failed.
import * as os from 'node:os';
import * as util from 'node:util';

/** Codes cordon uses besides errno names. */
export type CordonErrorCode =
  | 'ERR_CORDON_UNSUPPORTED_PLATFORM'
  | 'ERR_CORDON_NATIVE_MISSING'
  | 'ERR_CORDON_NATIVE_MISMATCH'
  | 'ERR_CORDON_UNKNOWN_OPTION'
  | 'ERR_CORDON_CONFLICTING_OPTIONS'
  | 'ERR_CORDON_HOST_UNSUPPORTED'
  | 'ERR_CORDON_POOL_CLOSED'
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

export function errnoNumber(name: string): number | undefined {
  const value = (os.constants.errno as Record<string, number | undefined>)[name];
  return value;
}

/** What a failing step was doing, for the error. */
export interface FailedStep {
  name: string;
  syscall: string;
  path?: string;
  kind: string;
}

interface HintRule {
  kind: string;
  code: string;
  hint: (context: HintContext) => string | undefined;
}

export interface HintContext {
  privileged: boolean;
  userNamespaceReason?: string;
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
    hint: () => 'the file is not executable by the box user, or sits on a noexec mount',
  },
  {
    kind: 'exec',
    code: 'ENOENT',
    hint: () => 'no such file in the box; for a name without a slash, env.PATH of the box is searched',
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
    kind: 'proc',
    code: 'EPERM',
    hint: () =>
      'mounting /proc in a user namespace needs a fully visible /proc on the host (no masked paths, as in some containers)',
  },
];

export function hintFor(kind: string, code: string, context: HintContext): string | undefined {
  const rule = HINTS.find((candidate) => candidate.kind === kind && candidate.code === code);
  return rule?.hint(context);
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
