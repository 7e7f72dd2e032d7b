// Bridge networking: the box's own network namespace reaches the host
// through a veth pair whose host end sits on a bridge. The parent sets it up
// over rtnetlink in its window (native/host/bridge.cc) while the child waits;
// this module validates the options, keeps the bridges and addresses this
// process leases, and releases them when boxes end.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';

import { CordonError, errnoName, type FailedStep } from './errors';
import { checkString, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys } from './internal/checks';
import { native } from './internal/native';
import type { Ledger } from './internal/resources';
import { step, type PlanStep } from './internal/steps';
import { PLAN_ENUMS } from './internal/plan-ops';
import type { Capability } from './probe';

/** A box on a host bridge (see SpawnIsolatedOptions.network). */
export interface BridgeNetworkOptions {
  /**
   * The host bridge, default `'cordon0'`. If it does not exist cordon makes
   * it with `subnet` (marked with the interface alias `cordon`) and keeps it
   * for later boxes. When a process that used a bridge cordon made exits, it
   * removes the bridge if no port is left on it but the veths of its own
   * boxes that die with it: boxes of another supervisor sharing the bridge
   * (a rolling restart), or of its own with `dieWithParent: false`, keep it.
   * A bridge cordon did not make is used as it is and never removed.
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
// The cordon-made bridges this process checks at exit.
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
  if (!isCordonBridge(name)) return;
  let ports: string[];
  try {
    ports = fs.readdirSync(`/sys/class/net/${name}/brif`);
  } catch {
    return; // gone already
  }
  if (ports.some((port) => !dyingWithUs.has(port))) return;
  native().deleteLink(name);
}

function checkAtExit(name: string): void {
  if (checkedAtExit.has(name)) return;
  checkedAtExit.add(name);
  process.once('exit', () => removeIfUnused(name));
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
  // Checked once per process at exit, not per box: consecutive boxes would
  // otherwise make and delete it over and over.
  if (made || isCordonBridge(name)) checkAtExit(name);
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
  const state = acquireBridge(resolved);
  const address = pickAddress(resolved, state);
  state.leased.add(address);
  ledger.add('bridge address', () => state.leased.delete(address));
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
 * Removes the bridges cordon made (alias `cordon`) that have no port at
 * all: nobody's box uses them. For clean-up after supervisors that could
 * not remove theirs (SIGKILL). Needs CAP_NET_ADMIN in the host's network
 * namespace; returns the names removed.
 */
export function removeUnusedBridges(): string[] {
  let links: string[];
  try {
    links = fs.readdirSync('/sys/class/net');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of links) {
    if (!isCordonBridge(name)) continue;
    let ports: string[];
    try {
      ports = fs.readdirSync(`/sys/class/net/${name}/brif`);
    } catch {
      continue;
    }
    if (ports.length === 0 && native().deleteLink(name) === 0) removed.push(name);
  }
  return removed;
}
