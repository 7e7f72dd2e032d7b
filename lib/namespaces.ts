// Namespaces: the `namespaces` and `network` options → one resolved
// setting per namespace, what the box sets in its own (`hostname`, lo, the
// `init` of its pid namespace), and the plan steps that make, join and enter
// them (clone3's flags, setns, unshare). The C++ half is
// native/child/namespaces.cc (with native/clone.cc for the clone).
import * as fs from 'node:fs';

import { bridgeRefusal, validateBridge, type ResolvedBridge } from './bridge';
import { CordonError } from './errors';
import { checkAbsolutePath, checkBoolean, checkInteger, checkString, conflict, invalidType, invalidValue, isPlainObject, rejectUnknownKeys } from './internal/checks';
import type { Ledger, LedgerEntry } from './internal/resources';
import { step, type PlanStep } from './internal/steps';
import { NAMESPACE_NAMES, type NamespaceName, type NamespaceOptions, type NamespaceSetting, type SpawnIsolatedOptions } from './options';

export type ResolvedNamespace = { kind: 'new' } | { kind: 'host' } | { kind: 'path'; path: string } | { kind: 'fd'; fd: number };

export const CLONE_FLAGS: Readonly<Record<NamespaceName, number>> = {
  mount: 0x00020000,
  cgroup: 0x02000000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  net: 0x40000000,
  time: 0x00000080,
};

const NAMESPACE_JOIN_ORDER: readonly NamespaceName[] = ['user', 'mount', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'time'];

export function checkNamespace(name: NamespaceName, value: NamespaceSetting | undefined, option = `namespaces.${name}`): ResolvedNamespace {
  if (value === undefined) return name === 'time' ? { kind: 'host' } : { kind: 'new' };
  if (value === 'new' || value === 'host') return { kind: value };
  if (isPlainObject(value)) {
    if ('path' in value) {
      rejectUnknownKeys(value, ['path'], option);
      return { kind: 'path', path: checkAbsolutePath(`${option}.path`, value.path) };
    }
    if ('fd' in value) {
      rejectUnknownKeys(value, ['fd'], option);
      return { kind: 'fd', fd: checkInteger(`${option}.fd`, value.fd, 0, 0x7fffffff) };
    }
  }
  throw invalidType(option, `'new', 'host', { path } or { fd }`, value);
}

/** The `namespaces` option: every namespace new by default but time (the host's). */
export function validateNamespaces(value: unknown): Record<NamespaceName, ResolvedNamespace> {
  let given = Object.create(null) as NamespaceOptions;
  if (value !== undefined) {
    if (!isPlainObject(value)) throw invalidType('namespaces', 'an object', value);
    rejectUnknownKeys(value, NAMESPACE_NAMES, 'namespaces');
    given = value as NamespaceOptions;
  }
  return Object.fromEntries(NAMESPACE_NAMES.map((name) => [name, checkNamespace(name, given[name])])) as Record<NamespaceName, ResolvedNamespace>;
}

export type ResolvedNamespaces = Record<NamespaceName, ResolvedNamespace>;

export const DEFAULT_HOSTNAME = 'cordon';

/** The `namespaces` and `network` options: the box's namespaces, and its bridge for `network: 'bridge'` (namespaces.net is then 'new'). */
export function validateNamespaceOptions(o: Pick<SpawnIsolatedOptions, 'namespaces' | 'network'>): { namespaces: ResolvedNamespaces; bridge: ResolvedBridge | undefined } {
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
  return { namespaces, bridge };
}

/** The hostname option: set in the box's own uts namespace ('cordon' by default there). */
export function validateHostname(value: unknown, namespaces: ResolvedNamespaces): { hostname: string | undefined } {
  if (value === undefined) return { hostname: namespaces.uts.kind === 'new' ? DEFAULT_HOSTNAME : undefined };
  const hostname = checkString('hostname', value);
  if (Buffer.byteLength(hostname) > 64) throw invalidValue('hostname', hostname, 'must be at most 64 bytes');
  if (namespaces.uts.kind !== 'new') throw conflict('hostname', 'hostname needs namespaces.uts to be \'new\'');
  return { hostname };
}

/** The init option: PID 1 of the box's pid namespace (on with a pid namespace of its own or joined). */
export function validateInit(value: unknown, namespaces: ResolvedNamespaces): { init: boolean } {
  const pidKind = namespaces.pid.kind;
  let init = pidKind !== 'host';
  if (value !== undefined) {
    init = checkBoolean('init', value);
    if (init && pidKind === 'host') throw conflict('init', 'init needs a new or joined pid namespace');
    if (!init && (pidKind === 'path' || pidKind === 'fd')) {
      throw conflict('init', 'joining a pid namespace needs the init: only children of the joining process enter it');
    }
  }
  return { init };
}

