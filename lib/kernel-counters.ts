// Per-user kernel counters a box could otherwise take from the host and from
// other boxes: limits inside the box's own user namespace (/proc/sys/user/*)
// and default ceilings for the rlimits the kernel counts the same way.
//
// What the kernel does (kernel/ucount.c, kernel/user_namespace.c; Linux 5.14+
// for the rlimit half):
//
// - Counts are kept per (user namespace, uid): a process is charged as
//   (its user namespace, its euid) for the ucount kinds (inotify instances
//   and watches, fanotify groups and marks, each kind of namespace it makes)
//   and as (its user namespace, its real uid) for the rlimit kinds
//   (RLIMIT_NPROC, RLIMIT_MSGQUEUE, RLIMIT_SIGPENDING, RLIMIT_MEMLOCK).
// - Every charge goes up the hierarchy: a user namespace's counts are also
//   charged to (its parent namespace, its owner), the euid that created it,
//   and so on up to the host's. A box's namespace is made by the caller, so
//   every box of a caller is charged at the host's level to the caller's own
//   uid (root, for a root caller, also when the box maps nobody): the very
//   count the caller's own processes use. That is how one box starved a
//   second box and the supervisor.
// - ucount kinds (inc_ucount): at each level the count of (namespace, uid)
//   must stay below that namespace's own limit, /proc/sys/user/max_* of that
//   namespace. A new user namespace's limits start at INT_MAX; a process
//   with CAP_SYS_RESOURCE in it may lower them. So the host's limit (128
//   inotify instances) caps the sum over all boxes of a caller, and a limit
//   written in the box's namespace caps each uid of that box.
// - /proc/sys/user/* shows the limits of the *reader's* user namespace
//   (the sysctl set is looked up by current_user_ns(), not by the /proc
//   mount), so the box's root writes its own namespace's limits through any
//   /proc, before it drops its capabilities.
// - rlimit kinds (inc_rlimit_ucounts, is_rlimit_overlimit): the count of the
//   process's own (namespace, uid) is checked against its rlimit; each level
//   above against the rlimit the namespace's creator had when it made it
//   (captured at creation: the caller's). A lower rlimit in the box caps each
//   uid of the box; the caller's own rlimit still caps all of them together.
// - RLIMIT_NPROC is never enforced on the host's root (and a namespace made
//   by the host's root records no ceiling for its creator's level), so for a
//   root caller only the box's own rlimit bounds a box's processes.
//
// What follows: the limits are per box *and uid*. A box that maps one id (the
// default), or whose payload cannot change uid (no capabilities,
// no_new_privs), gets one budget; one that maps a range and keeps CAP_SETUID
// or allows setuid binaries gets one per uid it can become, all charged to
// the caller together. And N boxes × the per-box
// limit may exceed the caller's own limit: the host must allow the caller
// that much (e.g. fs.inotify.max_user_instances), or a root supervisor has
// each tenant's namespace owned by, and so charged to, the tenant's own host
// uid (userNamespaceOwner: 'box': the owner is the euid of the thread that
// clones, see native/spawn_box.cc), or runs each tenant under a host uid of
// its own without a user namespace (namespaces.user: 'host', uid).
import * as fs from 'node:fs';

import { checkInteger, conflict, invalidType, invalidValue, isPlainObject, rejectUnknownKeys } from './internal/checks';
import { step, type PlanStep } from './internal/steps';
import type { IdMapEntry } from './options';
import type { RlimitName } from './limits';

/** The per-user limits of /proc/sys/user, by option name. */
export const KERNEL_COUNTER_FILES = {
  inotifyInstances: 'max_inotify_instances',
  inotifyWatches: 'max_inotify_watches',
  fanotifyGroups: 'max_fanotify_groups',
  fanotifyMarks: 'max_fanotify_marks',
  userNamespaces: 'max_user_namespaces',
  mountNamespaces: 'max_mnt_namespaces',
  pidNamespaces: 'max_pid_namespaces',
  netNamespaces: 'max_net_namespaces',
  ipcNamespaces: 'max_ipc_namespaces',
  utsNamespaces: 'max_uts_namespaces',
  cgroupNamespaces: 'max_cgroup_namespaces',
  timeNamespaces: 'max_time_namespaces',
} as const;

export type KernelCounterName = keyof typeof KERNEL_COUNTER_FILES;

/** A limit per uid of the box, or `'unlimited'` to leave the namespace's own (INT_MAX: only the host's applies). */
export type KernelCounterLimit = number | 'unlimited';

export type KernelCounterLimits = { readonly [K in KernelCounterName]?: KernelCounterLimit };

const USER_SYSCTL_DIR = '/proc/sys/user';
const INT_MAX = 0x7fffffff;

