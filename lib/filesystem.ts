// The box's filesystem: rootfs and mounts → validated layout → plan steps.
//
// Layout of the steps (bubblewrap's shape, with the new mount API): a tmpfs
// staging area is mounted over /tmp in the box's private mount namespace and
// pivoted into, with the host's root kept at /oldroot. The box's root is
// assembled at /newroot (host paths are read through /oldroot), every
// target is resolved beneath /newroot with RESOLVE_IN_ROOT, and a final
// pivot_root(".", ".") into /newroot detaches the staging area and the host
// tree behind it. Nothing is created on the host: the staging area,
// ephemeral upper layers and file contents all live in tmpfs mounts of the
// box's own namespace.
import * as fs from 'node:fs';
import * as path from 'node:path';

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
import { TargetMode } from './internal/plan-abi';
import type { BindMount, MountEntry, TmpfsMount } from './options';
import type { PlanStep } from './plan';

type LayeredUpper = { kind: 'tmpfs'; size: number } | { kind: 'dir'; dir: string };

export type ResolvedRootfs =
  | { kind: 'host' }
  | { kind: 'dir'; dir: string; writable: boolean }
  | { kind: 'layers'; layers: string[]; upper: LayeredUpper };

export const DEFAULT_UPPER_SIZE = 64 * 1024 * 1024;

const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;

const STAGE = '/tmp';
const NEWROOT = '/newroot';
const OLDROOT = '/oldroot';
const FILES = '/files';
const UPPER_FS = '/upper';

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

function checkOptionalBoolean(option: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : checkBoolean(option, value);
}

// Overlay option values are separated by ':' and ','; refuse what would be
// misread rather than escape it differently from kernel to kernel.
function checkLayerPath(option: string, value: unknown): string {
  const dir = checkAbsolutePath(option, value);
  if (/[:,\\]/.test(dir)) throw invalidValue(option, dir, 'must not contain ":", "," or "\\" (overlayfs separators)');
  return path.normalize(dir);
}

export function validateRootfs(value: unknown): ResolvedRootfs {
  value = ownSnapshot(value, 'rootfs');
  if (value === undefined || value === 'host') return { kind: 'host' };
  if (!isPlainObject(value)) throw invalidType('rootfs', `'host', { dir } or { layers, upper }`, value);
  if ('dir' in value) {
    rejectUnknownKeys(value, ['dir', 'writable'], 'rootfs');
    return { kind: 'dir', dir: path.normalize(checkAbsolutePath('rootfs.dir', value.dir)), writable: checkOptionalBoolean('rootfs.writable', value.writable, false) };
  }
  if ('layers' in value) {
    rejectUnknownKeys(value, ['layers', 'upper', 'upperSize'], 'rootfs');
    if (!Array.isArray(value.layers) || value.layers.length === 0) {
      throw invalidType('rootfs.layers', 'a non-empty array of absolute paths', value.layers);
    }
    if (value.layers.length > 128) throw invalidValue('rootfs.layers', value.layers.length, 'may have at most 128 layers');
    const layers = value.layers.map((layer: unknown, i) => checkLayerPath(`rootfs.layers[${i}]`, layer));
    let upper: LayeredUpper;
    if (value.upper === 'tmpfs') {
      const size = value.upperSize === undefined ? DEFAULT_UPPER_SIZE : checkInteger('rootfs.upperSize', value.upperSize, 4096, Number.MAX_SAFE_INTEGER);
      upper = { kind: 'tmpfs', size };
    } else if (isPlainObject(value.upper)) {
      rejectUnknownKeys(value.upper, ['dir'], 'rootfs.upper');
      if (value.upperSize !== undefined) {
        throw conflict('rootfs.upperSize', 'upperSize applies to a tmpfs upper only');
      }
      const dir = checkLayerPath('rootfs.upper.dir', value.upper.dir);
      if (layers.some((layer) => isInside(layer, dir) || isInside(dir, layer))) {
        throw conflict('rootfs.upper.dir', 'the upper layer must not be inside a template layer, nor contain one');
      }
      upper = { kind: 'dir', dir };
    } else {
      throw invalidType('rootfs.upper', `'tmpfs' or { dir }`, value.upper);
    }
    return { kind: 'layers', layers, upper };
  }
  throw invalidType('rootfs', `'host', { dir } or { layers, upper }`, value);
}

