// What the host shows after a step failed: the facts behind a hint. Only
// run once a spawn has failed (never on the way to a good one), and only
// read the host: a stat or two per path component.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { hiddenByDefault, isWithin } from './host-view';

/** A directory on the way to a file that a host uid may not search (x bit), judged by its mode bits. */
export interface Untraversable {
  dir: string;
  mode: number;
  owner: number;
  group: number;
}

/**
 * The first directory on the way to `file` that `uid` with groups `gids`
 * cannot search, by owner, group and mode bits alone: ACLs and capabilities
 * are not weighed, so this is only asked after an execve failed with EACCES,
 * and the hint says the mode it judged by. Undefined if every directory's
 * bits let it through, or one cannot be looked at.
 */
export function untraversableDir(file: string, uid: number, gids: readonly number[]): Untraversable | undefined {
  if (uid === 0) return undefined;
  const parts = path.dirname(path.normalize(file)).split('/').filter((part) => part !== '');
  let dir = '/';
  for (let i = 0; i <= parts.length; i++) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(dir);
    } catch {
      return undefined;
    }
    if (!stat.isDirectory()) return undefined;
    const bit = stat.uid === uid ? 0o100 : gids.includes(stat.gid) ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return { dir, mode: stat.mode & 0o7777, owner: stat.uid, group: stat.gid };
    if (i < parts.length) dir = path.join(dir, parts[i]!);
  }
  return undefined;
}

/** Whether `file` exists on the host (as this process sees it). */
export function existsOnHost(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch {
    return false;
  }
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
): string | undefined {
  const normalized = path.normalize(boxPath);
  let best: { type: string; source?: string; target: string } | undefined;
  for (const mount of mounts) {
    if (isWithin(normalized, mount.target) && (best === undefined || mount.target.length >= best.target.length)) best = mount;
  }
  if (best !== undefined) {
    return best.type === 'bind' && best.source !== undefined ? path.join(best.source, path.relative(best.target, normalized)) : undefined;
  }
  // rootfs 'host' shows the host's own files only under its system directories.
  if (rootfs.kind === 'host') return hiddenByDefault(normalized) === undefined ? normalized : undefined;
  if (rootfs.kind === 'dir' && rootfs.dir !== undefined) return path.join(rootfs.dir, normalized);
  return undefined;
}
