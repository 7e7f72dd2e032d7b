// Fuzzes what callers hand cordon: spawnIsolated, spawnIsolatedAsync,
// createNamespacePool and the CLI's --config get random and adversarial
// options (wrong types, sparse arrays, huge lists, NUL bytes, getters that
// throw, Proxies, frozen objects, Symbols, polluted prototypes). Every input
// must either throw a documented error (README "Errors") or give a box whose
// `exited` settles; nothing may crash, hang or leak an fd.
//
// Seeded and reproducible: a failure prints the seed and the case, and
//   CORDON_FUZZ_SEED=<seed> CORDON_FUZZ_CASE=<n> npx tap test/fuzz/options.test.js
// runs that case alone. A short run is part of `npm test`;
//   CORDON_FUZZ_RUNS=1000000 npm run fuzz
// is the long one.
//
// The generator keeps away from host changes it could not undo: options
// that validate with a cgroup or a bridge are validated, not spawned; Unix
// sockets and upper layers go into a temporary directory removed at the end;
// the one namespace pool it uses is closed at the end.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const t = require('tap');

const cordon = require('../..');
const { validateOptions } = require('../../dist/validate');
const { optionsFromArgs } = require('../../dist/cli');
const { UsageError } = require('../../dist/cli-flags');

const { spawnIsolated, spawnIsolatedAsync, createNamespacePool, CordonOptionError, CordonError } = cordon;

