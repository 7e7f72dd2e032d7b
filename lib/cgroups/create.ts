// A box's own cgroup(s), made before the clone: the controllers planned
// (v2 where it can, v1 where it must), directories made, limits written,
// the v2 directory fd opened for clone3's CLONE_INTO_CGROUP, the box
// child's own joins of its v1 cgroups (`tasks`), and the parent's
// cgroup.procs steps for a clone rung without CLONE_INTO_CGROUP. The
// running box is ./live.ts.
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { kernelAtLeast } from '../internal/kernel';
import type { Ledger } from '../internal/resources';
import type { Validated } from '../internal/validated';
import { step, type PlanStep } from '../internal/steps';
import { fsFailure, readOptional, readPids, unsupported, writeCgroupFile } from './fsio';
import {
  type CgroupLimits,
  controllersFor,
  type LimitWrite,
  type LogicalController,
  V1_NAME,
  v1Writes,
  v2Writes,
  validateLimits,
} from './limits';
import { BoxCgroup, type Placement, type V1Box, words } from './live';
import { type ParentChoice, validateCgroupName } from './parent';

/** Names under which createBoxCgroup registers with a Ledger. */
export const CGROUP_LEDGER = {
  /** The v2 directory fd: release it (ledger.releaseOne) right after the clone. */
  dirFd: 'cgroup dir fd',
  /** The cgroup(s): released by killing what is left and removing them. */
  cgroup: 'cgroup',
} as const;

export interface BoxCgroupOptions {
  /**
   * Also join the controllers that account for the box when the host offers
   * them (default true): v2 memory, pids, io; v1 memory, pids, blkio, and,
   * without a v2 box cgroup, cpuacct (cpu time) and freezer (kill, freeze).
   * Best effort: one that cannot be had is listed in `skipped` with the
   * reason, and its stats are null. Controllers that limits need are never
   * skipped: they fail the creation.
   */
  accounting?: boolean;
  /** More controllers to join (v2 or v1 names); each must be available. */
  controllers?: readonly string[];
  /** Open the v2 directory fd for CLONE_INTO_CGROUP (default true when there is a v2 box cgroup). */
  openDirFd?: boolean;
}

const V2_ACCOUNTING = ['memory', 'pids', 'io'];
const V1_ACCOUNTING = ['memory', 'pids', 'blkio'];
const V1_ACCOUNTING_WITHOUT_V2 = ['cpuacct', 'freezer'];
const V1_TO_LOGICAL: Record<string, LogicalController> = { blkio: 'io', memory: 'memory', cpu: 'cpu', pids: 'pids', cpuset: 'cpuset', io: 'io' };

let sequence = 0;
// Random bytes for names, drawn 64 names at a time (a draw costs about as
// much as the rest of a name's making).
const NAME_RANDOM = Buffer.alloc(3 * 64);
let nameRandomAt = NAME_RANDOM.length;

function defaultName(): string {
  sequence += 1;
  if (nameRandomAt === NAME_RANDOM.length) {
    randomFillSync(NAME_RANDOM);
    nameRandomAt = 0;
  }
  nameRandomAt += 3;
  return `box-${process.pid}-${sequence}-${NAME_RANDOM.toString('hex', nameRandomAt - 3, nameRandomAt)}`;
}

interface Plan {
  v2Controllers: string[];
  v2Accounting: string[];
  v1Controllers: string[];
  v1Accounting: string[];
  skipped: { controller: string; reason: string }[];
  /** The v2 parent's cgroup.subtree_control as read for this plan. */
  v2Enabled: string[];
}

/** The v2 parent's controllers; `busy()` (read only when a controller would need enabling) whether processes keep it from enabling more. */
function v2ParentControllers(dir: string): { available: string[]; enabled: string[]; busy: () => boolean } {
  const available = words(readOptional(`${dir}/cgroup.controllers`));
  const enabled = words(readOptional(`${dir}/cgroup.subtree_control`));
  let busy: boolean | undefined;
  return {
    available,
    enabled,
    busy: () => {
      // The root cgroup is exempt from the no-internal-processes rule; it has no cgroup.type.
      busy ??= fs.existsSync(`${dir}/cgroup.type`) && readPids(`${dir}/cgroup.procs`).length > 0;
      return busy;
    },
  };
}

