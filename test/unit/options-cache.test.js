// spawnIsolated()'s options cache (lib/options-cache.ts): options seen again
// are compiled, and what a call gets through them is what validateOptions()
// and buildPlan() give: the same validated options, the same plan (every
// record and string), the same errors. Options mutated between calls take
// effect; getters are read once per call; the AbortSignal is each call's;
// live objects and options checked against the host are never compiled.
'use strict';
const path = require('node:path');
const t = require('tap');

const { outcomes, runtimeFor, callerFor } = require('../../scripts/plan-equivalence');
const { validateWithCache, clearOptionsCache, optionsCacheSize, optionsKey } = require('../../dist/options-cache.js');
const { validateOptions } = require('../../dist/validate.js');
const { ownSnapshot } = require('../../dist/internal/checks.js');
const { CordonOptionError } = require('../..');

const dist = path.join(__dirname, '..', '..', 'dist');

t.test('through the cache, each call gets what plain validation and planning give', async (t) => {
  for (const seed of [1, 2, 3]) {
    clearOptionsCache();
    const settings = { seed, runs: 400, repeat: 3 };
    const cached = [...outcomes(dist, settings)];
    t.ok(optionsCacheSize().compiled > 0, `seed ${seed}: options were compiled (${optionsCacheSize().compiled} kept)`);
    const plain = [...outcomes(dist, { ...settings, plain: true })];
    t.equal(cached.length, plain.length);
    const differing = cached.filter((entry, i) => entry.line !== plain[i].line);
    t.same(differing.slice(0, 3), [], `seed ${seed}: ${cached.length} calls, ${cached.filter((entry) => entry.line.startsWith('{"error"')).length} errors, none differs`);
    t.ok(cached.some((entry) => !entry.line.startsWith('{"error"')) && cached.some((entry) => entry.line.startsWith('{"error"')), 'valid and invalid options both');
  }
});

const plan = (call) => call.planner(call.validated, runtimeFor(call.validated), callerFor(call.validated)).plan;
const execOf = (call) => plan(call).steps.find((step) => step.op === 'exec' || step.op === 'execInit');

t.test('the same options object, changed between calls: the new values take effect', async (t) => {
  clearOptionsCache();
  const options = { stdio: 'ignore', env: { A: '1' }, hostname: 'one', mounts: [{ type: 'tmpfs', target: '/a' }] };
  for (let i = 0; i < 3; i++) validateWithCache('/bin/true', [], options);
  t.equal(optionsCacheSize().compiled, 1, 'compiled');
  options.env.A = '2';
  t.same(execOf(validateWithCache('/bin/true', [], options)).lists[1], ['A=2'], 'a changed env value');
  options.hostname = 'two';
  t.equal(validateWithCache('/bin/true', [], options).validated.hostname, 'two', 'a changed option');
  options.mounts.push({ type: 'tmpfs', target: '/b' });
  t.same(validateWithCache('/bin/true', [], options).validated.mounts.map((entry) => entry.target), ['/a', '/b'], 'an entry pushed to a nested list');
  delete options.hostname;
  t.equal(validateWithCache('/bin/true', [], options).validated.hostname, validateOptions('/bin/true', [], options).hostname, 'a deleted option');
  options.uid = -1;
  const error = (() => {
    try {
      validateWithCache('/bin/true', [], options);
    } catch (caught) {
      return caught;
    }
  })();
  t.ok(error instanceof CordonOptionError, 'an option made bad throws');
  t.equal(error.option, 'uid');
  delete options.uid;
  t.equal(execOf(validateWithCache('/bin/true', ['x'], options)).lists[0][1], 'x', 'args are each call\'s');
  t.equal(validateWithCache('/bin/echo', [], options).validated.argv0, '/bin/echo', 'argv0 follows the file');
});

t.test('a getter is read once per call, and what it returns then is what the call gets', async (t) => {
  clearOptionsCache();
  let reads = 0;
  let hostname = 'a';
  const options = { stdio: 'ignore', get hostname() { reads++; return hostname; } };
  for (let i = 0; i < 4; i++) {
    t.equal(validateWithCache('/bin/true', [], options).validated.hostname, hostname);
    hostname = hostname === 'a' ? 'b' : 'a';
  }
  t.equal(reads, 4, 'one read per call');
});

