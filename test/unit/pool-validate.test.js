// One test per bad-input class of createNamespacePool() and the netnsPool
// option: each throws synchronously, names the option, and creates nothing
// (no fd opened, no pool entry taken).
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { spawnIsolated, createNamespacePool, NamespacePool, CordonOptionError } = require('../..');

const isRoot = process.geteuid() === 0;

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

function check(t, call, code, option, message) {
  const before = fdCount();
  let thrown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  t.type(thrown, CordonOptionError, `${option}: throws a CordonOptionError`);
  t.equal(thrown?.code, code, `${option}: code`);
  t.equal(thrown?.option, option, 'names the option');
  if (message) t.match(thrown?.message, message);
  t.equal(fdCount(), before, 'no fd was opened');
}

const poolClasses = [
  ['options not an object', ['big'], 'ERR_INVALID_ARG_TYPE', 'options'],
  ['options an array', [[]], 'ERR_INVALID_ARG_TYPE', 'options'],
  ['unknown option', [{ sise: 4 }], 'ERR_CORDON_UNKNOWN_OPTION', 'sise', /Did you mean "size"/],
  ['size not a number', [{ size: '4' }], 'ERR_INVALID_ARG_TYPE', 'size'],
  ['size zero', [{ size: 0 }], 'ERR_INVALID_ARG_VALUE', 'size', /from 1 to 256/],
  ['size too big', [{ size: 257 }], 'ERR_INVALID_ARG_VALUE', 'size', /from 1 to 256/],
  ['size not an integer', [{ size: 1.5 }], 'ERR_INVALID_ARG_VALUE', 'size'],
  ['unknown kind', [{ kind: 'pid' }], 'ERR_INVALID_ARG_VALUE', 'kind', /'user\+net' or 'net'/],
  ['kind wrong type', [{ kind: 1 }], 'ERR_INVALID_ARG_TYPE', 'kind'],
  ['uidMap not an array', [{ uidMap: { inside: 0 } }], 'ERR_INVALID_ARG_TYPE', 'uidMap'],
  ['bad gidMap entry', [{ gidMap: [{ inside: 0, outside: 1 }] }], 'ERR_INVALID_ARG_TYPE', 'gidMap[0].count'],
  ['maps for a net pool', [{ kind: 'net', uidMap: [{ inside: 0, outside: 1000, count: 1 }] }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'uidMap', /'net' pool has no user namespace/],
];
if (!isRoot) {
  poolClasses.push(['net pool, unprivileged', [{ kind: 'net' }], 'ERR_CORDON_CONFLICTING_OPTIONS', 'kind', /needs a root caller/]);
}

for (const [name, args, code, option, message] of poolClasses) {
  t.test(`createNamespacePool: ${name}`, async (t) => check(t, () => createNamespacePool(...args), code, option, message));
}

t.test('NamespacePool cannot be constructed directly', async (t) => {
  t.throws(() => new NamespacePool(Symbol('x'), 'net', 1), TypeError);
});

t.test('netnsPool option', async (t) => {
  const pool = createNamespacePool({ size: 1 });
  const netPool = isRoot ? createNamespacePool({ kind: 'net', size: 1 }) : undefined;
  const closed = createNamespacePool({ size: 1 });
  await closed.close();
  t.teardown(async () => {
    await pool.close();
    await netPool?.close();
  });
  await pool.ready();
  await netPool?.ready();

  const classes = [
    ['not a pool', { netnsPool: {} }, 'ERR_INVALID_ARG_TYPE', 'netnsPool', /NamespacePool/],
    ['a string', { netnsPool: 'pool' }, 'ERR_INVALID_ARG_TYPE', 'netnsPool'],
    ['a closed pool', { namespaces: { pid: 'host' }, netnsPool: closed }, 'ERR_CORDON_POOL_CLOSED', 'netnsPool', /closed/],
    ['with namespaces.net host', { namespaces: { net: 'host', pid: 'host' }, netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'netnsPool', /namespaces\.net must be left 'new'/],
    ['with namespaces.net joined', { namespaces: { net: { fd: 0 }, pid: 'host' }, netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'netnsPool', /namespaces\.net/],
    ['user+net pool, other uidMap', { namespaces: { pid: 'host' }, uidMap: [{ inside: 0, outside: 4242, count: 1 }], netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'uidMap', /one box identity/],
    ['user+net pool, other gidMap', { namespaces: { pid: 'host' }, gidMap: [{ inside: 0, outside: 4242, count: 1 }], netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'gidMap', /one box identity/],
    ['user+net pool, host user namespace', { namespaces: { user: 'host', pid: 'host' }, allowHostCredentials: true, netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'netnsPool', /'net' pool/],
    ['user+net pool, new time namespace without init', { namespaces: { pid: 'host', time: 'new' }, netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'namespaces.time', /needs the init/],
    ['with network host', { network: 'host', netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'netnsPool', /namespaces\.net must be left 'new'/],
    ['with a bridge', { network: 'bridge', netnsPool: pool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'netnsPool', /use one or the other/],
    ['unknown key near it', { netnsPoool: pool }, 'ERR_CORDON_UNKNOWN_OPTION', 'netnsPoool', /Did you mean "netnsPool"/],
  ];
  if (netPool !== undefined) {
    classes.push(['net pool, new user namespace', { netnsPool: netPool }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'netnsPool', /use a 'user\+net' pool/]);
  }
  for (const [name, options, code, option, message] of classes) {
    await t.test(name, async (t) => check(t, () => spawnIsolated('/bin/true', [], options), code, option, message));
  }
  t.equal(pool.stats().taken + pool.stats().misses, 0, 'no refused spawn took an entry');
  t.equal(pool.available, 1);
});
