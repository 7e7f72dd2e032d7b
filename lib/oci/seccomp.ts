// An OCI config's linux.seccomp → cordon's seccomp policy: the actions,
// architectures, syscall names and argument comparisons cordon's compiler
// has; anything else refused by name (no notify, no foreign ABIs).
import type { SeccompAction, SeccompAllowRule, SeccompArgCondition, SeccompArgOp, SeccompPolicy, SeccompRule } from '../seccomp';
import { provablyDisjoint } from '../seccomp/args';
import type { NormalizedArgCondition } from '../seccomp/args';
import { isKnownSyscall } from '../seccomp/arch';
import { badType, badValue, unsupported } from './errors';
import { Fields } from './fields';
import type { OciIgnoredField } from './fields';

const SECCOMP_ACTIONS: Readonly<Record<string, SeccompAction | 'errno' | undefined>> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_KILL: 'kill',
  SCMP_ACT_KILL_THREAD: 'kill',
  SCMP_ACT_KILL_PROCESS: 'kill-process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_LOG: 'log',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_TRACE: undefined,
  SCMP_ACT_NOTIFY: undefined,
};
const NATIVE_ARCH: Readonly<Record<string, string>> = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64' };
// The other ABIs a native process can call the kernel through (int 0x80 and
// the x32 bit on x86_64; AArch32 on arm64). cordon's filter kills every call
// that comes through them whatever the profile says, so a profile that lists
// them (podman's and Docker's do) asks for less than cordon enforces anyway.
const COMPAT_ARCHES: Readonly<Record<string, readonly string[]>> = {
  x64: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_ARM'],
};
const EPERM = 1;
const COMPARISONS: Readonly<Record<string, SeccompArgOp | undefined>> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'maskedEq',
};

/** One rule of the config for one call: its action, its conditions (none: always), where it was. */
interface OciRule {
  action: SeccompAction;
  conditions: NormalizedArgCondition[] | undefined;
  at: string;
}

// An entry's args → the rules it makes. As runc does: all conditions in one
// rule (AND) when each names another argument; when two name the same
// argument, each condition a rule of its own (OR), which is what libseccomp
// is asked for then.
function mapArgs(fields: Fields, at: string): NormalizedArgCondition[][] | undefined {
  const args = fields.array('args');
  if (args.length === 0) return undefined;
  const conditions = args.map((entry, k) => mapCondition(entry, `${at}.args[${k}]`));
  const indexes = conditions.map((c) => c.index);
  if (new Set(indexes).size === indexes.length) return [conditions];
  return conditions.map((c) => [c]);
}

function mapCondition(entry: unknown, at: string): NormalizedArgCondition {
  const fields = Fields.of(entry, at);
  const index = fields.integer('index', 0, 5);
  if (index === undefined) throw badType(`${at}.index`, 'a number', undefined);
  const opName = fields.get('op');
  const op = typeof opName === 'string' && Object.hasOwn(COMPARISONS, opName) ? COMPARISONS[opName] : undefined;
  if (op === undefined) throw badValue(`${at}.op`, opName, `must be one of ${Object.keys(COMPARISONS).join(', ')}`);
  const value = u64(fields, 'value', at) ?? 0n;
  const valueTwo = u64(fields, 'valueTwo', at) ?? 0n;
  fields.done();
  if (op !== 'maskedEq') {
    if (valueTwo !== 0n) throw badValue(`${at}.valueTwo`, Number(valueTwo), `applies only to SCMP_CMP_MASKED_EQ (libseccomp ignores it with ${String(opName)})`);
    if (op === 'lt' && value === 0n) throw badValue(`${at}.value`, 0, 'can never hold with SCMP_CMP_LT (arguments are unsigned)');
    return { index, op, value };
  }
  if ((valueTwo & ~value) !== 0n) {
    throw badValue(`${at}.valueTwo`, Number(valueTwo), `has bits outside the mask ${at}.value, so the rule can never match`);
  }
  return { index, op, value, valueTwo };
}

