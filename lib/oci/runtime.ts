// `cordon oci ...`: an OCI runtime command line (runc's verbs), with
// container state under --root. Done: run (in the foreground, the CLI the
// box's parent), create/start (the box waits at its start gate, a FIFO in
// the state dir, and outlives `create`), state, kill, delete, features,
// ps (lib/oci/ps.ts), exec --process (lib/oci/exec.ts), pause/resume (the
// cgroup freezer), the config's hooks (lib/oci/hooks.ts). Not yet: update,
// a terminal for exec: refused with a message saying so.
//
// A created container has no supervisor: `create` exits and the box is
// reparented (to the engine's subreaper: podman's conmon, containerd's
// shim). Its record (pid + start time, its cgroup) is all later verbs have;
// they reach the process through a pidfd checked against the start time.
// The tenant work (state records, adopt(), cleanup()) should later own
// this record and the cgroup removal; until then they live here.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { awaitDetachedEnd, type DetachedBox, detachBox, detachedAlive, detachedCgroup, removeDetachedCgroups, signalDetached } from '../adopt';
import { CAPABILITIES } from '../credentials';
import { CordonError, hintFor } from '../errors';
import { native } from '../internal/native';
import { spawnIsolated } from '../spawn';
import { openPty, slavePath } from '../pty';
import { fromOciConfig, loadOciBundle } from './config';
import { execInContainer } from './exec';
import { type OciHookName, type OciHooks, runHooks } from './hooks';
import { formatPids, pidsInNamespaceOf } from './ps';

/** The spec version of the state cordon reports. */
const OCI_VERSION = '1.2.0';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

/**
 * What `state` prints and `<root>/<id>/state.json` holds: the runtime
 * spec's state, plus the detached box's record (lib/adopt.ts: pid, start
 * time, its cgroups) and what later verbs need.
 */
interface ContainerState extends DetachedBox {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  annotations?: Record<string, string>;
  /** The pid of the `cordon oci run` process that owns the box. */
  ownerPid?: number;
  /** The config's hooks, as create read them: start and delete run theirs from here. */
  hooks?: OciHooks;
}

class RuntimeError extends Error {}

interface Globals {
  root: string;
  log: string | undefined;
  logFormat: 'text' | 'json';
  /** Honour a config without a user namespace (real host credentials); default: a new one anyway. */
  hostCredentials: boolean;
}

function defaultRoot(): string {
  if (process.geteuid?.() === 0) return '/run/cordon-oci';
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return path.join(runtimeDir !== undefined && runtimeDir !== '' ? runtimeDir : os.tmpdir(), `cordon-oci-${process.geteuid?.() ?? 0}`);
}

function report(globals: Globals | undefined, message: string, level: 'error' | 'warning' = 'error'): void {
  process.stderr.write(`cordon oci: ${message}\n`);
  if (globals?.log === undefined) return;
  const line = globals.logFormat === 'json'
    ? `${JSON.stringify({ level: level === 'warning' ? 'warn' : 'error', msg: message, time: new Date().toISOString() })}\n`
    : `${new Date().toISOString()} ${level}: ${message}\n`;
  try {
    fs.appendFileSync(globals.log, line);
  } catch {
    // the log is best effort; stderr has the message
  }
}

/**
 * An error's message as the runtime reports it. The engine relays it to
 * whoever deployed the bundle, and the program the exec failed on is the
 * bundle's (its image's entrypoint): an exec's hint may state host facts
 * about that path (that it exists on the host; the mode and owner of a host
 * directory on the way to it, found through the rootfs's symlinks), so an
 * exec failure gets the hint the error alone gives, without them.
 */
function messageOf(error: unknown): string {
  const message = (error as Error).message;
  if (!(error instanceof CordonError) || error.step !== 'execve' || error.hint === undefined) return message;
  const suffix = ` (${error.hint})`;
  if (!message.endsWith(suffix)) return message;
  const generic = hintFor('exec', error.code, { privileged: process.geteuid?.() === 0 });
  return `${message.slice(0, -suffix.length)}${generic === undefined ? '' : ` (${generic})`}`;
}

