// `cordon run -t`: the CLI's own terminal drives the box's pseudo-terminal.
// Raw mode, bytes copied both ways, the window size passed on, and the
// terminal restored on every way out (the box's exit, an error, a signal,
// process.exit).
import type { Box } from './box';
import { native } from './internal/native';
import { DEFAULT_TTY_SIZE, type TtySize } from './pty';

/** Why -t cannot be honoured here, or undefined: the CLI's stdin must be a terminal (as `docker run -t` says). */
export function terminalRefusal(): string | undefined {
  if (process.stdin.isTTY !== true) return '-t needs a terminal on stdin, and the input is not one (run without -t, e.g. in a pipe or under CI)';
  return undefined;
}

/** The size of the CLI's terminal: its stdout's, else its stderr's, else 80x24. */
export function terminalSize(): TtySize {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.isTTY === true && stream.columns > 0 && stream.rows > 0) return { cols: stream.columns, rows: stream.rows };
  }
  return { ...DEFAULT_TTY_SIZE };
}

/**
 * Connects the CLI's terminal to the box's: raw mode on stdin (so ^C, ^Z
 * and ^D reach the box's terminal as characters and its line discipline
 * acts on them; the settings are saved and put back exactly), stdin into box.stdin, box.stdout onto stdout, SIGWINCH as
 * box.resize(). Returns the function that undoes it all; it runs once,
 * also from process 'exit' (an error or a signal on the way out).
 */
export function attachTerminal(box: Box): () => void {
  const stdin = process.stdin;
  // cfmakeraw, not setRawMode(): libuv's raw mode keeps output processing
  // (ONLCR), which would mangle what the box's terminal has processed.
  const saved = native().makeRaw(0);
  if (typeof saved === 'number') stdin.setRawMode(true);
  stdin.resume();
  let restored = false;
  const onResize = (): void => {
    const size = terminalSize();
    try {
      box.resize(size.cols, size.rows);
    } catch {
      // the box's terminal has gone: nothing to tell
    }
  };
  const sized = [process.stdout, process.stderr].find((stream) => stream.isTTY === true);
  sized?.on('resize', onResize);
  if (box.stdin !== null) stdin.pipe(box.stdin);
  // box.stdin errors (EPIPE once the box is gone) are the end of the session, not ours to report.
  box.stdin?.on('error', () => undefined);
  box.stdout?.pipe(process.stdout, { end: false });
  const restore = (): void => {
    if (restored) return;
    restored = true;
    process.removeListener('exit', restore);
    sized?.removeListener('resize', onResize);
    if (box.stdin !== null) stdin.unpipe(box.stdin);
    if (typeof saved !== 'number') native().restoreTerminal(0, saved);
    else {
      try {
        stdin.setRawMode(false);
      } catch {
        // stdin already closed
      }
    }
    stdin.pause();
  };
  process.on('exit', restore);
  return restore;
}