const RUNS = Number(process.env.CORDON_FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.CORDON_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ONLY = process.env.CORDON_FUZZ_CASE === undefined ? undefined : Number(process.env.CORDON_FUZZ_CASE);
/** Cases between fd counts (1 finds the case that leaked). */
const FD_CHECK_EVERY = Number(process.env.CORDON_FUZZ_FD_CHECK ?? 100);
/** How long a box may take to settle after SIGKILL before the case counts as a hang. */
const SETTLE_MS = 30_000;

// README "Errors": what a caller may be thrown (or an async spawn rejected with) for bad input.
const OPTION_CODES = new Set([
  'ERR_CORDON_UNKNOWN_OPTION', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE',
  'ERR_CORDON_CONFLICTING_OPTIONS', 'ERR_CORDON_POOL_CLOSED',
]);

function documentedThrow(error) {
  if (error instanceof CordonOptionError) return OPTION_CODES.has(error.code);
  // network: 'bridge' by a caller that is not root (README "Errors").
  return error instanceof CordonError && error.code === 'ERR_CORDON_HOST_UNSUPPORTED' && error.step === 'validate';
}

// ---------------------------------------------------------------------------
// A small seeded generator (mulberry32): test/helpers/seeded.js.
const { generator } = require('../helpers/seeded');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-fuzz-'));
const layer = path.join(tmp, 'layer');
const upper = path.join(tmp, 'upper');
fs.mkdirSync(layer);
fs.mkdirSync(upper);

const NAMESPACES = ['user', 'pid', 'mount', 'net', 'ipc', 'uts', 'cgroup', 'time'];
const MOUNT_TYPES = ['bind', 'tmpfs', 'proc', 'sysfs', 'mqueue', 'symlink', 'file', 'remount-ro', 'mask', 'nfs', 'toString'];

function adversarial(g, depth = 0) {
  const choices = [
    () => undefined, () => null, () => true, () => false, () => 0, () => -1, () => 1.5, () => NaN, () => Infinity,
    () => 2 ** 53, () => -0, () => '', () => 'x', () => 'a\0b', () => '/', () => '/tmp', () => 'host', () => 'new',
    () => 'max', () => 'pipe', () => '__proto__', () => 'constructor', () => Symbol('s'), () => 10n, () => [], () => ({}),
    () => sparse(g), () => Object.create(null), () => new Date(0), () => Buffer.from('x'), () => () => 1, () => new Map(),
    () => throwingGetter(g), () => new Proxy({}, {}), () => revoked(), () => Object.freeze({ a: 1 }),
    () => Object.create({ inherited: true }), () => ({ toString: () => { throw new Error('toString'); } }),
  ];
  if (depth < 3) {
    choices.push(() => [adversarial(g, depth + 1), adversarial(g, depth + 1)]);
    choices.push(() => ({ [g.pick(['a', 'path', 'fd', 'type', 'max', '__proto__'])]: adversarial(g, depth + 1) }));
  }
  if (g.chance(0.01)) return huge(g);
  return g.pick(choices)();
}

function sparse(g) {
  const list = [];
  list.length = g.pick([1, 2, 5, 1000]);
  if (g.chance(0.5)) list[list.length - 1] = 'x';
  return list;
}

function huge(g) {
  return g.pick([
    () => Array.from({ length: 200_000 }, () => 'x'),
    () => {
      const list = [];
      list.length = 2 ** 32 - 1;
      return list;
    },
    () => 'x'.repeat(300_000),
    () => {
      const deep = {};
      let at = deep;
      for (let i = 0; i < 10_000; i++) at = at.a = {};
      return deep;
    },
  ])();
}

class FuzzGetterError extends Error {}

function throwingGetter(g) {
  const key = g.pick(['path', 'type', 'max', 'user', 'target', 'a']);
  return Object.defineProperty({}, key, { enumerable: true, get() { throw new FuzzGetterError(`getter ${key}`); } });
}

function revoked() {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** Valid-looking values per option, mixed with adversarial ones. */
function plausible(g, key) {
  const maybe = (make) => (g.chance(0.15) ? adversarial(g) : make());
  const ints = [0, 1, 5, 1000, 65534, -1, 2 ** 32, 1.5];
  const idMap = () => {
    if (g.chance(0.05)) return Array.from({ length: 340 }, (_, i) => ({ inside: 4e9 + i, outside: 4e9 + i, count: 1 }));
    return Array.from({ length: 1 + g.int(3) }, () => maybe(() => ({ inside: g.pick([0, 1, 1000]), outside: g.pick([0, 1000, 65534, process.geteuid()]), count: g.pick([1, 10, 0]) })));
  };
  const table = {
    namespaces: () => Object.fromEntries(g.some(NAMESPACES, 3).map((name) => [name, maybe(() => g.pick(['new', 'host', { path: `/proc/self/ns/${name}` }, { path: 'rel' }, { fd: g.pick([0, 99999]) }]))])),
    uidMap: idMap,
    gidMap: idMap,
    uid: () => g.pick(ints),
    gid: () => g.pick(ints),
    allowHostCredentials: () => g.chance(0.5),
    hostname: () => g.pick(['box', 'x'.repeat(70), '']),
    init: () => g.chance(0.5),
    env: () => Object.fromEntries(Array.from({ length: g.int(4) }, (_, i) => [g.pick(['PATH', `V${i}`, 'A=B', '']), maybe(() => g.pick(['/usr/bin:/bin', '1', '']))])),
    cwd: () => g.pick(['/', '/tmp', 'rel', '/nonexistent']),
    argv0: () => g.pick(['zero', '']),
    stdio: () => g.pick(['pipe', 'ignore', 'inherit', () => Array.from({ length: g.int(6) }, () => maybe(() => g.pick(['pipe', 'ignore', 'inherit', null, undefined, 0, 2, 'ipc', -1])))]),
    timeout: () => g.pick([0, 1, 50, -1, 2 ** 31]),
    killSignal: () => g.pick(['SIGTERM', 'SIGKILL', 9, 'SIGNOPE', 0, 'toString']),
    signal: () => {
      const controller = new AbortController();
      if (g.chance(0.5)) controller.abort();
      return g.chance(0.9) ? controller.signal : {};
    },
    dieWithParent: () => g.chance(0.8),
    newSession: () => g.chance(0.5),
    rootfs: () => g.pick(['host', { dir: '/' }, { dir: layer, writable: g.chance(0.5) }, { layers: [layer], upper: 'tmpfs', upperSize: g.pick([undefined, 4096, 1]) }, { layers: [layer], upper: { dir: upper } }, { dir: 'rel' }]),
    mounts: () => {
      if (g.chance(0.03)) return Array.from({ length: 4000 }, (_, i) => ({ type: 'file', target: `/f${i}`, content: 'x' }));
      return Array.from({ length: g.int(4) }, () => maybe(() => {
        const entry = { type: g.pick(MOUNT_TYPES), target: g.pick(['/t', '/x/y', 'rel', '/', '/etc/hostname']) };
        if (g.chance(0.5)) entry.source = g.pick(['/etc', '/nonexistent', 'rel']);
        if (g.chance(0.3)) entry.content = g.pick(['x', 'a\0b']);
        if (g.chance(0.3)) entry.linkTo = g.pick(['/t', '']);
        if (g.chance(0.2)) entry.mode = g.pick([0o644, 0o10000]);
        if (g.chance(0.2)) entry.size = g.pick([4096, 1]);
        if (g.chance(0.2)) entry.readonly = g.chance(0.5);
        if (g.chance(0.1)) entry.hidepid = g.pick(['invisible', 2]);
        if (g.chance(0.1)) entry.followSymlinks = g.chance(0.5);
        return entry;
      }));
    },
    cgroup: () => ({ memory: { max: g.pick([64 * 1024 * 1024, 'max', -1]) }, ...(g.chance(0.5) ? { pids: { max: g.pick([10, 'max']) } } : {}) }),
    cgroupParent: () => g.pick(['cordon-fuzz', '../x', '']),
    groups: () => g.pick([[0], [1000], [-1], []]),
    capabilities: () => g.pick([['CAP_NET_BIND_SERVICE'], ['net_raw'], ['CAP_FLY'], ['CAP___proto__']]),
    allowNewPrivileges: () => g.chance(0.3),
    rlimits: () => g.pick([{ nofile: 64 }, { core: { soft: 0, hard: 0 } }, { files: 1 }, { nofile: { soft: 10, hard: 5 } }, { stack: 'unlimited' }]),
    umask: () => g.pick([0o22, 0o1000]),
    nice: () => g.pick([0, 19, 20]),
    oomScoreAdj: () => g.pick([0, 1000, 1001]),
    landlock: () => g.pick([{ paths: [{ path: '/', access: ['read', 'execute'] }] }, { scopes: ['signal'] }, { bindTcp: [80], mode: 'best-effort' }, {}, { paths: [{ path: 'rel', access: ['fly'] }] }]),
    listen: () => Array.from({ length: g.int(3) }, (_, i) => maybe(() => g.pick([{ port: 0 }, { port: 0, host: '::1' }, { path: path.join(tmp, `s${g.int(1e9)}-${i}`) }, { fd: 99999 }, { port: 70000 }]))),
    seccomp: () => g.pick([false, undefined, { deny: ['ptrace'] }, { mode: 'allowlist', allow: ['execve', 'exit_group'] }, { deny: ['execve'] }, { deny: ['nosuchcall'] }, { defaultAction: { errno: 'EPERM' } }]),
    network: () => g.pick(['none', 'host', 'bridge', { bridge: 'cordonfuzz0' }, { path: '/proc/self/ns/net' }, 'nat']),
    netnsPool: () => g.pick([pools.open, pools.closed, {}]),
    tmpSize: () => g.pick([4096, 1 << 20, 1, -1, 'big']),
    kernelCounters: () => g.pick([{ inotifyInstances: 4 }, { userNamespaces: 'unlimited' }, { inotifyWatches: 0 }, { nosuchCounter: 1 }, { fanotifyGroups: -1 }]),
    userNamespaceOwner: () => g.pick(['caller', 'box', 'tenant']),
  };
  const make = table[key];
  if (make === undefined) return adversarial(g);
  const value = make();
  return typeof value === 'function' && key === 'stdio' ? value() : value;
}

const OPTION_KEYS = [
  'namespaces', 'uidMap', 'gidMap', 'uid', 'gid', 'allowHostCredentials', 'hostname', 'init', 'env', 'cwd', 'argv0',
  'stdio', 'timeout', 'killSignal', 'signal', 'dieWithParent', 'newSession', 'rootfs', 'mounts', 'cgroup', 'cgroupParent',
  'groups', 'capabilities', 'allowNewPrivileges', 'rlimits', 'umask', 'nice', 'oomScoreAdj', 'landlock', 'listen',
  'seccomp', 'network', 'netnsPool', 'tmpSize', 'kernelCounters', 'userNamespaceOwner',
];

/** Wraps an options object in one of the shapes a caller could hand over. */
function shape(g, options) {
  switch (g.int(12)) {
    case 0: return new Proxy(options, {});
    case 1: return deepFreeze(options);
    case 2: { // some keys as getters, one maybe throwing
      const out = {};
      for (const [key, value] of Object.entries(options)) {
        const throws = g.chance(0.2);
        Object.defineProperty(out, key, { enumerable: true, get() { if (throws) throw new FuzzGetterError(key); return value; } });
      }
      return out;
    }
    case 3: return Object.assign(Object.create({ namespaces: { user: 'host' } }), options);
    case 4: return Object.assign(Object.create(null), options);
    case 5: return new Proxy(options, { get(target, key) { if (g.chance(0.1)) throw new FuzzGetterError(String(key)); return target[key]; } });
    default: return options;
  }
}

function deepFreeze(value) {
  try {
    if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !ArrayBuffer.isView(value) && !(value instanceof AbortSignal) && !(value instanceof cordon.NamespacePool)) {
      for (const inner of Object.values(value)) deepFreeze(inner);
      Object.freeze(value);
    }
  } catch {
    // a revoked Proxy, a throwing getter: left as it is
  }
  return value;
}

/** Keys set on Object.prototype and Array.prototype while a case runs its synchronous part. */
function pollution(g) {
  if (!g.chance(0.05)) return [];
  const keys = ['namespaces', 'net', 'user', 'pid', 'allowHostCredentials', 'network', 'mounts', 'cgroup', 'seccomp', 'defaultAction', 'core', 'idmap', 'size', 'uid', 'readonly', 'fd', 'signal', 'stdio', '0', '1'];
  return Array.from({ length: 1 + g.int(3) }, () => [g.pick(keys), g.pick(['host', true, 0, { user: 'host' }, [{ type: 'bind', source: '/', target: '/h' }], 'allow'])]);
}

function withPollution(keys, fn) {
  const saved = keys.map(([key]) => [key, Object.getOwnPropertyDescriptor(Object.prototype, key), Object.getOwnPropertyDescriptor(Array.prototype, key)]);
  for (const [key, value] of keys) {
    Object.prototype[key] = value;
    Array.prototype[key] = value;
  }
  try {
    return fn();
  } finally {
    for (const [key, objectDescriptor, arrayDescriptor] of saved.reverse()) {
      if (objectDescriptor === undefined) delete Object.prototype[key];
      else Object.defineProperty(Object.prototype, key, objectDescriptor);
      if (arrayDescriptor === undefined) delete Array.prototype[key];
      else Object.defineProperty(Array.prototype, key, arrayDescriptor);
    }
  }
}

function makeCase(seed) {
  const g = generator(seed);
  const options = {};
  for (const key of g.some(OPTION_KEYS, 5)) options[key] = g.chance(0.85) ? plausible(g, key) : adversarial(g);
  if (g.chance(0.05)) options[g.pick(['hostName', 'zzz', '__proto__', 'constructor'])] = 1;
  const [file, args] = g.pick([
    ['/bin/true', []], ['true', []], ['/bin/sleep', ['0.05']], ['/nonexistent/fuzz', []], ['', []], ['a\0b', []], [5, []],
    ['/bin/true', adversarial(g)], ['/bin/true', ['x', 'a\0b']], ['/bin/true', sparse(g)],
  ]);
  const target = g.pick(['spawnIsolated', 'spawnIsolated', 'spawnIsolatedAsync', 'createNamespacePool', 'cli']);
  const wrapped = g.chance(0.1) ? adversarial(g) : shape(g, options);
  return { target, file, args, options: wrapped, pollution: pollution(g), poolOptions: g.chance(0.7) ? plausiblePool(g) : adversarial(g) };
}

function plausiblePool(g) {
  const out = {};
  if (g.chance(0.5)) out.kind = g.pick(['user+net', 'net', 'nat', 1]);
  if (g.chance(0.5)) out.size = g.pick([1, 2, 0, 300, 1.5]);
  if (g.chance(0.3)) out.uidMap = g.pick([[{ inside: 0, outside: process.geteuid() === 0 ? 65534 : process.geteuid(), count: 1 }], sparse(g), 'x']);
  if (g.chance(0.1)) out.zzz = 1;
  return out;
}

function describe(item) {
  const inspect = (value) => util.inspect(value, { depth: 6, showProxy: true, getters: false, breakLength: Infinity, maxArrayLength: 12, maxStringLength: 80 });
  return `${item.target}(${inspect(item.file)}, ${inspect(item.args)}, ${inspect(item.target === 'createNamespacePool' ? item.poolOptions : item.options)})` +
    (item.pollution.length > 0 ? ` with Object.prototype/Array.prototype polluted: ${inspect(Object.fromEntries(item.pollution))}` : '');
}

// ---------------------------------------------------------------------------
// Running a case.

const pools = { open: undefined, closed: undefined };

function settleWithin(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${SETTLE_MS} ms`)), SETTLE_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Waits for a box to end (killing it if it runs) and closes its streams. */
async function finish(box) {
  if (!(box instanceof cordon.Box)) throw new Error(`returned ${util.inspect(box)}, not a Box`);
  box.on('error', () => undefined);
  for (const pipe of box.stdio) pipe?.resume?.();
  if (box.pid !== undefined) box.kill('SIGKILL');
  const outcome = await settleWithin(box.exited.then(() => 'exited', (error) => {
    if (!(error instanceof CordonError) && error?.name !== 'AbortError') throw new Error(`exited rejected with a ${error?.name}: ${error?.message}`);
    return 'failed';
  }), 'box.exited');
  for (const pipe of box.stdio) pipe?.destroy();
  return outcome;
}

const realExit = process.exit;
class FuzzExit extends Error {}

async function runCase(item) {
  // The CLI: --config FILE with the options as JSON (what JSON can carry of them).
  if (item.target === 'cli') {
    let json;
    try {
      json = JSON.stringify(item.options, (key, value) => (typeof value === 'bigint' ? Number(value) : value));
    } catch {
      json = '{"broken": ';
    }
    const file = path.join(tmp, 'config.json');
    fs.writeFileSync(file, json ?? 'null');
    // The CLI says what is wrong on stderr and exits 125.
    const realWrite = process.stderr.write;
    process.exit = (code) => { throw new FuzzExit(`exit ${code}`); };
    process.stderr.write = () => true;
    let options;
    try {
      options = optionsFromArgs(['--config', file, '--', '/bin/true']).options;
    } catch (error) {
      // A command line the CLI refuses throws a UsageError (cordon run prints it and exits 125).
      if (error instanceof UsageError || (error instanceof FuzzExit && error.message === 'exit 125')) return 'cli refused';
      throw error;
    } finally {
      process.exit = realExit;
      process.stderr.write = realWrite;
    }
    try {
      validateOptions('/bin/true', [], options);
      return 'cli ok';
    } catch (error) {
      if (documentedThrow(error)) return 'cli refused by validation';
      throw error;
    }
  }

  if (item.target === 'createNamespacePool') {
    let pool;
    try {
      pool = withPollution(item.pollution, () => createNamespacePool(item.poolOptions));
    } catch (error) {
      if (documentedThrow(error)) return 'pool refused';
      throw error;
    }
    await settleWithin(pool.close(), 'pool.close()');
    return 'pool made';
  }

  // The same validation spawnIsolated runs: options that would make a cgroup or
  // a bridge on the host are only validated.
  let validated;
  try {
    validated = withPollution(item.pollution, () => validateOptions(item.file, item.args, item.options));
  } catch (error) {
    if (!documentedThrow(error)) throw error;
  }
  const hostChanges = validated !== undefined && (validated.cgroup !== undefined || validated.bridge !== undefined);
  if (hostChanges) return 'validated only';

  if (item.target === 'spawnIsolatedAsync') {
    let promise;
    try {
      promise = withPollution(item.pollution, () => spawnIsolatedAsync(item.file, item.args, item.options));
    } catch (error) {
      throw new Error(`spawnIsolatedAsync threw synchronously: ${error?.name}: ${error?.message}`);
    }
    let box;
    try {
      box = await settleWithin(promise, 'spawnIsolatedAsync()');
    } catch (error) {
      if (documentedThrow(error) || error instanceof CordonError || error?.name === 'AbortError') return 'async rejected';
      throw error;
    }
    return `async ${await finish(box)}`;
  }

  let box;
  try {
    box = withPollution(item.pollution, () => spawnIsolated(item.file, item.args, item.options));
  } catch (error) {
    if (documentedThrow(error)) return 'refused';
    throw error;
  }
  return finish(box);
}

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

// Closed sockets release their fds on a later turn of the event loop.
async function settledFdCount(expected) {
  let count = fdCount();
  for (let turn = 0; turn < 200 && count > expected; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    count = fdCount();
  }
  return count;
}

t.test(`fuzzing options: ${ONLY === undefined ? RUNS : 1} case(s), seed ${SEED}`, async (t) => {
  t.comment(`reproduce with CORDON_FUZZ_SEED=${SEED} (and CORDON_FUZZ_CASE=<n> for one case)`);
  pools.closed = createNamespacePool({ size: 1 });
  await pools.closed.close();

  // Warm up what cordon opens once per process (/dev/null, the init binary).
  await finish(spawnIsolated('/bin/true', [], {}));
  await finish(spawnIsolated('/bin/true', [], { stdio: 'ignore' }));
  const baseline = await settledFdCount(0);
  // The fds of the pool the cases share are counted from here on, and closed at the end.
  pools.open = createNamespacePool({ size: 1 });
  await pools.open.ready();
  const withPool = await settledFdCount(0);

  const outcomes = {};
  const failures = [];
  const cases = ONLY === undefined ? Array.from({ length: RUNS }, (_, i) => i) : [ONLY];
  for (const n of cases) {
    const item = makeCase((SEED + Math.imul(n, 0x9e3779b1)) >>> 0);
    let outcome;
    try {
      outcome = await runCase(item);
    } catch (error) {
      failures.push(`case ${n} (CORDON_FUZZ_SEED=${SEED} CORDON_FUZZ_CASE=${n}): ${error?.name}: ${error?.message}\n  input: ${describe(item)}\n  ${String(error?.stack).split('\n').slice(1, 4).join('\n  ')}`);
      if (failures.length >= 10) break;
      continue;
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (n % FD_CHECK_EVERY === FD_CHECK_EVERY - 1) {
      await pools.open.ready().catch(() => undefined); // refilled after the cases that took from it
      const count = await settledFdCount(withPool);
      if (count > withPool) {
        failures.push(`fd leak by case ${n} (CORDON_FUZZ_SEED=${SEED}): ${count} fds open, ${withPool} before`);
        break;
      }
    }
  }
  await pools.open.close();
  t.same(failures, [], 'every input threw a documented error or gave a box that settled');
  t.equal(await settledFdCount(baseline), baseline, `no fd leaked (seed ${SEED})`);
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`);
  t.ok(Object.keys(outcomes).some((outcome) => /exited|failed/.test(outcome)) || ONLY !== undefined, 'some inputs made boxes');
  t.ok(Object.keys(outcomes).includes('refused') || ONLY !== undefined, 'some inputs were refused');
});

t.teardown(() => removeTree(tmp));
