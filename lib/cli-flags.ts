// The flags of `cordon run`: one table, one row per flag. The parser
// (parseRunArgs), `cordon run --help` and the README's flag tables
// (lib/cli-docs.ts) are all made from it, so a flag is added, renamed or
// documented in one place. A row says its name and aliases, the values it
// takes, its help line, the spawnIsolated option it sets and how (apply),
// and, for a flag bubblewrap has too, how cordon's meaning compares.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CgroupLimits, IoDeviceLimit } from './cgroups/limits';
import type { CapabilityName } from './credentials';
import type { RlimitValue } from './limits';
import { CAPABILITIES } from './credentials';
import { isPlainObject, ownSnapshot } from './internal/checks';
import type { KernelCounterLimit } from './kernel-counters';
import type { LandlockAccess, LandlockScope } from './landlock';
import type { ListenEntry } from './sockets';
import type { IdMapEntry, MountEntry, NamespaceName, NamespaceSetting, SpawnIsolatedOptions } from './options';
import { NAMESPACE_NAMES } from './options';
import type { SeccompAction } from './seccomp';
import type { StatusFds } from './cli-status';
import { fromOciConfig, loadOciBundle } from './oci/config';
import type { OciRunSpec } from './oci/config';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Options = Mutable<SpawnIsolatedOptions>;

/** A command line cordon refuses: `cordon run` prints the message and exits 125. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function usageError(message: string): never {
  throw new UsageError(message);
}

/** What a value on the command line must look like; checked before a row applies it. */
export type ValueType = 'text' | 'path' | 'int' | 'fd' | 'octal';

export interface FlagValue {
  /** Its name in the help, e.g. `SRC`. */
  readonly name: string;
  readonly type: ValueType;
}

/** The sections of `--help` and of the README's flag table, in their order. */
export const FLAG_GROUPS = {
  general: 'Options of run (each also a key of --config JSON, as in spawnIsolated\'s options)',
  filesystem: 'Filesystem (mounts apply in command-line order, after any in --config)',
  cgroup: 'Cgroup (any of these gives the box a cgroup of its own; sizes take K, M, G)',
  credentials: 'Credentials and limits',
  network: 'Network (default: a network namespace of its own with only lo)',
  sockets: 'Sockets (fds 3 and up, with LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES)',
  bwrap: 'From bubblewrap (bwrap\'s spelling of what cordon does; see "For bubblewrap users" in the README)',
  refused: 'bubblewrap flags cordon does not have (each exits 125 saying why, never ignored)',
} as const;

export type FlagGroup = keyof typeof FLAG_GROUPS;

export interface FlagRow {
  /** The flag, e.g. `--hostname`. */
  readonly flag: string;
  /** Other spellings with the same values and meaning (e.g. bwrap's `--chdir` for `--cwd`). */
  readonly aliases?: readonly string[];
  /** The values it takes, in order; none for a switch. */
  readonly values: readonly FlagValue[];
  readonly group: FlagGroup;
  /** May be given more than once (each adds); otherwise a later one replaces an earlier. */
  readonly repeatable?: boolean;
  /** The help line. */
  readonly help: string;
  /** The spawnIsolated option it sets, as the README names it (empty: none, e.g. --config). */
  readonly option: string;
  /**
   * For a flag bubblewrap has too (under this name or an alias): the bwrap
   * spelling and how cordon's meaning compares (`'same'`, or the difference).
   */
  readonly bwrap?: { readonly flag: string; readonly compared: string };
  /** Added to the message when a value does not look like `values` says (e.g. a renamed form). */
  readonly misuse?: string;
  /** Sets the options from the values (checked against `values` already). */
  readonly apply: (context: FlagContext, values: readonly string[], flag: string) => void;
}

const text = (name: string): FlagValue => ({ name, type: 'text' });
const pathValue = (name: string): FlagValue => ({ name, type: 'path' });
const int = (name: string): FlagValue => ({ name, type: 'int' });
const fdValue = (name: string): FlagValue => ({ name, type: 'fd' });
const octal = (name: string): FlagValue => ({ name, type: 'octal' });

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A null-prototype deep copy (an empty one for undefined): reads of absent
 * keys are undefined, never a polluted Object.prototype's. `what` names a
 * --config value flags are merged into, which must then be an object.
 */
export function own<T>(value: unknown, what = 'options'): T {
  if (value !== undefined && !isPlainObject(value)) usageError(`--config: "${what}" must be an object to add the command-line flags to`);
  return ownSnapshot(value ?? {}, '') as T;
}

type EnvStep = { readonly set: string; readonly value: string } | { readonly unset: string } | 'clear';
type ListKey = 'uidMap' | 'gidMap' | 'capabilities' | 'groups' | 'mounts' | 'listen';
type ListItem<K extends ListKey> = NonNullable<SpawnIsolatedOptions[K]>[number];

/**
 * What the rows build, in command-line order, on top of the --config
 * options. Scalars are set on `options` directly (a later flag replaces an
 * earlier one); lists, the environment, the root, the network and the
 * cgroup are gathered here and put together by finish().
 */
export class FlagContext {
  readonly options: Options;
  /** --env/--setenv/--unsetenv/--clearenv in order. */
  readonly env: EnvStep[] = [];
  inheritEnv = false;
  // Null-prototype: a key no flag set reads undefined, never a polluted Object.prototype's.
  readonly rootfs: { dir?: string; writable?: boolean; layers?: string[]; upper?: string; upperSize?: number } = Object.create(null);
  readonly network: { mode?: string; subnet?: string; address?: string; reach?: 'gateway' | 'any' } = Object.create(null);
  /** What cordon run itself does beside the box (bwrap's --info-fd, --json-status-fd). */
  readonly cli: StatusFds = Object.create(null);
  /** bwrap's --perms and --size: for the next flag that makes a file or tmpfs. */
  pendingPerms: { readonly mode: number; readonly flag: string } | undefined;
  pendingSize: { readonly bytes: number; readonly flag: string } | undefined;
  /** Namespaces named by --unshare-* and joined by --userns/--pidns, which exclude each other. */
  readonly unshared = new Set<NamespaceName>();
  readonly joinedByFd = new Set<NamespaceName>();
  private readonly lists = new Map<ListKey, unknown[]>();
  private readonly touched = new Set<string>();
  private cgroupLimits: Mutable<CgroupLimits> | undefined;

  constructor(config: unknown) {
    this.options = own<Options>(config);
  }

  /**
   * The list behind option `key`. The first flag to touch it decides where
   * it starts: 'replace' from empty (flags override --config's list),
   * 'append' after --config's entries.
   */
  list<K extends ListKey>(key: K, mode: 'replace' | 'append'): ListItem<K>[] {
    let list = this.lists.get(key) as ListItem<K>[] | undefined;
    if (list === undefined) {
      const base = this.options[key] as readonly ListItem<K>[] | undefined;
      list = mode === 'append' && Array.isArray(base) ? [...base] : [];
      this.lists.set(key, list);
      (this.options as Record<ListKey, unknown>)[key] = list;
    }
    return list;
  }

  /** --config's namespaces (a copy), with the flags' on top. */
  namespaces(): Partial<Record<NamespaceName, NamespaceSetting>> {
    if (this.firstTouch('namespaces')) {
      this.options.namespaces = own<Partial<Record<NamespaceName, NamespaceSetting>>>(this.options.namespaces, 'namespaces');
    }
    return this.options.namespaces as Partial<Record<NamespaceName, NamespaceSetting>>;
  }

  /** True the first time a flag touches `key` in this parse (for lists flags replace rather than extend). */
  firstTouch(key: string): boolean {
    if (this.touched.has(key)) return false;
    this.touched.add(key);
    return true;
  }

  /** The box's cgroup limits: --config's, with the flags' on top; any cgroup flag gives the box one. */
  cgroup(): Mutable<CgroupLimits> {
    this.cgroupLimits ??= own<Mutable<CgroupLimits>>(this.options.cgroup, 'cgroup');
    this.options.cgroup = this.cgroupLimits;
    return this.cgroupLimits;
  }

