// The box's pseudo-terminal (the `tty` option), TS half of native/host/pty.cc:
// the pair is made in the parent from the host's /dev/ptmx; the slave is
// the box's fds 0-2 and its payload's controlling terminal (plan step
// setControllingTerminal); the master stays with the parent as box.stdin
// and box.stdout. openPty() is usable alone (the OCI console socket hands
// such a master to its caller).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tty from 'node:tty';

import { CordonError, errnoName } from './errors';
import { conflict, invalidType, isPlainObject, rejectUnknownKeys, checkInteger } from './internal/checks';
import { native } from './internal/native';

/** A terminal's size in character cells. */
export interface TtySize {
  cols: number;
  rows: number;
}

/** The size a box's terminal starts with when the `tty` option gives none (a VT100's). */
export const DEFAULT_TTY_SIZE: Readonly<TtySize> = { cols: 80, rows: 24 };
const MAX_CELLS = 0xffff; // struct winsize holds unsigned shorts
const OUTPUT_BUFFER = 256 * 1024;

/** A pseudo-terminal pair: both fds close-on-exec, neither the caller's controlling terminal. */
export interface PtyPair {
  master: number;
  slave: number;
}

/**
 * Validates the `tty` option: `true`, `false`, or `{ cols, rows }`. A
 * terminal is the box's fds 0-2 and the controlling terminal of the
 * payload's own session, so it takes the place of `stdio` and needs
 * `newSession`.
 */
export function validateTty(value: unknown, others: { stdio: unknown; newSession: unknown }): TtySize | undefined {
  if (value === undefined || value === false) return undefined;
  let size: TtySize = { ...DEFAULT_TTY_SIZE };
  if (value !== true) {
    if (!isPlainObject(value)) throw invalidType('tty', 'a boolean or { cols, rows }', value);
    rejectUnknownKeys(value, ['cols', 'rows'], 'tty');
    size = {
      cols: value.cols === undefined ? DEFAULT_TTY_SIZE.cols : checkInteger('tty.cols', value.cols, 1, MAX_CELLS),
      rows: value.rows === undefined ? DEFAULT_TTY_SIZE.rows : checkInteger('tty.rows', value.rows, 1, MAX_CELLS),
    };
  }
  if (others.stdio !== undefined) {
    throw conflict('stdio', 'with tty the box\'s fds 0, 1 and 2 are its terminal (box.stdin and box.stdout): leave stdio unset');
  }
  if (others.newSession === false) {
    throw conflict('newSession', 'a terminal is the controlling terminal of the payload\'s own session: tty needs newSession');
  }
  return size;
}

/** Checks a size given to box.resize(). */
export function checkTtySize(cols: unknown, rows: unknown): TtySize {
  return { cols: checkInteger('cols', cols, 1, MAX_CELLS), rows: checkInteger('rows', rows, 1, MAX_CELLS) };
}

const PTY_PARTS = ['', 'open', 'ioctl TIOCSPTLCK', 'ioctl TIOCGPTPEER', 'ioctl TIOCSWINSZ'] as const;

/**
 * Opens a pseudo-terminal pair from the host's /dev/ptmx, sized `size`.
 * The caller owns both fds (close them with closeFd of the addon, or hand
 * them over). Throws a CordonError (step 'open pty') when the host has none
 * to give (ENOENT without /dev/ptmx, ENOSPC past kernel.pty.max, ...).
 */
export function openPty(size: TtySize = DEFAULT_TTY_SIZE): PtyPair {
  const result = native().openPty(size.cols, size.rows);
  if (Array.isArray(result)) return { master: result[0], slave: result[1] };
  const code = errnoName(result.errno);
  const syscall = PTY_PARTS[result.part] ?? 'open';
  throw new CordonError(code, `${syscall} ${code}: cannot open a pseudo-terminal for the box (tty) from /dev/ptmx`, {
    errno: result.errno, syscall, step: 'open pty', path: '/dev/ptmx',
  });
}

/**
 * The slave's path on the host (`/dev/pts/N`), from the fd itself, or
 * undefined when it is not a devpts path this process can name. The box
 * gets that node bound at its /dev/console, so `tty` and ttyname() find
 * its terminal as bubblewrap's boxes do (the box's /dev/pts is its own).
 */
