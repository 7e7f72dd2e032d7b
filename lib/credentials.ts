// Who the payload is and what it may do: supplementary groups, kept
// capabilities, rlimits, umask, nice and OOM score → validated values and
// plan steps.
import { checkBoolean, checkInteger, conflict, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { step, type PlanStep } from './internal/steps';

/** Linux capabilities by number (linux/capability.h). */
export const CAPABILITIES = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
} as const;

export type CapabilityName = keyof typeof CAPABILITIES;

/** Resource limits by name, with their RLIMIT_* numbers. */
export const RLIMITS = {
  cpu: 0, fsize: 1, stack: 3, core: 4, nproc: 6, nofile: 7, memlock: 8, as: 9, sigpending: 11, msgqueue: 12,
} as const;

export type RlimitName = keyof typeof RLIMITS;

/** A limit: one number for soft and hard, `'unlimited'`, or both apart. */
export type RlimitValue = number | 'unlimited' | { readonly soft: number | 'unlimited'; readonly hard: number | 'unlimited' };

export interface ResolvedCredentials {
  groups: number[] | undefined;
  capabilityMask: bigint;
  allowNewPrivileges: boolean;
  rlimits: { resource: number; name: RlimitName; soft: number; hard: number }[];
  umask: number | undefined;
  nice: number | undefined;
  oomScoreAdj: number | undefined;
}

const UNLIMITED = -1;
const CREDENTIAL_KEYS = ['groups', 'capabilities', 'allowNewPrivileges', 'rlimits', 'umask', 'nice', 'oomScoreAdj'];

function limitValue(option: string, value: unknown): number {
  if (value === 'unlimited') return UNLIMITED;
  return checkInteger(option, value, 0, Number.MAX_SAFE_INTEGER);
}

