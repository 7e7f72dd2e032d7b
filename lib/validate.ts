// Options → ValidatedOptions. Rejects bad input before anything is created,
// with one message shape and the option's dotted name.
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Stream } from 'node:stream';

import { CordonError, CordonOptionError } from './errors';
import {
  checkAbsolutePath,
  checkBoolean,
  checkInteger,
  checkString,
  conflict,
  invalidType,
  invalidValue,
  isPlainObject,
  ownSnapshot,
  rejectUnknownKeys,
} from './internal/checks';
import { MAX_STEPS } from './internal/plan-abi';
import type {
  IdMapEntry,
  NamespaceName,
  NamespaceSetting,
  SpawnIsolatedOptions,
  StdioEntry,
} from './options';
import type { MountEntry } from './options';
import { DEFAULT_TMP_SIZE, filesystemSteps, validateMounts, validateRootfs, type ResolvedRootfs } from './filesystem';
import type { CgroupLimits } from './cgroups/limits';
import { validateCgroupParent } from './cgroups/parent';
import { validateCgroupOption, type TenantCgroup } from './cgroups/tenant';
import { validateCredentials, type ResolvedCredentials } from './credentials';
import { validateSysctl } from './sysctl';
import { validateKernelCounters, validateNamespaceOwner, type KernelCounterLimits } from './kernel-counters';
import { validateLandlock, type ResolvedLandlock } from './landlock';
import { listenVariables, validateListen, type ResolvedListen } from './sockets';
import { quotaRefusal } from './quota';
import { bridgeRefusal, validateBridge, type ResolvedBridge } from './bridge';
import { validateSeccomp, type NormalizedSeccompPolicy } from './seccomp';
import { validateNetnsPool, type NamespacePool } from './pool';
import { checkIdMap, MAX_ID } from './identity';
import { validateTty, type TtySize } from './pty';
import { checkNamespace, validateNamespaces, type ResolvedNamespace } from './namespaces';

export type { ResolvedNamespace } from './namespaces';

export type ResolvedStdio =
  | { kind: 'pipe' }
  | { kind: 'inherit' }
  | { kind: 'ignore' }
  | { kind: 'fd'; fd: number }
  | { kind: 'stream'; fd: number; stream: Stream }
  | { kind: 'file'; path: string; mode: number };

