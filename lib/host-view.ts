// What a box on rootfs 'host' is shown of the host: an allowlist. The box's
// root is a tmpfs of its own (read-only once built) into which the host's
// system directories (ALLOWED_DIRS) are bound read-only, and the top-level
// symbolic links among them reproduced; every other top-level directory of
// the host (its state, its users' files, a platform's /work or /data, and
// whatever the host adds later) is absent, or an empty directory for the
// few programs expect (HIDDEN_DIRS). filesystem.ts makes the steps.
//
// That takes the host's Unix sockets out of reach wherever they are bound,
// before or after the spawn (connect() ignores a read-only mount, not a
// missing path): only sockets under an allowed directory stay in sight, and
// the pathname sockets the supervisor's own network namespace lists there
// at spawn time are masked one by one. The caller's home is hidden too when
// it lies under an allowed directory. Landlock ABI 9
// (LANDLOCK_ACCESS_FS_RESOLVE_UNIX) could refuse such connects outright;
// this is not used yet.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The host's top-level directories a default box sees, read-only, as they
 * are on the host (a top-level symbolic link stays a link). `/usr/local` is
 * under `/usr`; `/opt` is where vendor programs live; `/nix` and `/snap`
 * hold the programs of those package managers.
 */
export const ALLOWED_DIRS: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix', '/snap'];

/** An empty tmpfs the box may write (at most tmpSize bytes): programs keep pid files and sockets there. */
export const FRESH_DIRS: readonly string[] = ['/run'];

/**
 * Empty read-only directories in the box's root, where the host has them
 * (programs expect them). `/var` holds three symbolic links:
 * `/var/tmp` → `/tmp`, `/var/run` → `/run`, `/var/lock` → `/run/lock`.
 */
export const HIDDEN_DIRS: readonly string[] = ['/home', '/root', '/var', '/srv', '/mnt', '/media', '/boot'];

export const VAR_LINKS: readonly (readonly [string, string])[] = [
  ['/var/tmp', '/tmp'],
  ['/var/run', '/run'],
  ['/var/lock', '/run/lock'],
];

/** Where the box has fresh filesystems of its own whatever the host has there. */
export const BOX_OWN: readonly string[] = ['/proc', '/dev', '/tmp', '/sys'];

/** An allowed directory as the host has it: a directory (bound) or a symbolic link (reproduced). */
export type TopEntry = { readonly name: string; readonly kind: 'dir' } | { readonly name: string; readonly kind: 'link'; readonly to: string };

export interface HostView {
  /** The ALLOWED_DIRS the host has, each a directory to bind or a link to reproduce. */
  readonly top: readonly TopEntry[];
  /** The FRESH_DIRS and HIDDEN_DIRS the host has. */
  readonly present: readonly string[];
  /** The caller's home directories ($HOME and the passwd entry's) that lie under an allowed directory. */
  readonly homes: readonly string[];
  /** Pathname Unix sockets the supervisor's network namespace lists under the allowed directories. */
  readonly sockets: readonly string[];
}

/** `child` is `parent` or lies beneath it (both normalized, absolute). */
export function isWithin(child: string, parent: string): boolean {
  return child === parent || parent === '/' || child.startsWith(`${parent}/`);
}

/**
 * The directory that keeps `target` out of a default box's sight of the
 * host: one of the box's own (/tmp, /proc, ...), /run, or the top-level
 * directory it lies under when that is not an allowed one (e.g. `/work`
 * for `/work/app/server`). Undefined for a path under an allowed directory
 * (the caller's home aside) and for `/` itself.
 */
export function hiddenByDefault(target: string): string | undefined {
  const normalized = path.normalize(target);
  if (normalized === '/') return undefined;
  const own = [...FRESH_DIRS, ...BOX_OWN].find((dir) => isWithin(normalized, dir));
  if (own !== undefined) return own;
  if (ALLOWED_DIRS.some((dir) => isWithin(normalized, dir))) return undefined;
  return `/${normalized.split('/')[1]!}`;
}

/**
 * What hides `target` from a box on rootfs 'host' given its `mounts`
 * targets and the caller's hidden homes: undefined when a mount covers it
 * (the mount decides what is there) or the host shows it.
 */
export function hiddenInBox(target: string, homes: readonly string[], mountTargets: readonly string[]): string | undefined {
  const normalized = path.normalize(target);
  if (mountTargets.some((mountTarget) => isWithin(normalized, mountTarget))) return undefined;
  return homes.find((home) => isWithin(normalized, home)) ?? hiddenByDefault(normalized);
}

let passwdHome: { euid: number; home: string | undefined } | undefined;

function homeFromPasswd(): string | undefined {
  const euid = process.geteuid?.() ?? -1;
  if (passwdHome?.euid !== euid) {
    let home: string | undefined;
    try {
      home = os.userInfo().homedir;
    } catch {
      home = undefined; // no passwd entry for this uid
    }
    passwdHome = { euid, home };
  }
  return passwdHome.home;
}

/**
 * The caller's home directories to hide: $HOME (what programs use) and the
 * passwd entry's (what `~user` and ssh use), each when it exists, is a
 * directory, and lies under an allowed directory (as named, or once its
 * symbolic links are resolved: the path the box would see it by), and is
 * not `/`, a system directory or one holding a system directory. A home
 * anywhere else is out of sight already.
 */
