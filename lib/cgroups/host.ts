// What cgroup hierarchies this host has and where this process sits in them.
// Pure parsing (parseCgroupHost) over three texts the kernel gives every
// process, so it can be tested with any host's files; detectCgroups() reads
// them and adds what only the live filesystem knows (controllers, access).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { canWrite, readOptional } from './fsio';

export type CgroupMode = 'v2' | 'hybrid' | 'v1' | 'none';

export interface V2Hierarchy {
  /** Mount point of cgroup2, e.g. `/sys/fs/cgroup` or `/sys/fs/cgroup/unified`. */
  mount: string;
  /** The cgroup the mount shows as its root (mountinfo field 4), usually `/`. */
  mountRoot: string;
  /** This process's cgroup, as /proc/self/cgroup says (`0::/user.slice/...`). */
  ownPath: string;
  /** Its directory, or undefined when it lies outside the mount (another cgroup namespace). */
  ownDir?: string;
  /** cgroup.controllers at the mount's root: what this hierarchy offers at all. */
  rootControllers: string[];
  /** cgroup.controllers of this process's own cgroup. */
  ownControllers: string[];
  /** cgroup.subtree_control of this process's own cgroup. */
  ownSubtreeControl: string[];
  /** This process may create child cgroups in its own cgroup (a directory write check). */
  ownWritable: boolean;
  /** The owner uid of the own cgroup directory (delegation gives it to the delegatee). */
  ownUid?: number;
}

export interface V1Hierarchy {
  /** Controllers mounted together (`cpu,cpuacct` share one directory tree on many hosts). */
  controllers: string[];
  mount: string;
  mountRoot: string;
  ownPath: string;
  ownDir?: string;
  /** The hierarchy root is writable by this process (root). */
  rootWritable: boolean;
  /** The own cgroup directory is writable by this process. */
  ownWritable: boolean;
  ownUid?: number;
}

export interface CgroupHost {
  mode: CgroupMode;
  euid: number;
  v2?: V2Hierarchy;
  /** v1 hierarchies by controller name (co-mounted controllers share one object). */
  v1: Record<string, V1Hierarchy>;
  /** Controllers the kernel knows and has enabled (/proc/cgroups), when it says. */
  kernelControllers: string[];
}

export interface CgroupTexts {
  /** /proc/self/mountinfo */
  mountinfo: string;
  /** /proc/self/cgroup */
  cgroup: string;
  /** /proc/cgroups (optional: a kernel may lack it) */
  cgroups?: string;
}

// Mount options of a v1 cgroup mount that are not controller names.
const V1_MOUNT_OPTIONS = new Set(['rw', 'ro', 'none', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'all']);

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

interface CgroupMount {
  fstype: 'cgroup' | 'cgroup2';
  mount: string;
  root: string;
  options: string[];
}

function parseMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const left = line.slice(0, separator).split(' ');
    const right = line.slice(separator + 3).split(' ');
    const fstype = right[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = left[3];
    const mount = left[4];
    if (root === undefined || mount === undefined) continue;
    mounts.push({ fstype, mount: unescapeMountField(mount), root: unescapeMountField(root), options: (right[2] ?? '').split(',') });
  }
  return mounts;
}

/** The directory of cgroup `cgroupPath` in a mount whose root is `mountRoot`; undefined when outside it. */
export function cgroupDir(mount: string, mountRoot: string, cgroupPath: string): string | undefined {
  const root = mountRoot === '/' ? '' : mountRoot.replace(/\/+$/, '');
  if (root !== '' && cgroupPath !== root && !cgroupPath.startsWith(`${root}/`)) return undefined;
  const relative = cgroupPath.slice(root.length);
  if (relative.split('/').includes('..')) return undefined;
  return relative === '' || relative === '/' ? mount : path.join(mount, relative);
}

export interface ParsedCgroupHost {
  mode: CgroupMode;
  v2?: { mount: string; mountRoot: string; ownPath: string; ownDir?: string };
  v1: Record<string, { controllers: string[]; mount: string; mountRoot: string; ownPath: string; ownDir?: string }>;
  kernelControllers: string[];
}