export interface ValidatedOptions {
  file: string;
  args: string[];
  namespaces: Record<NamespaceName, ResolvedNamespace>;
  uidMap: IdMapEntry[] | undefined;
  gidMap: IdMapEntry[] | undefined;
  uid: number;
  gid: number;
  allowHostCredentials: boolean;
  hostname: string | undefined;
  init: boolean;
  env: Record<string, string>;
  cwd: string;
  argv0: string;
  /** Box fds from 0 up; empty with a terminal (tty), which is fds 0-2. */
  stdio: ResolvedStdio[];
  /** The box's terminal and its first size, or undefined without one. */
  tty: TtySize | undefined;
  /** The start gate's fd (of this process), or undefined. */
  startGate: number | undefined;
  /** What 'pipe' entries for fds 0-2 are. */
  stdioPipes: 'socketpair' | 'pipe';
  timeout: number | undefined;
  killSignal: number;
  killSignalName: string;
  signal: AbortSignal | undefined;
  dieWithParent: boolean;
  newSession: boolean;
  rootfs: ResolvedRootfs;
  mounts: MountEntry[];
  tmpSize: number;
  cgroup: CgroupLimits | undefined;
  /** The tenant cgroup the box joins (its own leaf under it), from `cgroup: tenant` or `cgroup: { tenant }`. */
  cgroupTenant: TenantCgroup | undefined;
  cgroupParent: string | undefined;
  credentials: ResolvedCredentials;
  /** Limits for the box's user namespace's /proc/sys/user, as given (defaults are added in the plan). */
  kernelCounters: KernelCounterLimits | undefined;
  /** Namespaced kernel parameters to write in the box's own namespaces, or undefined. */
  sysctl: Record<string, string> | undefined;
  /** The host uid to own the box's new user namespace instead of the caller (a root caller's 'box'), or undefined. */
  namespaceOwner: number | undefined;
  landlock: ResolvedLandlock | undefined;
  listen: ResolvedListen[];
  seccomp: NormalizedSeccompPolicy | undefined;
  /** Set for `network: 'bridge'` (namespaces.net is then 'new'). */
  bridge: ResolvedBridge | undefined;
  /** The pool the box's network namespace (and, for 'user+net', user namespace) comes from. */
  netnsPool: NamespacePool | undefined;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_HOSTNAME = 'cordon';
/** execve's limit on argv and envp together, pointers included: 3/4 of _STK_LIM (less with a smaller stack rlimit). */
const MAX_EXEC_BYTES = 6 * 1024 * 1024;
/** execve's MAX_ARG_STRLEN: one argument or variable, its NUL included (32 pages). */
const MAX_EXEC_STRING = 32 * 4096;
/**
 * A bound on the plan steps a box takes besides its filesystem's and one
 * per fd (buildPlan: clone, maps, cgroup attaches, joins, ids, limits,
 * rlimits, exec, ...; about 60 at most today), with room to grow.
 */
const PLAN_STEPS_BESIDES_FILESYSTEM = 128;
/** A bound on the steps of the filesystem without mounts (the root, /proc, /dev, /tmp; about 40 today). */
const BASE_FILESYSTEM_STEPS = 128;

const OPTION_KEYS: ReadonlyArray<keyof SpawnIsolatedOptions> = [
  'namespaces', 'uidMap', 'gidMap', 'uid', 'gid', 'allowHostCredentials', 'hostname', 'init', 'env', 'cwd',
  'argv0', 'stdio', 'stdioPipes', 'timeout', 'killSignal', 'signal', 'dieWithParent', 'newSession', 'tty', 'startGate', 'rootfs', 'mounts', 'tmpSize', 'cgroup', 'cgroupParent', 'groups', 'capabilities', 'allowNewPrivileges',
  'rlimits', 'umask', 'nice', 'oomScoreAdj', 'kernelCounters', 'sysctl', 'userNamespaceOwner', 'landlock', 'listen', 'seccomp', 'network', 'netnsPool',
  // child_process options with the same meaning here: `shell` (only false:
  // cordon runs no shell) and `windowsHide` (ignored on Linux, as by Node).
  'shell', 'windowsHide',
];

/** A `file:` URL as a path, as child_process takes one for `cwd`; anything else as it is. */
function pathOfUrl(option: string, value: unknown): unknown {
  if (!(value instanceof URL)) return value;
  try {
    return fileURLToPath(value);
  } catch (error) {
    throw invalidValue(option, value.href, `must be a file: URL (${(error as Error).message})`);
  }
}

function inMap(map: readonly IdMapEntry[], id: number): boolean {
  return map.some((entry) => id >= entry.inside && id < entry.inside + entry.count);
}

export function checkEnv(value: unknown): Record<string, string> {
  if (value === undefined) return { PATH: DEFAULT_PATH };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidType('env', 'an object of strings', value);
  }
  // No prototype: a variable named __proto__ is a variable like any other.
  const env = Object.create(null) as Record<string, string>;
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (entry === undefined) continue;
    const option = `env.${key}`;
    if (key.length === 0 || key.includes('=') || key.includes('\0')) {
      throw invalidValue(option, key, 'is not a valid variable name (empty, or contains "=" or a null byte)');
    }
    env[key] = checkString(option, entry, { allowEmpty: true });
  }
  return env;
}

/** The fd behind a stream now (undefined: closed, or not opened yet). */
export function streamFd(stream: Stream): number | undefined {
  const candidate = stream as unknown as { fd?: unknown; _handle?: { fd?: unknown } | null };
  if (typeof candidate.fd === 'number' && candidate.fd >= 0) return candidate.fd;
  const handleFd = candidate._handle?.fd;
  if (typeof handleFd === 'number' && handleFd >= 0) return handleFd;
  return undefined;
}

