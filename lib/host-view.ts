// What a box on rootfs 'host' is shown of the host. The root is the host's,
// read-only, but the host's state and its users' files are not the box's
// business: the directories below are replaced by empty tmpfs mounts of the
// box's own (filesystem.ts makes the steps), and so is the caller's home.
// That also takes the host's Unix sockets out of reach (connect() ignores a
// read-only mount); the pathname sockets the supervisor's own network
// namespace lists outside those directories are masked one by one. Landlock
// ABI 9 (LANDLOCK_ACCESS_FS_RESOLVE_UNIX) could refuse such connects
// outright; this is not used yet.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Replaced by an empty tmpfs the box may write (at most tmpSize bytes): programs keep pid files and sockets there. */
export const FRESH_DIRS: readonly string[] = ['/run'];

/**
 * Replaced by an empty read-only tmpfs. `/var` keeps three symbolic links:
 * `/var/tmp` → `/tmp`, `/var/run` → `/run`, `/var/lock` → `/run/lock`.
 */
export const HIDDEN_DIRS: readonly string[] = ['/home', '/root', '/var', '/srv', '/mnt', '/media', '/boot'];

export const VAR_LINKS: readonly (readonly [string, string])[] = [
  ['/var/tmp', '/tmp'],
  ['/var/run', '/run'],
  ['/var/lock', '/run/lock'],
];

/** Where the box has fresh filesystems of its own whatever the host has there. */
const BOX_OWN: readonly string[] = ['/proc', '/dev', '/tmp', '/sys'];

/** A home directory that is one of these, or holds one, is not hidden: the box could not run. */
const KEPT: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix', '/snap'];

export interface HostView {
  /** The FRESH_DIRS and HIDDEN_DIRS the host has (a missing one cannot be made in its read-only root). */
  readonly present: readonly string[];
  /** The caller's home directories ($HOME and the passwd entry's) that no hidden directory covers already. */
  readonly homes: readonly string[];
  /** Pathname Unix sockets the supervisor's network namespace lists, outside every hidden directory. */
  readonly sockets: readonly string[];
}

/** `child` is `parent` or lies beneath it (both normalized, absolute). */
export function isWithin(child: string, parent: string): boolean {
  return child === parent || parent === '/' || child.startsWith(`${parent}/`);
}

/** A path a default box cannot see on the host: under a hidden or fresh directory or one of the box's own. */
export function hiddenByDefault(target: string): string | undefined {
  const normalized = path.normalize(target);
  return [...HIDDEN_DIRS, ...FRESH_DIRS, ...BOX_OWN].find((dir) => isWithin(normalized, dir));
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
 * The caller's home directories to hide besides HIDDEN_DIRS: $HOME (what
 * programs use) and the passwd entry's (what `~user` and ssh use), each when
 * it exists, is a directory, is not under a hidden directory (also once its
 * symbolic links are resolved), and is not `/`, a system directory or one
 * holding a system directory.
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
    const covered = (dir: string): boolean =>
      hiddenByDefault(dir) !== undefined || extraHidden.some((hidden) => isWithin(dir, hidden));
    if (covered(home) || covered(real)) continue;
    if (KEPT.some((kept) => isWithin(kept, home) || isWithin(kept, real))) continue;
    if (!homes.includes(home)) homes.push(home);
  }
  return homes;
}

// /proc/net/unix costs about 0.8 ms per thousand sockets to read, more than
// a whole spawn on a busy host, so the list is kept and read again by the
// first spawn that finds it older than 100 ms (synchronously: a background
// read would hold an fd the caller does not expect).
const SOCKETS_STALE_MS = 100;
let socketList: { at: number; paths: string[] } | undefined;

const UNIX_LINE = /^[0-9a-fA-F]+: [0-9A-F]{8} [0-9A-F]{8} [0-9A-F]{8} [0-9A-F]{4} [0-9A-F]{2} +\d+ (\/.*)$/;

/** Absolute socket paths in a /proc/net/unix text, each once, outside the hidden directories. */
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
  const view = { present, homes, sockets };
  kept = { at: now, home: process.env.HOME, view };
  return view;
}
