// Inputs the fuzzer found: each is refused up front with a documented
// CordonOptionError naming the option and the limit, or works; none throws
// a bare RangeError or TypeError, and none reaches the kernel to fail there.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { spawnIsolated, createNamespacePool, CordonOptionError } = require('../..');
const { validateOptions } = require('../../dist/validate');

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function refuses(t, fn, code, option, message) {
  const before = fdCount();
  const error = thrown(fn);
  t.type(error, CordonOptionError, `a CordonOptionError (${error?.name}: ${error?.message?.slice(0, 160)})`);
  t.equal(error?.code, code, 'code');
  if (option instanceof RegExp) t.match(error?.option, option, 'names the option');
  else t.equal(error?.option, option, 'names the option');
  if (message) t.match(error?.message, message, 'names the limit');
  t.equal(fdCount(), before, 'no fd was opened');
  return error;
}

t.test('150,000 args: the box runs (the plan encoder does not spread the list into a call)', async (t) => {
  const args = Array.from({ length: 150_000 }, () => 'x');
  const box = spawnIsolated('/bin/sh', ['-c', 'echo $#', 'sh', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  box.stdout.on('data', (d) => { out += d; });
  const result = await box.exited;
  t.equal(result.code, 0);
  t.equal(out.trim(), '150000', 'every argument arrived');
});

t.test('150,000 env entries: the box runs', async (t) => {
  const env = { PATH: '/usr/bin:/bin' };
  for (let i = 0; i < 150_000; i++) env[`V${i}`] = '1';
  // ~2.6 MB of envp: execve takes a quarter of the stack rlimit (at most 6 MiB), so the box gets a larger stack.
  const box = spawnIsolated('/bin/sh', ['-c', 'echo "$V149999"'], { env, rlimits: { stack: 64 * 1024 * 1024 }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  box.stdout.on('data', (d) => { out += d; });
  const result = await box.exited;
  t.equal(result.code, 0);
  t.equal(out.trim(), '1');
});

t.test("argv and envp beyond execve's limits are refused up front", async (t) => {
  refuses(t, () => spawnIsolated('/bin/true', ['x'.repeat(131072)]), 'ERR_INVALID_ARG_VALUE', 'args[0]', /MAX_ARG_STRLEN/);
  refuses(t, () => spawnIsolated('/bin/true', [], { env: { BIG: 'x'.repeat(131068) } }), 'ERR_INVALID_ARG_VALUE', 'env.BIG', /MAX_ARG_STRLEN/);
  const args = Array.from({ length: 100 }, () => 'x'.repeat(65536));
  refuses(t, () => spawnIsolated('/bin/true', args), 'ERR_INVALID_ARG_VALUE', 'args', /6291456 bytes/);
  const env = {};
  for (let i = 0; i < 100; i++) env[`V${i}`] = 'x'.repeat(65536);
  refuses(t, () => spawnIsolated('/bin/true', ['a'], { env }), 'ERR_INVALID_ARG_VALUE', 'env', /6291456 bytes/);
  const huge = [];
  huge.length = 2 ** 32 - 1; // sparse: must not be walked element by element
  refuses(t, () => spawnIsolated('/bin/true', huge), 'ERR_INVALID_ARG_VALUE', 'args', /more entries than any option takes/);
});

t.test("4,000 file mounts are refused up front: a plan's 4096 steps", async (t) => {
  const mounts = Array.from({ length: 4000 }, (_, i) => ({ type: 'file', target: `/f${i}`, content: 'x' }));
  refuses(t, () => spawnIsolated('/bin/true', [], { mounts }), 'ERR_INVALID_ARG_VALUE', 'mounts', /at most 4096 steps/);
  const fits = Array.from({ length: 1000 }, (_, i) => ({ type: 'file', target: `/f${i}`, content: 'x' }));
  t.doesNotThrow(() => validateOptions('/bin/true', [], { mounts: fits }), '1,000 file mounts fit');
});

t.test("a uid map the kernel would refuse is refused up front, naming the kernel's limits", async (t) => {
  // 340 lines (UID_GID_MAP_MAX_EXTENTS) of long numbers: more than a page of map text.
  const long = Array.from({ length: 340 }, (_, i) => ({ inside: 4_000_000_000 + i, outside: 4_000_000_000 + i, count: 1 }));
  refuses(t, () => spawnIsolated('/bin/true', [], { uidMap: [{ inside: 0, outside: 0, count: 1 }, ...long.slice(1)] }), 'ERR_INVALID_ARG_VALUE', 'uidMap', /4095/);
  refuses(t, () => createNamespacePool({ gidMap: long }), 'ERR_INVALID_ARG_VALUE', 'gidMap', /4095/);
  const tooMany = Array.from({ length: 341 }, (_, i) => ({ inside: i, outside: i, count: 1 }));
  refuses(t, () => spawnIsolated('/bin/true', [], { uidMap: tooMany }), 'ERR_INVALID_ARG_VALUE', 'uidMap', /UID_GID_MAP_MAX_EXTENTS/);
  // The kernel refuses overlapping outside ranges as it does inside ones.
  refuses(t, () => spawnIsolated('/bin/true', [], { uidMap: [{ inside: 0, outside: 1000, count: 10 }, { inside: 100, outside: 1005, count: 1 }] }),
    'ERR_INVALID_ARG_VALUE', 'uidMap', /overlapping outside ranges/);
});

t.test('sparse arrays: a CordonOptionError naming the hole, not a TypeError', async (t) => {
  refuses(t, () => spawnIsolated('/bin/true', [], { uidMap: [{ inside: 0, outside: 0, count: 1 }, , { inside: 5, outside: 5, count: 1 }] }), // eslint-disable-line no-sparse-arrays
    'ERR_INVALID_ARG_TYPE', 'uidMap[1]');
  refuses(t, () => spawnIsolated('/bin/true', [], { gidMap: [, { inside: 0, outside: 0, count: 1 }] }), 'ERR_INVALID_ARG_TYPE', 'gidMap[0]'); // eslint-disable-line no-sparse-arrays
  refuses(t, () => spawnIsolated('/bin/true', [], { mounts: [{ type: 'tmpfs', target: '/a' }, , { type: 'tmpfs', target: '/b' }] }), 'ERR_INVALID_ARG_TYPE', 'mounts[1]'); // eslint-disable-line no-sparse-arrays
  refuses(t, () => createNamespacePool({ uidMap: [, { inside: 0, outside: 0, count: 1 }] }), 'ERR_INVALID_ARG_TYPE', 'uidMap[0]'); // eslint-disable-line no-sparse-arrays
});

t.test('keys named like Object.prototype members are unknown, not a crash', async (t) => {
  refuses(t, () => spawnIsolated('/bin/true', [], { mounts: [{ type: 'toString', target: '/a' }] }), 'ERR_INVALID_ARG_VALUE', 'mounts[0].type');
  refuses(t, () => spawnIsolated('/bin/true', [], { mounts: [{ type: 'constructor', target: '/a' }] }), 'ERR_INVALID_ARG_VALUE', 'mounts[0].type');
  refuses(t, () => spawnIsolated('/bin/true', [], { killSignal: 'toString' }), 'ERR_INVALID_ARG_VALUE', 'killSignal');
  refuses(t, () => spawnIsolated('/bin/true', [], { capabilities: ['CAP___proto__'] }), 'ERR_INVALID_ARG_VALUE', 'capabilities[0]');
});

t.test('a variable named __proto__ is passed like any other', async (t) => {
  const env = JSON.parse('{"__proto__": "yes", "PATH": "/usr/bin:/bin"}');
  const validated = validateOptions('/bin/true', [], { env });
  t.same(Object.entries(validated.env), [['__proto__', 'yes'], ['PATH', '/usr/bin:/bin']]);
});

t.test('a getter that throws: a CordonOptionError naming the option, the exception its cause', async (t) => {
  const boom = new Error('boom');
  const options = { mounts: [{ type: 'tmpfs', get target() { throw boom; } }] };
  const error = refuses(t, () => spawnIsolated('/bin/true', [], options), 'ERR_INVALID_ARG_VALUE', 'mounts[0].target', /could not be read: boom/);
  t.equal(error?.cause, boom, 'the exception is the cause');
  const trap = new Proxy({}, { ownKeys() { throw boom; } });
  t.equal(refuses(t, () => spawnIsolated('/bin/true', [], { cgroup: trap }), 'ERR_INVALID_ARG_VALUE', 'cgroup')?.cause, boom);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  refuses(t, () => spawnIsolated('/bin/true', [], { landlock: proxy }), 'ERR_INVALID_ARG_VALUE', 'landlock', /could not be read/);
  refuses(t, () => spawnIsolated('/bin/true', [], proxy), 'ERR_INVALID_ARG_VALUE', 'options', /could not be read/);
});

t.test('each option is read once: a getter cannot pass validation with one value and be used with another', async (t) => {
  const reads = {};
  const flip = (name, first, later) => ({
    get() {
      reads[name] = (reads[name] ?? 0) + 1;
      return reads[name] === 1 ? first : later;
    },
    enumerable: true,
  });
  const namespaces = Object.defineProperty({}, 'user', flip('namespaces.user', 'new', 'host'));
  const options = Object.defineProperties({ namespaces }, {
    allowHostCredentials: flip('allowHostCredentials', false, true),
    uid: flip('uid', 0, 1000),
    cwd: flip('cwd', '/', 'relative'),
    seccomp: flip('seccomp', undefined, false),
  });
  options.mounts = [Object.defineProperty({ type: 'bind', source: '/etc' }, 'target', flip('mounts[0].target', '/etc-copy', '/'))];
  const validated = validateOptions('/bin/true', [], options);
  t.same(reads, { 'namespaces.user': 1, allowHostCredentials: 1, uid: 1, cwd: 1, seccomp: 1, 'mounts[0].target': 1 }, 'every getter was called once');
  t.equal(validated.namespaces.user.kind, 'new', 'the user namespace validated is the one used');
  t.equal(validated.uid, 0);
  t.equal(validated.cwd, '/');
  t.equal(validated.mounts[0].target, '/etc-copy');
  t.not(validated.seccomp, undefined, 'the default filter stays');

  // Through the whole spawn, too: nothing reads the caller's object again.
  for (const key of Object.keys(reads)) delete reads[key];
  const box = spawnIsolated('/bin/true', [], Object.defineProperties({ stdio: 'ignore' }, { cwd: flip('cwd', '/', 'relative') }));
  await box.exited;
  t.same(reads, { cwd: 1 }, 'spawnIsolated read the getter once');
});

t.test('Proxies, frozen objects and Symbols', async (t) => {
  const frozen = Object.freeze({ hostname: 'frozen', mounts: Object.freeze([Object.freeze({ type: 'tmpfs', target: '/t' })]) });
  t.equal(validateOptions('/bin/true', [], frozen).hostname, 'frozen', 'frozen options are read');
  const proxied = new Proxy({ hostname: 'proxied' }, {});
  t.equal(validateOptions('/bin/true', [], proxied).hostname, 'proxied', 'a transparent Proxy is read like its target');
  refuses(t, () => spawnIsolated('/bin/true', [], { hostname: Symbol('h') }), 'ERR_INVALID_ARG_TYPE', 'hostname');
  refuses(t, () => spawnIsolated('/bin/true', [Symbol('a')]), 'ERR_INVALID_ARG_TYPE', 'args[0]');
  t.doesNotThrow(() => validateOptions('/bin/true', [], { [Symbol('ignored')]: 1 }), 'symbol keys are not options (as Object.keys)');
  const deep = {};
  let at = deep;
  for (let i = 0; i < 100_000; i++) at = at.next = {};
  refuses(t, () => spawnIsolated('/bin/true', [], { cgroup: deep }), 'ERR_INVALID_ARG_VALUE', /^cgroup(\.next)+$/, /nests deeper/);
  const cycle = {};
  cycle.self = cycle;
  refuses(t, () => spawnIsolated('/bin/true', [], { rootfs: cycle }), 'ERR_INVALID_ARG_VALUE', /^rootfs(\.self)+$/, /nests deeper/);
});
