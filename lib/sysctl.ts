// The `sysctl` option: kernel parameters that belong to one of the box's own
// namespaces (net.* to its net namespace; the System V IPC and POSIX message
// queue ones to its IPC namespace), written through /proc/sys by cordon's child once it is in
// those namespaces and before it drops its capabilities, as the kernel
// counters are (lib/kernel-counters.ts). /proc/sys resolves these files
// against the writer's own namespaces, so the write changes the box's
// values and never the host's; a parameter of no namespace is refused by
// name, and so is one whose namespace the box shares with the host.
import { conflict, invalidType, invalidValue, isPlainObject } from './internal/checks';
import { step, type PlanStep } from './internal/steps';
import type { NamespaceName } from './options';

/** Namespaced kernel parameters by their sysctl name → the value to write. */
export type SysctlSettings = Readonly<Record<string, string | number>>;

/** The IPC namespace's parameters (ipc/ipc_sysctl.c, ipc/mq_sysctl.c). */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
  'kernel.shm_rmid_forced', 'kernel.auto_msgmni', 'kernel.msg_next_id', 'kernel.sem_next_id', 'kernel.shm_next_id',
  'fs.mqueue.queues_max', 'fs.mqueue.msg_max', 'fs.mqueue.msgsize_max', 'fs.mqueue.msg_default', 'fs.mqueue.msgsize_default',
]);
// kernel.hostname and kernel.domainname are the UTS namespace's, but their
// files belong to the host's root whatever the namespace: the `hostname`
// option sets the first, with sethostname.
const UTS_SYSCTLS = new Set(['kernel.hostname', 'kernel.domainname']);

/** Which of the box's namespaces a parameter belongs to, or undefined for none. */
export function sysctlNamespace(name: string): NamespaceName | undefined {
  if (name.startsWith('net.')) return 'net';
  if (IPC_SYSCTLS.has(name)) return 'ipc';
  return undefined;
}

/** The file under /proc/sys: dots are directories, as sysctl(8) reads them. */
export function sysctlFile(name: string): string {
  return `/proc/sys/${name.split('.').join('/')}`;
}

/** `sysctl` → a null-prototype copy of checked names and string values. */
export function validateSysctl(value: unknown, namespaces: Readonly<Record<NamespaceName, { readonly kind: string }>>): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw invalidType('sysctl', 'an object of kernel parameters', value);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, setting] of Object.entries(value)) {
    const option = `sysctl[${JSON.stringify(name)}]`;
    // One name, one file: segments of letters, digits, _ and - (no empty
    // segment, no '/', no '..' that could leave /proc/sys/<namespace>).
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/i.test(name)) throw invalidValue(option, name, 'must be a sysctl name such as "net.ipv4.ping_group_range"');
    const namespace = sysctlNamespace(name);
    if (UTS_SYSCTLS.has(name)) throw invalidValue(option, name, 'is not writable by a box\'s root (its /proc/sys file is the host root\'s): use the hostname option');
    if (namespace === undefined) {
      throw invalidValue(option, name, 'is not a parameter of one of the box\'s own namespaces (net.*, or the IPC ones: kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*): it would change the host');
    }
    if (namespaces[namespace].kind === 'host') {
      throw conflict(option, `${name} belongs to the ${namespace} namespace, which the box shares with the host (namespaces.${namespace}: 'host'): it would change the host's`);
    }
    const text = typeof setting === 'number' && Number.isSafeInteger(setting) ? String(setting) : setting;
    if (typeof text !== 'string' || text.length === 0 || text.length > 4096 || /[\0\n]/.test(text)) {
      throw invalidValue(option, setting, 'must be a non-empty string (at most 4096 characters, one line) or an integer');
    }
    out[name] = text;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** One write per parameter, through the child's /proc/sys (its own namespaces'). */
export function sysctlSteps(settings: Readonly<Record<string, string>> | undefined): PlanStep[] {
  if (settings === undefined) return [];
  return Object.entries(settings).map(([name, value]) => {
    const file = sysctlFile(name);
    return step('writeExisting', { name: `set sysctl ${name}`, syscall: 'write', kind: 'sysctl', path: file }, { text: value, path: file });
  });
}
