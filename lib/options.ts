// The public options of spawnIsolated(), each documented where declared.
import type { Stream } from 'node:stream';

/** The kinds of Linux namespace a box can have. */
export type NamespaceName = 'user' | 'pid' | 'mount' | 'net' | 'ipc' | 'uts' | 'cgroup' | 'time';

export const NAMESPACE_NAMES: readonly NamespaceName[] = ['user', 'pid', 'mount', 'net', 'ipc', 'uts', 'cgroup', 'time'];

/**
 * What a box gets for one kind of namespace:
 * - `'new'`: a fresh one (the default for all but `time`);
 * - `'host'`: the caller's own, shared with the host (an explicit loosening);
 * - `{ path }`: join an existing one, e.g. `/proc/1234/ns/net` or `/run/netns/blue`;
 * - `{ fd }`: join the namespace behind an open file descriptor (cordon does not close it).
 */
export type NamespaceSetting = 'new' | 'host' | { readonly path: string } | { readonly fd: number };

export type NamespaceOptions = { readonly [K in NamespaceName]?: NamespaceSetting };

/** One line of a uid_map or gid_map: ids `inside..inside+count-1` in the box are `outside..` on the host. */
export interface IdMapEntry {
  readonly inside: number;
  readonly outside: number;
  readonly count: number;
}

/** Like child_process: what fd N of the box is connected to. */
export type StdioEntry =
  /** A new pipe; the parent's end appears as box.stdio[N] (a net.Socket). */
  | 'pipe'
  /** The parent's own fd N. */
  | 'inherit'
  /** /dev/null for 0-2; nothing (closed) for fds above 2. */
  | 'ignore'
  /** An open fd of the parent, passed as fd N. */
  | number
  /** A stream with an underlying fd (a socket, a file stream opened already, process.stdout, ...). */
  | Stream
  /** The default: 'pipe' for 0-2, 'ignore' above. */
  | null
  | undefined;

export type StdioOptions = 'pipe' | 'inherit' | 'ignore' | readonly StdioEntry[];

export interface SpawnIsolatedOptions {
  /**
   * Namespaces of the box. Every kind is `'new'` by default except `time`
   * (`'host'`). Loosen one at a time, e.g. `{ net: 'host' }`.
   */
  readonly namespaces?: NamespaceOptions;
  /**
   * uid_map of a new user namespace. Default: the box's uid 0 is the caller's
   * euid when unprivileged, or uid 65534 (nobody) when the caller is root, so
   * a box never holds real host privileges.
   */
  readonly uidMap?: readonly IdMapEntry[];
  /** gid_map of a new user namespace; defaults as for `uidMap`, with the egid. */
  readonly gidMap?: readonly IdMapEntry[];
  /** The uid the payload runs as inside the box's user namespace. Default 0. */
  readonly uid?: number;
  /** The gid the payload runs as inside the box's user namespace. Default 0. */
  readonly gid?: number;
  /**
   * Allow a box without a new user namespace to run with the caller's real
   * host credentials (as root, that is real root). Default false: such a box
   * is refused unless the caller is unprivileged.
   */
  readonly allowHostCredentials?: boolean;
  /** The UTS hostname of a box with a new uts namespace. Default `'cordon'`. */
  readonly hostname?: string;
  /**
   * Run a tiny init as PID 1 of a new (or joined) pid namespace, which reaps
   * orphans, forwards signals to the payload and exits with its status.
   * Default true there; false makes the payload PID 1 itself, and then the
   * kernel drops every signal it has no handler for, SIGTERM included: use
   * SIGKILL (e.g. `killSignal: 'SIGKILL'`) to end such a box.
   */
  readonly init?: boolean;
  /**
   * The payload's environment. Default: only `PATH` (a standard one). The
   * parent's `process.env` is never passed unless given here.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory inside the box (absolute). Default `/`. */
  readonly cwd?: string;
  /** argv[0] of the payload. Default: `file`. */
  readonly argv0?: string;
  /** Like child_process: `'pipe'` (the default), `'inherit'`, `'ignore'` or one entry per fd. */
  readonly stdio?: StdioOptions;
  /** Milliseconds after which the box is sent `killSignal`. Default: none. */
  readonly timeout?: number;
  /** The signal for `timeout` and `signal`. Default `'SIGTERM'`. */
  readonly killSignal?: NodeJS.Signals | number;
  /** Aborting it sends `killSignal` to the box and emits an AbortError. */
  readonly signal?: AbortSignal;
  /** Kill the box with SIGKILL when the Node thread that started it dies. Default true. */
  readonly dieWithParent?: boolean;
  /** Start the payload in a new session (setsid), away from the caller's terminal. Default true. */
  readonly newSession?: boolean;
}
