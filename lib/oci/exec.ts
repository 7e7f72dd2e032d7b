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
import { detachedCgroup } from '../adopt';
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

/** Starts the OCI `process` (the exec's process.json) in the container. Throws a CordonOptionError/CordonError for what cannot be. */
export function execInContainer(target: OciExecTarget, processSpec: unknown, stdio: 'inherit'): Box {
  const config = JSON.parse(fs.readFileSync(path.join(target.bundle, 'config.json'), 'utf8')) as Record<string, unknown>;
  const spec = fromOciConfig({ ...config, process: processSpec }, { bundle: target.bundle, hostCredentials: target.hostCredentials });
  const validated = validateOptions(spec.file, spec.args, spec.options);
  const recipe = { validated, counterLimits: undefined, cgroup: detachedCgroup({ cgroupDirs: [...target.cgroupDirs] }) };
  const options = spec.options as { env?: Record<string, string>; cwd?: string };
  return spawnIntoRunningBox(recipe, target.pid, target.alive, spec.file, spec.args, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio,
    dieWithParent: false,
  });
}
