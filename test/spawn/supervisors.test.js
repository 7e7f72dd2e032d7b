// Two supervisors on one host, each its own node process with its own
// cordon, sharing a cgroup parent, a socket directory or pool kinds: neither
// may use, remove or close what the other made, even when one is SIGKILLed.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { startSupervisor: startAnySupervisor } = require('../helpers/supervisor');
const { stateDirChoice } = require('../../dist/state');

// Every supervisor this file starts, so the last test can check that none
// left a state record in the default state directory.
const started = [];
// The supervisors of one test share a state directory of that test's own
// (0700, removed on every path): the SIGKILLed ones leave their records
// there, not in /run/cordon until some later sweep.
const stateDirs = new WeakMap();
function stateDirOf(t) {
  if (!stateDirs.has(t)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-supervisors-state-'));
    t.teardown(() => removeTree(dir));
    stateDirs.set(t, dir);
  }
  return stateDirs.get(t);
}
async function startSupervisor(t, options = {}) {
  const supervisor = await startAnySupervisor(t, { ...options, env: { CORDON_STATE_DIR: stateDirOf(t), ...options.env } });
  started.push(supervisor.pid);
  return supervisor;
}
const { isRoot } = require('../helpers/payload');
const { waitDead } = require('../helpers/procfs');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { testCgroupName, cgroupMounts } = require('../helpers/cgroup-fixture');

/** A box that answers every connection on its socket (LISTEN_FDS fd 3) with `reply`. */
function answering(reply) {
  return {
    file: process.execPath,
    args: ['-e', `require('net').createServer((c) => c.end(${JSON.stringify(reply)})).listen({ fd: 3 })`],
  };
}

/** Connects to a Unix socket and resolves with what it says. */
function ask(socketPath) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let data = '';
    socket.setEncoding('utf8').on('data', (d) => { data += d; });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-supervisors-'));
  t.teardown(() => removeTree(dir));
  return dir;
}

async function spawnAnswering(supervisor, reply, socketPath) {
  const { file, args } = answering(reply);
  // Node itself may live where a default box does not look (a Node line
  // unpacked under /tmp in CI): its directory is bound in where it is.
  const nodeDir = fs.realpathSync(path.dirname(process.execPath));
  const mounts = [{ type: 'bind', source: nodeDir, target: nodeDir }];
  const spawned = await supervisor.request('spawn', { file, args, options: { listen: [{ path: socketPath }], stdio: 'ignore', mounts } });
  return spawned;
}

t.test('two supervisors with sockets in one directory: one box ending leaves the other\'s socket', async (t) => {
  const dir = tempDir(t);
  const shared = path.join(dir, 'shared'); // made by the first supervisor's box
  const a = await startSupervisor(t);
  const b = await startSupervisor(t);
  const boxA = await spawnAnswering(a, 'A', path.join(shared, 'a.sock'));
  const boxB = await spawnAnswering(b, 'B', path.join(shared, 'b.sock'));
  t.ok(boxA.pid > 0 && boxB.pid > 0, 'both boxes run');
  t.equal(await ask(path.join(shared, 'a.sock')), 'A', 'A answers');
  t.equal(await ask(path.join(shared, 'b.sock')), 'B', 'B answers');

  await a.request('kill', { box: boxA.id });
  t.notOk(fs.existsSync(path.join(shared, 'a.sock')), 'the ended box\'s socket is removed');
  t.ok(fs.existsSync(shared), 'the directory A\'s box made stays: B\'s socket is in it');
  t.equal(await ask(path.join(shared, 'b.sock')), 'B', 'B\'s socket still answers');

  // A supervisor SIGKILLed leaves its socket file; the other is untouched.
  const boxA2 = await spawnAnswering(a, 'A2', path.join(shared, 'a2.sock'));
  t.ok(boxA2.pid > 0, 'A runs another box');
  await a.kill();
  t.equal(await ask(path.join(shared, 'b.sock')), 'B', 'B\'s socket answers after A was SIGKILLed');
  await b.request('kill', { box: boxB.id });
  t.notOk(fs.existsSync(path.join(shared, 'b.sock')), 'B\'s socket is removed when its box ends');
});