export function slavePath(slave: number): string | undefined {
  try {
    const target = fs.readlinkSync(`/proc/self/fd/${slave}`);
    return /^\/dev\/pts\/[0-9]+$/.test(target) ? target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The parent's side of a box's terminal: `output` reads what the payload
 * writes (its stdout and stderr), `input` is typed into the terminal. Both
 * are net.Sockets, as box.stdout and box.stdin always are; the master fd
 * behind them is read without blocking (one TTY handle on libuv's loop,
 * never set blocking, so a payload that stops reading cannot stall Node).
 * The master reads EIO once no process holds the slave: that is the
 * terminal's end of file, and `output` ends then.
 */
export class PtyStreams {
  readonly input: net.Socket;
  readonly output: net.Socket;
  readonly #master: number;
  readonly #terminal: tty.ReadStream;
  #open = true;

  constructor(master: number) {
    this.#master = master;
    // Reads and writes: a tty.ReadStream is a duplex net.Socket over a TTY
    // handle (tty.WriteStream would make the fd blocking).
    const terminal = new tty.ReadStream(master);
    this.#terminal = terminal;
    // Up to OUTPUT_BUFFER bytes are read ahead even when nobody reads: a
    // terminal's kernel buffer holds only a few KiB, a socket pair's some
    // 200 KiB, and output nobody reads must not stop a box before that (it
    // is drained once the box has exited, as child_process does).
    const output = new net.Socket({ fd: undefined, signal: undefined, readable: true, writable: false, readableHighWaterMark: OUTPUT_BUFFER } as net.SocketConstructorOpts);
    const input = new net.Socket({ fd: undefined, signal: undefined, readable: false, writable: true } as net.SocketConstructorOpts);
    this.output = output;
    this.input = input;

    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      output.push(null);
    };
    output.once('end', () => output.destroy());
    // Backpressure: the master is read only as fast as `output` is.
    output._read = (): void => {
      if (!terminal.destroyed) terminal.resume();
    };
    terminal.on('data', (chunk: Buffer) => {
      if (!output.push(chunk)) terminal.pause();
    });
    terminal.on('error', (error: NodeJS.ErrnoException) => {
      // EIO: every slave fd is closed (the box has ended). Anything else is
      // a real read error, reported on the output.
      if (error.code === 'EIO') end();
      else output.destroy(error);
    });
    terminal.on('end', end);
    terminal.on('close', () => {
      this.#open = false;
      end();
    });
    // The output is the last reader: once it is gone, so is the master.
    output.on('close', () => terminal.destroy());

    input._write = (chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void => {
      if (terminal.destroyed) {
        callback(Object.assign(new Error('write EPIPE: the box\'s terminal is closed'), { code: 'EPIPE' }));
        return;
      }
      terminal.write(chunk, encoding, callback);
    };
    input._writev = (chunks: { chunk: Buffer | string; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void => {
      const buffer = Buffer.concat(chunks.map(({ chunk, encoding }) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk)));
      input._write(buffer, 'latin1', callback); // (a Buffer: the encoding is not read)
    };
    // Ending the input leaves the terminal open: a terminal's end of file
    // is a character (write '\x04', VEOF, at the start of a line).
    input._final = (callback: (error?: Error | null) => void): void => callback();
  }

  /** Sets the terminal's size (TIOCSWINSZ): the payload's foreground process group gets SIGWINCH. False once the terminal is closed. */
  resize(size: TtySize): boolean {
    // destroyed is set the moment the handle closes the fd: never ioctl a
    // number the process may have reused since.
    if (!this.#open || this.#terminal.destroyed) return false;
    const result = native().resizePty(this.#master, size.cols, size.rows);
    if (result === 0) return true;
    throw new CordonError(errnoName(result), `ioctl ${errnoName(result)}: cannot resize the box's terminal`, {
      errno: result, syscall: 'ioctl TIOCSWINSZ',
    });
  }

  ref(): void {
    this.#terminal.ref();
  }

  unref(): void {
    this.#terminal.unref();
  }

  /** Closes the master now (box disposal). */
  destroy(): void {
    this.input.destroy();
    this.output.destroy();
    this.#terminal.destroy();
  }
}
