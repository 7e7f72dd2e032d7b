// Socket handoff, the TS half of native/host/sockets.cc: listening sockets
// made (or given) on the host side and passed to the box as fds 3 and up,
// with systemd's socket-activation variables, so a server in a box without a
// network of its own serves the host. cordon binds as the caller: a root
// supervisor can hand out port 80.
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { NativeSocketFile } from '../types/native';
import { CordonError, errnoName, fdShortageHint } from './errors';
import { checkAbsolutePath, checkInteger, checkString, conflict, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { isLastingSocket, LASTING_FD, LASTING_LEND, type LastingSocket } from './internal/lasting';
import { native } from './internal/native';
import type { Ledger } from './internal/resources';

/**
 * How a server that does not read LISTEN_FDS finds a socket (on every
 * object entry, beside the systemd variables, which are always set).
 */
export interface ListenVariables {
  /** An environment variable set to this socket's fd number in the box (e.g. `'APP_FD'` gives `APP_FD=3`). */
  readonly fdEnv?: string;
  /**
   * php-fpm's inherited sockets: the address the pool's `listen` names (as
   * php-fpm sees it in the box, e.g. `'/run/php/www.sock'` or
   * `'127.0.0.1:9000'`); cordon adds `<address>=<fd>` to `FPM_SOCKETS`
   * (comma-separated), so php-fpm uses the socket instead of binding one.
   */
  readonly fpmAddress?: string;
}

/** A listening socket for the box (see SpawnIsolatedOptions.listen). */
export type ListenEntry =
  /**
   * A lasting Listener made by createListener(): the box gets its socket;
   * the supervisor keeps it for the next box. (Typed by what the spawn reads
   * of it, so this module need not import lib/listener.ts, which imports it.)
   */
  | LastingSocket
  /** The same, with a name and variables of this box's own. */
  | ({ readonly listener: LastingSocket; readonly name?: string } & ListenVariables)
  /** A net.Server that is listening already: the box gets its socket, and cordon closes the server (the box accepts from then on). */
  | net.Server
  /** An open listening socket fd of the caller (not closed by cordon). */
  | ({ readonly fd: number; readonly name?: string } & ListenVariables)
  /** A TCP socket cordon binds: `host` default 127.0.0.1; `backlog` default 511. */
  | ({ readonly port: number; readonly host?: string; readonly name?: string; readonly backlog?: number } & ListenVariables)
  /**
   * A Unix socket cordon makes at `path` (its missing directories too, 0o750),
   * owned by `owner` (host ids; default: the box's root as the host sees
   * it), mode `mode` (default 0o660); removed when the box ends (the
   * directories only if empty, the socket only while it is still the file
   * the box bound). A stale socket at `path` (nothing listens on it) is
   * replaced; a live one (another box's, maybe another supervisor's) fails
   * the box with EADDRINUSE. `path` is resolved without following
   * symlinks (ELOOP otherwise), and the socket is bound, chmod'ed and
   * chown'ed through fds, so a link a tenant plants cannot aim it elsewhere.
   */
  | ({ readonly path: string; readonly mode?: number; readonly owner?: { readonly uid: number; readonly gid: number }; readonly name?: string; readonly backlog?: number } & ListenVariables);

interface ResolvedVariables {
  fdEnv?: string;
  fpmAddress?: string;
}

export type ResolvedListen = ResolvedVariables & (
  | { kind: 'server'; server: net.Server; name: string }
  | { kind: 'listener'; listener: LastingSocket; name: string }
  | { kind: 'fd'; fd: number; name: string }
  | { kind: 'tcp'; host: string; port: number; backlog: number; name: string }
  | { kind: 'unix'; path: string; mode: number; owner: { uid: number; gid: number } | undefined; backlog: number; name: string });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const RESERVED_ENV = new Set(['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'FPM_SOCKETS']);

function checkVariables(entry: Record<string, unknown>, at: string): ResolvedVariables {
  const variables: ResolvedVariables = {};
  if (entry.fdEnv !== undefined) {
    const name = checkString(`${at}.fdEnv`, entry.fdEnv);
    if (!ENV_NAME.test(name)) throw invalidValue(`${at}.fdEnv`, name, 'must be an environment variable name (letters, digits, "_"; not starting with a digit)');
    if (RESERVED_ENV.has(name)) throw invalidValue(`${at}.fdEnv`, name, 'is one cordon sets itself (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, FPM_SOCKETS)');
    variables.fdEnv = name;
  }
  if (entry.fpmAddress !== undefined) {
    const address = checkString(`${at}.fpmAddress`, entry.fpmAddress);
    if (/[,=\0]/.test(address)) throw invalidValue(`${at}.fpmAddress`, address, 'must not contain ",", "=" or NUL (FPM_SOCKETS is "address=fd,address=fd")');
    variables.fpmAddress = address;
  }
  return variables;
}

/**
 * The variables `fdEnv` and `fpmAddress` ask for (fds 3 and up, in order);
 * a variable the caller's `env` sets too, or two entries naming the same
 * one, is a conflict.
 */
export function listenVariables(entries: readonly ResolvedListen[], env: Readonly<Record<string, string>>): Record<string, string> {
  const variables = Object.create(null) as Record<string, string>;
  const fpm: string[] = [];
  entries.forEach((entry, i) => {
    if (entry.fdEnv !== undefined) {
      if (entry.fdEnv in variables) throw conflict(`listen[${i}].fdEnv`, `two listen entries set ${entry.fdEnv}: give each its own variable`);
      variables[entry.fdEnv] = String(3 + i);
    }
    if (entry.fpmAddress !== undefined) fpm.push(`${entry.fpmAddress}=${3 + i}`);
  });
  if (fpm.length > 0) variables.FPM_SOCKETS = fpm.join(',');
  for (const name of Object.keys(variables)) {
    if (Object.prototype.hasOwnProperty.call(env, name)) throw conflict('env', `env.${name} is set by listen (fdEnv or fpmAddress) too: give it in one place`);
  }
  return variables;
}

const NAME = /^[A-Za-z0-9_.-]{1,255}$/;

function checkName(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  const name = checkString(option, value);
  if (!NAME.test(name)) throw invalidValue(option, name, 'must be letters, digits, "_", "." or "-" (LISTEN_FDNAMES separates names with ":")');
  return name;
}

export function validateListen(value: unknown): ResolvedListen[] {
  value = ownSnapshot(value, 'listen');
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidType('listen', 'an array of sockets', value);
  if (value.length > 64) throw invalidValue('listen', value.length, 'may have at most 64 sockets');
  return value.map((entry: unknown, i): ResolvedListen => {
    const at = `listen[${i}]`;
    if (isLastingSocket(entry)) return { kind: 'listener', listener: openListener(entry, at), name: entry.name };
    if (entry instanceof net.Server) {
      if (!entry.listening) throw invalidValue(at, 'net.Server', 'must be listening already');
      return { kind: 'server', server: entry, name: 'server' };
    }
    if (!isPlainObject(entry)) throw invalidType(at, 'a Listener, a net.Server, { listener }, { fd }, { port, host } or { path }', entry);
    if ('listener' in entry) {
      rejectUnknownKeys(entry, ['listener', 'name', 'fdEnv', 'fpmAddress'], at);
      if (!isLastingSocket(entry.listener)) throw invalidType(`${at}.listener`, 'a Listener from createListener()', entry.listener);
      return { kind: 'listener', listener: openListener(entry.listener, `${at}.listener`), name: checkName(`${at}.name`, entry.name, entry.listener.name), ...checkVariables(entry, at) };
    }
    if ('fd' in entry) {
      rejectUnknownKeys(entry, ['fd', 'name', 'fdEnv', 'fpmAddress'], at);
      return { kind: 'fd', fd: checkInteger(`${at}.fd`, entry.fd, 0, 0x7fffffff), name: checkName(`${at}.name`, entry.name, 'fd'), ...checkVariables(entry, at) };
    }
    if ('port' in entry) {
      rejectUnknownKeys(entry, ['port', 'host', 'name', 'backlog', 'fdEnv', 'fpmAddress'], at);
      const port = checkInteger(`${at}.port`, entry.port, 0, 65535);
      const host = entry.host === undefined ? '127.0.0.1' : checkString(`${at}.host`, entry.host);
      if (net.isIP(host) === 0) throw invalidValue(`${at}.host`, host, 'must be an IPv4 or IPv6 address');
      return { kind: 'tcp', host, port, backlog: entry.backlog === undefined ? 511 : checkInteger(`${at}.backlog`, entry.backlog, 1, 65535), name: checkName(`${at}.name`, entry.name, `tcp-${port}`), ...checkVariables(entry, at) };
    }
    if ('path' in entry) {
      rejectUnknownKeys(entry, ['path', 'mode', 'owner', 'name', 'backlog', 'fdEnv', 'fpmAddress'], at);
      const socketPath = checkAbsolutePath(`${at}.path`, entry.path);
      if (Buffer.byteLength(socketPath) >= 108) throw invalidValue(`${at}.path`, socketPath, 'must be shorter than 108 bytes (sun_path)');
      let owner: { uid: number; gid: number } | undefined;
      if (entry.owner !== undefined) {
        if (!isPlainObject(entry.owner)) throw invalidType(`${at}.owner`, 'an object { uid, gid }', entry.owner);
        rejectUnknownKeys(entry.owner, ['uid', 'gid'], `${at}.owner`);
        owner = { uid: checkInteger(`${at}.owner.uid`, entry.owner.uid, 0, 0xfffffffe), gid: checkInteger(`${at}.owner.gid`, entry.owner.gid, 0, 0xfffffffe) };
      }
      return {
        kind: 'unix', path: socketPath, owner, mode: entry.mode === undefined ? 0o660 : checkInteger(`${at}.mode`, entry.mode, 0, 0o777),
        backlog: entry.backlog === undefined ? 511 : checkInteger(`${at}.backlog`, entry.backlog, 1, 65535), name: checkName(`${at}.name`, entry.name, 'unix'),
        ...checkVariables(entry, at),
      };
    }
    throw invalidType(at, 'a Listener, a net.Server, { listener }, { fd }, { port, host } or { path }', entry);
  });
}

/** A Listener given to a box must still be open. */
function openListener(listener: LastingSocket, at: string): LastingSocket {
  if (listener[LASTING_FD]() === undefined) throw invalidValue(at, `Listener ${listener.name}`, 'is closed (listener.close() was called): make a new one with createListener()');
  return listener;
}

export function socketError(syscall: string, result: number, what: string, socketPath: string): CordonError {
  const code = errnoName(result);
  const hint = code === 'EADDRINUSE'
    ? (socketPath.startsWith('/')
      ? 'the path is in use: a socket there has a listener (another box, maybe of another supervisor); cordon replaces only a stale one, nothing else. Give each box its own path'
      : 'the address is in use by another socket')
    : code === 'EEXIST'
      ? 'a file that is not a socket has this path: cordon replaces only a stale socket'
      : undefined;
  return new CordonError(code, `${syscall} ${code}: cannot make the box's listening socket ${what}${hint === undefined ? '' : ` (${hint})`}`, {
    errno: result, syscall, step: `listen ${what}`, path: socketPath, ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * Opens the sockets, registering each with the ledger: the fds close once
 * the box has its copies; Unix socket files (and directories cordon made)
 * are removed when the box ends.
 */
/** A socket handed to a box, as `box.sockets` reports it. */
export interface ListenSocket {
  /** Its name in LISTEN_FDNAMES. */
  name: string;
  /** The fd number inside the box. */
  fd: number;
  /** TCP: the host address and the port bound (useful with port 0). */
  host?: string;
  port?: number;
  /** Unix: the socket's path on the host. */
  path?: string;
}

/** A Unix socket file a box's listen entry bound: what a state record needs to remove it later. */
export interface BoundSocketFile {
  path: string;
  /** "dev:ino" of the socket file cordon bound. */
  file: string;
  /** The directories cordon made for it, outermost first. */
  madeDirs: string[];
  /**
   * When the file was made (ns since the epoch: its birth time, or its
   * ctime where the filesystem keeps none): with "dev:ino", what tells it
   * from a later socket at the path that got the same inode number back.
   */
  born: string;
}

const U64_MAX = (1n << 64n) - 1n;

/** Whether `file` is a "dev:ino" as listenUnixAt gives it: two unsigned 64-bit decimals (a damaged state record may hold anything). */
export function isFileId(file: unknown): file is string {
  const match = typeof file === 'string' ? /^(\d{1,20}):(\d{1,20})$/.exec(file) : null;
  return match !== null && BigInt(match[1]!) <= U64_MAX && BigInt(match[2]!) <= U64_MAX;
}

/** The birth (else change) time of the socket file `file` ("dev:ino") at `socketPath`, or '' if another file is there. */
export function socketBirth(socketPath: string, file: string): string {
  try {
    const info = fs.lstatSync(socketPath, { bigint: true });
    if (`${info.dev}:${info.ino}` !== file) return '';
    return String(info.birthtimeNs > 0n ? info.birthtimeNs : info.ctimeNs);
  } catch {
    return '';
  }
}

export function openListenSockets(
  entries: readonly ResolvedListen[], ledger: Ledger, boxOwner: { uid: number; gid: number } | undefined,
): { fds: number[]; names: string[]; parentSide: string[]; sockets: ListenSocket[]; files: BoundSocketFile[]; teardown: NativeSocketFile[] } {
  const files: BoundSocketFile[] = [];
  const teardown: NativeSocketFile[] = [];
  const fds: number[] = [];
  const sockets: ListenSocket[] = [];
  const parentSide: string[] = [];
  entries.forEach((entry, i) => {
    switch (entry.kind) {
      case 'server': {
        const fd = (entry.server as unknown as { _handle?: { fd?: number } })._handle?.fd;
        if (typeof fd !== 'number' || fd < 0) throw new CordonError('EBADF', `listen[${i}]: the net.Server has no fd`, { syscall: 'listen', step: `listen[${i}]` });
        fds.push(fd);
        sockets.push(describe(entry.name, 3 + i, fd));
        break;
      }
      case 'listener': {
        // The supervisor's own socket, lent to the box through a copy of its
        // fd: the listener may be closed while an async spawn still uses it.
        const lent = entry.listener[LASTING_LEND]();
        if (lent === undefined) throw new CordonError('EBADF', `listen[${i}]: the Listener ${entry.listener.name} was closed before the box started`, { errno: -9, syscall: 'listen', step: `listen[${i}]` });
        const fd = native().dupFd(lent);
        if (fd < 0) {
          const code = errnoName(fd);
          const hint = fdShortageHint(code);
          throw new CordonError(code, `fcntl ${code}: cannot lend the Listener ${entry.listener.name} to the box${hint === undefined ? '' : ` (${hint})`}`, {
            errno: fd, syscall: 'fcntl', step: `listen[${i}]`, ...(hint === undefined ? {} : { hint }),
          });
        }
        parentSide.push(`listen[${i}] fd`);
        fds.push(ledger.nativeFd(`listen[${i}] fd`, fd));
        const { host, port, path: socketPath } = entry.listener;
        sockets.push({ name: entry.name, fd: 3 + i, ...(host === undefined ? {} : { host }), ...(port === undefined ? {} : { port }), ...(socketPath === undefined ? {} : { path: socketPath }) });
        break;
      }
      case 'fd':
        fds.push(entry.fd);
        sockets.push(describe(entry.name, 3 + i, entry.fd));
        break;
      case 'tcp': {
        const fd = native().listenTcp(entry.host, entry.port, entry.backlog);
        const where = `${entry.host.includes(':') ? `[${entry.host}]` : entry.host}:${entry.port}`;
        if (fd < 0) throw socketError('bind', fd, where, where);
        parentSide.push(`listen[${i}] fd`);
        fds.push(ledger.nativeFd(`listen[${i}] fd`, fd));
        sockets.push({ name: entry.name, fd: 3 + i, host: entry.host, port: native().localPort(fd) });
        break;
      }
      case 'unix': {
        const owner = entry.owner ?? boxOwner;
        const chain = openSocketDir(entry.path, i, owner, ledger);
        const made = chain.fds;
        const dirFd = made[made.length - 1]!;
        const name = path.basename(entry.path);
        const { fd, file } = native().listenUnixAt(dirFd, name, entry.mode, owner?.uid ?? -1, owner?.gid ?? -1, entry.backlog);
        if (fd < 0) throw socketError('bind', fd, entry.path, entry.path);
        // Removed through the directory's fd (a link planted in its path
        // meanwhile cannot aim the unlink elsewhere), and only while it is
        // the file this box bound: if it was removed, another supervisor
        // may have bound the path since, and that socket is not ours.
        ledger.add(`listen[${i}] socket file`, () => native().unlinkSocketAt(dirFd, name, file));
        parentSide.push(`listen[${i}] fd`);
        fds.push(ledger.nativeFd(`listen[${i}] fd`, fd));
        sockets.push({ name: entry.name, fd: 3 + i, path: entry.path });
        const dirParts = path.dirname(entry.path).split('/').filter((part) => part !== '');
        const madeDirs = made.slice(1).map((_, k) => `/${dirParts.slice(0, dirParts.length - (made.length - 2 - k)).join('/')}`);
        files.push({ path: entry.path, file, madeDirs, born: socketBirth(entry.path, file) });
        teardown.push({ dirFds: made, made: chain.made, name, file });
        break;
      }
    }
  });
  return { fds, names: entries.map((entry) => entry.name), parentSide, sockets, files, teardown };
}

function describe(name: string, boxFd: number, fd: number): ListenSocket {
  const port = native().localPort(fd);
  return port > 0 ? { name, fd: boxFd, port } : { name, fd: boxFd };
}

/**
 * Opens the directory of a Unix socket without following symlinks, making
 * its missing directories (0o750, owned by `owner`) under the fd of the one
 * before. Returns the fds of the chain: the last directory that existed,
 * then each one made; the last is the socket's directory. The ledger closes
 * them when the box ends, after removing (if empty) what cordon made.
 */
function openSocketDir(socketPath: string, i: number, owner: { uid: number; gid: number } | undefined, ledger: Ledger): { fds: number[]; made: string[] } {
  const chain = openSocketDirChain(socketPath, owner);
  ledger.add(`listen[${i}] directory`, chain.release);
  return chain;
}

/**
 * openSocketDir without a ledger: the fds of the chain, and the release
 * that removes (bottom up, if empty) the directories made and closes them.
 */
export function openSocketDirChain(socketPath: string, owner: { uid: number; gid: number } | undefined): { fds: number[]; made: string[]; release: () => void } {
  const dir = path.dirname(socketPath);
  const result = native().openSocketDir(dir, 0o750, owner?.uid ?? -1, owner?.gid ?? -1);
  if (result.error !== 0) {
    const code = errnoName(result.error);
    const hint = fdShortageHint(code) ?? (code === 'ELOOP'
      ? 'a component of the socket\'s directory is a symlink: cordon never follows symlinks in a listen path (a tenant could point it anywhere); give the real path (e.g. /run, not /var/run)'
      : `cordon makes the missing directories of ${dir} (mode 0o750, owned by the box's root); the first one that exists must be a directory the caller can write to`);
    throw new CordonError(code, `openat2 ${code}: cannot open or make the directory of the listening socket ${socketPath} (${hint})`, {
      errno: result.error, syscall: 'openat2', step: `listen ${socketPath}`, path: socketPath, hint,
    });
  }
  const fds = result.fds;
  // names[k]: the directory made as fds[k + 1], in fds[k] (none when fds has only the socket's directory).
  const names = fds.length > 1 ? dir.split('/').filter((part) => part !== '').slice(-(fds.length - 1)) : [];
  return {
    fds,
    made: names,
    release: () => {
      // Bottom up, each by name in its parent's fd; a directory the tenant
      // put something in stays.
      for (let k = fds.length - 1; k > 0; k--) native().unlinkAt(fds[k - 1]!, names[k - 1]!, true);
      for (const fd of fds) native().closeFd(fd);
    },
  };
}

/** The socket-activation variables; LISTEN_PID's digits are written in the child. */
export function listenEnv(names: readonly string[]): Record<string, string> {
  return { LISTEN_FDS: String(names.length), LISTEN_PID: '0000000000', LISTEN_FDNAMES: names.join(':') };
}
