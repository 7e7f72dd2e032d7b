// A polluted Object.prototype or Array.prototype never becomes an option.
//
// Every key cordon knows, at every level, is set on both prototypes (one key
// and value at a time, in a try/finally that deletes it again) while a spawn
// runs up to its native call, which is replaced by a recorder here: the plan
// the child would walk must be byte for byte the plan of the unpolluted
// spawn. And everything validateOptions() returns must be unable to inherit
// (null-prototype objects, dense arrays), so no later reader can pick up a
// polluted key either. The two headline attacks from the report run for real
// in a child process at the end.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const cordon = require('../..');
const { native, setNativeBinding } = require('../../dist/internal/native');
const { validateOptions } = require('../../dist/validate');
const { clearOptionsCache } = require('../../dist/options-cache');
const { createNamespacePool } = cordon;
const { optionsFromArgs } = require('../../dist/cli');
const { isRoot } = require('../helpers/payload');

// Every key of every option section (README "Options").
const KEYS = [
  // top level
  'namespaces', 'uidMap', 'gidMap', 'uid', 'gid', 'allowHostCredentials', 'hostname', 'init', 'env', 'cwd', 'argv0',
  'stdio', 'timeout', 'killSignal', 'signal', 'dieWithParent', 'newSession', 'rootfs', 'mounts', 'cgroup', 'cgroupParent',
  'groups', 'capabilities', 'allowNewPrivileges', 'rlimits', 'umask', 'nice', 'oomScoreAdj', 'landlock', 'listen',
  'seccomp', 'network', 'netnsPool', 'tmpSize', 'kernelCounters', 'userNamespaceOwner', 'shell', 'windowsHide',
  // namespaces.* and { path } / { fd }
  'user', 'pid', 'mount', 'net', 'ipc', 'uts', 'time', 'path', 'fd',
  // uidMap[i].*
  'inside', 'outside', 'count',
  // rootfs.*
  'dir', 'writable', 'layers', 'upper', 'upperSize',
  // mounts[i].*
  'type', 'source', 'target', 'readonly', 'recursive', 'noexec', 'devices', 'idmap', 'size', 'mode', 'hidepid', 'linkTo', 'content',
  'followSymlinks',
  // kernelCounters.*
  'inotifyInstances', 'inotifyWatches', 'fanotifyGroups', 'fanotifyMarks', 'userNamespaces', 'mountNamespaces', 'pidNamespaces',
  'netNamespaces', 'ipcNamespaces', 'utsNamespaces', 'cgroupNamespaces', 'timeNamespaces',
  // cgroup.*
  'memory', 'cpu', 'pids', 'io', 'cpuset', 'max', 'high', 'swapMax', 'weight', 'quota', 'period', 'major', 'minor',
  'readBps', 'writeBps', 'readIops', 'writeIops', 'cpus', 'mems',
  // seccomp.*
  'profile', 'deny', 'allow', 'defaultAction', 'syscall', 'action', 'errno',
  // landlock.*
  'paths', 'access', 'bindTcp', 'connectTcp', 'scopes',
  // rlimits.*
  'fsize', 'stack', 'core', 'nproc', 'nofile', 'memlock', 'as', 'sigpending', 'msgqueue', 'soft', 'hard',
  // listen[i].*
  'port', 'host', 'name', 'backlog', 'owner',
  // network.* (bridge)
  'bridge', 'subnet', 'address', 'interface', 'reach',
  // pool options
  'kind',
  // array slots, for holes
  '0', '1', '2', '3', '4',
];

