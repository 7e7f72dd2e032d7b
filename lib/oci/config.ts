// An OCI runtime-spec config.json → spawnIsolated's file, args and options.
// Every field of the spec is mapped, refused with its JSON path (an
// OciConfigError), or ignored with a reason the result lists; the table in
// docs/oci.md says which, field by field. Nothing here touches the host but
// a stat of `linux.devices` paths and of the bundle's root.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CgroupLimits, IoDeviceLimit } from '../cgroups/limits';
import { CAPABILITIES } from '../credentials';
import type { CapabilityName, RlimitName, RlimitValue } from '../credentials';
import { KERNEL_COUNTER_FILES } from '../kernel-counters';
import type { KernelCounterLimits, KernelCounterName } from '../kernel-counters';
import type { IdMapEntry, MountEntry, NamespaceName, NamespaceSetting, SpawnIsolatedOptions } from '../options';
import type { SeccompAction, SeccompPolicy, SeccompRule } from '../seccomp';
import { isKnownSyscall } from '../seccomp/arch';
import { badType, badValue, OciConfigError, unknownField, unsupported } from './errors';

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
}

/** A field fromOciConfig left out, and why (also listed in docs/oci.md). */
export interface OciIgnoredField {
  /** JSON path of the field, e.g. `linux.cgroupsPath`. */
  readonly field: string;
  readonly reason: string;
}

/** What fromOciConfig returns: spawnIsolated(file, args, options). */
export interface OciRunSpec {
  readonly file: string;
  readonly args: readonly string[];
  readonly options: SpawnIsolatedOptions;
  /** Fields set in the config that cordon does not apply, with the reason for each. */
  readonly ignored: readonly OciIgnoredField[];
}

type Json = Record<string, unknown>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Reads the keys of one JSON object, remembering which were read: `done()`
 * refuses every key left over as unknown, so no field is dropped unseen.
 */
class Fields {
  private readonly seen = new Set<string>();
  constructor(
    readonly value: Json,
    readonly at: string,
  ) {}

