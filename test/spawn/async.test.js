// spawnIsolatedAsync(): the same box as spawnIsolated(), set up on a libuv
// worker thread while the JS thread goes on.
'use strict';
const fs = require('node:fs');
const t = require('tap');
const { spawnIsolatedAsync, CordonError, CordonOptionError } = require('../..');

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

t.test('resolves with a started box: pid, pipes, exit status', async (t) => {
  const box = await spawnIsolatedAsync('/bin/sh', ['-c', 'read line; echo "got $line as $$"; exit 3']);
  const spawned = new Promise((resolve) => box.once('spawn', () => resolve(true)));
  t.equal(await spawned, true, "a 'spawn' listener added after the await hears it");
  t.type(box.pid, 'number');
  t.ok(box.pid > 0);
  let out = '';
  box.stdout.on('data', (d) => (out += d));
  box.stdin.end('hello\n');
  const result = await box.exited;
  t.equal(result.code, 3);
  t.equal(out, 'got hello as 2\n', 'stdin and stdout work; the shell is PID 2 under the init');
});

t.test('a failed spawn rejects with the step error, and nothing is left', async (t) => {
  const before = fdCount();
  let unhandled = 0;
  const onError = () => unhandled++;
  process.on('uncaughtException', onError);
  t.teardown(() => process.off('uncaughtException', onError));
  const error = await spawnIsolatedAsync('/nonexistent/payload', [], { cwd: '/' }).catch((e) => e);
  t.type(error, CordonError);
  t.equal(error.code, 'ENOENT');
  t.equal(error.step, 'execve');
  t.equal(error.path, '/nonexistent/payload');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(unhandled, 0, "the box's own error event does not go unhandled");
  t.equal(fdCount(), before, 'no fd is left');
});

t.test('bad options reject with the option error, before anything is made', async (t) => {
  const before = fdCount();
  const error = await spawnIsolatedAsync('/bin/true', [], { hostName: 'x' }).catch((e) => e);
  t.type(error, CordonOptionError);
  t.equal(error.code, 'ERR_CORDON_UNKNOWN_OPTION');
  t.equal(fdCount(), before);
});

t.test('the event loop runs while boxes are being set up', async (t) => {
  let ticks = 0;
  const interval = setInterval(() => ticks++, 0);
  const pending = Array.from({ length: 20 }, () => spawnIsolatedAsync('/bin/true', [], { stdio: 'ignore' }));
  const ticksAtCall = ticks;
  const boxes = await Promise.all(pending);
  const ticksWhileSpawning = ticks - ticksAtCall;
  clearInterval(interval);
  t.equal(ticksAtCall, 0, 'the calls themselves return at once');
  t.ok(ticksWhileSpawning > 0, `timers fired while the boxes were set up (${ticksWhileSpawning})`);
  const results = await Promise.all(boxes.map((box) => box.exited));
  t.same(results.map((result) => result.code), Array(20).fill(0));
});
