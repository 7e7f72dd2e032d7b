// A running box's cgroup(s): placement of its processes, accounting, OOM
// events, whole-box kill, freeze and removal. Made by createBoxCgroup
// (./create.ts), or over directories that exist already (BoxCgroup.existing).
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Ledger } from '../internal/resources';
import {
  CgroupError,
  delay,
  fsFailure,
  parseKeyValues,
  readOptional,
  readPids,
  sleepSync,
  unsupported,
  writeCgroupFile,
} from './fsio';
import type { CgroupLimits, LogicalController } from './limits';
import type { V1Parent } from './parent';

export interface CgroupStats {
  /** Bytes: v2 memory.current / memory.peak (Linux 5.19; null before); v1 memory.usage_in_bytes / max_usage_in_bytes. */
  memory: { current: number; peak: number | null } | null;
  /** µs: v2 cpu.stat user_usec / system_usec; v1 cpuacct.usage_user / usage_sys (or cpuacct.stat ticks). */
  cpu: { userUsec: number; systemUsec: number } | null;
  /** pids.current. */
  pids: { current: number } | null;
  /** Bytes, summed over devices: v2 io.stat rbytes/wbytes; v1 blkio.throttle.io_service_bytes(_recursive) Read/Write. */
  io: { readBytes: number; writeBytes: number } | null;
}

export interface OomCounts {
  /** Times the box hit its memory limit and the OOM killer ran (v2 memory.events `oom`; v1: same as oomKill). */
  oom: number;
  /** Processes of the box killed by the OOM killer (v2 memory.events `oom_kill`; v1 memory.oom_control `oom_kill`, Linux 4.13). */
  oomKill: number;
}

export interface OomEvent extends OomCounts {
  /** oom_kill increase since the last event. */
  newOomKills: number;
}

export interface OomWatcher {
  /** `inotify`: fs.watch on v2 memory.events; `poll`: reading the counters every intervalMs. */
  readonly method: 'inotify' | 'poll';
  close(): void;
}

export interface KillReport {
  /** `cgroup.kill` (v2, Linux 5.14), `freeze-kill` (freeze, SIGKILL each process, thaw), `sweep` (SIGKILL each process in rounds, no freezer). */
  method: 'cgroup.kill' | 'freeze-kill' | 'sweep';
  /** Processes signalled one by one (0 for cgroup.kill). */
  signalled: number;
  /** The freeze did not complete within the bound (the kill went ahead anyway). */
  freezeTimedOut?: boolean;
}

export interface RemoveReport {
  /** Every directory is gone. */
  removed: boolean;
  /** The directories removed by this call. */
  dirs: string[];
  /** Those that stayed, and why (errno name). */
  remaining: { dir: string; code: string }[];
  /** Attempts made. */
  attempts: number;
}

export interface AttachTarget {
  /** `v2`, or the v1 controllers of the hierarchy (`memory`, `cpu,cpuacct`). */
  hierarchy: string;
  /** The cgroup.procs file that must receive the pid, or with `self` the v1 `tasks` file the box child writes "0" to. */
  path: string;
  /** The box child joins it itself (a v1 hierarchy: see openAttachFds). */
  self?: boolean;
}

export type Placement = 'v2' | 'v1';

export function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

/** Every cgroup directory at and below `dir`, deepest first. */
function treeDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (entry.isDirectory()) out.push(...treeDeepestFirst(path.join(dir, entry.name)));
  }
  out.push(dir);
  return out;
}

function killPid(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // ESRCH: gone already
  }
}

export interface V1Box {
  controllers: string[];
  /** The parent it was made under (undefined for a box cgroup that existed already: BoxCgroup.existing). */
  parent?: V1Parent;
  dir: string;
}

