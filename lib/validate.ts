// Options → ValidatedOptions. Rejects bad input before anything is created,
// with one message shape and the option's dotted name. Each mechanism module
// validates its own options (and their conflicts with what came before);
// validateOptions is their order, which is also the order of the errors.
import * as os from 'node:os';

import { checkBoolean, checkInteger, conflict, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { OPTION_NAMES, type SpawnIsolatedOptions } from './options';
import { validateFilesystem, type ResolvedFilesystem } from './filesystem';
import { validateBoxCgroupOptions } from './cgroups/tenant';
import { checkGroupsMapped, validateCredentials, validateSession, type ResolvedCredentials } from './credentials';
import { validateProcessLimits } from './limits';
import { validateSysctl } from './sysctl';
import { validateKernelCounters, validateNamespaceOwner, type KernelCounterLimits } from './kernel-counters';
import { validateLandlock, type ResolvedLandlock } from './landlock';
import { listenVariables, validateListen, type ResolvedListen } from './sockets';
import type { ResolvedBridge } from './bridge';
import { validateSeccompOption, type NormalizedSeccompPolicy } from './seccomp';
import { validateNetnsPool, type NamespacePool } from './pool';
import { callerIsRoot, validateIdentity, type ResolvedIdentity } from './identity';
import { validateTty, type TtySize } from './pty';
import {
  checkBridgeNamespaces, checkTimeNamespace, validateHostname, validateInit, validateNamespaceOptions, type ResolvedNamespaces,
} from './namespaces';
import { checkArgs, checkExecSize, validatePayload, type ResolvedPayload } from './payload';
import { validateStdio, type ResolvedStdioOptions } from './stdio';
import { checkPlanSize } from './plan';

export type { ResolvedNamespace } from './namespaces';
export type { ResolvedStdio } from './stdio';

type CgroupOptions = ReturnType<typeof validateBoxCgroupOptions>;
type HostnameOption = ReturnType<typeof validateHostname>;
type InitOption = ReturnType<typeof validateInit>;
type SessionOptions = ReturnType<typeof validateSession>;
type LifetimeOptions = ReturnType<typeof validateLifetime>;

/** What validateOptions returns: each mechanism's validated options, and the box's namespaces. */
export interface ValidatedOptions
  extends ResolvedPayload, ResolvedIdentity, HostnameOption, InitOption, ResolvedStdioOptions, LifetimeOptions, SessionOptions,
    CgroupOptions, ResolvedFilesystem {
  namespaces: ResolvedNamespaces;
  /** The box's terminal and its first size, or undefined without one. */
  tty: TtySize | undefined;
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

export function validateOptions(file: unknown, args: unknown, options: unknown): ValidatedOptions {
  const command = checkArgs(file, args);
  const o = optionsObject(options);
  const { namespaces, bridge } = validateNamespaceOptions(o);
  const user = namespaces.user.kind;
  const identity = validateIdentity(o, user);
  const hostname = validateHostname(o.hostname, namespaces);
  const init = validateInit(o.init, namespaces);
  checkBridgeNamespaces(bridge, namespaces, o.netnsPool !== undefined);
  const payload = validatePayload(command, o);
  const tty = validateTty(o.tty, { stdio: o.stdio, newSession: o.newSession });
  const stdio = validateStdio(o, tty, init.init);
  const lifetime = validateLifetime(o);
  const session = validateSession(o);
  const cgroup = validateBoxCgroupOptions(o);
  const credentials = { ...validateCredentials(o), ...validateProcessLimits(o) };
  checkGroupsMapped(credentials.groups, user, identity.gidMap);
  const kernelCounters = validateKernelCounters(o.kernelCounters, user);
  const sysctl = validateSysctl(o.sysctl, namespaces);
  const namespaceOwner = validateNamespaceOwner(o.userNamespaceOwner, { user, uidMap: identity.uidMap, root: callerIsRoot(), pooled: o.netnsPool !== undefined });
  const landlock = validateLandlock(o.landlock);
  const listen = validateListen(o.listen);
  // fdEnv and fpmAddress name fds 3 and up for servers that do not read LISTEN_FDS.
  Object.assign(payload.env, listenVariables(listen, payload.env));
  const seccomp = validateSeccompOption(o.seccomp, credentials.allowNewPrivileges);
  if (listen.length > 0 && stdio.stdio.length > 3) {
    throw conflict('listen', 'listen sockets are fds 3 and up (LISTEN_FDS): stdio may then have only 0, 1 and 2');
  }
  const filesystem = validateFilesystem(o, namespaces);
  const netnsPool = o.netnsPool === undefined ? undefined : validateNetnsPool(o.netnsPool, { namespaces, uidMap: identity.uidMap, gidMap: identity.gidMap });
  checkTimeNamespace(namespaces, { pooledUser: netnsPool?.kind === 'user+net', init: init.init });
  checkExecSize(payload);
  if (namespaces.mount.kind === 'new') checkPlanSize(filesystem, stdio.stdio.length + listen.length);

  // Nothing the rest of cordon reads can inherit from a polluted prototype.
  return ownSnapshot({
    ...payload, namespaces, ...identity, ...hostname, ...init, ...stdio, tty, ...lifetime, ...session, ...filesystem, ...cgroup,
    credentials, kernelCounters, sysctl, namespaceOwner, landlock, listen, seccomp, bridge, netnsPool,
  }, '') as ValidatedOptions;
}

/** The options object itself: read once, no unknown keys, and child_process's `shell` and `windowsHide`. */
function optionsObject(options: unknown): SpawnIsolatedOptions & Record<string, unknown> {
  if (options === undefined) options = {};
  options = ownSnapshot(options, '');
  if (!isPlainObject(options)) throw invalidType('options', 'an object', options);
  rejectUnknownKeys(options, OPTION_NAMES, '');
  const o = options as SpawnIsolatedOptions & Record<string, unknown>;
  if (o.shell !== undefined && o.shell !== false) {
    throw invalidValue('shell', o.shell, "is not supported: cordon runs the file itself, with no shell; for a command line use spawnIsolated('/bin/sh', ['-c', command])");
  }
  if (o.windowsHide !== undefined) checkBoolean('windowsHide', o.windowsHide);
  return o;
}

/** How the box is ended: timeout, killSignal, and the AbortSignal. */
function validateLifetime(o: { timeout?: unknown; killSignal?: unknown; signal?: unknown }): {
  timeout: number | undefined;
  killSignal: number;
  killSignalName: string;
  signal: AbortSignal | undefined;
} {
  let timeout: number | undefined;
  if (o.timeout !== undefined) timeout = checkInteger('timeout', o.timeout, 0, 2 ** 31 - 1);
  const killSignal = checkSignal('killSignal', o.killSignal ?? 'SIGTERM');
  let signal: AbortSignal | undefined;
  if (o.signal !== undefined) {
    if (!(o.signal instanceof AbortSignal)) throw invalidType('signal', 'an AbortSignal', o.signal);
    signal = o.signal;
  }
  return { timeout, killSignal: killSignal.number, killSignalName: killSignal.name, signal };
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