function planControllers(parent: ParentChoice, required: string[], options: BoxCgroupOptions): Plan {
  const v2 = parent.v2 === undefined ? undefined : v2ParentControllers(parent.v2.dir);
  const plan: Plan = { v2Controllers: [], v2Accounting: [], v1Controllers: [], v1Accounting: [], skipped: [], v2Enabled: v2?.enabled ?? [] };
  const v2Usable = (name: string): string | undefined => {
    if (parent.v2 === undefined || v2 === undefined) return parent.v2Reason ?? 'no v2 parent';
    if (!v2.available.includes(name)) {
      const bound = parent.host.v1[name] !== undefined ? ` (it is bound to the v1 hierarchy at ${parent.host.v1[name]!.mount})` : '';
      return `not in ${parent.v2.dir}/cgroup.controllers: not enabled in its parent's cgroup.subtree_control${bound}`;
    }
    if (!v2.enabled.includes(name) && v2.busy()) {
      return `${parent.v2.dir} has processes, so controllers cannot be enabled in its cgroup.subtree_control (the no-internal-processes rule)` +
        (parent.v2.containsSelf ? '; it is this process\'s own cgroup: pass moveSelf to findParent' : '');
    }
    return undefined;
  };
  for (const name of required) {
    const v2Name = V1_TO_LOGICAL[name] ?? name;
    const v1Name = (V1_NAME as Record<string, string>)[v2Name] ?? name;
    const v2Reason = v2Usable(v2Name);
    if (v2Reason === undefined) {
      plan.v2Controllers.push(v2Name);
      continue;
    }
    if (parent.v1Enabled && parent.host.v1[v1Name] !== undefined) {
      parent.v1(v1Name); // throws, naming the controller, when there is no usable v1 parent
      plan.v1Controllers.push(v1Name);
      continue;
    }
    const v1Reason = parent.host.v1[v1Name] === undefined ? 'not mounted as a v1 hierarchy' : 'v1 hierarchies are turned off';
    const busy = v2 !== undefined && v2.available.includes(v2Name) && v2.busy();
    throw unsupported(
      v2Name,
      parent.host.mode === 'v2' ? v2Reason : `cgroup v2: ${v2Reason}; v1: ${v1Reason}`,
      parent.v2?.dir,
      busy ? 'use a parent cgroup without processes' : parent.host.euid === 0 ? `enable it with: echo +${v2Name} > <parent's parent>/cgroup.subtree_control` : 'ask for the controller to be delegated (systemd: Delegate=yes or Delegate=<controllers>)',
    );
  }
  if (options.accounting !== false) {
    for (const name of V2_ACCOUNTING) {
      if (plan.v2Controllers.includes(name) || plan.v1Controllers.includes(V1_NAME[name as LogicalController])) continue;
      if (v2Usable(name) === undefined) plan.v2Accounting.push(name);
    }
    const v1Candidates = [...V1_ACCOUNTING, ...(parent.v2 === undefined ? V1_ACCOUNTING_WITHOUT_V2 : [])];
    for (const name of v1Candidates) {
      const logical = V1_TO_LOGICAL[name];
      if (plan.v1Controllers.includes(name)) continue;
      if (logical !== undefined && (plan.v2Controllers.includes(logical) || plan.v2Accounting.includes(logical))) continue;
      if (!parent.v1Enabled || parent.host.v1[name] === undefined) {
        if (logical === undefined || parent.v2 === undefined || !V2_ACCOUNTING.includes(logical)) {
          plan.skipped.push({ controller: name, reason: parent.v1Enabled ? 'not mounted' : 'v1 hierarchies are turned off' });
        } else {
          plan.skipped.push({ controller: logical, reason: v2Usable(logical) ?? 'not available' });
        }
        continue;
      }
      try {
        parent.v1(name);
        plan.v1Accounting.push(name);
      } catch (error) {
        plan.skipped.push({ controller: name, reason: (error as Error).message });
      }
    }
  }
  return plan;
}

// A default parent is shared by every root supervisor on the host, and the
// last one to leave removes it (ParentChoice.removeEmpty): one that leaves
// between this process's lookup of the parent and its mkdir of a box cgroup
// in it takes the parent away. Each such removal takes a supervisor's exit,
// so a few attempts are plenty.
const PARENT_ATTEMPTS = 3;