t.test('the same socket path from two supervisors: the second fails and does not steal it', async (t) => {
  const dir = tempDir(t);
  const socketPath = path.join(dir, 'one.sock');
  const a = await startSupervisor(t);
  const b = await startSupervisor(t);
  const boxA = await spawnAnswering(a, 'A', socketPath);
  t.ok(boxA.pid > 0, 'A\'s box runs');
  t.equal(await ask(socketPath), 'A', 'A answers');

  const boxB = await spawnAnswering(b, 'B', socketPath);
  t.equal(boxB.failed, true, 'B\'s box is not started');
  const failure = boxB.failed ? await b.ended(boxB.id) : { event: 'running', error: {} };
  t.equal(failure.event, 'error', 'B\'s box reports an error');
  t.equal(failure.error.name, 'CordonError', 'a CordonError');
  t.equal(failure.error.code, 'EADDRINUSE', 'EADDRINUSE');
  t.match(failure.error.message, /in use/, `the message says it is in use: ${failure.error.message}`);
  t.equal(await ask(socketPath), 'A', 'A\'s socket still answers, not B\'s');

  // A stale socket (its supervisor SIGKILLed, its box gone with it, nothing listens) is replaced.
  await a.kill();
  t.ok(await waitDead(boxA.pid, 10_000), 'A\'s box dies with its supervisor');
  const boxB2 = await spawnAnswering(b, 'B', socketPath);
  t.ok(boxB2.pid > 0, 'a stale socket left by a dead supervisor is replaced');
  t.equal(await ask(socketPath), 'B', 'and B answers on it');
  await b.request('kill', { box: boxB2.id });
});

t.test('a box ending does not remove a socket another supervisor made at its path since', async (t) => {
  const dir = tempDir(t);
  const socketPath = path.join(dir, 'one.sock');
  const a = await startSupervisor(t);
  const b = await startSupervisor(t);
  const boxA = await spawnAnswering(a, 'A', socketPath);
  t.ok(boxA.pid > 0, 'A\'s box runs');
  // Someone (a /tmp cleaner, an operator) removes A's socket file; B binds the path.
  fs.unlinkSync(socketPath);
  const boxB = await spawnAnswering(b, 'B', socketPath);
  t.ok(boxB.pid > 0, 'B\'s box runs on the freed path');
  await a.request('kill', { box: boxA.id });
  t.ok(fs.existsSync(socketPath), 'A\'s box ending leaves B\'s socket file');
  t.equal(await ask(socketPath), 'B', 'and B still answers');
  await b.request('kill', { box: boxB.id });
  t.notOk(fs.existsSync(socketPath), 'B removes its own when its box ends');
});

/** The box cgroup directory (relative to its hierarchy) of the `pids` controller, from /proc/<pid>/cgroup lines. */
function pidsCgroup(lines) {
  const line = lines.find((entry) => /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(entry)) ?? lines.find((entry) => entry.startsWith('0::'));
  return line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
}

