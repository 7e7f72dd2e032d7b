// An OCI config's mounts and device nodes → cordon's `mounts` entries (see
// docs/oci.md for each type and option).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { resolveBeneath } from '../internal/resolve';
import type { MountEntry, NamespaceName, NamespaceSetting } from '../options';
import { badValue, unsupported } from './errors';
import { Fields } from './fields';
import type { Mutable, OciIgnoredField } from './fields';

const SKIPPED_MOUNTS: Readonly<Record<string, { type: string; reason: string }>> = {
  '/proc': { type: 'proc', reason: 'cordon always mounts a fresh /proc (of the box\'s pid namespace)' },
  '/dev': { type: 'tmpfs', reason: 'cordon always mounts its own minimal /dev (null, zero, full, random, urandom, tty, pts, shm)' },
  '/dev/pts': { type: 'devpts', reason: 'cordon always mounts a new devpts instance at /dev/pts' },
};

/** Mount options with no effect cordon could give or need. */
const NEUTRAL_OPTIONS = new Set([
  'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'noatime', 'atime', 'nodiratime', 'diratime', 'lazytime', 'nolazytime',
  'private', 'rprivate', 'defaults', 'async', 'nosuid', 'nodev', 'sync',
]);

export function mapMounts(
  entries: unknown[],
  inBundle: (at: string, value: string) => string,
  namespaces: Record<NamespaceName, NamespaceSetting>,
  ignored: OciIgnoredField[],
): MountEntry[] {
  const mounts: MountEntry[] = [];
  entries.forEach((entry, i) => {
    const at = `mounts[${i}]`;
    const fields = Fields.of(entry, at);
    let destination = fields.string('destination');
    if (destination === undefined || destination === '') throw badValue(`${at}.destination`, destination, 'must be a path in the container');
    destination = path.posix.normalize(path.posix.join('/', destination));
    const type = fields.string('type') ?? '';
    const source = fields.string('source') ?? '';
    const options = fields.strings('options');
    fields.refuse('uidMappings', 'cordon has no per-mount id mappings from a config (see the `idmap` bind option)');
    fields.refuse('gidMappings', 'cordon has no per-mount id mappings from a config (see the `idmap` bind option)');
    fields.done();

    const skipped = SKIPPED_MOUNTS[destination];
    if (skipped !== undefined && skipped.type === type) {
      ignored.push({ field: at, reason: skipped.reason });
      return;
    }
    const option = parseMountOptions(`${at}.options`, options);
    const isBind = type === 'bind' || option.bind !== undefined;
    if (isBind) {
      if (source === '') throw badValue(`${at}.source`, source, 'must name the host path to bind');
      option.allow('ro', 'rw', 'bind', 'rbind', 'noexec', 'exec', 'dev', 'suid');
      if (option.has('suid')) throw unsupported(`${at}.options`, 'cordon binds are always nosuid');
      const bind: Mutable<Extract<MountEntry, { type: 'bind' }>> = {
        type: 'bind',
        source: inBundle(`${at}.source`, source),
        target: destination,
        readonly: option.readonly,
        recursive: option.bind === 'rbind',
      };
      if (option.has('noexec')) bind.noexec = true;
      if (option.has('dev')) bind.devices = true;
      mounts.push(bind);
      return;
    }
    switch (type) {
      case 'tmpfs': {
        option.allow('ro', 'rw', 'noexec', 'exec', 'mode', 'size', 'uid', 'gid', 'nr_inodes');
        const tmpfs: Mutable<Extract<MountEntry, { type: 'tmpfs' }>> = { type: 'tmpfs', target: destination };
        const mode = option.value('mode');
        if (mode !== undefined) {
          if (!/^[0-7]{1,4}$/.test(mode)) throw badValue(`${at}.options`, `mode=${mode}`, 'must give an octal mode');
          tmpfs.mode = parseInt(mode, 8);
        }
        const size = option.value('size');
        if (size !== undefined) tmpfs.size = parseSize(`${at}.options`, size);
        for (const id of ['uid', 'gid'] as const) {
          const value = option.value(id);
          if (value !== undefined) {
            if (!/^\d+$/.test(value)) throw badValue(`${at}.options`, `${id}=${value}`, 'must give a number');
            tmpfs[id] = Number(value);
          }
        }
        if (option.value('nr_inodes') !== undefined) ignored.push({ field: `${at}.options`, reason: 'nr_inodes: cordon sets no inode limit on a tmpfs mount entry' });
        if (option.readonly) tmpfs.readonly = true;
        if (!option.has('noexec')) ignored.push({ field: `${at}.options`, reason: 'tmpfs mounts are exec unless noexec: cordon\'s are exec, nosuid and nodev' });
        mounts.push(tmpfs);
        return;
      }
      case 'proc': {
        option.allow('ro', 'rw', 'noexec', 'hidepid');
        const hidepid = option.value('hidepid');
        const names: Record<string, 'off' | 'noaccess' | 'invisible'> = { '0': 'off', off: 'off', '1': 'noaccess', noaccess: 'noaccess', '2': 'invisible', invisible: 'invisible' };
        if (hidepid !== undefined && names[hidepid] === undefined) throw badValue(`${at}.options`, `hidepid=${hidepid}`, 'must be off, noaccess or invisible');
        mounts.push(hidepid === undefined ? { type: 'proc', target: destination } : { type: 'proc', target: destination, hidepid: names[hidepid]! });
        return;
      }
      case 'sysfs':
        option.allow('ro', 'noexec');
        if (!option.readonly) ignored.push({ field: `${at}.options`, reason: 'sysfs: cordon mounts it read-only always' });
        // A network namespace joined by path (podman's default network) is
        // the box's own too; only the host's is refused (see validate.ts).
        if (namespaces.net === 'host') throw unsupported(`${at}.type`, 'a sysfs mount needs a network namespace of the box\'s own in cordon, new or joined by path (bind /sys instead)');
        mounts.push({ type: 'sysfs', target: destination });
        return;
      case 'mqueue':
        option.allow('noexec');
        mounts.push({ type: 'mqueue', target: destination });
        return;
      case 'cgroup':
      case 'cgroup2':
        ignored.push({ field: at, reason: 'cordon mounts no cgroup filesystem from a config: the box sees an empty directory there' });
        return;
      default:
        throw unsupported(`${at}.type`, `cordon mounts bind, tmpfs, proc, sysfs and mqueue only (not ${JSON.stringify(type.slice(0, 40))})`);
    }
  });
  return mounts;
}

