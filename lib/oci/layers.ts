// One image layer's tar entries → a directory, each entry checked before
// cordon makes it (the host half, for what Node cannot do: mknod of a
// whiteout, setxattr, is native/host/layers.cc). See image.ts for the store.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Header } from 'tar-stream';

import { CordonError, errnoName } from '../errors';
import { native } from '../internal/native';
import { OciImageError } from './errors';

/** A skipped entry, as importOciImage reports it. */
export interface SkippedEntry {
  readonly layer: string;
  readonly path: string;
  readonly reason: string;
}

/** Who owns what a layer unpacks: host ids for the layer's ids (root callers), or nobody changes them. */
export interface Owners {
  uid(id: number): number;
  gid(id: number): number;
}

type Kind = 'dir' | 'file' | 'symlink' | 'other';

/**
 * Makes one layer's entries under `root`, a fresh directory only cordon
 * writes: every entry's path is checked (relative, no `..`), its parents
 * looked up in what this layer made (never a symlink, never a non-directory:
 * nothing is written through a link), hard links only to files this layer
 * made, device nodes refused for an unprivileged caller.
 */
export class LayerUnpacker {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly dirModes = new Map<string, number>();
  private readonly root: string;
  private readonly digest: string;
  private readonly skipped: SkippedEntry[];
  private readonly privileged = process.geteuid?.() === 0;
  private readonly owners: Owners;

  constructor(root: string, digest: string, skipped: SkippedEntry[], owners: Owners) {
    this.root = root;
    this.digest = digest;
    this.skipped = skipped;
    this.owners = owners;
    this.own(root, { uid: 0, gid: 0 });
  }

  private refuse(name: string, why: string): never {
    throw new OciImageError(`The OCI image layer ${this.digest} has an entry cordon refuses: ${JSON.stringify(name.slice(0, 200))} ${why}`, { path: name, digest: this.digest });
  }

