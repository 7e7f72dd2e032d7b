// The public options of spawnIsolated(), each documented where declared.
import type { Stream } from 'node:stream';

import type { CgroupLimits } from './cgroups/limits';
import type { TenantCgroup } from './cgroups/tenant';
import type { CapabilityName } from './credentials';
import type { RlimitName, RlimitValue } from './limits';
import type { KernelCounterLimits } from './kernel-counters';
import type { LandlockOptions } from './landlock';
import type { BridgeNetworkOptions } from './bridge';
import type { ListenEntry } from './sockets';
import type { NamespacePool } from './pool';
import type { SeccompPolicy } from './seccomp';
import type { UpperQuota } from './quota';

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

/** See SpawnIsolatedOptions.network. */
export type NetworkOption = 'none' | 'host' | 'bridge' | { readonly path: string } | { readonly fd: number } | BridgeNetworkOptions;

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
  /** A log file on the host, opened by cordon for appending (fds 1 and up); see StdioFile. */
  | StdioFile
  /** The default: 'pipe' for 0-2, 'ignore' above. */
  | null
  | undefined;

/**
 * A host file the box's output is appended to (a log). cordon opens it in
 * the parent: its directory must exist and is resolved without following
 * symlinks, the file itself is not followed either (ELOOP), and it must be
 * a regular file, opened `O_WRONLY | O_APPEND`. The box never holds it: its
 * fd is a pipe (the payload's, so /dev/stderr and /proc/self/fd reopen it)
 * and a thread of the parent appends what comes through, so the payload
 * cannot truncate, rewrite, seek, chmod or chown the file, and boxes that
 * share it add whole lines. `box.exited` settles once all of it is in the
 * file. A file cordon creates gets `mode` (not masked by the umask) and the
 * caller as owner and group; an existing file keeps its owner and mode.
 * Only for fds 1 and up (fd 0 is input).
 */
export interface StdioFile {
  /** Absolute host path. */
  readonly file: string;
  /** Permission bits of a file cordon creates. Default 0o620 (the caller reads and writes, the caller's group writes). */
  readonly mode?: number;
}

export type StdioOptions = 'pipe' | 'inherit' | 'ignore' | readonly StdioEntry[];

/**
 * What one box of a compiled template (`compileBox(options)`, see
 * lib/template.ts) may give besides its file and args; each replaces the
 * template's option of the same name for that box alone, checked as
 * spawnIsolated() checks it. Everything else is the template's: a box that
 * needs other options needs another template.
 */
export interface BoxOverrides {
  /** The payload's environment, replacing the template's `env` whole (the `listen` variables are added as ever). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** argv[0] of the payload. Default: the template's `argv0` if it gave one, else `file`. */
  readonly argv0?: string;
  /** Aborts this box (as the `signal` option); replaces the template's. */
  readonly signal?: AbortSignal;
}

