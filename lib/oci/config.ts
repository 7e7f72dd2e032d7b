// An OCI runtime-spec config.json → spawnIsolated's file, args and options.
// Every field of the spec is mapped, refused with its JSON path (an
// OciConfigError), or ignored with a reason the result lists; the table in
// docs/oci.md says which, field by field. The mechanisms have homes of
// their own: mounts.ts, resources.ts, seccomp.ts; fields.ts reads the JSON.
// Nothing here touches the host but a stat of `linux.devices` paths and of
// the bundle's root.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CAPABILITIES } from '../credentials';
import type { CapabilityName } from '../credentials';
import type { RlimitName, RlimitValue } from '../limits';
import { KERNEL_COUNTER_FILES } from '../kernel-counters';
import type { KernelCounterLimits, KernelCounterName } from '../kernel-counters';
import type { IdMapEntry, MountEntry, NamespaceName, NamespaceSetting, SpawnIsolatedOptions } from '../options';
import { sysctlNamespace } from '../sysctl';
import { badType, badValue, OciConfigError, unsupported } from './errors';
import { Fields, integer } from './fields';
import type { Mutable, OciIgnoredField } from './fields';
import { mapDevice, mapMounts, presentInBox } from './mounts';
import { type OciHooks, parseHooks } from './hooks';
import { mapResources } from './resources';
import { mapSeccomp } from './seccomp';

export type { OciIgnoredField } from './fields';

/** What fromOciConfig takes besides the config. */
export interface FromOciConfigOptions {
  /**
   * The bundle directory: `root.path` and relative bind sources are
   * resolved against it. Needed when either is relative.
   */
  readonly bundle?: string;
  /**
   * A config whose `linux.namespaces` has no `user` entry asks for the
   * host's user namespace, i.e. real host credentials (as root: real root).
   * By default cordon gives the box a new user namespace anyway (its secure
   * default: uid 0 in the box is nobody, or the caller, on the host) and
   * says so in `ignored`. `true` honours the config: `namespaces.user:
   * 'host'` with `allowHostCredentials`.
   */
  readonly hostCredentials?: boolean;
  /**
   * The caller runs the config's lifecycle `hooks` (as `cordon oci` does):
   * they are checked and returned in the result's `hooks`. Without it a
   * config with hooks is refused: one spawn has no lifecycle to run them in.
   */
  readonly runtimeHooks?: boolean;
}

/** What fromOciConfig returns: spawnIsolated(file, args, options). */
export interface OciRunSpec {
  readonly file: string;
  readonly args: readonly string[];
  readonly options: SpawnIsolatedOptions;
  /** Fields set in the config that cordon does not apply, with the reason for each. */
  readonly ignored: readonly OciIgnoredField[];
  /** The config's hooks, checked, when `runtimeHooks` asked for them and there are any. */
  readonly hooks?: OciHooks;
}

/** RLIM_INFINITY and its neighbours as JSON numbers (2^64-1 is not exact in a double). */
const UNLIMITED_FROM = 2 ** 63;