/**
 * The most a box gets by default, before the quarter-of-the-caller's rule:
 * enough for what a service runs (a few inotify users, an editor's or build
 * tool's watches, a nested sandbox or two when seccomp allows it).
 */
export const KERNEL_COUNTER_CEILINGS: Readonly<Record<KernelCounterName, number>> = {
  inotifyInstances: 32,
  inotifyWatches: 8192,
  fanotifyGroups: 32,
  fanotifyMarks: 8192,
  userNamespaces: 64,
  mountNamespaces: 64,
  pidNamespaces: 64,
  netNamespaces: 64,
  ipcNamespaces: 64,
  utsNamespaces: 64,
  cgroupNamespaces: 64,
  timeNamespaces: 64,
};

/** The rlimits the kernel counts per (user namespace, uid), given a default ceiling in a box. */
export const COUNTED_RLIMITS: readonly RlimitName[] = ['nproc', 'msgqueue', 'sigpending', 'memlock'];

/** A box takes at most this share of what the caller itself may have, so three more such boxes (or the caller) still fit. */
export const BOX_SHARE = 4;

export interface CallerCounterLimits {
  /** The caller's user namespace's /proc/sys/user/* (undefined: the kernel has no such counter). */
  sysctl: Partial<Record<KernelCounterName, number>>;
  /** The caller's soft rlimits of the counted kinds (undefined: unlimited). */
  rlimits: Partial<Record<RlimitName, number>>;
}

let callerLimits: CallerCounterLimits | undefined;

const LIMITS_ROWS: Readonly<Record<string, RlimitName>> = {
  'Max processes': 'nproc',
  'Max msgqueue size': 'msgqueue',
  'Max pending signals': 'sigpending',
  'Max locked memory': 'memlock',
};

/** What the caller itself may have: read once per process (Node cannot change its own rlimits; sysctls rarely change). */
export function readCallerCounterLimits(): CallerCounterLimits {
  if (callerLimits !== undefined) return callerLimits;
  const sysctl: CallerCounterLimits['sysctl'] = {};
  for (const [name, file] of Object.entries(KERNEL_COUNTER_FILES) as [KernelCounterName, string][]) {
    try {
      const value = Number.parseInt(fs.readFileSync(`${USER_SYSCTL_DIR}/${file}`, 'utf8'), 10);
      if (Number.isSafeInteger(value)) sysctl[name] = value;
    } catch {
      // No such counter on this kernel (fanotify: 5.13, time namespaces: 5.6).
    }
  }
  const rlimits: CallerCounterLimits['rlimits'] = {};
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    // Without /proc/self/limits no rlimit defaults: the box keeps the caller's.
  }
  for (const line of text.split('\n')) {
    for (const [row, name] of Object.entries(LIMITS_ROWS)) {
      if (!line.startsWith(row)) continue;
      const soft = line.slice(row.length).trim().split(/\s+/)[0];
      const value = soft === undefined ? Number.NaN : Number(soft);
      if (Number.isSafeInteger(value)) rlimits[name] = value;
    }
  }
  callerLimits = { sysctl, rlimits };
  return callerLimits;
}

function share(callerLimit: number, ceiling = Number.POSITIVE_INFINITY): number {
  return Math.min(ceiling, Math.floor(callerLimit / BOX_SHARE));
}

/** The limits a box's own user namespace gets when the options leave them out. */
export function defaultKernelCounters(caller: CallerCounterLimits): Partial<Record<KernelCounterName, number>> {
  const defaults: Partial<Record<KernelCounterName, number>> = {};
  for (const name of Object.keys(KERNEL_COUNTER_FILES) as KernelCounterName[]) {
    const callerLimit = caller.sysctl[name];
    // A counter this kernel does not have gets no default (an explicit one fails, naming it).
    if (callerLimit !== undefined) defaults[name] = share(callerLimit, KERNEL_COUNTER_CEILINGS[name]);
  }
  return defaults;
}

/** The rlimits a box gets when `rlimits` leaves them out: a quarter of the caller's own (none when the caller's is unlimited). */
export function defaultCountedRlimits(caller: CallerCounterLimits): Partial<Record<RlimitName, number>> {
  const defaults: Partial<Record<RlimitName, number>> = {};
  for (const name of COUNTED_RLIMITS) {
    const callerLimit = caller.rlimits[name];
    if (callerLimit !== undefined) defaults[name] = share(callerLimit);
  }
  return defaults;
}

/**
 * Checks `kernelCounters`: an object of limits, each 0..INT_MAX or
 * 'unlimited', for a user namespace of the box's own (`user`, its kind).
 */
