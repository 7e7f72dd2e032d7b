// `cordon oci ps`: the host pids of a container's processes, found by its
// pid namespace (every process whose /proc/PID/ns/pid is the container
// process's), since a container started by `run` has no cgroup of its own
// recorded. What containerd's runc shim calls for `ctr task ps`
// (`ps --format json ID`: a JSON array of pids).
import * as fs from 'node:fs';

/** The pid namespace of `pid` as "dev:ino", or undefined when it is gone. */
function pidNamespaceOf(pid: number | string): string | undefined {
  try {
    const stat = fs.statSync(`/proc/${pid}/ns/pid`);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The host pids in the pid namespace of `pid` (which must be the
 * container's own: cordon's create and run refuse a host pid namespace),
 * ascending. `stillOurs` is asked after the scan: a pid reused meanwhile
 * would otherwise have named another namespace.
 */
export function pidsInNamespaceOf(pid: number, stillOurs: () => boolean): number[] | undefined {
  const namespace = pidNamespaceOf(pid);
  if (namespace === undefined) return undefined;
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (pidNamespaceOf(name) === namespace) pids.push(Number(name));
  }
  if (!stillOurs()) return undefined;
  return pids.sort((a, b) => a - b);
}

/** `ps` output: `--format json` (runc's: a JSON array of pids) or `table` (a PID column). */
export function formatPids(pids: readonly number[], format: 'json' | 'table'): string {
  return format === 'json' ? `${JSON.stringify(pids)}\n` : `PID\n${pids.map((pid) => `${pid}\n`).join('')}`;
}
