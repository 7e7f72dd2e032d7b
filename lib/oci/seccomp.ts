// An OCI config's linux.seccomp → cordon's seccomp policy: the actions,
// architectures and syscall names cordon's compiler has; anything else
// refused by name (no argument filters, no notify, no foreign ABIs).
import type { SeccompAction, SeccompPolicy, SeccompRule } from '../seccomp';
import { isKnownSyscall } from '../seccomp/arch';
import { badValue, unsupported } from './errors';
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

/**
 * The OCI seccomp format → cordon's policy, with cordon's default profile
 * off (the config's filter is the whole filter, as with runc). Default
 * action allow: a denylist; any other: an allowlist with that default.
 */
export function mapSeccomp(seccomp: Fields, ignored: OciIgnoredField[]): SeccompPolicy {
  const defaultErrno = seccomp.integer('defaultErrnoRet', 1, 4095) ?? EPERM;
  const action = (at: string, name: unknown, errnoRet: number | undefined): SeccompAction => {
    if (typeof name !== 'string' || !Object.hasOwn(SECCOMP_ACTIONS, name)) throw badValue(at, name, `must be one of ${Object.keys(SECCOMP_ACTIONS).join(', ')}`);
    const mapped = SECCOMP_ACTIONS[name];
    if (mapped === undefined) throw unsupported(at, `cordon's filter has no ${name} (no tracer or user notification)`);
    if (mapped === 'errno') return { errno: errnoRet ?? defaultErrno };
    if (errnoRet !== undefined) throw badValue(at, name, 'has an errnoRet, which only SCMP_ACT_ERRNO takes');
    return mapped;
  };
  const defaultAction = action('linux.seccomp.defaultAction', seccomp.get('defaultAction'), undefined);
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

  const decided = new Map<string, { action: SeccompAction; at: string }>();
  const unknown: string[] = [];
  seccomp.array('syscalls').forEach((entry, i) => {
    const at = `linux.seccomp.syscalls[${i}]`;
    const fields = Fields.of(entry, at);
    const errnoRet = fields.integer('errnoRet', 1, 4095);
    const rule = action(`${at}.action`, fields.get('action'), errnoRet);
    fields.refuse('args', 'cordon\'s policies have no argument filters');
    fields.strings('names').forEach((name, j) => {
      const where = `${at}.names[${j}]`;
      if (!isKnownSyscall(name)) {
        // A name cordon's tables lack (another architecture's, or newer):
        // permitting it changes nothing; refusing it is kept only when the
        // default refuses too (the call then gets the default's action).
        if (JSON.stringify(rule) === JSON.stringify('allow')) return;
        if (defaultAction !== 'allow') {
          unknown.push(where);
          return;
        }
        throw unsupported(where, `cordon's syscall tables (x86_64, aarch64) have no ${JSON.stringify(name.slice(0, 40))}, so it cannot refuse it`);
      }
      const before = decided.get(name);
      if (before !== undefined && JSON.stringify(before.action) !== JSON.stringify(rule)) {
        throw badValue(where, name, `gets another action than at ${before.at}`);
      }
      decided.set(name, { action: rule, at: where });
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

  const others = [...decided].filter(([, rule]) => JSON.stringify(rule.action) !== JSON.stringify(defaultAction));
  const allow = others.filter(([, rule]) => rule.action === 'allow').map(([name]) => name);
  const deny: SeccompRule[] = others.filter(([, rule]) => rule.action !== 'allow').map(([syscall, rule]) => ({ syscall, action: rule.action }));
  if (defaultAction === 'allow') return { mode: 'denylist', profile: 'none', deny };
  return { mode: 'allowlist', profile: 'none', allow, deny, defaultAction };
}
