// Compile-time checks of the public types: good calls compile, bad options
// do not (each @ts-expect-error must be needed, or tsc fails).
import * as diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Socket } from 'node:net';

import {
  spawnIsolated, spawnIsolatedAsync, execFileIsolated, probe, createNamespacePool, CordonError, type Box, type ExitResult, type NamespacePool, type NamespacePoolStats,
  type ProbeReport, type SpawnIsolatedOptions, DIAGNOSTICS_CHANNELS, type SpawnTraceContext, type SpawnPhaseMessage,
  type SpawnStepMessage, type BoxExitMessage, createListener, createService, type Listener, type ServiceState, type DiskUsage, createTenantCgroup, TenantCgroup, adopt, adoptAll, cleanup, type CleanupReport,
} from '../../dist';

async function tenants(): Promise<void> {
  const tenant: TenantCgroup = createTenantCgroup('site', { memory: { max: 2 ** 29 } }, { cgroupParent: '/boxes', spareLeaves: 2 });
  // @ts-expect-error spareLeaves is a count
  createTenantCgroup('site', {}, { spareLeaves: '2' });
  spawnIsolated('/bin/true', [], { cgroup: tenant });
  spawnIsolated('/bin/true', [], { cgroup: { tenant, pids: { max: 10 } } });
  tenant.update({ cpu: { weight: 10 } });
  const memory: number | undefined = tenant.stats().memory?.current;
  const v2: string | undefined = tenant.path.v2;
  await tenant.close({ wait: true, timeoutMs: 1000 });
  // @ts-expect-error not a limit
  tenant.update({ cpu: { weighty: 10 } });
  // @ts-expect-error a tenant is made by createTenantCgroup, not given by name
  spawnIsolated('/bin/true', [], { cgroup: { tenant: 'site' } });
  const box: Box = await adopt('box-1-1-abcdef');
  const id: string | undefined = box.adoptionId;
  const all: Box[] = await adoptAll();
  const report: CleanupReport = await cleanup({ graceMs: 0, bridges: false });
  await cleanup({ bridges: 'unlocked' });
  const removed: string[] = report.cgroups;
  const usable: boolean = probe().tenants.cgroups.available && probe().tenants.adoption.available;
  void [memory, v2, id, all, removed, usable];
}
void tenants;

function hosting(): void {
  const listener: Listener = createListener({ path: '/run/t/app.sock', owner: { uid: 33, gid: 33 }, mode: 0o660 });
  const tcp = createListener({ port: 0, host: '127.0.0.1', backlog: 128, name: 'web' });
  const port: number | undefined = tcp.port;
  const box = spawnIsolated('/usr/sbin/php-fpm', ['-F'], {
    listen: [listener, { listener: tcp, name: 'admin', fdEnv: 'ADMIN_FD', fpmAddress: '127.0.0.1:9000' }],
    stdio: ['ignore', { file: '/var/log/t.log' }, { file: '/var/log/t.log', mode: 0o600 }],
    stdioPipes: 'pipe',
    rootfs: { layers: ['/srv/t'], upper: { dir: '/srv/u', quota: { bytes: 64 << 20, inodes: 4096 } }, idmapLayers: true },
  });
  const usage: DiskUsage | undefined = box.diskUsage();
  void [port, usage?.inodesUsed];
  // @ts-expect-error a listener's path is read-only
  listener.path = '/x';
  // @ts-expect-error stdioPipes is 'socketpair' or 'pipe'
  spawnIsolated('/bin/true', [], { stdioPipes: 'fifo' });
  // @ts-expect-error a quota needs bytes
  spawnIsolated('/bin/true', [], { rootfs: { layers: ['/a'], upper: { dir: '/b', quota: { inodes: 10 } } } });
  const service = createService({
    file: '/usr/bin/python3', args: ['-m', 'http.server'],
    options: () => ({ listen: [listener] }),
    restart: { policy: 'on-failure', initialMs: 50, maxRestarts: 3, windowMs: 1000 },
    stop: { signal: 'SIGTERM', timeoutMs: 5000 },
    health: { check: { http: { target: listener, path: '/health' } }, intervalMs: 1000 },
  });
  service.on('state', (to, from, reason) => {
    const state: ServiceState = to;
    void [state, from, reason];
  });
  service.on('exit', (exited, result, error) => void [exited.pid, result?.code, error?.message]);
  // @ts-expect-error no such event
  service.on('restarted', () => undefined);
  // @ts-expect-error no such policy
  createService({ file: '/bin/true', restart: { policy: 'sometimes' } });
  void service.start().then((started) => started.pid);
}
void hosting;