export interface SpawnIsolatedOptions {
  /**
   * Namespaces of the box. Every kind is `'new'` by default except `time`
   * (`'host'`). Loosen one at a time, e.g. `{ net: 'host' }`.
   */
  readonly namespaces?: NamespaceOptions;
  /**
   * uid_map of a new user namespace. Default: the box's uid 0 is the caller's
   * euid when unprivileged, or uid 65534 (nobody) when the caller is root, so
   * a box never holds real host privileges. The kernel's limits apply and
   * are checked up front: at most 340 lines (UID_GID_MAP_MAX_EXTENTS), at
   * most 4095 bytes of map text (one write of less than a page), and
   * neither the inside nor the outside ranges may overlap.
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
   *
   * The init is sealed: exec'd from a sealed in-memory copy (see
   * `probe().init`), non-dumpable, so the payload can neither trace it nor
   * reach its memory, fds or binary, and, once the payload's process is
   * cloned, without capabilities, with no_new_privs and under its own strict
   * seccomp filter, whatever `seccomp`, `capabilities` and
   * `allowNewPrivileges` give the payload.
   */
  readonly init?: boolean;
  /**
   * The payload's environment. Default: only `PATH` (a standard one). The
   * parent's `process.env` is never passed unless given here.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory inside the box (absolute; a `file:` URL too, as in child_process). Default `/`. */
  readonly cwd?: string | URL;
  /**
   * child_process's option, for code that passes it along: only `false`
   * (the default) is accepted, since cordon runs `file` itself with no
   * shell; for a command line use `spawnIsolated('/bin/sh', ['-c', cmd])`.
   */
  readonly shell?: false;
  /** child_process's option, accepted and ignored, as Node does on Linux. */
  readonly windowsHide?: boolean;
  /** argv[0] of the payload. Default: `file`. */
  readonly argv0?: string;
  /** Like child_process: `'pipe'` (the default), `'inherit'`, `'ignore'` or one entry per fd. */
  readonly stdio?: StdioOptions;
  /**
   * What a `'pipe'` entry for fds 0, 1 and 2 is: `'socketpair'` (the
   * default, as child_process) or `'pipe'`: a real pipe, which a payload can
   * reopen as `/dev/stdin`, `/dev/stdout` or `/dev/stderr` (servers such as
   * php-fpm and nginx open `/dev/stderr` to log; on a socket pair that open
   * fails with ENXIO). The pipe's inode is given to the payload's host uid
   * for a root caller (the kernel checks it on that reopen); an unprivileged
   * caller's pipes are its own uid's, which is the box's root by default.
   * `'pipe'` entries above fd 2 stay socket pairs (both directions).
   */
  readonly stdioPipes?: 'socketpair' | 'pipe';
  /** Milliseconds after which the box is sent `killSignal`. Default: none. */
  readonly timeout?: number;
  /** The signal for `timeout` and `signal`. Default `'SIGTERM'`. */
  readonly killSignal?: NodeJS.Signals | number;
  /** Aborting it sends `killSignal` to the box and emits an AbortError. */
  readonly signal?: AbortSignal;
  /**
   * Kill the box with SIGKILL when the Node thread that started it dies. Default true.
   * `false`: the box outlives this process once its state record is written (with an init, the
   * default, a supervisor killed between the clone and the record still takes the box along, so
   * no box runs unrecorded; with `init: false` such a box runs on, unrecorded).
   */
  readonly dieWithParent?: boolean;
  /** Start the payload in a new session (setsid), away from the caller's terminal. Default true. */
  readonly newSession?: boolean;
  /**
   * A pseudo-terminal for the payload: `true` (80x24) or `{ cols, rows }`.
   * Its slave is the box's fds 0, 1 and 2 and the controlling terminal of
   * the payload's own session (job control, ^C, SIGWINCH work as in a
   * terminal); `box.stdout` reads the master (stdout and stderr together:
   * `box.stderr` is null), `box.stdin` types into it, `box.resize(cols,
   * rows)` sets its size. Replaces `stdio` (leave it unset); needs
   * `newSession`. Default false.
   */
  readonly tty?: boolean | { readonly cols?: number; readonly rows?: number };
  /**
   * A start gate (OCI create/start): an fd of this process (typically a FIFO
   * opened read-write) from which the box's process reads one byte after
   * its set-up and before its exec. The box reports `'spawn'` once it waits
   * there; nothing of the payload runs until a byte arrives, and EOF ends it
   * with status 127. A failed exec after the gate is exit status 127, not a
   * spawn error. The fd is installed above the box's stdio and closed before
   * the exec. Default: none.
   */
  readonly startGate?: number;
  /** The root filesystem; see RootfsOption. Default `'host'` (read-only). */
  readonly rootfs?: RootfsOption;
  /**
   * Mounts applied in order on top of the root, after /proc, /dev, /tmp and
   * the default view of rootfs `'host'`. A target the box does not have
   * (e.g. `/work/app`, or under the caller's hidden home) is made in its root
   * (or the home's tmpfs), which is made read-only after the mounts.
   * As many as fit a plan's 4096 steps (a `file` mount takes 2 steps, any
   * other 1; the error says how many they make).
   */
  readonly mounts?: readonly MountEntry[];
  /**
   * Size limit in bytes of each writable tmpfs cordon gives the box: `/tmp`
   * and `/dev/shm`, and `/run` on rootfs `'host'`. Default 64 MiB (like
   * `upperSize`), so filling one fails with ENOSPC rather than eating the
   * box's memory (tmpfs pages are charged to its cgroup). Each also holds at
   * most one file per KiB of it (at least 1024): an empty file costs no
   * bytes but about 1 KiB of kernel memory. A `tmpfs` entry in `mounts` at
   * the same target replaces one with a size of its own.
   */
  readonly tmpSize?: number;
  /**
   * Give the box a cgroup of its own with these limits (`{}`: accounting
   * only): made before the clone, the box placed in it atomically on cgroup
   * v2 (CLONE_INTO_CGROUP), removed when the box ends. Default: none, the box
   * stays in the caller's cgroups. A controller the host cannot give is an
   * error naming it, never skipped. The box's process is cloned with its own
   * memory (not Node's, as a box without a cgroup is), so a memory limit too
   * small for the box's setup fails the box with `ENOMEM` at the step it
   * reached, never Node; that clone copies Node's page tables, so it costs
   * more as Node's heap grows.
   *
   * A tenant cgroup (`createTenantCgroup()`), or `{ tenant, ...limits }`:
   * the box gets its own leaf cgroup under the tenant (with these limits,
   * if any), so the tenant's limits bound it together with the tenant's
   * other boxes. Not with `cgroupParent` (the tenant has its own).
   */
  readonly cgroup?: CgroupLimits | TenantCgroup | (CgroupLimits & { readonly tenant: TenantCgroup });
  /**
   * The cgroup under which box cgroups are made (an absolute path in the v2
   * hierarchy, e.g. `/sys/fs/cgroup/tenants`). Default: a delegated subtree
   * of the caller's own cgroup, or, as root, a `cordon` cgroup it creates
   * (`CORDON_CGROUP_PARENT_NAME` names it otherwise), shared by every
   * supervisor and removed, when empty, by the last one to exit. A parent
   * given here is never removed.
   */
  readonly cgroupParent?: string;
  /** Supplementary groups of the payload (gids inside the box). Default: none. */
  readonly groups?: readonly number[];
  /**
   * Capabilities the payload keeps; every other one is dropped from all sets.
   * Raised as ambient, so they survive exec as a non-root uid (e.g.
   * `['CAP_NET_BIND_SERVICE']` for a server on port 80 as uid 1000). Inside
   * a user namespace they hold over the box's own namespaces only.
   * (`CAP_SYS_PTRACE` there lets a rootless box's payload trace the init;
   * the init's own seccomp filter still refuses any call it does not make.)
   */
  readonly capabilities?: readonly CapabilityName[];
  /** Leave no_new_privs off, so setuid binaries and file capabilities work. Default false. */
  readonly allowNewPrivileges?: boolean;
  /**
   * Resource limits of the payload. `core` is 0 unless given. In a box with
   * a user namespace made for it, `nproc`, `msgqueue`, `sigpending` and
   * `memlock` default to a quarter of the caller's own soft limit (soft and
   * hard): the kernel counts them per (user namespace, uid) and charges every
   * box to the caller too, so one box cannot use up what the caller and its
   * other boxes share. Give one to set it yourself. Set right before the
   * payload's exec (with an init, by the init in the payload's process), so
   * they bind the payload alone: neither cordon's child nor its init runs
   * under them.
   */
  readonly rlimits?: { readonly [K in RlimitName]?: RlimitValue };
  /** The payload's umask. Default: the caller's. */
  readonly umask?: number;
  /** The payload's nice value, -20..19 (lowering it needs privilege on the host). */
  readonly nice?: number;
  /** /proc/self/oom_score_adj of the payload, -1000..1000 (lowering it needs privilege on the host). */
  readonly oomScoreAdj?: number;
  /**
   * Per-user kernel counters of the box: the `/proc/sys/user/max_*` limits
   * of its own user namespace, written by the box's root before it drops
   * its capabilities. Each caps what one uid of the box may have (the kernel
   * counts per user namespace and uid) and is charged to the caller's uid on
   * the host as well, where the host's own limit caps all boxes together.
   * A number (0..2^31-1) or `'unlimited'` (leave the namespace's INT_MAX:
   * only the host's limit applies).
   *
   * Default, in a user namespace made for the box (new or pooled): a quarter
   * of the caller's own limit, and at most 32 inotify instances, 8192
   * inotify watches, 32 fanotify groups, 8192 fanotify marks and 64 of each
   * kind of namespace (a namespace kind only when `seccomp` lets the box
   * make namespaces, the fanotify ones only when it lets it call
   * fanotify_init: the default profile refuses both). A joined user namespace gets only what is given here
   * (it may be shared; the limits then apply to all of it). Not allowed
   * with `namespaces.user: 'host'`. A limit this kernel does not have fails
   * the spawn with a step error naming it.
   */
  readonly kernelCounters?: KernelCounterLimits;
  /**
   * Kernel parameters of the box's own namespaces, by sysctl name:
   * `{ 'net.ipv4.ping_group_range': '0 0' }`. Allowed: `net.*` (its net
   * namespace), the System V IPC and POSIX message queue ones
   * (`kernel.shmmax`, `kernel.msgmnb`, `fs.mqueue.*`, ...: its IPC
   * namespace); each namespace must not be the host's (`kernel.hostname`:
   * use `hostname`). Any other parameter
   * is refused by name: it would change the host. Written by cordon's child
   * through /proc/sys once it is in the box's namespaces, before it drops
   * its capabilities (step `set sysctl NAME`); a parameter this kernel or
   * this namespace lacks fails the spawn at that step.
   */
  readonly sysctl?: Readonly<Record<string, string | number>>;
  /**
   * Which host uid owns the box's new user namespace, and so is charged on
   * the host for every per-user kernel count of the box (inotify instances,
   * namespaces, processes, ...): `'caller'` (the default: the caller's own
   * uid, the host's root for a root caller) or `'box'`: the host uid the
   * box's uid 0 maps to, so a root supervisor's tenants are charged to their
   * own uids and cannot together use up what the host's root needs. Root
   * callers only, with a `uidMap` that gives the box's root a host uid of
   * its own (not 65534). The owner holds every capability over the box's
   * namespaces from outside: a process running as that uid on the host,
   * outside a user namespace, could enter the box; use a uid nothing else
   * runs as (an IdRangeAllocator range).
   */
  readonly userNamespaceOwner?: 'caller' | 'box';
  /** A Landlock ruleset: the paths and ports the payload may use. See LandlockOptions. */
  readonly landlock?: LandlockOptions;
  /**
   * Listening sockets for the payload, as fds 3, 4, ... with `LISTEN_FDS`,
   * `LISTEN_PID` (the payload's pid as it sees it) and `LISTEN_FDNAMES`
   * (systemd socket activation). cordon binds them as the caller, so a box
   * with no network of its own serves the host through them. A Unix socket
   * path is resolved without following symlinks (see ListenEntry).
   */
  readonly listen?: readonly ListenEntry[];
  /**
   * The box's network, a shorthand for `namespaces.net` plus its setup (give
   * one or the other):
   * - `'none'` (the default): a new network namespace with only `lo`, up;
   * - `'host'`: the host's network (an explicit loosening);
   * - `{ path }` / `{ fd }`: join an existing network namespace;
   * - `'bridge'` or `{ bridge, subnet, address, interface, reach }`: a new
   *   namespace with a veth pair whose host end sits on a bridge, an IPv4
   *   address and a default route via the bridge, set up over netlink by the
   *   parent and gone when the box ends. Needs a root caller. By default the
   *   box reaches only the bridge's address. See BridgeNetworkOptions.
   */
  readonly network?: NetworkOption;
  /**
   * The payload's seccomp filter. Default: cordon's default profile, which
   * refuses what a tenant never needs (kernel modules, kexec, reboot, swap,
   * bpf, perf_event_open, the keyring, userfaultfd, fanotify_init, io_uring,
   * open_by_handle_at, clock changes, mount and namespace calls, TIOCSTI and
   * TIOCLINUX ioctls, ...) with EPERM. `allow` and `deny` adjust it,
   * `mode: 'allowlist'` inverts it; `false` installs none. The filter is
   * compiled once per policy in the parent and installed right before the
   * payload's execve. The init (when there is one) has its own filter,
   * stricter, whatever this says.
   */
  readonly seccomp?: SeccompPolicy | false;
  /**
   * Take the box's network namespace from a pool made by
   * createNamespacePool(), instead of making one during the spawn (about
   * 0.4 ms). A `'user+net'` pool also gives the box its user namespace: the
   * box's id maps must be the pool's, and its pid namespace must not be new.
   * A `'net'` pool serves a root caller's boxes with `namespaces.user: 'host'`.
   * `namespaces.net` must be left `'new'`. Each box gets a fresh entry (never
   * reused); when the pool is empty the box makes its own, as without a pool.
   */
  readonly netnsPool?: NamespacePool;
}

