// `cordon oci exec --process FILE ID`: a process started in a running
// container that `create` left (containerd's runc shim calls it for `ctr
// task exec`). The container's box lives in another process, so box.exec()
// has no recipe here: the confinement is rebuilt from the bundle's
// config.json with the exec's process in place of the container's (its
// user, capabilities, rlimits, no_new_privs; the config's seccomp and
// Landlock), the namespaces are the container process's (/proc/PID/ns,
// checked against its start time after the opens), and the clone goes into
// the container's recorded cgroups. The rest is box.exec()'s path.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Box } from '../box';
import { BoxCgroup } from '../cgroups/box';
import { spawnIntoRunningBox } from '../spawn';
import { validateOptions } from '../validate';
import { fromOciConfig } from './config';

export interface OciExecTarget {
  pid: number;
  alive: () => boolean;
  bundle: string;
  cgroupDirs: readonly string[];
  hostCredentials: boolean;
}

/** The v1 controllers of a cgroup directory, from the mount it is under; undefined for a cgroup2 one. */
function hierarchyOf(dir: string): { v2: boolean; controllers: string[] } | undefined {
  let best: { where: string; v2: boolean; controllers: string[] } | undefined;
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, where, type, options] = line.split(' ');
    if (where === undefined || options === undefined || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    if (!dir.startsWith(`${where}/`) || (best !== undefined && best.where.length >= where.length)) continue;
    const controllers = options.split(',').filter((option) => !['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'clone_children'].includes(option) && !option.includes('='));
    best = { where, v2: type === 'cgroup2', controllers };
  }
  return best;
}

/** The BoxCgroup of a container's recorded cgroup directories (one per hierarchy); undefined without any. */
export function containerCgroup(dirs: readonly string[]): BoxCgroup | undefined {
  if (dirs.length === 0) return undefined;
  let v2Dir: string | undefined;
  const v1: { controllers: string[]; dir: string }[] = [];
  for (const dir of dirs) {
    const hierarchy = hierarchyOf(dir);
    if (hierarchy === undefined) continue;
    if (hierarchy.v2) v2Dir = dir;
    else v1.push({ controllers: hierarchy.controllers, dir });
  }
  return BoxCgroup.existing(path.basename(dirs[0]!), v2Dir, v1);
}

/** Starts the OCI `process` (the exec's process.json) in the container. Throws a CordonOptionError/CordonError for what cannot be. */
export function execInContainer(target: OciExecTarget, processSpec: unknown, stdio: 'inherit'): Box {
  const config = JSON.parse(fs.readFileSync(path.join(target.bundle, 'config.json'), 'utf8')) as Record<string, unknown>;
  const spec = fromOciConfig({ ...config, process: processSpec }, { bundle: target.bundle, hostCredentials: target.hostCredentials });
  const validated = validateOptions(spec.file, spec.args, spec.options);
  const recipe = { validated, counterLimits: undefined, cgroup: containerCgroup(target.cgroupDirs) };
  const options = spec.options as { env?: Record<string, string>; cwd?: string };
  return spawnIntoRunningBox(recipe, target.pid, target.alive, spec.file, spec.args, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio,
    dieWithParent: false,
  });
}
