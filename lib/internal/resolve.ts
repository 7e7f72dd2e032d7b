// Host paths resolved one name at a time by lstat, for the facts cordon
// looks up on the host (a hint after a failed step, whether an image has a
// path): the host's own resolution (fs.statSync of a joined path) would
// follow any symlink on the way, a tenant's too, and answer for wherever
// it leads: "/x/prog" with /x -> /root in a tenant's image would tell
// whether the host's /root holds prog, and its mode and owner.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Symlinks followed in one resolution before it gives up, as the kernel's ELOOP (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Whether to follow the symlink at `at` (its lstat given); when not, the resolution stops there. */
export type LinkPolicy = (at: string, link: fs.Stats) => boolean;

/**
 * `target` resolved beneath `root` as openat2's RESOLVE_IN_ROOT resolves it
 * (a symlink's absolute target starts again at `root`, `..` stops there),
 * following only the symlinks `follow` accepts: the host path it names
 * (under `root`, with no symlink left in it) and its lstat, or undefined
 * if a name is missing, a non-directory is passed through, or a symlink is
 * refused.
 */
export function resolveBeneath(root: string, target: string, follow: LinkPolicy): { path: string; stat: fs.Stats } | undefined {
  const names = (text: string): string[] => text.split('/').filter((part) => part !== '' && part !== '.');
  const pending = names(target);
  const resolved: string[] = [];
  // The root is the caller's own path (a rootfs or bind source it named, or /): followed.
  const rootStat = fs.statSync(root, { throwIfNoEntry: false });
  if (rootStat === undefined) return undefined;
  let stat: fs.Stats = rootStat;
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      resolved.pop();
      const up = resolved.length === 0 ? rootStat : fs.lstatSync(path.join(root, ...resolved), { throwIfNoEntry: false });
      if (up === undefined) return undefined;
      stat = up;
      continue;
    }
    if (!stat.isDirectory()) return undefined;
    const at = path.join(root, ...resolved, name);
    const next = fs.lstatSync(at, { throwIfNoEntry: false });
    if (next === undefined) return undefined;
    if (next.isSymbolicLink()) {
      if (++links > MAX_LINKS || !follow(at, next)) return undefined;
      let content: string;
      try {
        content = fs.readlinkSync(at);
      } catch {
        return undefined;
      }
      if (content.startsWith('/')) {
        resolved.length = 0;
        stat = rootStat;
      }
      pending.unshift(...names(content));
      continue;
    }
    resolved.push(name);
    stat = next;
  }
  return { path: path.join(root, ...resolved), stat };
}

/**
 * The host's own system links (/bin -> usr/bin, /lib64 -> ...): owned by
 * root in a directory of root's that no one else may write. A tenant
 * (any uid but the host's root, a rootless caller's subordinate ids and
 * the caller itself included) can make none of them.
 */
export const hostSystemLinks: LinkPolicy = (at, link) => {
  if (link.uid !== 0) return false;
  const dir = fs.lstatSync(path.dirname(at), { throwIfNoEntry: false });
  return dir !== undefined && dir.isDirectory() && dir.uid === 0 && (dir.mode & 0o022) === 0;
};