/** `cordon oci [global options] COMMAND ...`; resolves with the exit status. */
export async function ociMain(argv: string[]): Promise<number> {
  let globals: Globals | undefined;
  try {
    const parsed = parseGlobals(argv);
    globals = parsed.globals;
    return await command(parsed.globals, parsed.rest);
  } catch (error) {
    if (!(error instanceof RuntimeError) && !(error as CordonError).code) throw error;
    report(globals, messageOf(error));
    return 1;
  }
}

function parseGlobals(argv: string[]): { globals: Globals; rest: string[] } {
  const globals: Globals = { root: defaultRoot(), log: undefined, logFormat: 'text', hostCredentials: false };
  const stop = walkFlags(argv, (flag, value) => {
    if (!flag.startsWith('-')) return false;
    switch (flag) {
      case '--root':
        globals.root = path.resolve(value());
        break;
      case '--log':
        globals.log = value();
        break;
      case '--log-format': {
        const format = value();
        if (format !== 'text' && format !== 'json') throw new RuntimeError(`--log-format must be text or json, not ${JSON.stringify(format)}`);
        globals.logFormat = format;
        break;
      }
      case '--debug':
        break;
      case '--host-credentials':
        // Explicit loosening (podman: --runtime-flag host-credentials): an
        // engine's config without a user namespace means real host root.
        globals.hostCredentials = true;
        break;
      case '--systemd-cgroup':
        throw new RuntimeError('--systemd-cgroup: cordon makes and removes its boxes\' cgroups itself (cgroupfs); it does not ask systemd for them');
      default:
        throw new RuntimeError(`unknown global option ${flag}`);
    }
    return true;
  });
  return { globals, rest: argv.slice(stop) };
}

/**
 * Walks command-line words as flags: each word is split at its first `=`
 * (long flags), and `value()` takes the flag's inline value or the next
 * word. `visit` returns false to stop before a word; the index of the first
 * word not walked is returned.
 */
function walkFlags(args: readonly string[], visit: (flag: string, value: () => string, word: string) => boolean | void): number {
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i]!;
    const [flag, inline] = splitFlag(word);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new RuntimeError(`${flag} needs a value`);
      return next;
    };
    if (visit(flag, value, word) === false) break;
  }
  return i;
}

function splitFlag(word: string): [string, string | undefined] {
  const eq = word.indexOf('=');
  return word.startsWith('--') && eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, undefined];
}

function checkId(id: string | undefined): string {
  if (id === undefined) throw new RuntimeError('a container id is needed');
  if (!ID.test(id) || id.includes('..')) throw new RuntimeError(`bad container id ${JSON.stringify(id.slice(0, 80))} (letters, digits, _ . + -)`);
  return id;
}

async function command(globals: Globals, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'run':
      return await runContainer(globals, rest);
    case 'create':
      return await createContainer(globals, rest);
    case 'start':
      return startContainer(globals, rest);
    case 'state':
      process.stdout.write(`${JSON.stringify(publicState(readState(globals, checkId(only(rest, 'state')))), null, 2)}\n`);
      return 0;
    case 'kill':
      return killContainer(globals, rest);
    case 'delete':
      return await deleteContainer(globals, rest);
    case 'features':
      process.stdout.write(`${JSON.stringify(features(), null, 2)}\n`);
      return 0;
    case 'ps':
      return psContainer(globals, rest);
    case 'exec':
      return await execContainer(globals, rest);
    case 'pause':
      return await pauseContainer(globals, rest, true);
    case 'resume':
      return await pauseContainer(globals, rest, false);
    case 'update':
    case 'checkpoint':
    case 'restore':
      throw new RuntimeError(`"${verb}" is not implemented yet: cordon oci creates, starts and runs containers (create, start, run), and reports, signals and deletes them (state, kill, delete), pauses and resumes them (pause, resume)`);
    case undefined:
      throw new RuntimeError('a command is needed: create, start, run, state, kill, delete, pause, resume, ps, exec, features');
    default:
      throw new RuntimeError(`unknown command ${JSON.stringify(verb)}`);
  }
}

function only(args: string[], verb: string): string | undefined {
  const positional = args.filter((arg) => !arg.startsWith('-'));
  if (positional.length > 1) throw new RuntimeError(`${verb} takes one container id`);
  return positional[0];
}

function stateDir(globals: Globals, id: string): string {
  return path.join(globals.root, id);
}