  /** The mode --perms left for the flag now making a file or tmpfs (then cleared). */
  takePerms(): number | undefined {
    const perms = this.pendingPerms;
    this.pendingPerms = undefined;
    return perms?.mode;
  }

  takeSize(flag: string): number | undefined {
    const size = this.pendingSize;
    this.pendingSize = undefined;
    if (size !== undefined && flag !== '--tmpfs') usageError(`${size.flag} applies to the next --tmpfs, not to ${flag}`);
    return size?.bytes;
  }

  /** After every flag: the environment, root and network put together, leftovers refused. */
  finish(): Options {
    const options = this.options;
    if (this.pendingPerms !== undefined) usageError(`${this.pendingPerms.flag} must be followed by a flag that makes a file or tmpfs (--tmpfs, --file, --ro-bind-data, --file-content)`);
    if (this.pendingSize !== undefined) usageError(`${this.pendingSize.flag} must be followed by --tmpfs`);
    for (const name of this.joinedByFd) {
      if (this.unshared.has(name)) {
        usageError(`--${name === 'user' ? 'userns' : 'pidns'} joins a ${name} namespace and --unshare-${name === 'user' ? 'user' : 'pid'} (or --unshare-all) asks for a new one: cordon cannot make a new ${name} namespace inside a joined one; give one of them`);
      }
    }
    if (this.inheritEnv || this.env.length > 0) {
      const base = this.inheritEnv ? { ...process.env } : (options.env ?? { PATH: DEFAULT_PATH });
      let env = own<Record<string, string | undefined>>(base, 'env');
      for (const step of this.env) {
        if (step === 'clear') env = own({});
        else if ('set' in step) env[step.set] = step.value;
        else delete env[step.unset];
      }
      options.env = env;
    }
    this.finishRootfs();
    this.finishNetwork();
    return options;
  }

  private finishRootfs(): void {
    const { dir, writable, layers, upper, upperSize } = this.rootfs;
    if (dir !== undefined && layers !== undefined) usageError('--rootfs and --layer exclude each other');
    if (writable === true && dir === undefined) usageError('--rootfs-writable needs --rootfs');
    if (dir !== undefined) {
      this.options.rootfs = { dir, writable: writable === true };
      return;
    }
    if (layers === undefined) {
      if (upper !== undefined) usageError('--upper needs --layer');
      if (upperSize !== undefined) usageError('--upper-size needs --layer');
      return;
    }
    const chosen = upper ?? 'tmpfs';
    const rootfs = { layers, upper: chosen === 'tmpfs' ? ('tmpfs' as const) : { dir: chosen } };
    this.options.rootfs = upperSize === undefined ? rootfs : { ...rootfs, upperSize };
  }

  private finishNetwork(): void {
    const { mode, subnet, address, reach } = this.network;
    const match = mode === undefined ? null : /^bridge(?::(.+))?$/.exec(mode);
    if (mode !== undefined && mode !== 'none' && mode !== 'host' && match === null) {
      usageError(`--network wants none, host, bridge or bridge:NAME, got ${JSON.stringify(mode)}`);
    }
    const bridgeFlag = ([['bridge-subnet', subnet], ['bridge-address', address], ['bridge-reach', reach]] as const).find(([, value]) => value !== undefined);
    if (match === null && bridgeFlag !== undefined) usageError(`--${bridgeFlag[0]} needs --network bridge`);
    if (match === null) {
      if (mode === 'none' || mode === 'host') this.options.network = mode;
      return;
    }
    const current = this.options.network;
    const base = typeof current === 'object' && current !== null && !('path' in current) && !('fd' in current) ? current : {};
    this.options.network = {
      ...base,
      ...(match[1] === undefined ? {} : { bridge: match[1] }),
      ...(subnet === undefined ? {} : { subnet }),
      ...(address === undefined ? {} : { address }),
      ...(reach === undefined ? {} : { reach }),
    };
  }
}

// Value parsers shared by the rows.

function namespaceName(flag: string, name: string): NamespaceName {
  if (!(NAMESPACE_NAMES as readonly string[]).includes(name)) {
    usageError(`${flag}: unknown namespace ${JSON.stringify(name)} (one of ${NAMESPACE_NAMES.join(', ')})`);
  }
  return name as NamespaceName;
}

function idMap(flag: string, value: string): IdMapEntry {
  const parts = value.split(':').map((part) => Number(part));
  if (parts.length !== 3 || parts.some((part) => !Number.isInteger(part))) {
    usageError(`${flag} wants INSIDE:OUTSIDE:COUNT, got ${JSON.stringify(value)}`);
  }
  const [inside, outside, count] = parts as [number, number, number];
  return { inside, outside, count };
}

function size(flag: string, value: string): number | 'max' {
  if (value === 'max') return 'max';
  const match = /^(\d+)([KMG]?)$/i.exec(value);
  if (match === null) usageError(`${flag} wants a size like 512M or max, got ${JSON.stringify(value)}`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(match[1]) * unit;
}

function keyValue(flag: string, spec: string, wants: string): [string, string] {
  const at = spec.indexOf('=');
  if (at <= 0) usageError(`${flag} wants ${wants}, got ${JSON.stringify(spec)}`);
  return [spec.slice(0, at), spec.slice(at + 1)];
}

function normalizedCapability(name: string): string {
  return name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`;
}

function capabilityName(flag: string, name: string): CapabilityName {
  const normalized = normalizedCapability(name);
  if (!Object.hasOwn(CAPABILITIES, normalized)) usageError(`${flag}: ${JSON.stringify(name)} is not a Linux capability (e.g. CAP_NET_BIND_SERVICE, or ALL)`);
  return normalized as CapabilityName;
}

/**
 * Checks that fd `fd` is open and could be one the caller handed to cordon:
 * not an anonymous inode such as Node's own epoll and eventfd fds, which a
 * mistyped number could otherwise name (Node marks every fd close-on-exec,
 * the inherited ones too, so that flag cannot tell them apart).
 */
function checkCallerFd(flag: string, fd: string): void {
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    usageError(`${flag} ${fd}: fd ${fd} is not open; open it for cordon, e.g. \`${flag} 3 ... 3<FILE\``);
  }
  if (target.startsWith('anon_inode:') || bothPipeEnds(fd, target)) {
    usageError(`${flag} ${fd}: fd ${fd} is ${target}, one of Node's own, not an fd passed to cordon; open one for cordon, e.g. \`${flag} 3 ... 3<FILE\``);
  }
}

/**
 * Whether this process holds the other end of the pipe at `fd` too: libuv's
 * signal and async pipes (written as pointers, read by the event loop) are
 * such pairs; a pipe the caller passes has one end here (or copies of one
 * end, as `3>&1` makes).
 */
function bothPipeEnds(fd: string, target: string): boolean {
  if (!target.startsWith('pipe:')) return false;
  const access = (other: string): number | undefined => {
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${other}`, 'utf8'));
      return flags === null ? undefined : Number.parseInt(flags[1]!, 8) & 3;
    } catch {
      return undefined;
    }
  };
  const mine = access(fd);
  for (const other of fs.readdirSync('/proc/self/fd')) {
    if (other === fd) continue;
    let link: string;
    try {
      link = fs.readlinkSync(`/proc/self/fd/${other}`);
    } catch {
      continue; // the directory's own fd, gone once read
    }
    if (link === target && access(other) !== mine) return true;
  }
  return false;
}

/** The whole content of an fd the caller opened for us (bwrap's --file FD, --args FD). */
function readFd(flag: string, fd: string): Buffer {
  try {
    return fs.readFileSync(Number(fd));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    return usageError(`${flag} ${fd}: cannot read fd ${fd} (${code})`);
  }
}

/** bwrap's --file FD DEST content: cordon's file mounts hold text, so it must be UTF-8. */
function fileContent(flag: string, fd: string): string {
  const bytes = readFd(flag, fd);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return usageError(`${flag} ${fd}: the content is not UTF-8 text; cordon's file mounts hold text (bind a host file with --ro-bind instead)`);
  }
}

function bind(context: FlagContext, source: string, target: string, extra: Partial<Mutable<Extract<MountEntry, { type: 'bind' }>>>): void {
  context.list('mounts', 'append').push({ type: 'bind', source, target, ...extra });
}

