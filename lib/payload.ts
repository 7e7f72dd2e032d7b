// What the box runs: the file, its args, argv0, environment and working
// directory → validated values and the last plan steps (chdir, exec). The
// C++ half is native/child/exec.cc (the PATH candidates tried in order).
import { fileURLToPath } from 'node:url';

import { checkAbsolutePath, checkString, invalidType, invalidValue, ownSnapshot } from './internal/checks';
import { step, type PlanStep } from './internal/steps';
import { listenEnv } from './sockets';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where execvp looks when the environment has no PATH. */
const EXECVP_DEFAULT_PATH = '/bin:/usr/bin';
/** execve's limit on argv and envp together, pointers included: 3/4 of _STK_LIM (less with a smaller stack rlimit). */
const MAX_EXEC_BYTES = 6 * 1024 * 1024;
/** execve's MAX_ARG_STRLEN: one argument or variable, its NUL included (32 pages). */
const MAX_EXEC_STRING = 32 * 4096;

export interface ResolvedPayload {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  argv0: string;
}

/** A `file:` URL as a path, as child_process takes one for `cwd`; anything else as it is. */
function pathOfUrl(option: string, value: unknown): unknown {
  if (!(value instanceof URL)) return value;
  try {
    return fileURLToPath(value);
  } catch (error) {
    throw invalidValue(option, value.href, `must be a file: URL (${(error as Error).message})`);
  }
}

/** spawnIsolated's `file` and `args`. */
export function checkArgs(file: unknown, args: unknown): { file: string; args: string[] } {
  const checkedFile = checkString('file', pathOfUrl('file', file));
  if (args === undefined) return { file: checkedFile, args: [] };
  args = ownSnapshot(args, 'args');
  if (!Array.isArray(args)) throw invalidType('args', 'an array of strings', args);
  return { file: checkedFile, args: args.map((arg: unknown, i) => checkString(`args[${i}]`, arg, { allowEmpty: true })) };
}

export function checkEnv(value: unknown): Record<string, string> {
  if (value === undefined) return { PATH: DEFAULT_PATH };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidType('env', 'an object of strings', value);
  }
  // No prototype: a variable named __proto__ is a variable like any other.
  const env = Object.create(null) as Record<string, string>;
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (entry === undefined) continue;
    const option = `env.${key}`;
    if (key.length === 0 || key.includes('=') || key.includes('\0')) {
      throw invalidValue(option, key, 'is not a valid variable name (empty, or contains "=" or a null byte)');
    }
    env[key] = checkString(option, entry, { allowEmpty: true });
  }
  return env;
}

/** The env, cwd and argv0 options, beside the checked file and args. */
export function validatePayload(command: { file: string; args: string[] }, o: { env?: unknown; cwd?: unknown; argv0?: unknown }): ResolvedPayload {
  const env = checkEnv(o.env);
  const cwd = o.cwd === undefined ? '/' : checkAbsolutePath('cwd', pathOfUrl('cwd', o.cwd));
  const argv0 = o.argv0 === undefined ? command.file : checkString('argv0', o.argv0, { allowEmpty: true });
  return { ...command, env, cwd, argv0 };
}

/** What execve would refuse with E2BIG on any kernel, refused here instead. */
export function checkExecSize(payload: Readonly<ResolvedPayload>): void {
  let total = 0;
  const count = (option: string, text: string): void => {
    const bytes = Buffer.byteLength(text) + 1;
    if (bytes > MAX_EXEC_STRING) {
      throw invalidValue(option, `${bytes} bytes`, `is longer than execve takes (${MAX_EXEC_STRING} bytes with its NUL, MAX_ARG_STRLEN)`);
    }
    total += bytes + 8;
  };
  count('argv0', payload.argv0);
  payload.args.forEach((arg, i) => count(`args[${i}]`, arg));
  const argvBytes = total;
  for (const [key, value] of Object.entries(payload.env)) count(`env.${key}`, `${key}=${value}`);
  if (total > MAX_EXEC_BYTES) {
    throw invalidValue(argvBytes > MAX_EXEC_BYTES ? 'args' : 'env', `${total} bytes`,
      `makes argv and envp larger than execve takes (${MAX_EXEC_BYTES} bytes, strings and pointers, on any kernel)`);
  }
}

/** The paths execvp would try for `file`, in order: the PATH search is done here, not in the child. */
export function execCandidates(file: string, env: Readonly<Record<string, string>>): string[] {
  if (file.includes('/')) return [file];
  const searchPath = env.PATH ?? EXECVP_DEFAULT_PATH;
  return searchPath.split(':').map((dir) => (dir === '' ? file : `${dir.replace(/\/+$/, '')}/${file}`));
}

export function chdirSteps(cwd: string): PlanStep[] {
  return [step('chdir', { name: 'chdir', syscall: 'chdir', kind: 'chdir', path: cwd }, { path: cwd })];
}

/**
 * The exec: of the payload, or of the init (`initSlot`) that runs it. The
 * names of listening sockets (fds 3 and up) go into its environment.
 */
export function execSteps(payload: Readonly<ResolvedPayload>, listenNames: readonly string[] | undefined, initSlot: number | undefined): PlanStep[] {
  const argv = [payload.argv0, ...payload.args];
  const env = listenNames && listenNames.length > 0 ? { ...payload.env, ...listenEnv(listenNames) } : payload.env;
  const envp = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  const candidates = execCandidates(payload.file, payload.env);
  const exec = { name: 'execve', syscall: `spawn ${payload.file}`, kind: 'exec', path: payload.file } as const;
  if (initSlot !== undefined) return [step('execInit', { ...exec, slot: initSlot }, { argv, envp, candidates })];
  return [step('exec', exec, { argv, envp, candidates })];
}
