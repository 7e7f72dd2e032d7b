#!/usr/bin/env node
// How long a spawnIsolatedAsync() call holds the JS thread: the synchronous
// part, from the call until its promise is returned (validation, acquiring
// the box's fds, planning, encoding, queuing the native spawn), with and
// without a compiled template (compileBox), interleaved round by round.
// Issue 15's target: <= 150 us median.
//
//   node benchmarks/js-thread.js [--rounds N] [--jit-warmup N] [--options JSON] [--cpu-prof]
//   npm run bench -- --js-thread [...]     (the same, through benchmarks/index.js)
//
// Boxes run one at a time (each awaited to its exit) so that only the JS
// work is measured, not contention. --cpu-prof: profile only the template
// or the plain calls (see --profile-only) for node --cpu-prof.
//
// The verdict's figure is taken in a warmed process: after --jit-warmup
// boxes (4,000 by default, 8 in flight), as a supervisor's process is once
// it has started a few thousand boxes and as the suite's latency cases run
// (in worker processes that live for the whole run). V8 compiles a function
// with its optimizing compiler only once it has run often enough, and
// cordon's per-call functions run once per box: in a fresh process they
// run in the interpreter for the first thousands of boxes. The same rounds
// measured first, in the fresh process, are reported beside it.
//
// Two more figures put it in context (they have no verdict of their own):
// - busy: the same call while 7 other boxes are in flight, as a supervisor
//   starting boxes back to back makes it (its JS thread never idles);
// - the idle penalty: right after a box has ended, two calls back to back,
//   the first cold and the second warm. A JS thread that has waited
//   milliseconds for its box finds its caches and TLBs cold (on a VM, its
//   vCPU was halted meanwhile); the same code run again at once does not.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const cordon = require(path.join(__dirname, '..', 'dist', 'index.js'));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Lets a box run to its end (its pipes drained, stdin closed); throws unless its payload exited 0. */
async function drained(box) {
  box.stdout?.resume();
  box.stderr?.resume();
  box.stdin?.end();
  const result = await box.exited;
  if (result.code !== 0) throw new Error(`the payload exited with ${result.code}`);
}

/**
 * One call: the microseconds until the promise is returned (wall clock, and
 * CPU time of the process, which then is the JS thread's alone: the boxes
 * run one at a time, so no spawn worker runs meanwhile; on a loaded machine
 * the wall clock also counts time the thread waited for a core), then the
 * box awaited to its end.
 */
async function timed(start) {
  const cpuBefore = process.cpuUsage();
  const before = process.hrtime.bigint();
  const promise = start();
  const us = Number(process.hrtime.bigint() - before) / 1e3;
  const cpu = process.cpuUsage(cpuBefore);
  await drained(await promise);
  return { us, cpuUs: cpu.user + cpu.system };
}

/** The variants measured: spawnIsolatedAsync(file, [], options) and compileBox(options).spawnAsync(file). */
function variantsOf(options, file, only) {
  const template = cordon.compileBox(options);
  const variants = {
    spawnIsolatedAsync: () => cordon.spawnIsolatedAsync(file, [], options),
    'compileBox().spawnAsync': () => template.spawnAsync(file, []),
  };
  return Object.fromEntries(Object.entries(variants).filter(([name]) => only === undefined || name.startsWith(only)));
}

/** Interleaved rounds of the variants, one box at a time: per variant the median (and p90) in us, CPU median, n. */
async function interleavedRounds(variants, { rounds, warmup }) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  const cpuSamples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    // Alternate who goes first, so neither always follows the other's exit.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const { us, cpuUs } = await timed(variants[name]);
      if (round < warmup) continue;
      samples[name].push(us);
      cpuSamples[name].push(cpuUs);
    }
  }
  return Object.fromEntries(names.map((name) => [name, {
    median: median(samples[name]), p90: quantile(samples[name], 0.9), cpuMedian: median(cpuSamples[name]), n: samples[name].length,
  }]));
}