/** bwrap's -try binds: skipped when the source does not exist (as stat sees it, following links). */
function bindIfPresent(context: FlagContext, source: string, target: string, extra: Partial<Mutable<Extract<MountEntry, { type: 'bind' }>>>): void {
  if (fs.existsSync(source)) bind(context, source, target, extra);
}

function refuse(reason: string): FlagRow['apply'] {
  return (_context, _values, flag) => usageError(`${flag}: ${reason}`);
}

const BWRAP_SHARES = 'cordon makes every namespace but time new by default, so this only restates the default; bwrap shares the ones not named';

function unshareRow(name: Exclude<NamespaceName, 'mount' | 'time'>, flag = `--unshare-${name}`, note = ''): FlagRow {
  return {
    flag,
    values: [],
    group: 'bwrap',
    help: `a new ${name} namespace (cordon's default)`,
    option: `namespaces.${name}: 'new'`,
    bwrap: { flag, compared: `${BWRAP_SHARES}${note}` },
    apply: (context) => {
      context.namespaces()[name] = 'new';
      context.unshared.add(name);
    },
  };
}

/** bwrap's --unshare-all: user (try), ipc, pid, net, uts, cgroup (try). */
const UNSHARE_ALL: readonly Exclude<NamespaceName, 'mount' | 'time'>[] = ['user', 'ipc', 'pid', 'net', 'uts', 'cgroup'];

