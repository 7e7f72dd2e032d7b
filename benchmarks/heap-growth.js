// How a box's cost grows with the size of the Node process that spawns it,
// measured as an interleaved A/B in one run: one worker node process per
// heap size (+0, +150, +800 MB of touched V8 heap by default), all alive
// for the whole run; every round gives each worker the same batch of each
// variant in a rotating order, and the ratios are the median over rounds of
// (worker's batch median / the +0 worker's batch median in that round).
// Besides the latency, each batch reports where the time went: the parent's
// user and system CPU and minor faults (process.resourceUsage), and the
// reaped children's CPU and minor faults (/proc/self/stat cutime, cstime,
// cminflt; cordon reaps its children with waitid, so they are counted).
//
//   node benchmarks/heap-growth.js [--heaps 0,150,800] [--rounds 12] [--per-round 20]
//       [--variants default,cgroup,net-host,no-init,child_process] [--steps]
//       [--packages before=/path/to/other/checkout,after=..]
//
// --packages runs a worker per (package, heap), all interleaved: an A/B of
// two builds of cordon in one run; each package's ratios are against its own
// +0 worker. --steps adds the per-step marks of each variant.
'use strict';
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const { parseArgs } = require('node:util');

const PAYLOAD = '/bin/true';

const variants = {
  default: {},
  cgroup: { cgroup: { memory: { max: 256 * 2 ** 20 }, pids: { max: 64 } } },
  'net-host': { network: 'host' },
  'no-init': { init: false },
};