/** A bridge box's network namespace is made at clone, in a user namespace of the box's own; and the host must allow bridges. */
export function checkBridgeNamespaces(bridge: ResolvedBridge | undefined, namespaces: ResolvedNamespaces, pooled: boolean): void {
  if (bridge === undefined) return;
  if (pooled) {
    throw conflict('netnsPool', "a bridge box's veth goes into the namespace the box is cloned with, not a pooled one: use one or the other");
  }
  if (namespaces.user.kind === 'path' || namespaces.user.kind === 'fd') {
    throw conflict('network', "a bridge needs the box's network namespace at clone, which a joined user namespace rules out (it is made after the join)");
  }
  const refusal = bridgeRefusal();
  if (refusal !== undefined) throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `network: ${refusal} (probe().network.bridge)`, { step: 'validate', path: bridge.bridge });
}

/**
 * In a joined user namespace (given, or a 'user+net' pool's) the other
 * namespaces are made by unshare, which moves only later children: a new
 * pid namespace is entered by a clone (enterNamespaceSteps), and so is a new
 * time namespace then; without either, only the init's children are in it.
 */
export function checkTimeNamespace(namespaces: ResolvedNamespaces, context: { pooledUser: boolean; init: boolean }): void {
  const joinsUser = namespaces.user.kind === 'path' || namespaces.user.kind === 'fd' || context.pooledUser;
  if (joinsUser && namespaces.time.kind === 'new' && namespaces.pid.kind !== 'new' && !context.init) {
    throw conflict('namespaces.time', 'a new time namespace inside a joined user namespace (or a \'user+net\' pool\'s) needs the init or a new pid namespace');
  }
}

/** Joined namespaces' fds (given by the caller of buildPlan), and a pool entry joined instead of a new user and net namespace. */
export interface NamespaceFds {
  namespaces: Partial<Record<NamespaceName, number>>;
  pooled?: { user?: number; net: number } | undefined;
}

/**
 * Which new namespaces clone3 makes and which are made later by unshare.
 * Namespaces belong to the user namespace of the process that makes them:
 * with a joined (or pooled) user namespace they are made after the join. A
 * cgroup namespace takes the cgroup its maker is in as its root
 * (`cgroupNamespace`): made by the clone for a box without a cgroup of its
 * own; by unshare once the box child stands in its cgroup, so its root is
 * the box's cgroup on every clone rung; or by a helper that stands there
 * for a box child that never does (a cgroup joined late: cgroupNamespaceSteps).
 */
export function namespaceFlags(
  namespaces: Readonly<Record<NamespaceName, ResolvedNamespace>>, fds: NamespaceFds, cgroupNamespace: 'clone' | 'unshare' | 'helper',
): { clone: number; late: number } {
  let flags = 0;
  for (const name of Object.keys(CLONE_FLAGS) as NamespaceName[]) {
    if (namespaces[name].kind === 'new') flags |= CLONE_FLAGS[name];
  }
  // A pooled entry is joined instead: its net namespace, and its user
  // namespace (which owns the net one) with the maps written already.
  const pooledUser = fds.pooled?.user !== undefined;
  if (fds.pooled !== undefined) flags &= ~CLONE_FLAGS.net;
  if (pooledUser) flags &= ~CLONE_FLAGS.user;
  const joinedUser = namespaces.user.kind === 'path' || namespaces.user.kind === 'fd';
  if (cgroupNamespace === 'helper') flags &= ~CLONE_FLAGS.cgroup;
  const late = joinedUser || pooledUser ? flags : cgroupNamespace === 'unshare' ? flags & CLONE_FLAGS.cgroup : 0;
  return { clone: flags & ~late, late };
}

/**
 * After the parent's window: join the pooled and the given namespaces (in
 * the kernel's required order), make the late ones, and, when a pid
 * namespace was made by unshare (it holds only later children), clone into
 * it: the box's process then walks the rest of the plan as its PID 1 (the
 * parent's own child, so it is the box as if cloned directly).
 */