/**
 * Every key of SpawnIsolatedOptions, for the check of unknown options
 * (lib/validate.ts). It does not compile while a key is missing: an option
 * is added here, beside its declaration, and nowhere else in validate.ts.
 */
export const OPTION_NAMES = [
  'namespaces', 'uidMap', 'gidMap', 'uid', 'gid', 'allowHostCredentials', 'hostname', 'init', 'env', 'cwd',
  'argv0', 'stdio', 'stdioPipes', 'timeout', 'killSignal', 'signal', 'dieWithParent', 'newSession', 'tty', 'startGate', 'rootfs', 'mounts', 'tmpSize', 'cgroup', 'cgroupParent', 'groups', 'capabilities', 'allowNewPrivileges',
  'rlimits', 'umask', 'nice', 'oomScoreAdj', 'kernelCounters', 'sysctl', 'userNamespaceOwner', 'landlock', 'listen', 'seccomp', 'network', 'netnsPool',
  // child_process options with the same meaning here: `shell` (only false:
  // cordon runs no shell) and `windowsHide` (ignored on Linux, as by Node).
  'shell', 'windowsHide',
] as const satisfies readonly (keyof SpawnIsolatedOptions)[];
/** Fails to compile while a key of SpawnIsolatedOptions is missing from OPTION_NAMES. */
const everyOptionNamed: Exclude<keyof SpawnIsolatedOptions, (typeof OPTION_NAMES)[number]> extends never ? true : never = true;
void everyOptionNamed;

