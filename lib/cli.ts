#!/usr/bin/env node
// cordon run [options] -- CMD [ARGS...]   |   cordon probe
// The CLI builds the same options object as the API; --config FILE takes it
// as JSON and flags on the command line override it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { CordonError, CordonOptionError } from './errors';
import type { IdMapEntry, MountEntry, NamespaceName, NamespaceSetting, RootfsOption, SpawnIsolatedOptions } from './options';
import { NAMESPACE_NAMES } from './options';
import { isPlainObject, ownSnapshot } from './internal/checks';
import type { CgroupLimits, IoDeviceLimit } from './cgroups/limits';
import type { CapabilityName, RlimitValue } from './credentials';
import type { KernelCounterLimit } from './kernel-counters';
import type { LandlockAccess, LandlockScope } from './landlock';
import type { ListenEntry } from './network';
import type { SeccompAction } from './seccomp';
import { fromOciConfig, loadOciBundle } from './oci/config';
import type { OciRunSpec } from './oci/config';
import { ociMain } from './oci/runtime';
import { probe } from './probe';
import { spawnIsolated } from './spawn';

const USAGE_HEAD = `Usage:
  cordon run [options] [--] CMD [ARGS...]  run CMD in a new box; exits with its status (128+N for signal N)
  cordon probe [--json]                    print what this host allows
  cordon oci [--root DIR] run|state|kill|delete|features ...  an OCI runtime's verbs (see docs/oci.md)
  cordon --version                         print cordon's version
  cordon help | --help | run --help        print this help

Options end at CMD (the first word that is not an option or an option's
value) or at --: everything after it is CMD's, dashes and all.

Exit status of run:
  CMD's own status, or 128+N when CMD was killed by signal N
  125  cordon refused: bad options, or a step of the box's setup failed
  126  CMD was found but could not be executed (EACCES, ENOEXEC, ...)
  127  CMD was not found in the box

Examples:
  cordon run /bin/sh -c 'id; hostname; ps'
  cordon run --share net -- curl -sI http://127.0.0.1:8080/
  cordon run --layer /srv/templates/site --upper /srv/tenants/42 --memory-max 256M -- /usr/sbin/php-fpm -F
  cordon run --rootfs /srv/images/alpine --listen 8080 -- /bin/busybox httpd -f -p 8080
`;