t.test('the AbortSignal is each call\'s own', async (t) => {
  clearOptionsCache();
  const first = new AbortController().signal;
  const second = new AbortController().signal;
  const calls = [first, second, undefined, second].map((signal) => validateWithCache('/bin/true', [], { stdio: 'ignore', signal }));
  t.equal(optionsCacheSize().compiled, 1, 'one compiled set for all four calls');
  t.equal(calls[0].validated.signal, first);
  t.equal(calls[1].validated.signal, second);
  t.equal(calls[2].validated.signal, undefined);
  t.equal(calls[3].validated.signal, second);
  t.throws(() => validateWithCache('/bin/true', [], { stdio: 'ignore', signal: 'stop' }), { option: 'signal' }, 'a signal that is none still throws');
});

t.test('live objects and options checked against the host are never compiled', async (t) => {
  const cases = [
    ['a URL cwd', { cwd: new URL('file:///tmp') }],
    ['a stream in stdio', { stdio: ['ignore', process.stdout, 'ignore'] }],
    ['a Proxy that is no plain object', { namespaces: new Proxy(new Date(), {}) }],
    ['network bridge (checked against the host)', { network: 'bridge' }],
    ['options too large to key (validated each time)', { env: { BIG: 'x'.repeat(20_000) } }],
  ];
  if (process.geteuid() !== 0) cases.push(['an unprivileged uidMap (newuidmap, /etc/subuid)', { uidMap: [{ inside: 0, outside: process.geteuid(), count: 1 }] }]);
  for (const [what, options] of cases) {
    clearOptionsCache();
    for (let i = 0; i < 3; i++) {
      try {
        validateWithCache('/bin/true', [], options);
      } catch {
        // a bad option (a Map env) or a host refusal: not compiled either way
      }
    }
    t.equal(optionsCacheSize().compiled, 0, what);
  }
});

t.test('options holding a namespace pool are compiled per pool, and a closed pool still throws', async (t) => {
  const { createNamespacePool } = require('../..');
  clearOptionsCache();
  const one = createNamespacePool({ size: 1 });
  const two = createNamespacePool({ size: 1 });
  t.teardown(async () => {
    await one.close();
    await two.close();
  });
  for (let i = 0; i < 3; i++) {
    validateWithCache('/bin/true', [], { stdio: 'ignore', netnsPool: one });
    validateWithCache('/bin/true', [], { stdio: 'ignore', netnsPool: two });
  }
  t.same(optionsCacheSize(one), { kept: 1, compiled: 1 }, 'the first pool\'s options are compiled');
  t.same(optionsCacheSize(two), { kept: 1, compiled: 1 }, 'the second pool\'s apart');
  t.same(optionsCacheSize(), { kept: 0, compiled: 0 }, 'none in the plain store');
  const call = validateWithCache('/bin/true', [], { stdio: 'ignore', netnsPool: two });
  t.equal(call.validated.netnsPool, two, 'a box gets its own options\' pool');
  t.same(validateWithCache('/bin/true', [], { stdio: 'ignore', netnsPool: one }).validated, validateOptions('/bin/true', [], { stdio: 'ignore', netnsPool: one }), 'what plain validation gives');
  await one.close();
  const plain = (() => {
    try {
      validateOptions('/bin/true', [], { stdio: 'ignore', netnsPool: one });
    } catch (error) {
      return error;
    }
    return undefined;
  })();
  t.type(plain, CordonOptionError);
  t.throws(() => validateWithCache('/bin/true', [], { stdio: 'ignore', netnsPool: one }), { code: plain.code, option: plain.option, message: plain.message }, 'a closed pool throws through the cache what validation throws');
  t.equal(optionsKey(ownSnapshot({ netnsPool: new Proxy(two, {}) }, '')), undefined, 'a Proxy of a pool has no key');
  t.equal(optionsKey(ownSnapshot({ netnsPool: { kind: 'user+net' } }, '')), undefined, 'nor has a pool-like object');
});