/** Parses mountinfo, /proc/self/cgroup and /proc/cgroups. Pure. */
export function parseCgroupHost(texts: CgroupTexts): ParsedCgroupHost {
  const kernelControllers: string[] = [];
  for (const line of (texts.cgroups ?? '').split('\n')) {
    if (line.startsWith('#')) continue;
    const [name, , , enabled] = line.trim().split(/\s+/);
    if (name !== undefined && name !== '' && enabled !== '0') kernelControllers.push(name);
  }
  const isController = (option: string): boolean =>
    kernelControllers.length > 0
      ? kernelControllers.includes(option)
      : !V1_MOUNT_OPTIONS.has(option) && !option.includes('=');

  // /proc/self/cgroup: "hierarchy-id:controller,list:/path"; v2 is "0::/path".
  const ownPaths = new Map<string, string>();
  let v2Own: string | undefined;
  for (const line of texts.cgroup.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const cgroupPath = line.slice(second + 1);
    if (id === '0' && controllers === '') v2Own = cgroupPath;
    else ownPaths.set(controllers.split(',').filter((name) => !name.startsWith('name=')).sort().join(','), cgroupPath);
  }

  const parsed: ParsedCgroupHost = { mode: 'none', v1: {}, kernelControllers };
  const mounts = parseMounts(texts.mountinfo);
  // Prefer a mount that shows the hierarchy's root; bind mounts of subtrees come second.
  mounts.sort((a, b) => Number(a.root !== '/') - Number(b.root !== '/'));
  for (const mount of mounts) {
    if (mount.fstype === 'cgroup2') {
      if (parsed.v2 !== undefined) continue;
      const ownPath = v2Own ?? '/';
      const ownDir = cgroupDir(mount.mount, mount.root, ownPath);
      parsed.v2 = { mount: mount.mount, mountRoot: mount.root, ownPath, ...(ownDir === undefined ? {} : { ownDir }) };
      continue;
    }
    const controllers = mount.options.filter(isController).sort();
    if (controllers.length === 0) continue; // a named hierarchy (name=systemd): no controllers
    if (controllers.some((name) => parsed.v1[name] !== undefined)) continue;
    const ownPath = ownPaths.get(controllers.join(',')) ?? '/';
    const ownDir = cgroupDir(mount.mount, mount.root, ownPath);
    const hierarchy = { controllers, mount: mount.mount, mountRoot: mount.root, ownPath, ...(ownDir === undefined ? {} : { ownDir }) };
    for (const name of controllers) parsed.v1[name] = hierarchy;
  }
  const hasV1 = Object.keys(parsed.v1).length > 0;
  parsed.mode = parsed.v2 !== undefined ? (hasV1 ? 'hybrid' : 'v2') : hasV1 ? 'v1' : 'none';
  return parsed;
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

function ownerUid(dir: string | undefined): number | undefined {
  if (dir === undefined) return undefined;
  try {
    return fs.statSync(dir).uid;
  } catch {
    return undefined;
  }
}

/**
 * Detects the cgroup mode (v2, hybrid, v1, none), the mounts, this
 * process's own cgroups and which controllers the hierarchies offer. Reads
 * only; creates nothing. Pass `texts` to detect from other files (tests).
 */
export function detectCgroups(texts?: CgroupTexts): CgroupHost {
  const parsed = parseCgroupHost(
    texts ?? {
      mountinfo: readOptional('/proc/self/mountinfo') ?? '',
      cgroup: readOptional('/proc/self/cgroup') ?? '',
      cgroups: readOptional('/proc/cgroups') ?? '',
    },
  );
  const euid = process.geteuid?.() ?? 0;
  const host: CgroupHost = { mode: parsed.mode, euid, v1: {}, kernelControllers: parsed.kernelControllers };
  if (parsed.v2 !== undefined) {
    const v2 = parsed.v2;
    const ownUid = ownerUid(v2.ownDir);
    host.v2 = {
      ...v2,
      rootControllers: words(readOptional(`${v2.mount}/cgroup.controllers`)),
      ownControllers: v2.ownDir === undefined ? [] : words(readOptional(`${v2.ownDir}/cgroup.controllers`)),
      ownSubtreeControl: v2.ownDir === undefined ? [] : words(readOptional(`${v2.ownDir}/cgroup.subtree_control`)),
      ownWritable: v2.ownDir !== undefined && canWrite(v2.ownDir),
      ...(ownUid === undefined ? {} : { ownUid }),
    };
  }
  const seen = new Map<string, V1Hierarchy>();
  for (const [name, hierarchy] of Object.entries(parsed.v1)) {
    let full = seen.get(hierarchy.mount);
    if (full === undefined) {
      const ownUid = ownerUid(hierarchy.ownDir);
      full = {
        ...hierarchy,
        rootWritable: canWrite(hierarchy.mount),
        ownWritable: hierarchy.ownDir !== undefined && canWrite(hierarchy.ownDir),
        ...(ownUid === undefined ? {} : { ownUid }),
      };
      seen.set(hierarchy.mount, full);
    }
    host.v1[name] = full;
  }
  return host;
}
