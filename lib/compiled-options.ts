// Compiled options: options validated once, and plans built and encoded
// once for each shape of what a box acquires (a pool hit or miss, a host
// view); every box then acquires its own resources as any spawn does
// (lib/spawn.ts's acquire) and gets a copy of the encoded plan with only
// its own parts patched in:
//   - the fd behind each slot (the plan names slots, never fd numbers);
//   - the exec step (its file, args and env, appended to the string area);
//   - the terminal's path (/dev/pts/N), when the box has a terminal.
// A plan is reused only when it was built from a runtime of the same shape,
// every slot of it is one of the acquired fds, and no fd number appears in
// a step; any other plan (a bridge box's veth names) is built per box.
// compileBox() (lib/template.ts) hands them out as templates; spawnIsolated()
// reuses them for options it has seen before (lib/options-cache.ts).
import { CordonOptionError } from './errors';
import { checkString, invalidType, invalidValue, isPlainObject, ownSnapshot, rejectUnknownKeys, unreadable } from './internal/checks';
import { encodePlan, patchSteps, type EncodedPlan } from './internal/encode';
import type { PlanStep } from './internal/steps';
import type { BoxOverrides } from './options';
import { buildPlan, type Caller, type Plan, type RuntimeFds } from './plan';
import { checkArgs, checkEnv, checkExecSize, execSteps } from './payload';
import { listenVariables } from './sockets';
import { validateCgroupOption } from './cgroups/tenant';
import { validateNetnsPool } from './pool';
import { streamFd } from './stdio';
import { validateOptions, type ValidatedOptions } from './validate';

/** A box's plan and its encoding, from what was acquired for the box. */
export interface PlannedBox {
  plan: Plan;
  encoded: EncodedPlan;
}

/**
 * Plans a box from its options and what was acquired for it. Pure: it
 * opens nothing. spawnIsolated() plans a box afresh unless it has compiled
 * its options; compiled options reuse their first plan and patch the rest.
 */
export type Planner = (validated: ValidatedOptions, runtime: RuntimeFds, caller: Caller) => PlannedBox;

/** buildPlan, then encodePlan: every box planned from scratch. */
export const planFresh: Planner = (validated, runtime, caller) => {
  const plan = buildPlan(validated, runtime, caller);
  return { plan, encoded: encodePlan(plan) };
};

/**
 * The error for an `args` argument that is no array: as child_process, a
 * word about args, not options (spawnIsolated(file, 'x'), or an object in
 * the args place when options follow).
 */
export function argsNotAnArray(args: unknown): CordonOptionError {
  return typeof args === 'object' || typeof args === 'undefined'
    ? new CordonOptionError('ERR_INVALID_ARG_TYPE', 'args', 'The "args" argument must be an array of strings')
    : new CordonOptionError('ERR_INVALID_ARG_TYPE', 'args', `The "args" argument must be an array of strings. Received type ${typeof args}`);
}

/** The file a template's options are validated with, before any box names its own. */
const NO_FILE_YET = '/';
const OVERRIDE_KEYS: readonly (keyof BoxOverrides)[] = ['env', 'argv0', 'signal'];

/**
 * Options validated once (from a snapshot: a getter cannot answer them one
 * thing and their boxes another) and the plans of their boxes. Per box
 * only the file, args and overrides are checked, with validateOptions()'s
 * errors; live objects are checked again (recheckLive).
 */
export class CompiledOptions {
  readonly base: ValidatedOptions;
  /** The planner every box of these options is planned with. */
  readonly planner: Planner;
  readonly #fixedArgv0: string | undefined;
  readonly #cgroupOption: unknown;
  // The last box's options, for a box with the same file and args and no
  // overrides (a supervisor starting the same command again): checked then.
  #last: { file: unknown; args: readonly string[]; validated: ValidatedOptions } | undefined;

  /** `given`: an ownSnapshot() of the options; throws validateOptions()'s CordonOptionError for bad ones. */
  constructor(given: unknown) {
    this.base = validateOptions(NO_FILE_YET, [], given);
    // argv0 given once is every box's; else each box's file, as spawnIsolated's default.
    this.#fixedArgv0 = readOwnOption(given, 'argv0') === undefined ? undefined : this.base.argv0;
    this.#cgroupOption = this.base.cgroupTenant === undefined ? undefined : readOwnOption(given, 'cgroup');
    this.planner = new PlanCache().planner;
  }