/**
 * The state root must be the caller's own directory (not a link), writable
 * by no one else: a state.json is trusted to name the pid that kill and
 * delete signal, and the default root of an unprivileged caller without
 * XDG_RUNTIME_DIR is in the shared /tmp, where another user could plant it.
 */
function checkRoot(globals: Globals): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(globals.root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing in it to trust
    throw error;
  }
  const uid = process.geteuid?.() ?? 0;
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new RuntimeError(`the state root ${globals.root} is not a directory (a symbolic link is not followed)`);
  if (stat.uid !== uid) throw new RuntimeError(`the state root ${globals.root} is owned by uid ${stat.uid}, not by this user (${uid})`);
  if ((stat.mode & 0o022) !== 0) throw new RuntimeError(`the state root ${globals.root} is writable by others (mode ${(stat.mode & 0o7777).toString(8)})`);
}

function writeState(globals: Globals, state: ContainerState): void {
  const dir = stateDir(globals, state.id);
  const temporary = path.join(dir, `.state.json.${process.pid}`);
  fs.writeFileSync(temporary, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  fs.renameSync(temporary, path.join(dir, 'state.json'));
}

function fifoPath(globals: Globals, id: string): string {
  return path.join(stateDir(globals, id), 'exec.fifo');
}

function readState(globals: Globals, id: string): ContainerState {
  checkRoot(globals);
  let state: ContainerState;
  try {
    state = JSON.parse(fs.readFileSync(path.join(stateDir(globals, id), 'state.json'), 'utf8')) as ContainerState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RuntimeError(`container ${JSON.stringify(id)} does not exist`);
    throw error;
  }
  if (state.status === 'running' || state.status === 'created') {
    // Created until `start` takes the FIFO away (runc's exec.fifo rule).
    if (!detachedAlive(state)) state.status = 'stopped';
    else if (state.status === 'created' && !fs.existsSync(fifoPath(globals, id))) state.status = 'running';
    // Paused is the freezer's word, read live: nothing to keep in step.
    if (state.status === 'running' && state.cgroupDirs !== undefined && detachedCgroup(state)?.frozen() === true) state.status = 'paused';
  }
  return state;
}

/**
 * pause / resume: the container's cgroup frozen or thawed through the
 * freezer (v2 cgroup.freeze, v1 freezer.state), once the kernel says so.
 * A container without a cgroup of its own (a config with no limits) has
 * nothing cordon could freeze without its caller's processes.
 */
async function pauseContainer(globals: Globals, args: string[], freeze: boolean): Promise<number> {
  const verb = freeze ? 'pause' : 'resume';
  const state = readState(globals, checkId(only(args, verb)));
  const want = freeze ? 'running' : 'paused';
  if (state.status !== want) throw new RuntimeError(`container ${JSON.stringify(state.id)} is ${state.status}, not ${want}`);
  const cgroup = detachedCgroup(state);
  if (cgroup === undefined || cgroup.frozen() === undefined) {
    throw new RuntimeError(`cannot ${verb} container ${JSON.stringify(state.id)}: it has no cgroup with a freezer of its own (cordon makes one when the config sets linux.resources; a v2 cgroup needs Linux 5.2 for cgroup.freeze, a v1 one the freezer controller)`);
  }
  try {
    if (freeze) await cgroup.freeze();
    else await cgroup.thaw();
  } catch (error) {
    throw new RuntimeError(`cannot ${verb} container ${JSON.stringify(state.id)}: ${(error as Error).message}`);
  }
  return 0;
}

function publicState(state: ContainerState): Omit<ContainerState, 'startTime' | 'ownerPid' | 'cgroupDirs' | 'hooks'> {
  const { startTime: _startTime, ownerPid: _ownerPid, cgroupDirs: _cgroupDirs, hooks: _hooks, ...rest } = state;
  return state.status === 'stopped' ? { ...rest, pid: 0 } : rest;
}

/**
 * Runs the hooks of one lifecycle point with the container's state as
 * `status` says (a RuntimeError for the first that fails).
 */
function lifecycleHooks(name: OciHookName, state: ContainerState, status: ContainerState['status']): void {
  if (state.hooks?.[name] === undefined) return;
  try {
    runHooks(name, state.hooks, publicState({ ...state, status }));
  } catch (error) {
    throw new RuntimeError((error as Error).message);
  }
}

function signalNumber(text: string | undefined): number {
  if (text === undefined) return os.constants.signals.SIGTERM;
  if (/^\d+$/.test(text)) return Number(text);
  const name = (text.startsWith('SIG') ? text : `SIG${text}`).toUpperCase();
  const number = (os.constants.signals as Record<string, number | undefined>)[name];
  if (number === undefined) throw new RuntimeError(`unknown signal ${JSON.stringify(text.slice(0, 40))}`);
  return number;
}

function psContainer(globals: Globals, args: string[]): number {
  let format: 'json' | 'table' = 'table';
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = splitFlag(args[i]!);
    if (flag === '--format' || flag === '-f') {
      const value = inline ?? args[++i];
      if (value !== 'json' && value !== 'table') throw new RuntimeError(`ps --format must be json or table, not ${JSON.stringify(value)}`);
      format = value;
    } else if (flag.startsWith('-')) {
      throw new RuntimeError(`unknown option of ps: ${flag} (ps arguments are not passed on)`);
    } else positional.push(flag);
  }
  // runc passes words after the id to ps(1); cordon does not run ps(1).
  if (positional.length !== 1) throw new RuntimeError('ps takes one container id (cordon runs no ps(1) with further arguments)');
  const state = readState(globals, checkId(positional[0]));
  const pids = state.status === 'stopped' || state.pid === undefined ? [] : pidsInNamespaceOf(state.pid, () => detachedAlive(state)) ?? [];
  process.stdout.write(formatPids(pids, format));
  return 0;
}

