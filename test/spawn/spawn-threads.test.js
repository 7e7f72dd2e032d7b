// spawnIsolatedAsync() sets boxes up on cordon's own threads, not on
// libuv's threadpool: that pool (4 threads by default) is the whole
// process's fs, dns.lookup, zlib and crypto, and a box's set-up holds a
// thread for its whole clone-to-exec (1-2 ms). With the boxes on the
// shared pool, eight boxes starting at once made a 14 µs fs.stat() take
// 14 ms (median) to 81 ms, and a supervisor whose pool is busy could not
// start a box at all.
//
// Each test fills libuv's threadpool with reads that block (a FIFO with
// nothing written to it) and lets them go only once the boxes are done:
// with the boxes on that pool, they would never start (the test then
// fails by its timeout).
'use strict';
const t = require('tap');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');

const { spawnIsolatedAsync, compileBox } = require('../..');
const { testCgroupName, cgroupMounts, cgroupTree, oursIn } = require('../helpers/cgroup-fixture');
const { skipExpected } = require('../helpers/skip');

/** libuv's pool size for this process (UV_THREADPOOL_SIZE, 4 by default, at most 1024). */
function threadpoolSize() {
  const size = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/**
 * Occupies every thread of libuv's pool with a read of an empty FIFO.
 * Returns release(): writes the byte each read waits for and waits until
 * all of them have returned (so nothing is left on the pool).
 */
async function blockThreadpool(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-threads-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const handles = [];
  const reads = [];
  for (let i = 0; i < threadpoolSize(); i++) {
    const fifo = path.join(dir, `fifo${i}`);
    execFileSync('mkfifo', [fifo]);
    // O_RDWR: the open does not wait for a writer; the read waits for data.
    const handle = await fs.promises.open(fifo, 'r+');
    handles.push(handle);
    reads.push(handle.read(Buffer.alloc(1), 0, 1, null));
  }
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    for (const handle of handles) fs.writeSync(handle.fd, 'x');
    const results = await Promise.all(reads);
    for (const handle of handles) await handle.close();
    return results.map((result) => result.bytesRead);
  };
  t.teardown(release);
  return release;
}

async function runBox(start) {
  const box = await start();
  const result = await box.exited;
  return result.code;
}

t.test('boxes start and end while every libuv threadpool thread is busy', async (t) => {
  const release = await blockThreadpool(t);
  const template = compileBox({ stdio: 'ignore' });
  // More boxes than the pool has threads, from spawnIsolatedAsync and a template.
  const codes = await Promise.all([
    ...Array.from({ length: threadpoolSize() + 2 }, () => runBox(() => spawnIsolatedAsync('/bin/true', [], { stdio: 'ignore' }))),
    runBox(() => template.spawnAsync('/bin/sh', ['-c', 'exit 3'])),
  ]);
  t.same(codes, [...Array.from({ length: threadpoolSize() + 2 }, () => 0), 3], 'every box ran to its exit');
  t.same(await release(), Array.from({ length: threadpoolSize() }, () => 1), 'the blocked reads were still waiting, and each got its byte');
});

t.test('a spawn that fails still settles while the threadpool is busy', async (t) => {
  const release = await blockThreadpool(t);
  await t.rejects(spawnIsolatedAsync('/nonexistent/cordon-payload', [], { stdio: 'ignore' }), { code: 'ENOENT', step: 'execve' });
  await release();
});