function diagnostics(): void {
  const spawns = diagnosticsChannel.tracingChannel<SpawnTraceContext>(DIAGNOSTICS_CHANNELS.spawn);
  spawns.subscribe({
    start: (context) => void [context.id, context.file, context.args.length, context.async],
    end: (context) => void context.result?.pid,
    asyncStart: () => undefined,
    asyncEnd: (context) => void context.result?.pid,
    error: (context) => void context.error?.message,
  });
  const phase: string = DIAGNOSTICS_CHANNELS.phase;
  diagnosticsChannel.subscribe(phase, (message) => {
    const { phase: name, ms } = message as SpawnPhaseMessage;
    const known: 'validate' | 'open namespaces' | 'stdio' | 'listen sockets' | 'cgroup' | 'bridge' | 'host view' | 'upper layer' | 'idmapped mounts' | 'plan' | 'native spawn' | 'hand over' = name;
    void [known, ms];
  });
  diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.step, (message) => {
    const step = message as SpawnStepMessage;
    const side: 'parent' | 'child' = step.side;
    void [side, step.index, step.count, step.name, step.ms, step.atMs];
  });
  diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.exit, (message) => {
    const exit = message as BoxExitMessage;
    const signal: NodeJS.Signals | null = exit.signal;
    void [exit.pid, exit.code, signal, exit.runMs, exit.spawnMs, exit.oomKilled];
  });
  // @ts-expect-error the channel names are fixed
  const wrong: 'cordon:exit' = DIAGNOSTICS_CHANNELS.exit;
  void wrong;
}
void diagnostics;

async function goodCalls(): Promise<void> {
  const box: Box = spawnIsolated('/bin/true');
  const withArgs = spawnIsolated('/bin/sh', ['-c', 'exit 0'], {
    namespaces: { net: 'host', pid: { path: '/proc/1/ns/pid' }, ipc: { fd: 3 }, time: 'new' },
    uidMap: [{ inside: 0, outside: 100000, count: 65536 }],
    env: { PATH: '/bin', MAYBE: undefined },
    stdio: ['pipe', 'inherit', 'ignore', 5, null, undefined],
    killSignal: 'SIGKILL',
    timeout: 1000,
    signal: new AbortController().signal,
  });
  const stdout: Socket | null = withArgs.stdout;
  const result: ExitResult = await withArgs.exited;
  const code: number | null = result.code;
  const signal: NodeJS.Signals | null = result.signal;
  box.on('exit', (exitCode: number | null, exitSignal: NodeJS.Signals | null) => void [exitCode, exitSignal]);
  box.on('error', (error: Error) => void (error instanceof CordonError && error.step));
  await once(box, 'close');
  await box[Symbol.asyncDispose]();
  const report: ProbeReport = probe();
  const rung: 'clone3' | 'clone3-basic' | 'clone' | 'none' = report.clone.rung;
  const bridged = spawnIsolated('/bin/true', [], { network: { bridge: 'br0', subnet: '10.1.0.1/24', reach: 'any' } });
  const address: string | undefined = bridged.network?.address;
  const canBridge: boolean = report.network.bridge.available;
  spawnIsolated('/bin/true', [], { network: 'bridge' });
  spawnIsolated('/bin/true', [], { network: { path: '/run/netns/blue' } });
  const later: Box = await spawnIsolatedAsync('/bin/true', ['x'], { stdio: 'ignore' });
  const noArgs: Promise<Box> = spawnIsolatedAsync('/bin/true', { network: 'none' });
  void [stdout, code, signal, rung, address, canBridge, later, noArgs];
  const pool: NamespacePool = createNamespacePool({ kind: 'user+net', size: 8, uidMap: [{ inside: 0, outside: 1000, count: 1 }] });
  await pool.ready();
  const stats: NamespacePoolStats = pool.stats();
  const misses: number = stats.misses;
  spawnIsolated('/bin/true', [], { namespaces: { pid: 'host' }, netnsPool: pool });
  await pool.close();
  await using disposable = createNamespacePool({ kind: 'net' });
  void [misses, disposable.available];
  const text: string = (await execFileIsolated('/bin/echo', ['hi'], { maxBuffer: 1024, timeout: 100 })).stdout;
  const bytes: Buffer = (await execFileIsolated('/bin/echo', [], { encoding: 'buffer' })).stdout;
  void [text, bytes];
  spawnIsolated('/bin/true', [], { kernelCounters: { inotifyInstances: 16, userNamespaces: 'unlimited' }, userNamespaceOwner: 'box' });
  const perBox: number | undefined = report.kernelCounters.boxDefaults.inotifyInstances;
  const fit: number | undefined = report.kernelCounters.boxesThatFit;
  void [perBox, fit];
}

