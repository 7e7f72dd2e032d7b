// Seccomp policies: the public types, their validation, and their resolution
// for one architecture into the per-syscall decisions compile.ts turns into BPF.
import * as os from 'node:os';

import { CordonOptionError } from '../errors';
import { isValidated, markValidated, type Validated } from '../internal/validated';
import {
  checkInteger,
  checkString,
  closest,
  conflict,
  invalidType,
  invalidValue,
  isPlainObject,
  ownSnapshot,
  rejectUnknownKeys,
} from '../internal/checks';
import { ALL_SYSCALL_NAMES, archInfo, isKnownSyscall } from './arch';
import type { SeccompArch } from './arch';
import {
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRAP,
} from './bpf';
import { checkArgConditions, conditionsKey } from './args';
import type { NormalizedArgCondition, SeccompArgCondition, SeccompArgOp } from './args';
import { DEFAULT_PROFILE, errnoValue } from './profile';

/** An errno name as Node knows it (`os.constants.errno`): `'EPERM'`, `'ENOSYS'`, `'EACCES'`, ... */
export type ErrnoName = keyof typeof os.constants.errno;

/**
 * What a filtered system call does:
 * - `'allow'`: runs normally.
 * - `'kill'`: the calling thread is killed by SIGSYS (SECCOMP_RET_KILL_THREAD); a
 *   single-threaded process dies with it. Prefer `'kill-process'`: killing one
 *   thread of a multi-threaded program leaves it in an undefined state.
 * - `'kill-process'`: the whole process is killed by SIGSYS (SECCOMP_RET_KILL_PROCESS, Linux 4.14).
 * - `'log'`: runs normally and is logged to the audit log / kernel log (Linux 4.14).
 *   In `deny`, refused where it would permit what the default profile refuses,
 *   unless `allow` lifts the call as well.
 * - `'trap'`: a SIGSYS signal is sent to the thread instead (SECCOMP_RET_TRAP); a
 *   program can catch it, the default disposition kills with a core dump.
 * - `{ errno }`: the call does not run and fails with this errno (SECCOMP_RET_ERRNO):
 *   a number from 1 to 4095 or a Node errno name (`{ errno: 'EPERM' }`).
 */
export type SeccompAction = 'allow' | 'kill' | 'kill-process' | 'log' | 'trap' | { readonly errno: number | ErrnoName };

/**
 * A denied system call with its own action (`{ errno: 'EPERM' }` when omitted),
 * refused always or, with `args`, only when every condition holds. A call may
 * have several deny entries with `args` (the first that matches decides, in
 * list order) and at most one without, which must come last among them (it
 * decides when no other matches).
 */
export interface SeccompRule {
  /** The system call's name as the kernel spells it (`'keyctl'`, `'umount2'`, `'newfstatat'`). */
  readonly syscall: string;
  readonly action?: SeccompAction;
  /** Conditions on the arguments, all of which must hold (1 to 6): see SeccompArgCondition. */
  readonly args?: readonly SeccompArgCondition[];
}

/**
 * A permitted system call, always or, with `args`, only when every condition
 * holds; several entries with `args` for one call permit it when any of them
 * matches. A call without a matching entry gets what it would get unlisted
 * (allowlist: `defaultAction`; denylist: the profile's decision).
 */
export interface SeccompAllowRule {
  readonly syscall: string;
  /** Conditions on the arguments, all of which must hold (1 to 6): see SeccompArgCondition. */
  readonly args?: readonly SeccompArgCondition[];
}

