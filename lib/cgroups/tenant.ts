// Tenant cgroups: one cgroup that cordon makes once and several boxes join
// (a site, its cron jobs, a deploy shell), with limits that can change
// while they run and stats over all of them.
//
// Layout: `<box parent>/tenant-<name>` in the v2 hierarchy and in each v1
// hierarchy it joins; each box gets its own leaf under it (`box-...`), made
// before the clone and placed with CLONE_INTO_CGROUP on v2 as any box
// cgroup. The leaf is needed: on v2 a cgroup that hands controllers to its
// children may hold no process itself (the no-internal-processes rule), and
// the leaf keeps per-box kill (cgroup.kill), freeze, stats and limits. The
// tenant's limits bound the whole subtree; its stats are the kernel's
// hierarchical counters (v2 memory.current, cpu.stat, pids.current, io.stat;
// v1 memory.usage_in_bytes, cpuacct, pids.current, blkio ..._recursive).
//
// Joining: on v2 the box's process is cloned straight into its leaf by
// native/clone.cc's clone_into_cgroup (clone3 CLONE_INTO_CGROUP with the
// leaf's directory fd, handed over as runtime.cgroup.dirFd like any box
// cgroup's): no cgroup.procs write, and never with Node's memory. v1 has no
// clone-into: the only way without a write would be to fork from a process
// already in the tenant (a zygote), which cordon does not have; so each v1
// hierarchy takes one cgroup.procs write, through an fd opened before the
// clone, in the parent's window before the child's "go" (no path lookup).
//
// Spare leaves (options.spareLeaves): leaves made ahead of time, so a box
// that joins with no limits of its own takes a ready one (its directory fd
// open) and the mkdirs leave the spawn path. The next is made once no box
// has taken a leaf for a moment, not while a box starts. They are named as any
// box cgroup of this supervisor, so a sweep after a crash removes them as
// it removes ended boxes' leaves, and the tenant's removal takes them.
// A sweep that cannot see this supervisor's record (one in another pid
// namespace sharing the state directory, or none at all) takes empty box
// cgroups older than LEFTOVER_GRACE_MS, spares too, even between a take
// and an async spawn's clone: spares are therefore made anew in the
// background before they are a third of that old, and used only while
// younger than half of it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CordonError, CordonOptionError } from '../errors';
import { checkInteger, conflict, rejectUnknownKeys } from '../internal/checks';
import { ensureStateDir, identityOf, liveness, removeRecord, type TenantRecord, tenantRecords, writeRecord } from '../state';
import type { Ledger } from '../internal/resources';
import { BoxCgroup, type CgroupStats, createBoxCgroup, ownBoxCgroup } from './box';
import { CgroupError, fsFailure, sleepSync, unsupported, writeCgroupFile } from './fsio';
import { type CgroupLimits, controllersFor, V1_NAME, v1Writes, v2Writes, validateLimits } from './limits';
import { type ParentChoice, type V1Parent, validateCgroupName, validateCgroupParent } from './parent';
import { sharedParent } from './shared-parent';
import { atProcessExit, LEFTOVER_GRACE_MS } from '../cleanup';

export interface TenantCgroupOptions {
  /** The box cgroup parent the tenant cgroup is made under (as the spawn option); default: the default parent. */
  cgroupParent?: string;
  /**
   * Leaves to keep made ahead of time, 0 to 64 (default 0). A box that joins
   * with `cgroup: tenant` (no limits of its own) takes a ready leaf instead
   * of making one while it starts, and the tenant makes the next once no
   * box has taken a leaf for 10 ms. Each spare is an empty cgroup directory in every
   * hierarchy the tenant joined, with one open directory fd; spares go with
   * the tenant (close(), process exit, or a sweep after a crash).
   */
  spareLeaves?: number;
}

