// What a box child with its own memory costs (the clone without CLONE_VM
// that every box in a cgroup gets, so the OOM killer of the box's cgroup can
// never pick a process sharing Node's memory), against the CLONE_VM child
// and child_process.spawn, in one interleaved run.
//
//   node benchmarks/own-memory.js [--heap MB] [--rounds N] [--per-round N]
//
// --heap holds that many more MB of V8 heap (JS objects, touched) during the
// run: fork copies page tables in proportion to what is mapped. Each round
// takes --per-round samples of every variant, in a rotating order; ratios
// are the median over rounds of (variant median / baseline median) in the
// same round. Times: `call` is the synchronous spawn call (the clone-to-exec
// window for cordon; fork+exec for libuv), `total` is call to exit seen.
'use strict';
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const cordon = require('..');
const { native } = require('../dist/internal/native');

const { values } = parseArgs({
  options: {
    heap: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '20' },
    'per-round': { type: 'string', default: '10' },
    payload: { type: 'string', default: '/bin/true' },
  },
});
const PAYLOAD = values.payload;

// Hold heap: arrays of small objects, so the pages are really touched.
const held = [];
for (let mb = 0; mb < Number(values.heap); mb++) {
  const chunk = new Array(16384);
  for (let i = 0; i < chunk.length; i++) chunk[i] = { a: i, b: `${i}`.repeat(2) };
  held.push(chunk);
}

function time(fn) {
  const start = process.hrtime.bigint();
  const result = fn();
  return { call: Number(process.hrtime.bigint() - start) / 1e6, start, result };
}

const variants = {
  'child_process.spawn': async () => {
    const { call, start, result } = time(() => spawn(PAYLOAD, [], { stdio: 'ignore' }));
    await new Promise((resolve, reject) => result.on('exit', resolve).on('error', reject));
    return { call, total: Number(process.hrtime.bigint() - start) / 1e6 };
  },
  'cordon CLONE_VM': async () => {
    const { call, start, result } = time(() => cordon.spawnIsolated(PAYLOAD, [], { stdio: 'ignore' }));
    await result.exited;
    return { call, total: Number(process.hrtime.bigint() - start) / 1e6 };
  },
  'cordon own memory': async () => {
    native().forceOwnMemory(true);
    try {
      const { call, start, result } = time(() => cordon.spawnIsolated(PAYLOAD, [], { stdio: 'ignore' }));
      await result.exited;
      return { call, total: Number(process.hrtime.bigint() - start) / 1e6 };
    } finally {
      native().forceOwnMemory(false);
    }
  },
  'cordon + cgroup (own memory)': async () => {
    const { call, start, result } = time(() =>
      cordon.spawnIsolated(PAYLOAD, [], { stdio: 'ignore', cgroup: { memory: { max: 256 * 2 ** 20 }, pids: { max: 64 } } }),
    );
    await result.exited;
    return { call, total: Number(process.hrtime.bigint() - start) / 1e6 };
  },
};

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main() {
  const names = Object.keys(variants);
  for (const name of names) for (let i = 0; i < 3; i++) await variants[name](); // warm up
  const rounds = Number(values.rounds);
  const per = Number(values['per-round']);
  const samples = Object.fromEntries(names.map((name) => [name, { call: [], total: [], roundCall: [], roundTotal: [] }]));
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const got = Object.fromEntries(names.map((name) => [name, { call: [], total: [] }]));
    for (let k = 0; k < per; k++) {
      for (const name of order) {
        const { call, total } = await variants[name]();
        got[name].call.push(call);
        got[name].total.push(total);
      }
    }
    for (const name of names) {
      samples[name].call.push(...got[name].call);
      samples[name].total.push(...got[name].total);
      samples[name].roundCall.push(median(got[name].call));
      samples[name].roundTotal.push(median(got[name].total));
    }
  }
  const ratio = (name, base, key) => median(samples[name][key].map((value, i) => value / samples[base][key][i]));
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(`payload ${PAYLOAD}; +${values.heap} MB heap (rss ${rss} MB); ${rounds} rounds x ${per} samples per variant, interleaved`);
  console.log('variant | call median ms | total median ms | total p90 ms | call / CLONE_VM | total / CLONE_VM | total / child_process.spawn');
  for (const name of names) {
    const s = samples[name];
    const sorted = [...s.total].sort((a, b) => a - b);
    console.log([
      name,
      median(s.call).toFixed(3),
      median(s.total).toFixed(3),
      sorted[Math.floor(sorted.length * 0.9)].toFixed(3),
      ratio(name, 'cordon CLONE_VM', 'roundCall').toFixed(2),
      ratio(name, 'cordon CLONE_VM', 'roundTotal').toFixed(2),
      ratio(name, 'child_process.spawn', 'roundTotal').toFixed(2),
    ].join(' | '));
  }
  if (held.length < 0) console.log(held.length); // keep the heap alive
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
