// The bench's CPU-per-box figure (benchmarks/lib/cpu.js): /proc/<pid>/stat
// parsing and the per-box arithmetic, on synthetic input. No timing.
'use strict';
const t = require('tap');
const { parseProcStat, readCpuTicks, addCpuDelta, cpuPerBox, MIN_TICKS } = require('../../benchmarks/lib/cpu');
const { cpuComparison } = require('../../benchmarks/lib/targets');

/** A stat line as the kernel writes it: fields 14-17 are utime, stime, cutime, cstime. */
function statLine(comm, { utime, stime, cutime, cstime }) {
  // Fields 3 (state) to 13, then 14-17, then a few more.
  const before = ['S', 1, 4242, 4242, 0, -1, 4194560, 1234, 5678, 0, 0];
  const after = [20, 0, 11, 0, 987654, 123456789, 4321];
  return `4243 (${comm}) ${[...before, utime, stime, cutime, cstime, ...after].join(' ')}\n`;
}

t.test('parses after the last ")", whatever the command name holds', async (t) => {
  const ticks = { utime: 101, stime: 202, cutime: 303, cstime: 404 };
  for (const comm of ['node', 'a b) c', 'x) 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 (y', ')', ') (']) {
    t.same(parseProcStat(statLine(comm, ticks)), ticks, `comm ${JSON.stringify(comm)}`);
  }
});

t.test('refuses what is not a stat line', async (t) => {
  t.throws(() => parseProcStat('4243 node S 1'), /no "\)"/);
  t.throws(() => parseProcStat('4243 (node) S 1 2 3'), /field 14/);
});

t.test('reads this process: own ticks never go backwards', async (t) => {
  const first = readCpuTicks(process.pid);
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += i % 7;
  const second = readCpuTicks(process.pid);
  t.ok(x > 0);
  t.ok(Number.isInteger(first.own) && Number.isInteger(first.children), 'integer ticks');
  t.ok(second.own >= first.own, 'own ticks do not decrease');
  t.ok(second.children >= first.children, 'children ticks do not decrease');
});

t.test('sums a slot over its measurements and divides by its boxes', async (t) => {
  // Two measurements: 30 + 15 own ticks, 80 + 40 children ticks, 100 + 50 boxes.
  let acc = addCpuDelta(undefined, { own: 1000, children: 500 }, { own: 1030, children: 580 }, 100);
  acc = addCpuDelta(acc, { own: 2000, children: 900 }, { own: 2015, children: 940 }, 50);
  t.same(acc, { own: 45, children: 120, boxes: 150, measurements: 2 });
  const cpu = cpuPerBox(acc, 100);
  // 45 ticks at 100 Hz = 450 ms over 150 boxes = 3 ms; 120 ticks = 8 ms.
  t.equal(cpu.ownMsPerBox, 3);
  t.equal(cpu.childrenMsPerBox, 8);
  t.equal(cpu.totalMsPerBox, 11);
  t.equal(cpu.hz, 100);
  t.equal(cpu.boxes, 150);
  // Another clock rate scales it.
  t.equal(cpuPerBox(acc, 250).totalMsPerBox, 4.4);
});

t.test('too few ticks: no figure, and it says why', async (t) => {
  const acc = addCpuDelta(undefined, { own: 0, children: 0 }, { own: 4, children: MIN_TICKS - 5 }, 30);
  const cpu = cpuPerBox(acc, 100);
  t.equal(cpu.totalMsPerBox, null);
  t.equal(cpu.ownMsPerBox, null);
  t.equal(cpu.why, '19 ticks over 30 boxes, under 20: mostly rounding');
  // One tick more and it counts.
  const enough = cpuPerBox(addCpuDelta(acc, { own: 0, children: 0 }, { own: 1, children: 0 }, 0), 100);
  t.equal(enough.totalMsPerBox, (20 * 10) / 30);
  t.equal(cpuPerBox({ own: 50, children: 50, boxes: 0, measurements: 1 }, 100).totalMsPerBox, null, 'no boxes, no figure');
});

t.test('the throughput target note compares cordon with the floor', async (t) => {
  const cordon = cpuPerBox({ own: 67, children: 150, boxes: 1000, measurements: 2 }, 100);
  const floor = cpuPerBox({ own: 45, children: 125, boxes: 1000, measurements: 2 }, 100);
  t.equal(
    cpuComparison(cordon, floor),
    'CPU per box at 8: cordon 2.17 ms (own 0.67 + children 1.50) vs floor 1.70 ms (0.45 + 1.25) = 1.28×',
  );
  t.match(cpuComparison(cordon, cpuPerBox({ own: 1, children: 1, boxes: 100, measurements: 1 }, 100)), /vs floor n\/a \(2 ticks over 100 boxes/);
  t.equal(cpuComparison(undefined, undefined), undefined);
});
