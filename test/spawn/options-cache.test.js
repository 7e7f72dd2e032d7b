// spawnIsolated() with options it has seen before (lib/options-cache.ts):
// boxes of the same options object, changed between spawns, run with the
// new values; each box has its own report objects; a failing spawn fails
// with the same error the first time and the tenth.
'use strict';
const t = require('tap');

const { spawnIsolated, spawnIsolatedAsync, probe } = require('../..');
const { clearOptionsCache, optionsCacheSize } = require('../../dist/options-cache.js');
const { run, spawnError } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');

t.test('the same options object, changed between spawns: each box runs with the values of its spawn', async (t) => {
  clearOptionsCache();
  const options = { env: { GREETING: 'one' }, hostname: 'first' };
  for (let i = 0; i < 3; i++) {
    const result = await run('/bin/sh', ['-c', 'echo $GREETING $(hostname)'], options);
    t.equal(result.stdout, 'one first\n', `box ${i}`);
  }
  t.equal(optionsCacheSize().compiled, 1, 'the options were compiled');
  options.env.GREETING = 'two';
  options.hostname = 'second';
  t.equal((await run('/bin/sh', ['-c', 'echo $GREETING $(hostname)'], options)).stdout, 'two second\n', 'changed values');
  const box = await spawnIsolatedAsync('/bin/sh', ['-c', 'echo $GREETING $(hostname)'], options);
  const chunks = [];
  box.stdout.on('data', (chunk) => chunks.push(chunk));
  await box.exited;
  t.equal(Buffer.concat(chunks).toString(), 'two second\n', 'spawnIsolatedAsync too');
});

t.test('a failing spawn fails the same way the first time and later', async (t) => {
  clearOptionsCache();
  const errors = [];
  for (let i = 0; i < 3; i++) errors.push((await spawnError('/nonexistent/cordon-cache', [], { stdio: 'ignore' })).error);
  for (const error of errors.slice(1)) {
    t.same({ code: error.code, syscall: error.syscall, step: error.step, path: error.path, message: error.message, spawnargs: error.spawnargs },
      { code: errors[0].code, syscall: errors[0].syscall, step: errors[0].step, path: errors[0].path, message: errors[0].message, spawnargs: errors[0].spawnargs });
  }
  t.equal(errors[0].code, 'ENOENT');
});

t.test('each box has its own Landlock report, though their plan is shared', async (t) => {
  requireOrSkip(t, probe().landlock.abi > 0, 'this kernel has no Landlock');
  clearOptionsCache();
  const options = { stdio: 'ignore', landlock: { paths: [{ path: '/', access: ['read', 'execute'] }], mode: 'best-effort' } };
  const boxes = [];
  for (let i = 0; i < 3; i++) {
    const box = spawnIsolated('/bin/true', [], options);
    await box.exited;
    boxes.push(box);
  }
  t.equal(optionsCacheSize().compiled, 1, 'the options were compiled');
  const before = structuredClone(boxes[2].landlock);
  boxes[1].landlock.missing.push('changed by a caller');
  boxes[1].landlock.filesystem.length = 0;
  t.same(boxes[2].landlock, before, 'another box\'s report is untouched');
});
