// The box's filesystem: rootfs and mounts → validated layout → plan steps.
//
// Layout of the steps, with the new mount API. In the box's private copy of
// the host's mount tree, the box's root is mounted straight over /tmp and
// assembled there (host paths are read where they are), every target is
// resolved beneath that root with RESOLVE_IN_ROOT, and a final
// pivot_root(".", ".") into it detaches the host's tree. When the box needs
// a place of cordon's own outside its root (file contents, the empty tmpfs
// that hides a home, overlay layers under neutral names) or reads a host
// path under /tmp after its root is there, the steps take bubblewrap's
// shape instead: a tmpfs staging area over /tmp, pivoted into with the
// host's root kept at /oldroot, the root assembled at /newroot, and the
// final pivot detaches the staging area with the host behind it (two
// mounts and a pivot more, ~55 µs). Nothing is created on the host but a
// persistent upper layer's upper/ and work/ (prepareUpperLayer): the
// staging area, ephemeral upper layers and file contents all live in tmpfs
// mounts of the box's own namespace.
//
// Host paths a tenant may write below (bind sources, a persistent upper
// layer) are resolved with RESOLVE_NO_SYMLINKS and used through the fd
// resolved. Overlay layers are bound into the staging area under neutral
// names (/layers/N, /upper) first, and upper/ and work/ handed to overlayfs
// by fd, so the box's mountinfo names no host path.
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
import { CordonError, errnoName, type FailedStep } from './errors';
import { native } from './internal/native';
import { BOX_OWN, FRESH_DIRS, HIDDEN_DIRS, type HostView, hiddenInBox, isWithin, topLevel, VAR_LINKS } from './host-view';
import { AttrScope, MountPart, SourceLinks, TargetMode, type OpName } from './internal/plan-abi';
import { fieldOf, step, type PlanStep } from './internal/steps';
import { PLAN_ENUMS } from './internal/plan-ops';
import type { BindMount, MountEntry, TmpfsMount } from './options';
import { quotaRefusal, validateQuota, type ResolvedQuota } from './quota';
import { callerIsRoot } from './identity';
import type { NamespaceName } from './options';
import type { ResolvedNamespace } from './namespaces';

type LayeredUpper = { kind: 'tmpfs'; size: number } | { kind: 'dir'; dir: string; quota?: ResolvedQuota };

export type ResolvedRootfs =
  | { kind: 'host' }
  | { kind: 'dir'; dir: string; writable: boolean }
  | { kind: 'layers'; layers: string[]; upper: LayeredUpper; idmapLayers?: boolean };

export const DEFAULT_UPPER_SIZE = 64 * 1024 * 1024;
/** Size of each writable tmpfs cordon gives a box (/tmp, /dev/shm, and /run on rootfs 'host'). */
export const DEFAULT_TMP_SIZE = 64 * 1024 * 1024;

/**
 * Files a writable tmpfs of `size` bytes may hold: one per KiB, at least
 * 1024. An empty file takes no bytes of the size but about 1 KiB of kernel
 * memory (inode and dentry, kept while the file exists), and the kernel's
 * default is one inode per 8 KiB of the host's RAM (millions): without a
 * count, a box's `/tmp` could pin gigabytes past its size.
 */
export function tmpfsInodes(size: number): string {
  return String(Math.max(1024, Math.floor(size / 1024)));
}

/** mount(2) propagation: the box's mounts never propagate to the host. */
const MS_PRIVATE = 1 << 18;
const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;
/** setMountAttr num[3]: change the mount at the target itself, in place (native AttrScope::kTopMount). */

const STAGE = '/tmp';
const NEWROOT = '/newroot';
const OLDROOT = '/oldroot';
const FILES = '/files';
const UPPER_FS = '/upper';
const LAYERS = '/layers';
const EMPTY = '/empty';
/**
 * Files the box's root tmpfs on rootfs 'host' may hold: it holds only the
 * mount points, directories and links cordon makes (at most 4000 `mounts`
 * entries, a few components each) and is read-only before the payload runs.
 */
