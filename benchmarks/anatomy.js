#!/usr/bin/env node
// The anatomy of one default box (issue 15): where its time goes and how
// many system calls each process makes, printed as Markdown tables for
// benchmarks/RESULTS.md.
//
//   node benchmarks/anatomy.js [--steps N] [--blocked N] [--syscalls K] [--payload FILE]
//
// --steps N     N default boxes (spawnIsolated, stdio 'ignore') with the
//               diagnostics channels on: the median time of each parent
//               phase and of each plan step (µs), from the step marks the
//               native side records only when someone listens. Default 200.
// --blocked N   N spawnIsolatedAsync() calls: how long each holds the JS
//               thread (the call until it returns, and the settling
//               callback). Default 200.
// --syscalls K  K default boxes and K C-floor boxes under `strace -f -ff`
//               (needs strace): system calls per box, split by process:
//               Node's main thread between two markers, the box child
//               before it execs the init, the init, and the payload's
//               process before its execve. 0 skips. Default 10.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const dc = require('node:diagnostics_channel');
const { spawnSync } = require('node:child_process');
const { which } = require('./lib/build');

const root = path.join(__dirname, '..');

function arg(name, fallback) {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};

async function steps(n, payload) {
  const { spawnIsolated } = require(root);
  const byStep = new Map();
  const byPhase = new Map();
  const add = (map, key, ms) => {
    if (!map.has(key)) map.set(key, []);
    map.get(key).push(ms * 1000);
  };
  const onStep = (m) => add(byStep, `${String(m.index).padStart(2, '0')} ${m.side}: ${m.name}`, m.ms);
  const onPhase = (m) => add(byPhase, m.phase, m.ms);
  dc.subscribe('cordon:spawn:step', onStep);
  dc.subscribe('cordon:spawn:phase', onPhase);
  const totals = [];
  for (let i = 0; i < n + 5; i++) {
    if (i === 5) {
      byStep.clear();
      byPhase.clear();
    }
    const started = process.hrtime.bigint();
    const result = await spawnIsolated(payload, [], { stdio: 'ignore' }).exited;
    if (result.code !== 0) throw new Error(`${payload} exited with ${result.code}`);
    if (i >= 5) totals.push(Number(process.hrtime.bigint() - started) / 1e3);
  }
  dc.unsubscribe('cordon:spawn:step', onStep);
  dc.unsubscribe('cordon:spawn:phase', onPhase);
  const lines = [`Per-step cost of a default box (${payload}, ${n} boxes, median µs; load ${os.loadavg()[0].toFixed(2)}):`, ''];
  lines.push('| phase (parent, JS and native) | µs |', '|---|---:|');
  for (const [phase, values] of byPhase) lines.push(`| ${phase} | ${median(values).toFixed(0)} |`);
  lines.push(`| **spawn call to exit seen** | **${median(totals).toFixed(0)}** |`, '');
  lines.push('| step (side: name) | µs |', '|---|---:|');
  for (const [step, values] of [...byStep].sort()) lines.push(`| ${step} | ${median(values).toFixed(1)} |`);
  return lines.join('\n');
}

/**
 * How long spawnIsolatedAsync() holds the JS thread per call: the
 * synchronous part of the call (validation, planning, encoding, queueing
 * the native work) and the settling callback (the 'hand over' phase).
 */
async function blocked(n, payload) {
  const { spawnIsolatedAsync } = require(root);
  const calls = [];
  for (let i = 0; i < n + 5; i++) {
    const started = process.hrtime.bigint();
    const pending = spawnIsolatedAsync(payload, [], { stdio: 'ignore' });
    const held = Number(process.hrtime.bigint() - started) / 1e3;
    const box = await pending;
    await box.exited;
    if (i >= 5) calls.push(held);
  }
  const handOver = [];
  const onPhase = (m) => {
    if (m.phase === 'hand over') handOver.push(m.ms * 1000);
  };
  dc.subscribe('cordon:spawn:phase', onPhase);
  for (let i = 0; i < n; i++) await (await spawnIsolatedAsync(payload, [], { stdio: 'ignore' })).exited;
  dc.unsubscribe('cordon:spawn:phase', onPhase);
  return [
    `JS thread held per spawnIsolatedAsync() call (${payload}, ${n} calls, median µs; load ${os.loadavg()[0].toFixed(2)}):`, '',
    '| part | µs |', '|---|---:|',
    `| the call itself, until it returns its promise | ${median(calls).toFixed(0)} |`,
    `| the settling callback ('hand over' phase) | ${median(handOver).toFixed(0)} |`,
    `| **in all** | **${(median(calls) + median(handOver)).toFixed(0)}** |`,
  ].join('\n');
}

/** Lines of a strace -ff file, split at its first line matching `at` (before, after). */
function splitAt(lines, at) {
  const index = lines.findIndex((line) => at.test(line));
  return index < 0 ? [lines, []] : [lines.slice(0, index), lines.slice(index)];
}

const calls = (lines) => lines.filter((line) => /^[a-z_0-9]+\(/.test(line));

/** The most frequent calls in `lines`, counted per box (`boxes` of them). */
function topCalls(lines, boxes, n = 6) {
  const counts = new Map();
  for (const line of calls(lines)) {
    const name = line.slice(0, line.indexOf('('));
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, count]) => `${name} ${Math.round(count / boxes)}`).join(', ');
}

function traceDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-anatomy-'));
}

function readTraces(dir) {
  return fs.readdirSync(dir).map((name) => ({ pid: Number(name.split('.').pop()), lines: fs.readFileSync(path.join(dir, name), 'utf8').split('\n') }));
}

function syscallsCordon(strace, k, payload) {
  const dir = traceDir();
  try {
    const script = `
      const fs = require('node:fs');
      const { spawnIsolated } = require(${JSON.stringify(root)});
      (async () => {
        await spawnIsolated(${JSON.stringify(payload)}, [], { stdio: 'ignore' }).exited;
        try { fs.accessSync('/cordon-anatomy-begin'); } catch {}
        for (let i = 0; i < ${k}; i++) await spawnIsolated(${JSON.stringify(payload)}, [], { stdio: 'ignore' }).exited;
        try { fs.accessSync('/cordon-anatomy-end'); } catch {}
      })();`;
    const run = spawnSync(strace, ['-f', '-ff', '-o', path.join(dir, 'trace'), process.execPath, '-e', script], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`strace node failed: ${run.stderr}`);
    const traces = readTraces(dir);
    const main = traces.find((t) => t.lines.some((l) => l.includes('/cordon-anatomy-begin')));
    const [, fromBegin] = splitAt(main.lines, /cordon-anatomy-begin/);
    const [window] = splitAt(fromBegin, /cordon-anatomy-end/);
    const boxes = traces.filter((t) => t.lines.some((l) => l.startsWith('execveat(')));
    const payloads = traces.filter((t) => !boxes.includes(t) && t !== main && t.lines.some((l) => l.startsWith(`execve("${payload}"`)));
    const setup = boxes.map((t) => splitAt(t.lines, /^execveat\(/)[0]);
    const init = boxes.map((t) => splitAt(t.lines, /^execveat\(/)[1]);
    const payloadPre = payloads.map((t) => splitAt(t.lines, /^execve\(/)[0]);
    const per = (groups) => median(groups.map((g) => calls(g).length));
    return [
      { who: "Node's main thread, per box (JS + native parent + exit watch)", count: calls(window).length / k, top: topCalls(window, k) },
      { who: 'box child before the init exec (the plan)', count: per(setup), top: topCalls(setup.flat(), setup.length) },
      { who: 'init, from its exec to its exit', count: per(init), top: topCalls(init.flat(), init.length) },
      { who: "payload's process before its execve (the init's child)", count: per(payloadPre), top: topCalls(payloadPre.flat(), payloadPre.length) },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function syscallsFloor(strace, k, payload) {
  const cc = which('cc');
  if (!cc) return [];
  const dir = traceDir();
  try {
    const helper = path.join(dir, 'spawn-helper');
    const build = spawnSync(cc, ['-O2', '-o', helper, path.join(__dirname, 'c', 'spawn-helper.c')], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(build.stderr);
    const traces = path.join(dir, 'traces');
    fs.mkdirSync(traces);
    const run = spawnSync(strace, ['-f', '-ff', '-o', path.join(traces, 'trace'), helper], {
      input: `def 0 1\n${payload}\nrun 0 floor 1\ngetpid\nrun 0 floor ${k}\nquit\n`, encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`strace spawn-helper failed: ${run.stderr}`);
    const all = readTraces(traces);
    const main = all.find((t) => t.lines.some((l) => l.startsWith('execve(') && l.includes(helper)));
    // The helper's own lines after the warm-up box: from the reply to
    // "getpid" (an unknown command) on.
    const [, after] = splitAt(main.lines, /unknown command/);
    const boxes = all.filter((t) => t !== main && t.lines.some((l) => l.startsWith('pivot_root(')));
    const payloads = all.filter((t) => t !== main && !boxes.includes(t) && t.lines.some((l) => l.startsWith('execve(')));
    const per = (groups) => median(groups.map((g) => calls(g).length));
    const payloadPre = payloads.map((t) => splitAt(t.lines, /^execve\(/)[0]);
    return [
      { who: 'C floor: the helper (parent), per box', count: (calls(after).length - 2) / k, top: topCalls(after, k) },
      { who: 'C floor: the box (setup + pid 1)', count: per(boxes.map((t) => t.lines)), top: topCalls(boxes.flatMap((t) => t.lines), boxes.length) },
      { who: "C floor: payload's process before its execve", count: per(payloadPre), top: topCalls(payloadPre.flat(), payloadPre.length) },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const payload = arg('--payload', '/bin/true');
  const n = Number(arg('--steps', 200));
  const k = Number(arg('--syscalls', 10));
  if (n > 0) console.log(await steps(n, payload), '\n');
  const b = Number(arg('--blocked', 200));
  if (b > 0) console.log(await blocked(b, payload), '\n');
  if (k > 0) {
    const strace = which('strace');
    if (!strace) {
      console.log('syscall counts skipped: strace is not installed (apt-get install strace)');
      return;
    }
    const rows = [...syscallsCordon(strace, k, payload), ...syscallsFloor(strace, k, payload)];
    console.log(`System calls per box (${payload}, ${k} boxes, strace -f -ff, median per process):\n`);
    console.log('| process | calls | most frequent, per box |\n|---|---:|---|');
    for (const row of rows) console.log(`| ${row.who} | ${Math.round(row.count)} | ${row.top} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