/**
 * Creates a box's cgroup(s) under `parent`, before the clone: the v2 box
 * cgroup (when v2 is used: placement, kill, freeze and the limits of the
 * controllers v2 offers; needed controllers are enabled in the parent's
 * cgroup.subtree_control), and a v1 cgroup in each hierarchy that carries a
 * limit or accounting the v2 one cannot. Writes the limits, opens the v2
 * directory fd for CLONE_INTO_CGROUP, and registers with `ledger` (as
 * CGROUP_LEDGER.dirFd and CGROUP_LEDGER.cgroup) when given.
 *
 * A controller the limits need that is not available or not delegated
 * throws a CgroupError naming it and why; nothing stays created then.
 */
export function createBoxCgroup(
  parent: ParentChoice,
  name: string | undefined,
  limits: CgroupLimits = {},
  ledger?: Ledger,
  options: BoxCgroupOptions = {},
): BoxCgroup {
  const checked = validateLimits(limits);
  const givenName = name === undefined ? undefined : validateCgroupName(name, 'name');
  for (let attempt = 1; ; attempt++) {
    try {
      return createUnder(parent, givenName, checked, ledger, options);
    } catch (error) {
      // The parent went (or was made anew) under this spawn: made again, start over.
      if (attempt >= PARENT_ATTEMPTS || !parent.recover()) throw error;
    }
  }
}

function createUnder(parent: ParentChoice, name: string | undefined, checked: Validated<CgroupLimits>, ledger: Ledger | undefined, options: BoxCgroupOptions): BoxCgroup {
  let boxName = name ?? defaultName();
  const required = [...new Set<string>([...controllersFor(checked), ...(options.controllers ?? [])])];
  const plan = planControllers(parent, required, options);

  const created: string[] = [];
  let fd = -1;
  const placement: Record<string, Placement> = {};
  const v1Boxes: V1Box[] = [];
  let v2Dir: string | undefined;
  const makeDir = (parentDir: string, controller?: string): string => {
    for (let attempt = 1; ; attempt++) {
      const dir = path.join(parentDir, boxName);
      try {
        fs.mkdirSync(dir);
        created.push(dir);
        return dir;
      } catch (error) {
        // Another supervisor's box has the generated name (its supervisor has
        // this pid in another pid namespace, at the same sequence, and drew
        // the same random part): never share it, take another name, while
        // nothing is made under this one yet.
        const collided = (error as NodeJS.ErrnoException).code === 'EEXIST' && name === undefined && created.length === 0;
        if (collided && attempt < 8) {
          boxName = defaultName();
          continue;
        }
        throw fsFailure(error, 'mkdir', 'create cgroup', dir, controller);
      }
    }
  };
  try {
    if (parent.v2 !== undefined) {
      const parentDir = parent.v2.dir;
      for (const controller of [...plan.v2Controllers, ...plan.v2Accounting]) {
        if (plan.v2Enabled.includes(controller)) continue;
        try {
          writeCgroupFile(`${parentDir}/cgroup.subtree_control`, `+${controller}`, `enable controllers +${controller}`, controller);
        } catch (error) {
          if (plan.v2Controllers.includes(controller)) throw error;
          plan.v2Accounting = plan.v2Accounting.filter((entry) => entry !== controller);
          plan.skipped.push({ controller, reason: (error as Error).message });
        }
      }
      v2Dir = makeDir(parentDir);
      for (const controller of [...plan.v2Controllers, ...plan.v2Accounting]) placement[controller] = 'v2';
    }
    const v1Names = [...plan.v1Controllers, ...plan.v1Accounting];
    for (const controller of v1Names) {
      const v1Parent = parent.v1(controller);
      let box = v1Boxes.find((entry) => entry.parent === v1Parent);
      if (box === undefined) {
        box = { controllers: v1Parent.controllers, parent: v1Parent, dir: makeDir(v1Parent.dir, controller) };
        v1Boxes.push(box);
        if (v1Parent.controllers.includes('cpuset')) {
          // v1 cpuset cgroups start empty: copy the parent's unless limits say otherwise.
          for (const [file, wanted] of [['cpuset.cpus', checked.cpuset?.cpus], ['cpuset.mems', checked.cpuset?.mems]] as const) {
            const value = wanted ?? readOptional(`${v1Parent.dir}/${file}`) ?? '';
            writeCgroupFile(`${box.dir}/${file}`, value, `write ${file}`, 'cpuset');
          }
        }
      }
      for (const covered of box.controllers) if (placement[covered] === undefined) placement[covered] = 'v1';
    }

    // Limits: cpuset first (where the box may run), then the rest.
    const order: LogicalController[] = ['cpuset', 'cpu', 'io', 'memory', 'pids'];
    for (const logical of order) {
      if (!controllersFor(checked).includes(logical)) continue;
      let writes: LimitWrite[] | string;
      let dir: string;
      if (placement[logical] === 'v2' && v2Dir !== undefined) {
        dir = v2Dir;
        writes = v2Writes(logical, checked, (file) => fs.existsSync(`${dir}/${file}`));
      } else {
        const v1Name = V1_NAME[logical];
        const box = v1Boxes.find((entry) => entry.controllers.includes(v1Name));
        if (box === undefined) throw unsupported(v1Name, 'no box cgroup carries it (internal)');
        dir = box.dir;
        writes = v1Writes(logical, checked, (file) => fs.existsSync(`${dir}/${file}`));
        if (logical === 'cpuset' && typeof writes !== 'string') writes = []; // written at creation
      }
      if (typeof writes === 'string') throw unsupported(placement[logical] === 'v2' ? logical : V1_NAME[logical], writes, dir);
      for (const write of writes) {
        writeCgroupFile(path.join(dir, write.file), write.value, `write ${write.file} (cgroup.${write.option})`, write.controller);
      }
    }
    if (v2Dir !== undefined && options.openDirFd !== false) {
      try {
        fd = fs.openSync(v2Dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      } catch (error) {
        throw fsFailure(error, 'open', 'open cgroup directory', v2Dir);
      }
    }
  } catch (error) {
    if (fd >= 0) fs.closeSync(fd);
    for (const dir of created.reverse()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // empty directories we made a moment ago: nothing else can hold them
      }
    }
    throw error;
  }
  const box = new BoxCgroup({ name: boxName, v2Dir, v1: v1Boxes, placement, skipped: plan.skipped, limits: checked, fd });
  if (ledger !== undefined) ownBoxCgroup(box, ledger);
  return box;
}

