#!/usr/bin/env node
// Are spawnIsolated()'s options and plans the same through its options
// cache (lib/options-cache.ts) as through plain validation, and the same as
// another build's? For seeded option sets (valid and invalid, plain data),
// each given several times as fresh objects, this prints one JSON line per
// call: the error (class, code, message, option, step, path) or the
// validated options and the plan (steps with their labels, every string of
// each record resolved, the fds), for a fixed runtime, caller and host view.
//
//   node scripts/plan-equivalence.js [--dist DIR] [--seed N] [--runs N] [--repeat N]
//       one build's lines (DIR defaults to this tree's dist/)
//   node scripts/plan-equivalence.js --compare OTHER_DIST [--seed N] [--runs N]
//       this tree's lines against OTHER_DIST's (e.g. a checkout of main): exit 1 on any difference
//
// A build without lib/options-cache.ts (main before it) is run through
// validateOptions() and buildPlan() alone, as its spawnIsolated() does.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { spawnSync } = require('node:child_process');

// A small seeded generator (mulberry32): test/helpers/seeded.js.
const { generator } = require('../test/helpers/seeded');

/** Valid-looking option values (a few still conflict with each other): plain data only (what the cache keys). */
const VALUES = {
  namespaces: [{}, { net: 'host' }, { pid: 'host' }, { uts: 'host', ipc: 'host' }, { cgroup: 'host' }, { time: 'new' }, { user: 'host' }],
  uidMap: [[{ inside: 0, outside: 1000, count: 1 }], [{ inside: 0, outside: process.geteuid(), count: 1 }]],
  gidMap: [[{ inside: 0, outside: 1000, count: 1 }], [{ inside: 0, outside: process.getegid(), count: 1 }]],
  uid: [0, 1000],
  gid: [0, 1000],
  allowHostCredentials: [true, false],
  hostname: ['box', undefined],
  init: [true, false],
  env: [{}, { A: '1' }, { PATH: '/bin', B: '' }, { Z: 'z', A: 'a' }, { A: undefined, B: 'b' }],
  cwd: ['/', '/tmp'],
  argv0: ['zero', ''],
  stdio: ['pipe', 'ignore', 'inherit', ['ignore', 'pipe', 'pipe'], ['pipe', 'ignore', 'inherit', 'pipe'], ['ignore', 'ignore', 'ignore', 'ignore', 'ignore'], [null, undefined, 2]],
  timeout: [0, 50],
  killSignal: ['SIGTERM', 'SIGKILL', 9],
  dieWithParent: [true, false],
  newSession: [true, false],
  rootfs: ['host', { dir: '/' }, { dir: '/', writable: true }, { layers: ['/usr'], upper: 'tmpfs' }, { layers: ['/usr', '/etc'], upper: 'tmpfs', upperSize: 8192 }],
  mounts: [[], [{ type: 'tmpfs', target: '/t' }], [{ type: 'bind', source: '/etc', target: '/mnt/etc', readonly: true }], [{ type: 'file', target: '/f', content: 'x' }, { type: 'symlink', target: '/l', linkTo: '/f' }], [{ type: 'mask', target: '/etc/shadow' }], [{ type: 'proc', target: '/p' }]],
  cgroup: [{}, { memory: { max: 64 * 1024 * 1024 } }, { pids: { max: 10 } }],
  groups: [[0], []],
  capabilities: [['CAP_NET_BIND_SERVICE'], ['net_raw']],
  allowNewPrivileges: [true, false],
  rlimits: [{ nofile: 64 }, { core: { soft: 0, hard: 0 } }],
  umask: [0o22, 0o77],
  nice: [0, 19],
  oomScoreAdj: [0, 1000],
  landlock: [{ paths: [{ path: '/', access: ['read', 'execute'] }] }, { scopes: ['signal'] }, { bindTcp: [80], mode: 'best-effort' }],
  seccomp: [false, { deny: ['ptrace'] }, { mode: 'allowlist', allow: ['execve', 'exit_group'] }, { defaultAction: { errno: 'EPERM' } }],
  network: ['none', 'host'],
  tmpSize: [4096, 1 << 20],
  kernelCounters: [{ inotifyInstances: 4 }, { userNamespaces: 'unlimited' }],
  sysctl: [{ 'net.ipv4.ip_forward': '0' }],
  userNamespaceOwner: ['caller', 'box'],
  tty: [true, { cols: 80, rows: 24 }],
};
/** Bad values: each case has one with some chance. */
const BAD = {
  namespaces: [{ net: 'nope' }, { user: { path: 'rel' } }],
  uid: [-1, 1.5],
  hostname: ['x'.repeat(70), ''],
  env: [{ A: 1 }, { '': 'x' }, { 'A=B': 'x' }],
  cwd: ['rel'],
  argv0: [5],
  stdio: ['bogus', ['ipc']],
  timeout: [-1, 2 ** 31],
  killSignal: ['SIGNOPE', 0],
  rootfs: [{ dir: 'rel' }, 'other'],
  mounts: [[{ type: 'nfs', target: '/n' }], [{ type: 'tmpfs', target: 'rel' }]],
  cgroup: [{ memory: { max: -1 } }],
  groups: [[-1]],
  capabilities: [['CAP_FLY']],
  rlimits: [{ files: 1 }, { nofile: { soft: 10, hard: 5 } }],
  umask: [0o1000],
  nice: [20],
  landlock: [{ paths: [{ path: 'rel', access: ['fly'] }] }],
  seccomp: [{ deny: ['nosuchcall'] }, 'default'],
  network: ['nat'],
  kernelCounters: [{ nosuchCounter: 1 }],
  sysctl: [{ 'kernel.hostname': 'x' }],
  userNamespaceOwner: ['tenant'],
  colour: [1],
};
const KEYS = Object.keys(VALUES);
const FILES = [['/bin/true', []], ['true', ['a', 'b']], ['/bin/sh', ['-c', 'exit 0']], ['', []], [5, []], ['/bin/true', ['a\0b']], ['/bin/true', 'x']];

