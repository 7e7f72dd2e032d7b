// Disk quota for a persistent upper layer: the tenant's layer lives in an
// ext4 image (`<dir>/upper.img`) whose size is the byte quota and whose
// inode count is the inode quota, both enforced by the kernel (ENOSPC).
// For each box the parent attaches the image to a loop device with
// LO_FLAGS_AUTOCLEAR and mounts it as a detached tree; the box's child
// attaches that tree in its own mount namespace as the overlay's upper
// filesystem. Nothing is mounted on the host, and the loop device goes
// away by itself once the box's namespace and cordon's fd have let go of
// the mount: on every path, a SIGKILLed supervisor included.
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';

import type { Capability } from './probe';
import { CordonError, errnoName } from './errors';
import { checkInteger, invalidType, isPlainObject, rejectUnknownKeys } from './internal/checks';
import { native } from './internal/native';
import type { Ledger } from './internal/resources';

/** The byte and inode quota of a persistent upper layer (root callers). */
export interface UpperQuota {
  /**
   * Size of the layer's filesystem image in bytes (at least 16 MiB): what
   * the tenant can store, less ext4's own metadata and journal (a few
   * percent; `box.diskUsage().bytes` tells the usable size). Fixed when the
   * image is made: a different value for an existing image is an error.
   */
  readonly bytes: number;
  /** How many files and directories the layer may hold (at least 1024; ext4 rounds it up to fill its block groups). Default: ext4's, one per 16 KiB. */
  readonly inodes?: number;
}

export interface ResolvedQuota {
  bytes: number;
  inodes: number | undefined;
}

/** What `box.diskUsage()` reports of a quota'd upper layer. */
export interface DiskUsage {
  /** Usable bytes of the layer's filesystem, used and free. */
  bytes: number;
  bytesUsed: number;
  bytesFree: number;
  /** Inodes of the layer's filesystem, used and free. */
  inodes: number;
  inodesUsed: number;
  inodesFree: number;
}

export const QUOTA_IMAGE = 'upper.img';
const MIN_BYTES = 16 * 1024 * 1024;
/** How long a spawn waits for the box that used the image before to let go of it. */
const RELEASE_WAIT_MS = 2000;

export function validateQuota(value: unknown): ResolvedQuota {
  if (!isPlainObject(value)) throw invalidType('rootfs.upper.quota', 'an object { bytes, inodes? }', value);
  rejectUnknownKeys(value, ['bytes', 'inodes'], 'rootfs.upper.quota');
  return {
    bytes: checkInteger('rootfs.upper.quota.bytes', value.bytes, MIN_BYTES, Number.MAX_SAFE_INTEGER),
    inodes: value.inodes === undefined ? undefined : checkInteger('rootfs.upper.quota.inodes', value.inodes, 1024, 0xffffffff),
  };
}

const MKFS_CANDIDATES = ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4', '/usr/bin/mkfs.ext4'];

