// The OCI runtime spec's lifecycle hooks (config.json `hooks`), run by
// `cordon oci` (lib/oci/runtime.ts) at the points the spec names. Each is
// run in the runtime's namespaces (the host's, where `cordon oci` runs):
// prestart and createRuntime during `create` once the container is set up
// and waits at its start gate, poststart during `start` once the gate is
// open, poststop during `delete` once the container is gone. createContainer
// and startContainer run in the container's namespaces, the first with a
// path of the host's before pivot_root: cordon sets the box up in one
// freestanding plan with no point to stop at, so both are refused by JSON
// path rather than run somewhere the spec does not say.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { badValue } from './errors';
import { Fields } from './fields';

/** One hook: `path` (absolute) run with `args` (argv, argv[0] included), exactly `env`, at most `timeout` seconds. */
export interface OciHook {
  readonly path: string;
  readonly args?: readonly string[];
  readonly env?: readonly string[];
  readonly timeout?: number;
}

/** The hooks cordon runs, by the spec's names. */
export interface OciHooks {
  readonly prestart?: readonly OciHook[];
  readonly createRuntime?: readonly OciHook[];
  readonly poststart?: readonly OciHook[];
  readonly poststop?: readonly OciHook[];
}

export type OciHookName = keyof OciHooks;

const RUN: readonly OciHookName[] = ['prestart', 'createRuntime', 'poststart', 'poststop'];
const IN_CONTAINER = 'it runs in the container\'s namespaces before the process starts (createContainer: with a path of the host\'s, before pivot_root); cordon sets a container up in one plan its child walks without a point to stop at for a hook, and does not run it elsewhere';

/** Checks the config's `hooks` (an OciConfigError naming the field otherwise); undefined when there are none. */
export function parseHooks(value: unknown): OciHooks | undefined {
  if (value === undefined || value === null) return undefined;
  const hooks = Fields.of(value, 'hooks');
  hooks.refuse('createContainer', IN_CONTAINER);
  hooks.refuse('startContainer', IN_CONTAINER);
  const out: Partial<Record<OciHookName, OciHook[]>> = {};
  for (const name of RUN) {
    const list = hooks.array(name).map((entry, i) => parseHook(Fields.of(entry, `hooks.${name}[${i}]`)));
    if (list.length > 0) out[name] = list;
  }
  hooks.done();
  return Object.keys(out).length === 0 ? undefined : out;
}

function parseHook(hook: Fields): OciHook {
  const file = hook.string('path');
  if (file === undefined || !path.isAbsolute(file)) throw badValue(hook.path('path'), file, 'must be an absolute path (the runtime spec says so)');
  const args = hook.strings('args');
  const env = hook.strings('env');
  for (const [i, entry] of env.entries()) if (!entry.includes('=')) throw badValue(`${hook.path('env')}[${i}]`, entry, 'must be NAME=VALUE');
  const timeout = hook.integer('timeout', 1, 2 ** 31 - 1);
  hook.done();
  return { path: file, ...(args.length === 0 ? {} : { args }), ...(env.length === 0 ? {} : { env }), ...(timeout === undefined ? {} : { timeout }) };
}

/** A hook that failed: its name and index, and what happened. */
export class OciHookError extends Error {
  constructor(
    readonly hook: string,
    message: string,
  ) {
    super(`hook ${hook} failed: ${message}`);
    this.name = 'OciHookError';
  }
}

/**
 * Runs the hooks of one point in order, each with the container's state
 * JSON on its stdin, and throws an OciHookError for the first that fails
 * (exits non-zero, is killed, cannot start, or outlives its timeout: it is
 * then killed with SIGKILL).
 */
export function runHooks(name: OciHookName, hooks: OciHooks | undefined, state: object): void {
  for (const [i, hook] of (hooks?.[name] ?? []).entries()) {
    const where = `hooks.${name}[${i}] (${hook.path})`;
    const argv = hook.args ?? [hook.path];
    const env = Object.fromEntries((hook.env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
    const result = spawnSync(hook.path, argv.slice(1), {
      argv0: argv[0] ?? hook.path,
      env,
      input: JSON.stringify(state),
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: '/',
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 20,
      ...(hook.timeout === undefined ? {} : { timeout: hook.timeout * 1000 }),
    });
    const said = `${result.stderr?.toString('utf8') ?? ''}${result.stdout?.toString('utf8') ?? ''}`.trim().slice(0, 500);
    const tail = said === '' ? '' : `: ${said}`;
    // A hook need not read its stdin: EPIPE on the state is no failure.
    if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code !== 'EPIPE') {
      const code = (result.error as NodeJS.ErrnoException).code;
      if (code === 'ETIMEDOUT') throw new OciHookError(where, `timed out after ${hook.timeout} s (killed)${tail}`);
      throw new OciHookError(where, `${code ?? result.error.message}${tail}`);
    }
    if (result.signal !== null) throw new OciHookError(where, `killed by ${result.signal}${tail}`);
    if (result.status !== 0) throw new OciHookError(where, `exit status ${result.status}${tail}`);
  }
}