/** Starts `count` boxes, the variants in turn, `inFlight` at a time: V8 sees the call path run often enough to optimize it. */
async function warmUp(variants, count, inFlight = 8) {
  const starts = Object.values(variants);
  let started = 0;
  async function lane() {
    while (started < count) {
      const start = starts[started++ % starts.length];
      await drained(await start());
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/**
 * The JS-thread figures of spawnIsolatedAsync(file, [], options) and
 * compileBox(options).spawnAsync(file): interleaved rounds in this process
 * as it is (`fresh`: a fresh process's first calls), then the same rounds
 * after `jitWarmup` more boxes (the figure with the verdict), then the
 * busy and idle figures. Medians (and p90) in us.
 */
async function measureJsThread({ rounds = 200, warmup = 30, jitWarmup = 4000, options = {}, file = '/bin/true', only } = {}) {
  const variants = variantsOf(options, file, only);
  const fresh = await interleavedRounds(variants, { rounds, warmup });
  await warmUp(variants, jitWarmup);
  const warmed = await interleavedRounds(variants, { rounds, warmup: 0 });
  if (only !== undefined) return warmed;
  return {
    ...warmed,
    fresh,
    jitWarmup,
    busy: await measureBusy({ calls: rounds, options, file }),
    idle: await measureIdlePenalty({ rounds, options, file }),
  };
}

/** The synchronous part of spawnIsolatedAsync() while `inFlight` boxes are kept in flight: median and n. */
async function measureBusy({ calls, options, file, inFlight = 8 }) {
  const samples = [];
  let started = 0;
  async function lane() {
    while (started < calls + inFlight * 2) {
      const index = started++;
      const before = process.hrtime.bigint();
      const promise = cordon.spawnIsolatedAsync(file, [], options);
      const us = Number(process.hrtime.bigint() - before) / 1e3;
      // The first calls of each lane start while the others are still idle.
      if (index >= inFlight * 2) samples.push(us);
      await drained(await promise);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { median: median(samples), n: samples.length, inFlight };
}

/**
 * The machine's idle penalty: after a box has run and been awaited (as
 * each serial call above is), two calls back to back: the first finds the
 * thread cold, the second runs the same code right after it. Medians in µs
 * and their ratio.
 */
async function measureIdlePenalty({ rounds, options, file }) {
  const first = [];
  const second = [];
  for (let round = 0; round < rounds + 10; round++) {
    let before = process.hrtime.bigint();
    const a = cordon.spawnIsolatedAsync(file, [], options);
    const cold = Number(process.hrtime.bigint() - before) / 1e3;
    before = process.hrtime.bigint();
    const b = cordon.spawnIsolatedAsync(file, [], options);
    const warm = Number(process.hrtime.bigint() - before) / 1e3;
    await Promise.all((await Promise.all([a, b])).map(drained));
    if (round < 10) continue;
    first.push(cold);
    second.push(warm);
  }
  const coldUs = median(first);
  const warmUs = median(second);
  return { coldUs, warmUs, penalty: coldUs / warmUs };
}

async function main(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '200' },
      'jit-warmup': { type: 'string', default: '4000' },
      options: { type: 'string', default: '{}' },
      'profile-only': { type: 'string' },
      'js-thread': { type: 'boolean' },
    },
  });
  const options = JSON.parse(values.options);
  const result = await measureJsThread({ rounds: Number(values.rounds), jitWarmup: Number(values['jit-warmup']), options, only: values['profile-only'] });
  const os = require('node:os');
  console.log(`JS thread per call (sync part until the promise is returned), options ${JSON.stringify(options)}, ${process.geteuid() === 0 ? 'root' : `uid ${process.geteuid()}`}, load ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores:`);
  const { busy, idle, fresh, jitWarmup, ...serial } = result;
  if (jitWarmup !== undefined) console.log(`  after ${jitWarmup} boxes (V8 has optimized the call's path):`);
  for (const [name, stats] of Object.entries(serial)) {
    const verdict = stats.median <= 150 ? 'PASS' : 'MISS';
    console.log(`  ${name.padEnd(26)} median ${stats.median.toFixed(1).padStart(7)} us  p90 ${stats.p90.toFixed(1).padStart(7)} us  CPU median ${stats.cpuMedian.toFixed(0).padStart(5)} us  (n=${stats.n})  target <= 150 us: ${verdict}`);
  }
  if (fresh !== undefined) {
    console.log('  in the fresh process (its first calls, before the warm-up):');
    for (const [name, stats] of Object.entries(fresh)) console.log(`  ${name.padEnd(26)} median ${stats.median.toFixed(1).padStart(7)} us  p90 ${stats.p90.toFixed(1).padStart(7)} us  (n=${stats.n})`);
  }
  if (busy !== undefined) console.log(`  spawnIsolatedAsync, ${busy.inFlight} in flight: median ${busy.median.toFixed(1)} us (n=${busy.n})`);
  if (idle !== undefined) console.log(`  idle penalty: after a box, a first call ${idle.coldUs.toFixed(1)} us, a second right after it ${idle.warmUs.toFixed(1)} us: ${idle.penalty.toFixed(1)}x`);
  return 0;
}

module.exports = { measureJsThread, main };

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  }, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
