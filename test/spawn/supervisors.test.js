// Two supervisors on one host, each its own node process with its own
// cordon, sharing a cgroup parent, a socket directory or pool kinds: neither
// may use, remove or close what the other made, even when one is SIGKILLed.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { startSupervisor } = require('../helpers/supervisor');
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
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function spawnAnswering(supervisor, reply, socketPath) {
  const { file, args } = answering(reply);
  const spawned = await supervisor.request('spawn', { file, args, options: { listen: [{ path: socketPath }], stdio: 'ignore' } });
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