const ROOT_INODES = '32768';

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
    rejectUnknownKeys(value, ['layers', 'upper', 'upperSize', 'idmapLayers'], 'rootfs');
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
      rejectUnknownKeys(value.upper, ['dir', 'quota'], 'rootfs.upper');
      if (value.upperSize !== undefined) {
        throw conflict('rootfs.upperSize', 'upperSize applies to a tmpfs upper only');
      }
      const dir = checkLayerPath('rootfs.upper.dir', value.upper.dir);
      if (layers.some((layer) => isInside(layer, dir) || isInside(dir, layer))) {
        throw conflict('rootfs.upper.dir', 'the upper layer must not be inside a template layer, nor contain one');
      }
      upper = value.upper.quota === undefined ? { kind: 'dir', dir } : { kind: 'dir', dir, quota: validateQuota(value.upper.quota) };
    } else {
      throw invalidType('rootfs.upper', `'tmpfs' or { dir }`, value.upper);
    }
    return checkOptionalBoolean('rootfs.idmapLayers', value.idmapLayers, false) ? { kind: 'layers', layers, upper, idmapLayers: true } : { kind: 'layers', layers, upper };
  }
  throw invalidType('rootfs', `'host', { dir } or { layers, upper }`, value);
}

function isInside(child: string, parent: string): boolean {
  if (child === '' || parent === '') return false;
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

const MOUNT_KEYS: Record<MountEntry['type'], readonly string[]> = {
  bind: ['type', 'source', 'target', 'readonly', 'recursive', 'noexec', 'devices', 'idmap', 'followSymlinks'],
  tmpfs: ['type', 'target', 'size', 'mode', 'uid', 'gid', 'readonly'],
  proc: ['type', 'target', 'hidepid'],
  sysfs: ['type', 'target'],
  mqueue: ['type', 'target'],
  symlink: ['type', 'target', 'linkTo'],
  file: ['type', 'target', 'content', 'mode'],
  'remount-ro': ['type', 'target'],
  mask: ['type', 'target', 'ifExists'],
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
          followSymlinks: checkOptionalBoolean(`${at}.followSymlinks`, entry.followSymlinks, false),
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
      case 'mask':
        return checkOptionalBoolean(`${at}.ifExists`, entry.ifExists, false) ? { type: 'mask', target, ifExists: true } : { type: 'mask', target };
      default:
        return { type: type as 'sysfs' | 'mqueue' | 'remount-ro', target };
    }
  });
}

// What host::prepare_upper() reports (native/host/paths.h).
const UPPER_DIRS = ['', 'upper', 'work'];
/** Which part of readying the upper layer failed (native host::UpperPart, declared once in host/paths.h). */
const UPPER_PARTS: Readonly<Record<number, { readonly name: string; readonly syscall: string }>> = PLAN_ENUMS.UpperPart;

export interface ResolvedFilesystem {
  rootfs: ResolvedRootfs;
  mounts: MountEntry[];
  tmpSize: number;
}

/**
 * The rootfs, mounts and tmpSize options, and what they need: a mount
 * namespace of the box's own, a root caller and a new user namespace for
 * idmapped mounts, the box's own net namespace for sysfs and ipc for mqueue.
 */
export function validateFilesystem(
  o: { rootfs?: unknown; mounts?: unknown; tmpSize?: unknown },
  namespaces: Readonly<Record<NamespaceName, ResolvedNamespace>>,
): ResolvedFilesystem {
  const user = namespaces.user.kind;
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
  return { rootfs, mounts, tmpSize };
}

/**
 * Readies the persistent upper layer on the host, before the spawn: opens
 * `dir` without following symlinks and closes it to all but its owner and
 * the box's root; makes `upper/` (0755) and `work/` (0700) when missing,
 * owned by the box's root as the host sees it, or checks that the ones
 * there are. Every step works on an fd: no path is resolved twice. They
 * are the tenant's to keep: cordon never removes them. Throws a CordonError
 * (step 'prepare upper layer') for whatever is wrong.
 */