function badCalls(): void {
  // @ts-expect-error unknown option
  spawnIsolated('/bin/true', [], { hostName: 'x' });
  // @ts-expect-error namespace settings are 'new', 'host', { path } or { fd }
  spawnIsolated('/bin/true', [], { namespaces: { net: 'none' } });
  // @ts-expect-error network is 'none', 'host', 'bridge', { path }, { fd } or bridge options
  spawnIsolated('/bin/true', [], { network: 'nat' });
  // @ts-expect-error reach is 'gateway' or 'any'
  spawnIsolated('/bin/true', [], { network: { reach: 'everything' } });
  // @ts-expect-error a kernel counter limit is a number or 'unlimited'
  spawnIsolated('/bin/true', [], { kernelCounters: { inotifyWatches: 'many' } });
  // @ts-expect-error unknown kernel counter
  spawnIsolated('/bin/true', [], { kernelCounters: { inotify: 3 } });
  // @ts-expect-error the owner is 'caller' or 'box'
  spawnIsolated('/bin/true', [], { userNamespaceOwner: 'root' });
  // @ts-expect-error unknown namespace
  spawnIsolated('/bin/true', [], { namespaces: { nett: 'new' } });
  // @ts-expect-error an id map entry needs count
  spawnIsolated('/bin/true', [], { uidMap: [{ inside: 0, outside: 1 }] });
  // @ts-expect-error env values are strings
  spawnIsolated('/bin/true', [], { env: { A: 1 } });
  // @ts-expect-error stdio entries
  spawnIsolated('/bin/true', [], { stdio: ['pipe', 'ipc'] });
  // @ts-expect-error args are strings
  spawnIsolated('/bin/true', [1]);
  // @ts-expect-error kill signals are names or numbers
  spawnIsolated('/bin/true', [], { killSignal: 'SIGNOPE' });
  // @ts-expect-error execFileIsolated collects the output itself: no stdio
  void execFileIsolated('/bin/true', [], { stdio: 'inherit' });
  // @ts-expect-error pool kinds are 'user+net' or 'net'
  createNamespacePool({ kind: 'pid' });
  // @ts-expect-error unknown pool option
  createNamespacePool({ sise: 4 });
  // @ts-expect-error netnsPool takes a NamespacePool
  spawnIsolated('/bin/true', [], { netnsPool: { size: 4 } });
  const pool = createNamespacePool();
  // @ts-expect-error size is read-only
  pool.size = 3;
  const options: SpawnIsolatedOptions = {};
  // @ts-expect-error options are read-only
  options.cwd = '/';
  // Box events are the ones in BoxEvents, with their arguments, whichever
  // @types/node (from 25 on, EventEmitter<T> alone accepts any other name).
  const box = spawnIsolated('/bin/true');
  // @ts-expect-error no such event: 'exit'
  box.on('exitt', () => undefined);
  // @ts-expect-error no such event: 'spawn'
  box.once('spwan', () => undefined);
  // @ts-expect-error no such event
  box.off('exited', () => undefined);
  // @ts-expect-error no such event
  box.prependListener('stdout', () => undefined);
  // @ts-expect-error 'exit' passes a code that may be null
  box.on('exit', (code: number) => void code);
  // @ts-expect-error 'error' passes an Error
  box.on('error', (error: string) => void error);
  box.on('oom', (event) => void event.newOomKills);
}

void goodCalls;
void badCalls;

// OCI: a mapped config spawns; an image's layers are a rootfs.
import { fromOciConfig, loadOciBundle, importOciImage, OciConfigError, OciImageError, type OciRunSpec, type OciImage } from '../../dist';

async function oci(): Promise<void> {
  const spec: OciRunSpec = fromOciConfig({ ociVersion: '1.2.0' }, { bundle: '/srv/b', hostCredentials: false });
  spawnIsolated(spec.file, spec.args, spec.options);
  const ignored: string[] = loadOciBundle('/srv/b').ignored.map((entry) => `${entry.field}: ${entry.reason}`);
  const image: OciImage = await importOciImage('/srv/image.tar', { store: '/srv/layers', ref: 'latest', uidMap: [{ inside: 0, outside: 100000, count: 65536 }] });
  spawnIsolated('/bin/sh', [], { rootfs: { layers: image.layers, upper: 'tmpfs' } });
  // @ts-expect-error the store is required
  await importOciImage('/srv/image.tar', {});
  const path: string = new OciConfigError('ERR_CORDON_OCI_UNSUPPORTED', 'process.terminal', 'x').jsonPath;
  const digest: string | undefined = new OciImageError('x').digest;
  void [ignored, path, digest];
}
void oci;