const MAX_SPARE_LEAVES = 64;
// A spare is taken only while younger than this: far from the age at which
// a sweep may take an empty box cgroup whose supervisor it cannot see.
const SPARE_MAX_AGE_MS = LEFTOVER_GRACE_MS / 2;
// Idle spares are made anew at this age (an unref'd timer).
const SPARE_RENEW_AGE_MS = LEFTOVER_GRACE_MS / 3;
// How long no box of the tenant must have taken a leaf before spares are made again.
const SPARE_REFILL_QUIET_MS = 10;

/** Where a tenant cgroup lives in each hierarchy. */
export interface TenantCgroupPath {
  /** The v2 directory, when v2 is used. */
  v2?: string;
  /** v1 directories by controller (co-mounted ones share one). */
  v1: Record<string, string>;
}

// v1 controllers a tenant joins when the host has them, so that update()
// can set any limit later without moving running boxes.
const V1_TENANT_CONTROLLERS = ['memory', 'cpu', 'pids', 'blkio'];
const V2_TENANT_CONTROLLERS = ['memory', 'cpu', 'pids', 'io'];

const open = new Map<string, TenantCgroup>();
const closing = new WeakMap<TenantCgroup, () => void>();

/** A shared cgroup for several boxes. Create with createTenantCgroup(). */
export class TenantCgroup {
  /** The name given. */
  readonly name: string;
  /** Its directories. */
  readonly path: TenantCgroupPath;
  /** Whether close() has removed it. */
  closed = false;

  readonly #group: BoxCgroup;
  readonly #parent: ParentChoice;
  readonly #key: string;
  #record: string | undefined;
  #limits: CgroupLimits;
  readonly #spareLeaves: number;
  readonly #spares: { leaf: BoxCgroup; madeAt: number }[] = [];
  #refill: NodeJS.Timeout | undefined;

  /** @internal */
  constructor(name: string, key: string, group: BoxCgroup, parent: ParentChoice, limits: CgroupLimits, record: string | undefined, spareLeaves = 0) {
    this.name = name;
    this.#key = key;
    this.#group = group;
    this.#parent = parent;
    this.#limits = limits;
    this.#record = record;
    this.#spareLeaves = spareLeaves;
    const v1: Record<string, string> = {};
    for (const entry of group.v1) for (const controller of entry.controllers) v1[controller] = entry.dir;
    this.path = group.v2Dir === undefined ? { v1 } : { v2: group.v2Dir, v1 };
  }

  /** The limits written so far (the creation's, updated by update()). */
  get limits(): CgroupLimits {
    return this.#limits;
  }

