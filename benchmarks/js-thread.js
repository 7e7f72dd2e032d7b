#!/usr/bin/env node
// How long a spawnIsolatedAsync() call holds the JS thread: the synchronous
// part, from the call until its promise is returned (validation, acquiring
// the box's fds, planning, encoding, queuing the native spawn), with and
// without a compiled template (compileBox), interleaved round by round.
// Issue 15's target: <= 150 us median.
//
//   node benchmarks/js-thread.js [--rounds N] [--options JSON] [--cpu-prof]
//   npm run bench -- --js-thread [...]     (the same, through benchmarks/index.js)
//
// Boxes run one at a time (each awaited to its exit) so that only the JS
// work is measured, not contention. --cpu-prof: profile only the template
// or the plain calls (see --profile-only) for node --cpu-prof.
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
  const box = await promise;
  box.stdout?.resume();
  box.stderr?.resume();
  box.stdin?.end();
  const result = await box.exited;
  if (result.code !== 0) throw new Error(`the payload exited with ${result.code}`);
  return { us, cpuUs: cpu.user + cpu.system };
}

/**
 * Interleaved rounds of spawnIsolatedAsync(file, [], options) and
 * compileBox(options).spawnAsync(file): the medians (and p90) in us.
 */
async function measureJsThread({ rounds = 200, warmup = 30, options = {}, file = '/bin/true', only } = {}) {
  const template = cordon.compileBox(options);
  const variants = {
    spawnIsolatedAsync: () => cordon.spawnIsolatedAsync(file, [], options),
    'compileBox().spawnAsync': () => template.spawnAsync(file, []),
  };
  const names = Object.keys(variants).filter((name) => only === undefined || name.startsWith(only));
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

async function main(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '200' },
      options: { type: 'string', default: '{}' },
      'profile-only': { type: 'string' },
      'js-thread': { type: 'boolean' },
    },
  });
  const options = JSON.parse(values.options);
  const result = await measureJsThread({ rounds: Number(values.rounds), options, only: values['profile-only'] });
  const os = require('node:os');
  console.log(`JS thread per call (sync part until the promise is returned), options ${JSON.stringify(options)}, ${process.geteuid() === 0 ? 'root' : `uid ${process.geteuid()}`}, load ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores:`);
  for (const [name, stats] of Object.entries(result)) {
    const verdict = stats.median <= 150 ? 'PASS' : 'MISS';
    console.log(`  ${name.padEnd(26)} median ${stats.median.toFixed(1).padStart(7)} us  p90 ${stats.p90.toFixed(1).padStart(7)} us  CPU median ${stats.cpuMedian.toFixed(0).padStart(5)} us  (n=${stats.n})  target <= 150 us: ${verdict}`);
  }
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
