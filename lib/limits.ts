// Per-process limits of the payload: rlimits, umask, nice and OOM score →
// validated values and plan steps. The C++ half is native/child/limits.cc.
import { checkInteger, conflict, invalidType, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { step, type PlanStep } from './internal/steps';

/** Resource limits by name, with their RLIMIT_* numbers. */
export const RLIMITS = {
  cpu: 0, fsize: 1, stack: 3, core: 4, nproc: 6, nofile: 7, memlock: 8, as: 9, sigpending: 11, msgqueue: 12,
} as const;

export type RlimitName = keyof typeof RLIMITS;

/** A limit: one number for soft and hard, `'unlimited'`, or both apart. */
export type RlimitValue = number | 'unlimited' | { readonly soft: number | 'unlimited'; readonly hard: number | 'unlimited' };

export interface ResolvedLimits {
  rlimits: { resource: number; name: RlimitName; soft: number; hard: number }[];
  umask: number | undefined;
  nice: number | undefined;
  oomScoreAdj: number | undefined;
}

const UNLIMITED = -1;
const LIMIT_KEYS = ['rlimits', 'umask', 'nice', 'oomScoreAdj'];

function limitValue(option: string, value: unknown): number {
  if (value === 'unlimited') return UNLIMITED;
  return checkInteger(option, value, 0, Number.MAX_SAFE_INTEGER);
}

/** The rlimits, umask, nice and oomScoreAdj options (no core dumps unless asked). */
export function validateProcessLimits(o: { rlimits?: unknown; umask?: unknown; nice?: unknown; oomScoreAdj?: unknown }): ResolvedLimits {
  // Its own keys only, each read once (not a copy of all the options).
  const given = o as Record<string, unknown>;
  o = ownSnapshot(Object.fromEntries(LIMIT_KEYS.filter((key) => Object.hasOwn(given, key)).map((key) => [key, given[key]])), '') as typeof o;
  const rlimits: ResolvedLimits['rlimits'] = [];
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
  return { rlimits, umask, nice, oomScoreAdj };
}

/** Per-process settings that need no privilege, applied after the ids. */
export function processLimitSteps(limits: ResolvedLimits): PlanStep[] {
  const steps: PlanStep[] = [];
  if (limits.umask !== undefined) steps.push(step('umask', { name: 'set umask', syscall: 'umask', kind: 'umask' }, { mask: limits.umask }));
  if (limits.nice !== undefined) {
    steps.push(step('setPriority', { name: 'set nice value', syscall: 'setpriority', kind: 'nice' }, { nice: limits.nice }));
  }
  return steps;
}

/**
 * The payload's rlimits, set last before its exec (after the fds are in
 * place), so cordon's child never runs under them; with an init, the init
 * sets them in the payload's process and never runs under them either.
 */
export function rlimitSteps(given: ResolvedLimits, defaults: Partial<Record<RlimitName, number>> = {}): PlanStep[] {
  const limits = [...given.rlimits];
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
export function rlimitRaiseSteps(limits: ResolvedLimits): PlanStep[] {
  return limits.rlimits.map((limit) => step('raiseRlimit', { name: `raise rlimit ${limit.name}`, syscall: 'prlimit64', kind: 'rlimit' }, {
    resource: limit.resource, hard: limit.hard,
  }));
}

/**
 * The OOM score goes first, before the ids change: a changed euid makes the
 * process non-dumpable, and its /proc files then belong to the host's root.
 */
export function oomScoreSteps(limits: ResolvedLimits): PlanStep[] {
  if (limits.oomScoreAdj === undefined) return [];
  const file = '/proc/self/oom_score_adj';
  return [step('writeExisting', { name: 'set oom_score_adj', syscall: 'write', kind: 'oom', path: file }, { text: String(limits.oomScoreAdj), path: file })];
}