  /** The entry's path as components, checked. */
  private components(name: string, what = 'name'): string[] {
    if (name.includes('\0')) this.refuse(name, `has a null byte in its ${what}`);
    if (name.startsWith('/')) this.refuse(name, `is an absolute ${what}`);
    const parts = name.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) this.refuse(name, `has ".." in its ${what}: it would reach outside the layer`);
    return parts;
  }

  /** Makes (or checks) the entry's parent directories; returns the host path of the parent. */
  private parent(name: string, parts: string[]): string {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const kind = this.kinds.get(prefix);
      if (kind === 'symlink') this.refuse(name, `goes through the symbolic link ${JSON.stringify(prefix)} this layer made`);
      if (kind === 'file' || kind === 'other') this.refuse(name, `goes through ${JSON.stringify(prefix)}, which is not a directory`);
      if (kind === undefined) {
        fs.mkdirSync(path.join(this.root, prefix), { mode: 0o755 });
        this.own(path.join(this.root, prefix), { uid: 0, gid: 0 });
        this.kinds.set(prefix, 'dir');
      }
    }
    return path.join(this.root, ...parts.slice(0, -1));
  }

  /** Makes way for an entry at `key`: a later entry of a tar replaces an earlier one. */
  private replace(key: string, target: string, kind: Kind): boolean {
    const before = this.kinds.get(key);
    if (before === undefined) return false;
    if (before === 'dir' && kind === 'dir') return true; // a directory's entry again: its mode
    fs.rmSync(target, { recursive: true, force: true }); // rm does not follow a link it removes
    for (const other of [...this.kinds.keys()]) if (other === key || other.startsWith(`${key}/`)) this.kinds.delete(other);
    // A replaced directory's mode (and its subdirectories') must not be
    // applied at the end to whatever now has its name: a symlink there
    // would carry the chmod out of the layer.
    for (const other of [...this.dirModes.keys()]) if (other === key || other.startsWith(`${key}/`)) this.dirModes.delete(other);
    return false;
  }

  async entry(header: Header, stream: AsyncIterable<Buffer>): Promise<void> {
    const name = header.name;
    const parts = this.components(name);
    const drain = async (): Promise<void> => {
      for await (const chunk of stream) void chunk;
    };
    if (parts.length === 0) {
      // The layer's root itself: its mode, applied at the end.
      if (header.type === 'directory') {
        this.dirModes.set('', header.mode & 0o7777);
        this.own(this.root, header);
      }
      await drain();
      return;
    }
    const base = parts[parts.length - 1]!;
    const parentDir = this.parent(name, parts);
    const key = parts.join('/');
    const target = path.join(this.root, ...parts);

    // Whiteouts: overlayfs's own form.
    if (base === '.wh..wh..opq') {
      const dir = parts.slice(0, -1).join('/');
      await drain();
      this.setOpaque(dir === '' ? this.root : parentDir);
      return;
    }
    if (base.startsWith('.wh..wh.')) this.refuse(name, 'is an AUFS meta entry (.wh..wh.*), which OCI layers do not have');
    if (base.startsWith('.wh.')) {
      const hidden = base.slice(4);
      if (hidden === '' || hidden === '.' || hidden === '..') this.refuse(name, 'whites out nothing');
      const hiddenKey = [...parts.slice(0, -1), hidden].join('/');
      if (this.kinds.has(hiddenKey)) this.refuse(name, 'whites out an entry of its own layer');
      await drain();
      const result = native().makeWhiteout(path.join(parentDir, hidden));
      if (result < 0) this.hostError(result, 'mknod', path.join(parentDir, hidden));
      this.kinds.set(hiddenKey, 'other');
      return;
    }

    const mode = header.mode & 0o7777;
    switch (header.type) {
      case 'directory':
        if (!this.replace(key, target, 'dir')) {
          fs.mkdirSync(target, { mode: 0o755 });
          this.kinds.set(key, 'dir');
        }
        this.dirModes.set(key, mode);
        this.own(target, header);
        await drain();
        return;
      case 'file':
      case 'contiguous-file': {
        this.replace(key, target, 'file');
        const fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        this.kinds.set(key, 'file');
        try {
          for await (const chunk of stream) fs.writeSync(fd, chunk);
        } finally {
          fs.closeSync(fd);
        }
        this.own(target, header);
        // No setuid or setgid file in the store: a box's root is nosuid, so
        // the bits serve no box, and on the host whoever reaches the file
        // could run it as its owner: the box's root's host uid, or the
        // unprivileged importer.
        fs.chmodSync(target, mode & ~0o6000);
        return;
      }
      case 'symlink':
        this.replace(key, target, 'symlink');
        // Any target: the box's kernel resolves it inside the box's root.
        fs.symlinkSync(header.linkname, target);
        this.kinds.set(key, 'symlink');
        this.own(target, header);
        await drain();
        return;
      case 'link': {
        const linkParts = this.components(header.linkname, 'link target');
        const linkKey = linkParts.join('/');
        const kind = this.kinds.get(linkKey);
        if (kind !== 'file' && kind !== 'symlink') {
          this.refuse(name, `is a hard link to ${JSON.stringify(header.linkname.slice(0, 200))}, which is no file of this layer`);
        }
        this.replace(key, target, 'file');
        fs.linkSync(path.join(this.root, ...linkParts), target); // link() does not follow a symlink
        this.kinds.set(key, kind);
        await drain();
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        if (!this.privileged && header.type !== 'fifo') {
          this.refuse(name, `is a device node (${header.type} ${header.devmajor}:${header.devminor}), which an unprivileged caller's layer may not have`);
        }
        this.skipped.push({ layer: this.digest, path: key, reason: `a ${header.type}: a box's root is nodev and gets its own /dev` });
        await drain();
        return;
      default:
        this.refuse(name, `is of type ${JSON.stringify(header.type)}, which cordon does not unpack`);
    }
  }

  private setOpaque(dir: string): void {
    const attributes = this.privileged ? ['user.overlay.opaque', 'trusted.overlay.opaque'] : ['user.overlay.opaque'];
    for (const attribute of attributes) {
      const result = native().setDirXattr(dir, attribute, 'y');
      if (result < 0) this.hostError(result, 'setxattr', dir);
    }
  }

  /** The layer's owners, as the store maps them (root); an unprivileged caller's files are its own. */
  private own(target: string, header: { uid: number; gid: number }): void {
    if (this.privileged) fs.lchownSync(target, this.owners.uid(header.uid), this.owners.gid(header.gid));
  }

  private hostError(result: number, syscall: string, where: string): never {
    const code = errnoName(result);
    throw new CordonError(code, `OCI image import: ${syscall} ${code} ${where}`, { errno: result, syscall, path: where });
  }

  /** Directory modes last (deepest first), so a 0555 directory took its entries first. */
  finish(): void {
    const keys = [...this.dirModes.keys()].sort((a, b) => b.length - a.length);
    for (const key of keys) {
      if (key !== '' && this.kinds.get(key) !== 'dir') continue;
      // Opened without following a link, changed by fd: never a chmod through a symlink.
      const fd = fs.openSync(key === '' ? this.root : path.join(this.root, key), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
      try {
        fs.fchmodSync(fd, this.dirModes.get(key)!);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (!this.dirModes.has('')) fs.chmodSync(this.root, 0o755);
  }
}