export function validateKernelCounters(value: unknown, user: string): KernelCounterLimits | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw invalidType('kernelCounters', 'an object of per-uid limits', value);
  rejectUnknownKeys(value, Object.keys(KERNEL_COUNTER_FILES), 'kernelCounters');
  const limits: { [K in KernelCounterName]?: KernelCounterLimit } = {};
  for (const name of Object.keys(KERNEL_COUNTER_FILES) as KernelCounterName[]) {
    if (!Object.hasOwn(value, name)) continue;
    const limit = value[name];
    if (limit === undefined) continue;
    limits[name] = limit === 'unlimited' ? 'unlimited' : checkInteger(`kernelCounters.${name}`, limit, 0, INT_MAX);
  }
  if (user === 'host') {
    throw conflict('kernelCounters', "kernelCounters limit the box's own user namespace: without one (namespaces.user: 'host') they would be the host's");
  }
  return limits;
}

/** The uid 65534 is everyone's nobody: host daemons run as it, and every root caller's default box maps to it. */
const NOBODY = 65534;

/**
 * Checks `userNamespaceOwner`: the host uid that should own the box's new
 * user namespace instead of the caller, or undefined for the caller.
 */
export function validateNamespaceOwner(
  value: unknown,
  box: { user: string; uidMap: readonly IdMapEntry[] | undefined; root: boolean; pooled: boolean },
): number | undefined {
  if (value === undefined || value === 'caller') return undefined;
  if (value !== 'box') throw invalidValue('userNamespaceOwner', value, "must be 'caller' or 'box'");
  if (!box.root) throw conflict('userNamespaceOwner', "only a root caller can have a box's user namespace owned by another uid");
  if (box.user !== 'new') throw conflict('userNamespaceOwner', "userNamespaceOwner 'box' needs namespaces.user to be 'new'");
  if (box.pooled) throw conflict('userNamespaceOwner', "a pooled user namespace belongs to whoever made the pool: userNamespaceOwner 'box' needs a box-made one");
  const entry = box.uidMap?.find((line) => line.inside === 0);
  const owner = entry?.outside;
  if (owner === undefined) throw conflict('userNamespaceOwner', "userNamespaceOwner 'box' needs a uidMap that maps the box's uid 0");
  if (owner === NOBODY || owner === 0) {
    throw conflict('userNamespaceOwner', `userNamespaceOwner 'box' needs the box's root to have a host uid of its own, not ${owner}: every process running as it on the host would hold all capabilities over the box`);
  }
  return owner;
}

/** The counters of fanotify groups and marks (a mark needs a group). */
const FANOTIFY_COUNTERS: ReadonlySet<KernelCounterName> = new Set(['fanotifyGroups', 'fanotifyMarks']);

/** The counters of namespaces a box's processes make. */
const NAMESPACE_COUNTERS: ReadonlySet<KernelCounterName> = new Set([
  'userNamespaces', 'mountNamespaces', 'pidNamespaces', 'netNamespaces', 'ipcNamespaces', 'utsNamespaces', 'cgroupNamespaces', 'timeNamespaces',
]);

/**
 * The writes into the box's user namespace: the defaults (for a namespace
 * made for this box) overridden by the options; `'unlimited'` writes
 * nothing. Run by the box's root before it drops its capabilities.
 *
 * What the box's seccomp filter refuses (lib/seccomp/namespaces.ts) leaves
 * out those counters' defaults: `makes.namespaces` false (every call that
 * makes a namespace refused) the namespace counters', `makes.fanotify`
 * false (fanotify_init refused, as by the default profile) the fanotify ones.
 * Nothing in the box can be charged to them, and each write costs ~13 µs
 * (the kernel makes a /proc/sys dentry and inode per file in every new user
 * namespace). A limit the options give is still written.
 */
export function kernelCounterSteps(
  given: KernelCounterLimits | undefined,
  defaults: Partial<Record<KernelCounterName, number>>,
  makes: { namespaces: boolean; fanotify: boolean } = { namespaces: true, fanotify: true },
): PlanStep[] {
  const steps: PlanStep[] = [];
  const counted = (name: KernelCounterName): boolean =>
    (makes.namespaces || !NAMESPACE_COUNTERS.has(name)) && (makes.fanotify || !FANOTIFY_COUNTERS.has(name));
  for (const name of Object.keys(KERNEL_COUNTER_FILES) as KernelCounterName[]) {
    const limit = given?.[name] ?? (counted(name) ? defaults[name] : undefined);
    if (limit === undefined || limit === 'unlimited') continue;
    const file = `${USER_SYSCTL_DIR}/${KERNEL_COUNTER_FILES[name]}`;
    steps.push(step('writeExisting', { name: `limit user.${KERNEL_COUNTER_FILES[name]}`, syscall: 'write', kind: 'ucount', path: file }, {
      text: String(limit), path: file,
    }));
  }
  return steps;
}