/**
 * The seccomp filter of a box, compiled in the parent before clone and installed
 * by the child as its last step before exec.
 *
 * `mode: 'denylist'` (the default): every call is allowed except
 * - those of the profile (`profile: 'default'`, the default; see DEFAULT_PROFILE:
 *   kernel modules, kexec, reboot, swap, clock changes, the keyrings, bpf,
 *   perf_event_open, userfaultfd, io_uring, file handles, mounts, new namespaces,
 *   the TIOCSTI/TIOCLINUX ioctls, ...), which fail with EPERM (clone3 with ENOSYS),
 *   less the names in `allow`, which lifts the profile's refusal of them
 *   entirely (`allow: ['ioctl']` also drops its TIOCSTI/TIOCLINUX test);
 * - those in `deny`, each with its action (`{ errno: 'EPERM' }` by default).
 *
 * `mode: 'allowlist'`: only the calls in `allow` are permitted; every other call
 * gets `defaultAction` (`{ errno: 'EPERM' }` by default), or its `deny` action,
 * or the profile's own errno when the profile names it (clone3 keeps ENOSYS, so
 * that libc falls back to clone). The profile's argument tests still apply to
 * the calls you permit (ioctl TIOCSTI/TIOCLINUX, namespace flags of clone and
 * unshare); `profile: 'none'` drops them. `allow` must include `execve`: the
 * filter is in force when cordon executes the payload.
 *
 * In both modes the program first checks the architecture (a call from any other
 * ABI, e.g. i386 through int 0x80, kills the process) and on x86_64 refuses the
 * x32 ABI the same way. Names are checked against the x86_64 and aarch64 tables:
 * a name only the other architecture has (`open` on aarch64) is accepted and has
 * no effect there, so one policy serves both.
 *
 * Entries of `deny` and `allow` may carry `args`, conditions on the call's
 * arguments that must all hold for the entry to apply (`{ syscall: 'socket',
 * args: [{ index: 0, op: 'eq', value: 40 }] }`: socket(AF_VSOCK, ...)). For one
 * call, its `deny` entries are tried first in list order, then (allowlist mode)
 * the profile's argument tests, then its `allow` entries; the first that
 * matches decides, and a call none matches gets what it would get without
 * them. An entry without `args` always matches, so it cannot be followed by
 * another for the same call in the same list, and a call denied without
 * `args` cannot be allowed too.
 */
export interface SeccompPolicy {
  /** `'denylist'` (the default) or `'allowlist'`: see above. */
  readonly mode?: 'denylist' | 'allowlist';
  /** The built-in set of refusals to start from: `'default'` (the default) or `'none'`. */
  readonly profile?: 'default' | 'none';
  /** Calls to refuse: a name (errno EPERM) or `{ syscall, action }`. */
  readonly deny?: readonly (string | SeccompRule)[];
  /**
   * Denylist: calls the profile must not refuse. Allowlist: the calls
   * permitted. A name, or `{ syscall, args }` to permit it only when its
   * arguments match.
   */
  readonly allow?: readonly (string | SeccompAllowRule)[];
  /** Allowlist mode only: what a call not permitted does (`{ errno: 'EPERM' }` by default). */
  readonly defaultAction?: SeccompAction;
}

/** A validated action: names resolved to numbers. */
export type NormalizedAction = 'allow' | 'kill' | 'kill-process' | 'log' | 'trap' | { readonly errno: number };

/** What validateSeccomp returns: every default filled in, actions normalized, a private copy. */
export interface NormalizedSeccompPolicy extends SeccompPolicy {
  readonly mode: 'denylist' | 'allowlist';
  readonly profile: 'default' | 'none';
  readonly deny: readonly NormalizedDenyRule[];
  readonly allow: readonly NormalizedAllowRule[];
  readonly defaultAction?: NormalizedAction;
}

/** A validated deny entry: `args` exact 64-bit conditions, absent when the entry always applies. */
export interface NormalizedDenyRule {
  readonly syscall: string;
  readonly action: NormalizedAction;
  readonly args?: readonly NormalizedArgCondition[];
}

/** A validated allow entry (names become `{ syscall }`). */
export interface NormalizedAllowRule {
  readonly syscall: string;
  readonly args?: readonly NormalizedArgCondition[];
}