export function enterNamespaceSteps(
  namespaces: Readonly<Record<NamespaceName, ResolvedNamespace>>, fds: NamespaceFds, late: number, slot: (fd: number) => number,
): PlanStep[] {
  const steps: PlanStep[] = [];
  const pooled = fds.pooled;
  for (const name of NAMESPACE_JOIN_ORDER) {
    const pooledFd = name === 'user' ? pooled?.user : name === 'net' ? pooled?.net : undefined;
    if (pooledFd !== undefined) {
      steps.push(step('joinNamespace', { name: `join pooled ${name} namespace`, syscall: 'setns', kind: 'join', path: `namespace pool`, slot: slot(pooledFd) }, {
        namespaceType: CLONE_FLAGS[name],
      }));
      continue;
    }
    const setting = namespaces[name];
    if (setting.kind !== 'path' && setting.kind !== 'fd') continue;
    const fd = fds.namespaces[name];
    if (fd === undefined) throw new Error(`cordon: no fd for the ${name} namespace to join`);
    steps.push(step('joinNamespace', {
      name: `join ${name} namespace`, syscall: 'setns', kind: 'join', path: setting.kind === 'path' ? setting.path : `fd ${setting.fd}`, slot: slot(fd),
    }, { namespaceType: CLONE_FLAGS[name] }));
  }
  if (late !== 0) steps.push(step('unshare', { name: 'unshare namespaces', syscall: 'unshare', kind: 'clone' }, { cloneFlags: late }));
  const joinedUser = namespaces.user.kind === 'path' || namespaces.user.kind === 'fd';
  if ((pooled?.user !== undefined || joinedUser) && (late & CLONE_FLAGS.pid) !== 0) {
    steps.push(step('enterPidNamespace', { name: 'enter pid namespace', syscall: 'clone', kind: 'clone' }, {}));
  }
  return steps;
}

/** The clone itself: the namespaces clone3 makes, into the box's v2 cgroup when it has a directory fd, owned by `namespaceOwner` when given. */
export function cloneSteps(cloneFlags: number, cgroupDirFd: number | undefined, namespaceOwner: number | undefined, slot: (fd: number) => number): PlanStep[] {
  const intoCgroup = cgroupDirFd !== undefined && cgroupDirFd >= 0;
  return [step('clone', { name: 'clone', syscall: 'clone3', kind: 'clone', ...(intoCgroup ? { slot: slot(cgroupDirFd) } : {}) }, {
    cloneFlags,
    intoCgroup,
    namespaceOwner: namespaceOwner !== undefined && (cloneFlags & CLONE_FLAGS.user) !== 0 ? namespaceOwner : 0,
  })];
}

/** What the box sets in its own namespaces: lo up in a new net namespace (a pooled one has it up already), the hostname. */
export function namespaceSetupSteps(namespaces: ResolvedNamespaces, pooled: boolean, hostname: string | undefined): PlanStep[] {
  const steps: PlanStep[] = [];
  if (namespaces.net.kind === 'new' && !pooled) steps.push(step('loopbackUp', { name: 'bring up loopback', syscall: 'ioctl', kind: 'net', path: 'lo' }, {}));
  if (hostname !== undefined) steps.push(step('setHostname', { name: 'set hostname', syscall: 'sethostname', kind: 'uts' }, { hostname }));
  return steps;
}

/**
 * The namespace files a box joins, as fds of this process: a given fd as it
 * is, a path opened here into `ledger`. The opened ones go to `spawnOnly`
 * too (the spawn's alone: closed once the box has joined them). A path that
 * cannot be opened is a CordonError for the box, with the `open` step.
 */
export function acquireNamespaceFiles(
  namespaces: Readonly<Record<NamespaceName, ResolvedNamespace>>, ledger: Ledger, spawnOnly: LedgerEntry[], spawnargs: readonly string[],
): Partial<Record<NamespaceName, number>> {
  const fds: Partial<Record<NamespaceName, number>> = {};
  for (const name of NAMESPACE_NAMES) {
    const setting = namespaces[name];
    if (setting.kind === 'fd') fds[name] = setting.fd;
    if (setting.kind !== 'path') continue;
    try {
      const file = ledger.hold(`${name} namespace file`, fs.openSync(setting.path, 'r'), 'fs');
      spawnOnly.push(file);
      fds[name] = file.fd;
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      const code = cause.code ?? 'EIO';
      throw new CordonError(code, `open ${code}: the ${name} namespace to join, ${setting.path}, cannot be opened`, {
        errno: cause.errno ?? -5,
        syscall: 'open',
        step: `open ${name} namespace`,
        path: setting.path,
        spawnargs: [...spawnargs],
        cause,
      });
    }
  }
  return fds;
}
