// What the host shows after a step failed: the facts behind a hint. Only
// run once a spawn has failed (never on the way to a good one), and only
// read the host: a stat or two per path component.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { hiddenByDefault, isWithin } from './host-view';
import { hostSystemLinks, type LinkPolicy, resolveBeneath } from './internal/resolve';

/** A box path's place on the host: the tree that shows it (a bind source, the image, or / itself) and the path beneath it. */
export interface HostPlace {
  root: string;
  relative: string;
}

// The host's root is resolved with its own system links only; an image or
// a bind source as the box sees it, never out of it.
function linkPolicy(place: HostPlace): LinkPolicy {
  return place.root === '/' ? hostSystemLinks : () => true;
}

/** A directory on the way to a file that a host uid may not search (x bit), judged by its mode bits. */
export interface Untraversable {
  dir: string;
  mode: number;
  owner: number;
  group: number;
}

/**
 * The first directory on the way to `place.relative` beneath `place.root`
 * (see hostPathOf) that `uid` with groups `gids` cannot search, by owner,
 * group and mode bits alone: ACLs and capabilities are not weighed, so this
 * is only asked after an execve failed with EACCES, and the hint says the
 * mode it judged by. The way is resolved beneath the root as the box would
 * (lib/internal/resolve.ts), never through a tenant's symlink out of it.
 * Undefined if every directory's bits let it through, or one cannot be
 * looked at.
 */
export function untraversableDir(place: HostPlace, uid: number, gids: readonly number[]): Untraversable | undefined {
  if (uid === 0) return undefined;
  const dir = resolveBeneath(place.root, path.dirname(path.join('/', place.relative)), linkPolicy(place));
  if (dir === undefined || !dir.stat.isDirectory()) return undefined;
  // From the root down: each directory the box's lookup passes through (no symlink is left in the resolved path).
  const names = path.relative(place.root, dir.path).split('/').filter((part) => part !== '');
  let at = place.root;
  for (let i = 0; i <= names.length; i++) {
    const stat = i === 0 ? fs.statSync(at, { throwIfNoEntry: false }) : fs.lstatSync(at, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isDirectory()) return undefined;
    const bit = stat.uid === uid ? 0o100 : gids.includes(stat.gid) ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return { dir: at, mode: stat.mode & 0o7777, owner: stat.uid, group: stat.gid };
    if (i < names.length) at = path.join(at, names[i]!);
  }
  return undefined;
}

/**
 * Whether `file` exists on the host, resolved from the host's root
 * following only the host's own system links (/bin -> usr/bin): a path
 * through a directory a tenant writes says nothing of where its links lead.
 */
export function existsOnHost(file: string): boolean {
  return resolveBeneath('/', file, hostSystemLinks) !== undefined;
}

/** The first overlay layer that is missing or not a directory on the host, with why. */
export function badLayer(layers: readonly string[]): { index: number; layer: string; problem: 'does not exist' | 'is not a directory' } | undefined {
  for (const [index, layer] of layers.entries()) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(layer);
    } catch {
      return { index, layer, problem: 'does not exist' };
    }
    if (!stat.isDirectory()) return { index, layer, problem: 'is not a directory' };
  }
  return undefined;
}

/**
 * Where a box path lies on the host, through the bind mounts that put it
 * there (the innermost mount wins; another kind of mount hides the host), else on the host root itself (rootfs 'host',
 * under the system directories it shows) or in the image (rootfs { dir }).
 * Undefined when it cannot be told (an overlay of layers, a tmpfs mount) or
 * the box does not show it (rootfs 'host' outside the system directories).
 */
export function hostPathOf(
  boxPath: string,
  rootfs: { kind: string; dir?: string },
  mounts: readonly { type: string; source?: string; target: string }[],
): HostPlace | undefined {
  const normalized = path.normalize(boxPath);
  let best: { type: string; source?: string; target: string } | undefined;
  for (const mount of mounts) {
    if (isWithin(normalized, mount.target) && (best === undefined || mount.target.length >= best.target.length)) best = mount;
  }
  if (best !== undefined) {
    return best.type === 'bind' && best.source !== undefined ? { root: best.source, relative: path.relative(best.target, normalized) } : undefined;
  }
  // rootfs 'host' shows the host's own files only under its system directories.
  if (rootfs.kind === 'host') return hiddenByDefault(normalized) === undefined ? { root: '/', relative: normalized.slice(1) } : undefined;
  if (rootfs.kind === 'dir' && rootfs.dir !== undefined) return { root: rootfs.dir, relative: normalized.slice(1) };
  return undefined;
}
