// Where box cgroups go: a configured parent, a delegated subtree, or (root)
// a `cordon` cgroup created for them. Never a cgroup cordon was not given or
// did not create: the only foreign cgroup files it writes are the configured
// or delegated parent's own cgroup.subtree_control (and, with moveSelf, the
// move of this very process).
//
// The default parent (`<mount>/<name>`, source `created`) is every root
// supervisor's at once, with no record of who made it: each removes it when
// it is empty (removeEmpty, at exit and after cleanup()'s sweep), so the
// last to leave takes it, and one that finds it gone under it makes it again
// (recover). rmdir refusing a cgroup with children or processes is the only
// "in use" signal needed; nothing is ever removed recursively.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CordonOptionError } from '../errors';
import { CgroupError, canWrite, fsFailure, isDirectory, readOptional, readPids, unsupported, writeCgroupFile } from './fsio';
import { cgroupDir, type CgroupHost, type V1Hierarchy } from './host';

export type ParentSource = 'configured' | 'delegated' | 'created';

export interface V2Parent {
  /** The directory boxes are created in. */
  dir: string;
  source: ParentSource;
  /** This choice made the directory (findParent, or recover() after another process removed it). */
  created: boolean;
  /** This process lives in it (a delegated own cgroup it was not told to leave). */
  containsSelf: boolean;
}

export interface V1Parent {
  /** The controllers of the hierarchy (co-mounted ones share the directory). */
  controllers: string[];
  dir: string;
  source: ParentSource;
  created: boolean;
}

export interface FindParentOptions {
  /**
   * The parent to use: a cgroup path as /proc/self/cgroup shows it
   * (`/system.slice/app.service/boxes`), resolved in the v2 hierarchy and in
   * each v1 hierarchy that is needed, or a directory under a cgroup mount
   * (`/sys/fs/cgroup/boxes`). It must exist and be writable; cordon does not
   * create it. Without it: a delegated own cgroup, else (root) `name`.
   */
  cgroupParent?: string;
  /** The parent cordon creates as root, under each hierarchy's root. Default `cordon`. */
  name?: string;
  /** Use the v2 hierarchy (default: when mounted). */
  v2?: boolean;
  /** Use v1 hierarchies for controllers v2 does not offer (default: when mounted). */
  v1?: boolean;
  /**
   * Root only: the own v2 cgroup is delegated (systemd Delegate=yes), use it.
   * Root owns every cgroup, so ownership cannot tell; unprivileged callers are
   * detected by ownership (the delegatee owns the directory, cgroup.procs and
   * cgroup.subtree_control).
   */
  useOwnCgroup?: boolean;
  /**
   * v2, own delegated cgroup only: move this process into a leaf child (this
   * name, or `supervisor` for `true`) so that the own cgroup holds no process
   * and may enable controllers for the boxes (the no-internal-processes rule).
   * Fails if other processes stay behind. Off by default: cordon never moves
   * the Node process unless told to.
   */
  moveSelf?: boolean | string;
  /** v1 controllers to resolve now rather than on first use (errors surface here). */
  controllers?: readonly string[];
}

export interface ParentChoice {
  readonly host: CgroupHost;
  /** The v2 parent, when v2 is used. */
  readonly v2?: V2Parent;
  /** Why v2 is not used, when it is not. */
  readonly v2Reason?: string;
  /** Whether v1 hierarchies may be used. */
  readonly v1Enabled: boolean;
  /** The v1 parent for a controller, resolved (and, as root, created) on first use. Throws a CgroupError. */
  v1(controller: string): V1Parent;
  /** The v1 parents resolved so far. */
  v1Parents(): V1Parent[];
  /**
   * At this process's exit: removeEmpty(). Errors other than "busy" are
   * returned.
   */
  release(): Error[];
  /**
   * Removes what of this choice is empty: the default parents (source
   * `created`) in every hierarchy, whichever process made them (the
   * default parent is shared; rmdir fails with EBUSY or ENOTEMPTY while a
   * box cgroup, a tenant or a process is in it, and then it stays), and
   * the directories this choice made (the moveSelf leaf). Never a
   * configured or delegated parent. The choice stays usable: recover()
   * makes a default parent again.
   */
  removeEmpty(): { removed: string[]; errors: CgroupError[] };
  /**
   * After a failure: whether a default parent in use was removed (or made
   * anew) by another process since this choice last saw it, in which case
   * it is made again (when missing) and the caller may retry. Throws a
   * CgroupError when it cannot be made.
   */
  recover(): boolean;
  /**
   * The directories box cgroups of this choice live in, in every hierarchy,
   * that exist now (v2 first; v1 ones by the same rules as v1(), but never
   * created): where a sweep looks for what dead supervisors left.
   */
  existingDirs(): { v2?: string; v1: { controllers: string[]; dir: string }[] };
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;

/** Checks a cgroupParent option (absolute, no `..`, no NUL). Throws a CordonOptionError. */
export function validateCgroupParent(value: unknown, option = 'cgroupParent'): string {
  if (typeof value !== 'string') {
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', option, `The "${option}" option must be a string. Received type ${value === null ? 'null' : typeof value}`);
  }
  if (value.includes('\0')) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option must be a string without null bytes`);
  if (!value.startsWith('/')) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option must be an absolute path. Received ${JSON.stringify(value)}`);
  if (value.split('/').includes('..')) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', option, `The "${option}" option must not contain "..". Received ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '') || '/';
}