const NAMESPACE_TYPES: Readonly<Record<string, NamespaceName>> = {
  pid: 'pid', network: 'net', mount: 'mount', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

const RLIMIT_TYPES: Readonly<Record<string, RlimitName>> = {
  RLIMIT_CPU: 'cpu', RLIMIT_FSIZE: 'fsize', RLIMIT_STACK: 'stack', RLIMIT_CORE: 'core', RLIMIT_NPROC: 'nproc',
  RLIMIT_NOFILE: 'nofile', RLIMIT_MEMLOCK: 'memlock', RLIMIT_AS: 'as', RLIMIT_SIGPENDING: 'sigpending', RLIMIT_MSGQUEUE: 'msgqueue',
};
const RLIMITS_NOT_SET = ['RLIMIT_DATA', 'RLIMIT_RSS', 'RLIMIT_LOCKS', 'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME'];

/**
 * Maps an OCI runtime config (the parsed config.json of a bundle, runtime
 * spec 1.x) to what `spawnIsolated(file, args, options)` takes. Throws an
 * OciConfigError naming the field's JSON path for a field cordon cannot
 * honour, an unknown field or a malformed value; lists in `ignored` the set
 * fields it leaves out on purpose. See docs/oci.md for every field.
 * The options are checked again, as cordon's, by spawnIsolated.
 */
export function fromOciConfig(config: unknown, options: FromOciConfigOptions = {}): OciRunSpec {
  const ignored: OciIgnoredField[] = [];
  const top = Fields.of(config, '');
  const out: Mutable<SpawnIsolatedOptions> = {};

  const version = top.string('ociVersion');
  if (version === undefined) throw badType('ociVersion', 'a string (the runtime spec version, e.g. "1.2.0")', undefined);
  if (!/^1\.\d+\.\d+(?:[-+].*)?$/.test(version)) throw unsupported('ociVersion', `cordon reads runtime spec 1.x configs, not ${JSON.stringify(version.slice(0, 40))}`);

  const bundle = options.bundle === undefined ? undefined : path.resolve(options.bundle);
  const inBundle = (at: string, value: string): string => {
    if (path.isAbsolute(value)) return path.normalize(value);
    if (bundle === undefined) throw badValue(at, value, 'is relative: give fromOciConfig a bundle directory to resolve it in');
    return path.join(bundle, value);
  };

  // linux first: namespaces decide how process.user and hostname apply.
  const linux = top.object('linux');
  const namespaces = mapNamespaces(linux, options, ignored);
  out.namespaces = namespaces;
  if (namespaces.user === 'host' && options.hostCredentials === true) out.allowHostCredentials = true;

  const { file, args } = mapProcess(top.object('process'), out, namespaces, ignored);

  // root
  const root = top.object('root');
  if (root === undefined) throw badType('root', 'an object { path, readonly } (a Linux bundle needs its root filesystem)', undefined);
  const rootPath = root.string('path');
  if (rootPath === undefined || rootPath === '') throw badType('root.path', 'a non-empty string', rootPath);
  const readonly = root.boolean('readonly') ?? false;
  root.done();
  out.rootfs = readonly ? { dir: inBundle('root.path', rootPath) } : { dir: inBundle('root.path', rootPath), writable: true };

  const hostname = top.string('hostname');
  if (hostname !== undefined && hostname !== '') out.hostname = hostname;
  top.refuse('domainname', 'cordon sets the UTS hostname only, not the NIS domain name');

  const mounts = mapMounts(top.array('mounts'), inBundle, namespaces, ignored);

  const hooks = options.runtimeHooks === true ? parseHooks(top.get('hooks')) : undefined;
  if (options.runtimeHooks !== true) top.refuse('hooks', 'fromOciConfig runs no hooks (they belong to a runtime\'s lifecycle, not to one spawn: `cordon oci` runs them)');
  top.ignore('annotations', 'metadata for tools: the runtime spec gives annotations no effect on the container', ignored);
  for (const other of ['solaris', 'windows', 'vm', 'zos']) top.refuse(other, 'cordon runs Linux containers only');

  if (linux !== undefined) mapLinux(linux, out, mounts, out.rootfs.dir, ignored);
  out.mounts = mounts;
  top.done();
  return { file, args, options: out, ignored, ...(hooks === undefined ? {} : { hooks }) };
}

/** Reads `<bundle>/config.json` and maps it with fromOciConfig (`bundle` set). */
export function loadOciBundle(bundle: string, options: Omit<FromOciConfigOptions, 'bundle'> = {}): OciRunSpec {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new OciConfigError('ERR_INVALID_ARG_VALUE', 'bundle', `The OCI bundle's config cannot be read: ${code} ${file}`, { cause: error });
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new OciConfigError('ERR_INVALID_ARG_VALUE', 'bundle', `The OCI bundle's ${file} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return fromOciConfig(config, { ...options, bundle });
}

function mapNamespaces(linux: Fields | undefined, options: FromOciConfigOptions, ignored: OciIgnoredField[]): Record<NamespaceName, NamespaceSetting> {
  // Not listed: the runtime's own (the host's), per the spec.
  const result: Record<NamespaceName, NamespaceSetting> = {
    user: 'host', pid: 'host', mount: 'host', net: 'host', ipc: 'host', uts: 'host', cgroup: 'host', time: 'host',
  };
  const listed = new Set<string>();
  const at = 'linux.namespaces';
  (linux?.array('namespaces') ?? []).forEach((entry, i) => {
    const fields = Fields.of(entry, `${at}[${i}]`);
    const type = fields.string('type');
    if (type === undefined || !Object.hasOwn(NAMESPACE_TYPES, type)) {
      throw badValue(fields.path('type'), type, `must be one of ${Object.keys(NAMESPACE_TYPES).join(', ')}`);
    }
    if (listed.has(type)) throw badValue(fields.path('type'), type, 'repeats a namespace type listed before');
    listed.add(type);
    const nsPath = fields.string('path');
    fields.done();
    if (nsPath !== undefined && nsPath !== '' && !path.isAbsolute(nsPath)) throw badValue(fields.path('path'), nsPath, 'must be an absolute path');
    result[NAMESPACE_TYPES[type]!] = nsPath === undefined || nsPath === '' ? 'new' : { path: nsPath };
  });
  if (!listed.has('mount')) {
    throw unsupported(at, 'a box always has a mount namespace of its own (list { "type": "mount" })');
  }
  if (!listed.has('user') && options.hostCredentials !== true) {
    result.user = 'new';
    ignored.push({
      field: at,
      reason: 'no "user" namespace listed (the host\'s, i.e. real host credentials): cordon gives the box a new one, its secure default; pass hostCredentials: true to honour the config',
    });
  }
  return result;
}

function mapProcess(
  process: Fields | undefined,
  out: Mutable<SpawnIsolatedOptions>,
  namespaces: Record<NamespaceName, NamespaceSetting>,
  ignored: OciIgnoredField[],
): { file: string; args: string[] } {
  if (process === undefined) throw badType('process', 'an object (cordon runs a process: give process.args)', undefined);
  const argv = process.strings('args');
  if (argv.length === 0) throw badValue('process.args', argv, 'must name the program to run');
  const [file, ...args] = argv as [string, ...string[]];
  if (file === '') throw badValue('process.args[0]', file, 'must not be empty');

  if (process.boolean('terminal') === true) {
    throw unsupported('process.terminal', 'cordon gives a box no pseudo-terminal yet; set it to false and use pipes');
  }
  process.ignore('consoleSize', 'only meaningful with process.terminal, which cordon refuses', ignored);
  process.refuse('commandLine', 'a Windows field');

  const env: Record<string, string> = {};
  process.strings('env').forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw badValue(`process.env[${i}]`, entry, 'must be KEY=VALUE');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  });
  out.env = env;

  const cwd = process.string('cwd');
  if (cwd === undefined || !path.isAbsolute(cwd)) throw badValue('process.cwd', cwd, 'must be an absolute path');
  out.cwd = cwd;

  const user = process.object('user');
  if (user !== undefined) {
    out.uid = user.integer('uid', 0, 0xfffffffe) ?? 0;
    out.gid = user.integer('gid', 0, 0xfffffffe) ?? 0;
    const umask = user.integer('umask', 0, 0o777);
    if (umask !== undefined) out.umask = umask;
    const groups = user.array('additionalGids').map((gid, i) => integer(`process.user.additionalGids[${i}]`, gid, 0, 0xfffffffe));
    if (groups.length > 0) out.groups = [...new Set(groups)];
    user.refuse('username', 'a Windows field');
    user.done();
  }

  const capabilities = process.object('capabilities');
  out.capabilities = capabilities === undefined ? [] : mapCapabilities(capabilities, out.uid ?? 0, ignored);

  const rlimits: Partial<Record<RlimitName, RlimitValue>> = {};
  process.array('rlimits').forEach((entry, i) => {
    const at = `process.rlimits[${i}]`;
    const fields = Fields.of(entry, at);
    const type = fields.string('type');
    if (type !== undefined && RLIMITS_NOT_SET.includes(type)) throw unsupported(`${at}.type`, `cordon sets ${Object.keys(RLIMIT_TYPES).join(', ')} only`);
    if (type === undefined || !Object.hasOwn(RLIMIT_TYPES, type)) throw badValue(`${at}.type`, type, `must be one of ${Object.keys(RLIMIT_TYPES).join(', ')}`);
    const name = RLIMIT_TYPES[type]!;
    if (rlimits[name] !== undefined) throw badValue(`${at}.type`, type, 'repeats an rlimit set before');
    const limit = (key: 'soft' | 'hard'): number | 'unlimited' => {
      const value = fields.get(key);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw badType(`${at}.${key}`, 'a non-negative integer', value);
      return value >= UNLIMITED_FROM ? 'unlimited' : value;
    };
    const soft = limit('soft');
    const hard = limit('hard');
    fields.done();
    rlimits[name] = soft === hard ? soft : { soft, hard };
  });
  if (Object.keys(rlimits).length > 0) out.rlimits = rlimits;

  // noNewPrivileges: false (or absent) leaves no_new_privs off in runc; cordon
  // sets it by default and lifts it only when the config says false outright.
  const noNewPrivileges = process.boolean('noNewPrivileges');
  if (noNewPrivileges === false) out.allowNewPrivileges = true;
  else if (noNewPrivileges === undefined) ignored.push({ field: 'process.noNewPrivileges', reason: 'absent (runc: no_new_privs off): cordon sets no_new_privs unless the config says false' });

  const oom = process.integer('oomScoreAdj', -1000, 1000);
  if (oom !== undefined) out.oomScoreAdj = oom;

  process.refuse('apparmorProfile', 'cordon applies no AppArmor profile (it confines with namespaces, seccomp and Landlock)');
  process.refuse('selinuxLabel', 'cordon applies no SELinux label');
  process.refuse('ioPriority', 'cordon sets no I/O priority');
  process.refuse('execCPUAffinity', 'cordon sets no CPU affinity (use linux.resources.cpu.cpus)');
  const scheduler = process.object('scheduler');
  if (scheduler !== undefined) {
    const policy = scheduler.string('policy');
    if (policy !== 'SCHED_OTHER') throw unsupported('process.scheduler.policy', 'cordon sets the nice value of SCHED_OTHER only');
    const nice = scheduler.integer('nice', -20, 19);
    if (nice !== undefined) out.nice = nice;
    for (const key of ['priority', 'flags', 'runtime', 'deadline', 'period']) scheduler.refuse(key, 'cordon sets the nice value of SCHED_OTHER only');
    scheduler.done();
  }
  process.done();
  // The OCI process is PID 1 of a new pid namespace: no init in between.
  if (namespaces.pid !== 'host') out.init = false;
  return { file, args };
}

function mapCapabilities(capabilities: Fields, uid: number, ignored: OciIgnoredField[]): CapabilityName[] {
  const sets: Record<string, Set<CapabilityName>> = {};
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    sets[set] = new Set(
      capabilities.strings(set).map((name, i) => {
        if (!Object.hasOwn(CAPABILITIES, name)) throw badValue(`${capabilities.path(set)}[${i}]`, name, 'must be a capability name cordon knows (CAP_...)');
        return name as CapabilityName;
      }),
    );
  }
  capabilities.done();
  // What the payload ends up with after its exec: as uid 0, the bounding set
  // (plus inheritable); as another uid, the ambient set, of which the kernel
  // raises only what is both permitted and inheritable. cordon keeps exactly
  // that and drops the rest from every set, bounding included.
  const kept = uid === 0
    ? new Set([...sets.bounding!, ...sets.inheritable!, ...sets.ambient!])
    : new Set([...sets.ambient!].filter((name) => sets.permitted!.has(name) && sets.inheritable!.has(name)));
  if (uid !== 0 && sets.bounding!.size > kept.size) {
    ignored.push({ field: 'process.capabilities.bounding', reason: 'a non-root payload keeps the ambient set only: cordon narrows the bounding set to it' });
  }
  return [...kept].sort((a, b) => CAPABILITIES[a] - CAPABILITIES[b]);
}

function mapLinux(
  linux: Fields,
  out: Mutable<SpawnIsolatedOptions>,
  mounts: MountEntry[],
  rootDir: string | undefined,
  ignored: OciIgnoredField[],
): void {
  const idMap = (key: string): IdMapEntry[] =>
    linux.array(key).map((entry, i) => {
      const fields = Fields.of(entry, `linux.${key}[${i}]`);
      const inside = fields.integer('containerID', 0, 0xfffffffe);
      const outside = fields.integer('hostID', 0, 0xfffffffe);
      const count = fields.integer('size', 1, 0xffffffff);
      fields.done();
      if (inside === undefined || outside === undefined || count === undefined) throw badType(`linux.${key}[${i}]`, 'an object { containerID, hostID, size }', entry);
      return { inside, outside, count };
    });
  const uidMap = idMap('uidMappings');
  const gidMap = idMap('gidMappings');
  if (uidMap.length > 0) out.uidMap = uidMap;
  if (gidMap.length > 0) out.gidMap = gidMap;

  const resources = linux.object('resources');
  if (resources !== undefined) {
    // Only limits make a cgroup of the box's own: an empty one would need a
    // delegated subtree for nothing.
    const limits = mapResources(resources, ignored);
    if (Object.keys(limits).length > 0) out.cgroup = limits;
  }
  linux.ignore('cgroupsPath', 'cordon makes the box\'s own cgroup under `cgroupParent` (a delegated subtree or its own), and names it itself', ignored);

  const sysctl = linux.object('sysctl');
  if (sysctl !== undefined) {
    const counters: Partial<Record<KernelCounterName, number>> = {};
    const namespaced: Record<string, string> = {};
    const byFile = new Map<string, KernelCounterName>(Object.entries(KERNEL_COUNTER_FILES).map(([name, file]) => [`user.${file}`, name as KernelCounterName]));
    for (const key of Object.keys(sysctl.value)) {
      const value = sysctl.string(key);
      const name = byFile.get(key);
      if (name === undefined) {
        // A parameter of the box's own net or IPC namespace: the `sysctl`
        // option (spawnIsolated checks it against the namespaces).
        if (sysctlNamespace(key) === undefined) {
          throw unsupported(sysctl.path(key), 'cordon sets the per-user limits user.max_* (as kernelCounters) and the parameters of the box\'s own net and IPC namespaces (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) only');
        }
        if (value === undefined) throw badValue(sysctl.path(key), value, 'must be a string');
        namespaced[key] = value;
        continue;
      }
      if (value === undefined || !/^\d+$/.test(value)) throw badValue(sysctl.path(key), value, 'must be a number');
      counters[name] = Number(value);
    }
    sysctl.done();
    if (Object.keys(counters).length > 0) out.kernelCounters = counters as KernelCounterLimits;
    if (Object.keys(namespaced).length > 0) out.sysctl = namespaced;
  }

  const seccomp = linux.object('seccomp');
  if (seccomp !== undefined) out.seccomp = mapSeccomp(seccomp, ignored);

  linux.array('devices').forEach((entry, i) => mounts.push(mapDevice(Fields.of(entry, `linux.devices[${i}]`), ignored)));

  // maskedPaths may name what this kernel lacks (/proc/timer_stats): runc skips those.
  linux.strings('maskedPaths').forEach((target, i) => {
    if (!path.isAbsolute(target)) throw badValue(`linux.maskedPaths[${i}]`, target, 'must be an absolute path');
    mounts.push({ type: 'mask', target: path.posix.normalize(target), ifExists: true });
  });
  linux.strings('readonlyPaths').forEach((target, i) => {
    if (!path.isAbsolute(target)) throw badValue(`linux.readonlyPaths[${i}]`, target, 'must be an absolute path');
    const normal = path.posix.normalize(target);
    if (!presentInBox(normal, rootDir)) {
      ignored.push({ field: `linux.readonlyPaths[${i}]`, reason: `${normal} is not there (this kernel or image lacks it): nothing to make read-only, as runc skips it` });
      return;
    }
    mounts.push({ type: 'remount-ro', target: normal });
  });

  const propagation = linux.string('rootfsPropagation');
  if (propagation !== undefined && propagation !== '' && propagation !== 'private' && propagation !== 'rprivate') {
    throw unsupported('linux.rootfsPropagation', 'cordon\'s mounts are private (no propagation to or from the host)');
  }
  linux.refuse('mountLabel', 'cordon applies no SELinux mount label');
  linux.refuse('intelRdt', 'cordon sets no Intel RDT (resctrl) group');
  linux.refuse('timeOffsets', 'cordon sets no time namespace offsets');
  linux.refuse('memoryPolicy', 'cordon sets no NUMA memory policy (use linux.resources.cpu.mems)');
  linux.refuse('netDevices', 'cordon moves no host network device into the box (see the `network` option)');
  const personality = linux.object('personality');
  if (personality !== undefined) {
    if (personality.string('domain') !== 'LINUX') throw unsupported('linux.personality.domain', 'cordon runs the LINUX personality only');
    personality.refuse('flags', 'cordon sets no personality flags');
    personality.done();
  }
  linux.done();
}