if (process.env.HEAP_GROWTH_WORKER) {
  worker(Number(process.env.HEAP_GROWTH_WORKER_MB), process.env.HEAP_GROWTH_PACKAGE);
} else {
  driver().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

function worker(mb, pkg) {
  const cordon = require(pkg);
  const held = [];
  for (let i = 0; i < mb; i++) {
    const chunk = new Array(16384);
    for (let k = 0; k < chunk.length; k++) chunk[k] = { a: k, b: `${k}`.repeat(2) };
    held.push(chunk);
  }
  const ticks = 100; // USER_HZ
  const childStat = () => {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // after the comm: state(0) ppid pgrp session tty tpgid flags minflt cminflt(8) majflt cmajflt utime stime cutime(13) cstime(14)
    return { cminflt: Number(fields[8]), cpu: (Number(fields[13]) + Number(fields[14])) / ticks };
  };
  const one = async (name) => {
    const start = process.hrtime.bigint();
    if (name === 'child_process') {
      const child = spawn(PAYLOAD, [], { stdio: 'ignore' });
      const call = Number(process.hrtime.bigint() - start) / 1e6;
      await new Promise((resolve, reject) => child.on('exit', resolve).on('error', reject));
      return { call, total: Number(process.hrtime.bigint() - start) / 1e6 };
    }
    const box = cordon.spawnIsolated(PAYLOAD, [], { stdio: 'ignore', ...variants[name] });
    const call = Number(process.hrtime.bigint() - start) / 1e6;
    await box.exited;
    return { call, total: Number(process.hrtime.bigint() - start) / 1e6 };
  };
  const dc = require('node:diagnostics_channel');
  process.on('message', async ({ name, count, steps }) => {
    // With `steps`: the per-step marks (the diagnostics channels the native
    // side feeds only when someone listens), µs per step and phase.
    const marks = {};
    const onStep = (m) => (marks[`${String(m.index).padStart(2, '0')} ${m.side}: ${m.name}`] ??= []).push(m.ms * 1000);
    const onPhase = (m) => (marks[`phase: ${m.phase}`] ??= []).push(m.ms * 1000);
    if (steps) {
      dc.subscribe('cordon:spawn:step', onStep);
      dc.subscribe('cordon:spawn:phase', onPhase);
    }
    const calls = [];
    const totals = [];
    const usage0 = process.resourceUsage();
    const child0 = childStat();
    for (let i = 0; i < count; i++) {
      const { call, total } = await one(name);
      calls.push(call);
      totals.push(total);
    }
    const usage1 = process.resourceUsage();
    const child1 = childStat();
    if (steps) {
      dc.unsubscribe('cordon:spawn:step', onStep);
      dc.unsubscribe('cordon:spawn:phase', onPhase);
    }
    process.send({
      calls,
      totals,
      userMs: (usage1.userCPUTime - usage0.userCPUTime) / 1000 / count,
      systemMs: (usage1.systemCPUTime - usage0.systemCPUTime) / 1000 / count,
      minflt: (usage1.minorPageFault - usage0.minorPageFault) / count,
      childCpuMs: ((child1.cpu - child0.cpu) * 1000) / count,
      childMinflt: (child1.cminflt - child0.cminflt) / count,
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      held: held.length,
      marks: Object.fromEntries(Object.entries(marks).map(([key, list]) => [key, median(list)])),
    });
  });
  process.send({ ready: true });
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function driver() {
  const { values } = parseArgs({
    options: {
      heaps: { type: 'string', default: '0,150,800' },
      rounds: { type: 'string', default: '12' },
      'per-round': { type: 'string', default: '20' },
      variants: { type: 'string', default: 'default,cgroup,net-host,no-init,child_process' },
      steps: { type: 'boolean', default: false },
      packages: { type: 'string', default: '' },
    },
  });
  const mbs = values.heaps.split(',').map(Number);
  const packages = values.packages === '' ? [['', require('node:path').join(__dirname, '..')]] : values.packages.split(',').map((entry) => entry.split('='));
  // One worker per (package, heap); `base` is the index of that package's +0 worker.
  const slots = packages.flatMap(([label, dir], p) => mbs.map((mb, m) => ({ label: `${label === '' ? '' : `${label} `}+${mb}`, dir, mb, base: p * mbs.length, same: m })));
  const heaps = slots.map((slot) => slot.mb);
  const ab = packages.length > 1;
  const names = values.variants.split(',');
  const rounds = Number(values.rounds);
  const per = Number(values['per-round']);
  const workers = await Promise.all(
    slots.map(
      ({ mb, dir }) =>
        new Promise((resolve, reject) => {
          const child = fork(__filename, [], {
            env: { ...process.env, HEAP_GROWTH_WORKER: '1', HEAP_GROWTH_WORKER_MB: String(mb), HEAP_GROWTH_PACKAGE: require('node:path').resolve(dir) },
            execArgv: ['--max-old-space-size=4096'],
          });
          child.once('message', () => resolve(child));
          child.once('error', reject);
        }),
    ),
  );
  const ask = (child, name, count) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ name, count, steps: values.steps });
    });
  for (const child of workers) for (const name of names) await ask(child, name, 3); // warm up
  // results[name][heapIndex] = list of per-round batch reports
  const results = Object.fromEntries(names.map((name) => [name, heaps.map(() => [])]));
  for (let round = 0; round < rounds; round++) {
    for (let v = 0; v < names.length; v++) {
      const name = names[(v + round) % names.length];
      for (let w = 0; w < workers.length; w++) {
        const index = (w + round) % workers.length;
        results[name][index].push(await ask(workers[index], name, per));
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  let load = '';
  try {
    load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {}
  const last = (index) => results[names[0]][index].at(-1);
  console.log(
    `payload ${PAYLOAD}; ${rounds} rounds × ${per} per batch; load ${load}; workers: ` +
      slots.map((slot, i) => `${slot.label} MB (heap ${last(i).heapMb} MB, rss ${last(i).rssMb} MB)`).join(', '),
  );
  console.log(
    `| variant | heap | total median ms | × +0 (paired) |${ab ? ' × first package (paired) |' : ''} call median ms | call × +0 | parent user ms | parent sys ms | parent minflt | child CPU ms | child minflt |`,
  );
  console.log(`|---|---:|---:|---:|${ab ? '---:|' : ''}---:|---:|---:|---:|---:|---:|---:|`);
  for (const name of names) {
    for (let i = 0; i < heaps.length; i++) {
      const batches = results[name][i];
      const base = results[name][slots[i].base];
      const ratio = (key, against = base) => median(batches.map((b, r) => median(b[key]) / median(against[r][key])));
      const avg = (key) => median(batches.map((b) => b[key]));
      console.log(
        `| ${name} | ${slots[i].label} | ${median(batches.flatMap((b) => b.totals)).toFixed(3)} | ${ratio('totals').toFixed(2)} |${ab ? ` ${ratio('totals', results[name][slots[i].same]).toFixed(2)} |` : ''} ` +
          `${median(batches.flatMap((b) => b.calls)).toFixed(3)} | ${ratio('calls').toFixed(2)} | ${avg('userMs').toFixed(3)} | ` +
          `${avg('systemMs').toFixed(3)} | ${avg('minflt').toFixed(0)} | ${avg('childCpuMs').toFixed(2)} | ${avg('childMinflt').toFixed(0)} |`,
      );
    }
  }
  if (values.steps) {
    for (const name of names) {
      if (name === 'child_process') continue;
      const keys = [...new Set(results[name].flatMap((batches) => Object.keys(batches[0].marks)))].sort();
      console.log(`\nPer-step marks, ${name} (median over rounds of batch medians, µs):\n`);
      console.log(`| step | ${slots.map((slot) => `${slot.label} MB`).join(' | ')} |`);
      console.log(`|---|${heaps.map(() => '---:').join('|')}|`);
      for (const key of keys) {
        console.log(`| ${key} | ${heaps.map((_, i) => median(results[name][i].map((b) => b.marks[key] ?? NaN)).toFixed(0)).join(' | ')} |`);
      }
    }
  }
  for (const child of workers) child.kill();
}