function checkStdioEntry(index: number, entry: StdioEntry | unknown): ResolvedStdio {
  const option = `stdio[${index}]`;
  if (entry === null || entry === undefined) return index <= 2 ? { kind: 'pipe' } : { kind: 'ignore' };
  if (entry === 'pipe' || entry === 'inherit' || entry === 'ignore') return { kind: entry };
  if (typeof entry === 'number') return { kind: 'fd', fd: checkInteger(option, entry, 0, 0x7fffffff) };
  if (entry instanceof Stream) {
    const fd = streamFd(entry);
    if (fd === undefined) throw invalidValue(option, 'stream', 'is a stream without an underlying fd (open it first)');
    return { kind: 'stream', fd, stream: entry };
  }
  if (entry === 'ipc' || entry === 'overlapped') throw invalidValue(option, entry, 'is not supported by cordon');
  if (isPlainObject(entry) && 'file' in entry) {
    rejectUnknownKeys(entry, ['file', 'mode'], option);
    const filePath = checkAbsolutePath(`${option}.file`, entry.file);
    if (filePath.endsWith('/')) throw invalidValue(`${option}.file`, filePath, 'must name a file, not a directory');
    if (index === 0) throw invalidValue(option, '{ file }', 'is for output: a log file can be fd 1 and up, not stdin');
    return { kind: 'file', path: filePath, mode: entry.mode === undefined ? 0o620 : checkInteger(`${option}.mode`, entry.mode, 0, 0o777) };
  }
  throw invalidType(option, `'pipe', 'inherit', 'ignore', an fd, a stream, { file }, null or undefined`, entry);
}

function checkStdio(value: unknown): ResolvedStdio[] {
  if (value === undefined) value = 'pipe';
  if (value === 'pipe' || value === 'inherit' || value === 'ignore') value = [value, value, value];
  if (!Array.isArray(value)) throw invalidType('stdio', `'pipe', 'inherit', 'ignore' or an array`, value);
  if (value.length > 256) throw invalidValue('stdio', value.length, 'may have at most 256 entries');
  const entries = [...value];
  while (entries.length < 3) entries.push(undefined);
  return entries.map((entry: unknown, i) => checkStdioEntry(i, entry));
}

export function checkSignal(option: string, value: unknown): { number: number; name: string } {
  const signals = os.constants.signals as Record<string, number>;
  if (typeof value === 'string') {
    const number = Object.hasOwn(signals, value) ? signals[value] : undefined;
    if (number === undefined) throw invalidValue(option, value, 'is not a known signal name');
    return { number, name: value };
  }
  if (typeof value === 'number') {
    const name = Object.keys(signals).find((key) => signals[key] === value);
    if (name === undefined || !Number.isInteger(value)) throw invalidValue(option, value, 'is not a known signal number');
    return { number: value, name };
  }
  throw invalidType(option, 'a signal name or number', value);
}

export function checkArgs(file: unknown, args: unknown): { file: string; args: string[] } {
  const checkedFile = checkString('file', pathOfUrl('file', file));
  if (args === undefined) return { file: checkedFile, args: [] };
  args = ownSnapshot(args, 'args');
  if (!Array.isArray(args)) throw invalidType('args', 'an array of strings', args);
  return { file: checkedFile, args: args.map((arg: unknown, i) => checkString(`args[${i}]`, arg, { allowEmpty: true })) };
}

/** The effective euid of this process; a function so tests can reason about both cases. */
export function callerIsRoot(): boolean {
  return typeof process.geteuid === 'function' && process.geteuid() === 0;
}