function pidsMount() {
  return cgroupMounts().find((mount) => fs.existsSync(path.join(mount, 'pids.max')) || /pids/.test(mount)) ?? cgroupMounts().find((mount) => fs.existsSync(path.join(mount, 'cgroup.controllers')));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('two supervisors under one cgroupParent: each makes and removes only its own box cgroups', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: the shared cgroup parent this test makes needs root')) return;
  const { name } = testCgroupName(t, 'shared-parent');
  let made = 0;
  for (const mount of cgroupMounts()) {
    try {
      fs.mkdirSync(path.join(mount, name));
      made += 1;
    } catch {
      // a hierarchy that refuses it (named v1 hierarchies): not used for pids
    }
  }
  if (!requireOrSkip(t, made > 0 && pidsMount() !== undefined, 'no cgroup hierarchy with pids to make the shared parent in')) return;
  const options = { cgroupParent: `/${name}`, cgroup: { pids: { max: 64 } }, stdio: 'ignore' };
  const a = await startSupervisor(t);
  const b = await startSupervisor(t);
  const sleep = (supervisor) => supervisor.request('spawn', { file: '/bin/sleep', args: ['1000'], options });
  const boxes = { a: [await sleep(a), await sleep(a)], b: [await sleep(b), await sleep(b)] };
  const dirOf = (box) => path.join(pidsMount(), pidsCgroup(box.cgroups));
  const all = [...boxes.a, ...boxes.b];
  for (const box of all) t.ok(box.pid > 0, `box ${box.pid} runs`);
  const dirs = all.map(dirOf);
  t.equal(new Set(dirs).size, 4, `four box cgroups, none shared: ${dirs.map((dir) => path.basename(dir)).join(', ')}`);
  for (const dir of dirs) t.equal(path.basename(path.dirname(dir)), name, `${path.basename(dir)} is under the shared parent`);
  t.ok(boxes.a.every((box) => path.basename(dirOf(box)).startsWith(`box-${a.pid}-`)) && boxes.b.every((box) => path.basename(dirOf(box)).startsWith(`box-${b.pid}-`)), 'each name carries its supervisor\'s pid');

  // B makes and removes box cgroups while A's boxes run.
  const quick = await b.request('spawn', { file: '/bin/true', args: [], options });
  t.equal((await b.ended(quick.id)).code, 0, 'B runs a box to its end');
  await b.request('kill', { box: boxes.b[0].id });
  t.notOk(fs.existsSync(dirOf(boxes.b[0])), 'B removed its ended box\'s cgroup');
  for (const box of boxes.a) {
    t.ok(fs.existsSync(dirOf(box)), `A's box cgroup ${path.basename(dirOf(box))} is untouched`);
    t.ok(fs.readFileSync(path.join(dirOf(box), 'cgroup.procs'), 'utf8').split('\n').includes(String(box.pid)), 'and still holds A\'s box');
  }

  // A is SIGKILLed: B's box and cgroup are untouched, and B goes on.
  await a.kill();
  for (const box of boxes.a) t.ok(await waitDead(box.pid, 10_000), `A's box ${box.pid} dies with its supervisor`);
  const survivor = boxes.b[1];
  t.ok(alive(survivor.pid), 'B\'s box still runs');
  t.ok(fs.readFileSync(path.join(dirOf(survivor), 'cgroup.procs'), 'utf8').split('\n').includes(String(survivor.pid)), 'in its own cgroup');
  const after = await b.request('spawn', { file: '/bin/true', args: [], options });
  t.equal((await b.ended(after.id)).code, 0, 'B still makes boxes under the parent');
  const leftByA = boxes.a.filter((box) => fs.existsSync(dirOf(box))).length;
  t.comment(`box cgroups A could not remove (it was SIGKILLed): ${leftByA}; the test's teardown removes them`);
  await b.request('kill', { box: survivor.id });
  t.notOk(fs.existsSync(dirOf(survivor)), 'B removes its last box cgroup');
});

/** Spawns a box from the supervisor's pool; resolves with its net namespace (readlink /proc/self/ns/net in the box). */
async function netnsOfPoolBox(supervisor, extra = {}) {
  const spawned = await supervisor.request('spawn', { file: '/bin/sh', args: ['-c', 'readlink /proc/self/ns/net; sleep 1000'], options: { usePool: true, stdio: ['ignore', 'pipe', 'pipe'], ...extra } });
  if (spawned.thrown !== undefined) throw new Error(`pool box refused: ${JSON.stringify(spawned.thrown)}`);
  if (spawned.pid === undefined) throw new Error(`pool box failed: ${JSON.stringify(await supervisor.ended(spawned.id))}`);
  return spawned;
}

for (const kind of ['user+net', 'net']) {
  t.test(`namespace pools of kind ${kind} in two supervisors: neither uses nor closes the other's entries`, async (t) => {
    if (kind === 'net' && !skipExpected(t, isRoot, 'unprivileged pass: a \'net\' pool needs root')) return;
    const a = await startSupervisor(t);
    const b = await startSupervisor(t);
    // A 'net' pool's namespaces belong to the caller's user namespace: its boxes stay in it, as an unprivileged uid.
    const extra = kind === 'net' ? { namespaces: { user: 'host' }, uid: 65534, gid: 65534 } : {};
    const readyA = await a.request('pool', { kind, size: 2 });
    const readyB = await b.request('pool', { kind, size: 2 });
    t.equal(readyA.thrown, undefined, `A's pool is ready: ${JSON.stringify(readyA.thrown)}`);
    t.equal(readyB.thrown, undefined, `B's pool is ready: ${JSON.stringify(readyB.thrown)}`);

    // Boxes print their namespace and keep running, so no namespace is freed (and its inode reused) meanwhile.
    const inA = [await netnsOfPoolBox(a, extra), await netnsOfPoolBox(a, extra)];
    const inB = [await netnsOfPoolBox(b, extra), await netnsOfPoolBox(b, extra)];
    const readNs = async (supervisor, box) => {
      const { line } = await supervisor.request('firstLine', { box: box.id });
      await supervisor.request('kill', { box: box.id });
      return line;
    };
    // Read once all four run, then end each.
    const nsA = [];
    const nsB = [];
    const statsB = await b.request('poolStats');
    t.equal(statsB.stats.failures, 0, 'B\'s pool made its entries without failures');
    for (const box of inA) nsA.push(await readNs(a, box));
    for (const box of inB) nsB.push(await readNs(b, box));
    for (const ns of [...nsA, ...nsB]) t.match(ns, /^net:\[\d+\]$/, `a box reports its namespace ${ns}`);
    t.equal(new Set([...nsA, ...nsB]).size, 4, `four boxes, four net namespaces: ${[...nsA, ...nsB].join(' ')}`);

    // B SIGKILLed with entries in its pool: A's pool is untouched and serves on.
    const before = await a.request('poolStats');
    await b.kill();
    const afterKill = await a.request('poolStats');
    t.equal(afterKill.closed, false, 'A\'s pool is still open');
    t.equal(afterKill.stats.failures, before.stats.failures, 'and has no new failures');
    const more = await netnsOfPoolBox(a, extra);
    t.match(await readNs(a, more), /^net:\[\d+\]$/, 'A still spawns from its pool');
    await a.request('closePool');
  });
}