/** A box's cgroup(s). Create with createBoxCgroup(). */
export class BoxCgroup {
  /** The box cgroup's name (one path component, the same in every hierarchy). */
  readonly name: string;
  /** The v2 box cgroup, when v2 is used (placement, kill, freeze; limits of controllers v2 offers). */
  readonly v2Dir: string | undefined;
  /** v1 box cgroups, one per hierarchy joined. */
  readonly v1: readonly { controllers: readonly string[]; dir: string }[];
  /** Where each joined controller lives. */
  readonly placement: Readonly<Record<string, Placement>>;
  /** Accounting controllers that could not be joined, and why. */
  readonly skipped: readonly { controller: string; reason: string }[];
  /** The limits written. */
  readonly limits: CgroupLimits;
  /** Whether attach() writes the v2 cgroup.procs by default (false when the box was made for CLONE_INTO_CGROUP). */
  readonly attachesV2ByDefault: boolean;
  /** The background removal started by release(), when it could not finish at once. */
  removal: Promise<RemoveReport> | undefined;

  private fd: number;
  private gone = false;

  /** @internal */
  constructor(init: {
    name: string;
    v2Dir: string | undefined;
    v1: V1Box[];
    placement: Record<string, Placement>;
    skipped: { controller: string; reason: string }[];
    limits: CgroupLimits;
    fd: number;
  }) {
    this.name = init.name;
    this.v2Dir = init.v2Dir;
    this.v1 = init.v1.map((entry) => ({ controllers: entry.controllers, dir: entry.dir }));
    this.placement = init.placement;
    this.skipped = init.skipped;
    this.limits = init.limits;
    this.fd = init.fd;
    this.attachesV2ByDefault = init.v2Dir !== undefined && init.fd < 0;
  }

  /**
   * A BoxCgroup over directories that exist already (a box of a dead
   * supervisor, a tenant cgroup): placement read from the hierarchies, no
   * directory fd. Used to read, kill and remove what cordon made earlier.
   */
  static existing(name: string, v2Dir: string | undefined, v1: readonly { controllers: readonly string[]; dir: string }[]): BoxCgroup {
    const placement: Record<string, Placement> = {};
    for (const entry of v1) for (const controller of entry.controllers) placement[controller] = 'v1';
    if (v2Dir !== undefined) for (const controller of words(readOptional(`${v2Dir}/cgroup.controllers`))) placement[controller] = 'v2';
    const v1Boxes: V1Box[] = v1.map((entry) => ({ controllers: [...entry.controllers], dir: entry.dir }));
    return new BoxCgroup({ name, v2Dir, v1: v1Boxes, placement, skipped: [], limits: {}, fd: -1 });
  }

  /** The v2 directory fd (O_RDONLY|O_DIRECTORY|O_CLOEXEC) for clone3's CLONE_INTO_CGROUP, or -1. */
  get dirFd(): number {
    return this.fd;
  }

  /** Closes the directory fd (once the clone is done). Idempotent. */
  closeDirFd(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    fs.closeSync(fd);
  }

  /** Every directory of the box, v2 first. */
  get dirs(): string[] {
    return [...(this.v2Dir === undefined ? [] : [this.v2Dir]), ...this.v1.map((entry) => entry.dir)];
  }

  /** The directory of the hierarchy a v1 controller lives in. */
  v1Dir(controller: string): string | undefined {
    return this.v1.find((entry) => entry.controllers.includes(controller))?.dir;
  }

  /**
   * The cgroup.procs files a new box process must be written to. v1 ones
   * always; the v2 one when `v2` is true (the clone could not use
   * CLONE_INTO_CGROUP), by default only when the box has no directory fd.
   */
  attachTargets(options: { v2?: boolean; selfJoin?: boolean } = {}): AttachTarget[] {
    const targets: AttachTarget[] = [];
    if (this.v2Dir !== undefined && (options.v2 ?? this.attachesV2ByDefault)) {
      targets.push({ hierarchy: 'v2', path: `${this.v2Dir}/cgroup.procs` });
    }
    for (const entry of this.v1) {
      const hierarchy = entry.controllers.join(',');
      targets.push(options.selfJoin === true ? { hierarchy, path: `${entry.dir}/tasks`, self: true } : { hierarchy, path: `${entry.dir}/cgroup.procs` });
    }
    return targets;
  }

