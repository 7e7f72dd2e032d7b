// Concurrent setup (issue 15; the default, native setConcurrentSetup):
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
const { subordinateRanges } = require('../../dist/identity');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

const COUNT = 40;

/** Sets the engine's window for one test; the default (concurrent) comes back after it. */
function setup(t, concurrent) {
  native().setConcurrentSetup(concurrent);
  t.teardown(() => native().setConcurrentSetup(true));
}

async function runOne(file, args) {
  const box = await spawnIsolatedAsync(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = [];
  box.stdout.on('data', (d) => out.push(d));
  const result = await box.exited;
  return { result, stdout: Buffer.concat(out).toString(), pid: box.pid };
}

for (const concurrent of [true, false]) {
  t.test(`${concurrent ? 'concurrent' : 'serial'} setup: boxes started at once each run in their own pid namespace`, async (t) => {
    setup(t, concurrent);
    const runs = await Promise.all(Array.from({ length: COUNT }, (_, i) => runOne('/bin/sh', ['-c', `echo $$ ${i}`])));
    t.same(runs.filter((r) => r.result.code !== 0).map((r) => r.result), [], 'all exited 0');
    t.same(runs.map((r) => r.stdout), Array.from({ length: COUNT }, (_, i) => `2 ${i}\n`), 'each payload is PID 2 under its own init, with its own output');
    t.equal(new Set(runs.map((r) => r.pid)).size, COUNT, 'all host pids are distinct');
    t.same(zombieChildren(), [], 'none is left a zombie');
    t.equal(native().isDumpable(), true, 'dumpable again afterwards');
  });
}

t.test('concurrent setup: a failing spawn among others fails alone, with its step', async (t) => {
  setup(t, true);
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
  setup(t, true);
  await Promise.all(Array.from({ length: 16 }, () => runOne('/bin/true', [])));
  // As root each box child changes its host uid (box root is 65534) in our
  // memory, which turns the flag off; it must be back on.
  t.equal(native().isDumpable(), true, 'dumpable again');
  // A non-dumpable process's /proc/<pid> directory belongs to root; a
  // dumpable one's to its own euid.
  t.equal(fs.statSync(`/proc/${process.pid}`).uid, process.geteuid(), '/proc/<node> belongs to us again');
});

// Unprivileged, a box mapped through newuidmap/newgidmap that becomes
// another host uid (1000 inside, a subordinate id outside) makes Node's
// memory non-dumpable while its child shares it; every other box child's
// /proc files would then be root's and their id maps unwritable. Such a
// spawn takes the window alone, so boxes started beside it still start.
t.test('concurrent setup: a box becoming a subordinate uid beside default boxes', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (root writes id maps directly)')) return;
  const uids = subordinateRanges('/etc/subuid')[0];
  const gids = subordinateRanges('/etc/subgid')[0];
  if (!requireOrSkip(t, uids !== undefined && gids !== undefined && fs.existsSync('/usr/bin/newuidmap'),
    'needs newuidmap (Debian: uidmap) and /etc/subuid, /etc/subgid ranges for this user (.ci/run adds nobody:300000:65536)')) return;
  setup(t, true);
  const ranged = {
    uidMap: [{ inside: 0, outside: process.geteuid(), count: 1 }, { inside: 1, outside: uids.start, count: Math.min(uids.count, 65535) }],
    gidMap: [{ inside: 0, outside: process.getegid(), count: 1 }, { inside: 1, outside: gids.start, count: Math.min(gids.count, 65535) }],
    uid: 1000,
    gid: 1000,
  };
  const started = [];
  for (let round = 0; round < 4; round++) {
    started.push(spawnIsolatedAsync('/bin/sh', ['-c', 'id -u'], { ...ranged, stdio: ['ignore', 'pipe', 'ignore'] }).then(async (box) => {
      const out = [];
      box.stdout.on('data', (d) => out.push(d));
      const result = await box.exited;
      return { code: result.code, stdout: Buffer.concat(out).toString() };
    }));
    for (let i = 0; i < 4; i++) started.push(runOne('/bin/sh', ['-c', 'id -u']).then((r) => ({ code: r.result.code, stdout: r.stdout })));
  }
  const runs = await Promise.all(started);
  t.same(runs.filter((r) => r.code !== 0), [], 'every box started and exited 0');
  t.equal(runs.filter((r) => r.stdout === '1000\n').length, 4, 'the ranged boxes ran as uid 1000');
  t.equal(native().isDumpable(), true, 'dumpable again afterwards');
});