async function execContainer(globals: Globals, args: string[]): Promise<number> {
  let processFile: string | undefined;
  let pidFile: string | undefined;
  let detach = false;
  const positional: string[] = [];
  walkFlags(args, (flag, value, word) => {
    if (positional.length > 0) {
      positional.push(word);
      return;
    }
    switch (flag) {
      case '--process':
      case '-p':
        processFile = path.resolve(value());
        break;
      case '--pid-file':
        pidFile = path.resolve(value());
        break;
      case '--detach':
      case '-d':
        detach = true;
        break;
      case '--preserve-fds': {
        const count = value();
        if (count !== '0') throw new RuntimeError(`exec --preserve-fds ${count} is not implemented yet`);
        break;
      }
      case '--console-socket':
      case '--tty':
      case '-t':
        throw new RuntimeError(`exec ${flag}: a terminal for an exec'd process is not implemented yet`);
      default:
        if (flag.startsWith('-')) throw new RuntimeError(`unknown option of exec: ${flag} (exec takes --process FILE)`);
        positional.push(flag);
    }
  });
  if (processFile === undefined) throw new RuntimeError('exec needs --process FILE (the OCI process JSON); exec ID CMD... is not implemented yet');
  if (positional.length !== 1) throw new RuntimeError('exec --process FILE takes one container id');
  const state = readState(globals, checkId(positional[0]));
  if (state.status !== 'running') throw new RuntimeError(`container ${JSON.stringify(state.id)} is ${state.status}, not running`);
  let processSpec: { terminal?: unknown };
  try {
    processSpec = JSON.parse(fs.readFileSync(processFile, 'utf8')) as { terminal?: unknown };
  } catch (error) {
    throw new RuntimeError(`cannot read --process ${processFile}: ${(error as Error).message}`);
  }
  if (processSpec?.terminal === true) throw new RuntimeError('exec: process.terminal (a terminal for an exec\'d process) is not implemented yet');
  const box = execInContainer({
    pid: state.pid!, alive: () => detachedAlive(state), bundle: state.bundle,
    // A container `run` owns records none: its box's cgroups, read now (an exec'd process must not escape their limits).
    cgroupDirs: state.cgroupDirs ?? detachBox(state.pid!)?.cgroupDirs ?? [],
    hostCredentials: globals.hostCredentials,
  }, processSpec, 'inherit');
  box.on('error', () => undefined); // through the promises below
  if (detach) {
    // The engine's subreaper (containerd's shim) must reap it, to learn its
    // status: this process exits in the handler of 'spawn', before its event
    // loop can watch the exit (a process that ends first stays a zombie of
    // this one until then, and is then the subreaper's).
    box.once('spawn', () => {
      if (pidFile !== undefined) writePidFile(pidFile, box.pid!);
      process.exit(0);
    });
  }
  await new Promise<void>((resolve, reject) => {
    box.once('spawn', resolve);
    box.once('error', reject);
  });
  if (pidFile !== undefined) writePidFile(pidFile, box.pid!);
  const result = await box.exited;
  return result.signal !== null ? 128 + ((os.constants.signals as Record<string, number>)[result.signal] ?? 0) : (result.code ?? 1);
}

