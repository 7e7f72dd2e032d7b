// `cordon oci ...`: the start of an OCI runtime command line (runc's verbs),
// with container state under --root. Done: run (in the foreground, the CLI
// the box's parent), state, kill, delete, features. Not yet: create/start
// (a box that waits at a start gate before its exec, reported created to
// the parent: an engine step cordon does not have), exec, ps, pause,
// resume: refused with a message saying so.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CAPABILITIES } from '../credentials';
import type { CordonError } from '../errors';
import { spawnIsolated } from '../spawn';
import { loadOciBundle } from './config';

/** The spec version of the state cordon reports. */
const OCI_VERSION = '1.2.0';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

/** What `state` prints and `<root>/<id>/state.json` holds (the runtime spec's state, plus what cordon checks). */
interface ContainerState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
  /** The pid's start time (/proc/PID/stat field 22): a reused pid is not the container's. */
  startTime?: string;
  /** The pid of the `cordon oci run` process that owns the box. */
  ownerPid?: number;
}

class RuntimeError extends Error {}

interface Globals {
  root: string;
  log: string | undefined;
  logFormat: 'text' | 'json';
}

function defaultRoot(): string {
  if (process.geteuid?.() === 0) return '/run/cordon-oci';
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return path.join(runtimeDir !== undefined && runtimeDir !== '' ? runtimeDir : os.tmpdir(), `cordon-oci-${process.geteuid?.() ?? 0}`);
}

function report(globals: Globals | undefined, message: string): void {
  process.stderr.write(`cordon oci: ${message}\n`);
  if (globals?.log === undefined) return;
  const line = globals.logFormat === 'json'
    ? `${JSON.stringify({ level: 'error', msg: message, time: new Date().toISOString() })}\n`
    : `${new Date().toISOString()} error: ${message}\n`;
  try {
    fs.appendFileSync(globals.log, line);
  } catch {
    // the log is best effort; stderr has the message
  }
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
    report(globals, (error as Error).message);
    return 1;
  }
}

function parseGlobals(argv: string[]): { globals: Globals; rest: string[] } {
  const globals: Globals = { root: defaultRoot(), log: undefined, logFormat: 'text' };
  let i = 0;
  for (; i < argv.length; i++) {
    const [flag, inline] = splitFlag(argv[i]!);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new RuntimeError(`${flag} needs a value`);
      return next;
    };
    if (!flag.startsWith('-')) break;
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
      case '--systemd-cgroup':
        throw new RuntimeError('--systemd-cgroup: cordon makes and removes its boxes\' cgroups itself (cgroupfs); it does not ask systemd for them');
      default:
        throw new RuntimeError(`unknown global option ${flag}`);
    }
  }
  return { globals, rest: argv.slice(i) };
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
    case 'state':
      process.stdout.write(`${JSON.stringify(publicState(readState(globals, checkId(only(rest, 'state')))), null, 2)}\n`);
      return 0;
    case 'kill':
      return killContainer(globals, rest);
    case 'delete':
      return deleteContainer(globals, rest);
    case 'features':
      process.stdout.write(`${JSON.stringify(features(), null, 2)}\n`);
      return 0;
    case 'create':
    case 'start':
    case 'exec':
    case 'ps':
    case 'pause':
    case 'resume':
    case 'update':
    case 'checkpoint':
    case 'restore':
      throw new RuntimeError(`"${verb}" is not implemented yet: cordon oci runs a container in the foreground (run), and reports, signals and deletes it (state, kill, delete)`);
    case undefined:
      throw new RuntimeError('a command is needed: run, state, kill, delete, features');
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