const USAGE = `${USAGE_HEAD}
Options of run (each also a key of --config JSON, as in spawnIsolated's options):
  --config FILE           options as JSON (command-line flags override it); an OCI config.json works too
  --bundle DIR            run an OCI bundle (DIR/config.json, its rootfs); CMD, if given, replaces process.args
  --share NS              keep the host's namespace NS (user, pid, mount, net, ipc, uts, cgroup, time); repeatable
  --new NS                make a new namespace NS (e.g. --new time); repeatable
  --join NS=PATH          join the namespace at PATH (e.g. --join net=/run/netns/blue); repeatable
  --uid-map IN:OUT:COUNT  a uid_map line; repeatable
  --gid-map IN:OUT:COUNT  a gid_map line; repeatable
  --uid N, --gid N        ids inside the box (default 0)
  --hostname NAME         UTS name (default cordon)
  --no-init               no init: the payload is PID 1
  --env KEY=VALUE         set a variable; repeatable (default environment: PATH only)
  --inherit-env           start from this process's environment
  --cwd DIR               working directory inside the box (default /)
  --argv0 NAME            argv[0] of the payload
  --timeout MS            send --kill-signal after MS milliseconds
  --kill-signal SIG       default SIGTERM
  --no-die-with-parent    let the box outlive this process
  --no-new-session        stay in this terminal's session
  --allow-host-credentials  allow a box without a new user namespace to keep root

Filesystem (mounts apply in command-line order, after any in --config):
  --rootfs DIR            an unpacked image as the root, read-only (--rootfs-writable: read-write)
  --layer DIR             a read-only template layer, top-most first; repeatable
  --upper DIR|tmpfs       the writable layer over --layer: a tenant directory or an ephemeral tmpfs
  --upper-size BYTES      size limit of a tmpfs upper (default 64 MiB)
  --tmp-size BYTES        size limit of the box's /tmp, /dev/shm and /run (default 64 MiB)
  --ro-bind SRC DST       bind a host path read-only
  --bind SRC DST          bind a host path read-write
  --ro-bind-follow SRC DST, --bind-follow SRC DST  the same, following symlinks in SRC
                          (binds refuse them otherwise; for paths no tenant writes, e.g. /lib)
  --idmap-bind SRC DST UID:GID  read-write, files of host UID:GID shown as the box's user (root only)
  --tmpfs DST             a fresh tmpfs
  --proc DST              another proc filesystem
  --symlink TARGET DST    a symbolic link at DST
  --file DST CONTENT      a read-only file with CONTENT
  --remount-ro DST        make DST read-only
  --mask DST              hide a file or directory

Cgroup (any of these gives the box a cgroup of its own; sizes take K, M, G):
  --cgroup                a cgroup without limits (accounting, whole-box kill)
  --cgroup-parent DIR     the cgroup to make box cgroups under
  --memory-max SIZE, --memory-high SIZE, --swap-max SIZE
  --cpu-weight N          1..10000 (v1: cpu.shares = N*1024/100)
  --cpu-max QUOTA[/PERIOD]  microseconds of CPU per period (default period 100000)
  --pids-max N
  --io-weight N
  --io-max MAJ:MIN:KEY=N[,KEY=N]  KEY: rbps wbps riops wiops; repeatable
  --cpuset-cpus LIST, --cpuset-mems LIST

Credentials and limits:
  --cap NAME              keep a capability (e.g. CAP_NET_BIND_SERVICE); repeatable
  --group GID             a supplementary group; repeatable
  --allow-new-privileges  leave no_new_privs off
  --rlimit NAME=SOFT[:HARD]  e.g. nofile=1024:4096, core=unlimited; repeatable
  --kernel-counter NAME=N  a per-uid limit of the box's user namespace (e.g. inotifyInstances=16,
                          userNamespaces=unlimited); repeatable
  --user-namespace-owner caller|box  who owns the box's user namespace and is charged for its counts
  --umask OCTAL, --nice N, --oom-score-adj N
  --landlock-read PATH, --landlock-write PATH, --landlock-exec PATH   repeatable
  --landlock-bind PORT, --landlock-connect PORT, --landlock-scope SCOPE   repeatable
  --landlock-required     fail if the kernel cannot enforce all of it
  --no-seccomp            no seccomp filter (default: cordon's profile)
  --seccomp-allow NAME    allow a call the default profile refuses; repeatable
  --seccomp-deny NAME[=ERRNO|kill|kill-process|log|trap]  refuse one more; repeatable

Network (default: a network namespace of its own with only lo):
  --network MODE          none, host, bridge (the bridge cordon0) or bridge:NAME
  --bridge-subnet CIDR    the bridge's address/prefix if cordon makes it (default 10.127.0.1/16)
  --bridge-address IP     the box's address (default: the next free one)
  --bridge-reach gateway|any  gateway (default): only the bridge's address; any: what the host routes

Sockets (fds 3 and up, with LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES):
  --listen [HOST:]PORT    a TCP socket bound by cordon (default host 127.0.0.1); repeatable
  --listen-unix PATH      a Unix socket for the box; repeatable
`;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A null-prototype deep copy (an empty one for undefined): reads of absent
 * keys are undefined. `what` names a --config value flags are merged into,
 * which must then be an object.
 */
function own<T>(value: unknown, what = 'options'): T {
  if (value !== undefined && !isPlainObject(value)) fail(`--config: "${what}" must be an object to add the command-line flags to`);
  return ownSnapshot(value ?? {}, '') as T;
}

function fail(message: string): never {
  process.stderr.write(`cordon: ${message}\n`);
  process.exit(125);
}

function parseIdMap(flag: string, text: string): IdMapEntry {
  const parts = text.split(':').map((part) => Number(part));
  if (parts.length !== 3 || parts.some((part) => !Number.isInteger(part))) {
    fail(`${flag} wants INSIDE:OUTSIDE:COUNT, got ${JSON.stringify(text)}`);
  }
  const [inside, outside, count] = parts as [number, number, number];
  return { inside, outside, count };
}

function namespaceName(flag: string, name: string): NamespaceName {
  if (!(NAMESPACE_NAMES as readonly string[]).includes(name)) {
    fail(`${flag}: unknown namespace ${JSON.stringify(name)} (one of ${NAMESPACE_NAMES.join(', ')})`);
  }
  return name as NamespaceName;
}

