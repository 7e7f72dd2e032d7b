// box.exec(): a process started inside a running box, as `docker exec` or
// `nsenter` would start one. Not a second spawn path: the ordinary plan
// (lib/plan.ts) with every namespace of the box joined by fd (user first),
// the box's cgroup given to the clone, and the box's confinement (ids,
// capabilities, no_new_privs, rlimits, Landlock, seccomp) in place of the
// exec options' defaults. This file holds the pure parts; spawn.ts runs it.
import * as fs from 'node:fs';

import type { BoxCgroup } from './cgroups/box';
import { CordonError, CordonOptionError } from './errors';
import { isPlainObject } from './internal/checks';
import type { Ledger } from './internal/resources';
import { defaultCountedRlimits, type CallerCounterLimits } from './kernel-counters';
import { RLIMITS, type RlimitName } from './limits';
import { NAMESPACE_NAMES, type NamespaceName, type SpawnIsolatedOptions } from './options';
import type { ValidatedOptions } from './validate';

/** The options of box.exec(): the process's own; its confinement is the box's. */
export type BoxExecOptions = Pick<SpawnIsolatedOptions,
  'env' | 'cwd' | 'argv0' | 'stdio' | 'stdioPipes' | 'tty' | 'timeout' | 'killSignal' | 'signal' | 'dieWithParent' | 'newSession'>;

const EXEC_KEYS: readonly string[] = ['env', 'cwd', 'argv0', 'stdio', 'stdioPipes', 'tty', 'timeout', 'killSignal', 'signal', 'dieWithParent', 'newSession'];

/** The names of /proc/PID/ns files. */
const PROC_NS: Readonly<Record<NamespaceName, string>> = {
  user: 'user', pid: 'pid', mount: 'mnt', net: 'net', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', time: 'time',
};

/** What a box keeps for exec(): how it was confined, and where. */
export interface ExecRecipe {
  validated: ValidatedOptions;
  /** The caller's per-user limits when the box got a share of them (its own user namespace). */
  counterLimits: CallerCounterLimits | undefined;
  cgroup: BoxCgroup | undefined;
}

/** What a joining spawn needs beyond its options: the fds to join and the box's confinement. */
export interface JoinTarget {
  /** Overlays the box's confinement on the exec's validated options. */
  confine(validated: ValidatedOptions): ValidatedOptions;
  cgroup: BoxCgroup | undefined;
}

/**
 * The public options a joining spawn is validated with: the exec's own
 * (only the keys box.exec() takes; anything else is a CordonOptionError
 * naming it) and the box's namespaces joined by fd.
 */
export function execSpawnOptions(options: unknown, namespaces: Partial<Record<NamespaceName, number>>, boxCwd: string, boxAllowsHostCredentials = false): SpawnIsolatedOptions {
  if (options !== undefined && !isPlainObject(options)) {
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'options', 'The "options" argument of box.exec() must be an object');
  }
  const given = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!EXEC_KEYS.includes(key)) {
      throw new CordonOptionError('ERR_CORDON_UNKNOWN_OPTION', key,
        `box.exec() takes ${EXEC_KEYS.join(', ')}: "${key}" is the box's (an exec'd process is confined as the box is)`);
    }
  }
  const joins: Record<string, unknown> = {};
  for (const name of NAMESPACE_NAMES) joins[name] = namespaces[name] === undefined ? 'host' : { fd: namespaces[name] };
  // A box with host credentials (allowed when it was spawned) gets exec'd
  // processes with them: validated as the box was, not refused as root.
  return { cwd: boxCwd, ...given, namespaces: joins, ...(boxAllowsHostCredentials ? { allowHostCredentials: true } : {}) } as SpawnIsolatedOptions;
}

/**
 * Opens the namespaces of the box's first process (`pid`) that differ from
 * this process's own, as fds registered with `ledger`. `alive` is asked
 * after the opens: a pid recycled in between would otherwise hand us
 * another process's namespaces.
 */
export function openBoxNamespaces(pid: number, alive: () => boolean, ledger: Ledger): Partial<Record<NamespaceName, number>> {
  const fds: Partial<Record<NamespaceName, number>> = {};
  for (const name of NAMESPACE_NAMES) {
    const file = `/proc/${pid}/ns/${PROC_NS[name]}`;
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      if (cause.code === 'ENOENT' && name === 'time') continue; // a kernel without time namespaces
      throw new CordonError(cause.code ?? 'EIO', `open ${cause.code ?? 'EIO'}: cannot open the box's ${name} namespace, ${file}`, {
        errno: cause.errno ?? -5, syscall: 'open', step: `open box ${name} namespace`, path: file, cause,
      });
    }
    ledger.fd(`${name} namespace file`, fd);
    const theirs = fs.fstatSync(fd);
    const ours = fs.statSync(`/proc/self/ns/${PROC_NS[name]}`);
    // The same namespace as ours (a 'host' one) is not joined: setns into
    // one's own user namespace fails, and the others would change nothing.
    if (theirs.ino === ours.ino && theirs.dev === ours.dev) {
      ledger.releaseOne(`${name} namespace file`);
      continue;
    }
    fds[name] = fd;
  }
  if (!alive()) {
    throw new CordonError('ESRCH', 'box.exec(): the box ended while its namespaces were opened', { errno: -3, syscall: 'pidfd_send_signal', step: 'open box namespaces' });
  }
  return fds;
}

/** The box's confinement over an exec's validated options. */
export function joinTarget(recipe: ExecRecipe): JoinTarget {
  const box = recipe.validated;
  // The payload's rlimits, including the shares of the caller's counted
  // ones a box with a user namespace of its own gets by default.
  const defaults: Partial<Record<RlimitName, number>> = recipe.counterLimits === undefined ? {} : defaultCountedRlimits(recipe.counterLimits);
  const rlimits = [...box.credentials.rlimits];
  for (const [name, value] of Object.entries(defaults) as [RlimitName, number][]) {
    if (!rlimits.some((limit) => limit.name === name)) rlimits.push({ resource: RLIMITS[name], name, soft: value, hard: value });
  }
  return {
    cgroup: recipe.cgroup,
    confine: (validated) => ({
      ...validated,
      uid: box.uid,
      gid: box.gid,
      allowHostCredentials: box.allowHostCredentials,
      credentials: { ...box.credentials, rlimits },
      landlock: box.landlock,
      seccomp: box.seccomp,
    }),
  };
}