/** Checks a cgroup name: one path component, not hidden, not a control file name. */
export function validateCgroupName(value: unknown, option = 'name'): string {
  if (typeof value !== 'string') {
    throw new CordonOptionError('ERR_INVALID_ARG_TYPE', option, `The "${option}" option must be a string. Received type ${value === null ? 'null' : typeof value}`);
  }
  if (!NAME.test(value) || value.startsWith('cgroup.')) {
    throw new CordonOptionError(
      'ERR_INVALID_ARG_VALUE',
      option,
      `The "${option}" option must be one path component of letters, digits, '_', '.', '-' (not starting with '.' or 'cgroup.'). Received ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The directory a configured parent names in a hierarchy mounted at `mount`. */
function configuredDir(host: CgroupHost, configured: string, mount: string, mountRoot: string): string | undefined {
  const mounts = [host.v2?.mount, ...Object.values(host.v1).map((hierarchy) => hierarchy.mount)].filter(
    (candidate): candidate is string => candidate !== undefined,
  );
  // A directory under some cgroup mount: the same relative place in this one.
  const under = mounts.filter((candidate) => configured === candidate || configured.startsWith(`${candidate}/`)).sort((a, b) => b.length - a.length)[0];
  if (under !== undefined) {
    const relative = configured.slice(under.length) || '/';
    return relative === '/' ? mount : path.join(mount, relative);
  }
  return cgroupDir(mount, mountRoot, configured);
}

function mkdirOwn(dir: string, step: string, controller?: string): boolean {
  try {
    fs.mkdirSync(dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(dir)) return false;
    throw fsFailure(error, 'mkdir', step, dir, controller);
  }
}

function checkWritableParent(dir: string, what: string, controller?: string): void {
  if (!isDirectory(dir)) {
    throw new CgroupError('ENOENT', `stat ENOENT: 'find cgroup parent' ${dir} failed (${what} does not exist; cordon does not create a configured parent)`, {
      errno: -2, syscall: 'stat', step: 'find cgroup parent', path: dir, ...(controller === undefined ? {} : { controller }),
    });
  }
  if (!fs.existsSync(`${dir}/cgroup.procs`)) {
    throw new CgroupError('ENOTDIR', `stat ENOTDIR: 'find cgroup parent' ${dir} failed (${what} is not a cgroup directory)`, {
      errno: -20, syscall: 'stat', step: 'find cgroup parent', path: dir, ...(controller === undefined ? {} : { controller }),
    });
  }
  if (!canWrite(dir) || !canWrite(`${dir}/cgroup.procs`)) {
    throw new CgroupError('EACCES', `access EACCES: 'find cgroup parent' ${dir} failed (${what} is not writable by uid ${process.geteuid?.() ?? '?'}: not delegated)`, {
      errno: -13, syscall: 'access', step: 'find cgroup parent', path: dir, ...(controller === undefined ? {} : { controller }),
      hint: 'delegate it (chown the directory, cgroup.procs, cgroup.subtree_control and cgroup.threads to the user) or run as root',
    });
  }
}

function inodeOf(dir: string): number | undefined {
  try {
    return fs.statSync(dir).ino;
  } catch {
    return undefined;
  }
}

function ownedBy(file: string, uid: number): boolean {
  try {
    return fs.statSync(file).uid === uid;
  } catch {
    return false;
  }
}

class Choice implements ParentChoice {
  v2?: V2Parent;
  v2Reason?: string;
  readonly v1Enabled: boolean;
  private readonly v1Cache = new Map<string, V1Parent>();
  private readonly createdDirs: string[] = [];
  /** The inode of each default parent directory when this choice last made or found it. */
  private readonly seen = new Map<string, number>();

  constructor(readonly host: CgroupHost, private readonly options: FindParentOptions) {
    this.v1Enabled = options.v1 !== false && Object.keys(host.v1).length > 0;
  }

  noteCreated(dir: string): void {
    this.createdDirs.push(dir);
  }

  /** Notes a default parent's inode, to tell later whether another process removed it. */
  noteDefault(dir: string): void {
    const inode = inodeOf(dir);
    if (inode !== undefined) this.seen.set(dir, inode);
  }

  private changedSinceSeen(dir: string): boolean {
    return inodeOf(dir) !== this.seen.get(dir);
  }

  v1(controller: string): V1Parent {
    const hierarchy = this.host.v1[controller];
    if (hierarchy === undefined) {
      const offered = this.host.v2?.rootControllers.includes(controller);
      throw unsupported(controller, `it is not mounted as a cgroup v1 hierarchy${offered ? ' (cgroup v2 offers it: use the v2 parent)' : ''}`);
    }
    if (!this.v1Enabled) throw unsupported(controller, 'cgroup v1 hierarchies are not used (findParent v1: false)');
    const cached = this.v1Cache.get(hierarchy.mount);
    if (cached !== undefined) return cached;
    const parent = this.resolveV1(controller, hierarchy);
    this.v1Cache.set(hierarchy.mount, parent);
    return parent;
  }

  private resolveV1(controller: string, hierarchy: V1Hierarchy): V1Parent {
    const { cgroupParent } = this.options;
    const euid = this.host.euid;
    if (cgroupParent !== undefined) {
      const dir = configuredDir(this.host, cgroupParent, hierarchy.mount, hierarchy.mountRoot);
      if (dir === undefined) throw unsupported(controller, `the configured parent ${cgroupParent} lies outside the ${controller} hierarchy mounted at ${hierarchy.mount}`);
      checkWritableParent(dir, `the configured parent in the ${controller} hierarchy`, controller);
      return { controllers: hierarchy.controllers, dir, source: 'configured', created: false };
    }
    if (euid !== 0 && hierarchy.ownDir !== undefined && hierarchy.ownPath !== '/' && hierarchy.ownUid === euid && hierarchy.ownWritable) {
      return { controllers: hierarchy.controllers, dir: hierarchy.ownDir, source: 'delegated', created: false };
    }
    if (euid === 0) {
      const dir = path.join(hierarchy.mount, this.options.name ?? 'cordon');
      const created = mkdirOwn(dir, 'create cgroup parent', controller);
      this.noteDefault(dir);
      if (hierarchy.controllers.includes('cpuset')) {
        // A new v1 cpuset cgroup has no CPUs and no memory nodes: nothing could join it.
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          if ((readOptional(`${dir}/${file}`) ?? '') !== '') continue;
          writeCgroupFile(`${dir}/${file}`, readOptional(`${hierarchy.mount}/${file}`) ?? '', `write ${file}`, 'cpuset');
        }
      }
      return { controllers: hierarchy.controllers, dir, source: 'created', created };
    }
    throw unsupported(
      controller,
      `no writable parent in the ${controller} hierarchy: not root, and the own cgroup ${hierarchy.ownPath} is not delegated to uid ${euid}` +
        (hierarchy.ownUid === undefined ? '' : ` (owned by uid ${hierarchy.ownUid})`),
      hierarchy.ownDir,
      'pass a delegated cgroupParent or run as root',
    );
  }

  v1Parents(): V1Parent[] {
    return [...this.v1Cache.values()];
  }

  existingDirs(): { v2?: string; v1: { controllers: string[]; dir: string }[] } {
    const v1: { controllers: string[]; dir: string }[] = [];
    const seen = new Set<string>();
    if (this.v1Enabled) {
      for (const hierarchy of Object.values(this.host.v1)) {
        if (seen.has(hierarchy.mount)) continue;
        seen.add(hierarchy.mount);
        const cached = this.v1Cache.get(hierarchy.mount);
        let dir = cached?.dir;
        if (dir === undefined) {
          const { cgroupParent } = this.options;
          if (cgroupParent !== undefined) dir = configuredDir(this.host, cgroupParent, hierarchy.mount, hierarchy.mountRoot);
          else if (this.host.euid === 0) dir = path.join(hierarchy.mount, this.options.name ?? 'cordon');
          else if (hierarchy.ownDir !== undefined && hierarchy.ownPath !== '/' && hierarchy.ownUid === this.host.euid && hierarchy.ownWritable) dir = hierarchy.ownDir;
        }
        if (dir !== undefined && isDirectory(dir)) v1.push({ controllers: hierarchy.controllers, dir });
      }
    }
    return this.v2 === undefined ? { v1 } : { v2: this.v2.dir, v1 };
  }

  /** The default parent's directory in every hierarchy this choice uses it in (as root without a configured parent), existing or not. */
  private defaultDirs(): string[] {
    const dirs: string[] = [];
    if (this.v2?.source === 'created') dirs.push(this.v2.dir);
    if (this.v1Enabled && this.options.cgroupParent === undefined && this.host.euid === 0) {
      for (const mount of new Set(Object.values(this.host.v1).map((hierarchy) => hierarchy.mount))) {
        dirs.push(path.join(mount, this.options.name ?? 'cordon'));
      }
    }
    return dirs;
  }

  removeEmpty(): { removed: string[]; errors: CgroupError[] } {
    const removed: string[] = [];
    const errors: CgroupError[] = [];
    for (const dir of [...[...this.createdDirs].reverse(), ...this.defaultDirs()]) {
      try {
        fs.rmdirSync(dir);
        removed.push(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Busy: a box cgroup, a tenant or a process is in it (another supervisor's, maybe): it stays.
        if (code === 'ENOENT' || code === 'EBUSY' || code === 'ENOTEMPTY') continue;
        errors.push(fsFailure(error, 'rmdir', 'remove cgroup parent', dir));
      }
    }
    this.createdDirs.splice(0, this.createdDirs.length, ...this.createdDirs.filter((dir) => !removed.includes(dir)));
    return { removed, errors };
  }

  release(): Error[] {
    const { errors } = this.removeEmpty();
    this.v1Cache.clear();
    return errors;
  }

  recover(): boolean {
    let changed = false;
    const v2 = this.v2;
    if (v2?.source === 'created' && this.changedSinceSeen(v2.dir)) {
      if (mkdirOwn(v2.dir, 'create cgroup parent')) v2.created = true;
      this.noteDefault(v2.dir);
      changed = true;
    }
    for (const [mount, parent] of [...this.v1Cache]) {
      if (parent.source !== 'created' || !this.changedSinceSeen(parent.dir)) continue;
      // Resolved again: made (with a cpuset's CPUs and memory nodes) when missing.
      this.v1Cache.delete(mount);
      this.v1(parent.controllers[0]!);
      changed = true;
    }
    return changed;
  }
}

/**
 * Chooses the parent cgroup(s) for boxes. v2 (when mounted and not turned
 * off): the configured `cgroupParent`; else the own cgroup when it is
 * delegated (unprivileged: owned by this uid; root: `useOwnCgroup`); else,
 * as root, `<v2 mount>/cordon` (created if missing, reused if there,
 * removed by removeEmpty() when empty whoever made it).
 * v1 parents are resolved per hierarchy on first use by the same rules.
 * Throws a CgroupError naming the reason when nothing is usable: on a pure v2
 * host when v2 is not usable, in v1 when a controller asked for in
 * `controllers` is not, and always for a bad configured parent.
 *
 * The choice is meant to be made once per process and shared by its boxes.
 * Call `detectCgroups()` again after `moveSelf`: the own cgroup changed.
 */
export function findParent(host: CgroupHost, options: FindParentOptions = {}): ParentChoice {
  const normalized: FindParentOptions = { ...options };
  if (options.cgroupParent !== undefined) normalized.cgroupParent = validateCgroupParent(options.cgroupParent);
  if (options.name !== undefined) normalized.name = validateCgroupName(options.name, 'name');
  if (typeof options.moveSelf === 'string') validateCgroupName(options.moveSelf, 'moveSelf');
  if (host.mode === 'none') throw unsupported(undefined, 'no cgroup hierarchy is mounted (no cgroup or cgroup2 entry in /proc/self/mountinfo)');

  const choice = new Choice(host, normalized);
  try {
    try {
      chooseV2(host, normalized, choice);
    } catch (error) {
      // Hybrid: v1 may still carry the controllers. A bad configured parent,
      // or a pure v2 host, is an error as it is.
      if (host.mode === 'v2' || normalized.cgroupParent !== undefined || !(error instanceof CgroupError)) throw error;
      choice.v2Reason = error.message;
    }
    if (host.mode === 'v2' && choice.v2 === undefined) throw unsupported(undefined, choice.v2Reason ?? 'cgroup v2 is not usable');
    if (!choice.v1Enabled && choice.v2 === undefined) throw unsupported(undefined, `neither hierarchy is usable: ${choice.v2Reason ?? 'v1 turned off'}`);
    for (const controller of normalized.controllers ?? []) {
      if (choice.v2 !== undefined && readOptional(`${choice.v2.dir}/cgroup.controllers`)?.split(' ').includes(controller)) continue;
      choice.v1(controller);
    }
  } catch (error) {
    choice.release();
    throw error;
  }
  return choice;
}

function chooseV2(host: CgroupHost, options: FindParentOptions, choice: Choice): void {
  const v2 = host.v2;
  if (v2 === undefined) {
    choice.v2Reason = 'no cgroup2 hierarchy is mounted';
    return;
  }
  if (options.v2 === false) {
    choice.v2Reason = 'cgroup v2 is turned off (findParent v2: false)';
    return;
  }
  const euid = host.euid;
  if (options.cgroupParent !== undefined) {
    const dir = configuredDir(host, options.cgroupParent, v2.mount, v2.mountRoot);
    if (dir === undefined) throw unsupported(undefined, `the configured parent ${options.cgroupParent} lies outside the cgroup2 mount ${v2.mount}`);
    checkWritableParent(dir, 'the configured parent');
    choice.v2 = { dir, source: 'configured', created: false, containsSelf: dir === v2.ownDir };
    return;
  }
  const own = v2.ownDir;
  const delegated =
    own !== undefined &&
    v2.ownPath !== '/' &&
    (euid === 0
      ? options.useOwnCgroup === true
      : v2.ownUid === euid && ownedBy(`${own}/cgroup.procs`, euid) && ownedBy(`${own}/cgroup.subtree_control`, euid) && v2.ownWritable);
  if (delegated && own !== undefined) {
    let containsSelf = true;
    if (options.moveSelf !== undefined && options.moveSelf !== false) {
      const leaf = path.join(own, typeof options.moveSelf === 'string' ? options.moveSelf : 'supervisor');
      if (mkdirOwn(leaf, 'create supervisor cgroup')) choice.noteCreated(leaf);
      writeCgroupFile(`${leaf}/cgroup.procs`, String(process.pid), 'move this process');
      const others = readPids(`${own}/cgroup.procs`);
      if (others.length > 0) {
        throw unsupported(
          undefined,
          `moveSelf moved this process to ${leaf}, but ${others.length} other process(es) stay in ${own} (${others.slice(0, 5).join(', ')}), so it cannot enable controllers`,
          own,
          'start Node alone in its delegated cgroup (e.g. systemd-run -p Delegate=yes)',
        );
      }
      containsSelf = false;
    }
    choice.v2 = { dir: own, source: 'delegated', created: false, containsSelf };
    return;
  }
  if (euid === 0) {
    const dir = path.join(v2.mount, options.name ?? 'cordon');
    const created = mkdirOwn(dir, 'create cgroup parent');
    choice.noteDefault(dir);
    choice.v2 = { dir, source: 'created', created, containsSelf: false };
    return;
  }
  choice.v2Reason =
    `not root, and the own cgroup ${v2.ownPath} is not delegated to uid ${euid}` +
    (v2.ownUid === undefined ? '' : ` (owned by uid ${v2.ownUid})`) +
    '; run under `systemd-run --user --scope -p Delegate=yes` or pass a delegated cgroupParent';
}
