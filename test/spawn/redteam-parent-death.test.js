// Red team: parent death during set-up and the exit watch's finalizer.
// A supervisor SIGKILLed at random moments leaves no box whatever its
// options; the supervisor's pidfd never reaches the box; a box that does not
// die with its parent survives its worker thread and its Box being
// collected; one that does is ended with its worker.
'use strict';
const t = require('tap');
const { drive, drained, holding, killLeft, newMarker } = require('../helpers/redteam-driver');
const { isRoot } = require('../helpers/payload');

const VARIANTS = [
  ['default', {}],
  ['init: false', { init: false }],
  ['namespaces: pid host', { namespaces: { pid: 'host' }, init: false }],
  // Root only: a rootless caller maps one id, its own, into the box.
  ...(isRoot ? [
    ['cgroup: {} (its own memory)', { cgroup: {} }],
    ['uid/gid 1000 (a later credential change)', { uid: 1000, gid: 1000, uidMap: [{ inside: 0, outside: 100000, count: 65536 }], gidMap: [{ inside: 0, outside: 100000, count: 65536 }] }],
  ] : []),
];

for (const [name, options] of VARIANTS) {
  t.test(`SIGKILL of a supervisor mid set-up leaves no box: ${name}`, async (t) => {
    for (let round = 0; round < 3; round++) {
      const marker = newMarker();
      let killedAt = 0;
      const result = await drive(`
        const { spawnIsolatedAsync } = require(ROOT);
        const marker = process.argv[1];
        const options = ${JSON.stringify(options)};
        async function loop() {
          for (;;) {
            const box = await spawnIsolatedAsync('/bin/sleep', ['1000', marker], { stdio: 'ignore', ...options });
            console.log('started');
            if (Math.random() < 0.5) box.exec('/bin/sleep', ['1000', marker], { stdio: 'ignore' });
            box.kill('SIGKILL');
            await box.exited;
          }
        }
        for (let i = 0; i < 6; i++) loop().catch((e) => { console.log('failed', e.code, e.message); process.exit(9); });
      `, marker, {
        onLine: (line, child) => {
          if (line === 'started' && ++killedAt === 4 + round * 3) child.kill('SIGKILL');
        },
      });
      t.equal(result.signal, 'SIGKILL', `round ${round}: the supervisor was killed mid-run (stdout: ${result.stdout.slice(-300)})`);
      t.same(await drained(marker), [], `round ${round}: no box of the killed supervisor is left`);
      killLeft(marker);
    }
  });
}

t.test('the supervisor\'s pidfd never reaches the payload nor the init', async (t) => {
  const { run } = require('../helpers/payload');
  for (const init of [true, false]) {
    const script = 'for f in /proc/self/fd/* /proc/1/fd/*; do echo "$f $(readlink $f)"; done';
    const out = await run('/bin/sh', ['-c', script], { init });
    const text = `${out.stdout ?? ''}`;
    t.match(text, /\/proc\/self\/fd\/0 /, `init ${init}: the payload listed its fds`);
    t.notMatch(text, /pidfd/, `init ${init}: no pidfd among the payload's (or pid 1's) fds: ${text.replace(/\n/g, ' | ')}`);
  }
});