/**
 * The box's root filesystem (needs a new mount namespace). The box always
 * gets a fresh `/proc` (a bind of the host's when the pid namespace is the
 * host's), a minimal `/dev` and a private tmpfs `/tmp` on top.
 * - `'host'` (the default): a root of the box's own, read-only, that shows
 *   only the host's system directories: `/usr`, `/bin`, `/sbin`, `/lib`,
 *   `/lib32`, `/lib64`, `/libx32`, `/etc`, `/opt`, `/nix`, `/snap` (those the
 *   host has) bound read-only, nosuid and nodev with what is mounted beneath
 *   them, top-level symbolic links among them kept as links. Every other
 *   top-level directory of the host (its state, its users' files, a
 *   platform's `/work` or `/data`, one the host adds later) is absent or
 *   empty: `/run` is a fresh writable tmpfs (`tmpSize`); `/home`, `/root`,
 *   `/var` (but for the links `tmp`, `run`, `lock`), `/srv`, `/mnt`,
 *   `/media` and `/boot` are empty read-only directories; the caller's home
 *   (`$HOME` and the passwd entry's) is hidden under an empty tmpfs when it
 *   lies under a system directory (unless `/` or a system directory); `/sys`
 *   is a fresh read-only sysfs with a network namespace of the box's own
 *   (else empty), its `/sys/fs/cgroup` empty or, with a `cgroup`, the box's
 *   own v2 cgroup. No host Unix socket outside the system directories has a
 *   path in the box; those the supervisor's `/proc/net/unix` lists under
 *   them at the spawn are masked. `mounts` may bind anything back; a target
 *   the box does not have (`/work/app`) is made in its root.
 * - `{ dir }`: an unpacked image, read-only unless `writable: true`.
 * - `{ layers, upper }`: read-only template directories shared by many boxes
 *   (top-most first) under a writable upper layer, with overlayfs: `'tmpfs'`
 *   (ephemeral, at most `upperSize` bytes) or `{ dir }`, a persistent
 *   per-tenant directory whose `upper/` and `work/` cordon creates if missing.
 *   A tenant writes below `dir`, so cordon resolves `dir`, `upper` and `work`
 *   without following symlinks (a link anywhere in them fails the box with
 *   ELOOP; give the real path, e.g. `fs.realpathSync`), refuses an `upper`
 *   or `work` another user owns (EPERM: they must belong to the box's root,
 *   as the host sees it, or be made by cordon), and closes `dir` to everyone
 *   but its owner and the box's root (0700 when the box's root owns it, else
 *   its group becomes the box root's and its mode 0710): `upper` is the box's
 *   `/` (0755), so `dir` is what keeps the tenant's files private. `dir`
 *   must exist and belong to the box's root or to the caller. Template
 *   layers are the caller's and may be reached through symlinks. The box's
 *   mountinfo names the layers by neutral staging names, never host paths.
 */