/** Gives `box` (made earlier, such as a tenant's spare leaf) to a spawn's ledger, as createBoxCgroup registers one it makes. */
export function ownBoxCgroup(box: BoxCgroup, ledger: Ledger): BoxCgroup {
  ledger.add(CGROUP_LEDGER.cgroup, () => box.release());
  if (box.dirFd >= 0) ledger.add(CGROUP_LEDGER.dirFd, () => box.closeDirFd());
  return box;
}

/**
 * An opened cgroup.procs file the parent writes the box's pid to
 * (unlessPlaced: skipped when clone3 placed the box already), or with `self`
 * a v1 `tasks` file the box child writes "0" to (see BoxCgroup.openAttachFds).
 */
export interface CgroupAttachFd {
  fd: number;
  hierarchy: string;
  path: string;
  unlessPlaced: boolean;
  self?: boolean;
}

/**
 * The box's cgroup as the plan takes it: the v2 directory for
 * CLONE_INTO_CGROUP (or -1) and the files to join it by.
 */
export interface BoxCgroupFds {
  dirFd: number;
  procs: readonly CgroupAttachFd[];
  /**
   * Joined once no process of the box shares Node's memory: the box child
   * is cloned like any box (CLONE_VM, in Node's cgroup), and the init joins
   * every hierarchy before it clones the payload (joinsCgroupLate). Without
   * it the child is cloned with memory of its own and joins first thing.
   */
  late?: boolean;
  /**
   * Joined late with a new cgroup namespace: a helper started ahead of the
   * spawn (lib/cgroups/namespace-helpers.ts) to make it, by its socket, and
   * whether it enters the box's own user namespace first (`user`: new or
   * pooled; not for a box without one). Without it the box child makes its
   * helper itself.
   */
  namespaceHelper?: { socket: number; user: boolean };
}