t.test('a dieWithParent: false box survives its worker\'s terminate(); a default one does not; no fd left', async (t) => {
  const marker = newMarker();
  const keepMarker = newMarker();
  const warmMarker = newMarker();
  const result = await drive(`
    const fs = require('node:fs');
    const { Worker } = require('node:worker_threads');
    const marker = process.argv[1];
    const WORKER = \`
      const { spawnIsolated } = require(\${JSON.stringify(ROOT)});
      const { workerData, parentPort } = require('node:worker_threads');
      const keep = spawnIsolated('/bin/sleep', ['1000', workerData[1]], { stdio: 'ignore', dieWithParent: false });
      const end = spawnIsolated('/bin/sleep', ['1000', workerData[0]], { stdio: 'ignore' });
      spawnIsolated('/bin/sleep', ['1000', workerData[0]], { stdio: 'ignore' }).unref();
      parentPort.postMessage([keep.pid, end.pid]);
    \`;
    async function main() {
      const warm = new Worker(WORKER, { eval: true, workerData: [marker, process.argv[3]] });
      await new Promise((r) => warm.once('message', r));
      await warm.terminate();
      const before = fs.readdirSync('/proc/self/fd').length;
      const beforeSet = new Set(fs.readdirSync('/proc/self/fd'));
      const worker = new Worker(WORKER, { eval: true, workerData: [marker, process.argv[2]] });
      const pids = await new Promise((r) => worker.once('message', r));
      await worker.terminate();
      console.log('pids', pids.join(' '));
      console.log('fds', before, fs.readdirSync('/proc/self/fd').length);
      for (const fd of fs.readdirSync('/proc/self/fd')) if (!beforeSet.has(fd)) { try { console.error('new fd', fd, fs.readlinkSync('/proc/self/fd/' + fd)); } catch {} }
    }
    main();
  `, marker, { extraArgs: [keepMarker, warmMarker] });
  t.equal(result.code, 0, `the driver ended cleanly (${result.stderr.slice(-500)})`);
  t.same(await drained(marker), [], 'the boxes that die with their parent ended with the worker');
  t.ok(holding(keepMarker).length >= 1, 'the dieWithParent: false box still runs');
  const line = result.stdout.split('\n').find((l) => l.startsWith('fds ')) ?? 'fds -1 -2';
  const [, before, after] = line.split(' ').map(Number);
  const added = result.stderr.split('\n').filter((l) => l.startsWith('new fd '));
  t.same(added.filter((l) => !l.includes('memfd:cordon_init')), [], `no fd of the worker's boxes is left open in the process (${before} -> ${after})`);
  // Found, not fixed: each worker env seals its own copy of the init into a
  // memfd (lib initSource()), never closed when the worker ends.
  t.equal(after, before, 'nothing at all is left by the worker', { todo: 'the worker\'s sealed-init memfd is left open' });
  killLeft(keepMarker);
  killLeft(warmMarker);
});

t.test('a running Box dropped by JS and collected: its box runs on; unref + natural exit of a dieWithParent: false box', async (t) => {
  const marker = newMarker();
  const keepMarker = newMarker();
  const result = await drive(`
    const { spawnIsolated } = require(ROOT);
    const marker = process.argv[1];
    (function () { spawnIsolated('/bin/sleep', ['1000', marker], { stdio: 'ignore' }); })();
    spawnIsolated('/bin/sleep', ['1000', process.argv[2]], { stdio: 'ignore', dieWithParent: false }).unref();
    for (let i = 0; i < 5; i++) global.gc();
    setImmediate(() => {
      global.gc();
      const fs = require('node:fs');
      let alive = 0;
      for (const e of fs.readdirSync('/proc')) { try { if (fs.readFileSync('/proc/' + e + '/cmdline', 'utf8').startsWith('/bin/sleep') && fs.readFileSync('/proc/' + e + '/cmdline', 'utf8').includes(marker)) alive++; } catch {} }
      console.log('dropped alive', alive);
      process.exit(0);
    });
  `, marker, { nodeArgs: ['--expose-gc'], extraArgs: [keepMarker] });
  t.equal(result.code, 0, `the driver ended cleanly (${result.stderr.slice(-500)})`);
  t.match(result.stdout, /^dropped alive 1$/m, 'the dropped, collected Box\'s box still ran (not killed by a finalizer)');
  t.same(await drained(marker), [], 'it ended with its supervisor (dieWithParent)');
  t.ok(holding(keepMarker).length >= 1, 'the unref\'d dieWithParent: false box outlived its supervisor');
  killLeft(keepMarker);
});
