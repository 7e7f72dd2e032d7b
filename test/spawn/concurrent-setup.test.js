// The experimental concurrent setup (issue 15, native setConcurrentSetup):
// spawnIsolatedAsync's threadpool sets boxes up at the same time. Each box
// must still get its own pid namespace, output and status, a failing box
// must not disturb the others, and once every box child has left Node's
// memory the process is dumpable again (its /proc files are its own), as
// with the serial window.
'use strict';
const t = require('tap');
const fs = require('node:fs');
const { spawnIsolatedAsync } = require('../..');
const { native } = require('../../dist/internal/native');
const { zombieChildren } = require('../helpers/procfs');

const COUNT = 40;

async function runOne(file, args) {
  const box = await spawnIsolatedAsync(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = [];
  box.stdout.on('data', (d) => out.push(d));
  const result = await box.exited;
  return { result, stdout: Buffer.concat(out).toString(), pid: box.pid };
}

t.test('concurrent setup: boxes started at once each run in their own pid namespace', async (t) => {
  native().setConcurrentSetup(true);
  t.teardown(() => native().setConcurrentSetup(false));
  const runs = await Promise.all(Array.from({ length: COUNT }, (_, i) => runOne('/bin/sh', ['-c', `echo $$ ${i}`])));
  t.same(runs.filter((r) => r.result.code !== 0).map((r) => r.result), [], 'all exited 0');
  t.same(runs.map((r) => r.stdout), Array.from({ length: COUNT }, (_, i) => `2 ${i}\n`), 'each payload is PID 2 under its own init, with its own output');
  t.equal(new Set(runs.map((r) => r.pid)).size, COUNT, 'all host pids are distinct');
  t.same(zombieChildren(), [], 'none is left a zombie');
});

t.test('concurrent setup: a failing spawn among others fails alone, with its step', async (t) => {
  native().setConcurrentSetup(true);
  t.teardown(() => native().setConcurrentSetup(false));
  const good = Array.from({ length: 8 }, () => runOne('/bin/true', []));
  const bad = spawnIsolatedAsync('/nonexistent/payload', [], { stdio: 'ignore' }).then(
    () => null,
    (error) => error,
  );
  const [error, ...runs] = await Promise.all([bad, ...good]);
  t.ok(error, 'the bad spawn rejects');
  t.equal(error?.code, 'ENOENT', 'with the errno of its exec');
  t.ok(typeof error?.step === 'string' && error.step.length > 0, 'naming its step');
  t.same(runs.map((r) => r.result.code), Array(8).fill(0), 'the others ran');
});

t.test('concurrent setup: the process is dumpable again once the boxes have started', async (t) => {
  native().setConcurrentSetup(true);
  t.teardown(() => native().setConcurrentSetup(false));
  await Promise.all(Array.from({ length: 16 }, () => runOne('/bin/true', [])));
  // As root each box child changes its host uid (box root is 65534) in our
  // memory, which turns the flag off; it must be back on.
  t.equal(native().isDumpable(), true, 'dumpable again');
  // A non-dumpable process's /proc/<pid> directory belongs to root; a
  // dumpable one's to its own euid.
  t.equal(fs.statSync(`/proc/${process.pid}`).uid, process.geteuid(), '/proc/<node> belongs to us again');
});
