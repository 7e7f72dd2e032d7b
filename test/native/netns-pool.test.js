// native/host/netns_pool.cc through the binding: what makeNamespaces()
// returns and how it fails, how the pool reports a failed refill, and the
// pid-namespace clone of pooled boxes on every clone rung.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { native, setNativeBinding } = require('../../dist/internal/native');
const { createNamespacePool, CordonError } = require('../..');
const { run } = require('../helpers/payload');

const isRoot = process.geteuid() === 0;
const make = (pair, count, ids) => new Promise((resolve) => native().makeNamespaces(pair, count, ids, resolve));
const link = (fd) => fs.readlinkSync(`/proc/self/fd/${fd}`);
const ownMap = (id) => ({ text: `0 ${id} 1\n` });
const ownIds = () => ({ uid: ownMap(process.geteuid()), gid: ownMap(process.getegid()), denySetgroups: !isRoot });

t.test('user+net pairs: distinct user and net namespace fds, made on a worker', async (t) => {
  const batch = await make(true, 3, ownIds());
  t.equal(batch.errno, 0);
  t.equal(batch.part, 0);
  t.equal(batch.entries.length, 3);
  const links = batch.entries.flatMap((entry) => [link(entry.user), link(entry.net)]);
  for (const entry of batch.entries) {
    t.match(link(entry.user), /^user:\[\d+\]$/);
    t.match(link(entry.net), /^net:\[\d+\]$/);
    t.equal(fs.fstatSync(entry.net).mode & 0o170000, 0o100000, 'an nsfs file');
  }
  t.equal(new Set(links).size, 6, 'no namespace twice');
  for (const entry of batch.entries) {
    fs.closeSync(entry.user);
    fs.closeSync(entry.net);
  }
});

t.test('net-only entries need root; unprivileged the unshare fails with EPERM', async (t) => {
  const batch = await make(false, 2, null);
  if (isRoot) {
    t.equal(batch.errno, 0);
    t.equal(batch.entries.length, 2);
    t.ok(batch.entries.every((entry) => entry.user === -1 && /^net:/.test(link(entry.net))));
    for (const entry of batch.entries) fs.closeSync(entry.net);
  } else {
    t.equal(batch.errno, -1, 'EPERM');
    t.equal(batch.part, 2, 'part 2: unshare');
    t.same(batch.entries, []);
  }
});

t.test('a map the kernel refuses stops the batch with the part that failed', async (t) => {
  const batch = await make(true, 2, { uid: { text: '0 0 0\n' }, gid: ownMap(process.getegid()), denySetgroups: false });
  t.equal(batch.errno, -22, 'EINVAL');
  t.equal(batch.part, 6, 'part 6: uid_map');
  t.same(batch.entries, []);
});

t.test('bad arguments are a TypeError or RangeError, never a crash', async (t) => {
  t.throws(() => native().makeNamespaces(true, 1, null, () => {}), TypeError);
  t.throws(() => native().makeNamespaces(false, 0, null, () => {}), RangeError);
  t.throws(() => native().makeNamespaces(false, 1, null), TypeError);
});

t.test('a failed refill: ready() rejects with the error, stats count it, a spawn is a miss and retries', async (t) => {
  const real = native();
  let calls = 0;
  setNativeBinding({
    ...real,
    makeNamespaces(pair, count, ids, done) {
      calls++;
      setImmediate(() => done({ entries: [], errno: -12, part: 3 }));
    },
  });
  t.teardown(() => setNativeBinding(undefined));
  const pool = createNamespacePool({ size: 2 });
  const error = await pool.ready().then(() => undefined, (e) => e);
  t.type(error, CordonError);
  t.equal(error.code, 'ENOMEM');
  t.equal(error.syscall, 'clone');
  t.match(error.message, /could not make a user\+net entry/);
  t.equal(pool.stats().failures, 1);
  t.equal(pool.stats().lastError, error);
  t.equal(calls, 1, 'no retry loop after a failure');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(calls, 1, 'still none');
  t.equal(pool._take(), undefined, 'an empty pool: a miss');
  t.equal(pool.stats().misses, 1);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(calls, 2, 'a box needing an entry makes the pool try again');
  await pool.close();
});

for (const [rung, name] of ['clone3', 'clone3-basic', 'clone'].entries()) {
  t.test(`rung ${name}: a pooled box with a new pid namespace`, async (t) => {
    native().forceRung(rung);
    t.teardown(() => native().forceRung(-1));
    const pool = createNamespacePool({ size: 1 });
    t.teardown(() => pool.close());
    await pool.ready();
    const result = await run('/bin/sh', ['-c', 'echo $$; cat /proc/1/comm; exit 3'], { netnsPool: pool });
    t.equal(result.code, 3, result.stderr);
    t.same(result.stdout.trim().split('\n'), ['2', 'cordon_init']);
    t.equal(pool.stats().taken, 1);
  });
}