const POLICY_KEYS = ['mode', 'profile', 'deny', 'allow', 'defaultAction'] as const;
const RULE_KEYS = ['syscall', 'action', 'args'] as const;
const ALLOW_RULE_KEYS = ['syscall', 'args'] as const;
const ACTION_NAMES = ['allow', 'kill', 'kill-process', 'log', 'trap'] as const;
const ERRNO_NAMES = Object.keys(os.constants.errno);
/** The largest errno the kernel passes through (MAX_ERRNO). */
const MAX_ERRNO = 4095;
const EPERM: NormalizedAction = { errno: errnoValue('EPERM') };

/**
 * Checks a seccomp policy as given by a caller (or a JSON config) and returns a
 * normalized copy. Throws a CordonOptionError naming the option at fault
 * (`seccomp.deny[2].action.errno`) for unknown keys, unknown syscall names (with
 * a guess), bad actions, repeated names and conflicts.
 */
export function validateSeccomp(value: unknown, option = 'seccomp'): Validated<NormalizedSeccompPolicy> {
  // Validated once: what this returned is taken as it is (compileCached, the spawn).
  if (typeof value === 'object' && value !== null && isValidated(value)) return value as Validated<NormalizedSeccompPolicy>;
  // The default policy (most boxes) is made and frozen once.
  if (value === undefined) return (defaultPolicy ??= markValidated(ownSnapshot(checkPolicy(undefined, option), option) as NormalizedSeccompPolicy));
  // Own keys read once in; null-prototype objects out (see ownSnapshot).
  return markValidated(ownSnapshot(checkPolicy(ownSnapshot(value, option), option), option) as NormalizedSeccompPolicy);
}

let defaultPolicy: Validated<NormalizedSeccompPolicy> | undefined;

