// 'exit' comes from the init's exit record, 'close' once the box is gone.
// With an init, the payload's status reaches Node over the exit pipe the
// moment the init has reaped it; the init's own pidfd fires only after the
// kernel has torn the box's namespaces down. 'exit' must not wait for that
// teardown, and 'close' (and `exited`) must: the box's first process reaped,
// what the box held released.
'use strict';
const t = require('tap');
const { spawnIsolated } = require('../..');
const { procStat, pidfdCount } = require('../helpers/procfs');

/** The order of 'exit' and 'close', and what /proc shows of the box's first process at each. */
function watch(box) {
  const seen = [];
  box.on('exit', (code, signal) => seen.push({ name: 'exit', code, signal, first: procStat(box.pid), killed: box.kill('SIGTERM') }));
  box.on('close', (code, signal) => seen.push({ name: 'close', code, signal, first: procStat(box.pid) }));
  return seen;
}

t.test("with an init: 'exit' carries the payload's status before the init is reaped; 'close' after", async (t) => {
  const pidfds = pidfdCount();
  const box = spawnIsolated('/bin/sh', ['-c', 'exit 3'], { stdio: 'ignore' });
  const seen = watch(box);
  const result = await box.exited;
  t.same(seen.map((event) => event.name), ['exit', 'close'], "'exit' then 'close'");
  const [exit, close] = seen;
  t.match(exit, { code: 3, signal: null }, "'exit' has the payload's own status");
  // Only cordon reaps the init (waitid on its pidfd, when it fires): still
  // in /proc at 'exit' means 'exit' did not wait for the pidfd.
  t.not(exit.first, null, "at 'exit' the init has not been reaped yet: 'exit' came from its record");
  t.equal(exit.killed, false, "kill() returns false from 'exit' on: the payload has ended");
  t.match(close, { code: 3, signal: null });
  t.equal(close.first, null, "at 'close' the init is reaped");
  t.equal(result.code, 3);
  t.equal(pidfdCount(), pidfds, 'no pidfd left');
});

t.test("a payload ended by a signal: 'exit' says which, from the record", async (t) => {
  const box = spawnIsolated('/bin/sh', ['-c', 'kill -USR1 $$'], { stdio: 'ignore' });
  const seen = watch(box);
  const result = await box.exited;
  t.match(seen[0], { name: 'exit', code: null, signal: 'SIGUSR1' });
  t.not(seen[0].first, null, 'before the init is reaped');
  t.equal(result.signal, 'SIGUSR1');
});

t.test('an init killed before it can report: the status comes from its pidfd', async (t) => {
  const box = spawnIsolated('/bin/sleep', ['1000'], { stdio: 'ignore' });
  await new Promise((resolve) => box.once('spawn', resolve));
  const seen = watch(box);
  t.equal(box.kill('SIGKILL'), true); // no cgroup: the init itself gets it, and writes no record
  const result = await box.exited;
  t.same(seen.map((event) => event.name), ['exit', 'close']);
  t.match(seen[0], { code: null, signal: 'SIGKILL' });
  t.equal(seen[0].first, null, 'that status is known only once the init is reaped');
  t.equal(result.signal, 'SIGKILL');
});

t.test("init: false: 'exit' and 'close' from the payload's pidfd", async (t) => {
  const box = spawnIsolated('/bin/sh', ['-c', 'exit 4'], { stdio: 'ignore', init: false });
  const seen = watch(box);
  const result = await box.exited;
  t.same(seen.map((event) => event.name), ['exit', 'close']);
  t.match(seen[0], { code: 4, signal: null });
  t.equal(seen[0].first, null, 'the payload is reaped before its status is known');
  t.equal(result.code, 4);
});

t.test("dispose() called at 'exit' waits until the box is gone", async (t) => {
  const pidfds = pidfdCount();
  const box = spawnIsolated('/bin/true', [], { stdio: 'pipe' });
  let closed = false;
  box.on('close', () => {
    closed = true;
  });
  const disposed = await new Promise((resolve, reject) => {
    box.on('exit', () => box.dispose().then(() => resolve({ closed, first: procStat(box.pid) }), reject));
  });
  t.equal(disposed.closed, true, "it resolves after 'close'");
  t.equal(disposed.first, null, 'with the init reaped');
  t.equal(pidfdCount(), pidfds, 'no pidfd left');
});

t.test("'close' still waits for the box's output, and the output is whole", async (t) => {
  const box = spawnIsolated('/bin/sh', ['-c', 'head -c 300000 /dev/zero; exit 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let bytes = 0;
  box.stdout.on('data', (chunk) => {
    bytes += chunk.length;
  });
  let atClose = -1;
  box.on('close', () => {
    atClose = bytes;
  });
  const result = await box.exited;
  t.equal(atClose, 300000, "every byte read by 'close'");
  t.equal(result.code, 5);
});

t.test("process.exit() from an 'exit' listener, before the box is gone, exits cleanly", async (t) => {
  const { runNode } = require('../helpers/procfs');
  for (const unref of [false, true]) {
    const script = `
      const { spawnIsolated } = require(process.env.CORDON);
      const box = spawnIsolated('/bin/sh', ['-c', 'exit 6'], { stdio: 'pipe' });
      box.on('exit', (code) => { console.log(code); process.exit(0); });
      ${unref ? "box.unref(); setTimeout(() => {}, 5000);" : ''}
    `;
    const result = await runNode(script).done;
    t.equal(result.code, 0, `exit code 0${unref ? ' (unref)' : ''}; ${result.stderr}`);
    t.equal(result.stdout, '6\n', "the payload's status was seen");
  }
});