function killContainer(globals: Globals, args: string[]): number {
  // --all (-a): every process of the container; the box's pid namespace
  // ends with its PID 1 anyway, so the one signal serves.
  const positional = args.filter((arg) => !arg.startsWith('-'));
  if (positional.length < 1 || positional.length > 2) throw new RuntimeError('kill takes a container id and a signal');
  const state = readState(globals, checkId(positional[0]));
  const signal = signalNumber(positional[1]);
  if (state.status !== 'running' && state.status !== 'created' && state.status !== 'paused') throw new RuntimeError(`container ${JSON.stringify(state.id)} is ${state.status}`);
  if (!signalDetached(state, signal)) throw new RuntimeError(`container ${JSON.stringify(state.id)} is stopped`);
  return 0;
}

async function deleteContainer(globals: Globals, args: string[]): Promise<number> {
  const force = args.includes('--force') || args.includes('-f');
  const id = checkId(only(args, 'delete'));
  checkRoot(globals);
  // --force of a container that is not there is done (runc's rule): an
  // engine cleaning up after a failed create calls it.
  if (force && !fs.existsSync(path.join(stateDir(globals, id), 'state.json'))) {
    fs.rmSync(stateDir(globals, id), { recursive: true, force: true });
    return 0;
  }
  const state = readState(globals, id);
  if (state.status === 'running' || state.status === 'created' || state.status === 'paused') {
    // A created container never ran its payload: deleting it is the engine's
    // way to abandon it (runc does the same). A running one needs --force.
    if (state.status !== 'created' && !force) throw new RuntimeError(`container ${JSON.stringify(id)} is ${state.status}: stop it first, or delete --force`);
    // With an owner (`run`), SIGKILL is enough: it reaps the box and
    // releases its cgroup and mounts. Without (create), delete does.
    signalDetached(state, os.constants.signals.SIGKILL);
    // A frozen v1 task dies only once thawed.
    if (state.status === 'paused') await detachedCgroup(state)?.thaw().catch(() => undefined);
    if (!awaitDetachedEnd(state)) throw new RuntimeError(`container ${JSON.stringify(id)} did not end after SIGKILL`);
  }
  removeDetachedCgroups(state);
  poststop(globals, state);
  fs.rmSync(stateDir(globals, id), { recursive: true, force: true });
  return 0;
}

/** poststop: after the container is gone, before delete returns; a failure is a warning (the spec's rule). */
function poststop(globals: Globals, state: ContainerState): void {
  try {
    lifecycleHooks('poststop', state, 'stopped');
  } catch (error) {
    report(globals, `warning: ${(error as Error).message}`, 'warning');
  }
}

interface LifecycleArgs {
  bundle: string;
  pidFile: string | undefined;
  id: string;
}

/**
 * The flags `create` and `run` share (runc's: --bundle, --pid-file, and the
 * no-ops), then each verb's own from `extras`: a handler per flag, given
 * the flag's value reader.
 */
function parseLifecycle(verb: string, args: string[], extras: Record<string, (value: () => string, flag: string) => void>): LifecycleArgs {
  let bundle = process.cwd();
  let pidFile: string | undefined;
  const positional: string[] = [];
  walkFlags(args, (flag, value) => {
    switch (flag) {
      case '--bundle':
      case '-b':
        bundle = path.resolve(value());
        break;
      case '--pid-file':
        pidFile = path.resolve(value());
        break;
      case '--no-pivot':
      case '--no-new-keyring':
        break; // cordon always pivots; it makes no keyring
      default: {
        const extra = Object.hasOwn(extras, flag) ? extras[flag] : undefined;
        if (extra !== undefined) extra(value, flag);
        else if (flag.startsWith('-')) throw new RuntimeError(`unknown option of ${verb}: ${flag}`);
        else positional.push(flag);
      }
    }
  });
  if (positional.length !== 1) throw new RuntimeError(`${verb} takes one container id`);
  return { bundle, pidFile, id: checkId(positional[0]) };
}