  /**
   * Changes limits while boxes run: writes the kernel files of each
   * controller named (others keep their values). Bad limits throw a
   * CordonOptionError; a controller the tenant did not join, or a write
   * the kernel refuses (e.g. EBUSY lowering memory.max below use), throws a
   * CgroupError naming the file.
   */
  update(limits: CgroupLimits): void {
    this.#checkOpen('update');
    const checked = validateLimits(limits, 'limits');
    for (const logical of controllersFor(checked)) {
      const where = this.#group.placement[logical === 'io' && this.#group.placement.io === undefined ? 'blkio' : logical];
      let dir: string | undefined;
      let writes;
      if (where === 'v2' && this.#group.v2Dir !== undefined) {
        dir = this.#group.v2Dir;
        const inDir = dir;
        writes = v2Writes(logical, checked, (file) => fs.existsSync(`${inDir}/${file}`));
      } else {
        dir = this.#group.v1Dir(V1_NAME[logical]);
        if (dir === undefined) throw unsupported(logical, `the tenant cgroup ${this.name} has no ${logical} controller (it joins memory, cpu, pids and io where the host offers them)`, this.#group.dirs[0]);
        const inDir = dir;
        writes = v1Writes(logical, checked, (file) => fs.existsSync(`${inDir}/${file}`));
      }
      if (typeof writes === 'string') throw unsupported(logical, writes, dir);
      for (const write of writes) writeCgroupFile(path.join(dir, write.file), write.value, `write ${write.file} (limits.${write.option})`, write.controller);
      this.#limits = { ...this.#limits, [logical]: { ...(this.#limits[logical] as object | undefined), ...(checked[logical] as object) } };
    }
  }

  /** Resource use of every box in the tenant together (the kernel's hierarchical counters). */
  stats(): CgroupStats {
    return this.#group.stats();
  }

  /** The pids of every process in the tenant's boxes. */
  procs(): number[] {
    return this.#group.procs();
  }

  /**
   * Removes the tenant cgroup. With boxes still in it, rejects with a
   * CordonError EBUSY naming them, or, with `wait: true`, waits (up to
   * timeoutMs, default unlimited) for them to end first. Idempotent.
   */
  async close(options: { wait?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let pause = 5;
    while (this.#group.populated()) {
      if (options.wait !== true || Date.now() >= deadline) {
        const pids = this.procs();
        throw new CordonError('EBUSY', `tenant cgroup ${this.name} still has ${pids.length} process(es) (${pids.slice(0, 5).join(', ')}): end its boxes first, or close({ wait: true })`, {
          errno: -16, syscall: 'rmdir', step: 'close tenant cgroup', path: this.#group.dirs[0] ?? '',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 100);
    }
    this.#removeSync(2000);
  }

  /**
   * @internal A box's leaf, given to its spawn's ledger: a spare one when
   * the box has no limits of its own and one is ready, else made now.
   */
  _leaf(limits: CgroupLimits, ledger: Ledger): BoxCgroup {
    this.#checkOpen('spawn a box in');
    if (this.#spareLeaves > 0 && controllersFor(limits).length === 0) {
      const spare = this.#takeSpare();
      this.#scheduleRefill();
      if (spare !== undefined) return ownBoxCgroup(spare, ledger);
    }
    return this.#makeLeaf(limits, ledger);
  }

  /** A new leaf under the tenant, in the v1 hierarchies the tenant's limits need (given to `ledger` when there is one). */
  #makeLeaf(limits: CgroupLimits, ledger?: Ledger): BoxCgroup {
    return createBoxCgroup(this.#parent, undefined, limits, ledger, { controllers: this.#boxControllers() });
  }

  /** @internal The spare leaves ready now (tests). */
  get _spareCount(): number {
    return this.#spares.length;
  }

  /**
   * @internal Makes spare leaves up to the number asked for, first
   * replacing those due for renewal, and sets the timer for the next
   * renewal. A failure stops the filling (a box's own spawn then makes
   * its leaf, and reports what fails).
   */
  _fillSpares(): void {
    this.#setTimer(undefined);
    if (this.closed) return;
    while (this.#spares.length > 0 && Date.now() - this.#spares[0]!.madeAt >= SPARE_RENEW_AGE_MS) this.#spares.shift()!.leaf.release();
    while (this.#spares.length < this.#spareLeaves) {
      try {
        this.#spares.push({ leaf: this.#makeLeaf({}), madeAt: Date.now() });
      } catch {
        break;
      }
    }
    const oldest = this.#spares[0];
    if (oldest !== undefined) this.#setTimer(Math.max(0, oldest.madeAt + SPARE_RENEW_AGE_MS - Date.now()));
  }

  #takeSpare(): BoxCgroup | undefined {
    for (;;) {
      const spare = this.#spares.shift();
      if (spare === undefined) return undefined;
      // Young (the renewal timer may have been held up by a busy loop), and
      // still there: one stat of its first directory (a sweep removes that
      // one first) finds one that something removed anyway.
      if (Date.now() - spare.madeAt < SPARE_MAX_AGE_MS && fs.existsSync(spare.leaf.dirs[0]!)) return spare.leaf;
      spare.leaf.release();
    }
  }

  // Each take puts the refill off again: leaves are made once no box of the
  // tenant has started for a moment, not while one is starting (a mkdir
  // and a clone into a cgroup take the same kernel locks).
  #scheduleRefill(): void {
    this.#setTimer(SPARE_REFILL_QUIET_MS);
  }

  /** The one timer of the spares (refill or renewal), set to `ms` from now, or cleared. */
  #setTimer(ms: number | undefined): void {
    if (this.#refill !== undefined) clearTimeout(this.#refill);
    this.#refill = undefined;
    if (ms === undefined) return;
    this.#refill = setTimeout(() => this._fillSpares(), ms);
    this.#refill.unref();
  }

  #dropSpares(): void {
    this.#setTimer(undefined);
    for (const spare of this.#spares.splice(0)) spare.leaf.releaseSync(500);
  }

  /** The v1 controllers a box must join (the tenant's), so the tenant's v1 limits cover it. */
  #boxControllers(): string[] {
    return this.#group.v1.flatMap((entry) => entry.controllers.filter((controller) => V1_TENANT_CONTROLLERS.includes(controller)).slice(0, 1));
  }

  /** @internal At process exit: removed if empty (boxes that outlive this process keep it, with its record). */
  _removeIfEmpty(): void {
    if (this.closed) return;
    this.#dropSpares();
    if (!this.#group.populated()) this.#removeSync(500);
  }

  #removeSync(timeoutMs: number): void {
    this.#dropSpares();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left: { dir: string; error: unknown }[] = [];
      for (const dir of this.#group.dirs) {
        try {
          // Leaves of boxes that ended (their own ledgers remove them too).
          for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) fs.rmdirSync(path.join(dir, entry.name));
          fs.rmdirSync(dir);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') left.push({ dir, error });
        }
      }
      if (left.length === 0) break;
      const busy = left.every((entry) => ['EBUSY', 'ENOTEMPTY'].includes((entry.error as NodeJS.ErrnoException).code ?? ''));
      if (!busy || Date.now() >= deadline) throw fsFailure(left[0]!.error, 'rmdir', 'close tenant cgroup', left[0]!.dir);
      sleepSync(5);
    }
    this.closed = true;
    open.delete(this.#key);
    closing.get(this)?.();
    if (this.#record !== undefined) removeRecord(this.#record);
    this.#record = undefined;
  }

  #checkOpen(what: string): void {
    if (this.closed) throw new CordonError('ERR_CORDON_TENANT_CLOSED', `cannot ${what} tenant cgroup ${this.name}: it is closed`);
  }
}

function viewOf(tenant: BoxCgroup, parent: ParentChoice): ParentChoice {
  const v1Parent = (controller: string): V1Parent => {
    const entry = tenant.v1.find((candidate) => candidate.controllers.includes(controller));
    if (entry === undefined) throw unsupported(controller, `the tenant cgroup ${tenant.name} did not join it`);
    return { controllers: [...entry.controllers], dir: entry.dir, source: 'configured', created: false };
  };
  const view: ParentChoice = {
    host: parent.host,
    ...(tenant.v2Dir === undefined ? {} : { v2: { dir: tenant.v2Dir, source: 'configured' as const, created: false, containsSelf: false } }),
    ...(parent.v2Reason === undefined ? {} : { v2Reason: parent.v2Reason }),
    v1Enabled: tenant.v1.length > 0,
    v1: v1Parent,
    v1Parents: () => tenant.v1.map((entry) => v1Parent(entry.controllers[0]!)),
    release: () => [],
    removeEmpty: () => ({ removed: [], errors: [] }),
    recover: () => false,
    existingDirs: () => (tenant.v2Dir === undefined ? { v1: tenant.v1.map((entry) => ({ controllers: [...entry.controllers], dir: entry.dir })) } : { v2: tenant.v2Dir, v1: tenant.v1.map((entry) => ({ controllers: [...entry.controllers], dir: entry.dir })) }),
  };
  return view;
}

/** The controllers a v2 parent offers (those of its own parent: a default parent made again offers the same). */
function offeredControllers(parent: ParentChoice, dir: string): string[] {
  const file = `${dir}/cgroup.controllers`;
  try {
    return fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch (error) {
    // Another supervisor, the last to leave, removed the default parent since this process took it.
    if (!parent.recover()) throw fsFailure(error, 'open', 'read cgroup.controllers', file);
    return offeredControllers(parent, dir);
  }
}

/**
 * Makes (or, when a dead supervisor left it, takes over) the tenant cgroup
 * `tenant-<name>` under the box cgroup parent, with `limits`, for boxes to
 * join with `cgroup: tenant` or `cgroup: { tenant, ...ownLimits }`. It
 * joins every controller the host offers among memory, cpu, pids and io
 * (blkio on v1), so update() can set any of them later.
 *
 * Throws a CordonOptionError for a bad name, limits or options; a
 * CgroupError when the host has no usable cgroup (unprivileged callers
 * usually have none delegated: the error says so) or a limit's controller
 * is missing; a CordonError EBUSY when a live process (this one included)
 * has the tenant open already.
 */
export function createTenantCgroup(name: string, limits: CgroupLimits = {}, options: TenantCgroupOptions = {}): TenantCgroup {
  validateCgroupName(name, 'name');
  const checked = validateLimits(limits, 'limits');
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'options', 'The "options" argument must be an object');
  rejectUnknownKeys(options as Record<string, unknown>, ['cgroupParent', 'spareLeaves'], 'options');
  const configured = options.cgroupParent === undefined ? undefined : validateCgroupParent(options.cgroupParent);
  const spareLeaves = checkInteger('options.spareLeaves', options.spareLeaves ?? 0, 0, MAX_SPARE_LEAVES);
  const dirName = `tenant-${name}`;
  const key = `${configured ?? ''}\0${name}`;
  if (open.has(key)) {
    throw new CordonError('EBUSY', `tenant cgroup ${name} is open in this process already`, { errno: -16, syscall: 'mkdir', step: 'create tenant cgroup', path: open.get(key)!.path.v2 ?? '' });
  }
  const parent = sharedParent(configured);
  // One record per tenant cgroup: its name, and which parent when not the default one.
  const recordName = configured === undefined ? name : `${name}@${createHash('sha256').update(configured).digest('hex').slice(0, 12)}`;
  const existing = tenantRecords().find((entry) => path.basename(entry.file) === `${recordName}.json`);
  if (existing !== undefined && liveness(existing.record.owner) !== 'dead' && existing.record.owner.pid !== process.pid) {
    throw new CordonError('EBUSY', `tenant cgroup ${name} belongs to process ${existing.record.owner.pid}, which still runs (or cannot be checked from this pid namespace)`, {
      errno: -16, syscall: 'mkdir', step: 'create tenant cgroup', path: existing.file,
    });
  }

  // Controllers it joins: those the limits need (must be had), and the rest of the usual four where offered.
  const v2Offered = parent.v2 === undefined ? [] : offeredControllers(parent, parent.v2.dir);
  const extra = [
    ...V2_TENANT_CONTROLLERS.filter((controller) => v2Offered.includes(controller)),
    ...V1_TENANT_CONTROLLERS.filter((controller) => parent.v1Enabled && parent.host.v1[controller] !== undefined && !v2Offered.includes(controller === 'blkio' ? 'io' : controller)),
  ];
  const usable = extra.filter((controller) => {
    if (v2Offered.includes(controller)) return true;
    try {
      parent.v1(controller);
      return true;
    } catch {
      return false;
    }
  });
  let group: BoxCgroup;
  try {
    group = createBoxCgroup(parent, dirName, checked, undefined, { openDirFd: false, controllers: usable });
  } catch (error) {
    if (!(error instanceof CgroupError) || error.code !== 'EEXIST') throw error;
    // Left by a supervisor that is gone (its boxes may still run in it): take it over.
    const dirs = parent.existingDirs();
    const v2Dir = dirs.v2 !== undefined && fs.existsSync(path.join(dirs.v2, dirName)) ? path.join(dirs.v2, dirName) : undefined;
    const v1 = dirs.v1.filter((entry) => fs.existsSync(path.join(entry.dir, dirName))).map((entry) => ({ controllers: entry.controllers, dir: path.join(entry.dir, dirName) }));
    group = BoxCgroup.existing(dirName, v2Dir, v1);
  }
  let record: string | undefined;
  try {
    const stateDir = ensureStateDir('tenants');
    const owner = identityOf(process.pid);
    if (stateDir !== undefined && owner !== undefined) {
      const content: TenantRecord = { name, owner, dirs: group.dirs };
      record = writeRecord(stateDir, recordName, content);
    }
  } catch (error) {
    process.emitWarning(`cordon: cannot record tenant cgroup ${name}: ${(error as Error).message}`, { code: 'CORDON_STATE_RECORD' });
  }
  const tenant = new TenantCgroup(name, key, group, viewOf(group, parent), checked, record, spareLeaves);
  if (existing !== undefined && record === undefined) removeRecord(existing.file);
  try {
    tenant.update(checked); // a taken-over tenant gets this creation's limits
  } catch (error) {
    tenant._removeIfEmpty();
    throw error;
  }
  open.set(key, tenant);
  const unregister = atProcessExit('groups', () => tenant._removeIfEmpty());
  closing.set(tenant, unregister);
  tenant._fillSpares();
  return tenant;
}

/** Whether a value is a tenant cgroup (the spawn option's check). */
export function isTenantCgroup(value: unknown): value is TenantCgroup {
  return value instanceof TenantCgroup;
}

/** The tenant cgroups this process has open. */
export function openTenants(): TenantCgroup[] {
  return [...open.values()];
}

/** The spawn option `cgroup`: limits, a tenant cgroup, or `{ tenant, ...limits }` (the box's own limits in the tenant). Throws a CordonOptionError. */
export function validateCgroupOption(value: unknown): { limits: CgroupLimits | undefined; tenant: TenantCgroup | undefined } {
  if (value === undefined) return { limits: undefined, tenant: undefined };
  if (isTenantCgroup(value)) {
    if (value.closed) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', 'cgroup', `The "cgroup" option names tenant cgroup ${value.name}, which is closed`);
    return { limits: {}, tenant: value };
  }
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'tenant')) {
    const { tenant, ...limits } = value as { tenant: unknown };
    if (!isTenantCgroup(tenant)) throw new CordonOptionError('ERR_INVALID_ARG_TYPE', 'cgroup.tenant', 'The "cgroup.tenant" option must be a tenant cgroup from createTenantCgroup()');
    if (tenant.closed) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', 'cgroup.tenant', `The "cgroup.tenant" option names tenant cgroup ${tenant.name}, which is closed`);
    return { limits: validateLimits(limits, 'cgroup'), tenant };
  }
  return { limits: validateLimits(value, 'cgroup'), tenant: undefined };
}

/** The spawn options `cgroup` and `cgroupParent`: the box's own cgroup, where it is made (a tenant's, or under cgroupParent). */
export function validateBoxCgroupOptions(o: { cgroup?: unknown; cgroupParent?: unknown }): {
  cgroup: CgroupLimits | undefined;
  cgroupTenant: TenantCgroup | undefined;
  cgroupParent: string | undefined;
} {
  const { limits: cgroup, tenant: cgroupTenant } = validateCgroupOption(o.cgroup);
  const cgroupParent = o.cgroupParent === undefined ? undefined : validateCgroupParent(o.cgroupParent, 'cgroupParent');
  if (cgroupParent !== undefined && cgroupTenant !== undefined) {
    throw conflict('cgroupParent', 'a box in a tenant cgroup is made under the tenant: give cgroupParent to createTenantCgroup() instead');
  }
  if (cgroupParent !== undefined && cgroup === undefined) {
    throw conflict('cgroupParent', 'cgroupParent needs cgroup (the limits, or {} for a cgroup without limits)');
  }
  return { cgroup, cgroupTenant, cgroupParent };
}