function findMkfs(): string | undefined {
  return MKFS_CANDIDATES.find((candidate) => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function hasExt4(): boolean {
  try {
    return /\text4$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
}

/** Why this caller and host cannot give an upper layer a quota, or undefined if they can. */
export function quotaRefusal(): string | undefined {
  const missing: string[] = [];
  if (process.geteuid?.() !== 0) missing.push('root on the host (attaching a loop device and mounting ext4 need CAP_SYS_ADMIN in the initial namespaces)');
  if (!fs.existsSync('/dev/loop-control')) missing.push('loop devices (/dev/loop-control; modprobe loop)');
  if (findMkfs() === undefined) missing.push(`mkfs.ext4 (${MKFS_CANDIDATES.join(', ')}; Debian: apt-get install e2fsprogs)`);
  if (!hasExt4()) missing.push('ext4 in this kernel (/proc/filesystems; modprobe ext4)');
  return missing.length === 0 ? undefined : `a disk quota for the upper layer needs ${missing.join(', ')}`;
}

/** probe().diskQuota. */
export function probeQuota(): Capability {
  const reason = quotaRefusal();
  return reason === undefined ? { available: true } : { available: false, reason };
}

const PARTS: Record<number, string> = { 1: 'openat2', 2: 'openat', 3: 'fstat', 4: 'ftruncate', 5: 'flock', 6: 'ioctl', 7: 'fsmount', 8: 'mkdirat', 9: 'fstatfs' };

function quotaError(errno: number, part: number, dir: string, what: string): CordonError {
  const code = errnoName(errno);
  const syscall = PARTS[part] ?? 'mount';
  const hint = part === 5 && code === 'EWOULDBLOCK'
    ? 'another box (of this or another supervisor) has this upper layer mounted: one box at a time per quota\'d layer; stop the old box before starting the next (a lasting listener queues connections meanwhile)'
    : part === 3 && code === 'EPERM'
      ? `${QUOTA_IMAGE} must be a regular file of the caller's with one link, writable by nobody else: the kernel parses it as a filesystem`
      : part === 1 && code === 'ELOOP'
        ? 'a component of rootfs.upper.dir is a symlink: give the real path (fs.realpathSync)'
        : part === 1 && code === 'ENOENT'
          ? 'rootfs.upper.dir must exist'
          : undefined;
  return new CordonError(code, `${syscall} ${code}: cannot ${what} the quota'd upper layer in ${dir}${hint === undefined ? '' : ` (${hint})`}`, {
    errno: -Math.abs(errno), syscall, step: 'prepare upper layer quota', path: `${dir}/${QUOTA_IMAGE}`, ...(hint === undefined ? {} : { hint }),
  });
}

function removeFreshImage(dir: string): void {
  const opened = native().openSocketDir(dir, 0o700, -1, -1);
  if (opened.error !== 0) return;
  if (opened.fds.length === 1) native().unlinkAt(opened.fds[0]!, QUOTA_IMAGE, false);
  for (const fd of opened.fds) native().closeFd(fd);
}

/** How long a box's `exited` waits for the kernel to let go of its image. */
const RELEASED_WAIT_MS = 5000;

/**
 * Resolves once no loop device holds the image open as `watch` (its lock is
 * free), or after RELEASED_WAIT_MS; then closes `watch`. The kernel lets go
 * asynchronously after the box's namespace and cordon's mount fd are gone.
 */
async function imageReleased(watch: number): Promise<void> {
  try {
    for (let waited = 0; waited < RELEASED_WAIT_MS; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, waited === 0 ? 0 : 5));
      if (native().quotaImageFree(watch) !== -11) return; // free, or cannot tell: no use waiting
    }
  } finally {
    native().closeFd(watch);
  }
}

/** A quota'd layer mounted for a box: the mount's fd, and when the kernel has let go of it. */
export interface QuotaLayer {
  mount: number;
  /** Once the ledger has released the layer: settles when its loop device is gone. */
  released: () => Promise<void> | undefined;
}

/**
 * Opens (on first use: makes and formats) the tenant's image, locks it,
 * attaches it to a loop device and mounts it as a detached tree with
 * upper/ and work/ owned by the box's root. The mount's fd is owned by the
 * ledger until the box ends (box.diskUsage() reads it); `released` tells
 * when the kernel has let go of the image after that, so the box's
 * `exited` can wait for it and the next box on the layer need not.
 */
export function prepareQuotaLayer(dir: string, quota: ResolvedQuota, owner: { uid: number; gid: number }, ledger: Ledger): QuotaLayer {
  const image = native().openQuotaImage(dir, QUOTA_IMAGE, quota.bytes, RELEASE_WAIT_MS);
  if (image.fd < 0) throw quotaError(image.fd, image.part, dir, 'open');
  try {
    if (!image.fresh && image.size !== quota.bytes) {
      throw new CordonError('EINVAL', `the quota'd upper layer in ${dir} is ${image.size} bytes, not the ${quota.bytes} asked for (cordon does not resize an image: grow it with resize2fs while no box uses it, or give its size)`, {
        errno: -22, syscall: 'fstat', step: 'prepare upper layer quota', path: `${dir}/${QUOTA_IMAGE}`,
      });
    }
    if (image.fresh) {
      const mkfs = findMkfs();
      const args = ['-q', '-F', '-m', '0', '-L', 'cordon-upper', '-E', `root_owner=${owner.uid}:${owner.gid}`];
      if (quota.inodes !== undefined) args.push('-N', String(quota.inodes));
      // The image by this process's fd: mkfs never resolves the tenant's path.
      const result = mkfs === undefined ? undefined : spawnSync(mkfs, [...args, `/proc/${process.pid}/fd/${image.fd}`], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      if (result === undefined || result.status !== 0) {
        removeFreshImage(dir);
        const reason = result === undefined ? 'mkfs.ext4 is not installed' : (result.error?.message ?? result.stderr.trim()) || `exit status ${result.status}`;
        throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `mkfs.ext4 failed for the quota'd upper layer in ${dir}: ${reason}`, {
          syscall: 'mkfs.ext4', step: 'prepare upper layer quota', path: `${dir}/${QUOTA_IMAGE}`,
        });
      }
    }
    const watch = native().reopenQuotaImage(image.fd);
    if (watch < 0) throw quotaError(watch, 2, dir, 'open');
    let released: Promise<void> | undefined;
    // Released before the mount's fd (the ledger goes newest first): the
    // first look at the lock comes after the fd is closed.
    ledger.add('upper layer quota watch', () => {
      released = imageReleased(watch);
    });
    const mount = native().mountQuotaImage(image.fd, owner.uid, owner.gid);
    if (mount.fd < 0) throw quotaError(mount.fd, mount.part, dir, 'mount');
    ledger.nativeFd('upper layer quota mount', mount.fd);
    return { mount: mount.fd, released: () => released };
  } finally {
    // The loop device holds the image (and so its lock) from here.
    native().closeFd(image.fd);
  }
}

/** The usage of a quota'd layer by its mount's fd, or undefined once it is released. */
export function quotaUsage(fd: number): DiskUsage | undefined {
  const usage = native().quotaUsage(fd);
  if (usage.error !== 0) return undefined;
  return {
    bytes: usage.bytes,
    bytesUsed: usage.bytes - usage.bytesFree,
    bytesFree: usage.bytesFree,
    inodes: usage.inodes,
    inodesUsed: usage.inodes - usage.inodesFree,
    inodesFree: usage.inodesFree,
  };
}
