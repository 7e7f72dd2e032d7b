// Red team: spawnIsolated()'s options cache (lib/options-cache.ts,
// lib/compiled-options.ts). A supervisor passes each tenant's options; the
// second time a key is seen its options are compiled, and later boxes are
// planned from the compiled template with only their own parts patched in.
// Each attack here is one a tenant could mount through the strings and
// values a supervisor passes on: a box must run with exactly the options
// validated for it, never another box's, never a string rewritten after
// validation.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const { spawnIsolated, spawnIsolatedAsync, CordonOptionError } = require('../..');
const { clearOptionsCache, optionsCacheSize } = require('../../dist/options-cache.js');
const compiledOptions = require('../../dist/compiled-options.js');

/** Runs a box to its end: its output (every byte, the terminal's too) and exit, or the error it failed with. */
async function outcome(file, args, options) {
  let box;
  try {
    box = spawnIsolated(file, args, options);
  } catch (error) {
    return { thrown: error };
  }
  const out = [];
  box.stdout?.on('data', (chunk) => out.push(chunk));
  const ended = box.stdout === null ? Promise.resolve() : new Promise((resolve) => box.stdout.once('close', resolve));
  let result;
  try {
    result = await box.exited;
  } catch (error) {
    return { failed: error };
  }
  await ended;
  return { code: result.code, stdout: Buffer.concat(out).toString() };
}

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-rt-cache-'));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A compiled plan that serves tty boxes names the terminal's path by a
// stand-in, replaced per box in every string of the steps that carry it.
// A bind source (or any option string) spelled like the stand-in was
// rewritten too: the third box bound <dir>//dev/pts/N, a path nobody
// validated, and without a tty the spawn threw a raw Error.
t.test('an option string spelled like the terminal stand-in is bound as given, every time', async (t) => {
  const dir = tempDir(t);
  const spellings = ['\u0001cordon terminal\u0001'];
  // Whatever the stand-in is now: a string that holds it must be refused or bound as given.
  const current = compiledOptions.TERMINAL_TOKEN;
  t.type(current, 'string', 'the stand-in is exported for this test');
  if (typeof current === 'string' && !current.includes('\0')) spellings.push(current);
  else if (typeof current === 'string') {
    clearOptionsCache();
    for (let i = 0; i < 3; i++) {
      const result = await outcome('/bin/true', [], { stdio: 'ignore', tty: true, mounts: [{ type: 'bind', source: path.join(dir, current), target: '/mnt' }] });
      t.ok(result.thrown instanceof CordonOptionError, `call ${i}: a source holding the stand-in (it has a NUL) is refused as an option`);
    }
  }
  for (const spelling of new Set(spellings)) {
    const source = path.join(dir, spelling);
    fs.mkdirSync(source, { recursive: true });
    fs.writeFileSync(path.join(source, 'marker'), 'the validated source\n');
    for (const tty of [false, true]) {
      clearOptionsCache();
      const options = { mounts: [{ type: 'bind', source, target: '/mnt' }], ...(tty ? { tty: true } : { stdio: ['ignore', 'pipe', 'ignore'] }) };
      for (let i = 0; i < 4; i++) {
        const result = await outcome('/bin/cat', ['/mnt/marker'], options);
        t.same({ thrown: result.thrown?.message, failed: result.failed?.message, code: result.code }, { thrown: undefined, failed: undefined, code: 0 },
          `${tty ? 'tty' : 'no tty'}, box ${i}: spawned and ran`);
        t.match(result.stdout ?? '', /the validated source/, `${tty ? 'tty' : 'no tty'}, box ${i}: the validated source is what is bound`);
      }
    }
  }
});

// Tenants whose options differ in env, hostname, mounts, rlimits and
// seccomp policy, each compiled on its second spawn, spawned at once (async
// spawns in flight together, sync ones amid them), on the main thread and
// in worker threads (each its own cache): every box runs with its own.
t.test('many tenants at once: every box runs with its own tenant\'s options', async (t) => {
  const { makeTenants, runMix } = require('../helpers/redteam-tenant-mix');
  const base = tempDir(t);
  clearOptionsCache();
  const names = makeTenants(base, 'main', 6);
  const results = await runMix(base, names, 4);
  t.ok(optionsCacheSize().compiled >= names.length, `every tenant's options were compiled (${optionsCacheSize().compiled})`);
  t.same(results.filter((entry) => entry.got !== entry.want), [], `${results.length} boxes, each with its own tenant's options`);

  const { Worker } = require('node:worker_threads');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { makeTenants, runMix } = require(${JSON.stringify(require.resolve('../helpers/redteam-tenant-mix'))});
    runMix(workerData.base, makeTenants(workerData.base, workerData.prefix, 4), 3).then((results) => parentPort.postMessage(results));`;
  // The main thread's tenants run again meanwhile, from its compiled options.
  const workers = ['w0-', 'w1-'].map((prefix) => new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { base, prefix } });
    worker.once('message', (results) => worker.once('exit', () => resolve(results)));
    worker.once('error', reject);
  }));
  const [main, ...fromWorkers] = await Promise.all([runMix(base, names, 2), ...workers]);
  for (const [i, results] of fromWorkers.entries()) {
    t.equal(results.length, 12, `worker ${i}: every box reported`);
    t.same(results.filter((entry) => entry.got !== entry.want), [], `worker ${i}: each box with its own tenant's options`);
  }
  t.same(main.filter((entry) => entry.got !== entry.want), [], 'the main thread\'s boxes meanwhile too');
});