/**
 * Whether a box's cgroup is joined late (BoxCgroupFds.late): by its init,
 * with files the parent opened. The kernel checks the opener's credentials
 * and cgroup namespace only since Linux 5.16 (before, the box's root could
 * not write a host root's cgroup.procs: `kernelAllows`, that is
 * lateCgroupJoinRefusal() === undefined), and only an init can join. Not in
 * a joined pid namespace (`joinsPid`): the cgroup namespace's helper shares
 * Node's memory from its clone to its exec, and a process of that
 * namespace, another box's, could trace it meanwhile (an unprivileged
 * supervisor's boxes have its own host uid, and its memory stays dumpable).
 */
export function joinsCgroupLate(init: boolean, kernelAllows: boolean, joinsPid: boolean): boolean {
  return init && kernelAllows && !joinsPid;
}

/** Why this host's boxes are forked into their cgroups instead of joining them late (joinsCgroupLate), or undefined. */
export function lateCgroupJoinRefusal(): string | undefined {
  if (kernelAtLeast(5, 16)) return undefined;
  return `Linux ${os.release()}: the kernel checks a cgroup file's opener only since 5.16, so a box with a cgroup is forked into it`;
}

/** The parent's writes of the box's pid into its cgroup.procs files, in its window before the child goes on; `slot` gives each fd its plan slot. */
export function cgroupAttachSteps(cgroup: BoxCgroupFds | undefined, slot: (fd: number) => number): PlanStep[] {
  if (cgroup === undefined || cgroup.late === true) return [];
  return cgroup.procs.filter((entry) => entry.self !== true).map((entry) => step('writeCgroupProcs', { name: `attach to ${entry.hierarchy} cgroup`, syscall: 'write', kind: 'cgroup', path: entry.path, slot: slot(entry.fd) }, {
    unlessPlaced: entry.unlessPlaced,
  }));
}

/**
 * The box's joins of its cgroups, right after the parent's window: the box
 * child's own moves into its v1 cgroups (before it unshares or forks
 * anything), or, joined late, every hierarchy's file for the init (and the
 * cgroup namespace's helper) to write "0" to.
 */
export function cgroupJoinSteps(cgroup: BoxCgroupFds | undefined, slot: (fd: number) => number): PlanStep[] {
  if (cgroup === undefined) return [];
  if (cgroup.late === true) {
    return cgroup.procs.map((entry) => step('joinCgroupLate', { name: `join ${entry.hierarchy} cgroup`, syscall: 'write', kind: 'cgroup', path: entry.path, slot: slot(entry.fd) }, {}));
  }
  return cgroup.procs.filter((entry) => entry.self === true).map((entry) => step('joinCgroup', { name: `join ${entry.hierarchy} cgroup`, syscall: 'write', kind: 'cgroup', path: entry.path, slot: slot(entry.fd) }, {}));
}

/**
 * A new cgroup namespace for a box that joins its cgroup late: made by a
 * helper that stands in the box's cgroup (an exec of the init binary, so it
 * shares nothing of Node's), which the box child then enters: one started
 * ahead and waiting (BoxCgroupFds.namespaceHelper), or one the child starts.
 * After the box root's ids: a helper the child starts keeps its
 * capabilities in the box's user namespace across its exec only as uid 0
 * there (a waiting one enters that namespace with the supervisor's).
 */
export function cgroupNamespaceSteps(cgroup: BoxCgroupFds | undefined, newNamespace: boolean, initSlot: () => number | undefined, slot: (fd: number) => number): PlanStep[] {
  if (cgroup?.late !== true || !newNamespace) return [];
  const waiting = cgroup.namespaceHelper;
  if (waiting !== undefined) {
    return [step('takeCgroupNamespace', { name: 'take cgroup namespace', syscall: 'sendmsg', kind: 'clone', slot: slot(waiting.socket) }, { user: waiting.user })];
  }
  const init = initSlot();
  if (init === undefined) throw new Error('cordon: a late cgroup join needs the init');
  return [step('makeCgroupNamespace', { name: 'make cgroup namespace', syscall: 'unshare', kind: 'clone', slot: init }, {})];
}
