// Namespaces: the `namespaces` option → one resolved setting per namespace,
// and the plan steps that make, join and enter them (clone3's flags, setns,
// unshare). The C++ half is native/clone.cc and child/executor.cc's joins.
import * as fs from 'node:fs';

import { CordonError } from './errors';
import { checkAbsolutePath, checkInteger, invalidType, isPlainObject, rejectUnknownKeys } from './internal/checks';
import type { Ledger, LedgerEntry } from './internal/resources';
import { step, type PlanStep } from './internal/steps';
import { NAMESPACE_NAMES, type NamespaceName, type NamespaceOptions, type NamespaceSetting } from './options';

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

/** Joined namespaces' fds (given by the caller of buildPlan), and a pool entry joined instead of a new user and net namespace. */
export interface NamespaceFds {
  namespaces: Partial<Record<NamespaceName, number>>;
  pooled?: { user?: number; net: number } | undefined;
}

/**
 * Which new namespaces clone3 makes and which are made later by unshare.
 * Namespaces belong to the user namespace of the process that makes them:
 * with a joined (or pooled) user namespace they are made after the join. A
 * cgroup namespace takes the cgroup its maker is in as its root: a box
 * attached to its cgroup in the parent's window (`lateAttach`) makes it
 * late, so its root is the box's cgroup on every clone rung.
 */
export function namespaceFlags(namespaces: Readonly<Record<NamespaceName, ResolvedNamespace>>, fds: NamespaceFds, lateAttach: boolean): { clone: number; late: number } {
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
  const late = joinedUser || pooledUser ? flags : lateAttach ? flags & CLONE_FLAGS.cgroup : 0;
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