/** Case `n` of `seed`: a file, args and a function making a fresh options object (the same content each time). */
function makeCase(seed, n) {
  const g = generator(seed * 1_000_003 + n);
  const keys = KEYS.filter(() => g.chance(0.08));
  const picks = keys.map((key) => [key, VALUES[key][g.int(VALUES[key].length)]]);
  if (g.chance(0.2)) {
    const key = g.pick(Object.keys(BAD));
    picks.splice(g.int(picks.length + 1), 0, [key, g.pick(BAD[key])]);
  }
  const [file, args] = g.chance(0.9) ? FILES[0] : g.pick(FILES);
  const options = () => Object.fromEntries(picks.map(([key, value]) => [key, structuredClone(value)]));
  return { file, args: Array.isArray(args) ? [...args] : args, options };
}

// A fixed host: the same runtime, caller and view in every build and process.
const HOST_VIEW = Object.freeze({
  top: [{ name: '/usr', kind: 'dir' }, { name: '/bin', kind: 'link', to: 'usr/bin' }, { name: '/etc', kind: 'dir' }],
  present: ['/tmp', '/home'], homes: ['/home/someone'], sockets: ['/run/x.sock'],
});
const COUNTER_LIMITS = Object.freeze({ sysctl: { userNamespaces: 1000, inotifyInstances: 128 }, rlimits: { nproc: 4000 } });

function runtimeFor(validated) {
  let fd = 100;
  const runtime = Object.assign(Object.create(null), { stdio: validated.stdio.map((entry) => (entry.kind === 'ignore' ? undefined : fd++)), namespaces: {} });
  if (validated.tty !== undefined) runtime.stdio = [fd, fd, fd++];
  if (validated.init) runtime.init = fd++;
  for (const [name, setting] of Object.entries(validated.namespaces)) if (setting.kind === 'path') runtime.namespaces[name] = fd++;
  if (validated.rootfs.kind === 'host' && validated.namespaces.mount.kind === 'new') runtime.hostView = HOST_VIEW;
  return runtime;
}

function callerFor(validated) {
  const caller = { euid: process.geteuid(), egid: process.getegid() };
  if (validated.namespaces.user.kind === 'new') caller.counterLimits = COUNTER_LIMITS;
  if (validated.landlock !== undefined) caller.landlockAbi = 4;
  return caller;
}

/** Every string of a record, resolved from the plan's string area (a list as `lengths[k]` strings). */
function decode(buffer, steps, { HEADER_SIZE, STEP_SIZE, NO_STRING }) {
  const count = buffer.readUInt32LE(8);
  const area = buffer.readUInt32LE(16);
  const areaEnd = area + buffer.readUInt32LE(20);
  if (areaEnd !== buffer.length || area !== HEADER_SIZE + count * STEP_SIZE) throw new Error('not an encoded plan');
  const records = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER_SIZE + i * STEP_SIZE;
    const strings = [0, 1, 2, 3].map((k) => {
      const offset = buffer.readUInt32LE(at + 48 + k * 4);
      if (offset === NO_STRING) return null;
      if (area + offset >= areaEnd) return `<offset ${offset} outside the area>`;
      const n = steps[i]?.lists?.[k]?.length ?? 1;
      const texts = [];
      let cursor = area + offset;
      for (let j = 0; j < n; j++) {
        const end = buffer.indexOf(0, cursor);
        texts.push(buffer.toString('utf8', cursor, end));
        cursor = end + 1;
      }
      return texts;
    });
    records.push({ head: buffer.subarray(at, at + 48).toString('hex'), strings });
  }
  return { header: buffer.subarray(0, 16).toString('hex'), records };
}

