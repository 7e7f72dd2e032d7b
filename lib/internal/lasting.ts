// The brand of a lasting listening socket (lib/listener.ts): the spawn side
// (lib/sockets.ts) hands its fd to a box without importing the class.

/** Reads a Listener's fd, or undefined once it is closed. */
export const LASTING_FD: unique symbol = Symbol('cordon.lastingFd');

/**
 * The fd to lend to the next box: the listener's, made to listen again
 * first if a box shut it down. Throws a CordonError if that fails;
 * undefined once it is closed.
 */
export const LASTING_LEND: unique symbol = Symbol('cordon.lastingLend');

/** What the spawn side reads of a Listener. */
export interface LastingSocket {
  readonly name: string;
  readonly path: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  [LASTING_FD](): number | undefined;
  [LASTING_LEND](): number | undefined;
}

export function isLastingSocket(value: unknown): value is LastingSocket {
  return typeof value === 'object' && value !== null && LASTING_FD in value;
}