export const FLAGS: readonly FlagRow[] = [
  // General.
  {
    flag: '--config', values: [pathValue('FILE')], group: 'general', option: '',
    help: 'options as JSON (command-line flags override it); an OCI config.json works too',
    apply: () => undefined, // read before the other flags apply: see parseRunArgs
  },
  {
    flag: '--bundle', values: [pathValue('DIR')], group: 'general', option: '(an OCI bundle, through loadOciBundle)',
    help: 'run an OCI bundle (DIR/config.json, its rootfs); CMD, if given, replaces process.args',
    apply: () => undefined, // read before the other flags apply: see parseRunArgs
  },
  {
    flag: '--share', values: [text('NS')], group: 'general', repeatable: true, option: "namespaces.NS: 'host'",
    help: 'keep the host\'s namespace NS (user, pid, mount, net, ipc, uts, cgroup, time)',
    apply: (context, [name = ''], flag) => {
      context.namespaces()[namespaceName(flag, name)] = 'host';
    },
  },
  {
    flag: '--new', values: [text('NS')], group: 'general', repeatable: true, option: "namespaces.NS: 'new'",
    help: 'make a new namespace NS (e.g. --new time)',
    apply: (context, [name = ''], flag) => {
      context.namespaces()[namespaceName(flag, name)] = 'new';
    },
  },
  {
    flag: '--join', values: [text('NS=PATH')], group: 'general', repeatable: true, option: 'namespaces.NS: { path }',
    help: 'join the namespace at PATH (e.g. --join net=/run/netns/blue)',
    apply: (context, [spec = ''], flag) => {
      const at = spec.indexOf('=');
      if (at < 0) usageError(`${flag} wants NS=PATH, got ${JSON.stringify(spec)}`);
      context.namespaces()[namespaceName(flag, spec.slice(0, at))] = { path: spec.slice(at + 1) };
    },
  },
  {
    flag: '--uid-map', values: [text('IN:OUT:COUNT')], group: 'general', repeatable: true, option: 'uidMap',
    help: 'a uid_map line',
    apply: (context, [value = ''], flag) => context.list('uidMap', 'replace').push(idMap(flag, value)),
  },
  {
    flag: '--gid-map', values: [text('IN:OUT:COUNT')], group: 'general', repeatable: true, option: 'gidMap',
    help: 'a gid_map line',
    apply: (context, [value = ''], flag) => context.list('gidMap', 'replace').push(idMap(flag, value)),
  },
  {
    flag: '--uid', values: [int('N')], group: 'general', option: 'uid',
    help: 'uid inside the box (default 0)',
    bwrap: { flag: '--uid', compared: 'same meaning; bwrap maps the uid it is given to the caller, cordon maps the box\'s root (0) by default and refuses an unmapped --uid (give --uid-map). The default differs: bwrap keeps the caller\'s uid, cordon runs the payload as the box\'s root (mapped to the caller rootless, to 65534 for a root caller)' },
    apply: (context, [value]) => {
      context.options.uid = Number(value);
    },
  },
  {
    flag: '--gid', values: [int('N')], group: 'general', option: 'gid',
    help: 'gid inside the box (default 0)',
    bwrap: { flag: '--gid', compared: 'as --uid' },
    apply: (context, [value]) => {
      context.options.gid = Number(value);
    },
  },
  {
    flag: '--hostname', values: [text('NAME')], group: 'general', option: 'hostname',
    help: 'UTS name (default cordon)',
    bwrap: { flag: '--hostname', compared: 'same; bwrap needs --unshare-uts, cordon has a uts namespace of its own by default' },
    apply: (context, [value = '']) => {
      context.options.hostname = value;
    },
  },
  {
    flag: '--no-init', aliases: ['--as-pid-1'], values: [], group: 'general', option: 'init: false',
    help: 'no init: the payload is PID 1',
    bwrap: { flag: '--as-pid-1', compared: 'same' },
    apply: (context) => {
      context.options.init = false;
    },
  },
  {
    flag: '--env', values: [text('KEY=VALUE')], group: 'general', repeatable: true, option: 'env',
    help: 'set a variable (default environment: PATH only)',
    apply: (context, [pair = ''], flag) => {
      const [key, value] = keyValue(flag, pair, 'KEY=VALUE');
      context.env.push({ set: key, value });
    },
  },
  {
    flag: '--inherit-env', values: [], group: 'general', option: 'env: process.env',
    help: 'start from this process\'s environment',
    apply: (context) => {
      context.inheritEnv = true;
    },
  },
  {
    flag: '--cwd', aliases: ['--chdir'], values: [pathValue('DIR')], group: 'general', option: 'cwd',
    help: 'working directory inside the box (default /)',
    bwrap: { flag: '--chdir', compared: 'same; the default differs: bwrap stays in the caller\'s directory when the sandbox has it, cordon starts in /' },
    apply: (context, [value = '']) => {
      context.options.cwd = value;
    },
  },
  {
    flag: '--argv0', values: [text('NAME')], group: 'general', option: 'argv0',
    help: 'argv[0] of the payload',
    apply: (context, [value = '']) => {
      context.options.argv0 = value;
    },
  },
  {
    flag: '--timeout', values: [int('MS')], group: 'general', option: 'timeout',
    help: 'send --kill-signal after MS milliseconds',
    apply: (context, [value]) => {
      context.options.timeout = Number(value);
    },
  },
  {
    flag: '--kill-signal', values: [text('SIG')], group: 'general', option: 'killSignal',
    help: 'default SIGTERM',
    apply: (context, [signal = '']) => {
      context.options.killSignal = /^\d+$/.test(signal) ? Number(signal) : (signal as NodeJS.Signals);
    },
  },
  {
    flag: '--no-die-with-parent', values: [], group: 'general', option: 'dieWithParent: false',
    help: 'let the box outlive this process',
    apply: (context) => {
      context.options.dieWithParent = false;
    },
  },
  {
    flag: '--no-new-session', values: [], group: 'general', option: 'newSession: false',
    help: 'stay in this terminal\'s session',
    apply: (context) => {
      context.options.newSession = false;
    },
  },
  {
    flag: '--tty', aliases: ['-t'], values: [], group: 'general', option: 'tty',
    help: 'give CMD a pseudo-terminal of its own (job control, ^C, window size); this terminal goes raw and is restored at the end; stdin must be a terminal (else 125)',
    apply: (context) => {
      context.options.tty = true;
    },
  },
  {
    flag: '--allow-host-credentials', values: [], group: 'general', option: 'allowHostCredentials',
    help: 'allow a box without a new user namespace to keep root',
    apply: (context) => {
      context.options.allowHostCredentials = true;
    },
  },

  // Filesystem.
  {
    flag: '--rootfs', values: [pathValue('DIR')], group: 'filesystem', option: 'rootfs: { dir }',
    help: 'an unpacked image as the root, read-only',
    apply: (context, [dir = '']) => {
      context.rootfs.dir = dir;
    },
  },
  {
    flag: '--rootfs-writable', values: [], group: 'filesystem', option: 'rootfs: { writable }',
    help: 'the --rootfs image read-write',
    apply: (context) => {
      context.rootfs.writable = true;
    },
  },
  {
    flag: '--layer', values: [pathValue('DIR')], group: 'filesystem', repeatable: true, option: 'rootfs: { layers }',
    help: 'a read-only template layer, top-most first',
    apply: (context, [dir = '']) => {
      (context.rootfs.layers ??= []).push(dir);
    },
  },
  {
    flag: '--upper', values: [text('DIR|tmpfs')], group: 'filesystem', option: 'rootfs: { upper }',
    help: 'the writable layer over --layer: a tenant directory or an ephemeral tmpfs',
    apply: (context, [upper = '']) => {
      context.rootfs.upper = upper;
    },
  },
  {
    flag: '--upper-size', values: [int('BYTES')], group: 'filesystem', option: 'rootfs: { upperSize }',
    help: 'size limit of a tmpfs upper (default 64 MiB)',
    apply: (context, [bytes]) => {
      context.rootfs.upperSize = Number(bytes);
    },
  },
  {
    flag: '--tmp-size', values: [int('BYTES')], group: 'filesystem', option: 'tmpSize',
    help: 'size limit of the box\'s /tmp, /dev/shm and /run (default 64 MiB)',
    apply: (context, [bytes]) => {
      context.options.tmpSize = Number(bytes);
    },
  },
  {
    flag: '--ro-bind', values: [pathValue('SRC'), pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'bind' }",
    help: 'bind a host path read-only',
    bwrap: { flag: '--ro-bind', compared: 'cordon refuses a symlink anywhere in SRC (ELOOP: a tenant could aim it elsewhere); --ro-bind-follow follows them as bwrap does' },
    apply: (context, [source = '', target = '']) => bind(context, source, target, {}),
  },
  {
    flag: '--bind', values: [pathValue('SRC'), pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'bind', readonly: false }",
    help: 'bind a host path read-write',
    bwrap: { flag: '--bind', compared: 'as --ro-bind' },
    apply: (context, [source = '', target = '']) => bind(context, source, target, { readonly: false }),
  },
  {
    flag: '--ro-bind-follow', values: [pathValue('SRC'), pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'bind', followSymlinks: true }",
    help: 'as --ro-bind, following symlinks in SRC (for paths no tenant writes, e.g. /lib)',
    apply: (context, [source = '', target = '']) => bind(context, source, target, { followSymlinks: true }),
  },
  {
    flag: '--bind-follow', values: [pathValue('SRC'), pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'bind', readonly: false, followSymlinks: true }",
    help: 'as --bind, following symlinks in SRC',
    apply: (context, [source = '', target = '']) => bind(context, source, target, { readonly: false, followSymlinks: true }),
  },
  {
    flag: '--idmap-bind', values: [pathValue('SRC'), pathValue('DST'), text('UID:GID')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'bind', idmap }",
    help: 'read-write, files of host UID:GID shown as the box\'s user (root only)',
    apply: (context, [source = '', target = '', ids = ''], flag) => {
      const [uid, gid] = ids.split(':').map(Number);
      if (!Number.isInteger(uid) || !Number.isInteger(gid)) usageError(`${flag} wants SRC DST UID:GID, got ${JSON.stringify(ids)}`);
      bind(context, source, target, { readonly: false, idmap: { uid: uid!, gid: gid! } });
    },
  },
  {
    flag: '--tmpfs', values: [pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'tmpfs' }",
    help: 'a fresh tmpfs (mode and size from a --perms and --size before it)',
    bwrap: { flag: '--tmpfs', compared: 'same, with --perms and --size' },
    apply: (context, [target = ''], flag) => {
      const mode = context.takePerms();
      const bytes = context.takeSize(flag);
      context.list('mounts', 'append').push({ type: 'tmpfs', target, ...(mode === undefined ? {} : { mode }), ...(bytes === undefined ? {} : { size: bytes }) });
    },
  },
  {
    flag: '--proc', values: [pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'proc' }",
    help: 'another proc filesystem (the box has one at /proc)',
    bwrap: { flag: '--proc', compared: 'same; the box has its own /proc without it' },
    apply: (context, [target = '']) => context.list('mounts', 'append').push({ type: 'proc', target }),
  },
  {
    flag: '--symlink', values: [text('TARGET'), pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'symlink' }",
    help: 'a symbolic link at DST',
    bwrap: { flag: '--symlink', compared: 'same' },
    apply: (context, [linkTo = '', target = '']) => context.list('mounts', 'append').push({ type: 'symlink', linkTo, target }),
  },
  {
    flag: '--file-content', values: [pathValue('DST'), text('CONTENT')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'file' }",
    help: 'a read-only file with CONTENT (mode from a --perms before it)',
    apply: (context, [target = '', content = '']) => {
      const mode = context.takePerms();
      context.list('mounts', 'append').push({ type: 'file', target, content, ...(mode === undefined ? {} : { mode }) });
    },
  },
  {
    flag: '--file', aliases: ['--ro-bind-data'], values: [fdValue('FD'), pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'file' }",
    help: 'a read-only file with what fd FD holds, as in bwrap (text: cordon\'s file mounts hold UTF-8)',
    misuse: 'it takes bwrap\'s FD DST; cordon\'s inline form is now --file-content DST CONTENT',
    bwrap: { flag: '--file', compared: 'the file is read-only (bwrap\'s is writable by the sandbox\'s user; cordon\'s root is read-only) and its content must be UTF-8 text; default mode 0644 (bwrap: 0666), --perms sets it; --ro-bind-data is the same in cordon' },
    apply: (context, [fd = '', target = ''], flag) => {
      const content = fileContent(flag, fd);
      const mode = context.takePerms();
      context.list('mounts', 'append').push({ type: 'file', target, content, ...(mode === undefined ? {} : { mode }) });
    },
  },
  {
    flag: '--remount-ro', values: [pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'remount-ro' }",
    help: 'make DST and the mounts under it read-only',
    bwrap: { flag: '--remount-ro', compared: 'recursive in cordon (the mounts under DST too); bwrap remounts DST alone' },
    apply: (context, [target = '']) => context.list('mounts', 'append').push({ type: 'remount-ro', target }),
  },
  {
    flag: '--mask', values: [pathValue('DST')], group: 'filesystem', repeatable: true, option: "mounts: { type: 'mask' }",
    help: 'hide a file or directory',
    apply: (context, [target = '']) => context.list('mounts', 'append').push({ type: 'mask', target }),
  },

  // Cgroup.
  {
    flag: '--cgroup', values: [], group: 'cgroup', option: 'cgroup: {}',
    help: 'a cgroup without limits (accounting, whole-box kill)',
    apply: (context) => void context.cgroup(),
  },
  {
    flag: '--cgroup-parent', values: [pathValue('DIR')], group: 'cgroup', option: 'cgroupParent',
    help: 'the cgroup to make box cgroups under',
    apply: (context, [dir = '']) => {
      context.cgroup();
      context.options.cgroupParent = dir;
    },
  },
  ...([['--memory-max', 'max'], ['--memory-high', 'high'], ['--swap-max', 'swapMax']] as const).map(([flag, key]): FlagRow => ({
    flag, values: [text('SIZE')], group: 'cgroup', option: `cgroup.memory.${key}`,
    help: `memory.${key === 'swapMax' ? 'swap.max' : key} in bytes (K, M, G) or max`,
    apply: (context, [value = '']) => {
      const limits = context.cgroup();
      const memory = own<Mutable<NonNullable<CgroupLimits['memory']>>>(limits.memory, 'cgroup.memory');
      memory[key] = size(flag, value);
      limits.memory = memory;
    },
  })),
  {
    flag: '--cpu-weight', values: [int('N')], group: 'cgroup', option: 'cgroup.cpu.weight',
    help: '1..10000 (v1: cpu.shares = N*1024/100)',
    apply: (context, [value]) => {
      const limits = context.cgroup();
      limits.cpu = own({ ...limits.cpu, weight: Number(value) });
    },
  },
  {
    flag: '--cpu-max', values: [text('QUOTA[/PERIOD]')], group: 'cgroup', option: 'cgroup.cpu.max',
    help: 'microseconds of CPU per period (default period 100000)',
    apply: (context, [value = '']) => {
      const limits = context.cgroup();
      const [quota = '', period] = value.split('/');
      limits.cpu = own({ ...limits.cpu, max: { quota: quota === 'max' ? 'max' : Number(quota), ...(period === undefined ? {} : { period: Number(period) }) } });
    },
  },
  {
    flag: '--pids-max', values: [text('N')], group: 'cgroup', option: 'cgroup.pids.max',
    help: 'at most N tasks (or max)',
    apply: (context, [value]) => {
      context.cgroup().pids = { max: value === 'max' ? 'max' : Number(value) };
    },
  },
  {
    flag: '--io-weight', values: [int('N')], group: 'cgroup', option: 'cgroup.io.weight',
    help: 'io.weight 1..10000',
    apply: (context, [value]) => {
      const limits = context.cgroup();
      limits.io = own({ ...limits.io, weight: Number(value) });
    },
  },
  {
    flag: '--io-max', values: [text('MAJ:MIN:KEY=N[,KEY=N]')], group: 'cgroup', repeatable: true, option: 'cgroup.io.devices',
    help: 'KEY: rbps wbps riops wiops',
    apply: (context, [spec = ''], flag) => {
      const [major, minor, rest] = spec.split(':');
      if (major === undefined || minor === undefined || rest === undefined) usageError(`${flag} wants MAJ:MIN:KEY=N, got ${JSON.stringify(spec)}`);
      const device: IoDeviceLimit = { major: Number(major), minor: Number(minor) };
      const keys = { rbps: 'readBps', wbps: 'writeBps', riops: 'readIops', wiops: 'writeIops' } as const;
      for (const pair of rest.split(',')) {
        const [key, value] = pair.split('=');
        const field = key !== undefined && Object.hasOwn(keys, key) ? keys[key as keyof typeof keys] : undefined;
        if (field === undefined || value === undefined) usageError(`${flag}: unknown ${JSON.stringify(pair)} (rbps, wbps, riops, wiops)`);
        device[field] = value === 'max' ? 'max' : Number(value);
      }
      const limits = context.cgroup();
      limits.io = own({ ...limits.io, devices: [...(limits.io?.devices ?? []), device] });
    },
  },
  ...([['--cpuset-cpus', 'cpus'], ['--cpuset-mems', 'mems']] as const).map(([flag, key]): FlagRow => ({
    flag, values: [text('LIST')], group: 'cgroup', option: `cgroup.cpuset.${key}`,
    help: `cpuset.${key}, e.g. 0-1`,
    apply: (context, [value = '']) => {
      const limits = context.cgroup();
      limits.cpuset = own({ ...limits.cpuset, [key]: value });
    },
  })),

  // Credentials and limits.
  {
    flag: '--cap', values: [text('NAME')], group: 'credentials', repeatable: true, option: 'capabilities',
    help: 'keep a capability (e.g. CAP_NET_BIND_SERVICE)',
    apply: (context, [name = '']) => context.list('capabilities', 'replace').push(name as CapabilityName),
  },
  {
    flag: '--cap-add', values: [text('CAP')], group: 'bwrap', repeatable: true, option: 'capabilities',
    help: 'keep CAP too (ALL: every one), in order with --cap-drop',
    bwrap: { flag: '--cap-add', compared: 'cordon\'s box starts with no capabilities for every caller, so --cap-add gives exactly what it names; bwrap starts from all of them when a root caller runs the sandbox as uid 0 (and from none otherwise, as cordon). Kept ones are ambient in both, so they survive exec' },
    apply: (context, [name = ''], flag) => {
      const kept = context.list('capabilities', 'append');
      const added = name.toUpperCase() === 'ALL' ? (Object.keys(CAPABILITIES) as CapabilityName[]) : [capabilityName(flag, name)];
      for (const capability of added) if (!kept.some((current) => normalizedCapability(current) === capability)) kept.push(capability);
    },
  },
  {
    flag: '--cap-drop', values: [text('CAP')], group: 'bwrap', repeatable: true, option: 'capabilities',
    help: 'drop CAP again (ALL: every one); the box keeps none unless given',
    bwrap: { flag: '--cap-drop', compared: 'same, in order with --cap-add; see --cap-add for where the two start' },
    apply: (context, [name = ''], flag) => {
      const kept = context.list('capabilities', 'append');
      const dropped = name.toUpperCase() === 'ALL' ? undefined : capabilityName(flag, name);
      for (let i = kept.length - 1; i >= 0; i--) {
        const current = kept[i]!;
        if (dropped === undefined || normalizedCapability(current) === dropped) kept.splice(i, 1);
      }
    },
  },
  {
    flag: '--group', values: [int('GID')], group: 'credentials', repeatable: true, option: 'groups',
    help: 'a supplementary group',
    apply: (context, [gid]) => context.list('groups', 'replace').push(Number(gid)),
  },
  {
    flag: '--allow-new-privileges', values: [], group: 'credentials', option: 'allowNewPrivileges',
    help: 'leave no_new_privs off',
    apply: (context) => {
      context.options.allowNewPrivileges = true;
    },
  },
  {
    flag: '--rlimit', values: [text('NAME=SOFT[:HARD]')], group: 'credentials', repeatable: true, option: 'rlimits',
    help: 'e.g. nofile=1024:4096, core=unlimited',
    apply: (context, [spec = ''], flag) => {
      const at = spec.indexOf('=');
      if (at < 0) usageError(`${flag} wants NAME=SOFT[:HARD], got ${JSON.stringify(spec)}`);
      const rlimits = own<Record<string, RlimitValue>>(context.options.rlimits, 'rlimits');
      const parse = (v: string): number | 'unlimited' => (v === 'unlimited' ? 'unlimited' : Number(v));
      const [soft = '', hard] = spec.slice(at + 1).split(':');
      rlimits[spec.slice(0, at)] = hard === undefined ? parse(soft) : { soft: parse(soft), hard: parse(hard) };
      context.options.rlimits = rlimits;
    },
  },
  {
    flag: '--kernel-counter', values: [text('NAME=N')], group: 'credentials', repeatable: true, option: 'kernelCounters',
    help: 'a per-uid limit of the box\'s user namespace (e.g. inotifyInstances=16, userNamespaces=unlimited)',
    apply: (context, [spec = ''], flag) => {
      const at = spec.indexOf('=');
      if (at < 0) usageError(`${flag} wants NAME=N, got ${JSON.stringify(spec)}`);
      const counters: Record<string, KernelCounterLimit> = { ...(context.options.kernelCounters ?? {}) };
      const value = spec.slice(at + 1);
      counters[spec.slice(0, at)] = value === 'unlimited' ? 'unlimited' : Number(value);
      context.options.kernelCounters = counters;
    },
  },
  {
    flag: '--disable-userns', values: [], group: 'bwrap', option: 'kernelCounters.userNamespaces: 0',
    help: 'the payload may make no user namespace (--kernel-counter userNamespaces=0)',
    bwrap: { flag: '--disable-userns', compared: 'the payload can make no user namespace in either; cordon sets the box\'s own user.max_user_namespaces to 0 (which the payload can read), bwrap limits an outer namespace and runs the payload in a nested one. cordon\'s default seccomp profile refuses namespace calls anyway' },
    apply: (context) => {
      context.options.kernelCounters = { ...(context.options.kernelCounters ?? {}), userNamespaces: 0 };
    },
  },
  {
    flag: '--user-namespace-owner', values: [text('caller|box')], group: 'credentials', option: 'userNamespaceOwner',
    help: 'who owns the box\'s user namespace and is charged for its counts',
    apply: (context, [owner]) => {
      context.options.userNamespaceOwner = owner as 'caller' | 'box';
    },
  },
  {
    flag: '--umask', values: [octal('OCTAL')], group: 'credentials', option: 'umask',
    help: 'the payload\'s umask',
    apply: (context, [value = '']) => {
      context.options.umask = Number.parseInt(value, 8);
    },
  },
  {
    flag: '--nice', values: [int('N')], group: 'credentials', option: 'nice',
    help: 'the payload\'s nice value (-20..19)',
    apply: (context, [value]) => {
      context.options.nice = Number(value);
    },
  },
  {
    flag: '--oom-score-adj', values: [int('N')], group: 'credentials', option: 'oomScoreAdj',
    help: '-1000..1000',
    apply: (context, [value]) => {
      context.options.oomScoreAdj = Number(value);
    },
  },
  ...([['--landlock-read', ['read']], ['--landlock-write', ['read', 'write']], ['--landlock-exec', ['read', 'execute']]] as const).map(([flag, access]): FlagRow => ({
    flag, values: [pathValue('PATH')], group: 'credentials', repeatable: true, option: 'landlock.paths',
    help: `Landlock: grant ${access.join(' and ')} below PATH`,
    apply: (context, [target = '']) => {
      const landlock = own<Mutable<NonNullable<SpawnIsolatedOptions['landlock']>>>(context.options.landlock, 'landlock');
      landlock.paths = [...(landlock.paths ?? []), { path: target, access: [...access] as LandlockAccess[] }];
      context.options.landlock = landlock;
    },
  })),
  ...([['--landlock-bind', 'bindTcp'], ['--landlock-connect', 'connectTcp']] as const).map(([flag, key]): FlagRow => ({
    flag, values: [int('PORT')], group: 'credentials', repeatable: true, option: `landlock.${key}`,
    help: `Landlock: allow ${key === 'bindTcp' ? 'binding' : 'connecting to'} TCP port PORT`,
    apply: (context, [port]) => {
      const landlock = own<Mutable<NonNullable<SpawnIsolatedOptions['landlock']>>>(context.options.landlock, 'landlock');
      landlock[key] = [...(context.firstTouch(`landlock.${key}`) ? [] : (landlock[key] ?? [])), Number(port)];
      context.options.landlock = landlock;
    },
  })),
  {
    flag: '--landlock-scope', values: [text('SCOPE')], group: 'credentials', repeatable: true, option: 'landlock.scopes',
    help: 'Landlock: abstract-unix-socket or signal',
    apply: (context, [scope]) => {
      const landlock = own<Mutable<NonNullable<SpawnIsolatedOptions['landlock']>>>(context.options.landlock, 'landlock');
      landlock.scopes = [...(context.firstTouch('landlock.scopes') ? [] : (landlock.scopes ?? [])), scope as LandlockScope];
      context.options.landlock = landlock;
    },
  },
  {
    flag: '--landlock-required', values: [], group: 'credentials', option: "landlock.mode: 'required'",
    help: 'fail if the kernel cannot enforce all of it',
    apply: (context) => {
      context.options.landlock = { ...own<NonNullable<SpawnIsolatedOptions['landlock']>>(context.options.landlock, 'landlock'), mode: 'required' };
    },
  },
  {
    flag: '--no-seccomp', values: [], group: 'credentials', option: 'seccomp: false',
    help: 'no seccomp filter (default: cordon\'s profile)',
    apply: (context) => {
      context.options.seccomp = false;
    },
  },
  {
    flag: '--seccomp-allow', values: [text('NAME')], group: 'credentials', repeatable: true, option: 'seccomp.allow',
    help: 'allow a call the default profile refuses',
    apply: (context, [name = '']) => {
      const base = own<Mutable<Exclude<SpawnIsolatedOptions['seccomp'], false | undefined>>>(context.options.seccomp === false ? undefined : context.options.seccomp, 'seccomp');
      context.options.seccomp = { ...base, allow: [...(base.allow ?? []), name] };
    },
  },
  {
    flag: '--seccomp-deny', values: [text('NAME[=ERRNO|kill|kill-process|log|trap]')], group: 'credentials', repeatable: true, option: 'seccomp.deny',
    help: 'refuse one more call',
    apply: (context, [spec = '']) => {
      const [syscall = '', action] = spec.split('=');
      const rule = action === undefined ? syscall
        : ['kill', 'kill-process', 'log', 'trap', 'allow'].includes(action) ? { syscall, action: action as SeccompAction }
          : { syscall, action: { errno: /^\d+$/.test(action) ? Number(action) : (action as 'EPERM') } };
      const base = own<Mutable<Exclude<SpawnIsolatedOptions['seccomp'], false | undefined>>>(context.options.seccomp === false ? undefined : context.options.seccomp, 'seccomp');
      context.options.seccomp = { ...base, deny: [...(base.deny ?? []), rule] };
    },
  },

  // Network and sockets.
  {
    flag: '--network', values: [text('MODE')], group: 'network', option: 'network',
    help: 'none, host, bridge (the bridge cordon0) or bridge:NAME',
    apply: (context, [mode = '']) => {
      context.network.mode = mode;
    },
  },
  {
    flag: '--bridge-subnet', values: [text('CIDR')], group: 'network', option: 'network.subnet',
    help: 'the bridge\'s address/prefix if cordon makes it (default 10.127.0.1/16)',
    apply: (context, [value = '']) => {
      context.network.subnet = value;
    },
  },
  {
    flag: '--bridge-address', values: [text('IP')], group: 'network', option: 'network.address',
    help: 'the box\'s address (default: the next free one)',
    apply: (context, [value = '']) => {
      context.network.address = value;
    },
  },
  {
    flag: '--bridge-reach', values: [text('gateway|any')], group: 'network', option: 'network.reach',
    help: 'gateway (default): only the bridge\'s address; any: what the host routes',
    apply: (context, [value = '']) => {
      context.network.reach = value as 'gateway' | 'any';
    },
  },
  {
    flag: '--listen', values: [text('[HOST:]PORT')], group: 'sockets', repeatable: true, option: 'listen: { port, host }',
    help: 'a TCP socket bound by cordon (default host 127.0.0.1)',
    apply: (context, [spec = '']) => {
      const at = spec.lastIndexOf(':');
      const host = at < 0 ? undefined : spec.slice(0, at).replace(/^\[|\]$/g, '');
      const entry: ListenEntry = host === undefined ? { port: Number(spec) } : { port: Number(spec.slice(at + 1)), host };
      context.list('listen', 'append').push(entry);
    },
  },
  {
    flag: '--listen-unix', values: [pathValue('PATH')], group: 'sockets', repeatable: true, option: 'listen: { path }',
    help: 'a Unix socket for the box',
    apply: (context, [socketPath = '']) => context.list('listen', 'append').push({ path: socketPath }),
  },

  // bubblewrap's spellings of what cordon does.
  unshareRow('user'),
  unshareRow('user', '--unshare-user-try', '; cordon never falls back to none: a box it cannot give a user namespace fails'),
  unshareRow('ipc'),
  unshareRow('pid'),
  unshareRow('net'),
  unshareRow('uts'),
  unshareRow('cgroup'),
  unshareRow('cgroup', '--unshare-cgroup-try', '; cordon never falls back to none'),
  {
    flag: '--unshare-all', values: [], group: 'bwrap', option: "namespaces: 'new'",
    help: 'new user, ipc, pid, net, uts and cgroup namespaces (cordon\'s default)',
    bwrap: { flag: '--unshare-all', compared: 'cordon\'s default; the user and cgroup ones are required, not tried' },
    apply: (context) => {
      for (const name of UNSHARE_ALL) {
        context.namespaces()[name] = 'new';
        context.unshared.add(name);
      }
    },
  },
  {
    flag: '--share-net', values: [], group: 'bwrap', option: "namespaces.net: 'host'",
    help: 'keep the host\'s network (--share net)',
    bwrap: { flag: '--share-net', compared: 'same; cordon takes it without --unshare-all too' },
    apply: (context) => {
      context.namespaces().net = 'host';
      context.unshared.delete('net');
    },
  },
  {
    flag: '--userns', values: [fdValue('FD')], group: 'bwrap', option: 'namespaces.user: { fd }',
    help: 'join the user namespace open at fd FD',
    bwrap: { flag: '--userns', compared: 'same' },
    apply: (context, [fd]) => {
      context.namespaces().user = { fd: Number(fd) };
      context.joinedByFd.add('user');
    },
  },
  {
    flag: '--pidns', values: [fdValue('FD')], group: 'bwrap', option: 'namespaces.pid: { fd }',
    help: 'join the pid namespace open at fd FD',
    bwrap: { flag: '--pidns', compared: 'cordon joins it; bwrap with --unshare-pid (or --unshare-all) makes a new one inside it, which cordon refuses' },
    apply: (context, [fd]) => {
      context.namespaces().pid = { fd: Number(fd) };
      context.joinedByFd.add('pid');
    },
  },
  {
    flag: '--setenv', values: [text('VAR'), text('VALUE')], group: 'bwrap', repeatable: true, option: 'env',
    help: 'set a variable (--env VAR=VALUE)',
    bwrap: { flag: '--setenv', compared: 'same; the starting environment differs: bwrap passes the caller\'s, cordon PATH only (--inherit-env: the caller\'s)' },
    apply: (context, [name = '', value = '']) => {
      if (name === '' || name.includes('=')) usageError(`--setenv wants a variable name without "=", got ${JSON.stringify(name)}`);
      context.env.push({ set: name, value });
    },
  },
  {
    flag: '--unsetenv', values: [text('VAR')], group: 'bwrap', repeatable: true, option: 'env',
    help: 'remove a variable',
    bwrap: { flag: '--unsetenv', compared: 'same' },
    apply: (context, [name = '']) => context.env.push({ unset: name }),
  },
  {
    flag: '--clearenv', values: [], group: 'bwrap', option: 'env: {}',
    help: 'start from an empty environment (no PATH either)',
    bwrap: { flag: '--clearenv', compared: 'same, but bwrap then sets PWD; cordon sets nothing it is not told' },
    apply: (context) => context.env.push('clear'),
  },
  {
    flag: '--die-with-parent', values: [], group: 'bwrap', option: 'dieWithParent: true',
    help: 'SIGKILL the box when cordon dies (cordon\'s default)',
    bwrap: { flag: '--die-with-parent', compared: 'same; cordon\'s default' },
    apply: (context) => {
      context.options.dieWithParent = true;
    },
  },
  {
    flag: '--new-session', values: [], group: 'bwrap', option: 'newSession: true',
    help: 'setsid(): no controlling terminal (cordon\'s default)',
    bwrap: { flag: '--new-session', compared: 'same; cordon\'s default' },
    apply: (context) => {
      context.options.newSession = true;
    },
  },
  {
    flag: '--dev', values: [pathValue('DST')], group: 'bwrap', option: '(the box\'s own /dev)',
    help: 'a minimal /dev: the box always has one, so only /dev is accepted',
    bwrap: { flag: '--dev', compared: 'the box always has cordon\'s own /dev (null, zero, full, random, urandom, tty, pts, ptmx, shm, fd, stdin, stdout, stderr); a DST other than /dev is refused' },
    apply: (_context, [target], flag) => {
      if (target !== '/dev' && target !== '/dev/') usageError(`${flag} ${target}: cordon gives every box its own /dev and makes no other; only ${flag} /dev is accepted`);
    },
  },
  {
    flag: '--dev-bind', values: [pathValue('SRC'), pathValue('DST')], group: 'bwrap', repeatable: true, option: "mounts: { type: 'bind', readonly: false, devices: true }",
    help: 'bind a host path read-write, device nodes usable',
    bwrap: { flag: '--dev-bind', compared: 'as --bind; cordon refuses DST / (the box\'s root is its own)' },
    apply: (context, [source = '', target = '']) => bind(context, source, target, { readonly: false, devices: true }),
  },
  ...([['--ro-bind-try', {}], ['--bind-try', { readonly: false }], ['--dev-bind-try', { readonly: false, devices: true }]] as const).map(([flag, extra]): FlagRow => ({
    flag, values: [pathValue('SRC'), pathValue('DST')], group: 'bwrap', repeatable: true, option: "mounts: { type: 'bind' }",
    help: `${flag.replace(/-try$/, '')}, left out when SRC does not exist`,
    bwrap: { flag, compared: `as ${flag.replace(/-try$/, '')}; whether SRC exists is checked when cordon reads the flag` },
    apply: (context, [source = '', target = '']) => bindIfPresent(context, source, target, extra),
  })),
  {
    flag: '--mqueue', values: [pathValue('DST')], group: 'bwrap', repeatable: true, option: "mounts: { type: 'mqueue' }",
    help: 'a POSIX message queue filesystem',
    bwrap: { flag: '--mqueue', compared: 'same' },
    apply: (context, [target = '']) => context.list('mounts', 'append').push({ type: 'mqueue', target }),
  },
  {
    flag: '--perms', values: [octal('OCTAL')], group: 'bwrap', option: "mounts: { type: 'tmpfs' | 'file', mode }",
    help: 'the mode of the next --tmpfs, --file or --file-content',
    bwrap: { flag: '--perms', compared: 'same for --tmpfs and --file; cordon has no --dir or --bind-data to give it to' },
    apply: (context, [mode = ''], flag) => {
      context.pendingPerms = { mode: Number.parseInt(mode, 8), flag };
    },
  },
  {
    flag: '--size', values: [int('BYTES')], group: 'bwrap', option: "mounts: { type: 'tmpfs', size }",
    help: 'the size of the next --tmpfs',
    bwrap: { flag: '--size', compared: 'same' },
    apply: (context, [bytes], flag) => {
      context.pendingSize = { bytes: Number(bytes), flag };
    },
  },
  {
    flag: '--sync-fd', values: [fdValue('FD')], group: 'bwrap', option: '',
    help: 'hold fd FD open while the box runs (cordon run holds its fds until it exits)',
    bwrap: { flag: '--sync-fd', compared: 'same while cordon run lives; with --no-die-with-parent the box may outlive it' },
    apply: () => undefined, // the fd was checked to be the caller's; cordon run holds it until it exits
  },
  {
    flag: '--info-fd', values: [fdValue('FD')], group: 'bwrap', option: '',
    help: 'write the box\'s host pid and namespaces to fd FD as JSON once it has started',
    bwrap: { flag: '--info-fd', compared: 'same format (child-pid and the namespaces made for the box); bwrap writes it before the payload runs, cordon once the box has started, so a box that has already ended then is reported with child-pid only, and cordon says so on stderr' },
    apply: (context, [fd]) => {
      context.cli.infoFd = Number(fd);
    },
  },
  {
    flag: '--json-status-fd', values: [fdValue('FD')], group: 'bwrap', option: '',
    help: 'write the same on one line to fd FD, then { "exit-code": N } when the box ends',
    bwrap: { flag: '--json-status-fd', compared: 'same format; see --info-fd for when it is written' },
    apply: (context, [fd]) => {
      context.cli.jsonStatusFd = Number(fd);
    },
  },
  {
    flag: '--args', values: [fdValue('FD')], group: 'bwrap', option: '',
    help: 'read more arguments, NUL-separated, from fd FD, in its place',
    bwrap: { flag: '--args', compared: 'same' },
    apply: () => undefined, // spliced in by parseRunArgs
  },

  // bubblewrap flags cordon does not have: refused, never ignored.
  ...([
    ['--seccomp', [fdValue('FD')], 'cordon compiles its own seccomp filter and takes no BPF program; adjust it with --seccomp-allow, --seccomp-deny or --no-seccomp, or give a policy in --config'],
    ['--add-seccomp-fd', [fdValue('FD')], 'cordon compiles its own seccomp filter and takes no BPF program; adjust it with --seccomp-allow, --seccomp-deny'],
    ['--dir', [pathValue('DST')], 'cordon cannot make a bare directory: a mount target the box lacks is made for you; for an empty writable directory use --tmpfs DST'],
    ['--chmod', [octal('OCTAL'), pathValue('PATH')], 'cordon does not chmod paths in the box; give --perms before the --tmpfs or --file that makes it'],
    ['--bind-data', [fdValue('FD'), pathValue('DST')], 'cordon\'s file mounts are read-only; use --file FD DST (or --ro-bind-data)'],
    ['--bind-fd', [fdValue('FD'), pathValue('DST')], 'cordon binds host paths only, resolved without following symlinks; give the path with --bind'],
    ['--ro-bind-fd', [fdValue('FD'), pathValue('DST')], 'cordon binds host paths only, resolved without following symlinks; give the path with --ro-bind'],
    ['--userns2', [fdValue('FD')], 'not supported'],
    ['--assert-userns-disabled', [], 'not supported; --disable-userns limits the box to no user namespaces'],
    ['--block-fd', [fdValue('FD')], 'not supported'],
    ['--userns-block-fd', [fdValue('FD')], 'not supported'],
    ['--lock-file', [pathValue('DEST')], 'not supported'],
    ['--exec-label', [text('LABEL')], 'cordon sets no SELinux labels'],
    ['--file-label', [text('LABEL')], 'cordon sets no SELinux labels'],
  ] as const).map(([flag, values, reason]): FlagRow => ({
    flag, values, group: 'refused', option: '', help: reason,
    bwrap: { flag, compared: `refused: ${reason}` },
    apply: refuse(reason),
  })),
];

