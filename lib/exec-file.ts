// execFileIsolated(): child_process.execFile's convenience for a box. Runs a
// command, collects its output and settles once it has ended, with the
// errors util.promisify(execFile) gives: a non-zero exit or a signal
// rejects with an Error carrying code, signal, killed, cmd, stdout and
// stderr; output past maxBuffer kills the box and rejects with
// ERR_CHILD_PROCESS_STDIO_MAXBUFFER; a spawn failure rejects with the
// CordonError (also carrying empty stdout and stderr).
import type { Box } from './box';
import { CordonError } from './errors';
import { checkInteger, invalidValue } from './internal/checks';
import type { SpawnIsolatedOptions } from './options';
import { spawnIsolated } from './spawn';

export interface ExecFileIsolatedOptions extends Omit<SpawnIsolatedOptions, 'stdio'> {
  /**
   * How stdout and stderr are returned: a Buffer encoding name (default
   * `'utf8'`), or `'buffer'` for Buffers.
   */
  encoding?: BufferEncoding | 'buffer' | null;
  /**
   * The most bytes stdout or stderr may carry (default 1024 * 1024, as
   * child_process); past it the box is killed with `killSignal` and the
   * promise rejects with code ERR_CHILD_PROCESS_STDIO_MAXBUFFER. `Infinity`
   * for no limit.
   */
  maxBuffer?: number;
}

export interface ExecFileIsolatedResult<T extends string | Buffer = string> {
  stdout: T;
  stderr: T;
  /** The exit code (0 when the promise resolves). */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The error a failed run rejects with, like child_process.execFile's. */
export interface ExecFileIsolatedError<T extends string | Buffer = string> extends Error {
  /** The exit code, or ERR_CHILD_PROCESS_STDIO_MAXBUFFER, or the spawn error's code. */
  code: number | string | null;
  /** The signal that ended the box (not set on the maxBuffer error, as with execFile). */
  signal?: NodeJS.Signals | null;
  /** Whether cordon killed the box (timeout, kill()); not set on the maxBuffer error, as with execFile. */
  killed?: boolean;
  cmd: string;
  stdout: T;
  stderr: T;
}

const DEFAULT_MAX_BUFFER = 1024 * 1024;

export function execFileIsolated(
  file: string,
  args?: readonly string[],
  options?: ExecFileIsolatedOptions & { encoding: 'buffer' | null },
): Promise<ExecFileIsolatedResult<Buffer>>;
export function execFileIsolated(file: string, args?: readonly string[], options?: ExecFileIsolatedOptions): Promise<ExecFileIsolatedResult>;
export function execFileIsolated(
  file: string,
  args: readonly string[] = [],
  options: ExecFileIsolatedOptions = {},
): Promise<ExecFileIsolatedResult<string | Buffer>> {
  const { encoding = 'utf8', maxBuffer = DEFAULT_MAX_BUFFER, ...spawnOptions } = options;
  const asBuffer = encoding === 'buffer' || encoding === null;
  if (!asBuffer && !Buffer.isEncoding(encoding)) throw invalidValue('encoding', encoding, "must be a Buffer encoding or 'buffer'");
  if (maxBuffer !== Infinity) checkInteger('maxBuffer', maxBuffer, 0, Number.MAX_SAFE_INTEGER);
  const box = spawnIsolated(file, args, { ...spawnOptions, stdio: 'pipe' });
  const cmd = [file, ...args].join(' ');
  const decode = (chunks: Buffer[]): string | Buffer => (asBuffer ? Buffer.concat(chunks) : Buffer.concat(chunks).toString(encoding));
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let overflow: Error | undefined;
    let killed = false;
    const collect = (stream: Box['stdout'], into: Buffer[], name: 'stdout' | 'stderr'): void => {
      let length = 0;
      stream?.on('data', (chunk: Buffer) => {
        if (overflow !== undefined) return;
        const room = maxBuffer - length;
        length += chunk.length;
        into.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        if (length > maxBuffer) {
          overflow = Object.assign(new RangeError(`${name} maxBuffer length exceeded`), { code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' });
          const sent = box.kill(options.killSignal ?? 'SIGTERM');
          killed = sent || killed;
          // kill() answers false once 'exit' was reported, and a payload that
          // can trace the init may forge that report and run on: dispose()
          // ends the box until its pidfd says it is gone, so `exited` settles.
          if (!sent) box.dispose().catch(() => undefined);
        }
      });
    };
    collect(box.stdout, out, 'stdout');
    collect(box.stderr, err, 'stderr');
    box.on('error', () => undefined); // settled through exited below
    box.exited.then(
      (result) => {
        const stdout = decode(out);
        const stderr = decode(err);
        killed = killed || box.killed;
        if (overflow === undefined && result.code === 0 && result.signal === null) {
          resolve({ stdout, stderr, code: 0, signal: null });
          return;
        }
        const error = (overflow ?? new Error(`Command failed: ${cmd}\n${stderr.toString()}`)) as ExecFileIsolatedError<string | Buffer>;
        // As execFile: the maxBuffer error carries no code, signal or killed
        // of the exit; every other failure does.
        if (overflow === undefined) Object.assign(error, { code: result.code, signal: result.signal, killed });
        error.cmd = cmd;
        error.stdout = stdout;
        error.stderr = stderr;
        reject(error);
      },
      (spawnError: CordonError) => {
        Object.assign(spawnError, { cmd, stdout: decode([]), stderr: decode([]), killed: false, signal: null });
        reject(spawnError);
      },
    );
  });
}