function parseCreate(args: string[]): LifecycleArgs & { consoleSocket: string | undefined } {
  let consoleSocket: string | undefined;
  const parsed = parseLifecycle('create', args, {
    '--console-socket': (value) => {
      consoleSocket = path.resolve(value());
    },
    '--preserve-fds': (value) => {
      const count = value();
      if (count !== '0') throw new RuntimeError(`create --preserve-fds ${count} is not implemented yet`);
    },
  });
  return { ...parsed, consoleSocket };
}

function parseRun(args: string[]): LifecycleArgs & { keep: boolean } {
  let keep = false;
  const notYet = (_value: () => string, flag: string): never => {
    throw new RuntimeError(`run ${flag} is not implemented yet`);
  };
  const parsed = parseLifecycle('run', args, {
    '--keep': () => {
      keep = true;
    },
    '--detach': notYet, '-d': notYet, '--console-socket': notYet, '--preserve-fds': notYet, '--no-subreaper': notYet,
  });
  return { ...parsed, keep };
}

/** The config's annotations, as the state reports them. */
function annotationsOf(bundle: string): Record<string, string> | undefined {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { annotations?: unknown };
    const found = config.annotations;
    if (found === null || typeof found !== 'object') return undefined;
    return Object.fromEntries(Object.entries(found).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return undefined; // loadOciBundle has said what is wrong with it
  }
}

async function createContainer(globals: Globals, args: string[]): Promise<number> {
  const { bundle, pidFile, consoleSocket, id } = parseCreate(args);
  const terminal = terminalOf(bundle);
  if (terminal !== undefined && consoleSocket === undefined) throw new RuntimeError('process.terminal is true: create needs --console-socket to hand the terminal to');
  if (terminal === undefined && consoleSocket !== undefined) throw new RuntimeError('--console-socket is for a config with process.terminal: true');
  const spec = terminal === undefined
    ? loadOciBundle(bundle, { hostCredentials: globals.hostCredentials, runtimeHooks: true })
    : fromOciConfig(terminal.config, { bundle, hostCredentials: globals.hostCredentials, runtimeHooks: true });
  if (spec.options.namespaces !== undefined && (spec.options.namespaces as Record<string, unknown>).pid === 'host') {
    throw new RuntimeError('create needs a pid namespace of the container\'s own (linux.namespaces: pid): the box\'s init holds it at the start gate');
  }
  fs.mkdirSync(globals.root, { recursive: true, mode: 0o700 });
  checkRoot(globals);
  const dir = stateDir(globals, id);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError(`container ${JSON.stringify(id)} exists already`);
    throw error;
  }
  let gate: number | undefined;
  let pty: { master: number; slave: number } | undefined;
  let created = false;
  try {
    const fifo = fifoPath(globals, id);
    makeFifo(fifo);
    // Read-write: opening never blocks, and the box's copy keeps the FIFO
    // open for `start`'s writer after this process is gone.
    gate = fs.openSync(fifo, fs.constants.O_RDWR);
    const annotations = annotationsOf(bundle);
    const state: ContainerState = {
      ociVersion: OCI_VERSION, id, status: 'creating', bundle,
      ...(annotations === undefined ? {} : { annotations }),
      ...(spec.hooks === undefined ? {} : { hooks: spec.hooks }),
    };
    writeState(globals, state);
    // The OCI process is PID 1 of its pid namespace under `run`; a created
    // one is PID 2, under cordon's init, which holds it at the gate,
    // forwards signals and ends with its status.
    let stdio: 'inherit' | number[] = 'inherit';
    if (terminal !== undefined) {
      // The terminal's master goes to the engine (runc's console-socket
      // protocol); its slave is the container's fds 0-2.
      pty = openPty(terminal.size);
      stdio = [pty.slave, pty.slave, pty.slave];
    }
    const box = spawnIsolated(spec.file, spec.args, { ...spec.options, init: true, startGate: gate, dieWithParent: false, stdio });
    await new Promise<void>((resolve, reject) => {
      box.once('spawn', resolve);
      box.once('error', reject);
    });
    // The box outlives this process: nothing of it keeps `create` alive.
    box.unref();
    const pid = box.pid!;
    const detached = detachBox(pid);
    if (detached === undefined) throw new RuntimeError('the container ended while it was created');
    const createdState: ContainerState = { ...state, status: 'created', ...detached };
    writeState(globals, createdState);
    // The container is set up and waits at its gate: prestart (deprecated,
    // still runc's) then createRuntime, in the runtime's namespaces. A
    // failure fails create, which ends the box (below).
    lifecycleHooks('prestart', createdState, 'creating');
    lifecycleHooks('createRuntime', createdState, 'creating');
    if (pty !== undefined) {
      const sent = native().sendFdToSocket(consoleSocket!, pty.master, slavePath(pty.slave) ?? '/dev/console');
      if (sent < 0) throw new RuntimeError(`cannot send the terminal to --console-socket ${consoleSocket!}: errno ${-sent}`);
    }
    if (pidFile !== undefined) writePidFile(pidFile, pid);
    created = true;
    return 0;
  } finally {
    if (gate !== undefined) fs.closeSync(gate);
    if (pty !== undefined) {
      native().closeFd(pty.master);
      native().closeFd(pty.slave);
    }
    if (!created) {
      // A box that got as far as its gate is ours to end.
      const partial = readStateIfAny(globals, id);
      if (partial !== undefined && signalDetached(partial, os.constants.signals.SIGKILL)) {
        // Its cgroups are this create's to remove (no delete will come for it).
        try {
          if (awaitDetachedEnd(partial)) removeDetachedCgroups(partial);
        } catch (error) {
          report(globals, `warning: ${(error as Error).message}`, 'warning'); // create's own failure is the error
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

function readStateIfAny(globals: Globals, id: string): ContainerState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir(globals, id), 'state.json'), 'utf8')) as ContainerState;
  } catch {
    return undefined;
  }
}

