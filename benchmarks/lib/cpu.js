// CPU time per box in a throughput slot, read from /proc/<pid>/stat of the
// process that spawns (a worker process for the Node drivers, the
// spawn-helper for the C ones). boxes/s on a shared 2-core machine moves
// with any outside load; the CPU a box costs is much steadier, and it is
// what explains a throughput verdict when both cores are saturated.
'use strict';
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

/**
 * Below this many ticks (own + children) in a slot the figure is mostly
 * the tick rounding of the reads (±1 tick at each end of each
 * measurement), so it is not reported.
 */
const MIN_TICKS = 20;

/**
 * utime, stime, cutime and cstime (clock ticks) from the text of
 * /proc/<pid>/stat. The command name (field 2) is in parentheses and may
 * itself contain spaces and ')': the fields are counted from after the
 * last ')'.
 */
function parseProcStat(text) {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/<pid>/stat line: no ")" after the command name');
  // After the name: field 3 (state) onwards, so field n is at n - 3.
  const fields = text.slice(end + 1).trim().split(/\s+/);
  const field = (n) => {
    const value = Number(fields[n - 3]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`not a /proc/<pid>/stat line: field ${n} is ${JSON.stringify(fields[n - 3])}`);
    return value;
  };
  return { utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

/** The ticks of a process so far: its own (all threads) and its reaped children's. */
function readCpuTicks(pid) {
  const stat = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { own: stat.utime + stat.stime, children: stat.cutime + stat.cstime };
}

let ticksPerSecond;
/** sysconf(_SC_CLK_TCK), which Node does not expose: 100 on Linux nearly always. */
function clockTicksPerSecond() {
  if (ticksPerSecond === undefined) {
    const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(result.stdout?.trim());
    ticksPerSecond = result.status === 0 && Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/**
 * Adds one measurement to a slot's accumulator ({ own, children, boxes,
 * measurements }, made when missing): the ticks between two reads and the
 * boxes that ran between them.
 */
function addCpuDelta(acc, before, after, boxes) {
  const sum = acc ?? { own: 0, children: 0, boxes: 0, measurements: 0 };
  sum.own += after.own - before.own;
  sum.children += after.children - before.children;
  sum.boxes += boxes;
  sum.measurements += 1;
  return sum;
}

/**
 * Milliseconds of CPU per box from a slot's accumulated ticks: own (the
 * spawning process, all its threads), children (what it reaped: for cordon
 * the box's init and payload, for the helper its boxes) and their total.
 * The ms figures are null when the slot ran too few ticks to say.
 */
function cpuPerBox(acc, hz = clockTicksPerSecond(), minTicks = MIN_TICKS) {
  const { boxes } = acc;
  const ticks = acc.own + acc.children;
  const out = { hz, ownTicks: acc.own, childrenTicks: acc.children, boxes, measurements: acc.measurements };
  if (!(boxes > 0) || ticks < minTicks) {
    return { ...out, ownMsPerBox: null, childrenMsPerBox: null, totalMsPerBox: null, why: `${ticks} ticks over ${boxes} boxes, under ${minTicks}: mostly rounding` };
  }
  const msPerBox = (t) => (t * 1000) / hz / boxes;
  return { ...out, ownMsPerBox: msPerBox(acc.own), childrenMsPerBox: msPerBox(acc.children), totalMsPerBox: msPerBox(ticks) };
}

module.exports = { parseProcStat, readCpuTicks, clockTicksPerSecond, addCpuDelta, cpuPerBox, MIN_TICKS };
