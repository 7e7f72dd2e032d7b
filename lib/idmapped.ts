// Idmapped trees: detached mount trees the parent makes for a box with
// open_tree + mount_setattr(MOUNT_ATTR_IDMAP) (native idmappedTree), because
// an idmapped mount needs the host's CAP_SYS_ADMIN, which the box's child
// never has. The child attaches each one (filesystem.ts's steps take the
// tree's slot). Acquired per box: each holds the box's own id mapping.
import { CordonError, errnoName, hintFor } from './errors';
import { bindAttributes } from './filesystem';
import { defaultIdMap, mapText } from './identity';
import { native } from './internal/native';
import { PLAN_ENUMS } from './internal/plan-ops';
import type { Ledger, LedgerEntry } from './internal/resources';
import { boxIdsOnHost, type Caller } from './plan';
import type { ValidatedOptions } from './validate';

// MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
const MOUNT_ATTR_RDONLY_NOSUID_NODEV = 0x1 | 0x2 | 0x4;

/** The syscall of a failed idmappedTree call, told by its part (native IdmappedPart). */
function failedSyscall(part: number): string {
  return (PLAN_ENUMS.IdmappedPart as Readonly<Record<number, { syscall: string }>>)[part]?.syscall ?? 'mount_setattr';
}

/**
 * The idmapped binds of `mounts` (those with `idmap`), each a detached tree
 * mapping the given uid and gid to the box's user on the host, by index in
 * `mounts`. Held by `ledger` and listed in `spawnOnly` (the child attaches
 * them; the parent's copies go right after the spawn).
 */
export function acquireIdmappedTrees(options: ValidatedOptions, caller: Caller, ledger: Ledger, spawnOnly: LedgerEntry[]): Map<number, number> {
  const trees = new Map<number, number>();
  options.mounts.forEach((entry, i) => {
    if (entry.type !== 'bind' || entry.idmap === undefined) return;
    const box = boxIdsOnHost(options, caller);
    const result = native().idmappedTree(
      entry.source, entry.recursive !== false, bindAttributes(entry),
      `${entry.idmap.uid} ${box.uid} 1\n`, `${entry.idmap.gid} ${box.gid} 1\n`, entry.followSymlinks === true,
    );
    if (result.fd < 0) {
      const code = errnoName(result.fd);
      const syscall = failedSyscall(result.part);
      const hint = code === 'ELOOP' && syscall === 'openat2' ? hintFor('bind', code, { privileged: true }) : undefined;
      throw new CordonError(code, `${syscall} ${code}: cannot make the idmapped mount mounts[${i}] of ${entry.source}`, {
        errno: result.fd, syscall, step: `mounts[${i}] bind`, path: entry.source,
        ...(syscall === 'mount_setattr' && code === 'EINVAL' ? { hint: 'the filesystem may not support idmapped mounts (see probe().idmappedMounts)' } : {}),
        ...(hint === undefined ? {} : { hint }),
      });
    }
    const tree = ledger.hold(`mounts[${i}] idmapped tree`, result.fd, 'native');
    spawnOnly.push(tree);
    trees.set(i, tree.fd);
  });
  return trees;
}

/**
 * rootfs.idmapLayers: each template layer as an idmapped tree whose mapping
 * is the box's own uid and gid maps, so a file host root owns in a template
 * shows as the box's root (uid 33 as the box's 33, ...). The box's root may
 * then create in a template directory (overlayfs copies it up). Read-only,
 * not recursive, symlinks followed as for any layer (the caller's).
 * Undefined when the box has no idmapped layers.
 */
export function acquireLayerTrees(options: ValidatedOptions, caller: Caller, ledger: Ledger, spawnOnly: LedgerEntry[]): Map<number, number> | undefined {
  if (options.rootfs.kind !== 'layers' || options.rootfs.idmapLayers !== true) return undefined;
  const uidMap = mapText(options.uidMap ?? defaultIdMap(caller.euid));
  const gidMap = mapText(options.gidMap ?? defaultIdMap(caller.egid));
  const trees = new Map<number, number>();
  options.rootfs.layers.forEach((layer, i) => {
    const result = native().idmappedTree(layer, false, MOUNT_ATTR_RDONLY_NOSUID_NODEV, uidMap, gidMap, true);
    if (result.fd < 0) {
      const code = errnoName(result.fd);
      const syscall = failedSyscall(result.part);
      const hint = syscall === 'mount_setattr' && code === 'EINVAL' ? 'the layer\'s filesystem may not support idmapped mounts (see probe().idmappedMounts)' : undefined;
      throw new CordonError(code, `${syscall} ${code}: cannot make the idmapped template layer rootfs.layers[${i}], ${layer}${hint === undefined ? '' : ` (${hint})`}`, {
        errno: result.fd, syscall, step: `bind layer ${i}`, path: layer, ...(hint === undefined ? {} : { hint }),
      });
    }
    const tree = ledger.hold(`rootfs.layers[${i}] idmapped tree`, result.fd, 'native');
    spawnOnly.push(tree);
    trees.set(i, tree.fd);
  });
  return trees;
}