/**
 * A config with process.terminal: true, that flag cleared for
 * fromOciConfig (cordon opens the terminal here and hands it over), and
 * its consoleSize; undefined without a terminal.
 */
function terminalOf(bundle: string): { config: Record<string, unknown>; size: { cols: number; rows: number } } | undefined {
  let config: { process?: { terminal?: unknown; consoleSize?: { width?: unknown; height?: unknown } } };
  try {
    config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as typeof config;
  } catch {
    return undefined; // loadOciBundle says what is wrong
  }
  if (config?.process?.terminal !== true) return undefined;
  const { consoleSize, ...rest } = config.process;
  const width = Number(consoleSize?.width ?? 80);
  const height = Number(consoleSize?.height ?? 24);
  const size = { cols: Number.isInteger(width) && width > 0 && width < 65536 ? width : 80, rows: Number.isInteger(height) && height > 0 && height < 65536 ? height : 24 };
  return { config: { ...config, process: { ...rest, terminal: false } }, size };
}

function makeFifo(file: string): void {
  // Node has no mkfifo; mknod(1) would be a process per create. The
  // coreutils tool is everywhere a container engine is.
  const result = spawnSync('mkfifo', ['-m', '0600', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new RuntimeError(`cannot make the start FIFO ${file}: ${(result.stderr ?? String(result.error)).trim()}`);
}

/** Written whole, then renamed: an engine polling the file never reads half a pid. */
function writePidFile(file: string, pid: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, String(pid));
  fs.renameSync(temporary, file);
}

function startContainer(globals: Globals, args: string[]): number {
  const id = checkId(only(args, 'start'));
  const state = readState(globals, id);
  if (state.status !== 'created') throw new RuntimeError(`container ${JSON.stringify(id)} is ${state.status}, not created`);
  openGate(fifoPath(globals, id), id);
  const running: ContainerState = { ...state, status: 'running' };
  writeState(globals, running);
  // poststart: after the process runs, before start returns. A failure
  // stops the container and fails start (runtime spec 1.1 and later).
  try {
    lifecycleHooks('poststart', running, 'running');
  } catch (error) {
    signalDetached(running, os.constants.signals.SIGKILL);
    throw error;
  }
  return 0;
}

/** Lets the container's process through its start gate: one byte into the FIFO, which is then removed. */
function openGate(fifo: string, id: string): void {
  let writer: number;
  try {
    // Non-blocking: ENXIO when no reader is left (the box has ended).
    writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') throw new RuntimeError(`container ${JSON.stringify(id)} is stopped`);
    throw error;
  }
  try {
    fs.writeSync(writer, '0');
  } finally {
    fs.closeSync(writer);
  }
  fs.rmSync(fifo, { force: true });
}

async function runContainer(globals: Globals, args: string[]): Promise<number> {
  const { bundle, pidFile, keep, id } = parseRun(args);
  const spec = loadOciBundle(bundle, { hostCredentials: globals.hostCredentials, runtimeHooks: true });
  // Hooks before the process runs need it held: then it waits at a start
  // gate under cordon's init (PID 2), as after create.
  const gated = spec.hooks?.prestart !== undefined || spec.hooks?.createRuntime !== undefined || spec.hooks?.poststart !== undefined;

  fs.mkdirSync(globals.root, { recursive: true, mode: 0o700 });
  checkRoot(globals);
  try {
    fs.mkdirSync(stateDir(globals, id), { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError(`container ${JSON.stringify(id)} exists already`);
    throw error;
  }
  const annotations = annotationsOf(bundle);
  let state: ContainerState = {
    ociVersion: OCI_VERSION, id, status: 'creating', bundle, ownerPid: process.pid,
    ...(annotations === undefined ? {} : { annotations }),
    ...(spec.hooks === undefined ? {} : { hooks: spec.hooks }),
  };
  let gate: number | undefined;
  let started = false;
  try {
    writeState(globals, state);
    if (gated) {
      makeFifo(fifoPath(globals, id));
      gate = fs.openSync(fifoPath(globals, id), fs.constants.O_RDWR);
    }
    const box = spawnIsolated(spec.file, spec.args, { ...spec.options, stdio: 'inherit', ...(gate === undefined ? {} : { init: true, startGate: gate }) });
    box.on('error', () => undefined); // through box.exited
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => box.kill(signal));
    let status: number;
    try {
      if (gate !== undefined) {
        await new Promise<void>((resolve, reject) => {
          box.once('spawn', resolve);
          box.once('error', reject);
        });
      }
      if (box.pid !== undefined) {
        const startedAt = detachBox(box.pid)?.startTime;
        state = { ...state, status: gate === undefined ? 'running' : 'created', pid: box.pid, ...(startedAt === undefined ? {} : { startTime: startedAt }) };
        writeState(globals, state);
        if (pidFile !== undefined) writePidFile(pidFile, box.pid);
      }
      started = true;
      if (gate !== undefined) {
        try {
          lifecycleHooks('prestart', state, 'creating');
          lifecycleHooks('createRuntime', state, 'creating');
          openGate(fifoPath(globals, id), id);
          state = { ...state, status: 'running' };
          writeState(globals, state);
          lifecycleHooks('poststart', state, 'running');
        } catch (error) {
          box.kill('SIGKILL');
          throw error;
        }
      }
      const result = await box.exited;
      status = result.signal !== null ? 128 + ((os.constants.signals as Record<string, number>)[result.signal] ?? 0) : (result.code ?? 1);
    } catch (error) {
      report(globals, messageOf(error));
      await box.exited.catch(() => undefined);
      status = 1;
    }
    if (started) poststop(globals, state);
    if (keep && fs.existsSync(stateDir(globals, id))) writeState(globals, { ...state, status: 'stopped' });
    return status;
  } finally {
    if (gate !== undefined) fs.closeSync(gate);
    if (!keep) fs.rmSync(stateDir(globals, id), { recursive: true, force: true });
  }
}

/** The runtime spec's features document (features.md), for what cordon oci does today. */
function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'poststart', 'poststop'],
    mountOptions: ['ro', 'rw', 'bind', 'rbind', 'noexec', 'exec', 'dev', 'nosuid', 'nodev', 'private', 'rprivate', 'relatime', 'norelatime', 'strictatime', 'noatime', 'mode', 'size', 'uid', 'gid', 'hidepid'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_TRAP'],
        operators: [],
        archs: [process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64'],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.opencontainers.runtime-spec.features': 'cordon oci: create, start, run, state, kill, delete, ps, exec --process, pause, resume, features' },
  };
}