t.test('options holding a tenant cgroup are compiled per tenant (and per pool with it), and a closed tenant still throws', async (t) => {
  const { createTenantCgroup, createNamespacePool, probe } = require('../..');
  const { skipExpected, requireOrSkip } = require('../helpers/skip');
  if (!skipExpected(t, process.geteuid() === 0, 'unprivileged pass (this host delegates no cgroup to an unprivileged user)')) return;
  if (!requireOrSkip(t, probe().cgroup.writableControllers.includes('pids'), 'no writable pids controller here')) return;
  clearOptionsCache();
  const tenant = createTenantCgroup(`options-cache-${process.pid}`, { pids: { max: 64 } });
  const other = createTenantCgroup(`options-cache-other-${process.pid}`);
  const pool = createNamespacePool({ size: 1 });
  t.teardown(async () => {
    await pool.close();
    if (!tenant.closed) await tenant.close();
    if (!other.closed) await other.close();
  });
  const forms = [
    ['cgroup: tenant', (x) => ({ stdio: 'ignore', cgroup: x })],
    ['cgroup: { tenant, limits }', (x) => ({ stdio: 'ignore', cgroup: { tenant: x, pids: { max: 32 } } })],
    ['with a pool too', (x) => ({ stdio: 'ignore', cgroup: x, netnsPool: pool })],
  ];
  for (const [what, options] of forms) {
    for (let i = 0; i < 3; i++) {
      validateWithCache('/bin/true', [], options(tenant));
      validateWithCache('/bin/true', [], options(other));
    }
    const call = validateWithCache('/bin/true', [], options(other));
    t.equal(call.validated.cgroupTenant, other, `${what}: a box gets its own options' tenant`);
    t.same(call.validated, validateOptions('/bin/true', [], options(other)), `${what}: what plain validation gives`);
  }
  t.same(optionsCacheSize(tenant), { kept: 2, compiled: 2 }, 'the tenant\'s options are compiled (both forms)');
  t.same(optionsCacheSize(other), { kept: 2, compiled: 2 }, 'the other tenant\'s apart');
  t.same(optionsCacheSize(pool, tenant), { kept: 1, compiled: 1 }, 'with a pool: by pool and tenant');
  t.same(optionsCacheSize(), { kept: 0, compiled: 0 }, 'none in the plain store');
  await tenant.close();
  for (const [what, options] of forms) {
    const plain = (() => {
      try {
        validateOptions('/bin/true', [], options(tenant));
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    t.type(plain, CordonOptionError, `${what}: plain validation refuses a closed tenant`);
    t.throws(() => validateWithCache('/bin/true', [], options(tenant)), { code: plain.code, option: plain.option, message: plain.message }, `${what}: a closed tenant throws through the cache what validation throws`);
  }
  t.equal(optionsKey(ownSnapshot({ cgroup: new Proxy(other, {}) }, '')), undefined, 'a Proxy of a tenant has no key');
  t.equal(optionsKey(ownSnapshot({ cgroup: { tenant: { name: 'x' } } }, '')).tenant, undefined, 'a tenant-like object is plain data, no tenant');
  t.throws(() => validateWithCache('/bin/true', [], { cgroup: { tenant: { name: 'x' } } }), { code: 'ERR_INVALID_ARG_TYPE', option: 'cgroup.tenant' }, 'and refused as validation refuses it');
});

t.test('keys tell plain data apart: types, -0, order of entries, nesting, the caller', async (t) => {
  const key = (options) => optionsKey(ownSnapshot(options, ''))?.key;
  const distinct = [
    { uid: 1 }, { uid: '1' }, { uid: -0 }, { uid: 0 }, { uid: 1n }, { uid: true }, { uid: null }, { uid: undefined }, {},
    { env: { A: '1', B: '2' } }, { env: { B: '2', A: '1' } }, { env: { 'A":"1': '' } }, { mounts: [] }, { mounts: {} }, { mounts: [[]] }, { mounts: [{}] },
  ];
  const keys = distinct.map(key);
  t.equal(new Set(keys).size, keys.length, 'every one its own key');
  t.equal(key({ env: { A: '1' } }), key({ env: { A: '1' } }), 'the same data, the same key');
  t.equal(key({ cwd: new URL('file:///') }), undefined, 'a live object: no key');
  t.equal(key({ signal: new AbortController().signal }), key({ signal: new AbortController().signal }), 'any AbortSignal: the same key');
});