interface ParsedMountOptions {
  readonly readonly: boolean;
  readonly bind: 'bind' | 'rbind' | undefined;
  has(name: string): boolean;
  value(name: string): string | undefined;
  /** Refuses any option but these (and the neutral ones). */
  allow(...names: string[]): void;
}

function parseMountOptions(at: string, options: string[]): ParsedMountOptions {
  const flags = new Map<string, number>();
  const values = new Map<string, string>();
  options.forEach((option, i) => {
    const eq = option.indexOf('=');
    if (eq >= 0) values.set(option.slice(0, eq), option.slice(eq + 1));
    else flags.set(option, i);
    const name = eq >= 0 ? option.slice(0, eq) : option;
    if (['shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'].includes(name)) {
      throw unsupported(`${at}[${i}]`, 'cordon\'s mounts are private (no propagation to or from the host)');
    }
    if (['idmap', 'ridmap'].includes(name)) throw unsupported(`${at}[${i}]`, 'cordon has no idmapped mounts from a config');
  });
  let readonly = false;
  let bind: 'bind' | 'rbind' | undefined;
  for (const [name] of flags) {
    if (name === 'ro') readonly = true;
    if (name === 'rw') readonly = false;
    if (name === 'bind' || name === 'rbind') bind = name;
  }
  return {
    readonly,
    bind,
    has: (name) => flags.has(name),
    value: (name) => values.get(name),
    allow(...names) {
      for (const [name, i] of flags) {
        if (!names.includes(name) && !NEUTRAL_OPTIONS.has(name)) throw unsupported(`${at}[${i}]`, `cordon does not honour the mount option ${JSON.stringify(name)} here`);
      }
      let i = 0;
      for (const option of options) {
        const eq = option.indexOf('=');
        if (eq >= 0 && !names.includes(option.slice(0, eq))) throw unsupported(`${at}[${i}]`, `cordon does not honour the mount option ${JSON.stringify(option.slice(0, 40))} here`);
        i++;
      }
    },
  };
}

function parseSize(at: string, text: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(text);
  if (match === null) throw unsupported(at, `size=${text}: cordon takes a size in bytes, k, m or g`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

/**
 * Whether a readonlyPaths entry will be in the box: /proc and /sys are the
 * same kernel's as the host's, so the host's say whether they have it;
 * anything else comes from the root directory, resolved in it as the box
 * resolves it (resolveBeneath), never followed out of: the box resolves it
 * again, safely, when it mounts.
 */
export function presentInBox(target: string, rootDir: string | undefined): boolean {
  const kernel = target === '/proc' || target.startsWith('/proc/') || target === '/sys' || target.startsWith('/sys/');
  if (kernel) return fs.existsSync(target);
  if (rootDir === undefined) return true;
  // In the root as the box resolves it: a link's absolute target starts again at the root.
  return resolveBeneath(rootDir, target, () => true) !== undefined;
}

export function mapDevice(fields: Fields, ignored: OciIgnoredField[]): MountEntry {
  const devicePath = fields.string('path');
  const type = fields.string('type');
  const major = fields.integer('major', 0, 0xfff);
  const minor = fields.integer('minor', 0, 0xfffff);
  fields.ignore('fileMode', 'the bound host node keeps its own mode and owner', ignored);
  fields.ignore('uid', 'the bound host node keeps its own mode and owner', ignored);
  fields.ignore('gid', 'the bound host node keeps its own mode and owner', ignored);
  fields.done();
  if (devicePath === undefined || !path.isAbsolute(devicePath)) throw badValue(fields.path('path'), devicePath, 'must be an absolute path');
  if (type !== 'c' && type !== 'u' && type !== 'b') throw unsupported(fields.path('type'), 'cordon binds character and block devices only');
  // A box makes no device nodes (mknod needs privilege over the host's
  // devices): it binds the host's node at the same path, which must be the
  // device the config names.
  let stat: fs.Stats;
  try {
    stat = fs.statSync(devicePath);
  } catch (error) {
    throw unsupported(fields.path('path'), `cordon binds the host's own node, and ${devicePath} cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const isType = type === 'b' ? stat.isBlockDevice() : stat.isCharacterDevice();
  const hostMajor = Math.floor(stat.rdev / 256) & 0xfff;
  const hostMinor = (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00);
  if (!isType || hostMajor !== major || hostMinor !== minor) {
    throw unsupported(fields.path('path'), `cordon binds the host's own node, and ${devicePath} is not device ${type} ${major}:${minor} on this host`);
  }
  return { type: 'bind', source: devicePath, target: devicePath, readonly: false, recursive: false, devices: true };
}