  /** A box's validated options from its file, args and overrides as given (a template's spawn()). */
  validatedFor(file: unknown, args: unknown, overrides: unknown): ValidatedOptions {
    recheckLive(this.base, this.#cgroupOption);
    const last = this.#last;
    if (overrides === undefined && last !== undefined && typeof file === 'string' && file === last.file && sameArgs(args, last.args)) return last.validated;
    let isArray: boolean;
    try {
      isArray = Array.isArray(args);
    } catch (error) {
      throw unreadable('args', error); // a revoked Proxy
    }
    if (args !== undefined && !isArray) throw argsNotAnArray(args);
    const validated = Object.freeze(boxOptions(this.base, this.#fixedArgv0, checkArgs(file, args), overrides));
    this.#last = overrides === undefined && typeof file === 'string' ? { file, args: validated.args, validated } : undefined;
    return validated;
  }

  /**
   * A box's validated options from its file and args checked already
   * (checkArgs) and its AbortSignal, the one option that may differ per
   * box (spawnIsolated() with options it compiled).
   */
  validatedWith(command: { file: string; args: string[] }, signal: AbortSignal | undefined): ValidatedOptions {
    recheckLive(this.base, this.#cgroupOption);
    const last = this.#last;
    if (signal === undefined && last !== undefined && command.file === last.file && sameArgs(command.args, last.args)) return last.validated;
    const validated = Object.freeze(boxOptions(this.base, this.#fixedArgv0, command, undefined, signal));
    this.#last = signal === undefined ? { file: command.file, args: validated.args, validated } : undefined;
    return validated;
  }
}

/**
 * What validateOptions() checked of live objects, which may have changed
 * since the template was compiled, checked again with the same errors: a
 * closed pool or tenant, a stream that closed (its fd number could since
 * name another file: never passed on) or has another fd now.
 */
function recheckLive(base: ValidatedOptions, cgroupOption: unknown): void {
  if (base.netnsPool?.closed === true) validateNetnsPool(base.netnsPool, { namespaces: base.namespaces, uidMap: base.uidMap, gidMap: base.gidMap });
  if (base.cgroupTenant?.closed === true) validateCgroupOption(cgroupOption);
  base.stdio.forEach((entry, i) => {
    if (entry.kind !== 'stream' || streamFd(entry.stream) === entry.fd) return;
    throw invalidValue(`stdio[${i}]`, 'stream', streamFd(entry.stream) === undefined
      ? 'is a stream without an underlying fd (open it first)'
      : `is a stream whose fd changed since the template was compiled (${entry.fd}, now ${streamFd(entry.stream)}): compile a new template`);
  });
}

// `args` as given is `checked` (own elements, no holes, no getters that throw).
function sameArgs(args: unknown, checked: readonly string[]): boolean {
  if (args === undefined) return checked.length === 0;
  try {
    if (!Array.isArray(args) || args.length !== checked.length) return false;
    for (let i = 0; i < checked.length; i++) {
      if (!Object.hasOwn(args, i) || args[i] !== checked[i]) return false;
    }
    return true;
  } catch {
    return false; // a Proxy that throws: checkArgs() says so
  }
}

// An option of the template's snapshot, to tell "not given" from a default.
function readOwnOption(options: unknown, key: string): unknown {
  if (typeof options !== 'object' || options === null) return undefined;
  return Object.hasOwn(options, key) ? (options as Record<string, unknown>)[key] : undefined;
}

/**
 * One box's validated options: the template's, with its file and args
 * (checked by checkArgs) and overrides checked as validateOptions() checks
 * them (same errors); `signal`, when given, is the box's AbortSignal. A
 * copy without prototype, like validateOptions() returns.
 */
function boxOptions(
  base: ValidatedOptions, fixedArgv0: string | undefined, checked: { file: string; args: string[] }, overrides: unknown, signalGiven?: AbortSignal,
): ValidatedOptions {
  let env = base.env;
  let argv0 = fixedArgv0 ?? checked.file;
  let signal = signalGiven ?? base.signal;
  if (overrides !== undefined) {
    const given = ownSnapshot(overrides, '');
    if (!isPlainObject(given)) throw invalidType('overrides', 'an object', given);
    rejectUnknownKeys(given, OVERRIDE_KEYS, '');
    if (given.env !== undefined) {
      env = checkEnv(given.env);
      Object.assign(env, listenVariables(base.listen, env));
    }
    if (given.argv0 !== undefined) argv0 = checkString('argv0', given.argv0, { allowEmpty: true });
    if (given.signal !== undefined) {
      if (!(given.signal instanceof AbortSignal)) throw invalidType('signal', 'an AbortSignal', given.signal);
      signal = given.signal;
    }
  }
  checkExecSize({ file: checked.file, args: checked.args, argv0, env, cwd: base.cwd });
  return Object.assign(Object.create(null) as ValidatedOptions, base, { file: checked.file, args: checked.args, argv0, env, signal });
}

/** A plan built once for one shape of runtime, with what each box patches. */
interface CompiledPlan {
  plan: Plan;
  buffer: Buffer;
  /** For each slot, the index of its fd among the runtime's fds (in tokenize order). */
  slotSources: readonly number[];
  /** Whether slot i is the runtime's fd i, for every slot (the box's fds are its slots as acquired). */
  slotsInOrder: boolean;
  /** The exec step's index, made per box. */
  execIndex: number;
  /** Steps naming the terminal's path, patched per box. */
  terminalSteps: readonly number[];
  /** Steps whose labels name the box's cgroup files (cgroupPathToken), given each box's paths. */
  cgroupSteps: readonly number[];
  /** The last box's patched plan, reused by a box with the same exec and terminal. */
  last?: PatchedPlan;
}

/** A compiled plan with one box's exec and terminal in it. */
interface PatchedPlan {
  readonly steps: readonly PlanStep[];
  readonly buffer: Buffer;
  /** Whether a box with these options and terminal has the same exec step and terminal path. */
  serves(validated: ValidatedOptions, terminal: string | undefined): boolean;
}

/** Plans kept per template: a pool hit and a miss, a host view refreshed. */
const MAX_SHAPES = 4;
/** Stand-ins for fds while a template's plan is built: above any fd (RLIMIT_NOFILE is at most 2^30). */
const FD_TOKEN = 0x70000000;
const FD_TOKEN_TEXT = String(FD_TOKEN).slice(0, 6);
/**
 * @internal (exported for tests) Stand-in for the terminal's path (its
 * /dev/pts number differs per box), replaced in every string of the steps
 * that carry it. It holds a NUL, which no option string may (checkString),
 * so no option can be spelled like it and be rewritten after validation.
 */
export const TERMINAL_TOKEN = '\0cordon terminal\0';

/**
 * @internal Stand-in for the path of a box's `index`th cgroup file (each
 * box has a cgroup of its own, so its own paths), which steps name only in
 * their labels, for errors: replaced per box in the plan's steps, never in
 * what is encoded (a plan that encodes one is not reused). NUL, like
 * TERMINAL_TOKEN, so no option string can be spelled like it.
 */
export function cgroupPathToken(index: number): string {
  return `\0cordon cgroup ${index}\0`;
}
const CGROUP_TOKEN_TEXT = '\0cordon cgroup ';

/** A template's plans by runtime shape. Its `planner` is the one every box of the template is planned with. */
export class PlanCache {
  readonly #plans = new Map<string, CompiledPlan | null>();

  readonly planner: Planner = (validated, runtime, caller) => {
    // A bridge lease is new per box (veth names, an address): nothing to reuse.
    if (runtime.bridge !== undefined) return planFresh(validated, runtime, caller);
    const fds: number[] = [];
    // The common runtime keyed in one pass (no shape built unless a plan is compiled); any other through its shape.
    let shape: RuntimeFds | undefined;
    let key = quickShapeKey(runtime, caller, fds);
    if (key === undefined) {
      fds.length = 0;
      shape = tokenize(runtime, fds);
      if (shape === undefined) return planFresh(validated, runtime, caller);
      key = shapeKey(shape, caller);
    }
    let compiled = this.#plans.get(key);
    if (compiled === undefined) {
      if (shape === undefined) {
        fds.length = 0;
        shape = tokenize(runtime, fds)!;
      }
      compiled = compile(validated, shape, caller, fds.length);
      if (this.#plans.size >= MAX_SHAPES) this.#plans.delete(this.#plans.keys().next().value!);
      this.#plans.set(key, compiled);
    }
    if (compiled === null) return planFresh(validated, runtime, caller);
    return instantiate(compiled, validated, runtime, fds);
  };

  /** @internal How many plans are kept (for tests). */
  get size(): number {
    return this.#plans.size;
  }
}

/** One box's plan from a compiled one: its fds, its exec, its terminal. */
function instantiate(compiled: CompiledPlan, validated: ValidatedOptions, runtime: RuntimeFds, fds: number[]): PlannedBox {
  const terminal = runtime.terminal?.slavePath;
  let patched = compiled.last;
  if (patched === undefined || !patched.serves(validated, terminal)) {
    patched = patch(compiled, validated, runtime.listenNames, terminal);
    compiled.last = patched;
  }
  const slotFds = compiled.slotsInOrder && fds.length === compiled.slotSources.length ? fds : compiled.slotSources.map((source) => fds[source]!);
  let steps = patched.steps as PlanStep[];
  if (compiled.cgroupSteps.length > 0) {
    // Labels only (the encoded plan names no path): the buffer stays the compiled one.
    steps = steps.slice();
    const procs = runtime.cgroup?.procs ?? [];
    for (const index of compiled.cgroupSteps) steps[index] = withCgroupPaths(steps[index]!, procs);
  }
  const plan: Plan = { ...compiled.plan, steps, fds: slotFds, spawnargs: [validated.file, ...validated.args] };
  return { plan, encoded: { buffer: patched.buffer, fds: Int32Array.from(slotFds) } };
}

/**
 * The compiled plan with a box's exec and terminal patched in. Kept for
 * the next box: a template that runs the same file, args and env each time
 * patches once (the buffer is never written after this; the native spawn
 * copies it).
 */
function patch(compiled: CompiledPlan, validated: ValidatedOptions, listenNames: readonly string[] | undefined, terminal: string | undefined): PatchedPlan {
  const steps = compiled.plan.steps.slice();
  const replacements = new Map<number, PlanStep>();
  const exec = execSteps(validated, listenNames, compiled.plan.steps[compiled.execIndex]!.slot)[0]!;
  steps[compiled.execIndex] = exec;
  replacements.set(compiled.execIndex, exec);
  for (const index of compiled.terminalSteps) {
    if (terminal === undefined) throw new Error('cordon: a template plan names a terminal the box has not');
    const withPath = substitute(steps[index]!, TERMINAL_TOKEN, terminal);
    steps[index] = withPath;
    replacements.set(index, withPath);
  }
  Object.freeze(steps);
  const { file, args, argv0, env } = validated;
  return {
    steps,
    buffer: patchSteps(compiled.buffer, replacements),
    // The env object is the template's own (or an override's fresh copy): the same object is the same env.
    serves: (other, otherTerminal) => other.file === file && other.argv0 === argv0 && other.env === env && otherTerminal === terminal &&
      other.args.length === args.length && other.args.every((arg, i) => arg === args[i]),
  };
}

/**
 * The plan for a runtime shape, or null when it cannot be reused: a slot
 * that is no acquired fd, or an fd number inside a step (a number or a
 * string), would carry one box's fd into the next.
 */
function compile(validated: ValidatedOptions, shape: RuntimeFds, caller: Caller, fdCount: number): CompiledPlan | null {
  const plan = buildPlan(validated, shape, caller);
  const isToken = (value: number): boolean => value >= FD_TOKEN && value < FD_TOKEN + fdCount;
  const slotSources = plan.fds.map((fd) => (isToken(fd) ? fd - FD_TOKEN : -1));
  if (slotSources.includes(-1)) return null;
  const execIndexes = plan.steps.flatMap((entry, i) => (entry.op === 'exec' || entry.op === 'execInit' ? [i] : []));
  if (execIndexes.length !== 1) return null;
  const terminalSteps: number[] = [];
  const cgroupSteps: number[] = [];
  for (const [i, entry] of plan.steps.entries()) {
    if ((entry.num ?? []).some(isToken)) return null;
    const texts = stepTexts(entry);
    if (texts.some((text) => text.includes(FD_TOKEN_TEXT))) return null;
    if (texts.some((text) => text.includes(TERMINAL_TOKEN))) terminalSteps.push(i);
    if (texts.some((text) => text.includes(CGROUP_TOKEN_TEXT))) {
      // Patched in the step's labels only (withCgroupPaths), not in the buffer: a cgroup path anywhere else is no label.
      const elsewhere = Object.entries(entry).some(([field, value]) => !CGROUP_LABELS.has(field) && stepTexts({ [field]: value } as unknown as PlanStep).some((text) => text.includes(CGROUP_TOKEN_TEXT)));
      if (elsewhere) return null;
      cgroupSteps.push(i);
    }
  }
  if (terminalSteps.includes(execIndexes[0]!)) return null;
  // Only a box with a terminal has the stand-in in its plan.
  if (terminalSteps.length > 0 && shape.terminal?.slavePath !== TERMINAL_TOKEN) return null;
  const slotsInOrder = slotSources.length === fdCount && slotSources.every((source, i) => source === i);
  return { plan, buffer: encodePlan(plan).buffer, slotSources, slotsInOrder, execIndex: execIndexes[0]!, terminalSteps, cgroupSteps };
}

// Every string a step carries to the child or into an error: its own
// string fields, whatever their name (str, lists, name, path, source, ...).
function stepTexts(entry: PlanStep): string[] {
  const texts: string[] = [];
  const gather = (value: unknown): void => {
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach(gather);
  };
  for (const value of Object.values(entry)) gather(value);
  return texts;
}

const CGROUP_TOKENS = /\0cordon cgroup (\d+)\0/g;
// The fields of a step that are only its labels (for errors and timings), never encoded.
const CGROUP_LABELS = new Set(['name', 'path', 'source']);

// A step whose labels (compile() checked: only its labels) name cgroup files, with this box's paths.
function withCgroupPaths(entry: PlanStep, procs: readonly { path: string }[]): PlanStep {
  const copy = { ...entry };
  const swap = (text: string): string => text.replace(CGROUP_TOKENS, (_, index: string) => procs[Number(index)]!.path);
  copy.name = swap(copy.name);
  if (copy.path !== undefined) copy.path = swap(copy.path);
  if (copy.source !== undefined) copy.source = swap(copy.source);
  return copy;
}

// A step with `token` replaced by `value` in every string it carries.
function substitute(entry: PlanStep, token: string, value: string): PlanStep {
  const swap = (field: unknown): unknown => {
    if (typeof field === 'string') return field.split(token).join(value);
    if (Array.isArray(field)) return field.map(swap);
    return field;
  };
  const copy = { ...entry } as Record<string, unknown>;
  for (const [key, field] of Object.entries(copy)) copy[key] = swap(field);
  return copy as unknown as PlanStep;
}

type FdToken = (fd: number) => number;

// Trees by index, their fds as tokens (an empty map as it is: most boxes have none).
function treeTokens(trees: ReadonlyMap<number, number>, fd: FdToken): ReadonlyMap<number, number> {
  if (trees.size === 0) return trees;
  const tokens = new Map<number, number>();
  for (const [index, source] of trees) tokens.set(index, fd(source));
  return tokens;
}
/** How each field of RuntimeFds is turned into its shape: every fd a token. Every field has an entry (the compiler checks). */
const TOKENIZERS: { [K in keyof RuntimeFds]-?: (value: NonNullable<RuntimeFds[K]>, fd: FdToken) => RuntimeFds[K] } = {
  stdio: (value, fd) => value.map((source) => (source === undefined ? undefined : fd(source))),
  namespaces: (value, fd) => {
    const tokens: Partial<Record<string, number>> = {};
    for (const name of Object.keys(value) as (keyof typeof value)[]) tokens[name] = fd(value[name]!);
    return tokens;
  },
  pooled: (value, fd) => ({ ...(value.user === undefined ? {} : { user: fd(value.user) }), net: fd(value.net) }),
  init: (value, fd) => fd(value),
  listenNames: (value) => value,
  blocking: (value) => value,
  layerTrees: (value, fd) => treeTokens(value, fd),
  upperTree: (value, fd) => fd(value),
  idmappedTrees: (value, fd) => treeTokens(value, fd),
  cgroup: (value, fd) => ({
    dirFd: value.dirFd < 0 ? value.dirFd : fd(value.dirFd),
    procs: value.procs.map((entry, i) => ({ ...entry, fd: fd(entry.fd), path: cgroupPathToken(i) })),
    ...(value.late === undefined ? {} : { late: value.late }),
    ...(value.namespaceHelper === undefined ? {} : { namespaceHelper: { socket: fd(value.namespaceHelper.socket), user: value.namespaceHelper.user } }),
  }),
  bridge: (value) => value,
  hostView: (value) => value,
  terminal: (value, fd) => ({ master: fd(value.master), slavePath: value.slavePath === undefined ? undefined : TERMINAL_TOKEN }),
  startGate: (value) => value,
};

/**
 * The runtime with each fd replaced by a token (its index in `fds`, where
 * the fd is pushed), or undefined for a field this module does not know.
 */
function tokenize(runtime: RuntimeFds, fds: number[]): RuntimeFds | undefined {
  const fd: FdToken = (value) => {
    fds.push(value);
    return FD_TOKEN + fds.length - 1;
  };
  const shape = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(runtime)) {
    if (!Object.hasOwn(TOKENIZERS, key)) return undefined;
    const value = (runtime as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    shape[key] = (TOKENIZERS[key as keyof RuntimeFds] as (v: unknown, f: FdToken) => unknown)(value, fd);
  }
  return shape as unknown as RuntimeFds;
}

const identities = new WeakMap<object, number>();
let lastIdentity = 0;
/**
 * A number per object, for keys of objects compared by identity: the
 * host view and caller limits (gathered once and kept while unchanged)
 * here, a validator's deep-frozen copy in lib/options-cache.ts.
 */
export function identityOf(value: object): number {
  let id = identities.get(value);
  if (id === undefined) {
    id = ++lastIdentity;
    identities.set(value, id);
  }
  return id;
}

// One field of a runtime shape (or of the caller) as text: Maps and Sets by their entries, kept facts by identity.
function keyPart(key: string, value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) {
    let text = '[';
    for (const entry of value as unknown[]) {
      if (entry === undefined) text += '-,';
      else if (typeof entry === 'number') text += `${entry},`;
      else return JSON.stringify(value);
    }
    return `${text}]`;
  }
  if (value instanceof Map) return value.size === 0 ? 'Map{}' : JSON.stringify([...value]);
  if (value instanceof Set) return value.size === 0 ? 'Set{}' : JSON.stringify([...value]);
  if ((key === 'hostView' || key === 'counterLimits') && typeof value === 'object' && value !== null) return `#${identityOf(value)}`;
  return JSON.stringify(value) ?? 'undefined';
}

/**
 * @internal (exported for tests) shapeKey(tokenize(runtime), caller), the same string, made in one pass
 * for the runtime of a common box (stdio, the init, a host view, no joined
 * namespaces or idmapped trees), pushing its fds as tokenize() would; or
 * undefined for any other runtime (then through tokenize() and shapeKey()).
 */
export function quickShapeKey(runtime: RuntimeFds, caller: Caller, fds: number[]): string | undefined {
  let key = '';
  for (const name of Object.keys(runtime)) {
    switch (name) {
      case 'stdio': {
        key += 'stdio=[';
        for (const source of runtime.stdio) {
          if (source === undefined) {
            key += '-,';
          } else {
            fds.push(source);
            key += `${FD_TOKEN + fds.length - 1},`;
          }
        }
        key += '];';
        break;
      }
      case 'namespaces':
        for (const _ in runtime.namespaces) return undefined;
        key += 'namespaces={};';
        break;
      case 'init':
        if (runtime.init === undefined) break;
        fds.push(runtime.init);
        key += `init=${FD_TOKEN + fds.length - 1};`;
        break;
      case 'hostView':
        if (runtime.hostView === undefined) break;
        key += `hostView=#${identityOf(runtime.hostView)};`;
        break;
      case 'cgroup': {
        // A box cgroup's shape is small: tokenized as tokenize() does, keyed as shapeKey() does.
        if (runtime.cgroup === undefined) break;
        const shape = TOKENIZERS.cgroup(runtime.cgroup, (value) => fds.push(value) - 1 + FD_TOKEN);
        key += `cgroup=${keyPart('cgroup', shape)};`;
        break;
      }
      case 'idmappedTrees':
      case 'layerTrees': {
        const trees = runtime[name];
        if (trees === undefined) break;
        if (trees.size > 0) return undefined;
        key += `${name}=Map{};`;
        break;
      }
      default:
        return undefined;
    }
  }
  key += '|';
  for (const name of Object.keys(caller)) key += `${name}=${keyPart(name, (caller as unknown as Record<string, unknown>)[name])};`;
  return key;
}

/** @internal shapeKey(tokenize(runtime), caller) and the fds it tokenized: what quickShapeKey() must equal (for tests). */
export function slowShapeKey(runtime: RuntimeFds, caller: Caller, fds: number[]): string | undefined {
  const shape = tokenize(runtime, fds);
  return shape === undefined ? undefined : shapeKey(shape, caller);
}

/** A string equal for two runtimes (and callers) that give the same plan up to fd numbers. */
function shapeKey(shape: RuntimeFds, caller: Caller): string {
  let key = '';
  for (const name of Object.keys(shape)) key += `${name}=${keyPart(name, (shape as unknown as Record<string, unknown>)[name])};`;
  key += '|';
  for (const name of Object.keys(caller)) key += `${name}=${keyPart(name, (caller as unknown as Record<string, unknown>)[name])};`;
  return key;
}