/** The pid's start time, or undefined when it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command (in parentheses, which may hold spaces): state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(state: ContainerState): boolean {
  return state.pid !== undefined && state.startTime !== undefined && startTime(state.pid) === state.startTime;
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
  if (state.status === 'running' && !alive(state)) state.status = 'stopped';
  return state;
}

function publicState(state: ContainerState): Omit<ContainerState, 'startTime' | 'ownerPid'> {
  const { startTime: _startTime, ownerPid: _ownerPid, ...rest } = state;
  return state.status === 'stopped' ? { ...rest, pid: 0 } : rest;
}

function signalNumber(text: string | undefined): number {
  if (text === undefined) return os.constants.signals.SIGTERM;
  if (/^\d+$/.test(text)) return Number(text);
  const name = (text.startsWith('SIG') ? text : `SIG${text}`).toUpperCase();
  const number = (os.constants.signals as Record<string, number | undefined>)[name];
  if (number === undefined) throw new RuntimeError(`unknown signal ${JSON.stringify(text.slice(0, 40))}`);
  return number;
}

function killContainer(globals: Globals, args: string[]): number {
  const positional = args.filter((arg) => !arg.startsWith('-'));
  if (positional.length < 1 || positional.length > 2) throw new RuntimeError('kill takes a container id and a signal');
  const state = readState(globals, checkId(positional[0]));
  const signal = signalNumber(positional[1]);
  if (state.status !== 'running' && state.status !== 'created') throw new RuntimeError(`container ${JSON.stringify(state.id)} is ${state.status}`);
  process.kill(state.pid!, signal);
  return 0;
}

function deleteContainer(globals: Globals, args: string[]): number {
  const force = args.includes('--force') || args.includes('-f');
  const id = checkId(only(args, 'delete'));
  const state = readState(globals, id);
  if (state.status === 'running' || state.status === 'created') {
    if (!force) throw new RuntimeError(`container ${JSON.stringify(id)} is ${state.status}: stop it first, or delete --force`);
    // The box is the run process's child: SIGKILL to it, and the run
    // process (its owner) reaps it and releases its cgroup and mounts.
    process.kill(state.pid!, 'SIGKILL');
  }
  fs.rmSync(stateDir(globals, id), { recursive: true, force: true });
  return 0;
}

async function runContainer(globals: Globals, args: string[]): Promise<number> {
  let bundle = process.cwd();
  let pidFile: string | undefined;
  let keep = false;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = splitFlag(args[i]!);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new RuntimeError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--bundle':
      case '-b':
        bundle = path.resolve(value());
        break;
      case '--pid-file':
        pidFile = path.resolve(value());
        break;
      case '--keep':
        keep = true;
        break;
      case '--no-pivot':
      case '--no-new-keyring':
        break; // cordon always pivots; it makes no keyring
      case '--detach':
      case '-d':
      case '--console-socket':
      case '--preserve-fds':
      case '--no-subreaper':
        throw new RuntimeError(`run ${flag} is not implemented yet`);
      default:
        if (flag.startsWith('-')) throw new RuntimeError(`unknown option of run: ${flag}`);
        positional.push(flag);
    }
  }
  if (positional.length !== 1) throw new RuntimeError('run takes one container id');
  const id = checkId(positional[0]);
  const spec = loadOciBundle(bundle);

  fs.mkdirSync(globals.root, { recursive: true, mode: 0o700 });
  checkRoot(globals);
  try {
    fs.mkdirSync(stateDir(globals, id), { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError(`container ${JSON.stringify(id)} exists already`);
    throw error;
  }
  const state: ContainerState = { ociVersion: OCI_VERSION, id, status: 'creating', bundle, ownerPid: process.pid };
  try {
    writeState(globals, state);
    const box = spawnIsolated(spec.file, spec.args, { ...spec.options, stdio: 'inherit' });
    box.on('error', () => undefined); // through box.exited
    if (box.pid !== undefined) {
      const started = startTime(box.pid);
      writeState(globals, { ...state, status: 'running', pid: box.pid, ...(started === undefined ? {} : { startTime: started }) });
      if (pidFile !== undefined) fs.writeFileSync(pidFile, String(box.pid));
    }
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => box.kill(signal));
    let status: number;
    try {
      const result = await box.exited;
      status = result.signal !== null ? 128 + ((os.constants.signals as Record<string, number>)[result.signal] ?? 0) : (result.code ?? 1);
    } catch (error) {
      report(globals, (error as Error).message);
      status = 1;
    }
    if (keep && fs.existsSync(stateDir(globals, id))) writeState(globals, { ...state, status: 'stopped' });
    return status;
  } finally {
    if (!keep) fs.rmSync(stateDir(globals, id), { recursive: true, force: true });
  }
}

/** The runtime spec's features document (features.md), for what cordon oci does today. */
function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [],
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
    annotations: { 'org.opencontainers.runtime-spec.features': 'cordon oci: run, state, kill, delete, features' },
  };
}