export function callerHomes(extraHidden: readonly string[] = []): string[] {
  const homes: string[] = [];
  for (const candidate of [process.env.HOME, homeFromPasswd()]) {
    if (candidate === undefined || !path.isAbsolute(candidate)) continue;
    const home = path.normalize(candidate).replace(/(.)\/$/, '$1');
    let real: string;
    try {
      real = fs.realpathSync.native(home);
      if (!fs.statSync(real).isDirectory()) continue;
    } catch {
      continue; // missing (e.g. /nonexistent) or unreadable: nothing to hide
    }
    if (ALLOWED_DIRS.some((allowed) => isWithin(allowed, home) || isWithin(allowed, real))) continue;
    for (const dir of home === real ? [home] : [home, real]) {
      if (hiddenByDefault(dir) !== undefined || extraHidden.some((hidden) => isWithin(dir, hidden))) continue;
      if (!homes.includes(dir)) homes.push(dir);
    }
  }
  return homes;
}

/**
 * The ALLOWED_DIRS the host has: a directory is bound, a symbolic link
 * reproduced when what it points to is in sight too (e.g. `/bin` →
 * `usr/bin`), else bound as the directory it leads to (a link to a place
 * the box would not see would lead nowhere).
 */
export function topLevel(): TopEntry[] {
  const found: { name: string; stat: fs.Stats }[] = [];
  for (const name of ALLOWED_DIRS) {
    const stat = fs.lstatSync(name, { throwIfNoEntry: false });
    if (stat !== undefined) found.push({ name, stat });
  }
  const dirs = found.filter(({ stat }) => stat.isDirectory()).map(({ name }) => name);
  const top: TopEntry[] = [];
  for (const { name, stat } of found) {
    if (stat.isDirectory()) {
      top.push({ name, kind: 'dir' });
      continue;
    }
    if (!stat.isSymbolicLink()) continue;
    let real: string;
    try {
      real = fs.realpathSync.native(name);
      if (!fs.statSync(real).isDirectory()) continue;
    } catch {
      continue; // a dangling link: nothing to show
    }
    top.push(dirs.some((dir) => isWithin(real, dir)) ? { name, kind: 'link', to: fs.readlinkSync(name) } : { name, kind: 'dir' });
  }
  return top;
}

// /proc/net/unix costs about 0.8 ms per thousand sockets to read, more than
// a whole spawn on a busy host, so the list is kept and read again by the
// first spawn that finds it older than 100 ms (synchronously: a background
// read would hold an fd the caller does not expect).
const SOCKETS_STALE_MS = 100;
let socketList: { at: number; paths: string[] } | undefined;

const UNIX_LINE = /^[0-9a-fA-F]+: [0-9A-F]{8} [0-9A-F]{8} [0-9A-F]{8} [0-9A-F]{4} [0-9A-F]{2} +\d+ (\/.*)$/;

/** Absolute socket paths in a /proc/net/unix text, each once, under the allowed directories. */
export function parseUnixSockets(text: string): string[] {
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    const match = UNIX_LINE.exec(line);
    if (match === null) continue;
    const socketPath = path.normalize(match[1]!);
    if (hiddenByDefault(socketPath) === undefined) paths.add(socketPath);
  }
  return [...paths];
}

function readSockets(): string[] {
  try {
    return parseUnixSockets(fs.readFileSync('/proc/net/unix', 'latin1'));
  } catch {
    return []; // no /proc/net/unix (no CONFIG_UNIX proc entry): nothing listed
  }
}

/** Drops the kept facts, so the next spawn reads /proc/net/unix and the homes itself (tests). */
export function forgetHostSockets(): void {
  socketList = undefined;
  kept = undefined;
}

function listedSockets(): string[] {
  const now = performance.now();
  if (socketList === undefined || now - socketList.at > SOCKETS_STALE_MS) socketList = { at: now, paths: readSockets() };
  return socketList.paths;
}

let kept: { at: number; home: string | undefined; view: HostView } | undefined;

/**
 * The host facts the default view needs, gathered in the parent before the
 * plan is built. Kept for 100 ms (while $HOME is unchanged), like the
 * socket list: a spawn-heavy supervisor pays for them ten times a second.
 */
export function gatherHostView(): HostView {
  const now = performance.now();
  if (kept !== undefined && now - kept.at <= SOCKETS_STALE_MS && kept.home === process.env.HOME) return kept.view;
  const homes = callerHomes();
  const sockets = listedSockets().filter((socketPath) => {
    if (homes.some((home) => isWithin(socketPath, home))) return false;
    try {
      return fs.statSync(socketPath).isSocket();
    } catch {
      return false; // unlinked since, or not reachable by the caller either
    }
  });
  const present = [...FRESH_DIRS, ...HIDDEN_DIRS].filter((dir) => fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false);
  const gathered = { top: topLevel(), present, homes, sockets };
  // The same facts keep the same object: a compiled template (lib/template.ts)
  // reuses its plan for as long as the view it was built from is the one.
  const view = kept !== undefined && JSON.stringify(kept.view) === JSON.stringify(gathered) ? kept.view : gathered;
  kept = { at: now, home: process.env.HOME, view };
  return view;
}
