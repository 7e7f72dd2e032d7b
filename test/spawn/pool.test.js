// The namespace pool, from inside the boxes: each pooled box has a network
// namespace of its own (never shared, never the host's, lo up), the pool
// refills, misses fall back to a fresh namespace, and close() leaves no fd
// and no helper process behind. 'net' entries need root; 'user+net' pairs
// run as root and unprivileged.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { spawnIsolated, createNamespacePool, CordonOptionError } = require('../..');
const { run, spawnError, isRoot } = require('../helpers/payload');
const { openFds, childrenOf, zombieChildren, runNode, waitDead, isDead, procStat } = require('../helpers/procfs');
const { requireOrSkip } = require('../helpers/skip');

const HOST_NET = fs.readlinkSync('/proc/self/ns/net');
const HOST_USER = fs.readlinkSync('/proc/self/ns/user');

/** The namespace files this process holds open, as "fd -> net:[…]" targets. */
function namespaceFds() {
  return [...openFds()].filter(([, target]) => /^(net|user):\[/.test(target)).map(([, target]) => target);
}

/**
 * Settings a box needs to use a pool of `kind` (the rest is cordon's
 * defaults): 'net' serves boxes in the caller's user namespace; 'user+net'
 * cordon's default box (its new pid namespace entered by a clone after the
 * join), or one in the host's pid namespace.
 */
function boxOptions(kind, pool, extra = {}) {
  const base = kind === 'net'
    ? { namespaces: { user: 'host' }, uid: 1000, gid: 1000 }
    : kind === 'user+net, host pid' ? { namespaces: { pid: 'host' } } : {};
  return { ...base, ...extra, netnsPool: pool };
}

const poolKind = (kind) => (kind === 'net' ? 'net' : 'user+net');

/**
 * Starts `count` boxes at once that print their namespaces and lo's flags,
 * then wait; reads each one's first line while all are alive (a namespace's
 * inode number can be reused once it is freed), then ends them.
 */
async function concurrentBoxes(kind, pool, count) {
  const boxes = [];
  for (let i = 0; i < count; i++) {
    boxes.push(spawnIsolated('/bin/sh', ['-c', 'echo $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/user) $(cat /sys/class/net/lo/flags); read x'], boxOptions(kind, pool)));
  }
  const lines = await Promise.all(boxes.map((box) => new Promise((resolve, reject) => {
    let text = '';
    box.once('error', reject);
    box.stdout.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
  })));
  const hostSide = boxes.map((box) => fs.readlinkSync(`/proc/${box.pid}/ns/net`));
  for (const box of boxes) box.stdin.end('\n');
  const results = await Promise.all(boxes.map((box) => box.exited));
  return { lines: lines.map((line) => line.split(' ')), hostSide, results };
}

for (const kind of ['net', 'user+net', 'user+net, host pid']) {
  t.test(`${kind} pool`, async (t) => {
    if (kind === 'net' && !isRoot) {
      t.throws(() => createNamespacePool({ kind: 'net' }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS', option: 'kind', message: /needs a root caller/ },
        "an unprivileged caller's 'net' pool is refused: a netns outside a user namespace needs CAP_SYS_ADMIN");
      return;
    }
    const fdsBefore = namespaceFds();

    await t.test('pooled boxes never share a network namespace, and never get the host\'s', async (t) => {
      const pool = createNamespacePool({ kind: poolKind(kind), size: 4 });
      t.teardown(() => pool.close());
      await pool.ready();
      t.equal(pool.available, 4, 'the pool filled itself');
      const pooledInodes = namespaceFds().filter((target) => target.startsWith('net:') && !fdsBefore.includes(target));
      t.equal(pooledInodes.length, 4, 'this process holds one net namespace fd per entry');
      const { lines, hostSide, results } = await concurrentBoxes(kind, pool, 4);
      for (const result of results) t.equal(result.code, 0);
      const nets = lines.map((line) => line[0]);
      t.equal(new Set(nets).size, 4, `four boxes, four network namespaces: ${nets.join(' ')}`);
      t.notOk(nets.includes(HOST_NET), 'none is the host\'s');
      t.same(hostSide, nets, 'the host sees each box in the namespace it reports');
      for (const net of nets) t.ok(pooledInodes.includes(net), `${net} came from the pool`);
      for (const line of lines) t.ok(Number.parseInt(line[2], 16) & 1, `lo is up in ${line[0]} (flags ${line[2]})`);
      const users = lines.map((line) => line[1]);
      if (kind === 'net') {
        t.ok(users.every((user) => user === HOST_USER), 'a \'net\' pool\'s boxes stay in the caller\'s user namespace');
      } else {
        t.equal(new Set(users).size, 4, 'each pair\'s user namespace is the box\'s own');
        t.notOk(users.includes(HOST_USER));
      }
      t.equal(pool.stats().taken, 4);
      t.equal(pool.stats().misses, 0);
    });

    await t.test('a box holds no pool fd, and an entry is never reused', async (t) => {
      const pool = createNamespacePool({ kind: poolKind(kind), size: 2 });
      t.teardown(() => pool.close());
      await pool.ready();
      const seen = new Set();
      for (let i = 0; i < 6; i++) {
        // Alive together with its predecessor's namespace fd gone: compare
        // against the fds the pool holds at the moment of the spawn.
        const held = new Set(namespaceFds());
        const result = await run('/bin/sh', ['-c', 'readlink /proc/self/ns/net; ls -l /proc/self/fd | grep -c "net:\\|user:" || true'], boxOptions(kind, pool));
        t.equal(result.code, 0, result.stderr);
        const [net, count] = result.stdout.trim().split('\n');
        t.equal(count, '0', 'the box has no namespace fd open');
        t.ok(held.has(net), `box ${i} joined an entry the pool held (${net})`);
        t.notOk(namespaceFds().includes(net), 'the parent closed that entry after the spawn');
        seen.add(net);
        await pool.ready();
      }
      t.equal(pool.stats().taken, 6);
    });

    await t.test('the pool refills in a pause between takes, or at once when it runs low', async (t) => {
      const pool = createNamespacePool({ kind: poolKind(kind), size: 8 });
      t.teardown(() => pool.close());
      await pool.ready();
      const created = pool.stats().created;
      const first = [0, 1].map(() => spawnIsolated('/bin/true', [], boxOptions(kind, pool, { stdio: 'ignore' })));
      t.equal(pool.available, 6, 'two taken');
      t.equal(pool.stats().creating, 0, 'nothing is made while the spawns run');
      t.equal(pool._refillState, 'pause', 'above its low-water mark, the refill waits for a pause between takes');
      await Promise.all(first.map((box) => box.exited));
      // No ready(): it would ask for the refill at once.
      while (pool.available < 8) await new Promise((resolve) => setTimeout(resolve, 5));
      t.equal(pool.stats().created, created + 2, 'after the pause, two new entries made');
      const burst = [0, 1, 2, 3, 4, 5].map(() => spawnIsolated('/bin/true', [], boxOptions(kind, pool, { stdio: 'ignore' })));
      t.equal(pool.available, 2, 'six taken');
      t.equal(pool.stats().creating, 0, 'nothing is made while the spawns run');
      t.equal(pool._refillState, 'soon', 'at its low-water mark (a quarter) the refill is not put off');
      await new Promise((resolve) => setImmediate(resolve));
      t.ok(pool.stats().creating > 0, 'it starts once the spawns have returned');
      await Promise.all(burst.map((box) => box.exited));
      await pool.ready();
      t.equal(pool.available, 8, 'full again');
      t.equal(pool.stats().created, created + 8, 'eight new entries in all');
    });

    await t.test('an empty pool falls back to a fresh namespace and counts the miss', async (t) => {
      const pool = createNamespacePool({ kind: poolKind(kind), size: 1 });
      t.teardown(() => pool.close());
      await pool.ready();
      // Spawned in one tick: the refill cannot have delivered in between.
      const { lines, results } = await concurrentBoxes(kind, pool, 3);
      for (const result of results) t.equal(result.code, 0);
      const stats = pool.stats();
      t.equal(stats.taken, 1);
      t.equal(stats.misses, 2, 'two spawns found the pool empty');
      const nets = lines.map((line) => line[0]);
      t.equal(new Set(nets).size, 3, 'every box still has its own network namespace');
      t.notOk(nets.includes(HOST_NET));
      for (const line of lines) t.ok(Number.parseInt(line[2], 16) & 1, 'lo is up');
    });

    await t.test('a failed spawn releases its entry too', async (t) => {
      const pool = createNamespacePool({ kind: poolKind(kind), size: 2 });
      t.teardown(() => pool.close());
      await pool.ready();
      const held = namespaceFds();
      const { error } = await spawnError('/nonexistent/cordon-pool-test', [], boxOptions(kind, pool));
      t.equal(error.code, 'ENOENT');
      const now = namespaceFds();
      t.equal(held.filter((target) => !now.includes(target)).length, kind === 'net' ? 1 : 2, 'the taken entry\'s fds are closed');
    });

    await t.test('close() drains: no namespace fd, no helper process; then the pool is refused', async (t) => {
      const pool = createNamespacePool({ kind: poolKind(kind), size: 8 });
      await pool.ready();
      const box = spawnIsolated('/bin/true', [], boxOptions(kind, pool, { stdio: 'ignore' }));
      // Close while the refill is in flight (asked for now, not after a pause).
      const filling = pool.ready().catch((error) => error);
      t.ok(pool.stats().creating > 0, 'a refill is running');
      await pool.close();
      t.equal((await filling)?.code, 'ERR_CORDON_POOL_CLOSED', 'the wait for it is refused');
      await box.exited;
      await new Promise((resolve) => setTimeout(resolve, 100));
      t.same(namespaceFds().filter((target) => !fdsBefore.includes(target)), [], 'no net or user namespace fd is left');
      const stats = pool.stats();
      t.equal(stats.available, 0);
      t.equal(stats.discarded, stats.created - stats.taken, 'every entry made and not taken was closed');
      t.same(childrenOf().filter((child) => child.comm !== 'cordon_init' && child.comm !== 'true'), [], 'no helper process is left');
      t.same(zombieChildren(), []);
      t.equal(pool.closed, true);
      t.throws(() => spawnIsolated('/bin/true', [], boxOptions(kind, pool)), { code: 'ERR_CORDON_POOL_CLOSED', option: 'netnsPool' });
      t.throws(() => spawnIsolated('/bin/true', [], boxOptions(kind, pool)), CordonOptionError);
      await t.rejects(pool.ready(), { code: 'ERR_CORDON_POOL_CLOSED' });
      await pool.close();
      t.pass('close() twice is fine');
    });
  });
}

t.test('user+net pool: the box gets the pool\'s maps', async (t) => {
  const pool = createNamespacePool({ size: 1 });
  t.teardown(() => pool.close());
  await pool.ready();
  const result = await run('/bin/sh', ['-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; grep -E "^CapEff" /proc/self/status'], { netnsPool: pool });
  t.equal(result.code, 0, result.stderr);
  const [uid, gid, uidMap, gidMap, capEff] = result.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.equal(uid, '0');
  t.equal(gid, '0');
  t.equal(uidMap, `0 ${isRoot ? 65534 : process.geteuid()} 1`);
  t.equal(gidMap, `0 ${isRoot ? 65534 : process.getegid()} 1`);
  t.equal(capEff, 'CapEff: 0000000000000000', 'no capabilities are left');
  t.equal(pool.stats().taken, 1);
});

t.test('user+net pool with an id range (root maps it; unprivileged through newuidmap)', async (t) => {
  const range = isRoot ? 200000 : 300000;
  if (!isRoot && !requireOrSkip(t, fs.existsSync('/usr/bin/newuidmap'), 'newuidmap is not installed (apt-get install uidmap)')) return;
  const uidMap = [{ inside: 0, outside: range, count: 65536 }];
  const gidMap = [{ inside: 0, outside: range, count: 65536 }];
  let pool;
  try {
    pool = createNamespacePool({ size: 1, uidMap, gidMap });
  } catch (error) {
    if (isRoot || error.code !== 'ERR_CORDON_HOST_UNSUPPORTED') throw error;
    requireOrSkip(t, false, `no subordinate range for this user: ${error.message}`);
    return;
  }
  t.teardown(() => pool.close());
  await pool.ready();
  const result = await run('/bin/sh', ['-c', 'id -u; cat /proc/self/uid_map'], { namespaces: { pid: 'host' }, uidMap, gidMap, uid: 1000, gid: 1000, netnsPool: pool });
  t.equal(result.code, 0, result.stderr);
  const [uid, map] = result.stdout.trim().split('\n');
  t.equal(uid, '1000');
  t.equal(map.trim().split(/\s+/).join(' '), `0 ${range} 65536`);
  t.equal(pool.stats().taken, 1);
});

t.test('user+net pool, new pid namespace: the box process is PID 1 there and this process\'s own child', async (t) => {
  const pool = createNamespacePool({ size: 4 });
  t.teardown(() => pool.close());
  await pool.ready();
  const result = await run('/bin/sh', ['-c', 'echo $$; cat /proc/1/comm; for p in /proc/[0-9]*; do cat $p/comm; done | sort | tr "\\n" " "; readlink /proc/self/ns/pid; exit 7'], { netnsPool: pool });
  t.equal(result.code, 7, 'the payload\'s exit status comes through');
  const [pid, init, comms, pidNs] = result.stdout.trim().split('\n');
  t.equal(pid, '2', 'the payload is PID 2 under the init');
  t.equal(init, 'cordon_init', 'PID 1 is the init');
  t.notOk(comms.includes('node'), `only the box's processes are visible: ${comms}`);
  t.not(pidNs, fs.readlinkSync('/proc/self/ns/pid'), 'a pid namespace of its own');

  const box = spawnIsolated('/bin/sleep', ['30'], { netnsPool: pool, stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  const status = fs.readFileSync(`/proc/${box.pid}/status`, 'utf8');
  t.equal(Number(status.match(/^PPid:\s+(\d+)/m)[1]), process.pid, 'box.pid is this process\'s child (its pidfd, its exit)');
  t.not(fs.readlinkSync(`/proc/${box.pid}/ns/pid`), fs.readlinkSync('/proc/self/ns/pid'));
  t.ok(box.kill('SIGTERM'));
  const ended = await box.exited;
  t.equal(ended.signal, 'SIGTERM', 'a signal reaches the payload through the init');

  const bare = await run('/bin/sh', ['-c', 'echo $$'], { netnsPool: pool, init: false });
  t.equal(bare.stdout.trim(), '1', 'init: false makes the payload PID 1');

  const { error } = await spawnError('/nonexistent/cordon-pool-test', [], { netnsPool: pool });
  t.equal(error.code, 'ENOENT', 'a failure after the pid namespace is entered is reported');
  // The refill the spawn started makes the next entry with a helper process
  // of its own, reaped when the entry is done: wait for it, so only the
  // box's processes are judged here.
  await pool.ready();
  t.same(zombieChildren(), [], 'and both processes are reaped');
  t.equal(pool.stats().misses, 0);
});

t.test('boxes a pool refuses, and why', async (t) => {
  const pool = createNamespacePool({ size: 1 });
  t.teardown(() => pool.close());
  t.throws(() => spawnIsolated('/bin/true', [], { namespaces: { pid: 'host' }, uidMap: [{ inside: 0, outside: 12345, count: 1 }], netnsPool: pool }), {
    code: 'ERR_CORDON_CONFLICTING_OPTIONS', option: 'uidMap',
  });
  t.equal(pool.stats().taken + pool.stats().misses, 0, 'a refused spawn takes nothing');
});

/** A node process with a pool and a pooled default box running sleep; resolves when it printed the box pid. */
async function parentWithPooledBox(t, dieWithParent) {
  const script = `
    const { spawnIsolated, createNamespacePool } = require(process.env.CORDON);
    const pool = createNamespacePool({ size: 2 });
    pool.ready().then(() => {
      const box = spawnIsolated('sleep', ['30'], { stdio: 'ignore', netnsPool: pool, dieWithParent: ${dieWithParent} });
      box.on('spawn', () => console.log('pid ' + box.pid + ' taken ' + pool.stats().taken));
      box.on('error', (error) => { console.error(error); process.exit(3); });
    });
    setTimeout(() => {}, 60000);
  `;
  let found;
  const seen = new Promise((resolve) => {
    found = resolve;
  });
  const { child, done } = runNode(script, {
    onStdout: (text) => {
      const match = /pid (\d+) taken (\d+)\n/.exec(text);
      if (match) found({ pid: Number(match[1]), taken: Number(match[2]) });
    },
  });
  const timer = setTimeout(() => found(undefined), 20000);
  const box = await seen;
  clearTimeout(timer);
  t.teardown(() => {
    const stat = box === undefined ? null : procStat(box.pid);
    if (stat !== null && stat.state !== 'Z' && stat.comm === 'cordon_init') process.kill(box.pid, 'SIGKILL');
  });
  if (box === undefined) {
    child.kill('SIGKILL');
    t.fail(`the parent did not report a box: ${(await done).stderr}`);
  }
  return { child, done, box };
}

t.test('a pooled box (new pid namespace entered by a clone) dies with its parent by default', async (t) => {
  const { child, done, box } = await parentWithPooledBox(t, true);
  if (box === undefined) return;
  t.equal(box.taken, 1, 'the box took a pool entry');
  t.equal(isDead(box.pid), false, 'the box runs while its parent does');
  child.kill('SIGKILL');
  await done;
  t.ok(await waitDead(box.pid, 5000), `box ${box.pid} is gone within a few seconds`);
});

t.test('a pooled box with dieWithParent: false outlives its parent', async (t) => {
  const { child, done, box } = await parentWithPooledBox(t, false);
  if (box === undefined) return;
  child.kill('SIGKILL');
  await done;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const stat = procStat(box.pid);
  t.ok(stat !== null && stat.state !== 'Z' && stat.comm === 'cordon_init', `box ${box.pid} still runs`);
  if (stat !== null) process.kill(box.pid, 'SIGKILL');
  t.ok(await waitDead(box.pid, 5000));
});

t.test('a full, idle pool does not keep the process alive', async (t) => {
  const script = `
    const { createNamespacePool } = require(process.env.CORDON);
    const pool = createNamespacePool({ size: 3 });
    pool.ready().then(() => console.log('full ' + pool.available));
  `;
  const result = await runNode(script).done;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), 'full 3');
  t.ok(result.ms < 10000, `it exited by itself (${Math.round(result.ms)} ms)`);
});

/**
 * In a fresh process: a full pool of 3, `use` run with it (script text,
 * `pool` in scope), the pool dropped without close() and collected.
 * Resolves with how many namespace fds it held and how many are left.
 */
async function droppedPoolFds(use = '') {
  const script = `
    const fs = require('node:fs');
    const v8 = require('node:v8');
    const vm = require('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    const { createNamespacePool, spawnIsolated } = require(process.env.CORDON);
    const count = () => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return /^(net|user):/.test(fs.readlinkSync('/proc/self/fd/' + fd)); } catch { return false; } }).length;
    (async () => {
      let pool = createNamespacePool({ size: 3 });
      await pool.ready();
      ${use}
      await pool.ready();
      const held = count();
      pool = undefined;
      for (let i = 0; i < 20 && count() > 0; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      console.log(held + ' ' + count());
    })();
  `;
  const result = await runNode(script).done;
  const [held, left] = result.stdout.trim().split(' ').map(Number);
  return { code: result.code, stderr: result.stderr, held, left };
}

t.test('a pool whose spawns compiled their options is still collected when dropped', async (t) => {
  // spawnIsolated() compiles options it sees again (lib/options-cache.ts);
  // options holding a pool are kept by pool in a WeakMap, so the cache does
  // not keep a dropped pool (and its entries' fds) alive.
  const result = await droppedPoolFds("for (let i = 0; i < 4; i++) await spawnIsolated('/bin/true', [], { stdio: 'ignore', netnsPool: pool }).exited;");
  t.equal(result.code, 0, result.stderr);
  t.ok(result.held >= 3, `the refilled pool held its entries' fds (${result.held})`);
  t.equal(result.left, 0, 'none is left once it was collected');
});

t.test('a pool dropped without close() has its fds closed when it is collected', async (t) => {
  const result = await droppedPoolFds();
  t.equal(result.code, 0, result.stderr);
  t.ok(result.held >= 3, `the full pool held its entries' fds (${result.held})`);
  t.equal(result.left, 0, 'none is left once it was collected');
});
