// Many boxes at once: each gets its own pid namespace, its own output and
// its own exit status, with no mix-ups.
'use strict';
const t = require('tap');
const fs = require('node:fs');
const { spawnIsolated } = require('../..');
const { requireOrSkip } = require('../helpers/skip');
const { zombieChildren } = require('../helpers/procfs');

const COUNT = 200;

/** The soft RLIMIT_NOFILE of this process, from /proc (Node has no API for it). */
function openFileLimit() {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** Starts one box and collects its stdout; resolves with { box, stdout, result }. */
function start(file, args, options) {
  const box = spawnIsolated(file, args, options);
  const out = [];
  box.stdout?.on('data', (d) => out.push(d));
  box.stderr?.resume();
  return {
    box,
    done: box.exited.then((result) => ({ box, result, stdout: Buffer.concat(out).toString() })),
  };
}

// Each piped box holds about six fds while it runs (three parent ends, the
// pidfd, the exit pipe) and a few more while it is being spawned.
const enoughFds = () => openFileLimit() >= COUNT * 8;

t.test(`${COUNT} boxes at once each see their own pid namespace`, async (t) => {
  if (!requireOrSkip(t, enoughFds(), `RLIMIT_NOFILE ${openFileLimit()} is too low for ${COUNT} piped boxes`)) return;
  const started = [];
  for (let i = 0; i < COUNT; i++) {
    // Half with the default init (the payload is PID 2), half without (PID 1).
    const init = i % 2 === 0;
    started.push({ init, ...start('/bin/sh', ['-c', 'echo $$'], { stdio: 'pipe', init }) });
  }
  t.equal(started.filter((s) => s.box.pid !== undefined).length, COUNT, 'every box started');
  const runs = await Promise.all(started.map((s) => s.done.then((r) => ({ ...r, init: s.init }))));
  const bad = runs.filter((r) => r.result.code !== 0 || r.result.signal !== null);
  t.same(bad.map((r) => r.result), [], 'all exited 0');
  const wrongPid = runs.filter((r) => r.stdout !== (r.init ? '2\n' : '1\n'));
  t.same(
    wrongPid.map((r) => ({ init: r.init, stdout: r.stdout })),
    [],
    'each payload is PID 2 under the init and PID 1 without it',
  );
  const hostPids = new Set(runs.map((r) => r.result.pid));
  t.equal(hostPids.size, COUNT, 'all host pids are distinct');
  t.ok(runs.every((r) => r.result.pid === r.box.pid && r.result.pid > 0), 'each result names its own box pid');
  t.same(zombieChildren(), [], 'none is left a zombie');
});

t.test(`${COUNT} boxes at once each get their own exit code`, async (t) => {
  if (!requireOrSkip(t, enoughFds(), `RLIMIT_NOFILE ${openFileLimit()} is too low for ${COUNT} piped boxes`)) return;
  const started = [];
  for (let i = 0; i < COUNT; i++) {
    // A short sleep, so that many are alive together and exit around the same time.
    started.push(start('/bin/sh', ['-c', `echo ${i}; sleep 0.2; exit ${i}`], { stdio: 'pipe', init: i % 3 !== 0 }));
  }
  const runs = await Promise.all(started.map((s) => s.done));
  const wrong = runs
    .map((r, i) => ({ i, code: r.result.code, exitCode: r.box.exitCode, stdout: r.stdout }))
    .filter((r) => r.code !== r.i || r.exitCode !== r.i || r.stdout !== `${r.i}\n`);
  t.same(wrong, [], 'box i printed i and exited with code i');
});

t.test('killing some boxes while others run does not touch the others', async (t) => {
  const n = 60;
  const started = [];
  for (let i = 0; i < n; i++) {
    const victim = i % 2 === 0;
    // Victims sleep long and are killed; the rest exit on their own with 100 + i % 50.
    const script = victim ? 'sleep 30' : `sleep 0.3; exit ${100 + (i % 50)}`;
    started.push({ victim, i, ...start('/bin/sh', ['-c', script], { stdio: 'ignore' }) });
  }
  await Promise.all(started.map((s) => new Promise((resolve) => s.box.once('spawn', resolve))));
  for (const s of started) if (s.victim) t.equal(s.box.kill('SIGKILL'), true, `kill box ${s.i}`);
  const runs = await Promise.all(started.map((s) => s.done.then((r) => ({ ...r, victim: s.victim, i: s.i }))));
  const wrong = runs.filter((r) =>
    r.victim ? r.result.signal !== 'SIGKILL' : r.result.code !== 100 + (r.i % 50) || r.box.killed);
  t.same(wrong.map((r) => ({ i: r.i, victim: r.victim, ...r.result })), [], 'victims died by SIGKILL, the rest by their own exit');
});

t.test('boxes spawned from worker threads at once: all run, and Node warns about no fd', async (t) => {
  const { Worker } = require('node:worker_threads');
  const code = `
    const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
    const { parentPort } = require('node:worker_threads');
    (async () => {
      const outputs = [];
      for (let i = 0; i < 10; i++) {
        const box = spawnIsolated('/bin/sh', ['-c', 'echo $$'], { listen: [{ port: 0 }] });
        let out = '';
        box.stdout.on('data', (d) => (out += d));
        const result = await box.exited;
        outputs.push(result.code === 0 ? out.trim() : 'failed ' + result.code);
      }
      parentPort.postMessage(outputs);
    })();`;
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const results = await Promise.all([0, 1, 2].map(() => new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, stderr: true });
    let stderr = '';
    worker.stderr.on('data', (d) => (stderr += d));
    worker.once('message', (outputs) => worker.once('exit', () => resolve({ outputs, stderr })));
    worker.once('error', reject);
  })));
  for (const { outputs, stderr } of results) {
    t.same(outputs, Array(10).fill('2'), 'each box ran (its shell is PID 2, under the init)');
    t.equal(stderr, '', 'the worker printed no warning (fds the addon made are closed natively)');
  }
  t.same(warnings.filter((message) => /File descriptor/.test(message)), []);
});