function checkPolicy(value: unknown, option: string): NormalizedSeccompPolicy {
  if (value === undefined) return { mode: 'denylist', profile: 'default', deny: [], allow: [] };
  if (!isPlainObject(value)) throw invalidType(option, 'an object', value);
  rejectUnknownKeys(value, POLICY_KEYS, option);

  const mode = oneOf(`${option}.mode`, value.mode, ['denylist', 'allowlist'] as const) ?? 'denylist';
  const profile = oneOf(`${option}.profile`, value.profile, ['default', 'none'] as const) ?? 'default';

  // Per call: where its entry without args is (it must be its list's last for
  // the call), and where its first entry is.
  const denied = new Map<string, string>();
  const deniedAlways = new Map<string, string>();
  const refusedAlways = new Map<string, string>();
  const deny: NormalizedDenyRule[] = [];
  for (const [index, entry, where] of arrayEntries(`${option}.deny`, value.deny)) {
    let syscall: string;
    let action: NormalizedAction = EPERM;
    let args: NormalizedArgCondition[] | undefined;
    if (typeof entry === 'string') {
      syscall = checkSyscall(where, entry);
    } else if (isPlainObject(entry)) {
      rejectUnknownKeys(entry, RULE_KEYS, where);
      syscall = checkSyscall(`${where}.syscall`, entry.syscall);
      if (entry.action !== undefined) action = checkAction(`${where}.action`, entry.action);
      if (action === 'allow') {
        throw invalidValue(`${where}.action`, 'allow', `must not be 'allow' in a deny entry (list the call in ${option}.allow)`);
      }
      if (entry.args !== undefined) args = checkArgConditions(`${where}.args`, entry.args);
    } else {
      throw invalidType(where, 'a system call name or { syscall, action, args }', entry);
    }
    unreachable(deniedAlways, syscall, where);
    if (syscall === 'execve' && action !== 'log') {
      throw conflict(
        where,
        `"${where}" cannot deny "execve": the filter is installed before cordon executes the payload, which could then never start`,
      );
    }
    if (!denied.has(syscall)) denied.set(syscall, where);
    if (args === undefined) deniedAlways.set(syscall, where);
    // 'log' runs the call: no refusal for an allow entry to conflict with.
    if (args === undefined && action !== 'log') refusedAlways.set(syscall, where);
    deny[index] = args === undefined ? { syscall, action } : { syscall, action, args };
  }

  const allowedAlways = new Map<string, string>();
  const allowedOnly = new Map<string, string>();
  const allow: NormalizedAllowRule[] = [];
  for (const [index, entry, where] of arrayEntries(`${option}.allow`, value.allow)) {
    let syscall: string;
    let args: NormalizedArgCondition[] | undefined;
    if (isPlainObject(entry)) {
      rejectUnknownKeys(entry, ALLOW_RULE_KEYS, where);
      syscall = checkSyscall(`${where}.syscall`, entry.syscall);
      if (entry.args !== undefined) args = checkArgConditions(`${where}.args`, entry.args);
    } else if (typeof entry === 'string') {
      syscall = checkSyscall(where, entry);
    } else {
      throw invalidType(where, 'a system call name or { syscall, args }', entry);
    }
    unreachable(allowedAlways, syscall, where);
    if (args === undefined) {
      const conditional = allowedOnly.get(syscall);
      if (conditional !== undefined) {
        throw invalidValue(where, syscall, `allows "${syscall}" always, which makes "${conditional}" (with args) pointless: drop one`);
      }
      allowedAlways.set(syscall, where);
    } else if (!allowedOnly.has(syscall)) {
      allowedOnly.set(syscall, where);
    }
    const other = refusedAlways.get(syscall);
    if (other !== undefined) {
      throw conflict(where, `"${where}" allows "${syscall}", which "${other}" denies`);
    }
    allow[index] = args === undefined ? { syscall } : { syscall, args };
  }

  // 'log' runs the call (SECCOMP_RET_LOG), so a deny entry with it permits
  // what it matches: where that would lift the default profile it is a
  // loosening, which (like 'allow', refused above) must not hide in `deny`.
  // It may log a call the profile does not refuse, or one `allow` lifts.
  deny.forEach((rule, index) => {
    if (rule.action !== 'log') return;
    const refuser = logWouldLoosen(rule.syscall, mode, profile, allowedAlways.has(rule.syscall));
    if (refuser === undefined) return;
    const where = `${option}.deny[${index}]`;
    throw conflict(
      where,
      `"${where}" has action 'log', which runs the call: it would permit "${rule.syscall}", which ${refuser} refuses. ` +
        `To permit and log it, list "${rule.syscall}" in ${option}.allow (without args) as well, or use ${option}.profile 'none'`,
    );
  });

  let defaultAction: NormalizedAction | undefined;
  if (value.defaultAction !== undefined) {
    if (mode !== 'allowlist') {
      throw conflict(
        `${option}.defaultAction`,
        `"${option}.defaultAction" applies only with ${option}.mode 'allowlist': ` +
          'in denylist mode every call not denied is allowed',
      );
    }
    defaultAction = checkAction(`${option}.defaultAction`, value.defaultAction);
    if (defaultAction === 'allow') {
      throw invalidValue(`${option}.defaultAction`, 'allow', "must not be 'allow' (that is denylist mode)");
    }
  }

  if (mode === 'allowlist' && !allowedAlways.has('execve')) {
    throw conflict(
      allowedOnly.get('execve') ?? `${option}.allow`,
      `In allowlist mode "${option}.allow" must include "execve" (without args): ` +
        'the filter is installed before cordon executes the payload',
    );
  }

  const result: NormalizedSeccompPolicy = { mode, profile, deny, allow };
  return defaultAction === undefined ? result : { ...result, defaultAction };
}

