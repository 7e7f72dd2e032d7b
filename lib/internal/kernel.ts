// The running kernel's version, for what depends on it and cannot be tried
// cheaply per box. Read once: it does not change under a running process.
import * as os from 'node:os';

const [RUNNING_MAJOR = 0, RUNNING_MINOR = 0] = os.release().split('.').map((part) => Number.parseInt(part, 10));

/** Whether the running kernel is at least `major.minor`. */
export function kernelAtLeast(major: number, minor: number): boolean {
  return RUNNING_MAJOR > major || (RUNNING_MAJOR === major && RUNNING_MINOR >= minor);
}
