// child_process-style stdio → the fd table of a box, and the parent's ends.
import * as fs from 'node:fs';
import * as net from 'node:net';

import type { ResolvedStdio } from './validate';
import type { Ledger } from './internal/resources';
import { native } from './internal/native';
import { CordonError, errnoName } from './errors';

export interface StdioSetup {
  /** Source fd for each box fd (index = target), undefined = closed in the box. */
  childFds: (number | undefined)[];
  /** The parent's end of each 'pipe' entry. */
  parentFds: (number | undefined)[];
  /** Ledger names of the child-side fds, released right after the spawn. */
  childSide: string[];
}

let devNull: number | undefined;

function openDevNull(): number {
  // One per process: read-write, close-on-exec (Node opens everything so).
  if (devNull === undefined) devNull = fs.openSync('/dev/null', 'r+');
  return devNull;
}

export function setupStdio(entries: readonly ResolvedStdio[], ledger: Ledger): StdioSetup {
  // Dense: an fd left out is undefined, never read from Array.prototype.
  const setup: StdioSetup = { childFds: new Array<number | undefined>(entries.length).fill(undefined), parentFds: new Array<number | undefined>(entries.length).fill(undefined), childSide: [] };
  entries.forEach((entry, target) => {
    switch (entry.kind) {
      case 'pipe': {
        const pair = native().socketPair();
        if (typeof pair === 'number') {
          throw new CordonError(errnoName(pair), `socketpair ${errnoName(pair)}: cannot create stdio[${target}]`, {
            errno: pair, syscall: 'socketpair', step: `stdio[${target}]`,
          });
        }
        const [parentEnd, childEnd] = pair;
        const parentName = `stdio[${target}] parent end`;
        ledger.nativeFd(parentName, parentEnd);
        const childName = `stdio[${target}] child end`;
        ledger.nativeFd(childName, childEnd);
        setup.parentFds[target] = parentEnd;
        setup.childFds[target] = childEnd;
        setup.childSide.push(childName);
        break;
      }
      case 'inherit':
        setup.childFds[target] = target;
        break;
      case 'ignore':
        if (target <= 2) setup.childFds[target] = openDevNull();
        break;
      case 'fd':
      case 'stream':
        setup.childFds[target] = entry.fd;
        break;
    }
  });
  return setup;
}

/** Wraps the parent end of a stdio pipe; the socket owns the fd from then on. */
export function wrapParentEnd(fd: number, target: number): net.Socket {
  const readable = target !== 0;
  const writable = target === 0 || target > 2;
  return new net.Socket(socketOptions({ fd, readable, writable }));
}

/**
 * Socket options with `fd` and `signal` always set: net.Socket copies its
 * options into a plain object and reads both from it, so a polluted
 * Object.prototype.fd would otherwise make an ended pipe wrap that fd.
 */
function socketOptions(options: net.SocketConstructorOpts): net.SocketConstructorOpts {
  return { fd: undefined, signal: undefined, ...options } as net.SocketConstructorOpts;
}

/**
 * The parent end of a pipe of a box that never ran, as child_process gives a
 * spawn that failed: stdout and stderr end (a 'data' listener added right
 * after the spawn sees 'end', then 'close'); stdin and fds from 3 up are
 * closed at once, so a write gets an error in its callback, never an
 * unhandled 'error' event.
 */
export function endedPipe(target: number): net.Socket {
  if (target === 1 || target === 2) {
    const socket = new net.Socket(socketOptions({ readable: true, writable: false }));
    socket.push(null);
    socket.once('end', () => socket.destroy());
    return socket;
  }
  const socket = new net.Socket(socketOptions({ readable: false, writable: true }));
  socket.destroy();
  return socket;
}