// What a deny entry with action 'log' for `syscall` would loosen of the
// default profile (named for the error), or undefined. The profile is what a
// policy starts from, so it gives way only to `allow`: in denylist mode an
// entry there lifts it; in allowlist mode an entry there permits a call the
// profile refuses outright, but its argument tests still bind the call. (In
// allowlist mode a deny entry's action replaces defaultAction for its call,
// 'log' included: that is the documented meaning, and the OCI mapping's.)
function logWouldLoosen(syscall: string, mode: 'denylist' | 'allowlist', profile: 'default' | 'none', allowed: boolean): string | undefined {
  const entry = profile === 'default' ? DEFAULT_PROFILE.find((e) => e.syscalls.includes(syscall)) : undefined;
  if (entry === undefined) return undefined;
  if (mode === 'allowlist' && entry.when !== undefined) return "the default profile's argument tests";
  return allowed ? undefined : 'the default profile';
}

function oneOf<T extends string>(option: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidType(option, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  if ((choices as readonly string[]).includes(value)) return value as T;
  const guess = closest(value, choices);
  throw new CordonOptionError(
    'ERR_INVALID_ARG_VALUE',
    option,
    `The "${option}" option must be one of ${choices.map((c) => `'${c}'`).join(', ')}. ` +
      `Received ${JSON.stringify(value.slice(0, 80))}${guess === undefined ? '' : `. Did you mean '${guess}'?`}`,
  );
}

function* arrayEntries(option: string, value: unknown): Generator<[number, unknown, string]> {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw invalidType(option, 'an array', value);
  for (let index = 0; index < value.length; index++) yield [index, value[index] as unknown, `${option}[${index}]`];
}

// An entry after one without args for the same call, in the same list, could never apply.
function unreachable(always: Map<string, string>, syscall: string, where: string): void {
  const first = always.get(syscall);
  if (first !== undefined) {
    throw invalidValue(where, syscall, `repeats the system call of "${first}", which has no args and so always applies first`);
  }
}

function checkSyscall(option: string, value: unknown): string {
  const name = checkString(option, value);
  if (isKnownSyscall(name)) return name;
  const guess = closest(name, ALL_SYSCALL_NAMES);
  throw new CordonOptionError(
    'ERR_INVALID_ARG_VALUE',
    option,
    `The "${option}" option must name a Linux system call (of x86_64 or aarch64). ` +
      `Received ${JSON.stringify(name.slice(0, 80))}${guess === undefined ? '' : `. Did you mean "${guess}"?`}`,
  );
}

function checkAction(option: string, value: unknown): NormalizedAction {
  const expected = `one of ${ACTION_NAMES.map((name) => `'${name}'`).join(', ')} or { errno }`;
  if (typeof value === 'string') {
    if ((ACTION_NAMES as readonly string[]).includes(value)) return value as NormalizedAction;
    const guess = closest(value, ACTION_NAMES);
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      option,
      `The "${option}" option must be ${expected}. ` +
        `Received ${JSON.stringify(value.slice(0, 80))}${guess === undefined ? '' : `. Did you mean '${guess}'?`}`,
    );
  }
  if (!isPlainObject(value)) throw invalidType(option, expected, value);
  rejectUnknownKeys(value, ['errno'], option);
  const errno: unknown = value.errno;
  const where = `${option}.errno`;
  if (typeof errno === 'number') return { errno: checkInteger(where, errno, 1, MAX_ERRNO) };
  if (typeof errno === 'string') {
    const number = (os.constants.errno as Record<string, number | undefined>)[errno];
    if (number !== undefined && Object.hasOwn(os.constants.errno, errno)) return { errno: number };
    const guess = closest(errno, ERRNO_NAMES);
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      where,
      `The "${where}" option must be an errno number or name. ` +
        `Received ${JSON.stringify(errno.slice(0, 80))}${guess === undefined ? '' : `. Did you mean '${guess}'?`}`,
    );
  }
  throw invalidType(where, 'an errno number (1 to 4095) or name (EPERM)', errno);
}

