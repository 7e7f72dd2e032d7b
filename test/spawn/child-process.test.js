// cordon and child_process in one process: each reaps only its own children,
// and every exit status reaches the right owner.
'use strict';
const t = require('tap');
const cp = require('node:child_process');
const { spawnIsolated } = require('../..');
const { zombieChildren } = require('../helpers/procfs');

/** Starts `count` boxes that sleep and then exit with 10 + i; resolves their results in order. */
function startBoxes(count, sleep = '0.3') {
  const boxes = [];
  for (let i = 0; i < count; i++) {
    boxes.push(spawnIsolated('/bin/sh', ['-c', `sleep ${sleep}; exit ${10 + i}`], { stdio: 'ignore', init: i % 2 === 0 }));
  }
  return { boxes, results: Promise.all(boxes.map((box) => box.exited)) };
}

/** child_process.spawn, resolved at 'exit' with (code, signal) and the stdout. */
function cpRun(file, args) {
  const child = cp.spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  const exit = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const close = new Promise((resolve) => child.on('close', resolve));
  return { child, done: Promise.all([exit, close]).then(([e]) => ({ ...e, stdout: Buffer.concat(out).toString() })) };
}

function cpExecFile(file, args) {
  return new Promise((resolve) => {
    cp.execFile(file, args, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
}

function checkBoxResults(t, results) {
  const wrong = results.map((r, i) => ({ i, code: r.code, signal: r.signal })).filter((r) => r.code !== 10 + r.i);
  t.same(wrong, [], 'every box exited with its own code');
}

t.test('child_process.spawn and execFile work while 20 boxes run', async (t) => {
  const { results } = startBoxes(20);
  const runs = [];
  for (let i = 0; i < 10; i++) runs.push(cpRun('/bin/sh', ['-c', `echo cp${i}; exit ${i}`]).done);
  const killed = cpRun('sleep', ['30']);
  killed.child.kill('SIGTERM');
  const exec = [cpExecFile('/bin/sh', ['-c', 'echo hi; exit 3']), cpExecFile('/bin/echo', ['ok'])];

  const cpResults = await Promise.all(runs);
  cpResults.forEach((r, i) => {
    t.same(r, { code: i, signal: null, stdout: `cp${i}\n` }, `child_process child ${i}: its exit and output`);
  });
  t.same(await killed.done, { code: null, signal: 'SIGTERM', stdout: '' }, 'a child_process child killed by SIGTERM');
  const [failed, ok] = await Promise.all(exec);
  t.equal(failed.error?.code, 3, 'execFile reports exit code 3');
  t.equal(failed.stdout, 'hi\n');
  t.equal(ok.error, null);
  t.equal(ok.stdout, 'ok\n');
  checkBoxResults(t, await results);
  t.same(zombieChildren(), [], 'no zombies from either side');
});

t.test('spawnSync works while boxes run, and the boxes still report their exits', async (t) => {
  // The boxes exit while spawnSync blocks the event loop; their statuses must
  // wait for cordon (pidfds) rather than be taken by anyone else.
  const { boxes, results } = startBoxes(20, '0.1');
  const sync = cp.spawnSync('/bin/sh', ['-c', 'sleep 0.5; echo sync; exit 5']);
  t.equal(sync.error, undefined);
  t.equal(sync.status, 5);
  t.equal(sync.signal, null);
  t.equal(sync.stdout.toString(), 'sync\n');
  t.ok(boxes.every((box) => box.pid !== undefined), 'all boxes started');
  checkBoxResults(t, await results);
  const again = cp.spawnSync('/bin/sh', ['-c', 'exit 6']);
  t.equal(again.status, 6, 'spawnSync after the boxes are gone');
});

t.test('a child_process child that exits while a box runs is reaped by node, not cordon', async (t) => {
  const box = spawnIsolated('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  let boxExited = false;
  box.once('exit', () => {
    boxExited = true;
  });
  for (const code of [0, 33, 255]) {
    const result = await cpRun('/bin/sh', ['-c', `exit ${code}`]).done;
    t.same(result, { code, signal: null, stdout: '' }, `its 'exit' came with code ${code}`);
  }
  t.equal(boxExited, false, 'the box is still running');
  t.equal(box.exitCode, null);
  t.equal(box.kill('SIGKILL'), true);
  t.equal((await box.exited).signal, 'SIGKILL', 'and the box reports its own end');
});

t.test('boxes that exit while a child_process child runs do not take its status', async (t) => {
  // The child exits only when told to (a line on its stdin), after every box
  // has ended: no race between sleeps on a loaded machine.
  const child = cp.spawn('/bin/sh', ['-c', 'read line; exit 44'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const { results } = startBoxes(20, '0.05');
  checkBoxResults(t, await results);
  t.equal(child.exitCode, null, 'the child_process child outlived the boxes');
  child.stdin.end('go\n');
  t.same(await done, { code: 44, signal: null });
  t.same(zombieChildren(), []);
});