export function validateOptions(file: unknown, args: unknown, options: unknown): ValidatedOptions {
  const checked = checkArgs(file, args);
  if (options === undefined) options = {};
  options = ownSnapshot(options, '');
  if (!isPlainObject(options)) throw invalidType('options', 'an object', options);
  rejectUnknownKeys(options, OPTION_KEYS, '');
  const o = options as SpawnIsolatedOptions & Record<string, unknown>;
  if (o.shell !== undefined && o.shell !== false) {
    throw invalidValue('shell', o.shell, "is not supported: cordon runs the file itself, with no shell; for a command line use spawnIsolated('/bin/sh', ['-c', command])");
  }
  if (o.windowsHide !== undefined) checkBoolean('windowsHide', o.windowsHide);

  const namespaces = validateNamespaces(o.namespaces);
  let bridge: ResolvedBridge | undefined;
  if (o.network !== undefined) {
    if (o.namespaces?.net !== undefined) throw conflict('network', 'give network or namespaces.net, not both');
    const network = o.network;
    if (network === 'none') namespaces.net = { kind: 'new' };
    else if (network === 'host') namespaces.net = { kind: 'host' };
    else if (isPlainObject(network) && ('path' in network || 'fd' in network)) namespaces.net = checkNamespace('net', network as NamespaceSetting, 'network');
    else {
      bridge = validateBridge('network', network);
      namespaces.net = { kind: 'new' };
    }
  }
  const user = namespaces.user.kind;

  const uidMap = o.uidMap === undefined ? undefined : checkIdMap('uidMap', o.uidMap);
  const gidMap = o.gidMap === undefined ? undefined : checkIdMap('gidMap', o.gidMap);
  if ((uidMap || gidMap) && user !== 'new') {
    throw conflict(uidMap ? 'uidMap' : 'gidMap', 'uidMap and gidMap need namespaces.user to be \'new\'');
  }
  const uid = o.uid === undefined ? 0 : checkInteger('uid', o.uid, 0, MAX_ID);
  const gid = o.gid === undefined ? 0 : checkInteger('gid', o.gid, 0, MAX_ID);
  if (user === 'host' && (o.uid !== undefined || o.gid !== undefined) && !callerIsRoot()) {
    throw conflict(
      o.uid !== undefined ? 'uid' : 'gid',
      'without a user namespace only a root caller can run the box under another uid or gid',
    );
  }
  if (uidMap && !inMap(uidMap, uid)) throw conflict('uid', `uid ${uid} is not mapped by uidMap`);
  if (gidMap && !inMap(gidMap, gid)) throw conflict('gid', `gid ${gid} is not mapped by gidMap`);
  if (!uidMap && user === 'new' && uid !== 0) throw conflict('uid', `uid ${uid} is not mapped; give uidMap`);
  if (!gidMap && user === 'new' && gid !== 0) throw conflict('gid', `gid ${gid} is not mapped; give gidMap`);

  const allowHostCredentials =
    o.allowHostCredentials === undefined ? false : checkBoolean('allowHostCredentials', o.allowHostCredentials);
  if (user === 'host' && callerIsRoot() && uid === 0 && !allowHostCredentials) {
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      'namespaces.user',
      'The "namespaces.user" option is \'host\' while the caller is root, so the box would run as real root. ' +
        'Use a new user namespace, give a host uid (and gid) to run it as, or pass allowHostCredentials: true to allow it',
    );
  }

  let hostname: string | undefined;
  if (o.hostname !== undefined) {
    hostname = checkString('hostname', o.hostname);
    if (Buffer.byteLength(hostname) > 64) throw invalidValue('hostname', hostname, 'must be at most 64 bytes');
    if (namespaces.uts.kind !== 'new') throw conflict('hostname', 'hostname needs namespaces.uts to be \'new\'');
  } else if (namespaces.uts.kind === 'new') {
    hostname = DEFAULT_HOSTNAME;
  }

  const pidKind = namespaces.pid.kind;
  let init = pidKind !== 'host';
  if (o.init !== undefined) {
    init = checkBoolean('init', o.init);
    if (init && pidKind === 'host') throw conflict('init', 'init needs a new or joined pid namespace');
    if (!init && (pidKind === 'path' || pidKind === 'fd')) {
      throw conflict('init', 'joining a pid namespace needs the init: only children of the joining process enter it');
    }
  }
  const userJoined = user === 'path' || user === 'fd';
  if (bridge !== undefined && o.netnsPool !== undefined) {
    throw conflict('netnsPool', "a bridge box's veth goes into the namespace the box is cloned with, not a pooled one: use one or the other");
  }
  if (bridge !== undefined && userJoined) {
    throw conflict('network', "a bridge needs the box's network namespace at clone, which a joined user namespace rules out (it is made after the join)");
  }
  if (bridge !== undefined) {
    const refusal = bridgeRefusal();
    if (refusal !== undefined) throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `network: ${refusal} (probe().network.bridge)`, { step: 'validate', path: bridge.bridge });
  }

  const env = checkEnv(o.env);
  const cwd = o.cwd === undefined ? '/' : checkAbsolutePath('cwd', pathOfUrl('cwd', o.cwd));
  const argv0 = o.argv0 === undefined ? checked.file : checkString('argv0', o.argv0, { allowEmpty: true });
  const tty = validateTty(o.tty, { stdio: o.stdio, newSession: o.newSession });
  const stdio = tty === undefined ? checkStdio(o.stdio) : [];
  if (o.startGate !== undefined && (typeof o.startGate !== 'number' || !Number.isInteger(o.startGate) || o.startGate < 0)) {
    throw invalidValue('startGate', o.startGate, 'must be an open fd (a non-negative integer)');
  }
  const startGate = o.startGate;
  if (startGate !== undefined && !init) {
    throw conflict('startGate', 'the init holds the payload at the start gate: it needs init (and a pid namespace of the box\'s own)');
  }
  if (o.stdioPipes !== undefined && o.stdioPipes !== 'socketpair' && o.stdioPipes !== 'pipe') {
    throw invalidValue('stdioPipes', o.stdioPipes, "must be 'socketpair' or 'pipe'");
  }
  const stdioPipes = o.stdioPipes ?? 'socketpair';

  let timeout: number | undefined;
  if (o.timeout !== undefined) timeout = checkInteger('timeout', o.timeout, 0, 2 ** 31 - 1);
  const killSignal = checkSignal('killSignal', o.killSignal ?? 'SIGTERM');
  let signal: AbortSignal | undefined;
  if (o.signal !== undefined) {
    if (!(o.signal instanceof AbortSignal)) throw invalidType('signal', 'an AbortSignal', o.signal);
    signal = o.signal;
  }
  const dieWithParent = o.dieWithParent === undefined ? true : checkBoolean('dieWithParent', o.dieWithParent);
  const newSession = o.newSession === undefined ? true : checkBoolean('newSession', o.newSession);
  const { limits: cgroup, tenant: cgroupTenant } = validateCgroupOption(o.cgroup);
  const cgroupParent = o.cgroupParent === undefined ? undefined : validateCgroupParent(o.cgroupParent, 'cgroupParent');
  if (cgroupParent !== undefined && cgroupTenant !== undefined) {
    throw conflict('cgroupParent', 'a box in a tenant cgroup is made under the tenant: give cgroupParent to createTenantCgroup() instead');
  }
  if (cgroupParent !== undefined && cgroup === undefined) {
    throw conflict('cgroupParent', 'cgroupParent needs cgroup (the limits, or {} for a cgroup without limits)');
  }
  const credentials = ownSnapshot(validateCredentials(o), '') as ResolvedCredentials;
  if (credentials.groups !== undefined && user === 'new') {
    if (!callerIsRoot()) {
      throw conflict('groups', 'an unprivileged caller\'s box cannot set groups: its user namespace denies setgroups');
    }
    const map = gidMap ?? [{ inside: 0, outside: 0, count: 1 }];
    const unmapped = credentials.groups.find((group) => !inMap(map, group));
    if (unmapped !== undefined) throw conflict('groups', `gid ${unmapped} is not mapped by gidMap`);
  }
  const kernelCounters = validateKernelCounters(o.kernelCounters);
  if (kernelCounters !== undefined && user === 'host') {
    throw conflict('kernelCounters', "kernelCounters limit the box's own user namespace: without one (namespaces.user: 'host') they would be the host's");
  }
  const sysctl = validateSysctl(o.sysctl, namespaces);
  const namespaceOwner = validateNamespaceOwner(o.userNamespaceOwner, { user, uidMap, root: callerIsRoot(), pooled: o.netnsPool !== undefined });
  const landlock = validateLandlock(o.landlock);
  const listen = validateListen(o.listen);
  // fdEnv and fpmAddress name fds 3 and up for servers that do not read LISTEN_FDS.
  Object.assign(env, listenVariables(listen, env));
  // A filter needs no_new_privs to install (the payload has no CAP_SYS_ADMIN
  // left): with new privileges allowed there is no default filter.
  if (o.seccomp !== undefined && o.seccomp !== false && credentials.allowNewPrivileges) {
    throw conflict('seccomp', 'a seccomp filter needs no_new_privs: it cannot be combined with allowNewPrivileges');
  }
  const seccomp = o.seccomp === false || credentials.allowNewPrivileges ? undefined : validateSeccomp(o.seccomp, 'seccomp');
  if (listen.length > 0 && stdio.length > 3) {
    throw conflict('listen', 'listen sockets are fds 3 and up (LISTEN_FDS): stdio may then have only 0, 1 and 2');
  }
  // ownSnapshot: the checks below read optional fields (idmap) of what these return.
  const rootfs = ownSnapshot(validateRootfs(o.rootfs), 'rootfs') as ResolvedRootfs;
  const mounts = ownSnapshot(validateMounts(o.mounts), 'mounts') as MountEntry[];
  if (rootfs.kind === 'layers' && rootfs.upper.kind === 'dir' && rootfs.upper.quota !== undefined) {
    const refusal = quotaRefusal();
    if (refusal !== undefined) throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `rootfs.upper.quota: ${refusal} (probe().diskQuota)`, { step: 'validate', path: rootfs.upper.dir });
  }
  const tmpSize = o.tmpSize === undefined ? DEFAULT_TMP_SIZE : checkInteger('tmpSize', o.tmpSize, 4096, Number.MAX_SAFE_INTEGER);
  if (o.tmpSize !== undefined && namespaces.mount.kind !== 'new') throw conflict('tmpSize', 'tmpSize sizes the box\'s own tmpfs mounts: it needs namespaces.mount to be \'new\'');
  if (namespaces.mount.kind !== 'new' && (rootfs.kind !== 'host' || o.rootfs !== undefined || mounts.length > 0)) {
    throw conflict(o.rootfs !== undefined ? 'rootfs' : 'mounts', 'rootfs and mounts need namespaces.mount to be \'new\'');
  }
  if (rootfs.kind === 'layers' && rootfs.idmapLayers === true && (!callerIsRoot() || user !== 'new')) {
    throw conflict('rootfs.idmapLayers', 'idmapped template layers need a root caller and a new user namespace (mount_setattr with MOUNT_ATTR_IDMAP needs the host\'s CAP_SYS_ADMIN; probe().idmappedMounts)');
  }
  for (const [i, entry] of mounts.entries()) {
    if (entry.type === 'bind' && entry.idmap !== undefined && (!callerIsRoot() || user !== 'new')) {
      throw conflict(`mounts[${i}].idmap`, 'an idmapped mount needs a root caller and a new user namespace');
    }
    // sysfs shows the net namespace of its mounter: the box's own (new, or
    // joined by path or fd: the one it is in anyway) but never the host's.
    // A joined one its user namespace does not own refuses the mount (EPERM).
    if (entry.type === 'sysfs' && namespaces.net.kind === 'host') {
      throw conflict(`mounts[${i}]`, 'sysfs needs a network namespace of the box\'s own (\'new\', or joined by path or fd): it shows the net namespace of its mounter, here the host\'s');
    }
    if (entry.type === 'mqueue' && namespaces.ipc.kind !== 'new') {
      throw conflict(`mounts[${i}]`, 'mqueue needs namespaces.ipc to be \'new\'');
    }
  }

  const netnsPool = o.netnsPool === undefined ? undefined : validateNetnsPool(o.netnsPool, { namespaces, uidMap, gidMap });
  // In a joined user namespace (given, or a 'user+net' pool's) the other
  // namespaces are made by unshare, which moves only later children: a new
  // pid namespace is entered by a clone (plan.ts), and so is a new time
  // namespace then; without either, only the init's children are in it.
  const joinsUser = userJoined || netnsPool?.kind === 'user+net';
  if (joinsUser && namespaces.time.kind === 'new' && pidKind !== 'new' && !init) {
    throw conflict('namespaces.time', 'a new time namespace inside a joined user namespace (or a \'user+net\' pool\'s) needs the init or a new pid namespace');
  }

  checkExecSize(argv0, checked.args, env);
  if (namespaces.mount.kind === 'new') checkPlanSize(rootfs, mounts, stdio.length + listen.length);

  // Nothing the rest of cordon reads can inherit from a polluted prototype.
  return ownSnapshot({
    file: checked.file,
    args: checked.args,
    namespaces,
    uidMap,
    gidMap,
    uid,
    gid,
    allowHostCredentials,
    hostname,
    init,
    env,
    cwd,
    argv0,
    stdio,
    tty,
    startGate,
    stdioPipes,
    timeout,
    killSignal: killSignal.number,
    killSignalName: killSignal.name,
    signal,
    dieWithParent,
    newSession,
    rootfs,
    mounts,
    tmpSize,
    cgroup,
    cgroupTenant,
    cgroupParent,
    credentials,
    kernelCounters,
    sysctl,
    namespaceOwner,
    landlock,
    listen,
    seccomp,
    bridge,
    netnsPool,
  }, '') as ValidatedOptions;
}

