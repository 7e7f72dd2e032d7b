// Lasting listeners: a listening socket the supervisor makes once and lends
// to box after box (`listen: [listener]`). The kernel queues connections on
// it while no box accepts (a crash, a restart), so a restart refuses none:
// they wait in the backlog for the next box. The supervisor never accepts on
// it (its fd is not in Node's event loop) and it closes only when the
// supervisor closes it (or the process exits).
import * as net from 'node:net';
import * as path from 'node:path';

import { checkAbsolutePath, checkInteger, checkString, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { LASTING_FD, LASTING_LEND, type LastingSocket } from './internal/lasting';
import { assertLinux, native } from './internal/native';
import { openSocketDirChain, socketError } from './sockets';

/** A lasting Unix socket: made at `path` (and its missing directories, 0o750). */
export interface UnixListenerOptions {
  /**
   * Absolute host path, shorter than 108 bytes, resolved without following
   * symlinks (ELOOP otherwise). A stale socket there (nothing listens on it,
   * e.g. left by a SIGKILLed supervisor) is replaced; a live one fails with
   * EADDRINUSE; any other file with EEXIST.
   */
  readonly path: string;
  /** Permission bits of the socket file (who may connect). Default 0o660. */
  readonly mode?: number;
  /** Host uid and gid of the socket file and of the directories made. Default: the caller's. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** How many connections the kernel queues while no box accepts (1..65535; capped by net.core.somaxconn). Default 511. */
  readonly backlog?: number;
  /** Its name in LISTEN_FDNAMES. Default `'unix'`. */
  readonly name?: string;
}

/** A lasting TCP socket on `host:port`, bound as the caller (a root supervisor may bind ports below 1024). */
export interface TcpListenerOptions {
  /** 0..65535; 0 picks a free port (`listener.port` says which). */
  readonly port: number;
  /** An IPv4 or IPv6 address. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** As for a Unix listener. Default 511. */
  readonly backlog?: number;
  /** Its name in LISTEN_FDNAMES. Default `tcp-<port>`. */
  readonly name?: string;
}

export type ListenerOptions = UnixListenerOptions | TcpListenerOptions;

const NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const open = new Set<Listener>();
let exitHooked = false;

/** A listening socket that outlives the boxes it is lent to. Made by createListener(). */
export class Listener implements LastingSocket {
  /** Its name in LISTEN_FDNAMES (a `listen` entry may give another). */
  readonly name: string;
  /** Unix: the socket's host path. */
  readonly path: string | undefined;
  /** TCP: the address bound. */
  readonly host: string | undefined;
  /** TCP: the port bound (the one the kernel chose for port 0). */
  readonly port: number | undefined;
  #fd: number | undefined;
  #release: (() => void) | undefined;
  readonly #renew: (fd: number) => number;
  readonly #backlog: number;
  #renewals = 0;

  /**
   * @internal made by createListener(). `renew` makes the socket accept
   * again after a box shut it down, returning the fd to use from then on.
   */
  constructor(fd: number, name: string, where: { path?: string; host?: string; port?: number; backlog: number }, release: () => void, renew: (fd: number) => number) {
    this.#fd = fd;
    this.name = name;
    this.path = where.path;
    this.host = where.host;
    this.port = where.port;
    this.#release = release;
    this.#renew = renew;
    this.#backlog = where.backlog;
    open.add(this);
    if (!exitHooked) {
      exitHooked = true;
      // A supervisor that exits without closing its listeners leaves no socket file.
      process.once('exit', () => {
        for (const listener of open) listener.close();
      });
    }
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#fd === undefined;
  }

  /**
   * How many times a box had shut the socket down (`shutdown()` on its copy
   * stops a TCP socket listening, and makes a Unix one refuse connections)
   * and cordon made it accept again before lending it to the next box. A
   * tenant whose count grows is breaking its own service.
   */
  get renewals(): number {
    return this.#renewals;
  }

  /** @internal the spawn side reads the fd through this */
  [LASTING_FD](): number | undefined {
    return this.#fd;
  }

  /** @internal the fd for the next box: made to accept again first if a box shut it down */
  [LASTING_LEND](): number | undefined {
    const fd = this.#fd;
    if (fd === undefined) return fd;
    if (native().listenerState(fd) !== 0) {
      // A box may have called listen() on its copy with a smaller backlog:
      // the next one gets the listener's own again.
      native().relisten(fd, this.#backlog);
      return fd;
    }
    const renewed = this.#renew(fd);
    this.#renewals++;
    if (renewed !== fd) {
      native().closeFd(fd);
      this.#fd = renewed;
    }
    return renewed;
  }

  /**
   * Closes the socket: connections still queued are refused from then on.
   * A Unix socket's file is removed only while it is still the file this
   * listener bound (another supervisor may have bound the path since it was
   * removed), and the directories made for it only if empty. Boxes that got
   * the socket keep their copies. Idempotent.
   */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    open.delete(this);
    try {
      this.#release?.();
    } finally {
      this.#release = undefined;
      native().closeFd(fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function checkName(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  const name = checkString(option, value);
  if (!NAME.test(name)) throw invalidValue(option, name, 'must be letters, digits, "_", "." or "-" (LISTEN_FDNAMES separates names with ":")');
  return name;
}

function checkBacklog(value: unknown): number {
  return value === undefined ? 511 : checkInteger('createListener.backlog', value, 1, 65535);
}

/**
 * Makes a lasting listening socket: `{ path, mode?, owner?, backlog?, name? }`
 * for a Unix socket, `{ port, host?, backlog?, name? }` for TCP. Give it to
 * boxes as `listen: [listener]` (or `{ listener, name?, fdEnv?, fpmAddress? }`);
 * each gets the same socket as its fd 3 and up, with the LISTEN_* variables.
 * Bad options throw a CordonOptionError; a socket the host refuses throws a
 * CordonError (code, errno, syscall, step `listen <where>`, path).
 */
export function createListener(options: ListenerOptions): Listener {
  const value = ownSnapshot(options, 'createListener');
  if (!isPlainObject(value)) throw invalidType('createListener', 'an object { path } or { port, host }', value);
  if ('path' in value) {
    rejectUnknownKeys(value, ['path', 'mode', 'owner', 'backlog', 'name'], 'createListener');
    const socketPath = checkAbsolutePath('createListener.path', value.path);
    if (Buffer.byteLength(socketPath) >= 108) throw invalidValue('createListener.path', socketPath, 'must be shorter than 108 bytes (sun_path)');
    if (socketPath.endsWith('/')) throw invalidValue('createListener.path', socketPath, 'must name a file, not a directory');
    const mode = value.mode === undefined ? 0o660 : checkInteger('createListener.mode', value.mode, 0, 0o777);
    let owner: { uid: number; gid: number } | undefined;
    if (value.owner !== undefined) {
      if (!isPlainObject(value.owner)) throw invalidType('createListener.owner', 'an object { uid, gid }', value.owner);
      rejectUnknownKeys(value.owner, ['uid', 'gid'], 'createListener.owner');
      owner = { uid: checkInteger('createListener.owner.uid', value.owner.uid, 0, 0xfffffffe), gid: checkInteger('createListener.owner.gid', value.owner.gid, 0, 0xfffffffe) };
    }
    const backlog = checkBacklog(value.backlog);
    const name = checkName('createListener.name', value.name, 'unix');
    assertLinux();
    const chain = openSocketDirChain(socketPath, owner);
    const dirFd = chain.fds[chain.fds.length - 1]!;
    const file = path.basename(socketPath);
    let made: { fd: number; file: string };
    try {
      made = native().listenUnixAt(dirFd, file, mode, owner?.uid ?? -1, owner?.gid ?? -1, backlog);
      if (made.fd < 0) throw socketError('bind', made.fd, socketPath, socketPath);
    } catch (error) {
      chain.release();
      throw error;
    }
    let bound = made.file;
    return new Listener(made.fd, name, { path: socketPath, backlog }, () => {
      native().unlinkSocketAt(dirFd, file, bound);
      chain.release();
    }, () => {
      // A Unix socket once shut down refuses connections for good: a new
      // one takes the path (the old file only if it is still ours).
      native().unlinkSocketAt(dirFd, file, bound);
      const again = native().listenUnixAt(dirFd, file, mode, owner?.uid ?? -1, owner?.gid ?? -1, backlog);
      if (again.fd < 0) throw socketError('bind', again.fd, socketPath, socketPath);
      bound = again.file;
      return again.fd;
    });
  }
  if ('port' in value) {
    rejectUnknownKeys(value, ['port', 'host', 'backlog', 'name'], 'createListener');
    const port = checkInteger('createListener.port', value.port, 0, 65535);
    const host = value.host === undefined ? '127.0.0.1' : checkString('createListener.host', value.host);
    if (net.isIP(host) === 0) throw invalidValue('createListener.host', host, 'must be an IPv4 or IPv6 address');
    const backlog = checkBacklog(value.backlog);
    const name = checkName('createListener.name', value.name, `tcp-${port}`);
    assertLinux();
    const fd = native().listenTcp(host, port, backlog);
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (fd < 0) throw socketError('bind', fd, where, where);
    const boundPort = native().localPort(fd);
    return new Listener(fd, name, { host, port: boundPort, backlog }, () => {}, (shut) => {
      // A TCP socket shut down stops listening; it keeps a port bound
      // explicitly, and then listens again on it. One bound to port 0 has
      // lost its port: a new socket takes the port it had.
      if (native().relisten(shut, backlog) === 0 && native().localPort(shut) === boundPort) return shut;
      const again = native().listenTcp(host, boundPort, backlog);
      if (again < 0) throw socketError('bind', again, where, where);
      return again;
    });
  }
  throw invalidType('createListener', 'an object { path } or { port, host }', value);
}
