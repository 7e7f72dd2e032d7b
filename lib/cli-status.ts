// bubblewrap's --info-fd and --json-status-fd for `cordon run`: what a
// monitor of the box learns about it, in bwrap's format. --info-fd gets one
// pretty-printed JSON object once the box has started (its host pid and the
// inodes of the namespaces made for it) and is closed; --json-status-fd gets
// the same object on one line, then `{ "exit-code": N }` when the box ends.
import * as fs from 'node:fs';

import type { Box } from './box';

/** The namespaces bwrap reports, in its order (the user namespace is not among them). */
const REPORTED = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const;

export interface StatusFds {
  infoFd?: number;
  jsonStatusFd?: number;
}

function inode(link: string): number | undefined {
  const match = /\[(\d+)\]$/.exec(fs.readlinkSync(link));
  return match === null ? undefined : Number(match[1]);
}

/**
 * The box's host pid and the inodes of the namespaces it does not share
 * with this process, read from /proc/PID/ns. bwrap writes this before the
 * payload runs; cordon reads it once spawnIsolated has returned, with the
 * box's init alive for as long as the payload lives. A box that has ended
 * already gives its pid alone, and `complete` false.
 */
function boxInfo(pid: number): { info: Record<string, number>; complete: boolean } {
  const info: Record<string, number> = { 'child-pid': pid };
  try {
    for (const name of REPORTED) {
      const theirs = inode(`/proc/${pid}/ns/${name}`);
      if (theirs !== undefined && theirs !== inode(`/proc/self/ns/${name}`)) info[`${name}-namespace`] = theirs;
    }
    return { info, complete: true };
  } catch {
    return { info: { 'child-pid': pid }, complete: false };
  }
}

/** Writes the box's information to the fds asked for; returns what to call with the exit status. */
export function reportStatus(box: Box, fds: StatusFds, warn: (message: string) => void): (status: number) => void {
  if ((fds.infoFd === undefined && fds.jsonStatusFd === undefined) || box.pid === undefined) return () => undefined;
  const { info, complete } = boxInfo(box.pid);
  if (!complete) warn('the box ended before its namespaces could be read: --info-fd/--json-status-fd report its child-pid only');
  const write = (fd: number, text: string, flag: string): boolean => {
    try {
      fs.writeSync(fd, text);
      return true;
    } catch (error) {
      warn(`${flag} ${fd}: ${(error as NodeJS.ErrnoException).code ?? 'write failed'}`);
      return false;
    }
  };
  if (fds.infoFd !== undefined) {
    write(fds.infoFd, `${JSON.stringify(info, null, 4)}\n`, '--info-fd');
    if (fds.infoFd !== fds.jsonStatusFd) fs.closeSync(fds.infoFd);
  }
  const oneLine = (record: Record<string, number>): string => `{ ${Object.entries(record).map(([key, value]) => `"${key}": ${value}`).join(', ')} }\n`;
  const statusFd = fds.jsonStatusFd;
  if (statusFd === undefined) return () => undefined;
  write(statusFd, oneLine(info), '--json-status-fd');
  return (status) => {
    write(statusFd, oneLine({ 'exit-code': status }), '--json-status-fd');
  };
}