/** The SECCOMP_RET_* value of an action. */
export function actionValue(action: NormalizedAction): number {
  switch (action) {
    case 'allow':
      return SECCOMP_RET_ALLOW;
    case 'kill':
      return SECCOMP_RET_KILL_THREAD;
    case 'kill-process':
      return SECCOMP_RET_KILL_PROCESS;
    case 'log':
      return SECCOMP_RET_LOG;
    case 'trap':
      return SECCOMP_RET_TRAP;
    default:
      return (SECCOMP_RET_ERRNO | (action.errno & 0xffff)) >>> 0;
  }
}

/**
 * One condition of a resolved rule: the public ops on all 64 bits, plus the
 * profile's own `anyBit32` (the low 32 bits share a set bit with `value`).
 * The profile's `equals` resolves to `maskedEq` with mask 0xffffffff.
 */
export interface ResolvedCondition {
  arg: number;
  op: SeccompArgOp | 'anyBit32';
  value: bigint;
  /** maskedEq: what the masked argument must equal. */
  valueTwo?: bigint;
}

/** A rule of a resolved call: when every condition holds, the call returns `ret`. */
export interface ResolvedRule {
  conditions: readonly ResolvedCondition[];
  /** SECCOMP_RET_* value. */
  ret: number;
}

/** What the program does for one system call of the target architecture. */
export interface ResolvedSyscall {
  syscall: string;
  nr: number;
  /** What the call returns (SECCOMP_RET_* value) when no rule matches, or always. */
  ret: number;
  /** Rules in order: the first whose conditions all hold decides. */
  rules?: ResolvedRule[];
  /** Which part of the policy decided it (the first that has a say). */
  source: 'profile' | 'deny' | 'allow';
}

/** A policy resolved for one architecture: what compile.ts turns into BPF. */
export interface ResolvedSeccomp {
  arch: SeccompArch;
  auditArch: number;
  mode: 'denylist' | 'allowlist';
  /** What a call from another architecture (or the x32 ABI) returns. */
  badArchRet: number;
  /** x86_64: calls with __X32_SYSCALL_BIT (other than nr -1) return badArchRet. */
  x32Bit: number | undefined;
  /** What every call not in `syscalls` returns. */
  defaultRet: number;
  /** Calls decided otherwise than defaultRet, by number. */
  syscalls: ResolvedSyscall[];
}

function fromPublic(args: readonly NormalizedArgCondition[]): ResolvedCondition[] {
  return args.map((c) => (c.valueTwo === undefined ? { arg: c.index, op: c.op, value: c.value } : { arg: c.index, op: c.op, value: c.value, valueTwo: c.valueTwo }));
}