// A JSON number that is a uint64 exactly: beyond 2 ** 53 JSON.parse has already rounded it.
function u64(fields: Fields, key: string, at: string): bigint | undefined {
  const value = fields.get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw badType(`${at}.${key}`, 'a number', value);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw badValue(`${at}.${key}`, value, 'must be an integer from 0 to 2 ** 53 - 1 (larger values do not survive JSON parsing exactly)');
  }
  return BigInt(value);
}

const publicCondition = (c: NormalizedArgCondition): SeccompArgCondition =>
  c.valueTwo === undefined ? { index: c.index, op: c.op, value: Number(c.value) } : { index: c.index, op: c.op, value: Number(c.value), valueTwo: Number(c.valueTwo) };
const sameAction = (a: SeccompAction, b: SeccompAction): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The OCI seccomp format → cordon's policy, with cordon's default profile
 * off (the config's filter is the whole filter, as with runc). Default
 * action allow: a denylist; any other: an allowlist with that default.
 */
export function mapSeccomp(seccomp: Fields, ignored: OciIgnoredField[]): SeccompPolicy {
  const defaultErrno = seccomp.integer('defaultErrnoRet', 1, 4095) ?? EPERM;
  // SCMP_ACT_ERRNO without errnoRet: defaultErrnoRet for the default action,
  // EPERM for a rule (the runtime spec; runc and crun): a rule given ENOSYS
  // would let libc fall back to an older call the profile allows.
  const action = (at: string, name: unknown, errnoRet: number | undefined, unsetErrno = EPERM): SeccompAction => {
    if (typeof name !== 'string' || !Object.hasOwn(SECCOMP_ACTIONS, name)) throw badValue(at, name, `must be one of ${Object.keys(SECCOMP_ACTIONS).join(', ')}`);
    const mapped = SECCOMP_ACTIONS[name];
    if (mapped === undefined) throw unsupported(at, `cordon's filter has no ${name} (no tracer or user notification)`);
    if (mapped === 'errno') return { errno: errnoRet ?? unsetErrno };
    if (errnoRet !== undefined) throw badValue(at, name, 'has an errnoRet, which only SCMP_ACT_ERRNO takes');
    return mapped;
  };
  const defaultAction = action('linux.seccomp.defaultAction', seccomp.get('defaultAction'), undefined, defaultErrno);
  const native = NATIVE_ARCH[process.arch];
  const compat = COMPAT_ARCHES[process.arch] ?? [];
  const killedAbis: string[] = [];
  seccomp.strings('architectures').forEach((arch, i) => {
    if (compat.includes(arch)) {
      killedAbis.push(`linux.seccomp.architectures[${i}]`);
      return;
    }
    if (arch !== native) {
      throw unsupported(`linux.seccomp.architectures[${i}]`, `cordon's filter serves the native ABI (${native ?? process.arch}) alone and kills calls from any other: remove ${arch}`);
    }
  });
  if (killedAbis.length > 0) {
    ignored.push({
      field: killedAbis.join(', '),
      reason: `cordon's filter kills every call made through a compatibility ABI (${compat.join(', ')}), so the profile's rules for it are not needed: stricter than the profile`,
    });
  }
  seccomp.strings('flags').forEach((flag, i) => {
    if (flag !== 'SECCOMP_FILTER_FLAG_TSYNC') throw unsupported(`linux.seccomp.flags[${i}]`, 'cordon installs its filter with no flags');
  });
  seccomp.refuse('listenerPath', 'cordon\'s filter has no user notification');
  seccomp.refuse('listenerMetadata', 'cordon\'s filter has no user notification');

  const decided = new Map<string, OciRule[]>();
  const unknown: string[] = [];
  seccomp.array('syscalls').forEach((entry, i) => {
    const at = `linux.seccomp.syscalls[${i}]`;
    const fields = Fields.of(entry, at);
    const errnoRet = fields.integer('errnoRet', 1, 4095);
    const rule = action(`${at}.action`, fields.get('action'), errnoRet);
    const conditionSets = mapArgs(fields, at);
    fields.strings('names').forEach((name, j) => {
      const where = `${at}.names[${j}]`;
      if (!isKnownSyscall(name)) {
        // A name cordon's tables lack (another architecture's, or newer):
        // permitting it changes nothing; refusing it is kept only when the
        // default refuses too (the call then gets the default's action).
        if (sameAction(rule, 'allow')) return;
        if (defaultAction !== 'allow') {
          unknown.push(where);
          return;
        }
        throw unsupported(where, `cordon's syscall tables (x86_64, aarch64) have no ${JSON.stringify(name.slice(0, 40))}, so it cannot refuse it`);
      }
      // A rule with the default's action changes nothing (runc leaves it out too: libseccomp refuses it).
      if (sameAction(rule, defaultAction)) return;
      const rules = decided.get(name) ?? [];
      for (const conditions of conditionSets ?? [undefined]) rules.push({ action: rule, conditions, at: where });
      decided.set(name, rules);
    });
    fields.done();
  });
  seccomp.done();
  if (unknown.length > 0) {
    ignored.push({
      field: unknown.length === 1 ? unknown[0]! : `${unknown[0]} and ${unknown.length - 1} more`,
      reason: 'system calls cordon\'s tables lack (other architectures\', or newer): refused by the default action instead of their own',
    });
  }

  const allow: (string | SeccompAllowRule)[] = [];
  const deny: SeccompRule[] = [];
  for (const [syscall, rules] of decided) {
    for (const rule of orderFree(syscall, stricterAlways(rules, ignored))) {
      const args = rule.conditions?.map(publicCondition);
      if (sameAction(rule.action, 'allow')) allow.push(args === undefined ? syscall : { syscall, args });
      else deny.push(args === undefined ? { syscall, action: rule.action } : { syscall, action: rule.action, args });
    }
  }
  if (defaultAction === 'allow') return { mode: 'denylist', profile: 'none', deny };
  return { mode: 'allowlist', profile: 'none', allow, deny, defaultAction };
}

// A call given both 'allow' and a refusal by rules without args: podman's own
// profile does this (setns in its list of allowed calls, and refused again
// without CAP_SYS_ADMIN). libseccomp keeps whichever rule came first (runc and
// crun allow setns there); cordon keeps the refusal, which is what the later
// rule asks for and the stricter, and lists the allow as ignored.
function stricterAlways(rules: readonly OciRule[], ignored: OciIgnoredField[]): OciRule[] {
  const refusal = rules.find((rule) => rule.conditions === undefined && !sameAction(rule.action, 'allow'));
  if (refusal === undefined) return [...rules];
  return rules.filter((rule) => {
    if (rule.conditions !== undefined || !sameAction(rule.action, 'allow')) return true;
    ignored.push({
      field: rule.at,
      reason: `${refusal.at} refuses the same call without conditions: cordon keeps the refusal (libseccomp, so runc and crun, keep whichever rule comes first)`,
    });
    return false;
  });
}

// One call's rules in an order that does not matter: the OCI format gives
// rules no precedence, so rules with different actions must never match the
// same call (proved from their conditions, or refused); a rule without args
// makes the others with its action pointless and comes last.
function orderFree(syscall: string, rules: readonly OciRule[]): OciRule[] {
  for (const [k, later] of rules.entries()) {
    for (const earlier of rules.slice(0, k)) {
      if (sameAction(earlier.action, later.action)) continue;
      if (earlier.conditions === undefined && later.conditions === undefined) {
        throw badValue(later.at, syscall, `gets another action than at ${earlier.at}`);
      }
      if (!provablyDisjoint(earlier.conditions, later.conditions)) {
        throw unsupported(later.at, `its rule for ${syscall} may match the same calls as ${earlier.at}'s, with another action: the OCI format gives neither precedence, so cordon cannot tell which one the config means`);
      }
    }
  }
  const always = rules.find((rule) => rule.conditions === undefined);
  if (always !== undefined) return [always];
  // Drop exact repeats (podman's profile may list a call under two entries alike).
  const seen = new Set<string>();
  return rules.filter((rule) => {
    const key = JSON.stringify([rule.action, rule.conditions], (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