/** run's flags for parseArgs; mount flags (several values, order kept) are in MOUNT_FLAGS. */
const RUN_FLAGS = {
  config: { type: 'string' },
  bundle: { type: 'string' },
  share: { type: 'string', multiple: true },
  new: { type: 'string', multiple: true },
  join: { type: 'string', multiple: true },
  'uid-map': { type: 'string', multiple: true },
  'gid-map': { type: 'string', multiple: true },
  uid: { type: 'string' },
  gid: { type: 'string' },
  hostname: { type: 'string' },
  'no-init': { type: 'boolean' },
  env: { type: 'string', multiple: true },
  'inherit-env': { type: 'boolean' },
  cwd: { type: 'string' },
  argv0: { type: 'string' },
  timeout: { type: 'string' },
  'kill-signal': { type: 'string' },
  'no-die-with-parent': { type: 'boolean' },
  'no-new-session': { type: 'boolean' },
  'allow-host-credentials': { type: 'boolean' },
  cap: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
  'allow-new-privileges': { type: 'boolean' },
  rlimit: { type: 'string', multiple: true },
  'kernel-counter': { type: 'string', multiple: true },
  'user-namespace-owner': { type: 'string' },
  umask: { type: 'string' },
  nice: { type: 'string' },
  'oom-score-adj': { type: 'string' },
  'landlock-read': { type: 'string', multiple: true },
  'landlock-write': { type: 'string', multiple: true },
  'landlock-exec': { type: 'string', multiple: true },
  'landlock-bind': { type: 'string', multiple: true },
  'landlock-connect': { type: 'string', multiple: true },
  'landlock-scope': { type: 'string', multiple: true },
  'landlock-required': { type: 'boolean' },
  'no-seccomp': { type: 'boolean' },
  'seccomp-allow': { type: 'string', multiple: true },
  'seccomp-deny': { type: 'string', multiple: true },
  listen: { type: 'string', multiple: true },
  'listen-unix': { type: 'string', multiple: true },
  network: { type: 'string' },
  'bridge-subnet': { type: 'string' },
  'bridge-address': { type: 'string' },
  'bridge-reach': { type: 'string' },
  cgroup: { type: 'boolean' },
  'cgroup-parent': { type: 'string' },
  'memory-max': { type: 'string' },
  'memory-high': { type: 'string' },
  'swap-max': { type: 'string' },
  'cpu-weight': { type: 'string' },
  'cpu-max': { type: 'string' },
  'pids-max': { type: 'string' },
  'io-weight': { type: 'string' },
  'io-max': { type: 'string', multiple: true },
  'cpuset-cpus': { type: 'string' },
  'cpuset-mems': { type: 'string' },
  rootfs: { type: 'string' },
  'rootfs-writable': { type: 'boolean' },
  layer: { type: 'string', multiple: true },
  upper: { type: 'string' },
  'upper-size': { type: 'string' },
  'tmp-size': { type: 'string' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/**
 * Where run's own arguments end: at `--` (dropped), or at the first word
 * that is neither an option nor an option's value, as bwrap and env(1) do,
 * so `cordon run /bin/ls -la` passes -la to ls.
 */
function splitAtCommand(argv: readonly string[]): { flags: string[]; command: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return { flags: argv.slice(0, i), command: argv.slice(i + 1) };
    if (!word.startsWith('-') || word === '-') return { flags: argv.slice(0, i), command: argv.slice(i) };
    if (word.includes('=')) continue;
    const flag = (RUN_FLAGS as Record<string, { type: string } | undefined>)[word.replace(/^--?/, '')];
    const arity = MOUNT_FLAGS[word] ?? (flag?.type === 'string' ? 1 : 0);
    i += arity;
  }
  return { flags: [...argv], command: [] };
}

export function optionsFromArgs(argv: string[]): { options: SpawnIsolatedOptions; command: string[] } {
  const split = splitAtCommand(argv);
  const { mounts, rest: flags } = takeMountFlags(split.flags);
  const { values } = parseArgs({
    args: flags,
    allowPositionals: false,
    strict: true,
    options: RUN_FLAGS,
  });

  // Null-prototype objects throughout (ownSnapshot): a key the config leaves
  // out is undefined here, never a polluted Object.prototype's.
  let options = own<Mutable<SpawnIsolatedOptions>>(undefined);
  if (values.config !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(values.config, 'utf8'));
    } catch (error) {
      fail(`--config ${values.config}: ${(error as Error).message}`);
    }
    if (!isPlainObject(parsed)) fail(`--config ${values.config}: must hold a JSON object of options`);
    options = own<Mutable<SpawnIsolatedOptions>>(parsed);
  }
  // An OCI bundle, or an OCI config.json given to --config (it has an
  // ociVersion): its process is the command unless one is given.
  let ociCommand: string[] = [];
  if (values.bundle !== undefined || (values.config !== undefined && 'ociVersion' in options)) {
    if (values.bundle !== undefined && values.config !== undefined) fail('--bundle and --config exclude each other');
    const hostCredentials = values['allow-host-credentials'] === true;
    let spec: OciRunSpec;
    try {
      spec = values.bundle !== undefined
        ? loadOciBundle(values.bundle, { hostCredentials })
        : fromOciConfig(options, { bundle: path.dirname(values.config!), hostCredentials });
    } catch (error) {
      fail((error as Error).message);
    }
    options = own<Mutable<SpawnIsolatedOptions>>(spec.options);
    ociCommand = [spec.file, ...spec.args];
  }
  const namespaces: Partial<Record<NamespaceName, NamespaceSetting>> = { ...(options.namespaces ?? {}) };
  for (const name of values.share ?? []) namespaces[namespaceName('--share', name)] = 'host';
  for (const name of values.new ?? []) namespaces[namespaceName('--new', name)] = 'new';
  for (const spec of values.join ?? []) {
    const at = spec.indexOf('=');
    if (at < 0) fail(`--join wants NS=PATH, got ${JSON.stringify(spec)}`);
    namespaces[namespaceName('--join', spec.slice(0, at))] = { path: spec.slice(at + 1) };
  }
  if (Object.keys(namespaces).length > 0) options.namespaces = namespaces;
  if (values['uid-map']) options.uidMap = values['uid-map'].map((text) => parseIdMap('--uid-map', text));
  if (values['gid-map']) options.gidMap = values['gid-map'].map((text) => parseIdMap('--gid-map', text));
  if (values.uid !== undefined) options.uid = Number(values.uid);
  if (values.gid !== undefined) options.gid = Number(values.gid);
  if (values.hostname !== undefined) options.hostname = values.hostname;
  if (values['no-init']) options.init = false;
  if (values['inherit-env'] || values.env) {
    const env = own<Record<string, string | undefined>>(values['inherit-env'] ? { ...process.env } : options.env, 'env');
    for (const pair of values.env ?? []) {
      const at = pair.indexOf('=');
      if (at <= 0) fail(`--env wants KEY=VALUE, got ${JSON.stringify(pair)}`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    if (!values['inherit-env'] && options.env === undefined && env.PATH === undefined) {
      env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    }
    options.env = env;
  }
  if (values.cwd !== undefined) options.cwd = values.cwd;
  if (values.argv0 !== undefined) options.argv0 = values.argv0;
  if (values.timeout !== undefined) options.timeout = Number(values.timeout);
  if (values['kill-signal'] !== undefined) {
    const signal = values['kill-signal'];
    options.killSignal = /^\d+$/.test(signal) ? Number(signal) : (signal as NodeJS.Signals);
  }
  if (values['no-die-with-parent']) options.dieWithParent = false;
  if (values['no-new-session']) options.newSession = false;
  if (values['allow-host-credentials']) options.allowHostCredentials = true;
  credentialsFromFlags(values, options);
  seccompAndSocketsFromFlags(values, options);
  networkFromFlags(values, options);
  const cgroup = cgroupFromFlags(values, options.cgroup);
  if (cgroup !== undefined) options.cgroup = cgroup;
  if (values['cgroup-parent'] !== undefined) options.cgroupParent = values['cgroup-parent'];
  const rootfs = rootfsFromFlags(values);
  if (rootfs !== undefined) options.rootfs = rootfs;
  if (values['tmp-size'] !== undefined) options.tmpSize = Number(values['tmp-size']);
  if (mounts.length > 0) options.mounts = [...(options.mounts ?? []), ...mounts];
  options.stdio = 'inherit';
  return { options, command: split.command.length > 0 ? split.command : ociCommand };
}

function credentialsFromFlags(values: Record<string, string | string[] | boolean | undefined>, options: Mutable<SpawnIsolatedOptions>): void {
  const list = (key: string): string[] => (values[key] as string[] | undefined) ?? [];
  const text = (key: string): string | undefined => values[key] as string | undefined;
  if (list('cap').length > 0) options.capabilities = list('cap') as CapabilityName[];
  if (list('group').length > 0) options.groups = list('group').map(Number);
  if (values['allow-new-privileges'] === true) options.allowNewPrivileges = true;
  if (list('rlimit').length > 0) {
    const rlimits = own<Record<string, RlimitValue>>(options.rlimits, 'rlimits');
    for (const spec of list('rlimit')) {
      const [name, value] = spec.split('=');
      if (name === undefined || value === undefined) fail(`--rlimit wants NAME=SOFT[:HARD], got ${JSON.stringify(spec)}`);
      const parse = (v: string): number | 'unlimited' => (v === 'unlimited' ? 'unlimited' : Number(v));
      const [soft = '', hard] = value.split(':');
      rlimits[name] = hard === undefined ? parse(soft) : { soft: parse(soft), hard: parse(hard) };
    }
    options.rlimits = rlimits;
  }
  if (list('kernel-counter').length > 0) {
    const counters: Record<string, KernelCounterLimit> = { ...(options.kernelCounters ?? {}) };
    for (const spec of list('kernel-counter')) {
      const [name, value] = spec.split('=');
      if (name === undefined || value === undefined) fail(`--kernel-counter wants NAME=N, got ${JSON.stringify(spec)}`);
      counters[name] = value === 'unlimited' ? 'unlimited' : Number(value);
    }
    options.kernelCounters = counters;
  }
  if (text('user-namespace-owner') !== undefined) options.userNamespaceOwner = text('user-namespace-owner') as 'caller' | 'box';
  if (text('umask') !== undefined) options.umask = Number.parseInt(text('umask')!, 8);
  if (text('nice') !== undefined) options.nice = Number(text('nice'));
  if (text('oom-score-adj') !== undefined) options.oomScoreAdj = Number(text('oom-score-adj'));
  const paths = [
    ...list('landlock-read').map((path) => ({ path, access: ['read'] as LandlockAccess[] })),
    ...list('landlock-write').map((path) => ({ path, access: ['read', 'write'] as LandlockAccess[] })),
    ...list('landlock-exec').map((path) => ({ path, access: ['read', 'execute'] as LandlockAccess[] })),
  ];
  const bind = list('landlock-bind').map(Number);
  const connect = list('landlock-connect').map(Number);
  const scopes = list('landlock-scope') as LandlockScope[];
  if (paths.length + bind.length + connect.length + scopes.length > 0 || values['landlock-required'] === true) {
    options.landlock = {
      ...(options.landlock ?? {}),
      ...(paths.length > 0 ? { paths: [...(options.landlock?.paths ?? []), ...paths] } : {}),
      ...(bind.length > 0 ? { bindTcp: bind } : {}),
      ...(connect.length > 0 ? { connectTcp: connect } : {}),
      ...(scopes.length > 0 ? { scopes } : {}),
      ...(values['landlock-required'] === true ? { mode: 'required' as const } : {}),
    };
  }
}

function networkFromFlags(values: Record<string, string | string[] | boolean | undefined>, options: Mutable<SpawnIsolatedOptions>): void {
  const mode = values.network as string | undefined;
  const match = mode === undefined ? null : /^bridge(?::(.+))?$/.exec(mode);
  if (mode !== undefined && mode !== 'none' && mode !== 'host' && match === null) {
    fail(`--network wants none, host, bridge or bridge:NAME, got ${JSON.stringify(mode)}`);
  }
  const bridgeFlag = (['bridge-subnet', 'bridge-address', 'bridge-reach'] as const).find((key) => values[key] !== undefined);
  if (match === null && bridgeFlag !== undefined) fail(`--${bridgeFlag} needs --network bridge`);
  if (match === null) {
    if (mode === 'none' || mode === 'host') options.network = mode;
    return;
  }
  const base = typeof options.network === 'object' && options.network !== null && !('path' in options.network) && !('fd' in options.network) ? options.network : {};
  options.network = {
    ...base,
    ...(match[1] === undefined ? {} : { bridge: match[1] }),
    ...(values['bridge-subnet'] === undefined ? {} : { subnet: values['bridge-subnet'] as string }),
    ...(values['bridge-address'] === undefined ? {} : { address: values['bridge-address'] as string }),
    ...(values['bridge-reach'] === undefined ? {} : { reach: values['bridge-reach'] as 'gateway' | 'any' }),
  };
}

function seccompAndSocketsFromFlags(values: Record<string, string | string[] | boolean | undefined>, options: Mutable<SpawnIsolatedOptions>): void {
  const list = (key: string): string[] => (values[key] as string[] | undefined) ?? [];
  if (values['no-seccomp'] === true) options.seccomp = false;
  if (list('seccomp-allow').length > 0 || list('seccomp-deny').length > 0) {
    const base = own<Exclude<SpawnIsolatedOptions['seccomp'], false | undefined>>(options.seccomp === false ? undefined : options.seccomp, 'seccomp');
    const deny = list('seccomp-deny').map((spec) => {
      const [syscall = '', action] = spec.split('=');
      if (action === undefined) return syscall;
      if (['kill', 'kill-process', 'log', 'trap', 'allow'].includes(action)) return { syscall, action: action as SeccompAction };
      return { syscall, action: { errno: /^\d+$/.test(action) ? Number(action) : (action as 'EPERM') } };
    });
    options.seccomp = {
      ...base,
      ...(list('seccomp-allow').length > 0 ? { allow: [...(base.allow ?? []), ...list('seccomp-allow')] } : {}),
      ...(deny.length > 0 ? { deny: [...(base.deny ?? []), ...deny] } : {}),
    };
  }
  const listen: ListenEntry[] = [];
  for (const spec of list('listen')) {
    const at = spec.lastIndexOf(':');
    const host = at < 0 ? undefined : spec.slice(0, at).replace(/^\[|\]$/g, '');
    listen.push(host === undefined ? { port: Number(spec) } : { port: Number(spec.slice(at + 1)), host });
  }
  for (const socketPath of list('listen-unix')) listen.push({ path: socketPath });
  if (listen.length > 0) options.listen = [...(options.listen ?? []), ...listen];
}

function size(flag: string, text: string): number | 'max' {
  if (text === 'max') return 'max';
  const match = /^(\d+)([KMG]?)$/i.exec(text);
  if (match === null) fail(`${flag} wants a size like 512M or max, got ${JSON.stringify(text)}`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(match[1]) * unit;
}

function cgroupFromFlags(values: Record<string, string | string[] | boolean | undefined>, base: CgroupLimits | undefined): CgroupLimits | undefined {
  const text = (key: string): string | undefined => values[key] as string | undefined;
  // A --config cgroup that is no object is left for validation to name.
  if (base !== undefined && !isPlainObject(base)) return base;
  const limits = own<CgroupLimits>(base, 'cgroup');
  let any = values.cgroup === true || base !== undefined;
  for (const [flag, key] of [['memory-max', 'max'], ['memory-high', 'high'], ['swap-max', 'swapMax']] as const) {
    const value = text(flag);
    if (value !== undefined) {
      const memory = own<NonNullable<CgroupLimits['memory']>>(limits.memory, 'cgroup.memory');
      memory[key] = size(`--${flag}`, value);
      limits.memory = memory;
      any = true;
    }
  }
  if (text('cpu-weight') !== undefined) {
    limits.cpu = own({ ...limits.cpu, weight: Number(text('cpu-weight')) });
    any = true;
  }
  if (text('cpu-max') !== undefined) {
    const [quota = '', period] = text('cpu-max')!.split('/');
    limits.cpu = own({ ...limits.cpu, max: { quota: quota === 'max' ? 'max' : Number(quota), ...(period === undefined ? {} : { period: Number(period) }) } });
    any = true;
  }
  if (text('pids-max') !== undefined) {
    limits.pids = { max: text('pids-max') === 'max' ? 'max' : Number(text('pids-max')) };
    any = true;
  }
  if (text('io-weight') !== undefined) {
    limits.io = own({ ...limits.io, weight: Number(text('io-weight')) });
    any = true;
  }
  for (const spec of (values['io-max'] as string[] | undefined) ?? []) {
    const [major, minor, rest] = spec.split(':');
    if (major === undefined || minor === undefined || rest === undefined) fail(`--io-max wants MAJ:MIN:KEY=N, got ${JSON.stringify(spec)}`);
    const device: IoDeviceLimit = { major: Number(major), minor: Number(minor) };
    const keys = { rbps: 'readBps', wbps: 'writeBps', riops: 'readIops', wiops: 'writeIops' } as const;
    for (const pair of rest.split(',')) {
      const [key, value] = pair.split('=');
      const field = key !== undefined && Object.hasOwn(keys, key) ? keys[key as keyof typeof keys] : undefined;
      if (field === undefined || value === undefined) fail(`--io-max: unknown ${JSON.stringify(pair)} (rbps, wbps, riops, wiops)`);
      device[field] = value === 'max' ? 'max' : Number(value);
    }
    limits.io = own({ ...limits.io, devices: [...(limits.io?.devices ?? []), device] });
    any = true;
  }
  if (text('cpuset-cpus') !== undefined || text('cpuset-mems') !== undefined) {
    limits.cpuset = own({ ...limits.cpuset, ...(text('cpuset-cpus') === undefined ? {} : { cpus: text('cpuset-cpus')! }), ...(text('cpuset-mems') === undefined ? {} : { mems: text('cpuset-mems')! }) });
    any = true;
  }
  if (values['cgroup-parent'] !== undefined) any = true;
  return any ? limits : undefined;
}

function rootfsFromFlags(values: {
  rootfs?: string | undefined;
  'rootfs-writable'?: boolean | undefined;
  layer?: string[] | undefined;
  upper?: string | undefined;
  'upper-size'?: string | undefined;
}): RootfsOption | undefined {
  if (values.rootfs !== undefined && values.layer !== undefined) fail('--rootfs and --layer exclude each other');
  if (values.rootfs !== undefined) return { dir: values.rootfs, writable: values['rootfs-writable'] === true };
  if (values.layer === undefined) {
    if (values.upper !== undefined) fail('--upper needs --layer');
    return undefined;
  }
  const upper = values.upper ?? 'tmpfs';
  const rootfs = { layers: values.layer, upper: upper === 'tmpfs' ? ('tmpfs' as const) : { dir: upper } };
  return values['upper-size'] === undefined ? rootfs : { ...rootfs, upperSize: Number(values['upper-size']) };
}

// Mount flags keep their command-line order and some take two values
// (--bind SRC DST), which parseArgs cannot express: take them out first.
const MOUNT_FLAGS: Record<string, number> = {
  '--ro-bind': 2, '--bind': 2, '--ro-bind-follow': 2, '--bind-follow': 2, '--idmap-bind': 3, '--tmpfs': 1, '--proc': 1, '--symlink': 2, '--file': 2, '--remount-ro': 1, '--mask': 1,
};

function takeMountFlags(flags: string[]): { mounts: MountEntry[]; rest: string[] } {
  const mounts: MountEntry[] = [];
  const rest: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    const arity = MOUNT_FLAGS[flag];
    if (arity === undefined) {
      rest.push(flag);
      continue;
    }
    const args = flags.slice(i + 1, i + 1 + arity);
    if (args.length < arity) fail(`${flag} needs ${arity} argument${arity > 1 ? 's' : ''}`);
    i += arity;
    const [a = '', b = ''] = args;
    switch (flag) {
      case '--ro-bind':
        mounts.push({ type: 'bind', source: a, target: b });
        break;
      case '--bind':
        mounts.push({ type: 'bind', source: a, target: b, readonly: false });
        break;
      case '--ro-bind-follow':
        mounts.push({ type: 'bind', source: a, target: b, followSymlinks: true });
        break;
      case '--bind-follow':
        mounts.push({ type: 'bind', source: a, target: b, readonly: false, followSymlinks: true });
        break;
      case '--idmap-bind': {
        const [uid, gid] = (args[2] ?? '').split(':').map(Number);
        if (!Number.isInteger(uid) || !Number.isInteger(gid)) fail(`--idmap-bind wants SRC DST UID:GID, got ${JSON.stringify(args[2])}`);
        mounts.push({ type: 'bind', source: a, target: b, readonly: false, idmap: { uid: uid!, gid: gid! } });
        break;
      }
      case '--tmpfs':
        mounts.push({ type: 'tmpfs', target: a });
        break;
      case '--proc':
        mounts.push({ type: 'proc', target: a });
        break;
      case '--symlink':
        mounts.push({ type: 'symlink', linkTo: a, target: b });
        break;
      case '--file':
        mounts.push({ type: 'file', target: a, content: b });
        break;
      case '--remount-ro':
        mounts.push({ type: 'remount-ro', target: a });
        break;
      case '--mask':
        mounts.push({ type: 'mask', target: a });
        break;
    }
  }
  return { mounts, rest };
}

async function run(argv: string[]): Promise<number> {
  const { flags } = splitAtCommand(argv);
  if (flags.includes('--help') || flags.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let parsed: ReturnType<typeof optionsFromArgs>;
  try {
    parsed = optionsFromArgs(argv);
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  const [file, ...args] = parsed.command;
  if (file === undefined) fail(`run needs a command (cordon run [options] [--] CMD [ARGS...]); see cordon --help`);
  const box = spawnIsolated(file, args, parsed.options);
  box.on('error', () => undefined); // reported through box.exited below
  if (box.network !== undefined) {
    const n = box.network;
    process.stderr.write(`cordon: network ${n.bridge} ${n.address}/${n.prefix} via ${n.gateway} (reach ${n.reach})\n`);
  }
  // Signals to the CLI go to the box; its exit decides ours.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) {
    process.on(signal, () => box.kill(signal));
  }
  try {
    const result = await box.exited;
    if (result.signal !== null) return 128 + ((os.constants.signals as Record<string, number>)[result.signal] ?? 0);
    return result.code ?? 1;
  } catch (error) {
    const failure = error as CordonError;
    process.stderr.write(`cordon: ${failure.message}\n`);
    return failure.code === 'ENOENT' && failure.step === 'execve' ? 127 : failure.step === 'execve' ? 126 : 125;
  }
}

function printProbe(json: boolean): void {
  const report = probe();
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const line = (name: string, ok: boolean, detail = ''): void => {
    process.stdout.write(`${ok ? 'yes' : 'no '}  ${name}${detail ? `  (${detail})` : ''}\n`);
  };
  process.stdout.write(`cordon probe: linux ${report.kernel} ${report.arch}, ${report.root ? 'root' : 'unprivileged'}\n`);
  line('user namespaces', report.userNamespaces.available, report.userNamespaces.reason);
  for (const name of NAMESPACE_NAMES) {
    if (name === 'user') continue;
    const ns = report.namespaces[name];
    line(`${name} namespace`, ns.available, ns.reason);
  }
  line(`clone ladder rung: ${report.clone.rung}`, report.clone.rung !== 'none');
  line('clone3', report.clone.clone3.available, report.clone.clone3.reason);
  line('CLONE_CLEAR_SIGHAND', report.clone.clearSighand.available, report.clone.clearSighand.reason);
  line('CLONE_INTO_CGROUP', report.clone.intoCgroup.available, report.clone.intoCgroup.reason);
  line('pidfd', report.clone.pidfd.available, report.clone.pidfd.reason);
  const cgroup = report.cgroup;
  line(`cgroups: ${cgroup.mode}`, cgroup.mode !== 'none',
    `v2 controllers: ${cgroup.v2Controllers.join(' ') || 'none'}; writable: ${cgroup.writableControllers.join(' ') || 'none'}`);
  line('overlayfs in a user namespace', report.overlayInUserNamespace.available, report.overlayInUserNamespace.reason);
  line('new mount API', report.mountApi.available, report.mountApi.reason);
  line('idmapped mounts', report.idmappedMounts.available, report.idmappedMounts.reason);
  line(`landlock (ABI ${report.landlock.abi})`, report.landlock.available, report.landlock.reason);
  const ranges = report.idRanges;
  // Root writes any id map itself; only an unprivileged caller needs ranges.
  if (report.root) line('subordinate id ranges', true, 'not needed: root maps any ids');
  else {
    line('subordinate id ranges', ranges.uid.length > 0 && ranges.helpers,
      `uid ${ranges.uid.map((r) => `${r.start}+${r.count}`).join(' ') || 'none'}, gid ${ranges.gid.map((r) => `${r.start}+${r.count}`).join(' ') || 'none'}${ranges.helpers ? '' : '; newuidmap/newgidmap missing'}`);
  }
  line('seccomp filters', report.seccomp.available, report.seccomp.reason ?? report.seccomp.actions.join(' '));
  const counters = report.kernelCounters;
  line('per-box kernel counter limits', counters.available, counters.reason ??
    `inotify instances ${counters.boxDefaults.inotifyInstances ?? '-'} of ${counters.caller.inotifyInstances ?? '-'} per box; ` +
    `${counters.boxesThatFit ?? '-'} boxes at their full share leave the caller one`);
  line("userNamespaceOwner 'box'", counters.namespaceOwner.available, counters.namespaceOwner.reason);
  line('init from a sealed copy', report.init.sealed.available, report.init.sealed.reason);
  line('bridge networking', report.network.bridge.available, report.network.bridge.reason);
  line("namespace pool 'net'", report.network.pool.net.available, report.network.pool.net.reason);
  line("namespace pool 'user+net'", report.network.pool.userNet.available, report.network.pool.userNet.reason);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      process.exitCode = await run(rest);
      return;
    case 'probe':
      printProbe(rest.includes('--json'));
      return;
    case 'oci':
      process.exitCode = await ociMain(rest);
      return;
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

if (require.main === module) {
  // One message and exit 125 for whatever escapes, never a stack trace
  // (CORDON_DEBUG=1 adds it, for a bug report).
  main(process.argv.slice(2)).catch((error: unknown) => {
    if (error instanceof CordonOptionError || error instanceof CordonError) fail(error.message);
    const message = error instanceof Error ? error.message : String(error);
    if (process.env.CORDON_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    fail(`${message} (an unexpected failure: please report it with CORDON_DEBUG=1 set)`);
  });
}