export function validateCredentials(o: {
  groups?: unknown;
  capabilities?: unknown;
  allowNewPrivileges?: unknown;
  rlimits?: unknown;
  umask?: unknown;
  nice?: unknown;
  oomScoreAdj?: unknown;
}): ResolvedCredentials {
  // Its own keys only, each read once (not a copy of all the options).
  const given = o as Record<string, unknown>;
  o = ownSnapshot(Object.fromEntries(CREDENTIAL_KEYS.filter((key) => Object.hasOwn(given, key)).map((key) => [key, given[key]])), '') as typeof o;
  let groups: number[] | undefined;
  if (o.groups !== undefined) {
    if (!Array.isArray(o.groups)) throw invalidType('groups', 'an array of gids', o.groups);
    if (o.groups.length > 64) throw invalidValue('groups', o.groups.length, 'may have at most 64 entries');
    groups = o.groups.map((gid: unknown, i) => checkInteger(`groups[${i}]`, gid, 0, 0xfffffffe));
  }
  let capabilityMask = 0n;
  if (o.capabilities !== undefined) {
    if (!Array.isArray(o.capabilities)) throw invalidType('capabilities', 'an array of capability names', o.capabilities);
    o.capabilities.forEach((name: unknown, i) => {
      const option = `capabilities[${i}]`;
      if (typeof name !== 'string') throw invalidType(option, 'a capability name like CAP_NET_BIND_SERVICE', name);
      const normalized = (name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`) as CapabilityName;
      const bit = Object.hasOwn(CAPABILITIES, normalized) ? CAPABILITIES[normalized] : undefined;
      if (bit === undefined) throw invalidValue(option, name, 'is not a Linux capability');
      capabilityMask |= 1n << BigInt(bit);
    });
  }
  const allowNewPrivileges = o.allowNewPrivileges === undefined ? false : checkBoolean('allowNewPrivileges', o.allowNewPrivileges);
  const rlimits: ResolvedCredentials['rlimits'] = [];
  const limits = Object.create(null) as Record<string, unknown>;
  if (o.rlimits !== undefined) {
    if (!isPlainObject(o.rlimits)) throw invalidType('rlimits', 'an object of limits', o.rlimits);
    rejectUnknownKeys(o.rlimits, Object.keys(RLIMITS), 'rlimits');
    Object.assign(limits, o.rlimits);
  }
  // No core dumps unless asked: a dump of a tenant's process lands where the host says.
  if (limits.core === undefined) limits.core = 0;
  for (const [name, value] of Object.entries(limits)) {
    const option = `rlimits.${name}`;
    let soft: number;
    let hard: number;
    if (isPlainObject(value)) {
      rejectUnknownKeys(value, ['soft', 'hard'], option);
      soft = limitValue(`${option}.soft`, value.soft);
      hard = limitValue(`${option}.hard`, value.hard);
      if (hard !== UNLIMITED && (soft === UNLIMITED || soft > hard)) {
        throw conflict(option, `the soft limit of ${option} is above its hard limit`);
      }
    } else {
      soft = hard = limitValue(option, value);
    }
    rlimits.push({ resource: RLIMITS[name as RlimitName], name: name as RlimitName, soft, hard });
  }
  const umask = o.umask === undefined ? undefined : checkInteger('umask', o.umask, 0, 0o777);
  const nice = o.nice === undefined ? undefined : checkInteger('nice', o.nice, -20, 19);
  const oomScoreAdj = o.oomScoreAdj === undefined ? undefined : checkInteger('oomScoreAdj', o.oomScoreAdj, -1000, 1000);
  return { groups, capabilityMask, allowNewPrivileges, rlimits, umask, nice, oomScoreAdj };
}

/** Per-process settings that need no privilege, applied after the ids. */
export function processLimitSteps(credentials: ResolvedCredentials): PlanStep[] {
  const steps: PlanStep[] = [];
  if (credentials.umask !== undefined) steps.push(step('umask', { name: 'set umask', syscall: 'umask', kind: 'umask' }, { mask: credentials.umask }));
  if (credentials.nice !== undefined) {
    steps.push(step('setPriority', { name: 'set nice value', syscall: 'setpriority', kind: 'nice' }, { nice: credentials.nice }));
  }
  return steps;
}

/**
 * The payload's rlimits, set last before its exec (after the fds are in
 * place), so cordon's child never runs under them; with an init, the init
 * sets them in the payload's process and never runs under them either.
 */
export function rlimitSteps(credentials: ResolvedCredentials, defaults: Partial<Record<RlimitName, number>> = {}): PlanStep[] {
  const limits = [...credentials.rlimits];
  // `defaults` (soft and hard) for the ones the options leave out.
  for (const [name, value] of Object.entries(defaults) as [RlimitName, number][]) {
    if (!limits.some((limit) => limit.name === name)) limits.push({ resource: RLIMITS[name], name, soft: value, hard: value });
  }
  return limits.map((limit) => step('setRlimit', { name: `set rlimit ${limit.name}`, syscall: 'prlimit64', kind: 'rlimit' }, {
    resource: limit.resource, soft: limit.soft, hard: limit.hard,
  }));
}

/**
 * Raises of the payload's hard rlimits, made while the child still has its
 * capabilities (a raise above the current hard limit needs
 * CAP_SYS_RESOURCE, which the payload's own capabilities seldom include):
 * only the hard limit and only upward, so the child and the init never run
 * under a lower limit; the rlimit steps set the payload's values later.
 * A raise the host refuses fails here, before anything runs.
 */
export function rlimitRaiseSteps(credentials: ResolvedCredentials): PlanStep[] {
  return credentials.rlimits.map((limit) => step('raiseRlimit', { name: `raise rlimit ${limit.name}`, syscall: 'prlimit64', kind: 'rlimit' }, {
    resource: limit.resource, hard: limit.hard,
  }));
}

/**
 * The OOM score goes first, before the ids change: a changed euid makes the
 * process non-dumpable, and its /proc files then belong to the host's root.
 */
export function oomScoreSteps(credentials: ResolvedCredentials): PlanStep[] {
  if (credentials.oomScoreAdj === undefined) return [];
  const file = '/proc/self/oom_score_adj';
  return [step('writeExisting', { name: 'set oom_score_adj', syscall: 'write', kind: 'oom', path: file }, { text: String(credentials.oomScoreAdj), path: file })];
}

/**
 * The payload's groups, ids and capabilities, once nothing needs root any
 * more. The bounding set goes first, while CAP_SETPCAP is still there; exec
 * turns the bounding set into what the payload has (nothing, unless some are
 * kept). A non-zero uid loses the capabilities the mounts need, so the ids
 * change here; without a user namespace a root caller (`hostRoot`) switches
 * to a host uid here, dropping its own groups. The kept capabilities are
 * raised into the ambient set after the ids change.
 */
export function payloadCredentialSteps(
  credentials: ResolvedCredentials,
  ids: { uid: number; gid: number },
  context: { userNamespace: boolean; hostRoot: boolean },
): PlanStep[] {
  const steps: PlanStep[] = [];
  const keep = Number(credentials.capabilityMask);
  steps.push(step('dropCapabilities', { name: 'drop capabilities', syscall: 'prctl', kind: 'caps' }, { keep }));
  if (credentials.groups !== undefined) {
    steps.push(step('setGroups', { name: 'set groups', syscall: 'setgroups', kind: 'ids' }, { gids: credentials.groups.map(String) }));
  }
  const nonRoot = ids.uid !== 0 || ids.gid !== 0;
  const hostIds = context.hostRoot && nonRoot;
  if ((context.userNamespace || hostIds) && nonRoot) {
    steps.push(step('setIds', { name: 'set uid and gid', syscall: 'setresuid', kind: 'ids' }, {
      uid: ids.uid, gid: ids.gid, clearGroups: hostIds && credentials.groups === undefined,
    }));
  }
  if (keep !== 0) steps.push(step('raiseAmbient', { name: 'raise kept capabilities', syscall: 'prctl', kind: 'caps' }, { mask: keep }));
  return steps;
}