t.test('a generated box cgroup name another supervisor already has is not taken: another is', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: the cgroup parent this test makes needs root')) return;
  const { makeParent } = require('../helpers/cgroup-fixture');
  const { parent } = makeParent(t, 'collide');
  // Another supervisor with this pid (in its own pid namespace), at the same
  // sequence, drew the same random part: its box cgroup has the name this
  // one generates first.
  // Names draw their random parts 3 bytes at a time from a buffer the module fills: its first two draws are 010203 and 040506.
  const crypto = require('node:crypto');
  const { createBoxCgroup } = t.mockRequire('../../dist/cgroups/box', {
    'node:crypto': { ...crypto, randomFillSync: (buffer) => {
      crypto.randomFillSync(buffer);
      buffer.set([1, 2, 3, 4, 5, 6], 0);
      return buffer;
    } },
  });
  const taken = `box-${process.pid}-1-010203`;
  const dirs = parent.v2 !== undefined ? [parent.v2.dir] : [parent.v1('pids').dir];
  for (const dir of dirs) fs.mkdirSync(path.join(dir, taken));
  const { Ledger } = require('../../dist/internal/resources');
  const ledger = new Ledger();
  let box;
  try {
    box = createBoxCgroup(parent, undefined, { pids: { max: 16 } }, ledger, { openDirFd: false, accounting: false });
  } catch (error) {
    t.fail(`the creation failed: ${error.message}`);
  }
  for (const dir of dirs) t.ok(fs.existsSync(path.join(dir, taken)), 'the other supervisor\'s cgroup is still there');
  if (box !== undefined) {
    t.equal(box.name, `box-${process.pid}-2-040506`, 'this box took the next name');
    t.same(ledger.releaseAll(), [], 'and removes it on release');
  }
  for (const dir of dirs) fs.rmdirSync(path.join(dir, taken));
});

/** Records in `dir` (boxes/, supervisors/, tenants/) that name one of `pids` as their process, supervisor or owner. */
function recordsOf(dir, pids) {
  const found = [];
  for (const kind of ['boxes', 'supervisors', 'tenants']) {
    let names = [];
    try {
      names = fs.readdirSync(path.join(dir, kind));
    } catch {
      continue; // no such kind yet, or no state directory at all
    }
    for (const name of names) {
      let record;
      try {
        record = JSON.parse(fs.readFileSync(path.join(dir, kind, name), 'utf8'));
      } catch {
        continue; // removed meanwhile, or not a record
      }
      const named = [record?.pid, record?.supervisor?.pid, record?.owner?.pid];
      if (named.some((pid) => pids.includes(pid)) || pids.some((pid) => name.endsWith(`-${pid}.json`) || name.endsWith(`-${pid}`))) found.push(`${kind}/${name}`);
    }
  }
  return found;
}

// The SIGKILLed supervisors above cannot remove their records: given a
// state directory of their own, the default one (/run/cordon for root)
// holds nothing of this run that waits for some later sweep.
t.test('the default state directory holds no record of this file\'s supervisors', async (t) => {
  const { dir, reason } = stateDirChoice({ ...process.env, CORDON_STATE_DIR: '' });
  // Unprivileged without XDG_RUNTIME_DIR there is no default state directory to leave records in.
  if (!skipExpected(t, dir !== undefined, `host variant without a default state directory (${reason})`)) return;
  t.ok(started.length > 0, `this file started supervisors (${started.length})`);
  t.same(recordsOf(dir, started), [], `no record in ${dir} names them`);
});
