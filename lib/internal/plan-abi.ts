// TypeScript copy of native/plan_abi.h. test/unit/plan-abi.test.ts compares
// every number with what the compiled addon exports.

export const PLAN_MAGIC = 0x4e445243; // "CRDN"
export const PLAN_ABI_VERSION = 3;
export const MAX_STEPS = 4096;
export const MAX_FD_SLOTS = 1024;
export const MAX_INSTALLED_FDS = 256;
export const NO_STRING = 0xffffffff;

export const HEADER_SIZE = 32;
export const STEP_SIZE = 64;
export const STATUS_RECORD_SIZE = 16;
export const EXIT_RECORD_SIZE = 8;

export const Side = { parent: 1, child: 2 } as const;
export type SideName = keyof typeof Side;

export const Op = {
  clone: 1,
  writeSetgroups: 2,
  writeUidMap: 3,
  writeGidMap: 4,
  waitForParent: 5,
  setParentDeathSignal: 6,
  joinNamespace: 7,
  setMountPropagation: 8,
  mountProcRetired: 9,
  loopbackUp: 10,
  setHostname: 11,
  setNoNewPrivs: 12,
  setSid: 13,
  chdir: 14,
  installFd: 15,
  closeOtherFds: 16,
  exec: 17,
  execInit: 18,
  dropCapabilities: 19,
  setIds: 20,
  unshare: 21,
  mountFs: 22,
  bindMount: 23,
  makeDir: 24,
  pivotRoot: 25,
  enterRoot: 26,
  symlink: 27,
  writeFile: 28,
  setMountAttr: 29,
  openRoot: 30,
  mask: 31,
  writeCgroupProcs: 32,
  setRlimit: 33,
  umask: 34,
  setPriority: 35,
  writeExisting: 36,
  setGroups: 37,
  raiseAmbient: 38,
  landlock: 39,
  seccomp: 40,
  runIdMapHelper: 41,
  enterPidNamespace: 42,
  attachVeth: 43,
  setControllingTerminal: 44,
  awaitStart: 45,
} as const;
export type OpName = keyof typeof Op;

/** StatusRecord.detail of a failed filesystem step (native MountPart). */
export const MountPart = {
  0: 'none',
  1: 'resolve target',
  2: 'create target',
  3: 'open source',
  4: 'fsopen',
  5: 'fsconfig',
  6: 'create filesystem',
  7: 'fsmount',
  8: 'attach',
  9: 'set attributes',
  10: 'mkdir',
  11: 'pivot_root',
  12: 'detach old root',
  13: 'write',
  14: 'symlink',
  15: 'open root',
  16: 'chdir',
  17: 'resolve source',
  18: 'check owner',
} as const;

/**
 * StatusRecord.detail of a failed execInit step when the init itself failed
 * (native InitPart): the step name and system call to report.
 */
export const InitPart = {
  [-1]: { name: 'exec init', syscall: 'execveat' },
  [-2]: { name: 'init: clone the payload', syscall: 'clone' },
  [-3]: { name: 'seal init: non-dumpable', syscall: 'prctl' },
  [-4]: { name: 'seal init: no_new_privs', syscall: 'prctl' },
  [-5]: { name: 'seal init: drop capabilities', syscall: 'capset' },
  [-6]: { name: 'seal init: seccomp', syscall: 'seccomp' },
  [-7]: { name: 'init: clone the payload', syscall: 'pipe2' },
} as const;

/** Target modes of filesystem steps (num[2]). */
export const TargetMode = { plain: 0, create: 1, mustExist: 2 } as const;

const PARENT_OPS: ReadonlySet<OpName> = new Set<OpName>(['clone', 'writeSetgroups', 'writeUidMap', 'writeGidMap', 'writeCgroupProcs', 'runIdMapHelper', 'attachVeth']);

export function sideOf(op: OpName): SideName {
  return PARENT_OPS.has(op) ? 'parent' : 'child';
}
