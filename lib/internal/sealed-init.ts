// The init binary boxes exec (native/host/sealed_init.cc): a sealed,
// execute-only copy in memory, made once per thread and closed when it
// exits, so no box can reach the caller's file on disk through /proc/1/exe
// (the CVE-2019-5736 family: the box's root is the caller outside, and may
// own that file).
//
// Where the host forbids executable memfds (vm.memfd_noexec=2), boxes exec
// the file on disk instead, and probe().init.sealed says so with the reason:
// the init is non-dumpable, so /proc/1/exe stays closed to a payload, except
// one granted CAP_SYS_PTRACE.
import * as fs from 'node:fs';

import { CordonError, errnoName } from '../errors';
import { initBinaryPath, native } from './native';

/** Where boxes exec cordon's init from. */
export interface InitSource {
  /** The fd the child execs (execveat), kept for the thread's lifetime. */
  fd: number;
  /** The binary on disk it was made from. */
  path: string;
  /** A sealed in-memory copy (true), or the file on disk (false, see reason). */
  sealed: boolean;
  reason?: string;
}

const EACCES = 13;
const SEAL_PARTS = ['', 'open', 'memfd_create', 'read', 'fchmod', 'fcntl'] as const;

let source: InitSource | undefined;

/** The init's fd for this thread's boxes: made on first use, closed when the thread exits. */
export function initSource(): InitSource {
  if (source !== undefined) return source;
  const path = initBinaryPath();
  const made = native().sealedInit(path);
  let opened: InitSource;
  if (made.fd >= 0) {
    opened = { fd: made.fd, path, sealed: true };
    process.once('exit', () => native().closeFd(made.fd));
  } else if (made.part === 2 && made.fd === -EACCES) {
    opened = {
      fd: openOnDisk(path),
      path,
      sealed: false,
      reason:
        'vm.memfd_noexec=2 forbids executable memfds: boxes exec the init from its file on disk; ' +
        "it is non-dumpable, so a payload cannot reach that file through /proc/1/exe unless granted CAP_SYS_PTRACE",
    };
    const fd = opened.fd;
    process.once('exit', () => fs.closeSync(fd));
  } else {
    const syscall = SEAL_PARTS[made.part] ?? 'memfd_create';
    const code = errnoName(made.fd);
    throw new CordonError(code, `${syscall} ${code}: cannot make the sealed copy of cordon's init binary ${path}`, {
      errno: -Math.abs(made.fd),
      syscall,
      step: 'seal init binary',
      path,
    });
  }
  source = opened;
  return opened;
}

function openOnDisk(path: string): number {
  try {
    return fs.openSync(path, 'r'); // close-on-exec, as libuv opens every file
  } catch (error) {
    const cause = error as NodeJS.ErrnoException;
    const code = cause.code ?? 'EIO';
    throw new CordonError(code, `open ${code}: cannot open cordon's init binary ${path}`, {
      errno: cause.errno ?? -5,
      syscall: 'open',
      step: 'open init binary',
      path,
      cause,
    });
  }
}