/** Resolves a (validated or raw) policy for one architecture. */
export function resolveSeccomp(policy: unknown, arch?: SeccompArch): ResolvedSeccomp {
  const info = archInfo(arch);
  const valid = validateSeccomp(policy);
  const table = info.syscalls;
  const allowRet = SECCOMP_RET_ALLOW;
  const defaultRet = valid.mode === 'allowlist' ? actionValue(valid.defaultAction ?? EPERM) : allowRet;

  // Every call something in the policy or the profile speaks of.
  const profileOf = new Map<string, (typeof DEFAULT_PROFILE)[number]>();
  if (valid.profile === 'default') for (const entry of DEFAULT_PROFILE) for (const name of entry.syscalls) profileOf.set(name, entry);
  const denyOf = groupBy(valid.deny);
  const allowOf = groupBy(valid.allow);
  const names = new Set([...profileOf.keys(), ...denyOf.keys(), ...allowOf.keys()]);

  const syscalls: ResolvedSyscall[] = [];
  for (const name of names) {
    const nr = table.get(name);
    if (nr === undefined) continue; // a name of the other architecture
    const rules: ResolvedRule[] = [];
    let ret: number | undefined;
    let source: ResolvedSyscall['source'] | undefined;
    const say = (from: ResolvedSyscall['source']): void => {
      source ??= from;
    };
    // 1. deny entries in order; one without args (validation keeps it last) decides the rest.
    for (const rule of denyOf.get(name) ?? []) {
      say('deny');
      if (rule.args === undefined) ret = actionValue(rule.action);
      else rules.push({ conditions: fromPublic(rule.args), ret: actionValue(rule.action) });
    }
    const entry = profileOf.get(name);
    const refused = entry === undefined ? undefined : actionValue({ errno: errnoValue(entry.errno) });
    const profileTests = (): void => {
      if (entry?.when === undefined || refused === undefined) return;
      say('profile');
      for (const test of entry.when) {
        const condition: ResolvedCondition =
          test.test === 'equals'
            ? { arg: test.arg, op: 'maskedEq', value: 0xffffffffn, valueTwo: BigInt(test.value >>> 0) }
            : { arg: test.arg, op: 'anyBit32', value: BigInt(test.value >>> 0) };
        rules.push({ conditions: [condition], ret: refused });
      }
    };
    const allowRules = allowOf.get(name) ?? [];
    const allowedAlways = allowRules.some((rule) => rule.args === undefined);
    if (ret === undefined) {
      // 2. allowlist: the profile's argument tests bind the calls it permits.
      if (valid.mode === 'allowlist' && allowRules.length > 0) profileTests();
      // 3. allow entries: always (the fallback) or when their args match.
      for (const rule of allowRules) {
        say('allow');
        if (rule.args !== undefined) rules.push({ conditions: fromPublic(rule.args), ret: allowRet });
      }
      if (allowedAlways) {
        ret = allowRet;
      } else if (valid.mode === 'denylist') {
        // 4. denylist: what the profile decides (its refusal, or its tests), else allowed.
        if (entry?.when !== undefined) {
          profileTests();
          ret = allowRet;
        } else {
          if (refused !== undefined) say('profile');
          ret = refused ?? allowRet;
        }
      } else {
        // 4. allowlist: the profile's own errno for a call it refuses outright (clone3 keeps ENOSYS).
        if (entry !== undefined && entry.when === undefined) say('profile');
        ret = entry !== undefined && entry.when === undefined ? (refused as number) : defaultRet;
      }
    }
    if (rules.length === 0 && ret === defaultRet) continue;
    const resolved: ResolvedSyscall = { syscall: name, nr, ret, source: source ?? 'allow' };
    if (rules.length > 0) resolved.rules = rules;
    syscalls.push(resolved);
  }
  syscalls.sort((a, b) => a.nr - b.nr);
  return {
    arch: info.arch,
    auditArch: info.auditArch,
    mode: valid.mode,
    badArchRet: SECCOMP_RET_KILL_PROCESS,
    x32Bit: info.x32Bit,
    defaultRet,
    syscalls,
  };
}

function groupBy<T extends { readonly syscall: string }>(rules: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const rule of rules) {
    const list = out.get(rule.syscall);
    if (list === undefined) out.set(rule.syscall, [rule]);
    else list.push(rule);
  }
  return out;
}

/**
 * A key equal for policies that compile alike: defaults filled, errno names as
 * numbers, lists sorted by call (stably: the order of one call's entries decides).
 */
export function canonicalKey(policy: NormalizedSeccompPolicy): string {
  const byCall = <T extends { readonly syscall: string }>(list: readonly T[]): T[] =>
    [...list].sort((a, b) => (a.syscall < b.syscall ? -1 : a.syscall > b.syscall ? 1 : 0));
  return JSON.stringify([
    policy.mode,
    policy.profile,
    byCall(policy.allow).map((rule) => [rule.syscall, conditionsKey(rule.args)]),
    byCall(policy.deny).map((rule) => [rule.syscall, rule.action, conditionsKey(rule.args)]),
    policy.mode === 'allowlist' ? (policy.defaultAction ?? EPERM) : null,
  ]);
}
