// Cgroup-namespace helpers started ahead of the spawns (issue 15). A box
// that joins its cgroup late (lib/cgroups/create.ts, joinsCgroupLate) gets
// its cgroup namespace from a process that stands in the box's cgroup and
// shares nothing of Node's memory: an exec of the init binary. Made in the
// spawn, that helper costs a clone and an exec of the init in every such
// box (about a fifth of a tenant box's time here, measured by leaving the
// namespace out). Started ahead, when no box has started for a moment,
// `cordon-init --cgroupns-wait` waits on a socket, and the spawn's child only
// sends it its request (TakeCgroupNamespace, native/child/cgroups.cc).
//
// C++ half: start_namespace_helper() in native/host/cgroups.cc, run on a
// set-up thread (startCgroupNamespaceHelpers in native/binding.cc: each
// start waits for the helper's exec, which the JS thread should not). Each
// helper is a child of this process, watched through its pidfd (which
// reaps it), serves one box and exits. Closing its socket (a spawn that
// failed before its request, process exit) lets it go; it dies with the
// process (a parent-death signal) and the env kills and reaps the ones
// still there at its teardown. A box whose helper gives no answer (killed,
// or stopped: 2 s) makes its own.
import { native } from '../internal/native';
import type { Ledger, LedgerEntry } from '../internal/resources';
import { initSource } from '../internal/sealed-init';
import type { NativeExitWatch } from '../../types/native';

/** At most this many wait: as many boxes as start back to back before the next quiet moment refills them. */
const HELPERS_KEPT = 4;
/** How long no box must have taken a helper before they are started again (as spare leaves, lib/cgroups/tenant.ts). */
const REFILL_QUIET_MS = 10;

interface WaitingHelper {
  pid: number;
  pidfd: number;
  socket: number;
  watch: NativeExitWatch;
}

/** A helper taken for one spawn: its socket (the spawn's ledger closes it) and its pid (tests). */
export interface TakenHelper {
  socket: number;
  pid: number;
}

const waiting: WaitingHelper[] = [];
let refill: NodeJS.Timeout | undefined;
let exitHooked = false;
let enabled = true;
let filling: Promise<void> | undefined;

/**
 * A waiting helper for one spawn, or undefined (none ready: the spawn makes
 * its own). Its socket is the spawn's alone (`spawnOnly`, released right
 * after the native spawn), and so is the refill: started once no box has
 * been set up for a moment (REFILL_QUIET_MS after this spawn's end), not
 * while one is, which on a loaded machine a fixed delay from the take
 * would land in.
 */
export function takeCgroupNamespaceHelper(ledger: Ledger, spawnOnly: LedgerEntry[]): TakenHelper | undefined {
  if (!enabled) return undefined;
  setRefill(undefined);
  spawnOnly.push(ledger.add('cgroup namespace helpers refill', scheduleRefill));
  const helper = waiting.shift();
  if (helper === undefined) return undefined;
  // The pidfd stays with its watch, which reaps the helper once it has served.
  const socket = ledger.hold('cgroup namespace helper socket', helper.socket, 'native');
  spawnOnly.push(socket);
  return { socket: socket.fd, pid: helper.pid };
}

/**
 * @internal Turns the helpers off (tests and the bench's A/B: spawns then
 * make their own) or on again; off lets the waiting ones go.
 */
export function setCgroupNamespaceHelpers(on: boolean): void {
  enabled = on;
  if (on) return;
  setRefill(undefined);
  for (const helper of waiting.splice(0)) native().closeFd(helper.socket);
}

/** @internal How many helpers wait now (tests). */
export function waitingHelperCount(): number {
  return waiting.length;
}

/** @internal The pids of the helpers waiting now (tests). */
export function waitingHelperPids(): number[] {
  return waiting.map((helper) => helper.pid);
}

/**
 * @internal Starts helpers up to the number kept, off the JS thread (each
 * start waits for the helper's exec); resolves once they wait. The refill
 * timer calls it; tests await it to have helpers ready.
 */
export function fillCgroupNamespaceHelpers(): Promise<void> {
  setRefill(undefined);
  if (filling !== undefined) return filling;
  const wanted = HELPERS_KEPT - waiting.length;
  if (wanted <= 0 || !enabled) return Promise.resolve();
  let initFd: number;
  try {
    initFd = initSource().fd;
  } catch {
    // The spawn that starts its own helper reports what fails here.
    return Promise.resolve();
  }
  filling = new Promise((resolve) => {
    native().startCgroupNamespaceHelpers(initFd, wanted, (result) => {
      // A start that failed (result.errno: the process limit, say) ends this
      // round; the next spawn's take schedules another.
      filling = undefined;
      for (const started of result.helpers) {
        if (!enabled) {
          // Turned off meanwhile: let it go (its watch reaps it).
          watchHelper(started);
          native().closeFd(started.socket);
          continue;
        }
        waiting.push(watchHelper(started));
      }
      hookExit();
      resolve();
    });
  });
  return filling;
}

function watchHelper(started: { pid: number; pidfd: number; socket: number }): WaitingHelper {
  const helper: WaitingHelper = { pid: started.pid, pidfd: started.pidfd, socket: started.socket, watch: undefined as unknown as NativeExitWatch };
  const Watch = native().ExitWatch;
  helper.watch = new Watch(started.pidfd, () => onHelperGone(helper));
  helper.watch.unref();
  return helper;
}

// Reaped (by the watch): a helper that served its box, or one that died
// while it waited (killed from outside), which no spawn may take then.
function onHelperGone(helper: WaitingHelper): void {
  helper.watch.close();
  native().closeFd(helper.pidfd);
  const at = waiting.indexOf(helper);
  if (at >= 0) {
    waiting.splice(at, 1);
    native().closeFd(helper.socket);
  }
}

function scheduleRefill(): void {
  setRefill(REFILL_QUIET_MS);
}

function setRefill(ms: number | undefined): void {
  if (refill !== undefined) clearTimeout(refill);
  refill = undefined;
  if (ms === undefined) return;
  refill = setTimeout(() => void fillCgroupNamespaceHelpers(), ms);
  refill.unref();
}

// At process exit the waiting helpers are let go (EOF on their sockets);
// the kernel would close the sockets a moment later anyway.
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    setRefill(undefined);
    for (const helper of waiting.splice(0)) {
      helper.watch.close();
      native().closeFd(helper.socket);
    }
  });
}