/** Every spelling → its row. */
export const FLAG_INDEX: ReadonlyMap<string, FlagRow> = (() => {
  const index = new Map<string, FlagRow>();
  for (const row of FLAGS) {
    for (const name of [row.flag, ...(row.aliases ?? [])]) {
      if (index.has(name)) throw new Error(`cordon's flag table names ${name} twice`);
      index.set(name, row);
    }
  }
  return index;
})();

const HELP_FLAGS = new Set(['--help', '-h']);

function checkValue(flag: string, row: FlagRow, value: FlagValue, word: string): void {
  const ok = value.type === 'int' ? /^-?\d+$/.test(word)
    : value.type === 'fd' ? /^\d+$/.test(word)
      : value.type === 'octal' ? /^[0-7]{1,4}$/.test(word)
        : true;
  if (ok && value.type === 'fd' && row.group !== 'refused') checkCallerFd(flag, word);
  if (!ok) {
    const wants = { int: 'an integer', fd: 'an fd number', octal: 'an octal mode like 0755', text: '', path: '' }[value.type];
    usageError(`${flag} wants ${value.name} as ${wants}, got ${JSON.stringify(word)}${row.misuse === undefined ? '' : `: ${row.misuse}`}`);
  }
}

function closest(word: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of FLAG_INDEX.keys()) {
    const distance = editDistance(word, name);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export interface ParsedFlag {
  readonly row: FlagRow;
  /** As typed (the spelling tells bwrap's name from cordon's in messages). */
  readonly flag: string;
  readonly values: readonly string[];
}

/**
 * Splits run's arguments into flags and the command. Options end at `--`
 * (dropped) or at the first word that is neither a flag nor a flag's value,
 * as bwrap and env(1) do, so `cordon run /bin/ls -la` passes -la to ls.
 * `--args FD` is replaced by the NUL-separated words fd FD holds. A flag
 * takes exactly its row's values (a one-value flag also as --flag=VALUE),
 * whatever they look like: `--nice -5` works. `help` is whether --help or
 * -h came before the command; `error` the first thing wrong, left for the
 * caller to throw so that --help still works on a bad line.
 */
export function tokenizeRunArgs(argv: readonly string[]): { flags: ParsedFlag[]; command: string[]; help: boolean; error: UsageError | undefined } {
  const words = [...argv];
  const flags: ParsedFlag[] = [];
  let help = false;
  let error: UsageError | undefined;
  const note = (message: string): void => {
    error ??= new UsageError(message);
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') return { flags, command: words.slice(i + 1), help, error };
    if (!word.startsWith('-') || word === '-') return { flags, command: words.slice(i), help, error };
    if (HELP_FLAGS.has(word)) {
      help = true;
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const flag = eq < 0 ? word : word.slice(0, eq);
    const row = FLAG_INDEX.get(flag);
    if (row === undefined) {
      const suggestion = closest(flag);
      note(`Unknown option '${flag}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; see cordon run --help`);
      continue;
    }
    let values: string[];
    if (eq >= 0) {
      if (row.values.length !== 1) {
        note(`${flag} ${row.values.length === 0 ? 'takes no value' : `takes ${row.values.length} values, not ${flag}=VALUE`}`);
        continue;
      }
      values = [word.slice(eq + 1)];
    } else {
      values = words.slice(i + 1, i + 1 + row.values.length);
      if (values.length < row.values.length) {
        note(`${flag} needs ${row.values.length} argument${row.values.length > 1 ? 's' : ''} (${row.values.map((value) => value.name).join(' ')})`);
        return { flags, command: [], help, error };
      }
      i += row.values.length;
    }
    try {
      row.values.forEach((value, at) => checkValue(flag, row, value, values[at]!));
      if (row.flag === '--args') {
        // bwrap's --args FD: the words it holds take its place.
        const more = readFd(flag, values[0]!).toString('utf8').split('\0');
        if (more[more.length - 1] === '') more.pop();
        words.splice(i + 1, 0, ...more);
        continue;
      }
    } catch (failure) {
      if (!(failure instanceof UsageError)) throw failure;
      note(failure.message);
      continue;
    }
    flags.push({ row, flag, values });
  }
  return { flags, command: [], help, error };
}

/**
 * run's arguments → spawnIsolated's options and the command. --config (the
 * last one given) is read first; then every flag applies in command-line
 * order on top of it, so of two flags setting one option the later wins.
 * Throws a UsageError for what cordon refuses.
 */
export function parseRunArgs(argv: readonly string[] | ReturnType<typeof tokenizeRunArgs>): { options: SpawnIsolatedOptions; command: string[]; cli: StatusFds } {
  // Tokens once only: --args FD reads its fd when tokenized.
  const { flags, command, error } = 'flags' in argv ? argv : tokenizeRunArgs(argv);
  if (error !== undefined) throw error;
  const last = (name: string): string | undefined => flags.filter((parsed) => parsed.row.flag === name).at(-1)?.values[0];
  const configFile = last('--config');
  const bundle = last('--bundle');
  let config: unknown;
  if (configFile !== undefined) {
    try {
      config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    } catch (failure) {
      usageError(`--config ${configFile}: ${(failure as Error).message}`);
    }
    if (!isPlainObject(config)) usageError(`--config ${configFile}: must hold a JSON object of options`);
  }
  // An OCI bundle, or an OCI config.json given to --config (it has an
  // ociVersion): its options are the base and its process the command
  // unless one is given.
  let ociCommand: string[] = [];
  if (bundle !== undefined || (configFile !== undefined && Object.hasOwn(config as object, 'ociVersion'))) {
    if (bundle !== undefined && configFile !== undefined) usageError('--bundle and --config exclude each other');
    const hostCredentials = flags.some((parsed) => parsed.row.flag === '--allow-host-credentials');
    let spec: OciRunSpec;
    try {
      spec = bundle !== undefined
        ? loadOciBundle(bundle, { hostCredentials })
        : fromOciConfig(config, { bundle: path.dirname(configFile!), hostCredentials });
    } catch (failure) {
      usageError((failure as Error).message);
    }
    config = spec.options;
    ociCommand = [spec.file, ...spec.args];
  }
  const context = new FlagContext(config);
  for (const { row, flag, values } of flags) {
    row.apply(context, values, flag);
    // bwrap's --perms and --size bind to the very next flag, which must use them.
    if (context.pendingPerms !== undefined && context.pendingPerms.flag !== flag && row.flag !== '--size') {
      usageError(`${context.pendingPerms.flag} must be followed by a flag that makes a file or tmpfs (--tmpfs, --file, --ro-bind-data, --file-content), not ${flag}`);
    }
    if (context.pendingSize !== undefined && context.pendingSize.flag !== flag && row.flag !== '--perms') {
      usageError(`${context.pendingSize.flag} must be followed by --tmpfs, not ${flag}`);
    }
  }
  const options = context.finish();
  // A terminal is the box's fds 0-2 (the CLI copies its own to it); otherwise the box gets the CLI's.
  if (options.tty === undefined || options.tty === false) options.stdio = 'inherit';
  return { options, command: command.length > 0 ? command : ociCommand, cli: context.cli };
}