t.test('a worker thread starts boxes while its process\'s threadpool is busy', async (t) => {
  const release = await blockThreadpool(t);
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { spawnIsolatedAsync } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    (async () => {
      const codes = [];
      for (let i = 0; i < 3; i++) {
        const box = await spawnIsolatedAsync('/bin/sh', ['-c', 'exit ' + i], { stdio: 'ignore' });
        codes.push((await box.exited).code);
      }
      parentPort.postMessage(codes);
    })().catch((error) => parentPort.postMessage(String(error)));
  `, { eval: true });
  const [codes] = await Promise.all([new Promise((resolve) => worker.once('message', resolve)), new Promise((resolve) => worker.once('exit', resolve))]);
  t.same(codes, [0, 1, 2], 'the worker\'s boxes ran');
  await release();
});

t.test('a worker thread terminated while its spawns are in flight takes nothing down with it', async (t) => {
  // Run in a process of its own: before, the spawn's completion threw into
  // the dying worker's env and aborted the whole process (SIGABRT).
  const marker = `${process.pid}${Date.now() % 100000}.25`;
  const script = `
    const { Worker } = require('node:worker_threads');
    const worker = new Worker(${JSON.stringify(`
      const { parentPort } = require('node:worker_threads');
      const { spawnIsolatedAsync } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
      for (let i = 0; i < 6; i++) spawnIsolatedAsync('/bin/sleep', ['${marker}'], { stdio: 'ignore' }).catch(() => {});
      parentPort.postMessage('queued');
    `)}, { eval: true });
    worker.once('message', () => worker.terminate());
    worker.once('exit', () => console.log('worker gone'));
  `;
  const { spawnSync } = require('node:child_process');
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(result.signal, null, `the process was not killed (${result.stderr.trim()})`);
  t.equal(result.status, 0, 'it exited normally');
  t.equal(result.stdout, 'worker gone\n', 'its worker ended');
  // Every box of the worker ends: those still being set up at once, any it
  // had been handed with the process (their parent death signal).
  const left = () => fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
  while (left().length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(left(), [], 'no box of the worker is left');
});

/** The pidfds this process holds. */
function pidfdCount() {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).includes('pidfd');
    } catch {
      return false;
    }
  }).length;
}

/** 'running', 'zombie' (ended, not reaped) or 'gone' (reaped). */
function processState(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z' ? 'zombie' : 'running';
  } catch {
    return 'gone';
  }
}

t.test('a worker thread terminated with running boxes ends and reaps those that die with their parent, keeps the others', async (t) => {
  // Boxes from spawnIsolated (made on the worker's own thread) and from
  // spawnIsolatedAsync (made on a set-up thread). Before, the dying ones
  // were killed by their watch's finalizer (or by the parent-death signal
  // of the worker's thread) and stayed zombies of this process until it
  // exited, and a box outliving the worker became one when it ended.
  const marker = `${process.pid}${Date.now() % 100000}.125`;
  const pidfdsBefore = pidfdCount();
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { spawnIsolated, spawnIsolatedAsync } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    (async () => {
      const dying = await Promise.all([1, 2].map(() => spawnIsolatedAsync('/bin/sleep', ['${marker}'], { stdio: 'ignore' })));
      dying.push(spawnIsolated('/bin/sleep', ['${marker}'], { stdio: 'ignore' }));
      dying.push(spawnIsolated('/bin/sleep', ['${marker}'], { stdio: 'ignore', init: false }));
      const kept = [
        await spawnIsolatedAsync('/bin/sleep', ['${marker}'], { stdio: 'ignore', dieWithParent: false }),
        spawnIsolated('/bin/sleep', ['${marker}'], { stdio: 'ignore', dieWithParent: false }),
      ];
      parentPort.postMessage({ dying: dying.map((box) => box.pid), kept: kept.map((box) => box.pid) });
    })().catch((error) => parentPort.postMessage(String(error)));
  `, { eval: true });
  const pids = await new Promise((resolve) => worker.once('message', resolve));
  t.equal(pids.kept?.length, 2, `the boxes started (${JSON.stringify(pids)})`);
  const killKept = () => {
    for (const pid of pids.kept ?? []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  t.teardown(killKept);
  await worker.terminate();
  // Ended and reaped as the worker's env went (its cleanup hook waits for them).
  for (const pid of pids.dying) t.equal(processState(pid), 'gone', `box ${pid} (dieWithParent) ended with the worker and was reaped`);
  for (const pid of pids.kept) t.equal(processState(pid), 'running', `box ${pid} (dieWithParent: false) still runs`);
  // Ended now: reaped by cordon (they are this process's children) once
  // they are gone, not left as zombies.
  killKept();
  const until = Date.now() + 30000;
  while (pids.kept.some((pid) => processState(pid) !== 'gone') && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  for (const pid of pids.kept) t.equal(processState(pid), 'gone', `box ${pid}, ended after its worker, was reaped`);
  t.equal(pidfdCount(), pidfdsBefore, 'no pidfd of the worker\'s boxes is left open');
});

t.test('a worker thread terminated with running boxes removes their cgroups and socket files', async (t) => {
  // No JS runs at a termination, so what a box's ledger would remove at its
  // end (its cgroup, its listen socket's file) was left on the host until a
  // later `cordon gc`. The env's teardown removes them now, once the box is
  // reaped.
  const root = process.geteuid() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-worker-files-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'app.sock');
  // One in directories cordon makes for it: removed with it, bottom up.
  const madeSocketPath = path.join(dir, 'made', 'deeper', 'app.sock');
  let cgroupName;
  if (root) {
    // The boxes' cgroups under a parent of the test's own, in every hierarchy that takes one.
    cgroupName = testCgroupName(t, 'worker-teardown').name;
    for (const mount of cgroupMounts()) {
      try {
        fs.mkdirSync(path.join(mount, cgroupName));
      } catch {
        // a hierarchy that refuses it (named v1 hierarchies)
      }
    }
  }
  const boxDirs = () => (cgroupName === undefined ? [] : oursIn(cgroupTree(), cgroupName).filter((entry) => path.basename(entry).startsWith('box-')));
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { spawnIsolated, spawnIsolatedAsync } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    (async () => {
      const cgroupName = ${JSON.stringify(cgroupName ?? null)};
      const pids = [];
      if (cgroupName !== null) {
        const options = { stdio: 'ignore', cgroupParent: '/' + cgroupName, cgroup: { pids: { max: 64 } } };
        pids.push((await spawnIsolatedAsync('/bin/sleep', ['1000'], options)).pid);
        pids.push(spawnIsolated('/bin/sleep', ['1000'], options).pid);
      }
      pids.push(spawnIsolated('/bin/sleep', ['1000'], { stdio: 'ignore', listen: [{ path: ${JSON.stringify(socketPath)} }, { path: ${JSON.stringify(madeSocketPath)} }] }).pid);
      parentPort.postMessage({ pids });
    })().catch((error) => parentPort.postMessage({ error: String(error) }));
  `, { eval: true });
  const started = await new Promise((resolve) => worker.once('message', resolve));
  t.same(started.error, undefined, 'the worker started its boxes');
  t.ok(fs.statSync(socketPath).isSocket() && fs.statSync(madeSocketPath).isSocket(), 'the listen socket files are there while their box runs');
  if (root) t.ok(boxDirs().length >= 2, `the box cgroups are there while the boxes run (${boxDirs().length})`);
  await worker.terminate();
  for (const pid of started.pids ?? []) t.equal(processState(pid), 'gone', `box ${pid} ended with the worker and was reaped`);
  t.same(boxDirs(), [], 'no box cgroup of the worker is left');
  t.notOk(fs.existsSync(socketPath), 'the listen socket file is removed');
  t.same(fs.readdirSync(dir), [], 'so are the other and the directories made for it');
  if (!root) skipExpected(t, false, 'unprivileged pass: box cgroups need root here');
});

t.test('attack: a box that rigs its socket\'s directory before its worker is terminated removes nothing of the host\'s', async (t) => {
  // The teardown removes a socket file and the directories made for it
  // through the directory fds the spawn opened, and only the file it bound
  // (dev:ino). The payload, which can write there, swaps its socket for a
  // symlink to a host file, and the made directory's name for a symlink to
  // a host directory holding a file of the socket's name, then its worker
  // is terminated.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-worker-rigged-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'host data\n');
  const decoyDir = path.join(dir, 'decoy');
  fs.mkdirSync(decoyDir);
  fs.writeFileSync(path.join(decoyDir, 'app.sock'), 'host file\n');
  fs.chmodSync(dir, 0o777); // the box's root may write there
  const first = path.join(dir, 'one', 'app.sock');
  const second = path.join(dir, 'two', 'app.sock');
  // In the box /w is the test's directory: one/app.sock becomes a symlink to
  // /w/victim; two (made by cordon) is renamed and a symlink to /w/decoy takes its name.
  const script = [
    'rm /w/one/app.sock && ln -s /w/victim /w/one/app.sock',
    'mv /w/two /w/two.moved && ln -s /w/decoy /w/two',
    'echo ready',
    'exec sleep 1000',
  ].join('; ');
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { spawnIsolated } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    const box = spawnIsolated('/bin/sh', ['-c', ${JSON.stringify(script)}], {
      stdio: ['ignore', 'pipe', 'inherit'],
      listen: [{ path: ${JSON.stringify(first)} }, { path: ${JSON.stringify(second)} }],
      mounts: [{ type: 'bind', source: ${JSON.stringify(dir)}, target: '/w', readonly: false }],
    });
    box.on('error', (error) => parentPort.postMessage({ error: String(error) }));
    let out = '';
    box.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('ready')) parentPort.postMessage({ pid: box.pid });
    });
    box.on('exit', (code) => parentPort.postMessage({ error: 'the payload exited with ' + code + ': ' + out }));
  `, { eval: true });
  const started = await new Promise((resolve) => worker.once('message', resolve));
  t.same(started.error, undefined, 'the payload rigged the directories');
  await worker.terminate();
  t.equal(processState(started.pid), 'gone', 'the box ended with its worker');
  t.equal(fs.readFileSync(victim, 'utf8'), 'host data\n', 'the file its socket\'s name now points to is untouched');
  t.ok(fs.lstatSync(first).isSymbolicLink(), 'the symlink put in the socket\'s place stays (it is not the socket bound)');
  t.equal(fs.readFileSync(path.join(decoyDir, 'app.sock'), 'utf8'), 'host file\n', 'the file in the directory swapped in is untouched');
  t.ok(fs.lstatSync(path.join(dir, 'two')).isSymbolicLink(), 'and the symlink named like the made directory stays');
  t.notOk(fs.existsSync(path.join(dir, 'two.moved', 'app.sock')), 'the socket bound is removed where it was moved');
});