  /**
   * Opens the attach targets (O_WRONLY|O_CLOEXEC) so that a native parent
   * step can write the pid into them without resolving paths in the window.
   * Registered with the ledger (as `cgroup.procs <hierarchy>`) when given.
   * The v1 ones are the `tasks` files, which the box child (never one that
   * shares Node's memory) writes "0" to itself: the kernel moves a thread
   * that moves itself without the global threadgroup lock, whose RCU grace
   * period a write of another process's pid waits for (1–11 ms here, more
   * the larger Node's memory; benchmarks/heap-growth.js). The kernel checks
   * the credentials of this open, not the child's.
   */
  openAttachFds(options: { v2?: boolean } = {}, ledger?: Ledger): (AttachTarget & { fd: number })[] {
    const opened: (AttachTarget & { fd: number })[] = [];
    try {
      for (const target of this.attachTargets({ ...options, selfJoin: true })) {
        let fd: number;
        try {
          fd = fs.openSync(target.path, fs.constants.O_WRONLY);
        } catch (error) {
          throw fsFailure(error, 'open', `attach to ${target.hierarchy} cgroup`, target.path, target.hierarchy);
        }
        opened.push({ ...target, fd });
        ledger?.fd(`cgroup.procs ${target.hierarchy}`, fd);
      }
    } catch (error) {
      if (ledger === undefined) for (const entry of opened) fs.closeSync(entry.fd);
      throw error;
    }
    return opened;
  }