// Values a polluter would pick: each is meaningful for some key.
const VALUES = [
  'host', true, false, 0, 1, 4096, 'max', 'unlimited', 'any', 'invisible', '/', '/etc', 'bind', 'tmpfs',
  { path: '/proc/1/ns/net' }, { fd: 0 }, { uid: 0, gid: 0 }, { errno: 1 }, 'allow', { soft: 0, hard: 0 },
  [{ type: 'bind', source: '/', target: '/host' }], { max: 4096 }, { dirFd: 0, procs: [] },
  { type: 'bind', source: '/', target: '/host', readonly: false },
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-pollution-'));
t.teardown(() => removeTree(tmp));

// Sections present, their optional keys left out: a polluted optional key
// must not fill the gap.
const FULL = () => ({
  namespaces: {},
  env: {},
  rootfs: { layers: [tmp], upper: 'tmpfs' },
  mounts: [
    { type: 'tmpfs', target: '/t' },
    { type: 'bind', source: '/etc', target: '/b' },
    { type: 'proc', target: '/p' },
    { type: 'file', target: '/f', content: 'x' },
    { type: 'symlink', target: '/s', linkTo: '/t' },
    { type: 'mask', target: '/etc/hostname' },
    { type: 'mqueue', target: '/q' },
    { type: 'sysfs', target: '/y' },
    { type: 'remount-ro', target: '/t' },
  ],
  rlimits: { nofile: 64 },
  landlock: { paths: [{ path: '/', access: ['read'] }] },
  seccomp: { deny: ['ptrace', { syscall: 'mount' }] },
  listen: [{ port: 0 }],
  stdio: ['ignore', 'pipe', 'pipe'],
});
const ALLOWLIST = () => ({ seccomp: { mode: 'allowlist', allow: ['execve', 'exit_group', 'brk'] } });
// Sections only validated here: a spawn with them makes host cgroups or bridges.
const VALIDATE_ONLY = () => ({
  ...FULL(),
  cgroup: { memory: {}, cpu: { max: { quota: 50000 } }, pids: {}, io: { devices: [{ major: 8, minor: 0, readBps: 1 }] }, cpuset: {} },
  ...(isRoot ? { network: {} } : {}),
});

function polluted(key, value, fn) {
  const saved = [Object.prototype, Array.prototype].map((proto) => Object.getOwnPropertyDescriptor(proto, key));
  Object.prototype[key] = value;
  Array.prototype[key] = value;
  try {
    return fn();
  } finally {
    for (const [i, proto] of [Object.prototype, Array.prototype].entries()) {
      if (saved[i] === undefined) delete proto[key];
      else Object.defineProperty(proto, key, saved[i]);
    }
  }
}

// The spawn runs up to the native call, which records the plan and reports
// a failed clone: no process is started.
const real = native();
let recorded;
setNativeBinding({
  ...real,
  spawn(buffer, fds) {
    recorded = { plan: Buffer.from(buffer).toString('hex'), fds: fds.length };
    return { failedStep: 0, errno: -1, detail: 0 };
  },
});
t.teardown(() => setNativeBinding(undefined));

// `cached`: through options compiled before (lib/options-cache.ts); else
// validated and planned afresh, the cache emptied first.
function fingerprint(make, cached = false) {
  recorded = undefined;
  if (!cached) clearOptionsCache();
  try {
    const box = cordon.spawnIsolated('/bin/true', [], make());
    box.exited.catch(() => undefined);
    return JSON.stringify({ recorded, pid: box.pid ?? null });
  } catch (error) {
    return JSON.stringify({ threw: error.code ?? String(error) });
  } finally {
    recorded = undefined;
  }
}

function serialize(value) {
  return JSON.stringify(value, (key, x) => (typeof x === 'bigint' ? `${x}n` : x));
}

function show(value) {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

for (const [label, make] of [['{}', () => ({})], ['every section', FULL], ['seccomp allowlist', ALLOWLIST]]) {
  t.test(`a spawn with ${label} walks the same plan under every polluted key`, async (t) => {
    for (const cached of [false, true]) {
      // Options seen twice are compiled: the third spawn takes the compiled path.
      if (cached) for (let i = 0; i < 2; i++) fingerprint(make, true);
      let clean = fingerprint(make, cached);
      t.match(clean, /"plan":"[0-9a-f]+"/, 'the clean spawn reached the native call');
      const honoured = [];
      for (const key of KEYS) {
        for (const value of VALUES) {
          const dirty = polluted(key, value, () => fingerprint(make, cached));
          if (dirty === clean) continue;
          // The default view masks the host's sockets as they are now: a
          // socket another process made or removed meanwhile changes the plan
          // too, so a difference counts only if a clean spawn now still differs.
          clean = fingerprint(make, cached);
          if (dirty !== clean) honoured.push(`${key} = ${show(value)}: ${dirty.slice(0, 120)}`);
        }
      }
      t.same(honoured, [], `no polluted key changed the plan (${cached ? 'options compiled before' : 'validated and planned afresh'})`);
    }
  });
}

// Finds an object the validated options hold that could inherit a key.
function inheritable(value, where, seen = new Set()) {
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!Object.hasOwn(value, i)) return `${where}[${i}] is a hole`;
      const found = inheritable(value[i], `${where}[${i}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) return undefined; // streams, servers, signals, pools
  if (proto !== null) return `${where} inherits from Object.prototype`;
  for (const key of Object.keys(value)) {
    const found = inheritable(value[key], `${where}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}

t.test('validateOptions returns only null-prototype objects and dense arrays', async (t) => {
  for (const make of [() => ({}), FULL, ALLOWLIST, VALIDATE_ONLY]) {
    const validated = validateOptions('/bin/true', ['a'], make());
    t.equal(inheritable(validated, 'validated'), undefined, 'nothing in it can inherit a key');
  }
});

t.test('validateOptions gives the same result under every polluted key', async (t) => {
  const clean = serialize(validateOptions('/bin/true', [], VALIDATE_ONLY()));
  const honoured = [];
  for (const key of KEYS) {
    for (const value of VALUES) {
      const dirty = polluted(key, value, () => {
        try {
          return serialize(validateOptions('/bin/true', [], VALIDATE_ONLY()));
        } catch (error) {
          return `threw ${error.code ?? error}`;
        }
      });
      if (dirty !== clean) honoured.push(`${key} = ${show(value)}`);
    }
  }
  t.same(honoured, [], 'no polluted key changed the validated options');
});

t.test('network.*: a bridge reads its own keys only (as root and not)', async (t) => {
  const { validateBridge } = require('../../dist/bridge');
  for (const given of [{}, { bridge: 'br7' }, 'bridge']) {
    const clean = serialize(validateBridge('network', given));
    const honoured = [];
    for (const key of KEYS) {
      for (const value of VALUES) {
        const dirty = polluted(key, value, () => {
          try {
            return serialize(validateBridge('network', given));
          } catch (error) {
            return `threw ${error.code ?? error}`;
          }
        });
        if (dirty !== clean) honoured.push(`${key} = ${show(value)}`);
      }
    }
    t.same(honoured, [], `network: ${serialize(given)}: no polluted key changed the bridge`);
  }
});

t.test('holes are never read from Array.prototype', async (t) => {
  const cases = [
    ['mounts', (hole) => ({ mounts: hole })],
    ['uidMap', (hole) => ({ uidMap: hole })],
    ['args', null],
    ['rootfs.layers', (hole) => ({ rootfs: { layers: hole, upper: 'tmpfs' } })],
    ['landlock.paths', (hole) => ({ landlock: { paths: hole } })],
    ['listen', (hole) => ({ listen: hole })],
    ['groups', (hole) => ({ groups: hole })],
    ['capabilities', (hole) => ({ capabilities: hole })],
    ['seccomp.deny', (hole) => ({ seccomp: { deny: hole } })],
  ];
  const fillers = {
    mounts: { type: 'bind', source: '/', target: '/host', readonly: false },
    uidMap: { inside: 0, outside: 0, count: 1 },
    args: 'x',
    stdio: 'inherit',
    'rootfs.layers': '/',
    'landlock.paths': { path: '/', access: ['write'] },
    listen: { port: 0 },
    groups: 0,
    capabilities: 'CAP_SYS_ADMIN',
    'seccomp.deny': 'ptrace',
  };
  for (const [name, make] of cases) {
    const sparse = [];
    sparse.length = 2; // two holes
    const outcome = polluted('0', fillers[name], () => polluted('1', fillers[name], () => {
      try {
        const validated = make === null ? validateOptions('/bin/true', sparse, {}) : validateOptions('/bin/true', [], make(sparse));
        return { validated };
      } catch (error) {
        return { error };
      }
    }));
    t.ok(outcome.error instanceof cordon.CordonOptionError, `${name} with holes: a CordonOptionError (${outcome.error?.message ?? 'accepted'})`);
    t.match(outcome.error?.option ?? '', `${name}[0]`, 'naming the hole');
  }
});

t.test('a stdio hole is the default, not the prototype\'s entry', async (t) => {
  const sparse = [];
  sparse.length = 3;
  const validated = polluted('0', 'inherit', () => polluted('1', 'inherit', () => validateOptions('/bin/true', [], { stdio: sparse })));
  t.same(validated.stdio.map((entry) => entry.kind), ['pipe', 'pipe', 'pipe'], 'holes are pipes, as undefined entries are');
});

t.test('createNamespacePool reads its own options only', async (t) => {
  const made = [];
  const values = ['net', 0, 300, 'x', [], [{ inside: 0, outside: 0, count: 1 }]];
  for (const [key, value] of ['kind', 'size', 'uidMap', 'gidMap'].flatMap((name) => values.map((v) => [name, v]))) {
    const outcome = polluted(key, value, () => {
      try {
        const pool = createNamespacePool({});
        made.push(pool);
        return { pool };
      } catch (error) {
        return { error };
      }
    });
    t.equal(outcome.error, undefined, `Object.prototype.${key} = ${show(value)} is not read (${outcome.error?.message ?? 'ok'})`);
    t.equal(outcome.pool?.kind, 'user+net', 'the pool is the default kind');
    t.equal(outcome.pool?.size, 4, 'of the default size');
    t.equal(outcome.pool?.uidMap?.length, 1, 'with the default uid map');
  }
  for (const pool of made) await pool.close();
});

t.test("the CLI's --config and flags read own keys only", async (t) => {
  const config = path.join(tmp, 'config.json');
  fs.writeFileSync(config, JSON.stringify({ hostname: 'configured' }));
  const clean = serialize(validateOptions('/bin/true', [], optionsFromArgs(['--config', config, '--env', 'A=1', '--rlimit', 'nofile=64', '--', '/bin/true']).options));
  const honoured = [];
  // Not 'signal': Node's own fs.readFileSync(file, 'utf8') reads options.signal from Object.prototype.
  for (const key of KEYS.filter((name) => name !== 'signal')) {
    for (const value of VALUES) {
      const dirty = polluted(key, value, () => {
        try {
          const { options } = optionsFromArgs(['--config', config, '--env', 'A=1', '--rlimit', 'nofile=64', '--', '/bin/true']);
          return serialize(validateOptions('/bin/true', [], options));
        } catch (error) {
          return `threw ${error.code ?? error.message}`;
        }
      });
      if (dirty !== clean) honoured.push(`${key} = ${show(value)}`);
    }
  }
  t.same(honoured, [], 'no polluted key changed the options the CLI builds');
});

// The report's attacks, for real: a box spawned with {} in a process whose
// Object.prototype says otherwise.
function boxInPollutedProcess(pollution) {
  const script = `
    const { spawnIsolated } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    Object.assign(Object.prototype, ${JSON.stringify(pollution)});
    const box = spawnIsolated('/bin/sh', ['-c', 'readlink /proc/self/ns/pid /proc/self/ns/uts /proc/self/ns/net /proc/self/ns/user; head -n1 /proc/self/uid_map'], {});
    let out = '';
    box.stdout.on('data', (d) => { out += d; });
    box.exited.then(() => process.stdout.write(out), (e) => { process.stdout.write('error ' + e.message); process.exitCode = 1; });
  `;
  return childProcess.execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
}

const hostNs = ['pid', 'uts', 'net', 'user'].map((name) => fs.readlinkSync(`/proc/self/ns/${name}`));

t.test('polluted namespaces and allowHostCredentials: the box still gets new namespaces', async (t) => {
  const out = boxInPollutedProcess({
    namespaces: { pid: 'host', uts: 'host', net: 'host', user: 'host', mount: 'host', ipc: 'host' },
    allowHostCredentials: true,
  }).trim().split('\n');
  t.equal(out.length, 5, `the box ran: ${out.join(' ')}`);
  for (const [i, name] of ['pid', 'uts', 'net', 'user'].entries()) {
    t.not(out[i], hostNs[i], `its ${name} namespace is not the host's`);
  }
  t.notMatch(out[4], /^\s*0\s+0\s+4294967295\s*$/, `its uid map is not the host's (${out[4].trim()}): not host root`);
});

t.test("polluted net: 'host' and network: 'host': the box still has its own network", async (t) => {
  for (const pollution of [{ net: 'host' }, { network: 'host' }]) {
    const out = boxInPollutedProcess(pollution).trim().split('\n');
    t.equal(out.length, 5, `the box ran: ${out.join(' ')}`);
    t.not(out[2], hostNs[2], `${JSON.stringify(pollution)}: the net namespace is not the host's`);
  }
});