export type RootfsOption =
  | 'host'
  | { readonly dir: string; readonly writable?: boolean }
  | {
      readonly layers: readonly string[];
      /**
       * `quota` (root callers): the layer lives in an ext4 image
       * `<dir>/upper.img` of `quota.bytes`, with `quota.inodes` files at
       * most, enforced by the kernel (ENOSPC); see UpperQuota.
       */
      readonly upper: 'tmpfs' | { readonly dir: string; readonly quota?: UpperQuota };
      /** Size limit of a tmpfs upper, in bytes. Default 64 MiB. */
      readonly upperSize?: number;
      /**
       * Idmapped template layers (root callers, a new user namespace): each
       * layer is mounted with the box's own uid and gid maps as its
       * idmapping, so what host root owns in a template shows as the box's
       * root (and uid 33 as the box's uid 33), and the box's root can create
       * in a template directory (`/var/tmp`, `/etc/newdir`: copied up into its
       * upper layer). Without it a template owned by host root shows as
       * `nobody` and its directories are closed to the box. Default false.
       */
      readonly idmapLayers?: boolean;
    };

interface MountTarget {
  /** Absolute path inside the box; resolved inside its root, never through a symlink out of it. */
  readonly target: string;
}

/** A host path (file or directory) seen at `target`. Read-only unless `readonly: false`. */
export interface BindMount extends MountTarget {
  readonly type: 'bind';
  /**
   * Absolute host path. Resolved without following symlinks: a symlink in
   * any component fails the box with ELOOP (step `mounts[i] bind`), since a
   * tenant that can write below the source could point it at another
   * tenant's files. Give the real path, or set `followSymlinks`.
   */
  readonly source: string;
  /**
   * Follow symlinks in `source` (e.g. `/lib` on a merged-/usr host). Only
   * for a source no tenant can write to, or a link it can plant is followed
   * too. Default false.
   */
  readonly followSymlinks?: boolean;
  /** Default true. */
  readonly readonly?: boolean;
  /** Also bind the mounts beneath `source`. Default true. */
  readonly recursive?: boolean;
  /** Forbid exec from it. Default false. */
  readonly noexec?: boolean;
  /** Allow device nodes (nodev is the default). */
  readonly devices?: boolean;
  /**
   * An idmapped mount: files the host uid/gid here own appear owned by the
   * box's uid/gid inside, and files the box creates get them on disk (a
   * tenant's files, owned by its host uid, used by the box's user). Needs a
   * root caller, a new user namespace and a filesystem that supports it
   * (probe().idmappedMounts).
   */
  readonly idmap?: { readonly uid: number; readonly gid: number };
}