function isInside(child: string, parent: string): boolean {
  if (child === '' || parent === '') return false;
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

const MOUNT_KEYS: Record<MountEntry['type'], readonly string[]> = {
  bind: ['type', 'source', 'target', 'readonly', 'recursive', 'noexec', 'devices', 'idmap'],
  tmpfs: ['type', 'target', 'size', 'mode', 'uid', 'gid', 'readonly'],
  proc: ['type', 'target', 'hidepid'],
  sysfs: ['type', 'target'],
  mqueue: ['type', 'target'],
  symlink: ['type', 'target', 'linkTo'],
  file: ['type', 'target', 'content', 'mode'],
  'remount-ro': ['type', 'target'],
  mask: ['type', 'target'],
};

export function validateMounts(value: unknown): MountEntry[] {
  value = ownSnapshot(value, 'mounts');
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidType('mounts', 'an array of mount entries', value);
  if (value.length > 4000) throw invalidValue('mounts', value.length, 'may have at most 4000 entries');
  return value.map((entry: unknown, i): MountEntry => {
    const at = `mounts[${i}]`;
    if (!isPlainObject(entry)) throw invalidType(at, 'an object with a type', entry);
    const type = entry.type;
    if (typeof type !== 'string' || !Object.hasOwn(MOUNT_KEYS, type)) {
      throw invalidValue(`${at}.type`, type, `must be one of ${Object.keys(MOUNT_KEYS).join(', ')}`);
    }
    rejectUnknownKeys(entry, MOUNT_KEYS[type as MountEntry['type']], at);
    const target = path.normalize(checkAbsolutePath(`${at}.target`, entry.target));
    if (target === '/' && type !== 'remount-ro') throw invalidValue(`${at}.target`, target, 'must not be the root; use rootfs for that');
    switch (type as MountEntry['type']) {
      case 'bind': {
        const bind: { -readonly [K in keyof BindMount]: BindMount[K] } = {
          type: 'bind',
          source: path.normalize(checkAbsolutePath(`${at}.source`, entry.source)),
          target,
          readonly: checkOptionalBoolean(`${at}.readonly`, entry.readonly, true),
          recursive: checkOptionalBoolean(`${at}.recursive`, entry.recursive, true),
          noexec: checkOptionalBoolean(`${at}.noexec`, entry.noexec, false),
          devices: checkOptionalBoolean(`${at}.devices`, entry.devices, false),
        };
        if (entry.idmap !== undefined) {
          if (!isPlainObject(entry.idmap)) throw invalidType(`${at}.idmap`, 'an object { uid, gid }', entry.idmap);
          rejectUnknownKeys(entry.idmap, ['uid', 'gid'], `${at}.idmap`);
          bind.idmap = { uid: checkInteger(`${at}.idmap.uid`, entry.idmap.uid, 0, 0xfffffffe), gid: checkInteger(`${at}.idmap.gid`, entry.idmap.gid, 0, 0xfffffffe) };
        }
        return bind;
      }
      case 'tmpfs': {
        const tmpfs: { -readonly [K in keyof TmpfsMount]: TmpfsMount[K] } = {
          type: 'tmpfs',
          target,
          mode: entry.mode === undefined ? 0o755 : checkInteger(`${at}.mode`, entry.mode, 0, 0o7777),
          readonly: checkOptionalBoolean(`${at}.readonly`, entry.readonly, false),
        };
        if (entry.size !== undefined) tmpfs.size = checkInteger(`${at}.size`, entry.size, 4096, Number.MAX_SAFE_INTEGER);
        if (entry.uid !== undefined) tmpfs.uid = checkInteger(`${at}.uid`, entry.uid, 0, 0xfffffffe);
        if (entry.gid !== undefined) tmpfs.gid = checkInteger(`${at}.gid`, entry.gid, 0, 0xfffffffe);
        return tmpfs;
      }
      case 'proc': {
        const hidepid = entry.hidepid ?? 'off';
        if (!['off', 'noaccess', 'invisible'].includes(hidepid as string)) {
          throw invalidValue(`${at}.hidepid`, hidepid, "must be 'off', 'noaccess' or 'invisible'");
        }
        return { type: 'proc', target, hidepid: hidepid as 'off' | 'noaccess' | 'invisible' };
      }
      case 'symlink':
        return { type: 'symlink', target, linkTo: checkString(`${at}.linkTo`, entry.linkTo) };
      case 'file':
        return {
          type: 'file',
          target,
          content: checkString(`${at}.content`, entry.content, { allowEmpty: true }),
          mode: entry.mode === undefined ? 0o644 : checkInteger(`${at}.mode`, entry.mode, 0, 0o7777),
        };
      default:
        return { type: type as 'sysfs' | 'mqueue' | 'remount-ro' | 'mask', target };
    }
  });
}

/**
 * Makes the persistent upper layer's `upper/` and `work/` directories when
 * they are missing, owned by the box's root as the host sees it, so the box
 * can write its layer. They are the tenant's to keep: cordon never removes
 * them.
 */
export function prepareUpperLayer(rootfs: ResolvedRootfs, owner: { uid: number; gid: number } | undefined): void {
  if (rootfs.kind !== 'layers' || rootfs.upper.kind !== 'dir') return;
  for (const sub of ['upper', 'work']) {
    const dir = path.join(rootfs.upper.dir, sub);
    if (fs.existsSync(dir)) continue;
    fs.mkdirSync(dir, { mode: 0o755 });
    if (owner !== undefined) fs.chownSync(dir, owner.uid, owner.gid);
  }
}

/** A host path as the child sees it after the first pivot. */
function host(hostPath: string): string {
  return hostPath === '/' ? OLDROOT : `${OLDROOT}${hostPath}`;
}

function mountStep(name: string, fstype: string, target: string, attrs: number, config: string[], mode: number): PlanStep {
  return {
    op: 'mountFs',
    name,
    syscall: 'mount',
    kind: 'mount',
    path: target,
    str: [fstype, undefined, target],
    num: [attrs, config.length, mode],
    ...(config.length > 0 ? { lists: [undefined, config] } : {}),
  };
}

function bindStep(name: string, source: string, target: string, attrs: number, recursive: boolean, mode: number, shownSource?: string): PlanStep {
  return {
    op: 'bindMount',
    name,
    syscall: 'mount',
    kind: 'mount',
    path: target,
    source: shownSource ?? source,
    str: [source, undefined, target],
    num: [attrs, recursive ? 1 : 0, mode],
  };
}

/** The MOUNT_ATTR_* flags of a bind entry. */
export function bindAttributes(entry: BindMount): number {
  let attrs = entry.devices ? MOUNT_ATTR_NOSUID : MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (entry.readonly !== false) attrs |= MOUNT_ATTR_RDONLY;
  if (entry.noexec) attrs |= MOUNT_ATTR_NOEXEC;
  return attrs;
}

export interface FilesystemContext {
  /** The box has a new pid namespace (a fresh proc can be mounted). */
  newPid: boolean;
  /** The box has a new net namespace (sysfs can be mounted). */
  newNet: boolean;
  /** The mounter runs in a user namespace (overlay needs userxattr). */
  inUserNamespace: boolean;
  /** Fd slots of idmapped trees the parent made, by index in `mounts`. */
  preparedTrees?: ReadonlyMap<number, number>;
}

/** The steps that build the box's root and enter it, in order. */
export function filesystemSteps(rootfs: ResolvedRootfs, mounts: readonly MountEntry[], context: FilesystemContext): PlanStep[] {
  const steps: PlanStep[] = [];
  const plain = TargetMode.plain;
  const create = TargetMode.create;
  const nosuidNodev = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

  steps.push(mountStep('mount staging tmpfs', 'tmpfs', STAGE, nosuidNodev, ['mode', '0755', 'size', '1048576'], plain));
  for (const dir of [NEWROOT, OLDROOT, FILES]) {
    steps.push({ op: 'makeDir', name: `make ${dir}`, syscall: 'mkdir', kind: 'mount', path: dir, str: [`${STAGE}${dir}`], num: [0o755] });
  }
  steps.push({ op: 'pivotRoot', name: 'pivot into staging', syscall: 'pivot_root', kind: 'pivot', path: STAGE, str: [STAGE, `${STAGE}${OLDROOT}`] });

  switch (rootfs.kind) {
    case 'host':
      steps.push(bindStep('bind host root read-only', OLDROOT, NEWROOT, MOUNT_ATTR_RDONLY | nosuidNodev, true, plain, '/'));
      break;
    case 'dir':
      steps.push(bindStep('bind root directory', host(rootfs.dir), NEWROOT, (rootfs.writable ? 0 : MOUNT_ATTR_RDONLY) | nosuidNodev, true, plain, rootfs.dir));
      break;
    case 'layers': {
      let upperDir: string;
      let workDir: string;
      if (rootfs.upper.kind === 'tmpfs') {
        steps.push({ op: 'makeDir', name: 'make upper mount point', syscall: 'mkdir', kind: 'mount', path: UPPER_FS, str: [UPPER_FS], num: [0o755] });
        steps.push(mountStep('mount tmpfs upper layer', 'tmpfs', UPPER_FS, nosuidNodev, ['mode', '0755', 'size', String(rootfs.upper.size)], plain));
        upperDir = `${UPPER_FS}/upper`;
        workDir = `${UPPER_FS}/work`;
        steps.push({ op: 'makeDir', name: 'make upper dir', syscall: 'mkdir', kind: 'mount', path: upperDir, str: [upperDir], num: [0o755] });
        steps.push({ op: 'makeDir', name: 'make work dir', syscall: 'mkdir', kind: 'mount', path: workDir, str: [workDir], num: [0o755] });
      } else {
        upperDir = host(path.join(rootfs.upper.dir, 'upper'));
        workDir = host(path.join(rootfs.upper.dir, 'work'));
      }
      const config = ['lowerdir', rootfs.layers.map(host).join(':'), 'upperdir', upperDir, 'workdir', workDir];
      if (context.inUserNamespace) config.push('userxattr', '');
      const step = mountStep('mount overlay root', 'overlay', NEWROOT, nosuidNodev, config, plain);
      step.path = rootfs.layers.join(':');
      steps.push(step);
      break;
    }
  }
  steps.push({ op: 'openRoot', name: 'open new root', syscall: 'open', kind: 'mount', path: NEWROOT, str: [NEWROOT] });

  // The standard mounts every box gets.
  if (context.newPid) {
    steps.push(mountStep('mount proc', 'proc', '/proc', nosuidNodev | MOUNT_ATTR_NOEXEC, [], create));
  } else {
    steps.push(bindStep('bind host proc', host('/proc'), '/proc', nosuidNodev | MOUNT_ATTR_NOEXEC, true, create, '/proc'));
  }
  steps.push(mountStep('mount /dev tmpfs', 'tmpfs', '/dev', MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, ['mode', '0755', 'size', '65536'], create));
  for (const device of DEVICES) {
    steps.push(bindStep(`bind /dev/${device}`, host(`/dev/${device}`), `/dev/${device}`, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false, create, `/dev/${device}`));
  }
  steps.push(mountStep('mount devpts', 'devpts', '/dev/pts', MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, ['newinstance', '', 'ptmxmode', '0666', 'mode', '0620'], create));
  steps.push(mountStep('mount /dev/shm', 'tmpfs', '/dev/shm', nosuidNodev, ['mode', '1777'], create));
  for (const [link, to] of [['/dev/ptmx', 'pts/ptmx'], ['/dev/fd', '/proc/self/fd'], ['/dev/stdin', '/proc/self/fd/0'], ['/dev/stdout', '/proc/self/fd/1'], ['/dev/stderr', '/proc/self/fd/2']] as const) {
    steps.push({ op: 'symlink', name: `link ${link}`, syscall: 'symlinkat', kind: 'mount', path: link, str: [to, undefined, link] });
  }
  steps.push(mountStep('mount /tmp', 'tmpfs', '/tmp', nosuidNodev, ['mode', '1777'], create));

  let files = 0;
  mounts.forEach((entry, i) => {
    const label = `mounts[${i}] ${entry.type}`;
    switch (entry.type) {
      case 'bind': {
        const step = bindStep(label, host(entry.source), entry.target, bindAttributes(entry), entry.recursive !== false, create, entry.source);
        const prepared = context.preparedTrees?.get(i);
        if (prepared !== undefined) step.slot = prepared;
        steps.push(step);
        break;
      }
      case 'tmpfs': {
        const config = ['mode', (entry.mode ?? 0o755).toString(8)];
        if (entry.size !== undefined) config.push('size', String(entry.size));
        if (entry.uid !== undefined) config.push('uid', String(entry.uid));
        if (entry.gid !== undefined) config.push('gid', String(entry.gid));
        steps.push(mountStep(label, 'tmpfs', entry.target, nosuidNodev | (entry.readonly ? MOUNT_ATTR_RDONLY : 0), config, create));
        break;
      }
      case 'proc':
        steps.push(mountStep(label, 'proc', entry.target, nosuidNodev | MOUNT_ATTR_NOEXEC, entry.hidepid && entry.hidepid !== 'off' ? ['hidepid', entry.hidepid] : [], create));
        break;
      case 'sysfs':
        steps.push(mountStep(label, 'sysfs', entry.target, MOUNT_ATTR_RDONLY | nosuidNodev | MOUNT_ATTR_NOEXEC, [], create));
        break;
      case 'mqueue':
        steps.push(mountStep(label, 'mqueue', entry.target, nosuidNodev | MOUNT_ATTR_NOEXEC, [], create));
        break;
      case 'symlink':
        steps.push({ op: 'symlink', name: label, syscall: 'symlinkat', kind: 'mount', path: entry.target, str: [entry.linkTo, undefined, entry.target] });
        break;
      case 'file': {
        const staged = `${FILES}/${files++}`;
        steps.push({ op: 'writeFile', name: `${label} content`, syscall: 'write', kind: 'mount', path: entry.target, str: [entry.content, undefined, staged], num: [entry.mode ?? 0o644, 0, plain] });
        steps.push(bindStep(label, staged, entry.target, MOUNT_ATTR_RDONLY | nosuidNodev | MOUNT_ATTR_NOEXEC, false, create, entry.target));
        break;
      }
      case 'remount-ro':
        steps.push({ op: 'setMountAttr', name: label, syscall: 'mount_setattr', kind: 'mount', path: entry.target, str: [undefined, undefined, entry.target], num: [MOUNT_ATTR_RDONLY, 0, TargetMode.mustExist, 1] });
        break;
      case 'mask': {
        const empty = `${FILES}/empty`;
        if (!steps.some((step) => step.op === 'writeFile' && step.str?.[2] === empty)) {
          steps.push({ op: 'writeFile', name: 'empty file for masks', syscall: 'write', kind: 'mount', path: empty, str: ['', undefined, empty], num: [0, 0, plain] });
        }
        steps.push({ op: 'mask', name: label, syscall: 'mount', kind: 'mount', path: entry.target, str: [empty, undefined, entry.target], num: [0, 0, TargetMode.mustExist] });
        break;
      }
    }
  });
  steps.push({ op: 'enterRoot', name: 'enter new root', syscall: 'pivot_root', kind: 'pivot', path: NEWROOT, str: [NEWROOT] });
  return steps;
}