export function prepareUpperLayer(rootfs: ResolvedRootfs, owner: { uid: number; gid: number }, callerUid: number): void {
  if (rootfs.kind !== 'layers' || rootfs.upper.kind !== 'dir') return;
  const dir = rootfs.upper.dir;
  const result = native().prepareUpper(dir, owner.uid, owner.gid, callerUid);
  if (result.error === 0) return;
  const sub = UPPER_DIRS[result.dir] ?? '';
  const where = sub === '' ? dir : path.join(dir, sub);
  const code = errnoName(result.error);
  const syscall = UPPER_PARTS[result.part]?.syscall ?? 'openat2';
  let hint: string | undefined;
  if (code === 'ELOOP') {
    hint = 'a component of the path is a symlink: cordon never follows symlinks in a tenant\'s upper layer; give rootfs.upper.dir as a real path (fs.realpathSync) and remove links named upper or work';
  } else if (UPPER_PARTS[result.part]?.name === 'Owner') {
    hint = sub === ''
      ? `rootfs.upper.dir must be owned by the box's root (host uid ${owner.uid}) or by the caller (uid ${callerUid})`
      : `${sub}/ must be owned by the box's root (host uid ${owner.uid}, gid ${owner.gid}) or be made by cordon; it will not take over another owner's directory`;
  } else if (code === 'ENOENT' && sub === '') {
    hint = 'rootfs.upper.dir must exist: cordon makes only upper/ and work/ inside it';
  } else if (code === 'EACCES' || code === 'EPERM') {
    hint = 'the caller may not change this directory; make it owned by the caller or the box\'s root';
  }
  throw new CordonError(code, `${syscall} ${code}: cannot prepare the upper layer ${where}${hint === undefined ? '' : ` (${hint})`}`, {
    errno: result.error,
    syscall,
    step: 'prepare upper layer',
    path: where,
    ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * Where the child assembles the box's root and reads host paths meanwhile:
 * directly (the root over /tmp, host paths where they are) or in a staging
 * area (see the top of this file). A direct layout notes when a step needs
 * the staging area or a host path its root hides; filesystemSteps then
 * plans the staged one.
 */
class RootLayout {
  /** A step needed what only the staged layout has. */
  needsStaging = false;
  /** The box's root is mounted: from here a direct layout hides the host's /tmp. */
  rootPlaced = false;

  constructor(readonly staged: boolean) {}

  /** Where the root is assembled. */
  get newRoot(): string {
    return this.staged ? NEWROOT : STAGE;
  }

  /** The host's root as the child sees it while it builds. */
  get hostRoot(): string {
    return this.staged ? OLDROOT : '/';
  }

  /** A host path as the child sees it while it builds. */
  host(hostPath: string): string {
    if (this.staged) return hostPath === '/' ? OLDROOT : `${OLDROOT}${hostPath}`;
    if (this.rootPlaced && (isWithin(hostPath, STAGE) || isWithin(STAGE, hostPath))) this.needsStaging = true;
    return hostPath;
  }

  /** A path in the staging area (outside the box's root), or a host path read only through /oldroot. */
  stagingArea(stagedPath: string): string {
    if (!this.staged) this.needsStaging = true;
    return stagedPath;
  }
}

type TargetModeValue = (typeof TargetMode)[keyof typeof TargetMode];

function mountStep(name: string, fstype: string, target: string, attrs: number, config: string[], mode: TargetModeValue): PlanStep {
  return step('mountFs', { name, syscall: 'mount', kind: 'mount', path: target }, {
    fstype, config, target, attrs, targetMode: mode, upperByFd: false,
  });
}

function bindStep(name: string, source: string, target: string, attrs: number, recursive: boolean, mode: TargetModeValue, shownSource?: string): PlanStep {
  return step('bindMount', { name, syscall: 'mount', kind: 'mount', path: target, source: shownSource ?? source }, {
    source, target, attrs, recursive, targetMode: mode, sourceLinks: SourceLinks.plain,
  });
}

function makeDirStep(name: string, path: string, dir: string): PlanStep {
  return step('makeDir', { name, syscall: 'mkdir', kind: 'mount', path }, { path: dir, mode: 0o755 });
}

function symlinkStep(name: string, linkTo: string, target: string): PlanStep {
  return step('symlink', { name, syscall: 'symlinkat', kind: 'mount', path: target }, { linkTo, target });
}

function writeFileStep(name: string, path: string, staged: string, content: string, mode: number): PlanStep {
  return step('writeFile', { name, syscall: 'write', kind: 'mount', path }, { path: staged, content, mode });
}

function readOnlyStep(name: string, target: string, scope: (typeof AttrScope)[keyof typeof AttrScope]): PlanStep {
  return step('setMountAttr', { name, syscall: 'mount_setattr', kind: 'mount', path: target }, {
    target, set: MOUNT_ATTR_RDONLY, clear: 0, targetMode: TargetMode.mustExist, scope,
  });
}

function maskStep(name: string, cover: string, target: string, optional: boolean): PlanStep {
  return step('mask', { name, syscall: 'mount', kind: 'mount', path: target }, { cover, target, optional, targetMode: TargetMode.mustExist });
}

/**
 * A bind of the host path `source`: `'refuse'` resolves it with
 * RESOLVE_NO_SYMLINKS (ELOOP for any link), for paths a tenant may write
 * below; `'follow'` follows its links beneath the host's root (/ or, staged,
 * /oldroot; RESOLVE_IN_ROOT), so an absolute link means what it means on
 * the host.
 */
function hostBindStep(layout: RootLayout, name: string, source: string, target: string, attrs: number, recursive: boolean, mode: TargetModeValue, links: 'refuse' | 'follow'): PlanStep {
  const label = { name, syscall: 'mount', kind: links === 'refuse' ? 'bind' : 'mount', path: target, source } as const;
  const seen = layout.host(source);
  return links === 'refuse'
    ? step('bindMount', label, { source: seen, target, attrs, recursive, targetMode: mode, sourceLinks: SourceLinks.refuse })
    : step('bindMount', label, { source, hostRoot: layout.hostRoot, target, attrs, recursive, targetMode: mode, sourceLinks: SourceLinks.followInHostRoot });
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
  /** Fd slots of idmapped template layers the parent made (rootfs.idmapLayers), by index in `rootfs.layers`. */
  layerTrees?: ReadonlyMap<number, number>;
  /** Fd slot of a quota'd upper layer's filesystem, mounted by the parent (lib/quota.ts): attached at /upper instead of binding the host directory. */
  upperTree?: number;
  /** Bytes of each writable tmpfs cordon makes (/tmp, /dev/shm, /run). Default DEFAULT_TMP_SIZE. */
  tmpSize?: number;
  /** The box has a v2 cgroup of its own as the root of a new cgroup namespace (it may see that one). */
  ownCgroup2?: boolean;
  /** The host path of the box's terminal (`/dev/pts/N`, the tty option), bound at its /dev/console so ttyname() finds it. */
  console?: string;
  /** Host facts for rootfs 'host' (its allowed directories, the caller's homes, listed sockets); without them the allowed directories are looked up here and no home or socket is hidden. */
  hostView?: HostView;
}

/** The steps that build the box's root and enter it, in order: directly when nothing needs the staging area. */
export function filesystemSteps(rootfs: ResolvedRootfs, mounts: readonly MountEntry[], context: FilesystemContext): PlanStep[] {
  if (rootfs.kind !== 'layers') {
    const direct = new RootLayout(false);
    const steps = layoutSteps(direct, rootfs, mounts, context);
    if (!direct.needsStaging) return steps;
  }
  return layoutSteps(new RootLayout(true), rootfs, mounts, context);
}

function layoutSteps(layout: RootLayout, rootfs: ResolvedRootfs, mounts: readonly MountEntry[], context: FilesystemContext): PlanStep[] {
  const steps: PlanStep[] = [];
  const plain = TargetMode.plain;
  const create = TargetMode.create;
  const nosuidNodev = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  const newRoot = layout.newRoot;
  const host = (hostPath: string): string => layout.host(hostPath);

  if (layout.staged) {
    steps.push(mountStep('mount staging tmpfs', 'tmpfs', STAGE, nosuidNodev, ['mode', '0755', 'size', '1048576'], plain));
    for (const dir of [NEWROOT, OLDROOT, FILES]) {
      steps.push(makeDirStep(`make ${dir}`, dir, `${STAGE}${dir}`));
    }
    steps.push(step('pivotRoot', { name: 'pivot into staging', syscall: 'pivot_root', kind: 'pivot', path: STAGE }, { newRoot: STAGE, putOld: `${STAGE}${OLDROOT}` }));
  }

  switch (rootfs.kind) {
    case 'host':
      // A root of the box's own, writable while it is built (so a `mounts`
      // target like /work/app can be made), sealed read-only at the end; the
      // host's allowed directories are bound into it (hostViewSteps).
      steps.push(mountStep('mount box root tmpfs', 'tmpfs', newRoot, nosuidNodev | MOUNT_ATTR_NOEXEC, ['mode', '0755', 'size', '1048576', 'nr_inodes', ROOT_INODES], plain));
      break;
    case 'dir':
      steps.push(hostBindStep(layout, 'bind root directory', rootfs.dir, newRoot, (rootfs.writable ? 0 : MOUNT_ATTR_RDONLY) | nosuidNodev, true, plain, 'follow'));
      break;
    case 'layers': {
      // Each layer is bound into the staging area under a neutral name
      // first, so the overlay's options (the box's mountinfo) name no host
      // path; the staging area is gone once the box enters its root.
      steps.push(makeDirStep(`make ${LAYERS}`, LAYERS, LAYERS));
      const lowers = rootfs.layers.map((layer, i) => {
        const staged = `${LAYERS}/${i}`;
        steps.push(makeDirStep(`make layer ${i} mount point`, staged, staged));
        const bind = hostBindStep(layout, `bind layer ${i}`, layer, staged, MOUNT_ATTR_RDONLY, false, plain, 'follow');
        const prepared = context.layerTrees?.get(i);
        if (prepared !== undefined) bind.slot = prepared;
        steps.push(bind);
        return staged;
      });
      let upperDir: string;
      let workDir: string;
      if (rootfs.upper.kind === 'tmpfs') {
        steps.push(makeDirStep('make upper mount point', UPPER_FS, UPPER_FS));
        steps.push(mountStep('mount tmpfs upper layer', 'tmpfs', UPPER_FS, nosuidNodev, ['mode', '0755', 'size', String(rootfs.upper.size), 'nr_inodes', tmpfsInodes(rootfs.upper.size)], plain));
        upperDir = `${UPPER_FS}/upper`;
        workDir = `${UPPER_FS}/work`;
        steps.push(makeDirStep('make upper dir', upperDir, upperDir));
        steps.push(makeDirStep('make work dir', workDir, workDir));
      } else {
        // The tenant's directory: bound without following symlinks, and its
        // upper/ and work/ handed to overlayfs by fd (see kMountFs).
        steps.push(makeDirStep('make upper layer mount point', UPPER_FS, UPPER_FS));
        const bind = hostBindStep(layout, 'bind upper layer directory', rootfs.upper.dir, UPPER_FS, 0, false, plain, 'refuse');
        bind.kind = 'upper';
        if (context.upperTree !== undefined) bind.slot = context.upperTree;
        steps.push(bind);
        upperDir = `${UPPER_FS}/upper`;
        workDir = `${UPPER_FS}/work`;
      }
      const config = ['lowerdir', lowers.join(':'), 'upperdir', upperDir, 'workdir', workDir];
      if (context.inUserNamespace) config.push('userxattr', '');
      const fields = { fstype: 'overlay', config, target: newRoot, attrs: nosuidNodev, targetMode: plain } as const;
      const label = { name: 'mount overlay root', syscall: 'mount', path: rootfs.layers.join(':') } as const;
      steps.push(rootfs.upper.kind === 'dir'
        // The upper layer's dirs go by fd (see kMountFs), or as this prefix and the fd's number.
        ? step('mountFs', { ...label, kind: 'upper', source: rootfs.upper.dir }, { ...fields, upperByFd: true, fdPrefix: `${OLDROOT}/proc/self/fd/` })
        : step('mountFs', { ...label, kind: 'mount' }, { ...fields, upperByFd: false }));
      break;
    }
  }
  steps.push(step('openRoot', { name: 'open new root', syscall: 'open', kind: 'mount', path: newRoot }, { path: newRoot }));
  layout.rootPlaced = true;

  // The standard mounts every box gets.
  if (context.newPid) {
    steps.push({ ...mountStep('mount proc', 'proc', '/proc', nosuidNodev | MOUNT_ATTR_NOEXEC, [], create), kind: 'proc' });
  } else {
    steps.push({ ...bindStep('bind host proc', host('/proc'), '/proc', nosuidNodev | MOUNT_ATTR_NOEXEC, true, create, '/proc'), kind: 'proc' });
  }
  steps.push(mountStep('mount /dev tmpfs', 'tmpfs', '/dev', MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, ['mode', '0755', 'size', '65536', 'nr_inodes', tmpfsInodes(65536)], create));
  // The six nodes in one step: the two directories are opened once, the attributes set once.
  steps.push(step('bindDevices', { name: 'bind /dev nodes', syscall: 'mount', kind: 'mount', path: '/dev', source: '/dev' }, {
    source: host('/dev'), devices: DEVICES, target: '/dev', attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
  }));
  if (context.console !== undefined) {
    // The box's /dev/pts is its own instance, where the host's pty has no
    // name: as bubblewrap and Docker do, the terminal is its /dev/console.
    steps.push(hostBindStep(layout, 'bind /dev/console', context.console, '/dev/console', MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false, create, 'refuse'));
  }
  const tmpSize = String(context.tmpSize ?? DEFAULT_TMP_SIZE);
  const tmpInodes = tmpfsInodes(context.tmpSize ?? DEFAULT_TMP_SIZE);
  steps.push(mountStep('mount devpts', 'devpts', '/dev/pts', MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, ['newinstance', '', 'ptmxmode', '0666', 'mode', '0620'], create));
  steps.push(mountStep('mount /dev/shm', 'tmpfs', '/dev/shm', nosuidNodev, ['mode', '1777', 'size', tmpSize, 'nr_inodes', tmpInodes], create));
  for (const [link, to] of [['/dev/ptmx', 'pts/ptmx'], ['/dev/fd', '/proc/self/fd'], ['/dev/stdin', '/proc/self/fd/0'], ['/dev/stdout', '/proc/self/fd/1'], ['/dev/stderr', '/proc/self/fd/2']] as const) {
    steps.push(symlinkStep(`link ${link}`, to, link));
  }
  steps.push(mountStep('mount /tmp', 'tmpfs', '/tmp', nosuidNodev, ['mode', '1777', 'size', tmpSize, 'nr_inodes', tmpInodes], create));
  // One empty file covers every mask of the box (the host's sockets and
  // `mask` mounts alike): written before the first, once.
  let maskCoverWritten = false;
  const maskCover = (): string => {
    const empty = layout.stagingArea(`${FILES}/empty`);
    if (!maskCoverWritten) {
      steps.push(writeFileStep('empty file for masks', empty, empty, '', 0));
      maskCoverWritten = true;
    }
    return empty;
  };
  const { sealLater, hidden } = rootfs.kind === 'host'
    ? hostViewSteps(layout, steps, mounts, context, tmpSize, tmpInodes, maskCover)
    : { sealLater: [], hidden: (): boolean => false };

  let files = 0;
  mounts.forEach((entry, i) => {
    const label = `mounts[${i}] ${entry.type}`;
    switch (entry.type) {
      case 'bind': {
        // A link followed from a `mounts` source may lead under /tmp, which
        // the root hides in the direct layout: read it through /oldroot.
        if (entry.followSymlinks === true) layout.stagingArea(entry.source);
        const bind = hostBindStep(layout, label, entry.source, entry.target, bindAttributes(entry), entry.recursive !== false, create, entry.followSymlinks === true ? 'follow' : 'refuse');
        const prepared = context.preparedTrees?.get(i);
        if (prepared !== undefined) bind.slot = prepared;
        steps.push(bind);
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
        steps.push({ ...mountStep(label, 'proc', entry.target, nosuidNodev | MOUNT_ATTR_NOEXEC, entry.hidepid && entry.hidepid !== 'off' ? ['hidepid', entry.hidepid] : [], create), kind: 'proc' });
        break;
      case 'sysfs':
        steps.push(mountStep(label, 'sysfs', entry.target, MOUNT_ATTR_RDONLY | nosuidNodev | MOUNT_ATTR_NOEXEC, [], create));
        break;
      case 'mqueue':
        steps.push(mountStep(label, 'mqueue', entry.target, nosuidNodev | MOUNT_ATTR_NOEXEC, [], create));
        break;
      case 'symlink':
        steps.push(symlinkStep(label, entry.linkTo, entry.target));
        break;
      case 'file': {
        const staged = layout.stagingArea(`${FILES}/${files++}`);
        steps.push(writeFileStep(`${label} content`, entry.target, staged, entry.content, entry.mode ?? 0o644));
        steps.push(bindStep(label, staged, entry.target, MOUNT_ATTR_RDONLY | nosuidNodev | MOUNT_ATTR_NOEXEC, false, create, entry.target));
        break;
      }
      case 'remount-ro':
        steps.push(readOnlyStep(label, entry.target, AttrScope.subtree));
        break;
      case 'mask': {
        const empty = maskCover();
        // Under a directory the default view hides, the path may be gone already: hidden, as asked.
        steps.push(maskStep(label, empty, entry.target, hidden(entry.target) || entry.ifExists === true));
        break;
      }
    }
  });
  steps.push(...sealLater);
  steps.push(step('enterRoot', { name: 'enter new root', syscall: 'pivot_root', kind: 'pivot', path: newRoot }, { root: newRoot }));
  return steps;
}

/** Mount types that put something of their own at the target (a hidden directory there is moot). */
const REPLACING: ReadonlySet<MountEntry['type']> = new Set(['bind', 'tmpfs', 'proc', 'sysfs', 'mqueue', 'mask']);

/**
 * The default view of the host (see host-view.ts), into the root tmpfs:
 * the allowed directories bound read-only (recursive: what is mounted
 * beneath them on the host comes along) and the top-level links among
 * them reproduced; a fresh /run; empty /home, /root, /var (with its links),
 * ...; the caller's home hidden where an allowed directory holds it; a
 * fresh sysfs (or an empty /sys); masks over the host sockets still in
 * sight. Whatever else the host has at its top level is simply not there.
 * The root, and a hidden home with a `mounts` target beneath it, stay
 * writable until the mounts are attached: the steps that seal them are
 * returned, to run after `mounts`, with a test for "this path was hidden".
 */
function hostViewSteps(
  layout: RootLayout,
  steps: PlanStep[],
  mounts: readonly MountEntry[],
  context: FilesystemContext,
  tmpSize: string,
  tmpInodes: string,
  maskCover: () => string,
): { sealLater: PlanStep[]; hidden: (target: string) => boolean } {
  const create = TargetMode.create;
  const hide = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  const targets = mounts.map((entry) => entry.target);
  const replaced = (dir: string): boolean => mounts.some((entry) => entry.target === dir && REPLACING.has(entry.type));
  const beneath = (dir: string): boolean => targets.some((target) => target !== dir && isWithin(target, dir));
  const sealLater: PlanStep[] = [];
  const view = context.hostView;
  const top = view?.top ?? topLevel();
  const homes = view?.homes ?? [];
  const present = (dir: string): boolean => view === undefined || view.present.includes(dir);

  // Bound (or linked) even when a `mounts` entry replaces one: that entry is
  // mounted on top, as it would be on the host's root (a file over /usr is
  // ENOTDIR; a target under /bin goes through the link).
  for (const entry of top) {
    if (entry.kind === 'link') {
      steps.push(symlinkStep(`link ${entry.name}`, entry.to, entry.name));
    } else {
      steps.push(hostBindStep(layout, `bind host ${entry.name}`, entry.name, entry.name, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, create, 'follow'));
    }
  }
  for (const dir of FRESH_DIRS) {
    if (replaced(dir) || !present(dir)) continue;
    steps.push(mountStep(`mount ${dir}`, 'tmpfs', dir, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, ['mode', '0755', 'size', tmpSize, 'nr_inodes', tmpInodes], create));
  }
  // Empty directories of the root tmpfs itself: read-only with it.
  const emptyDirs = HIDDEN_DIRS.filter((dir) => present(dir) && !replaced(dir));
  if (!context.newNet && !replaced('/sys')) emptyDirs.push('/sys');
  for (const dir of emptyDirs) {
    steps.push(makeDirStep(`make ${dir}`, dir, `${layout.newRoot}${dir}`));
  }
  if (emptyDirs.includes('/var')) {
    for (const [link, to] of VAR_LINKS.filter(([link]) => !targets.includes(link))) {
      steps.push(symlinkStep(`link ${link}`, to, link));
    }
  }

  // The caller's home under an allowed directory: a copy of one shared empty
  // read-only tmpfs (a bind costs a third of a new tmpfs), or a tmpfs of its
  // own, sealed after `mounts`, when a mount point is to be made in it.
  let emptyMade = false;
  const emptyDir = (): string => {
    if (!emptyMade) {
      layout.stagingArea(EMPTY);
      steps.push(makeDirStep(`make ${EMPTY}`, EMPTY, EMPTY));
      steps.push(mountStep('mount empty tmpfs for hidden directories', 'tmpfs', EMPTY, MOUNT_ATTR_RDONLY | hide, ['mode', '0755', 'size', '4096'], TargetMode.plain));
      emptyMade = true;
    }
    return EMPTY;
  };
  for (const dir of homes) {
    if (replaced(dir)) continue;
    if (!beneath(dir)) {
      steps.push(bindStep(`hide ${dir}`, emptyDir(), dir, MOUNT_ATTR_RDONLY | hide, false, create, 'an empty tmpfs'));
      continue;
    }
    steps.push(mountStep(`hide ${dir}`, 'tmpfs', dir, hide, ['mode', '0755', 'size', '65536'], create));
    sealLater.push(readOnlyStep(`make ${dir} read-only`, dir, AttrScope.topMount));
  }
  sealLater.push(readOnlyStep('make the box root read-only', '/', AttrScope.topMount));

  // sysfs shows the net namespace of its mounter: a box with a network of
  // its own gets a fresh one (its own interfaces only), any other box an
  // empty /sys. Its /sys/fs/cgroup is an empty directory unless the box is
  // the root of a cgroup namespace over a v2 cgroup of its own: then that cgroup.
  const ro = MOUNT_ATTR_RDONLY | hide;
  if (!replaced('/sys') && context.newNet) {
    steps.push({ ...mountStep('mount /sys', 'sysfs', '/sys', ro, [], create), kind: 'sysfs' });
    if (context.ownCgroup2 && !replaced('/sys/fs/cgroup')) {
      steps.push(mountStep('mount own cgroup', 'cgroup2', '/sys/fs/cgroup', ro, [], TargetMode.mustExist));
    }
  }

  const sockets = view?.sockets ?? [];
  if (sockets.length > 0) {
    const empty = maskCover();
    for (const socketPath of sockets) steps.push(maskStep('mask host socket', empty, socketPath, true));
  }
  // A `mask` under a directory the view leaves out may find nothing there: hidden, as asked.
  const hidden = (target: string): boolean => {
    const dir = hiddenInBox(target, homes, []);
    return dir !== undefined && !BOX_OWN.includes(dir);
  };
  return { sealLater, hidden };
}

const FILESYSTEM_OPS: ReadonlySet<OpName> = new Set<OpName>([
  'mountFs', 'bindMount', 'bindDevices', 'makeDir', 'pivotRoot', 'enterRoot', 'symlink', 'writeFile', 'setMountAttr', 'openRoot', 'mask',
]);

// Which system call each part of a filesystem step is, for error.syscall.
const MOUNT_PART_SYSCALLS: Record<(typeof MountPart)[keyof typeof MountPart], string> = {
  none: 'mount',
  'resolve target': 'openat2',
  'create target': 'mkdirat',
  'open source': 'open_tree',
  fsopen: 'fsopen',
  fsconfig: 'fsconfig',
  'create filesystem': 'fsconfig',
  fsmount: 'fsmount',
  attach: 'move_mount',
  'set attributes': 'mount_setattr',
  mkdir: 'mkdir',
  pivot_root: 'pivot_root',
  'detach old root': 'umount2',
  write: 'write',
  symlink: 'symlinkat',
  'open root': 'open',
  chdir: 'chdir',
  'resolve source': 'openat2',
  'check owner': 'statx',
};

/** The fds the parent made for the box's filesystem, and what else the steps need to know of the box. */
export interface FilesystemFds {
  idmappedTrees?: ReadonlyMap<number, number> | undefined;
  layerTrees?: ReadonlyMap<number, number> | undefined;
  upperTree?: number | undefined;
  hostView?: HostView | undefined;
  /** The host path of the box's terminal, when it has one. */
  console?: string | undefined;
}

/**
 * The box's filesystem, in a mount namespace of its own (none otherwise):
 * mounts made private first, then the root built and entered
 * (filesystemSteps), with the parent's trees given their fd slots.
 */
export function boxFilesystemSteps(
  options: Readonly<ResolvedFilesystem>,
  context: Omit<FilesystemContext, 'preparedTrees' | 'layerTrees' | 'upperTree' | 'tmpSize' | 'console' | 'hostView'> & { newMount: boolean },
  fds: FilesystemFds,
  slot: (fd: number) => number,
): PlanStep[] {
  if (!context.newMount) return [];
  const { newMount: _newMount, ...flags } = context;
  return [
    step('setMountPropagation', { name: 'make mounts private', syscall: 'mount', kind: 'mount', path: '/' }, { propagation: MS_PRIVATE }),
    ...filesystemSteps(options.rootfs, options.mounts, {
      ...flags,
      preparedTrees: new Map([...(fds.idmappedTrees ?? new Map<number, number>())].map(([index, fd]) => [index, slot(fd)])),
      tmpSize: options.tmpSize,
      ...(fds.upperTree !== undefined ? { upperTree: slot(fds.upperTree) } : {}),
      ...(fds.layerTrees !== undefined ? { layerTrees: new Map([...fds.layerTrees].map(([index, fd]) => [index, slot(fd)])) } : {}),
      ...(fds.hostView !== undefined ? { hostView: fds.hostView } : {}),
      ...(fds.console !== undefined ? { console: fds.console } : {}),
    }),
  ];
}

/** A failed filesystem step, told by its part (native MountPart in the status detail): the system call, and the path at fault. */
export function explainFilesystem(step: PlanStep, detail: number, failed: FailedStep): FailedStep {
  if (!FILESYSTEM_OPS.has(step.op)) return failed;
  // bindDevices adds 256 * (index + 1) of the node that failed.
  const device = step.op === 'bindDevices' && detail >= 256 ? fieldOf(step, 'bindDevices', 'devices')?.[Math.floor(detail / 256) - 1] : undefined;
  const part = MountPart[(detail % 256) as keyof typeof MountPart];
  if (part === undefined || part === 'none') return failed;
  const explained: FailedStep = { ...failed, syscall: MOUNT_PART_SYSCALLS[part] };
  if (device !== undefined) explained.path = `/dev/${device}`;
  if ((part === 'open source' || part === 'resolve source' || part === 'check owner') && step.source !== undefined) {
    explained.path = device === undefined ? step.source : `${step.source}/${device}`;
  }
  // The symlink and owner advice of a bind or upper step is for those parts only.
  if ((failed.kind === 'bind' || failed.kind === 'upper') && part !== 'resolve source' && part !== 'check owner') explained.kind = 'mount';
  return explained;
}
