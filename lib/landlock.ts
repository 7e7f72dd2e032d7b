// Landlock: what the payload may touch, as a second wall behind the mount
// namespace. Options → the access masks this kernel's ABI can enforce → one
// child step, run after no_new_privs, that builds the ruleset from paths of
// the box's own root and restricts itself.
import { checkAbsolutePath, checkInteger, conflict, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { fieldOf, step, type PlanStep } from './internal/steps';
import { CordonError, type FailedStep } from './errors';

export type LandlockAccess = 'read' | 'write' | 'execute';
export type LandlockScope = 'abstract-unix-socket' | 'signal';

export interface LandlockOptions {
  /** Paths inside the box and what the payload may do beneath them; every other path is denied all of it. */
  readonly paths?: readonly { readonly path: string; readonly access: readonly LandlockAccess[] }[];
  /** TCP ports the payload may bind; once given, every other port is denied (Landlock ABI 4). */
  readonly bindTcp?: readonly number[];
  /** TCP ports the payload may connect to; once given, every other port is denied (ABI 4). */
  readonly connectTcp?: readonly number[];
  /** Keep abstract Unix sockets and signals within the box (ABI 6). */
  readonly scopes?: readonly LandlockScope[];
  /**
   * `'required'`: fail when this kernel cannot enforce all of it.
   * `'best-effort'` (the default): enforce what it can and say what in `box.landlock`.
   */
  readonly mode?: 'required' | 'best-effort';
}

/** What a box's Landlock ruleset enforces. */
export interface LandlockReport {
  abi: number;
  /** Filesystem rights handled (denied unless a rule grants them). */
  filesystem: string[];
  /** TCP bind and connect rules are enforced. */
  network: boolean;
  scopes: LandlockScope[];
  /** Asked for but beyond this kernel's ABI. */
  missing: string[];
}

const FS = {
  execute: 1 << 0, write_file: 1 << 1, read_file: 1 << 2, read_dir: 1 << 3, remove_dir: 1 << 4, remove_file: 1 << 5,
  make_char: 1 << 6, make_dir: 1 << 7, make_reg: 1 << 8, make_sock: 1 << 9, make_fifo: 1 << 10, make_block: 1 << 11,
  make_sym: 1 << 12, refer: 1 << 13, truncate: 1 << 14, ioctl_dev: 1 << 15,
} as const;

// The rights each ABI added.
const FS_BY_ABI: Record<number, number> = { 1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1 };
const NET_BIND = 1;
const NET_CONNECT = 2;
const SCOPE = { 'abstract-unix-socket': 1, signal: 2 } as const;

const ACCESS: Record<LandlockAccess, number> = {
  read: FS.read_file | FS.read_dir,
  write: FS.write_file | FS.remove_dir | FS.remove_file | FS.make_char | FS.make_dir | FS.make_reg | FS.make_sock |
    FS.make_fifo | FS.make_block | FS.make_sym | FS.refer | FS.truncate | FS.ioctl_dev,
  execute: FS.execute,
};

export interface ResolvedLandlock {
  paths: { path: string; access: number }[];
  bindTcp: number[] | undefined;
  connectTcp: number[] | undefined;
  scopes: LandlockScope[];
  required: boolean;
}

function ports(option: string, value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidType(option, 'an array of ports', value);
  return value.map((port: unknown, i) => checkInteger(`${option}[${i}]`, port, 0, 65535));
}

export function validateLandlock(value: unknown): ResolvedLandlock | undefined {
  value = ownSnapshot(value, 'landlock');
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw invalidType('landlock', 'an object', value);
  rejectUnknownKeys(value, ['paths', 'bindTcp', 'connectTcp', 'scopes', 'mode'], 'landlock');
  const paths: ResolvedLandlock['paths'] = [];
  if (value.paths !== undefined) {
    if (!Array.isArray(value.paths)) throw invalidType('landlock.paths', 'an array of { path, access }', value.paths);
    value.paths.forEach((rule: unknown, i) => {
      const at = `landlock.paths[${i}]`;
      if (!isPlainObject(rule)) throw invalidType(at, 'an object { path, access }', rule);
      rejectUnknownKeys(rule, ['path', 'access'], at);
      if (!Array.isArray(rule.access) || rule.access.length === 0) {
        throw invalidType(`${at}.access`, "a non-empty array of 'read', 'write', 'execute'", rule.access);
      }
      let access = 0;
      rule.access.forEach((name: unknown, k) => {
        if (name !== 'read' && name !== 'write' && name !== 'execute') {
          throw invalidValue(`${at}.access[${k}]`, name, "must be 'read', 'write' or 'execute'");
        }
        access |= ACCESS[name];
      });
      paths.push({ path: checkAbsolutePath(`${at}.path`, rule.path), access });
    });
  }
  const scopes: LandlockScope[] = [];
  if (value.scopes !== undefined) {
    if (!Array.isArray(value.scopes)) throw invalidType('landlock.scopes', 'an array of scopes', value.scopes);
    value.scopes.forEach((scope: unknown, i) => {
      if (scope !== 'abstract-unix-socket' && scope !== 'signal') {
        throw invalidValue(`landlock.scopes[${i}]`, scope, "must be 'abstract-unix-socket' or 'signal'");
      }
      scopes.push(scope);
    });
  }
  const mode = value.mode ?? 'best-effort';
  if (mode !== 'required' && mode !== 'best-effort') throw invalidValue('landlock.mode', mode, "must be 'required' or 'best-effort'");
  const resolved = {
    paths,
    bindTcp: ports('landlock.bindTcp', value.bindTcp),
    connectTcp: ports('landlock.connectTcp', value.connectTcp),
    scopes,
    required: mode === 'required',
  };
  if (paths.length === 0 && !resolved.bindTcp && !resolved.connectTcp && scopes.length === 0) {
    throw conflict('landlock', 'landlock needs paths, bindTcp, connectTcp or scopes: an empty ruleset restricts nothing');
  }
  return resolved;
}

/** The masks this kernel enforces for `options`, or an error when `required` asks for more. */
export function landlockMasks(options: ResolvedLandlock, abi: number): { fs: number; net: number; scoped: number; report: LandlockReport } {
  const report: LandlockReport = { abi, filesystem: [], network: false, scopes: [], missing: [] };
  if (abi < 1) {
    report.missing.push('landlock');
  }
  const fsKnown = abi < 1 ? 0 : (FS_BY_ABI[Math.min(abi, 5)] ?? 0);
  const fs = options.paths.length > 0 ? fsKnown : 0;
  if (options.paths.length > 0) {
    const asked = options.paths.reduce((all, rule) => all | rule.access, 0);
    for (const [name, bit] of Object.entries(FS)) {
      if (fs & bit) report.filesystem.push(name);
      else if (asked & bit) report.missing.push(`fs ${name} (ABI ${bit === FS.refer ? 2 : bit === FS.truncate ? 3 : bit === FS.ioctl_dev ? 5 : 1})`);
    }
  }
  let net = 0;
  if (options.bindTcp !== undefined) net |= NET_BIND;
  if (options.connectTcp !== undefined) net |= NET_CONNECT;
  if (net !== 0 && abi < 4) {
    report.missing.push('tcp rules (ABI 4)');
    net = 0;
  }
  report.network = net !== 0;
  let scoped = 0;
  for (const scope of options.scopes) {
    if (abi >= 6) {
      scoped |= SCOPE[scope];
      report.scopes.push(scope);
    } else {
      report.missing.push(`scope ${scope} (ABI 6)`);
    }
  }
  if (options.required && report.missing.length > 0) {
    throw new CordonError('ERR_CORDON_HOST_UNSUPPORTED', `landlock: this kernel (ABI ${abi}) cannot enforce ${report.missing.join(', ')}`, {
      step: 'landlock',
      syscall: 'landlock_create_ruleset',
      hint: "use mode: 'best-effort' to enforce what the kernel can",
    });
  }
  return { fs, net, scoped, report };
}

export function landlockStep(options: ResolvedLandlock, masks: { fs: number; net: number; scoped: number }): PlanStep {
  const rules: string[] = [];
  for (const rule of options.paths) rules.push('path', String(rule.access & masks.fs), rule.path);
  if (masks.net & NET_BIND) for (const port of options.bindTcp ?? []) rules.push('port', String(NET_BIND), String(port));
  if (masks.net & NET_CONNECT) for (const port of options.connectTcp ?? []) rules.push('port', String(NET_CONNECT), String(port));
  return step('landlock', { name: 'landlock_restrict_self', syscall: 'landlock_restrict_self', kind: 'landlock' }, {
    fs: masks.fs, net: masks.net, scoped: masks.scoped, rules,
  });
}

/** A failed landlock step: the part (low byte of the detail) and the rule at fault (the rest, 1-based). */
export function explainLandlock(step: PlanStep, detail: number, failed: FailedStep): FailedStep {
  if (step.op !== 'landlock') return failed;
  const rule = (detail >> 8) - 1;
  const explained: FailedStep = {
    ...failed,
    syscall: ['landlock_create_ruleset', 'landlock_create_ruleset', 'landlock_add_rule', 'open', 'landlock_restrict_self'][detail & 0xff] ?? 'landlock',
  };
  const target = fieldOf(step, 'landlock', 'rules')?.[rule * 3 + 2];
  if (rule >= 0 && target !== undefined) explained.path = target;
  return explained;
}

/**
 * The Landlock step, when the ruleset enforces anything on this kernel
 * (`abi`), and what it enforces. `initSlot` gives the init binary's fd a
 * slot: the ruleset lets the box exec it.
 */
export function landlockSteps(options: ResolvedLandlock | undefined, abi: number, initSlot: () => number | undefined): { steps: PlanStep[]; report: LandlockReport | undefined } {
  if (options === undefined) return { steps: [], report: undefined };
  const masks = landlockMasks(options, abi);
  if (masks.fs === 0 && masks.net === 0 && masks.scoped === 0) return { steps: [], report: masks.report };
  const ruleset = landlockStep(options, masks);
  const slot = initSlot();
  if (slot !== undefined) ruleset.slot = slot;
  return { steps: [ruleset], report: masks.report };
}
