// Who the payload is and what it may do: its ids, supplementary groups,
// kept capabilities, no_new_privs, session and parent-death signal →
// validated values and plan steps. The C++ half is
// native/child/credentials.cc; the payload's limits (rlimits, umask, nice,
// OOM score) are lib/limits.ts with native/child/limits.cc.
import { checkBoolean, checkInteger, conflict, invalidType, invalidValue, ownSnapshot } from './internal/checks';
import { step, type PlanStep } from './internal/steps';
import { callerIsRoot, inMap } from './identity';
import type { ResolvedLimits } from './limits';
import type { IdMapEntry } from './options';

/** Linux capabilities by number (linux/capability.h). */
export const CAPABILITIES = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
} as const;

export type CapabilityName = keyof typeof CAPABILITIES;

export interface ResolvedPrivileges {
  groups: number[] | undefined;
  capabilityMask: bigint;
  allowNewPrivileges: boolean;
}

/** The `credentials` of validated options: the payload's privileges, and its limits (lib/limits.ts). */
export type ResolvedCredentials = ResolvedPrivileges & ResolvedLimits;

const CREDENTIAL_KEYS = ['groups', 'capabilities', 'allowNewPrivileges'];
const SIGKILL = 9;

/** The groups, capabilities and allowNewPrivileges options. */
export function validateCredentials(o: { groups?: unknown; capabilities?: unknown; allowNewPrivileges?: unknown }): ResolvedPrivileges {
  // Its own keys only, each read once (not a copy of all the options).
  const given = o as Record<string, unknown>;
  o = ownSnapshot(Object.fromEntries(CREDENTIAL_KEYS.filter((key) => Object.hasOwn(given, key)).map((key) => [key, given[key]])), '') as typeof o;
  let groups: number[] | undefined;
  if (o.groups !== undefined) {
    if (!Array.isArray(o.groups)) throw invalidType('groups', 'an array of gids', o.groups);
    if (o.groups.length > 64) throw invalidValue('groups', o.groups.length, 'may have at most 64 entries');
    groups = o.groups.map((gid: unknown, i) => checkInteger(`groups[${i}]`, gid, 0, 0xfffffffe));
  }
  let capabilityMask = 0n;
  if (o.capabilities !== undefined) {
    if (!Array.isArray(o.capabilities)) throw invalidType('capabilities', 'an array of capability names', o.capabilities);
    o.capabilities.forEach((name: unknown, i) => {
      const option = `capabilities[${i}]`;
      if (typeof name !== 'string') throw invalidType(option, 'a capability name like CAP_NET_BIND_SERVICE', name);
      const normalized = (name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`) as CapabilityName;
      const bit = Object.hasOwn(CAPABILITIES, normalized) ? CAPABILITIES[normalized] : undefined;
      if (bit === undefined) throw invalidValue(option, name, 'is not a Linux capability');
      capabilityMask |= 1n << BigInt(bit);
    });
  }
  const allowNewPrivileges = o.allowNewPrivileges === undefined ? false : checkBoolean('allowNewPrivileges', o.allowNewPrivileges);
  return { groups, capabilityMask, allowNewPrivileges };
}

/** Supplementary groups in a new user namespace: only a root caller's box may set them, and only to mapped gids. */
export function checkGroupsMapped(groups: readonly number[] | undefined, user: string, gidMap: readonly IdMapEntry[] | undefined): void {
  if (groups === undefined || user !== 'new') return;
  if (!callerIsRoot()) {
    throw conflict('groups', 'an unprivileged caller\'s box cannot set groups: its user namespace denies setgroups');
  }
  const map = gidMap ?? [{ inside: 0, outside: 0, count: 1 }];
  const unmapped = groups.find((group) => !inMap(map, group));
  if (unmapped !== undefined) throw conflict('groups', `gid ${unmapped} is not mapped by gidMap`);
}

/** The dieWithParent and newSession options (both on by default). */
export function validateSession(o: { dieWithParent?: unknown; newSession?: unknown }): { dieWithParent: boolean; newSession: boolean } {
  const dieWithParent = o.dieWithParent === undefined ? true : checkBoolean('dieWithParent', o.dieWithParent);
  const newSession = o.newSession === undefined ? true : checkBoolean('newSession', o.newSession);
  return { dieWithParent, newSession };
}

/**
 * Become the box's root first, in a user namespace of the box (new or
 * joined): a root caller's own uid is not mapped in the box, and files the
 * mounts create must belong to someone who is.
 */
export function boxRootSteps(userNamespace: boolean, clearGroups: boolean): PlanStep[] {
  if (!userNamespace) return [];
  return [step('setIds', { name: 'become box root', syscall: 'setresuid', kind: 'ids' }, { uid: 0, gid: 0, clearGroups })];
}

/**
 * After the ids: the kernel clears the parent-death signal whenever the
 * effective uid or gid changes. A box that outlives its supervisor
 * (dieWithParent: false) has it too when it has an init, until the
 * supervisor has written its state record: the init lets go of it at the
 * supervisor's release (`untilRecorded`), so a supervisor killed before its
 * record takes the box along rather than leaving it running where no later
 * process can adopt it or clean up after it. Without an init nothing in the
 * box could let go of it: such a box has none (it may outlive a supervisor
 * that dies before its record).
 */
export function parentDeathSteps(dieWithParent: boolean, init: boolean): PlanStep[] {
  if (!dieWithParent && !init) return [];
  const name = dieWithParent ? 'set parent death signal' : 'set parent death signal until recorded';
  return [step('setParentDeathSignal', { name, syscall: 'prctl', kind: 'prctl' }, { signal: SIGKILL, untilRecorded: dieWithParent ? 0 : 1 })];
}

export function noNewPrivsSteps(credentials: ResolvedPrivileges): PlanStep[] {
  if (credentials.allowNewPrivileges) return [];
  return [step('setNoNewPrivs', { name: 'set no_new_privs', syscall: 'prctl', kind: 'prctl' }, {})];
}

export function sessionSteps(newSession: boolean): PlanStep[] {
  return newSession ? [step('setSid', { name: 'new session', syscall: 'setsid', kind: 'session' }, {})] : [];
}

/**
 * The terminal (fds 0-2) becomes the controlling terminal of the session
 * the setSid step made; with an init, of the payload's own (the init's doing).
 */
export function controllingTerminalSteps(tty: boolean): PlanStep[] {
  if (!tty) return [];
  return [step('setControllingTerminal', { name: 'set controlling terminal', syscall: 'ioctl TIOCSCTTY', kind: 'session' }, { terminal: 0 })];
}

/**
 * The payload's groups, ids and capabilities, once nothing needs root any
 * more. The bounding set goes first, while CAP_SETPCAP is still there; exec
 * turns the bounding set into what the payload has (nothing, unless some are
 * kept). A non-zero uid loses the capabilities the mounts need, so the ids
 * change here; without a user namespace a root caller (`hostRoot`) switches
 * to a host uid here, dropping its own groups. The kept capabilities are
 * raised into the ambient set after the ids change.
 */
export function payloadCredentialSteps(
  credentials: ResolvedPrivileges,
  ids: { uid: number; gid: number },
  context: { userNamespace: boolean; hostRoot: boolean },
): PlanStep[] {
  const steps: PlanStep[] = [];
  const keep = Number(credentials.capabilityMask);
  steps.push(step('dropCapabilities', { name: 'drop capabilities', syscall: 'prctl', kind: 'caps' }, { keep }));
  if (credentials.groups !== undefined) {
    steps.push(step('setGroups', { name: 'set groups', syscall: 'setgroups', kind: 'ids' }, { gids: credentials.groups.map(String) }));
  }
  const nonRoot = ids.uid !== 0 || ids.gid !== 0;
  const hostIds = context.hostRoot && nonRoot;
  if ((context.userNamespace || hostIds) && nonRoot) {
    steps.push(step('setIds', { name: 'set uid and gid', syscall: 'setresuid', kind: 'ids' }, {
      uid: ids.uid, gid: ids.gid, clearGroups: hostIds && credentials.groups === undefined,
    }));
  }
  if (keep !== 0) steps.push(step('raiseAmbient', { name: 'raise kept capabilities', syscall: 'prctl', kind: 'caps' }, { mask: keep }));
  return steps;
}
