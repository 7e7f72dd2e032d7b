// Bridge networking: the box's own network namespace reaches the host
// through a veth pair whose host end sits on a bridge. The parent sets it up
// over rtnetlink in its window (native/host/bridge.cc) while the child waits;
// this module validates the options, keeps the bridges and addresses this
// process leases, and releases them when boxes end.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { CordonError, errnoName, type FailedStep } from './errors';
import { checkString, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { native } from './internal/native';
import type { Ledger } from './internal/resources';
import { step, type PlanStep } from './internal/steps';
import { PLAN_ENUMS } from './internal/plan-ops';
import type { Capability } from './probe';
import { ensurePrivateDirs } from './state';

/** A box on a host bridge (see SpawnIsolatedOptions.network). */
export interface BridgeNetworkOptions {
  /**
   * The host bridge, default `'cordon0'`. If it does not exist cordon makes
   * it with `subnet` (marked with the interface alias `cordon`) and keeps it
   * for later boxes. A process holds the bridge's lock
   * (`/run/cordon/bridges`) from before it makes or looks up the bridge
   * until its last box on it has ended. At its exit it removes a bridge
   * cordon made if no other process holds the lock and no port is left on
   * it but the veths of its own boxes that die with it: boxes of another
   * supervisor sharing the bridge (a rolling restart), or of its own with
   * `dieWithParent: false`, keep it. A supervisor that starts removes the
   * cordon-made bridges nobody holds and no port uses (a SIGKILLed
   * supervisor's). A bridge cordon did not make is used as it is and never
   * removed.
   */
  readonly bridge?: string;
  /**
   * The bridge's own address and prefix (the boxes' gateway) when cordon
   * makes the bridge, default `'10.127.0.1/16'`. For an existing bridge,
   * leave it out or give the address the bridge has.
   */
  readonly subnet?: string;
  /** The box's IPv4 address; default: the next free one in the bridge's subnet (free as far as this process knows). */
  readonly address?: string;
  /** The box's interface name, default `'eth0'`. */
  readonly interface?: string;
  /**
   * What the box may reach:
   * - `'gateway'` (default): only the bridge's own address, i.e. servers on
   *   the host listening there. A filter on the host end drops everything
   *   else the box sends (other host addresses, other boxes, spoofed source
   *   addresses, IPv6).
   * - `'any'`: whatever the host routes for it (forwarding and NAT are the
   *   host's configuration, not cordon's); the source address is still checked.
   */
  readonly reach?: 'gateway' | 'any';
}

/** What a bridge box got, as `box.network` reports it. */
export interface BridgeNetworkInfo {
  bridge: string;
  /** The box's IPv4 address. */
  address: string;
  prefix: number;
  /** The bridge's address: the box's default route, and where host-side servers listen for it. */
  gateway: string;
  /** The box's interface, inside the box. */
  interface: string;
  /** The veth end on the host (gone once the box has ended). */
  hostInterface: string;
  reach: 'gateway' | 'any';
}

export interface ResolvedBridge {
  bridge: string;
  subnet: { address: number; prefix: number } | undefined;
  address: number | undefined;
  iface: string;
  reach: 'gateway' | 'any';
}

export const DEFAULT_BRIDGE = 'cordon0';
export const DEFAULT_SUBNET = '10.127.0.1/16';
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

function parseIpv4(option: string, text: string): number {
  if (net.isIPv4(text) === false) throw invalidValue(option, text, 'must be an IPv4 address');
  return text.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function checkInterfaceName(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  const name = checkString(option, value);
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    throw invalidValue(option, name, 'must be 1 to 15 letters, digits, "_", "." or "-" (a Linux interface name)');
  }
  return name;
}

function parseSubnet(option: string, value: unknown): { address: number; prefix: number } {
  const text = checkString(option, value);
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (match === null) throw invalidValue(option, text, 'must be an IPv4 address with a prefix, like 10.127.0.1/16');
  const prefix = Number(match[2]);
  if (prefix < 8 || prefix > 30) throw invalidValue(option, text, 'must have a prefix from /8 to /30');
  const address = parseIpv4(option, match[1]!);
  const host = address % 2 ** (32 - prefix);
  if (host === 0 || host === 2 ** (32 - prefix) - 1) throw invalidValue(option, text, 'must be a host address of its subnet (not the network or broadcast address)');
  return { address, prefix };
}

/** `'bridge'` or `{ bridge, subnet, address, interface, reach }`, checked. */
export function validateBridge(option: string, value: unknown): ResolvedBridge {
  value = ownSnapshot(value, option);
  if (value === 'bridge') return { bridge: DEFAULT_BRIDGE, subnet: undefined, address: undefined, iface: 'eth0', reach: 'gateway' };
  if (!isPlainObject(value)) throw invalidType(option, `'bridge' or { bridge, subnet, address, interface, reach }`, value);
  rejectUnknownKeys(value, ['bridge', 'subnet', 'address', 'interface', 'reach'], option);
  const reach = value.reach ?? 'gateway';
  if (reach !== 'gateway' && reach !== 'any') throw invalidValue(`${option}.reach`, reach, "must be 'gateway' or 'any'");
  return {
    bridge: checkInterfaceName(`${option}.bridge`, value.bridge, DEFAULT_BRIDGE),
    subnet: value.subnet === undefined ? undefined : parseSubnet(`${option}.subnet`, value.subnet),
    address: value.address === undefined ? undefined : parseIpv4(`${option}.address`, checkString(`${option}.address`, value.address)),
    iface: checkInterfaceName(`${option}.interface`, value.interface, 'eth0'),
    reach,
  };
}

/** Why this caller cannot have bridge networking, or undefined if it can. */
export function bridgeRefusal(): string | undefined {
  if (process.geteuid?.() !== 0) return 'bridge networking needs root on the host (CAP_NET_ADMIN in the initial network namespace to make veths and bridges)';
  return undefined;
}

/**
 * Whether this caller and kernel can have bridge boxes: a bridge, a veth
 * pair and the gateway-only filter are made in a throwaway network
 * namespace (nothing shows on the host).
 */
export function probeBridge(): Capability {
  const refusal = bridgeRefusal();
  if (refusal !== undefined) return { available: false, reason: refusal };
  const result = native().probeBridge();
  if (result.error === 0) return { available: true };
  const part = VETH_PARTS[result.part];
  return { available: false, reason: `${part?.syscall ?? 'netlink'} ${errnoName(result.error)}: cannot ${part?.what ?? 'set up a veth'}` };
}

interface BridgeState {
  gateway: number;
  prefix: number;
  leased: Set<number>;
  next: number;
}

// The bridges this process's boxes use, and the addresses it has handed out.
const bridges = new Map<string, BridgeState>();

/** The interface alias that marks a bridge cordon made. */
export const CORDON_BRIDGE_ALIAS = 'cordon';

// Host ends of this process's veths whose boxes die with it
// (dieWithParent): they do not keep a bridge when this process exits. One
// stays listed through the grace period after its box ends (the kernel
// removes it with the box's namespace some ms later).
const dyingWithUs = new Set<string>();
// The bridges this process has held the lock of: each is checked at its exit.
const checkedAtExit = new Set<string>();

function isCordonBridge(name: string): boolean {
  try {
    return fs.readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim() === CORDON_BRIDGE_ALIAS;
  } catch {
    return false;
  }
}

/**
 * At exit: removes a bridge cordon made when no port is left on it but
 * veths of this process's boxes, which die with it. A port of another
 * supervisor's box (sharing the bridge through a rolling restart) keeps it:
 * deleting it would take those boxes' gateway. Whichever supervisor leaves
 * it last removes it.
 */
function removeIfUnused(name: string): void {
  // This process's shared lock becomes exclusive, or the lock is taken
  // afresh (its boxes on the bridge had all ended): held by another
  // supervisor, the bridge is in use (or about to be) and stays.
  const held = heldLocks.get(name);
  heldLocks.delete(name);
  let fd = held;
  if (fd === undefined) {
    // Not made back: a file gone means a sweep removed the bridge and it.
    fd = native().lockFile(BRIDGE_LOCK_DIR, lockFileName(name), LOCK_EX | LOCK_NB, false);
    if (fd < 0) return;
  } else if (native().flockFd(fd, LOCK_EX | LOCK_NB) !== 0) {
    native().closeFd(fd);
    return;
  }
  try {
    const ports = portsOf(name);
    if (ports !== undefined && isCordonBridge(name) && ports.every((port) => dyingWithUs.has(port))) native().deleteLink(name);
    forgetLockIfDone(name, fd);
  } finally {
    native().closeFd(fd);
  }
}

function checkAtExit(name: string): void {
  if (checkedAtExit.has(name)) return;
  checkedAtExit.add(name);
  process.once('exit', () => removeIfUnused(name));
}

// ---- the bridge locks -----------------------------------------------------
//
// A bridge has no port from the moment it is made until its first veth is
// on it, and then again whenever its boxes have ended: "portless" alone
// does not tell a SIGKILLed supervisor's leftover from a bridge a live
// supervisor is about to use. So a supervisor holds a shared flock on the
// bridge's lock file from before it looks the bridge up (or makes it) until
// its last box on it has ended (its veth is then a port until it goes), and
// a sweep removes a bridge only while it holds that lock
// exclusively (non-blocking: a held lock means someone uses the bridge).
// The kernel drops a SIGKILLed holder's lock with its fds. The lock file
// stays while a cordon-made bridge exists, which is also how a sweep finds
// the bridges to look at; it goes with the bridge.

/** Where the bridge locks live: host-wide, whatever CORDON_STATE_DIR says (bridges are shared by every supervisor in the network namespace). */
export const BRIDGE_LOCK_DIR = '/run/cordon/bridges';
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

// The bridges this process holds the shared lock of, by name: the fd. It
// is held while boxes of this process are on the bridge (leaseCounts), and
// given back when the last has ended.
const heldLocks = new Map<string, number>();
const leaseCounts = new Map<string, number>();

let ownNetns: string | undefined;
/** Lock files name their network namespace: the same bridge name in another one is another bridge. */
function netnsId(): string {
  if (ownNetns === undefined) {
    try {
      ownNetns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/net'))?.[1] ?? 'net';
    } catch {
      ownNetns = 'net';
    }
  }
  return ownNetns;
}

function lockFileName(name: string): string {
  return `${netnsId()}-${name}.lock`;
}

function portsOf(name: string): string[] | undefined {
  try {
    return fs.readdirSync(`/sys/class/net/${name}/brif`);
  } catch {
    return undefined; // gone, or not a bridge
  }
}

/** With the lock held exclusively: its file goes unless a cordon-made bridge is still there (a later sweep finds it by its lock file). */
function forgetLockIfDone(name: string, fd: number): void {
  if (fs.existsSync(`/sys/class/net/${name}`) && isCordonBridge(name)) return;
  native().unlinkLockFile(BRIDGE_LOCK_DIR, lockFileName(name), fd);
}

let lockDirChecked = false;
/** Makes and checks (root's, 0700, once per process) the lock directory. */
function ensureLockDir(): void {
  if (lockDirChecked) return;
  ensurePrivateDirs([path.dirname(BRIDGE_LOCK_DIR), BRIDGE_LOCK_DIR]);
  lockDirChecked = true;
}

/** Gives back this process's shared lock on a bridge when no box of it is on the bridge. */
function releaseBridgeLock(name: string): void {
  if ((leaseCounts.get(name) ?? 0) > 0) return;
  const fd = heldLocks.get(name);
  if (fd === undefined) return;
  heldLocks.delete(name);
  native().closeFd(fd);
}

/** Takes this process's shared lock on a bridge, before it is looked up or made; the bridge is checked at this process's exit. */
function holdBridgeLock(name: string): void {
  if (heldLocks.has(name)) return;
  ensureLockDir();
  const fd = native().lockFile(BRIDGE_LOCK_DIR, lockFileName(name), LOCK_SH);
  if (fd < 0) {
    throw hostError(`flock ${errnoName(fd)}: cannot take the lock of bridge ${name}`, { errno: fd, syscall: 'flock', path: path.join(BRIDGE_LOCK_DIR, lockFileName(name)) });
  }
  heldLocks.set(name, fd);
  checkAtExit(name);
}

let bridgesSwept = false;

/**
 * Once per process, at its first bridge box or its cgroup parent (root):
 * removes the bridges dead supervisors left, but `using`, the bridge this
 * process is about to use (it is taken as it is, not made afresh).
 */
export function sweepBridgesOnce(using?: string): string[] {
  if (bridgesSwept || bridgeRefusal() !== undefined) return [];
  bridgesSwept = true;
  return removeUnusedBridges(using === undefined ? {} : { except: using });
}

// Not os.networkInterfaces(): it leaves out links without carrier, as a
// bridge is until its first port is up.
function existingBridgeAddress(name: string): { address: number; prefix: number } | undefined {
  const result = native().ipv4Address(name);
  return typeof result === 'number' ? undefined : result;
}

function hostError(message: string, details: { errno?: number; path: string; hint?: string; syscall?: string }): CordonError {
  const code = details.errno === undefined ? 'ERR_CORDON_HOST_UNSUPPORTED' : errnoName(details.errno);
  return new CordonError(code, message, { syscall: 'netlink', step: 'bridge', ...details });
}

function acquireBridge(resolved: ResolvedBridge): BridgeState {
  const name = resolved.bridge;
  sweepBridgesOnce(name);
  holdBridgeLock(name);
  let state = bridges.get(name);
  // Someone may have deleted it meanwhile: then it is found (or made) afresh.
  if (state === undefined || !fs.existsSync(`/sys/class/net/${name}`)) {
    state = findOrMakeBridge(resolved);
    bridges.set(name, state);
  }
  const subnet = resolved.subnet;
  if (subnet !== undefined && (subnet.address !== state.gateway || subnet.prefix !== state.prefix)) {
    throw hostError(`network.subnet: bridge ${name} has ${formatIpv4(state.gateway)}/${state.prefix}, not ${formatIpv4(subnet.address)}/${subnet.prefix}`, { path: name });
  }
  return state;
}

function findOrMakeBridge(resolved: ResolvedBridge): BridgeState {
  const name = resolved.bridge;
  let made = false;
  if (!fs.existsSync(`/sys/class/net/${name}`)) {
    const subnet = resolved.subnet ?? parseSubnet('subnet', DEFAULT_SUBNET);
    const result = native().createBridge(name, subnet.address, subnet.prefix);
    if (result !== 0 && result !== -17 /* EEXIST: made by someone else meanwhile */) {
      throw hostError(`netlink ${errnoName(result)}: cannot make bridge ${name}`, { errno: result, path: name });
    }
    made = result === 0;
    if (made) {
      try {
        fs.writeFileSync(`/sys/class/net/${name}/ifalias`, CORDON_BRIDGE_ALIAS);
      } catch (error) {
        native().deleteLink(name);
        const errno = (error as NodeJS.ErrnoException).errno ?? -5;
        throw hostError(`write ${errnoName(errno)}: cannot mark bridge ${name} as cordon's (ifalias)`, { errno, syscall: 'write', path: `/sys/class/net/${name}/ifalias` });
      }
    }
  } else if (!fs.existsSync(`/sys/class/net/${name}/bridge`)) {
    throw hostError(`network.bridge: ${name} exists and is not a bridge`, { path: name });
  }
  const own = existingBridgeAddress(name);
  if (own === undefined) {
    throw hostError(`network.bridge: bridge ${name} has no IPv4 address to be the boxes' gateway`, { path: name, hint: 'give it one, or name a bridge that does not exist yet so cordon makes it' });
  }
  return { gateway: own.address, prefix: own.prefix, leased: new Set(), next: 0 };
}

function pickAddress(resolved: ResolvedBridge, state: BridgeState): number {
  const size = 2 ** (32 - state.prefix);
  const network = state.gateway - (state.gateway % size);
  const usable = (candidate: number): boolean => candidate > network && candidate < network + size - 1 && candidate !== state.gateway;
  if (resolved.address !== undefined) {
    if (!usable(resolved.address)) {
      throw hostError(`network.address: ${formatIpv4(resolved.address)} is not a free host address of ${resolved.bridge}'s subnet ${formatIpv4(network)}/${state.prefix}`, { path: resolved.bridge });
    }
    if (state.leased.has(resolved.address)) {
      throw new CordonError('EADDRINUSE', `network.address: ${formatIpv4(resolved.address)} is in use by another box on ${resolved.bridge}`, { syscall: 'netlink', step: 'bridge', path: resolved.bridge });
    }
    return resolved.address;
  }
  // Round-robin, so an address just given back is not handed out at once
  // (the host's neighbour cache may still hold the old box's MAC).
  for (let i = 0; i < size; i++) {
    const candidate = network + 1 + ((state.next + i) % (size - 2));
    if (usable(candidate) && !state.leased.has(candidate)) {
      state.next = (candidate - network) % (size - 2);
      return candidate;
    }
  }
  throw new CordonError('EADDRNOTAVAIL', `network: no free address left on ${resolved.bridge} (${formatIpv4(network)}/${state.prefix})`, { syscall: 'netlink', step: 'bridge', path: resolved.bridge });
}

/** How long the kernel gets to remove a veth with its namespace before cordon deletes it. */
export const VETH_GRACE_MS = 1000;

/**
 * The pair goes with the box's network namespace, which the kernel tears
 * down asynchronously once the box's last process is gone (the host end
 * disappears some ms later). Deleting it at once would block on the rtnl
 * lock that teardown holds, so cordon deletes it itself only if it is still
 * there after a grace period (the namespace held by something else), and
 * then off the JS thread. The timer does not keep Node alive.
 */
function releaseVeth(hostName: string): void {
  if (!fs.existsSync(`/sys/class/net/${hostName}`)) {
    dyingWithUs.delete(hostName);
    return;
  }
  setTimeout(() => {
    dyingWithUs.delete(hostName);
    if (fs.existsSync(`/sys/class/net/${hostName}`)) void native().deleteLinkAsync(hostName);
  }, VETH_GRACE_MS).unref();
}

export interface BridgeLease {
  bridge: string;
  hostName: string;
  boxName: string;
  address: number;
  prefix: number;
  gateway: number;
  gatewayOnly: boolean;
  info: BridgeNetworkInfo;
}

/**
 * Takes the bridge (making it if needed) and an address for one box; the
 * ledger gives back the address and removes the host end of the veth if the
 * kernel has not already. `diesWithParent`: the box dies with this process,
 * so its veth does not keep the bridge at this process's exit. The caller was checked by validation (bridgeRefusal).
 */
export function leaseBridge(resolved: ResolvedBridge, ledger: Ledger, diesWithParent: boolean): BridgeLease {
  const name = resolved.bridge;
  let state: BridgeState;
  let address: number;
  try {
    state = acquireBridge(resolved);
    address = pickAddress(resolved, state);
  } catch (error) {
    releaseBridgeLock(name);
    throw error;
  }
  state.leased.add(address);
  leaseCounts.set(name, (leaseCounts.get(name) ?? 0) + 1);
  // Once the box has ended its veth is going with its namespace: still a
  // port (no sweep removes the bridge under it), and nothing of this
  // process's needs the bridge after it.
  ledger.add('bridge address', () => {
    state.leased.delete(address);
    leaseCounts.set(name, leaseCounts.get(name)! - 1);
    releaseBridgeLock(name);
  });
  const hostName = `cv${crypto.randomBytes(6).toString('hex')}`;
  if (diesWithParent) dyingWithUs.add(hostName);
  ledger.add('veth', () => releaseVeth(hostName));
  const lease: BridgeLease = {
    bridge: resolved.bridge, hostName, boxName: resolved.iface, address, prefix: state.prefix, gateway: state.gateway,
    gatewayOnly: resolved.reach === 'gateway',
    info: {
      bridge: resolved.bridge, address: formatIpv4(address), prefix: state.prefix, gateway: formatIpv4(state.gateway),
      interface: resolved.iface, hostInterface: hostName, reach: resolved.reach,
    },
  };
  return lease;
}

/** The parent's attachment of the box's veth to the bridge (in its window, before the child goes on), when the box has a lease. */
export function bridgeSteps(lease: BridgeLease | undefined): PlanStep[] {
  if (lease === undefined) return [];
  return [step('attachVeth', { name: 'attach veth to bridge', syscall: 'netlink', kind: 'net', path: lease.hostName }, {
    bridge: lease.bridge, hostName: lease.hostName, boxName: lease.boxName,
    address: lease.address, prefix: lease.prefix, gateway: lease.gateway, gatewayOnly: lease.gatewayOnly,
  })];
}

/** What each part of the attachVeth step is (native host::VethPart, declared once in host/bridge.h), for error.syscall. */
export const VETH_PARTS: Readonly<Record<number, { readonly syscall: string; readonly what: string }>> = PLAN_ENUMS.VethPart;

/** A failed attachVeth step, told by its part (native host::VethPart in the status detail). */
export function explainVeth(step: PlanStep, detail: number, failed: FailedStep): FailedStep {
  if (step.op !== 'attachVeth') return failed;
  const part = VETH_PARTS[detail];
  return part === undefined ? failed : { ...failed, name: `attach veth to bridge: ${part.what}`, syscall: part.syscall };
}

/**
 * Removes the bridges cordon made (alias `cordon`) that have no port and
 * whose lock nobody holds: no supervisor uses them, nor is about to put its
 * first veth on them. Found by their lock files; with `withoutLock`, also
 * cordon-made bridges that have none (made by a cordon before the locks:
 * only when no such supervisor is starting boxes). For clean-up after
 * supervisors that could not remove theirs (SIGKILL). Needs CAP_NET_ADMIN
 * in the network namespace; returns the names removed.
 */
export function removeUnusedBridges(options: { withoutLock?: boolean; except?: string } = {}): string[] {
  const prefix = `${netnsId()}-`;
  // Names seen by their lock files: a file gone by the time it is locked
  // was swept by another process, and is not made back (a sweeper killed
  // before it removed a file it made would leave it for a bridge long gone).
  const byLockFile = new Set<string>();
  try {
    for (const file of fs.readdirSync(BRIDGE_LOCK_DIR)) {
      if (file.startsWith(prefix) && file.endsWith('.lock')) byLockFile.add(file.slice(prefix.length, -'.lock'.length));
    }
  } catch {
    // no lock was ever taken here
  }
  const names = new Set<string>(byLockFile);
  if (options.withoutLock === true) {
    try {
      for (const name of fs.readdirSync('/sys/class/net')) if (isCordonBridge(name)) names.add(name);
    } catch {
      // no sysfs
    }
    if (names.size > 0) ensureLockDir();
  }
  const removed: string[] = [];
  for (const name of names) {
    if (heldLocks.has(name) || name === options.except || !IFNAME.test(name)) continue;
    // A bridge with a port is in use, or its last box is ending: never the
    // sweep's, and its lock is left alone. Taking it, even for a moment,
    // can fall between the two steps in which the supervisor whose last
    // box ends turns its shared lock exclusive (flock does not do it
    // atomically): it would then leave the bridge, and so would the sweep.
    if ((portsOf(name)?.length ?? 0) > 0) continue;
    const fd = native().lockFile(BRIDGE_LOCK_DIR, lockFileName(name), LOCK_EX | LOCK_NB, !byLockFile.has(name));
    if (fd < 0) continue; // held: in use (or swept meanwhile)
    try {
      const ports = portsOf(name);
      if (ports !== undefined && ports.length === 0 && isCordonBridge(name) && native().deleteLink(name) === 0) removed.push(name);
      forgetLockIfDone(name, fd);
    } finally {
      native().closeFd(fd);
    }
  }
  return removed;
}