  /**
   * Moves process `pid` into the box: writes it to each attach target
   * (v1: every hierarchy; v2: see attachTargets). Must run before the process
   * forks or execs anything: in cordon, in the parent's window between clone
   * and the child's "go". A v1 cgroup.procs write can take ~17 ms at p99
   * (it waits for an RCU grace period): keep it off v2 hosts' latency path.
   */
  attach(pid: number, options: { v2?: boolean } = {}): void {
    if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`cordon: attach needs a pid, got ${String(pid)}`);
    for (const target of this.attachTargets(options)) {
      writeCgroupFile(target.path, String(pid), `attach to ${target.hierarchy} cgroup`, target.hierarchy);
    }
  }

  /** The processes in the box, in any of its cgroups (and any cgroup below them). */
  procs(): number[] {
    return this.procsIn(this.dirs);
  }

  /** Whether any process is in the box (v2 cgroup.events `populated`, or any v1 cgroup.procs). */
  populated(): boolean {
    if (this.v2Dir !== undefined) {
      const events = parseKeyValues(readOptional(`${this.v2Dir}/cgroup.events`));
      if (events.get('populated') === 1) return true;
      if (events.has('populated')) return this.procsIn(this.v1.map((entry) => entry.dir)).length > 0;
    }
    return this.procs().length > 0;
  }

  private dirOf(controller: LogicalController | 'cpuacct'): string | undefined {
    const where = this.placement[controller === 'io' && this.placement.io === undefined ? 'blkio' : controller];
    if (where === 'v2') return this.v2Dir;
    if (where === 'v1') return this.v1Dir(controller === 'io' ? 'blkio' : controller);
    return undefined;
  }

  /** Resource use so far; a section is null when its controller was not joined. */
  stats(): CgroupStats {
    const stats: CgroupStats = { memory: null, cpu: null, pids: null, io: null };
    const memoryDir = this.dirOf('memory');
    if (memoryDir !== undefined) {
      const v2 = this.placement.memory === 'v2';
      const current = readOptional(`${memoryDir}/${v2 ? 'memory.current' : 'memory.usage_in_bytes'}`);
      const peak = readOptional(`${memoryDir}/${v2 ? 'memory.peak' : 'memory.max_usage_in_bytes'}`);
      if (current !== undefined) stats.memory = { current: Number(current), peak: peak === undefined ? null : Number(peak) };
    }
    if (this.v2Dir !== undefined) {
      // cpu.stat is a core v2 file: it counts without the cpu controller.
      const cpu = parseKeyValues(readOptional(`${this.v2Dir}/cpu.stat`));
      if (cpu.has('user_usec')) stats.cpu = { userUsec: cpu.get('user_usec')!, systemUsec: cpu.get('system_usec') ?? 0 };
    }
    const cpuacct = this.v1Dir('cpuacct');
    if (stats.cpu === null && cpuacct !== undefined) {
      const user = readOptional(`${cpuacct}/cpuacct.usage_user`);
      const system = readOptional(`${cpuacct}/cpuacct.usage_sys`);
      if (user !== undefined && system !== undefined) {
        stats.cpu = { userUsec: Math.floor(Number(user) / 1000), systemUsec: Math.floor(Number(system) / 1000) };
      } else {
        // cpuacct.stat counts USER_HZ ticks (100 per second on every Linux ABI).
        const ticks = parseKeyValues(readOptional(`${cpuacct}/cpuacct.stat`));
        if (ticks.has('user')) stats.cpu = { userUsec: ticks.get('user')! * 10_000, systemUsec: (ticks.get('system') ?? 0) * 10_000 };
      }
    }
    const pidsDir = this.dirOf('pids');
    if (pidsDir !== undefined) {
      const current = readOptional(`${pidsDir}/pids.current`);
      if (current !== undefined) stats.pids = { current: Number(current) };
    }
    const ioDir = this.dirOf('io');
    if (ioDir !== undefined) {
      if (this.placement.io === 'v2') {
        const text = readOptional(`${ioDir}/io.stat`);
        if (text !== undefined) {
          let readBytes = 0;
          let writeBytes = 0;
          for (const match of text.matchAll(/\brbytes=(\d+)/g)) readBytes += Number(match[1]);
          for (const match of text.matchAll(/\bwbytes=(\d+)/g)) writeBytes += Number(match[1]);
          stats.io = { readBytes, writeBytes };
        }
      } else {
        const text = readOptional(`${ioDir}/blkio.throttle.io_service_bytes_recursive`) ?? readOptional(`${ioDir}/blkio.throttle.io_service_bytes`);
        if (text !== undefined) {
          let readBytes = 0;
          let writeBytes = 0;
          for (const line of text.split('\n')) {
            const [, kind, value] = line.trim().split(/\s+/);
            if (kind === 'Read') readBytes += Number(value);
            if (kind === 'Write') writeBytes += Number(value);
          }
          stats.io = { readBytes, writeBytes };
        }
      }
    }
    return stats;
  }

  /** OOM counters, or null without a memory controller. */
  oomEvents(): OomCounts | null {
    const dir = this.dirOf('memory');
    if (dir === undefined) return null;
    if (this.placement.memory === 'v2') {
      const events = parseKeyValues(readOptional(`${dir}/memory.events`));
      if (!events.has('oom_kill')) return null;
      return { oom: events.get('oom') ?? 0, oomKill: events.get('oom_kill')! };
    }
    // v1: memory.oom_control has an oom_kill counter since Linux 4.13, and no
    // count of OOM episodes (under_oom is a state; failcnt counts limit hits).
    const control = parseKeyValues(readOptional(`${dir}/memory.oom_control`));
    if (!control.has('oom_kill')) return null;
    return { oom: control.get('oom_kill')!, oomKill: control.get('oom_kill')! };
  }

  /** Whether the OOM killer killed a process of the box. */
  oomKilled(): boolean {
    return (this.oomEvents()?.oomKill ?? 0) > 0;
  }

  /**
   * Calls `listener` when the OOM killer has killed (oom_kill rises). v2: fs.watch on
   * memory.events (the kernel notifies cgroup2 event files like inotify
   * modifications), polling if the watch cannot be set up. v1: polling
   * memory.oom_control's oom_kill counter every intervalMs (default 100):
   * the v1 notification API (cgroup.event_control with an eventfd) needs an
   * eventfd, which Node cannot create without native code. The watcher does
   * not keep the event loop alive.
   */
  watchOom(listener: (event: OomEvent) => void, options: { intervalMs?: number } = {}): OomWatcher {
    const dir = this.dirOf('memory');
    if (dir === undefined) throw unsupported('memory', 'the box has no memory controller: nothing to watch for OOM events');
    let last = this.oomEvents() ?? { oom: 0, oomKill: 0 };
    // memory.events counts the OOM (`oom`) before its kill (`oom_kill`):
    // report once the kill is counted, so an event always carries it.
    const check = (): void => {
      const now = this.oomEvents();
      if (now === null || now.oomKill <= last.oomKill) return;
      const event: OomEvent = { ...now, newOomKills: now.oomKill - last.oomKill };
      last = now;
      listener(event);
    };
    if (this.placement.memory === 'v2') {
      try {
        const watcher = fs.watch(`${dir}/memory.events`, { persistent: false }, check);
        watcher.on('error', () => {});
        return { method: 'inotify', close: () => watcher.close() };
      } catch {
        // fall back to polling
      }
    }
    const timer = setInterval(check, options.intervalMs ?? 100);
    timer.unref();
    return { method: 'poll', close: () => clearInterval(timer) };
  }

  private freezeFileV2(): string | undefined {
    if (this.v2Dir === undefined) return undefined;
    return fs.existsSync(`${this.v2Dir}/cgroup.freeze`) ? `${this.v2Dir}/cgroup.freeze` : undefined;
  }

  private isFrozen(): boolean | undefined {
    if (this.freezeFileV2() !== undefined) return parseKeyValues(readOptional(`${this.v2Dir}/cgroup.events`)).get('frozen') === 1;
    const freezer = this.v1Dir('freezer');
    if (freezer !== undefined) return readOptional(`${freezer}/freezer.state`) === 'FROZEN';
    return undefined;
  }

  /** Whether the box is frozen (undefined: no freezer). */
  frozen(): boolean | undefined {
    return this.isFrozen();
  }

  private writeFreeze(freeze: boolean): void {
    const v2 = this.freezeFileV2();
    if (v2 !== undefined) {
      writeCgroupFile(v2, freeze ? '1' : '0', freeze ? 'freeze' : 'thaw');
      return;
    }
    const freezer = this.v1Dir('freezer');
    if (freezer === undefined) {
      throw unsupported('freezer', 'the box has neither a v2 cgroup with cgroup.freeze (Linux 5.2) nor a v1 freezer cgroup');
    }
    writeCgroupFile(`${freezer}/freezer.state`, freeze ? 'FROZEN' : 'THAWED', freeze ? 'freeze' : 'thaw', 'freezer');
  }

  private async waitFrozen(want: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let watcher: fs.FSWatcher | undefined;
    let wake: (() => void) | undefined;
    if (this.freezeFileV2() !== undefined) {
      try {
        watcher = fs.watch(`${this.v2Dir}/cgroup.events`, { persistent: false }, () => wake?.());
        watcher.on('error', () => {});
      } catch {
        watcher = undefined;
      }
    }
    try {
      while (this.isFrozen() !== want) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new CgroupError('ETIMEDOUT', `cordon: the box did not become ${want ? 'frozen' : 'thawed'} within ${timeoutMs} ms`, {
            errno: -110, syscall: 'read', step: want ? 'freeze' : 'thaw', path: this.v2Dir ?? this.v1Dir('freezer') ?? '',
          });
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, watcher === undefined ? 10 : 50));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      watcher?.close();
    }
  }

  /** Freezes every process of the box; resolves once the kernel reports it frozen. */
  async freeze(options: { timeoutMs?: number } = {}): Promise<void> {
    this.writeFreeze(true);
    await this.waitFrozen(true, options.timeoutMs ?? 5000);
  }

  /** Thaws the box; resolves once the kernel reports it thawed. */
  async thaw(options: { timeoutMs?: number } = {}): Promise<void> {
    this.writeFreeze(false);
    await this.waitFrozen(false, options.timeoutMs ?? 5000);
  }

  private freezeSync(timeoutMs: number): boolean {
    this.writeFreeze(true);
    const deadline = Date.now() + timeoutMs;
    let pause = 0.2;
    while (this.isFrozen() !== true) {
      if (Date.now() > deadline) return false;
      sleepSync(pause);
      pause = Math.min(pause * 2, 10);
    }
    return true;
  }

  private signalAll(dirs: readonly string[]): number {
    let signalled = 0;
    for (const dir of dirs) {
      for (const sub of treeDeepestFirst(dir)) {
        for (const pid of readPids(`${sub}/cgroup.procs`)) if (killPid(pid)) signalled += 1;
      }
    }
    return signalled;
  }

  /**
   * SIGKILLs every process of the box, double-forked daemons included.
   * v2 with cgroup.kill (Linux 5.14): one write, atomic against forks.
   * Else freeze (v2 cgroup.freeze or the v1 freezer), SIGKILL each pid in
   * cgroup.procs (frozen processes cannot fork or exit, so no pid is
   * recycled in between), thaw. Without any freezer: rounds of SIGKILL until
   * the box is empty or `rounds` pass (a process forking between the read and
   * the kill could escape one round; pids.max bounds a fork bomb).
   * Synchronous: returns once every signal is sent; await drained() for the
   * processes to be gone.
   */
  kill(options: { freezeTimeoutMs?: number; rounds?: number } = {}): KillReport {
    if (this.gone) return { method: 'sweep', signalled: 0 };
    const v1Dirs = this.v1.map((entry) => entry.dir);
    if (this.v2Dir !== undefined && fs.existsSync(`${this.v2Dir}/cgroup.kill`)) {
      // A process attached to v1 only (a caller that skipped the v2 attach)
      // would escape cgroup.kill: sweep v1 for strays.
      const inV2 = new Set(this.procsIn([this.v2Dir]));
      const strays = this.procsIn(v1Dirs).filter((pid) => !inV2.has(pid));
      writeCgroupFile(`${this.v2Dir}/cgroup.kill`, '1', 'kill');
      let signalled = 0;
      for (const pid of strays) if (killPid(pid)) signalled += 1;
      return { method: 'cgroup.kill', signalled };
    }
    const hasFreezer = this.freezeFileV2() !== undefined || this.v1Dir('freezer') !== undefined;
    const dirs = this.v2Dir !== undefined ? [this.v2Dir, ...v1Dirs] : v1Dirs;
    if (hasFreezer) {
      const frozen = this.freezeSync(options.freezeTimeoutMs ?? 1000);
      let signalled = 0;
      try {
        signalled = this.signalAll(dirs);
      } finally {
        this.writeFreeze(false);
      }
      // If the freeze did not complete, a fork may have slipped through.
      if (!frozen) signalled += this.sweep(dirs, options.rounds ?? 20);
      return frozen ? { method: 'freeze-kill', signalled } : { method: 'freeze-kill', signalled, freezeTimedOut: true };
    }
    return { method: 'sweep', signalled: this.sweep(dirs, options.rounds ?? 20) };
  }

  private procsIn(dirs: readonly string[]): number[] {
    const pids = new Set<number>();
    for (const dir of dirs) for (const sub of treeDeepestFirst(dir)) for (const pid of readPids(`${sub}/cgroup.procs`)) pids.add(pid);
    return [...pids];
  }

  private sweep(dirs: readonly string[], rounds: number): number {
    let signalled = 0;
    for (let round = 0; round < rounds; round++) {
      const pids = this.procsIn(dirs);
      if (pids.length === 0) break;
      for (const pid of pids) if (killPid(pid)) signalled += 1;
      sleepSync(2);
    }
    return signalled;
  }

  /** Resolves true once no process is left in the box (false after timeoutMs). */
  async drained(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let pause = 1;
    while (this.populated()) {
      if (Date.now() > deadline) return false;
      await delay(pause);
      pause = Math.min(pause * 2, 50);
    }
    return true;
  }

  /**
   * One rmdir per directory, in order, while each goes: how a box whose
   * processes have all ended (no sub-cgroups, nothing populated) is
   * removed, without reading its trees (a v1 directory lists dozens of
   * files). True when every one is gone; false at the first that stays
   * (EBUSY: processes or sub-cgroups left), for the caller's long way,
   * which kills what is left and finds those removed already gone.
   */
  private removeEmpty(): boolean {
    for (const dir of this.dirs) {
      try {
        fs.rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      }
    }
    this.gone = true;
    return true;
  }

  private tryRemove(dir: string): { done: boolean; code?: string } {
    for (const sub of treeDeepestFirst(dir)) {
      try {
        fs.rmdirSync(sub);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
        if (code === 'ENOENT') continue;
        return { done: false, code };
      }
    }
    return { done: true };
  }

  /**
   * Removes the box's cgroup directories (and any a payload made below
   * them). Kills what is left first (unless `kill: false`), then retries
   * rmdir with backoff while the cgroup drains (EBUSY), up to timeoutMs
   * (default 5000). Resolves with a report; never rejects.
   */
  async remove(options: { timeoutMs?: number; kill?: boolean } = {}): Promise<RemoveReport> {
    this.closeDirFd();
    if (this.gone) return { removed: true, dirs: [], remaining: [], attempts: 0 };
    if (options.kill !== false && !this.gone && this.populated()) {
      try {
        this.kill();
      } catch {
        // the rmdir attempts below report what stays
      }
    }
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    const report: RemoveReport = { removed: false, dirs: [], remaining: [], attempts: 0 };
    let pending = this.dirs;
    let pause = 1;
    for (;;) {
      report.attempts += 1;
      const left: { dir: string; code: string }[] = [];
      // v1 freezer last: a frozen cgroup must not outlive the processes it holds.
      for (const dir of pending) {
        const result = this.tryRemove(dir);
        if (result.done) report.dirs.push(dir);
        else left.push({ dir, code: result.code ?? 'EIO' });
      }
      pending = left.map((entry) => entry.dir);
      report.remaining = left;
      const retryable = left.every((entry) => entry.code === 'EBUSY' || entry.code === 'ENOTEMPTY');
      if (left.length === 0 || !retryable || Date.now() >= deadline) break;
      await delay(pause);
      pause = Math.min(pause * 2, 100);
    }
    report.removed = report.remaining.length === 0;
    if (report.removed) this.gone = true;
    return report;
  }

  /**
   * Kills what is left and removes the directories, waiting synchronously
   * (up to timeoutMs) for the processes to leave: for `process.on('exit')`,
   * where no timer will run again. Returns whether everything is gone.
   */
  releaseSync(timeoutMs = 2000): boolean {
    this.closeDirFd();
    if (this.gone || this.removeEmpty()) return true;
    try {
      if (this.populated()) this.kill();
    } catch {
      // the rmdir attempts below say what stays
    }
    const deadline = Date.now() + timeoutMs;
    let pending = this.dirs;
    let pause = 0.5;
    for (;;) {
      pending = pending.filter((dir) => !this.tryRemove(dir).done);
      if (pending.length === 0) {
        this.gone = true;
        return true;
      }
      if (Date.now() >= deadline) return false;
      sleepSync(pause);
      pause = Math.min(pause * 2, 20);
    }
  }

  /**
   * What the ledger calls: close the fd, kill what is left, try to remove
   * the directories now; if the box is still draining, go on in the
   * background (`removal`), emitting a process warning
   * (`CORDON_CGROUP_LEFT_BEHIND`) if it cannot finish within the bound.
   */
  release(): void {
    this.closeDirFd();
    if (this.gone || this.removeEmpty()) return;
    if (this.populated()) this.kill();
    const left = this.dirs.filter((dir) => !this.tryRemove(dir).done);
    if (left.length === 0) {
      this.gone = true;
      return;
    }
    this.removal = this.remove({ kill: false }).then((report) => {
      if (!report.removed) {
        process.emitWarning(
          `cordon: cgroup ${this.name} could not be removed: ${report.remaining.map((entry) => `${entry.dir} (${entry.code})`).join(', ')}`,
          { code: 'CORDON_CGROUP_LEFT_BEHIND' },
        );
      }
      return report;
    });
  }
}