// What execve would refuse with E2BIG on any kernel, refused here instead.
export function checkExecSize(argv0: string, args: readonly string[], env: Readonly<Record<string, string>>): void {
  let total = 0;
  const count = (option: string, text: string): void => {
    const bytes = Buffer.byteLength(text) + 1;
    if (bytes > MAX_EXEC_STRING) {
      throw invalidValue(option, `${bytes} bytes`, `is longer than execve takes (${MAX_EXEC_STRING} bytes with its NUL, MAX_ARG_STRLEN)`);
    }
    total += bytes + 8;
  };
  count('argv0', argv0);
  args.forEach((arg, i) => count(`args[${i}]`, arg));
  const argvBytes = total;
  for (const [key, value] of Object.entries(env)) count(`env.${key}`, `${key}=${value}`);
  if (total > MAX_EXEC_BYTES) {
    throw invalidValue(argvBytes > MAX_EXEC_BYTES ? 'args' : 'env', `${total} bytes`,
      `makes argv and envp larger than execve takes (${MAX_EXEC_BYTES} bytes, strings and pointers, on any kernel)`);
  }
}

// A plan has at most MAX_STEPS steps: the filesystem's are counted, the rest bounded.
function checkPlanSize(rootfs: ResolvedRootfs, mounts: readonly MountEntry[], fds: number): void {
  // The common case, counted cheaply: a mount takes at most 2 steps (a file; the first mask too).
  if (BASE_FILESYSTEM_STEPS + 2 * mounts.length <= MAX_STEPS - PLAN_STEPS_BESIDES_FILESYSTEM - fds) return;
  const filesystem = filesystemSteps(rootfs, mounts, { newPid: true, newNet: true, inUserNamespace: true }).length;
  const limit = MAX_STEPS - PLAN_STEPS_BESIDES_FILESYSTEM - fds;
  if (filesystem > limit) {
    throw invalidValue('mounts', mounts.length,
      `makes ${filesystem} filesystem steps; with ${fds} fds a box takes at most ${limit} (a plan has at most ${MAX_STEPS} steps; a file mount takes 2, every other mount 1)`);
  }
}
