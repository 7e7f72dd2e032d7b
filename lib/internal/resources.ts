// The owner ledger: every host resource a box creates is registered here at
// creation with its release, and released once, in reverse order, on every
// path (spawn failure, exit, dispose).
import * as fs from 'node:fs';

import { native } from './native';

export class Ledger {
  private readonly entries: { what: string; release: () => void }[] = [];
  private released = false;

  /** Registers a resource; if the ledger was released already, releases it at once. */
  add(what: string, release: () => void): void {
    if (this.released) {
      release();
      return;
    }
    this.entries.push({ what, release });
  }

  /** Registers an fd opened through `fs` to be closed. Returns it. */
  fd(what: string, fd: number): number {
    this.add(what, () => fs.closeSync(fd));
    return fd;
  }

  /**
   * Registers an fd the addon made (pidfds, pipes, sockets, namespace and
   * mount fds) to be closed natively: in a worker thread Node warns when
   * fs.closeSync closes an fd that `fs` did not open. Returns it.
   */
  nativeFd(what: string, fd: number): number {
    this.add(what, () => {
      native().closeFd(fd);
    });
    return fd;
  }

  /** Releases one resource now (and forgets it). */
  releaseOne(what: string): void {
    const index = this.entries.findIndex((entry) => entry.what === what);
    if (index < 0) return;
    const [entry] = this.entries.splice(index, 1);
    entry?.release();
  }

  /** Hands a resource to a new owner: forgets it without releasing it. */
  transfer(what: string): void {
    const index = this.entries.findIndex((entry) => entry.what === what);
    if (index >= 0) this.entries.splice(index, 1);
  }

  /** Releases everything, newest first. Failures are collected, not thrown midway. */
  releaseAll(): Error[] {
    this.released = true;
    const errors: Error[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      try {
        entry.release();
      } catch (error) {
        errors.push(new Error(`cordon: releasing ${entry.what} failed`, { cause: error }));
      }
    }
    return errors;
  }

  get size(): number {
    return this.entries.length;
  }
}