/** A fresh tmpfs. */
export interface TmpfsMount extends MountTarget {
  readonly type: 'tmpfs';
  /** Bytes. Default: the kernel's (half of RAM); cordon's own /tmp, /dev/shm and /run use `tmpSize`. */
  readonly size?: number;
  /** Permission bits of its root. Default 0o755. */
  readonly mode?: number;
  /** Owner of its root, as ids inside the box. */
  readonly uid?: number;
  readonly gid?: number;
  readonly readonly?: boolean;
}

/** Another proc filesystem (the box has one at /proc already). */
export interface ProcMount extends MountTarget {
  readonly type: 'proc';
  /** hidepid: `'invisible'` hides other users' processes. Default `'off'`. */
  readonly hidepid?: 'off' | 'noaccess' | 'invisible';
}

/** sysfs, read-only (needs a new net namespace). */
export interface SysfsMount extends MountTarget {
  readonly type: 'sysfs';
}

/** A POSIX message queue filesystem (needs a new ipc namespace). */
export interface MqueueMount extends MountTarget {
  readonly type: 'mqueue';
}

/** A symbolic link at `target` whose content is `linkTo`. */
export interface SymlinkMount extends MountTarget {
  readonly type: 'symlink';
  readonly linkTo: string;
}

/** A file with the given content (e.g. /etc/hosts, /etc/passwd), read-only in the box. */
export interface FileMount extends MountTarget {
  readonly type: 'file';
  readonly content: string;
  /** Default 0o644. */
  readonly mode?: number;
}

/** Makes `target` and everything under it read-only. */
export interface RemountReadOnly extends MountTarget {
  readonly type: 'remount-ro';
}

/** Hides a file (an empty file over it) or a directory (an empty read-only tmpfs over it). */
export interface MaskMount extends MountTarget {
  readonly type: 'mask';
  /**
   * Skip a target the box does not have (or cannot reach) instead of
   * failing: nothing there to hide. For lists written for many kernels,
   * like an OCI config's `maskedPaths` (`/proc/timer_stats`). Default false.
   */
  readonly ifExists?: boolean;
}

export type MountEntry =
  | BindMount
  | TmpfsMount
  | ProcMount
  | SysfsMount
  | MqueueMount
  | SymlinkMount
  | FileMount
  | RemountReadOnly
  | MaskMount;