/** Validated options as comparable data: live objects by class, a null prototype as a plain object. */
function canon(value, seen = new Set()) {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '<cycle>';
  seen.add(value);
  if (Array.isArray(value)) return value.map((entry) => canon(entry, seen));
  if (value instanceof Map || value instanceof Set) return { [value.constructor.name]: [...value].map((entry) => canon(entry, seen)) };
  const proto = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) return `<${proto.constructor?.name ?? 'object'}>`;
  return Object.fromEntries(Object.keys(value).map((key) => [key, canon(value[key], seen)]));
}

function errorOf(error) {
  return { error: error?.constructor?.name, code: error?.code, message: error?.message, option: error?.option, step: error?.step, path: error?.path, syscall: error?.syscall };
}

/** One build's outcome for each call: `repeat` calls per case, each with a fresh options object (`plain`: without the options cache). */
function* outcomes(dist, { seed, runs, repeat, plain = false }) {
  const { validateOptions } = require(path.join(dist, 'validate.js'));
  const { buildPlan } = require(path.join(dist, 'plan.js'));
  const { encodePlan } = require(path.join(dist, 'internal', 'encode.js'));
  const abi = require(path.join(dist, 'internal', 'plan-abi.js'));
  let cache;
  try {
    cache = require(path.join(dist, 'options-cache.js'));
  } catch {
    cache = undefined; // a build from before the cache
  }
  const call = cache === undefined || plain
    ? (file, args, options) => {
      const validated = validateOptions(file, args, options);
      const plan = buildPlan(validated, runtimeFor(validated), callerFor(validated));
      return { validated, plan, encoded: encodePlan(plan) };
    }
    : (file, args, options) => {
      const { validated, planner } = cache.validateWithCache(file, args, options);
      const { plan, encoded } = planner(validated, runtimeFor(validated), callerFor(validated));
      return { validated, plan, encoded };
    };
  for (let n = 0; n < runs; n++) {
    const item = makeCase(seed, n);
    for (let r = 0; r < repeat; r++) {
      let line;
      try {
        const { validated, plan, encoded } = call(item.file, Array.isArray(item.args) ? [...item.args] : item.args, item.options());
        const labels = plan.steps.map((step) => [step.op, step.name, step.syscall, step.kind, step.path, step.source, step.slot]);
        line = {
          validated: canon(validated), labels, plan: decode(encoded.buffer, plan.steps, abi), fds: [...encoded.fds],
          spawnargs: plan.spawnargs, usesInit: plan.usesInit, landlock: canon(plan.landlock), hiddenView: canon(plan.hiddenView),
        };
      } catch (error) {
        line = errorOf(error);
      }
      yield { n, r, line: JSON.stringify(line) };
    }
  }
}

function main() {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', default: path.join(__dirname, '..', 'dist') },
      compare: { type: 'string' },
      seed: { type: 'string', default: '1' },
      runs: { type: 'string', default: '500' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const settings = { seed: Number(values.seed), runs: Number(values.runs), repeat: Number(values.repeat) };
  if (values.compare === undefined) {
    for (const { n, r, line } of outcomes(path.resolve(values.dist), settings)) process.stdout.write(`${n}.${r} ${line}\n`);
    return 0;
  }
  const other = spawnSync(process.execPath, [__filename, '--dist', path.resolve(values.compare), '--seed', values.seed, '--runs', values.runs, '--repeat', values.repeat], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (other.status !== 0) throw new Error(other.stderr);
  const theirs = other.stdout.split('\n').filter(Boolean);
  let differences = 0;
  let i = 0;
  let errors = 0;
  for (const { n, r, line } of outcomes(path.resolve(values.dist), settings)) {
    const mine = `${n}.${r} ${line}`;
    if (line.startsWith('{"error"')) errors++;
    if (theirs[i] !== mine) {
      differences++;
      if (differences <= 5) console.log(`case ${n} call ${r} differs:\n  theirs ${theirs[i]?.slice(0, 600)}\n  mine   ${mine.slice(0, 600)}`);
    }
    i++;
  }
  if (theirs.length !== i) differences++;
  console.log(`${i} calls (${errors} errors), ${differences} differences`);
  return differences === 0 ? 0 : 1;
}

module.exports = { makeCase, outcomes, generator, runtimeFor, callerFor };

if (require.main === module) process.exitCode = main();