  static of(value: unknown, at: string): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badType(at, 'an object', value);
    return new Fields(value as Json, at);
  }

  path(key: string): string {
    return this.at === '' ? key : `${this.at}.${key}`;
  }

  get(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.value, key) ? this.value[key] : undefined;
  }

  object(key: string): Fields | undefined {
    const value = this.get(key);
    return value === undefined || value === null ? undefined : Fields.of(value, this.path(key));
  }

  string(key: string): string | undefined {
    const value = this.get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw badType(this.path(key), 'a string', value);
    if (value.includes('\0')) throw badValue(this.path(key), value, 'must not contain null bytes');
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw badType(this.path(key), 'a boolean', value);
    return value;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.get(key);
    if (value === undefined || value === null) return undefined;
    return integer(this.path(key), value, min, max);
  }

  array(key: string): unknown[] {
    const value = this.get(key);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw badType(this.path(key), 'an array', value);
    return value;
  }

  strings(key: string): string[] {
    return this.array(key).map((entry, i) => {
      if (typeof entry !== 'string') throw badType(`${this.path(key)}[${i}]`, 'a string', entry);
      return entry;
    });
  }

  /** Refuses the field when set to anything but an empty value. */
  refuse(key: string, why: string): void {
    if (!isEmpty(this.get(key))) throw unsupported(this.path(key), why);
  }

  /** Accepts and drops the field, noting why when it is set. */
  ignore(key: string, why: string, ignored: OciIgnoredField[]): void {
    if (!isEmpty(this.get(key))) ignored.push({ field: this.path(key), reason: why });
  }

  done(): void {
    for (const key of Object.keys(this.value)) if (!this.seen.has(key)) throw unknownField(this.path(key));
  }
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function integer(at: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw badType(at, 'a number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw badValue(at, value, `must be an integer from ${min} to ${max}`);
  return value;
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

  top.refuse('hooks', 'fromOciConfig runs no hooks (they belong to the runtime CLI lifecycle, not to one spawn)');
  top.ignore('annotations', 'metadata for tools: the runtime spec gives annotations no effect on the container', ignored);
  for (const other of ['solaris', 'windows', 'vm', 'zos']) top.refuse(other, 'cordon runs Linux containers only');

  if (linux !== undefined) mapLinux(linux, out, mounts, out.rootfs.dir, ignored);
  out.mounts = mounts;
  top.done();
  return { file, args, options: out, ignored };
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

const SKIPPED_MOUNTS: Readonly<Record<string, { type: string; reason: string }>> = {
  '/proc': { type: 'proc', reason: 'cordon always mounts a fresh /proc (of the box\'s pid namespace)' },
  '/dev': { type: 'tmpfs', reason: 'cordon always mounts its own minimal /dev (null, zero, full, random, urandom, tty, pts, shm)' },
  '/dev/pts': { type: 'devpts', reason: 'cordon always mounts a new devpts instance at /dev/pts' },
};

/** Mount options with no effect cordon could give or need. */
const NEUTRAL_OPTIONS = new Set([
  'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'noatime', 'atime', 'nodiratime', 'diratime', 'lazytime', 'nolazytime',
  'private', 'rprivate', 'defaults', 'async', 'nosuid', 'nodev', 'sync',
]);

function mapMounts(
  entries: unknown[],
  inBundle: (at: string, value: string) => string,
  namespaces: Record<NamespaceName, NamespaceSetting>,
  ignored: OciIgnoredField[],
): MountEntry[] {
  const mounts: MountEntry[] = [];
  entries.forEach((entry, i) => {
    const at = `mounts[${i}]`;
    const fields = Fields.of(entry, at);
    let destination = fields.string('destination');
    if (destination === undefined || destination === '') throw badValue(`${at}.destination`, destination, 'must be a path in the container');
    destination = path.posix.normalize(path.posix.join('/', destination));
    const type = fields.string('type') ?? '';
    const source = fields.string('source') ?? '';
    const options = fields.strings('options');
    fields.refuse('uidMappings', 'cordon has no per-mount id mappings from a config (see the `idmap` bind option)');
    fields.refuse('gidMappings', 'cordon has no per-mount id mappings from a config (see the `idmap` bind option)');
    fields.done();

    const skipped = SKIPPED_MOUNTS[destination];
    if (skipped !== undefined && skipped.type === type) {
      ignored.push({ field: at, reason: skipped.reason });
      return;
    }
    const option = parseMountOptions(`${at}.options`, options);
    const isBind = type === 'bind' || option.bind !== undefined;
    if (isBind) {
      if (source === '') throw badValue(`${at}.source`, source, 'must name the host path to bind');
      option.allow('ro', 'rw', 'bind', 'rbind', 'noexec', 'exec', 'dev', 'suid');
      if (option.has('suid')) throw unsupported(`${at}.options`, 'cordon binds are always nosuid');
      const bind: Mutable<Extract<MountEntry, { type: 'bind' }>> = {
        type: 'bind',
        source: inBundle(`${at}.source`, source),
        target: destination,
        readonly: option.readonly,
        recursive: option.bind === 'rbind',
      };
      if (option.has('noexec')) bind.noexec = true;
      if (option.has('dev')) bind.devices = true;
      mounts.push(bind);
      return;
    }
    switch (type) {
      case 'tmpfs': {
        option.allow('ro', 'rw', 'noexec', 'exec', 'mode', 'size', 'uid', 'gid', 'nr_inodes');
        const tmpfs: Mutable<Extract<MountEntry, { type: 'tmpfs' }>> = { type: 'tmpfs', target: destination };
        const mode = option.value('mode');
        if (mode !== undefined) {
          if (!/^[0-7]{1,4}$/.test(mode)) throw badValue(`${at}.options`, `mode=${mode}`, 'must give an octal mode');
          tmpfs.mode = parseInt(mode, 8);
        }
        const size = option.value('size');
        if (size !== undefined) tmpfs.size = parseSize(`${at}.options`, size);
        for (const id of ['uid', 'gid'] as const) {
          const value = option.value(id);
          if (value !== undefined) {
            if (!/^\d+$/.test(value)) throw badValue(`${at}.options`, `${id}=${value}`, 'must give a number');
            tmpfs[id] = Number(value);
          }
        }
        if (option.value('nr_inodes') !== undefined) ignored.push({ field: `${at}.options`, reason: 'nr_inodes: cordon sets no inode limit on a tmpfs mount entry' });
        if (option.readonly) tmpfs.readonly = true;
        if (!option.has('noexec')) ignored.push({ field: `${at}.options`, reason: 'tmpfs mounts are exec unless noexec: cordon\'s are exec, nosuid and nodev' });
        mounts.push(tmpfs);
        return;
      }
      case 'proc': {
        option.allow('ro', 'rw', 'noexec', 'hidepid');
        const hidepid = option.value('hidepid');
        const names: Record<string, 'off' | 'noaccess' | 'invisible'> = { '0': 'off', off: 'off', '1': 'noaccess', noaccess: 'noaccess', '2': 'invisible', invisible: 'invisible' };
        if (hidepid !== undefined && names[hidepid] === undefined) throw badValue(`${at}.options`, `hidepid=${hidepid}`, 'must be off, noaccess or invisible');
        mounts.push(hidepid === undefined ? { type: 'proc', target: destination } : { type: 'proc', target: destination, hidepid: names[hidepid]! });
        return;
      }
      case 'sysfs':
        option.allow('ro', 'noexec');
        if (!option.readonly) ignored.push({ field: `${at}.options`, reason: 'sysfs: cordon mounts it read-only always' });
        if (namespaces.net !== 'new') throw unsupported(`${at}.type`, 'a sysfs mount needs a new network namespace in cordon (bind /sys instead)');
        mounts.push({ type: 'sysfs', target: destination });
        return;
      case 'mqueue':
        option.allow('noexec');
        mounts.push({ type: 'mqueue', target: destination });
        return;
      case 'cgroup':
      case 'cgroup2':
        ignored.push({ field: at, reason: 'cordon mounts no cgroup filesystem from a config: the box sees an empty directory there' });
        return;
      default:
        throw unsupported(`${at}.type`, `cordon mounts bind, tmpfs, proc, sysfs and mqueue only (not ${JSON.stringify(type.slice(0, 40))})`);
    }
  });
  return mounts;
}

interface ParsedMountOptions {
  readonly readonly: boolean;
  readonly bind: 'bind' | 'rbind' | undefined;
  has(name: string): boolean;
  value(name: string): string | undefined;
  /** Refuses any option but these (and the neutral ones). */
  allow(...names: string[]): void;
}

function parseMountOptions(at: string, options: string[]): ParsedMountOptions {
  const flags = new Map<string, number>();
  const values = new Map<string, string>();
  options.forEach((option, i) => {
    const eq = option.indexOf('=');
    if (eq >= 0) values.set(option.slice(0, eq), option.slice(eq + 1));
    else flags.set(option, i);
    const name = eq >= 0 ? option.slice(0, eq) : option;
    if (['shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'].includes(name)) {
      throw unsupported(`${at}[${i}]`, 'cordon\'s mounts are private (no propagation to or from the host)');
    }
    if (['idmap', 'ridmap'].includes(name)) throw unsupported(`${at}[${i}]`, 'cordon has no idmapped mounts from a config');
  });
  let readonly = false;
  let bind: 'bind' | 'rbind' | undefined;
  for (const [name] of flags) {
    if (name === 'ro') readonly = true;
    if (name === 'rw') readonly = false;
    if (name === 'bind' || name === 'rbind') bind = name;
  }
  return {
    readonly,
    bind,
    has: (name) => flags.has(name),
    value: (name) => values.get(name),
    allow(...names) {
      for (const [name, i] of flags) {
        if (!names.includes(name) && !NEUTRAL_OPTIONS.has(name)) throw unsupported(`${at}[${i}]`, `cordon does not honour the mount option ${JSON.stringify(name)} here`);
      }
      let i = 0;
      for (const option of options) {
        const eq = option.indexOf('=');
        if (eq >= 0 && !names.includes(option.slice(0, eq))) throw unsupported(`${at}[${i}]`, `cordon does not honour the mount option ${JSON.stringify(option.slice(0, 40))} here`);
        i++;
      }
    },
  };
}

function parseSize(at: string, text: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(text);
  if (match === null) throw unsupported(at, `size=${text}: cordon takes a size in bytes, k, m or g`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
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
    const byFile = new Map<string, KernelCounterName>(Object.entries(KERNEL_COUNTER_FILES).map(([name, file]) => [`user.${file}`, name as KernelCounterName]));
    for (const key of Object.keys(sysctl.value)) {
      const value = sysctl.string(key);
      const name = byFile.get(key);
      if (name === undefined) throw unsupported(sysctl.path(key), 'cordon sets the per-user limits user.max_* only (as kernelCounters)');
      if (value === undefined || !/^\d+$/.test(value)) throw badValue(sysctl.path(key), value, 'must be a number');
      counters[name] = Number(value);
    }
    sysctl.done();
    if (Object.keys(counters).length > 0) out.kernelCounters = counters as KernelCounterLimits;
  }

  const seccomp = linux.object('seccomp');
  if (seccomp !== undefined) out.seccomp = mapSeccomp(seccomp);

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

/**
 * Whether a readonlyPaths entry will be in the box: /proc and /sys are the
 * same kernel's as the host's, so the host's say whether they have it;
 * anything else comes from the root directory (looked at, never followed
 * out of: the box resolves it again, safely, when it mounts).
 */
function presentInBox(target: string, rootDir: string | undefined): boolean {
  const kernel = target === '/proc' || target.startsWith('/proc/') || target === '/sys' || target.startsWith('/sys/');
  if (kernel) return fs.existsSync(target);
  if (rootDir === undefined) return true;
  try {
    fs.lstatSync(path.join(rootDir, target));
    return true;
  } catch {
    return false;
  }
}

function mapDevice(fields: Fields, ignored: OciIgnoredField[]): MountEntry {
  const devicePath = fields.string('path');
  const type = fields.string('type');
  const major = fields.integer('major', 0, 0xfff);
  const minor = fields.integer('minor', 0, 0xfffff);
  fields.ignore('fileMode', 'the bound host node keeps its own mode and owner', ignored);
  fields.ignore('uid', 'the bound host node keeps its own mode and owner', ignored);
  fields.ignore('gid', 'the bound host node keeps its own mode and owner', ignored);
  fields.done();
  if (devicePath === undefined || !path.isAbsolute(devicePath)) throw badValue(fields.path('path'), devicePath, 'must be an absolute path');
  if (type !== 'c' && type !== 'u' && type !== 'b') throw unsupported(fields.path('type'), 'cordon binds character and block devices only');
  // A box makes no device nodes (mknod needs privilege over the host's
  // devices): it binds the host's node at the same path, which must be the
  // device the config names.
  let stat: fs.Stats;
  try {
    stat = fs.statSync(devicePath);
  } catch (error) {
    throw unsupported(fields.path('path'), `cordon binds the host's own node, and ${devicePath} cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const isType = type === 'b' ? stat.isBlockDevice() : stat.isCharacterDevice();
  const hostMajor = Math.floor(stat.rdev / 256) & 0xfff;
  const hostMinor = (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00);
  if (!isType || hostMajor !== major || hostMinor !== minor) {
    throw unsupported(fields.path('path'), `cordon binds the host's own node, and ${devicePath} is not device ${type} ${major}:${minor} on this host`);
  }
  return { type: 'bind', source: devicePath, target: devicePath, readonly: false, recursive: false, devices: true };
}

function mapResources(resources: Fields, ignored: OciIgnoredField[]): CgroupLimits {
  const limits: CgroupLimits = {};
  const bytes = (at: string, value: unknown): number | 'max' => {
    if (value === -1) return 'max';
    return integer(at, value, 0, Number.MAX_SAFE_INTEGER);
  };
  // 0 means "not set" for these numbers, as runc reads them (podman writes them so).
  const given = (value: unknown): boolean => value !== undefined && value !== null && value !== 0;
  const memory = resources.object('memory');
  if (memory !== undefined) {
    limits.memory = {};
    const limit = memory.get('limit');
    if (given(limit)) limits.memory.max = bytes(memory.path('limit'), limit);
    const swap = memory.get('swap');
    if (given(swap)) {
      // OCI swap is memory + swap; v2's memory.swap.max is the swap alone.
      const total = bytes(memory.path('swap'), swap);
      if (total === 'max') limits.memory.swapMax = 'max';
      else if (typeof limits.memory.max !== 'number') throw badValue(memory.path('swap'), swap, 'needs linux.resources.memory.limit (swap is memory + swap)');
      else if (total < limits.memory.max) throw badValue(memory.path('swap'), swap, 'must be at least linux.resources.memory.limit (swap is memory + swap)');
      else limits.memory.swapMax = total - limits.memory.max;
    }
    memory.refuse('reservation', 'cordon sets no memory.low (use unified "memory.high" for a throttle)');
    memory.ignore('kernel', 'deprecated by the spec: no cgroup v2 equivalent', ignored);
    memory.refuse('kernelTCP', 'no cgroup v2 equivalent');
    memory.refuse('swappiness', 'no cgroup v2 equivalent');
    memory.refuse('disableOOMKiller', 'cordon keeps the OOM killer on (no cgroup v2 equivalent)');
    memory.ignore('useHierarchy', 'cgroup v2 is always hierarchical', ignored);
    memory.ignore('checkBeforeUpdate', 'about updates; cordon sets limits once, at the spawn', ignored);
    memory.done();
    if (Object.keys(limits.memory).length === 0) delete limits.memory;
  }
  const cpu = resources.object('cpu');
  if (cpu !== undefined) {
    const shares = given(cpu.get('shares')) ? cpu.integer('shares', 2, 262144) : undefined;
    const rawQuota = cpu.get('quota');
    const quota = given(rawQuota) ? rawQuota : undefined;
    const period = given(cpu.get('period')) ? cpu.integer('period', 1000, 1000000) : undefined;
    if (shares !== undefined || quota !== undefined || period !== undefined) limits.cpu = {};
    // runc's conversion of cgroup v1 shares (2..262144) to v2 weight (1..10000).
    if (shares !== undefined) limits.cpu!.weight = 1 + Math.floor(((shares - 2) * 9999) / 262142);
    if (quota !== undefined) {
      const max = quota === -1 ? 'max' : integer(cpu.path('quota'), quota, 1000, Number.MAX_SAFE_INTEGER);
      limits.cpu!.max = period === undefined ? { quota: max } : { quota: max, period };
    } else if (period !== undefined) {
      limits.cpu!.max = { quota: 'max', period };
    }
    const cpus = cpu.string('cpus');
    const mems = cpu.string('mems');
    if ((cpus ?? '') !== '' || (mems ?? '') !== '') {
      limits.cpuset = {};
      if (cpus !== undefined && cpus !== '') limits.cpuset.cpus = cpus;
      if (mems !== undefined && mems !== '') limits.cpuset.mems = mems;
    }
    for (const key of ['burst', 'realtimeRuntime', 'realtimePeriod']) cpu.refuse(key, 'cordon sets cpu.weight, cpu.max and the cpuset only');
    const idle = cpu.get('idle');
    if (idle !== undefined && idle !== null && idle !== 0) throw unsupported(cpu.path('idle'), 'cordon sets no cpu.idle');
    cpu.done();
  }
  const pids = resources.object('pids');
  if (pids !== undefined) {
    const limit = pids.get('limit');
    const value = limit === -1 || limit === 0 ? 'max' : integer(pids.path('limit'), limit, 1, 0x7fffffff);
    limits.pids = { max: value };
    pids.done();
  }
  const blockIO = resources.object('blockIO');
  if (blockIO !== undefined) {
    const weight = given(blockIO.get('weight')) ? blockIO.integer('weight', 10, 1000) : undefined;
    // runc's conversion of v1 blkio.weight (10..1000) to v2 io.weight (1..10000).
    if (weight !== undefined) limits.io = { weight: 1 + Math.floor(((weight - 10) * 9999) / 990) };
    blockIO.refuse('leafWeight', 'no cgroup v2 equivalent');
    blockIO.refuse('weightDevice', 'cordon sets no per-device weight');
    const devices = new Map<string, { -readonly [K in keyof IoDeviceLimit]: IoDeviceLimit[K] }>();
    const throttles = { throttleReadBpsDevice: 'readBps', throttleWriteBpsDevice: 'writeBps', throttleReadIOPSDevice: 'readIops', throttleWriteIOPSDevice: 'writeIops' } as const;
    for (const [key, field] of Object.entries(throttles)) {
      blockIO.array(key).forEach((entry, i) => {
        const fields = Fields.of(entry, `${blockIO.path(key)}[${i}]`);
        const major = fields.integer('major', 0, 0xfff)!;
        const minor = fields.integer('minor', 0, 0xfffff)!;
        const rate = fields.integer('rate', 0, Number.MAX_SAFE_INTEGER)!;
        fields.done();
        if (major === undefined || minor === undefined || rate === undefined) throw badType(fields.at, 'an object { major, minor, rate }', entry);
        const id = `${major}:${minor}`;
        const device = devices.get(id) ?? { major, minor };
        device[field] = rate === 0 ? 'max' : rate;
        devices.set(id, device);
      });
    }
    if (devices.size > 0) limits.io = { ...limits.io, devices: [...devices.values()] };
    blockIO.done();
  }
  resources.ignore('devices', 'cordon\'s box reaches only the device nodes it binds (its /dev, linux.devices), nodev elsewhere; a device allowlist neither narrows nor widens that', ignored);
  resources.refuse('hugepageLimits', 'cordon sets no hugetlb limits');
  resources.refuse('network', 'cgroup v2 has no net_cls/net_prio');
  resources.refuse('rdma', 'cordon sets no rdma limits');
  const unified = resources.object('unified');
  if (unified !== undefined) {
    for (const key of Object.keys(unified.value)) mapUnified(unified.path(key), key, unified.string(key) ?? '', limits);
    unified.done();
  }
  resources.done();
  return limits;
}

/** One cgroup v2 file of linux.resources.unified, onto the limit that writes it. */
function mapUnified(at: string, key: string, text: string, limits: CgroupLimits): void {
  const value = text.trim();
  const number = (min: number, max: number): number => {
    if (!/^\d+$/.test(value)) throw badValue(at, text, 'must be a number');
    return integer(at, Number(value), min, max);
  };
  const bytesOrMax = (): number | 'max' => (value === 'max' ? 'max' : number(0, Number.MAX_SAFE_INTEGER));
  switch (key) {
    case 'memory.max':
      limits.memory = { ...limits.memory, max: bytesOrMax() };
      return;
    case 'memory.high':
      limits.memory = { ...limits.memory, high: bytesOrMax() };
      return;
    case 'memory.swap.max':
      limits.memory = { ...limits.memory, swapMax: bytesOrMax() };
      return;
    case 'pids.max':
      limits.pids = { max: value === 'max' ? 'max' : number(1, 0x7fffffff) };
      return;
    case 'cpu.weight':
      limits.cpu = { ...limits.cpu, weight: number(1, 10000) };
      return;
    case 'cpu.max': {
      const match = /^(max|\d+)(?:\s+(\d+))?$/.exec(value);
      if (match === null) throw badValue(at, text, 'must be "QUOTA [PERIOD]" or "max [PERIOD]"');
      const quota = match[1] === 'max' ? 'max' : Number(match[1]);
      limits.cpu = { ...limits.cpu, max: match[2] === undefined ? { quota } : { quota, period: Number(match[2]) } };
      return;
    }
    case 'io.weight': {
      const match = /^(?:default\s+)?(\d+)$/.exec(value);
      if (match === null) throw unsupported(at, 'cordon sets the default io.weight only ("N" or "default N")');
      limits.io = { ...limits.io, weight: integer(at, Number(match[1]), 1, 10000) };
      return;
    }
    case 'cpuset.cpus':
      limits.cpuset = { ...limits.cpuset, cpus: value };
      return;
    case 'cpuset.mems':
      limits.cpuset = { ...limits.cpuset, mems: value };
      return;
    default:
      throw unsupported(at, 'cordon writes memory.max, memory.high, memory.swap.max, pids.max, cpu.weight, cpu.max, io.weight, cpuset.cpus and cpuset.mems only');
  }
}

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
const EPERM = 1;

/**
 * The OCI seccomp format → cordon's policy, with cordon's default profile
 * off (the config's filter is the whole filter, as with runc). Default
 * action allow: a denylist; any other: an allowlist with that default.
 */
function mapSeccomp(seccomp: Fields): SeccompPolicy {
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
  seccomp.strings('architectures').forEach((arch, i) => {
    if (arch !== native) {
      throw unsupported(`linux.seccomp.architectures[${i}]`, `cordon's filter serves the native ABI (${native ?? process.arch}) alone and kills calls from any other: remove ${arch}`);
    }
  });
  seccomp.strings('flags').forEach((flag, i) => {
    if (flag !== 'SECCOMP_FILTER_FLAG_TSYNC') throw unsupported(`linux.seccomp.flags[${i}]`, 'cordon installs its filter with no flags');
  });
  seccomp.refuse('listenerPath', 'cordon\'s filter has no user notification');
  seccomp.refuse('listenerMetadata', 'cordon\'s filter has no user notification');

  const decided = new Map<string, { action: SeccompAction; at: string }>();
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
        // permitting it changes nothing; refusing it cannot be promised.
        if (JSON.stringify(rule) === JSON.stringify('allow')) return;
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

  const others = [...decided].filter(([, rule]) => JSON.stringify(rule.action) !== JSON.stringify(defaultAction));
  const allow = others.filter(([, rule]) => rule.action === 'allow').map(([name]) => name);
  const deny: SeccompRule[] = others.filter(([, rule]) => rule.action !== 'allow').map(([syscall, rule]) => ({ syscall, action: rule.action }));
  if (defaultAction === 'allow') return { mode: 'denylist', profile: 'none', deny };
  return { mode: 'allowlist', profile: 'none', allow, deny, defaultAction };
}
