// The owner ledger: every host resource a box creates is registered here at
// creation with its release, and released once, in reverse order, on every
// path (spawn failure, exit, dispose).
import * as fs from 'node:fs';

import { native } from './native';

/** One resource in a ledger: release it early, or hand it to a new owner. Both are no-ops once done. */
export interface LedgerEntry {
  readonly what: string;
  /** Releases it now (and forgets it). */
  release(): void;
  /** Hands it to a new owner: forgets it without releasing it. */
  transfer(): void;
}

/** An fd in a ledger, with its entry. */
export interface LedgerFd extends LedgerEntry {
  readonly fd: number;
}

interface Entry {
  what: string;
  release: () => void;
}

export class Ledger {
  private readonly entries: Entry[] = [];
  private released = false;

  /**
   * Registers a resource; if the ledger was released already, releases it at
   * once. The handle releases or transfers this entry itself: no lookup by
   * name, so a wrong name cannot leave a resource behind.
   */
  add(what: string, release: () => void): LedgerEntry {
    const entry: Entry = { what, release };
    if (this.released) release();
    else this.entries.push(entry);
    const forget = (): boolean => {
      const index = this.entries.indexOf(entry);
      if (index < 0) return false;
      this.entries.splice(index, 1);
      return true;
    };
    return {
      what,
      release: () => {
        if (forget()) entry.release();
      },
      transfer: () => {
        forget();
      },
    };
  }

  /** Registers an fd opened through `fs` (or, `nativeFd`, made by the addon) and returns it with its entry. */
  hold(what: string, fd: number, made: 'fs' | 'native'): LedgerFd {
    const entry = made === 'fs' ? this.add(what, () => fs.closeSync(fd)) : this.add(what, () => native().closeFd(fd));
    return { ...entry, fd };
  }

  /** Registers an fd opened through `fs` to be closed. Returns it. */
  fd(what: string, fd: number): number {
    this.register(what, () => fs.closeSync(fd));
    return fd;
  }

  /**
   * Registers an fd the addon made (pidfds, pipes, sockets, namespace and
   * mount fds) to be closed natively: in a worker thread Node warns when
   * fs.closeSync closes an fd that `fs` did not open. Returns it.
   */
  nativeFd(what: string, fd: number): number {
    this.register(what, () => {
      native().closeFd(fd);
    });
    return fd;
  }

  // add() without the handle (a box's fds are released by name): no closures made for it.
  private register(what: string, release: () => void): void {
    if (this.released) release();
    else this.entries.push({ what, release });
  }

  /**
   * Releases one resource now (and forgets it), found by its name. Prefer the
   * handle `add` and `hold` return; this is for registrations made elsewhere
   * by name (stdio, listeners, the cgroup).
   */
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
