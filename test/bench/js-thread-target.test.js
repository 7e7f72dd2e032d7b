// The JS-thread and throughput targets' verdicts and notes
// (benchmarks/lib/targets.js), on synthetic measurements: the JS-thread
// verdict is the serial call's alone, with the busy figure and the idle
// penalty beside it; the throughput verdict is against the plain C floor,
// with the guarded floor beside it. No timing.
'use strict';
const t = require('tap');
const { evaluateTargets } = require('../../benchmarks/lib/targets');

const payloads = [{ id: 'true' }];

function jsThreadTarget(result) {
  const target = evaluateTargets([], payloads, { jsThread: { result } }).find((entry) => entry.id === 'js-thread');
  return target.byPayload.true;
}

const serial = (median) => ({ median, p90: median * 1.5, cpuMedian: median, n: 100 });

t.test('the verdict is the serial call\'s, whatever the busy figure says', async (t) => {
  const missed = jsThreadTarget({
    spawnIsolatedAsync: serial(180), 'compileBox().spawnAsync': serial(140),
    busy: { median: 90, n: 100, inFlight: 8 }, idle: { coldUs: 180, warmUs: 50, penalty: 3.6 },
  });
  t.equal(missed.verdict, 'MISS');
  t.equal(missed.shown, '180 µs');
  t.match(missed.note, /with 8 boxes in flight 90 µs/);
  t.match(missed.note, /idle penalty 3\.6× \(right after a box a first call 180 µs, a second right after it 50 µs\)/);
  t.match(missed.note, /compileBox\(\) template \(140 µs, PASS\)/);
  const passed = jsThreadTarget({ spawnIsolatedAsync: serial(120), 'compileBox().spawnAsync': serial(110) });
  t.equal(passed.verdict, 'PASS');
  t.notMatch(passed.note, /in flight|idle penalty/, 'no context figures when none were measured');
});

t.test('the verdict is the warmed process\'s; the fresh process\'s figure is shown beside it', async (t) => {
  const warmed = jsThreadTarget({
    spawnIsolatedAsync: serial(120), 'compileBox().spawnAsync': serial(95),
    fresh: { spawnIsolatedAsync: serial(175), 'compileBox().spawnAsync': serial(140) }, jitWarmup: 4000,
  });
  t.equal(warmed.verdict, 'PASS');
  t.equal(warmed.shown, '120 µs');
  t.match(warmed.note, /in a process that had started 4,000 boxes/);
  t.match(warmed.note, /the same calls in that process fresh, before it: 175 µs \(template 140 µs\)/);
  const slowWarmed = jsThreadTarget({
    spawnIsolatedAsync: serial(160), 'compileBox().spawnAsync': serial(130),
    fresh: { spawnIsolatedAsync: serial(120), 'compileBox().spawnAsync': serial(110) }, jitWarmup: 4000,
  });
  t.equal(slowWarmed.verdict, 'MISS', 'a fresh figure under the target does not make the verdict');
});

t.test('an unmeasured or failed measurement has no verdict', async (t) => {
  const none = evaluateTargets([], payloads, {}).find((entry) => entry.id === 'js-thread').byPayload.true;
  t.equal(none.verdict, 'n/a');
  const failed = evaluateTargets([], payloads, { jsThread: { error: 'no cordon' } }).find((entry) => entry.id === 'js-thread').byPayload.true;
  t.equal(failed.verdict, 'n/a');
  t.match(failed.note, /could not measure: no cordon/);
});

t.test('js-thread.js measures fresh, warms up, then measures again (a few boxes; no timing asserted)', async (t) => {
  const { requireOrSkip } = require('../helpers/skip');
  if (!requireOrSkip(t, process.platform === 'linux', 'cordon runs on Linux only')) return;
  const { measureJsThread } = require('../../benchmarks/js-thread');
  const result = await measureJsThread({ rounds: 2, warmup: 0, jitWarmup: 6 });
  t.equal(result.jitWarmup, 6);
  for (const figures of [result, result.fresh]) {
    t.equal(figures.spawnIsolatedAsync.n, 2);
    t.equal(figures['compileBox().spawnAsync'].n, 2);
    t.ok(figures.spawnIsolatedAsync.median > 0, 'a positive median');
  }
  const target = evaluateTargets([], payloads, { jsThread: { result } }).find((entry) => entry.id === 'js-thread').byPayload.true;
  t.match(target.note, /in a process that had started 6 boxes/);
  t.match(target.note, /the same calls in that process fresh, before it: \d+ µs \(template \d+ µs\)/);
});

t.test('throughput against the floor: the verdict is the plain floor\'s; the guarded floor is shown beside it', async (t) => {
  const at = (perSecond) => ({ 1: { perSecond: perSecond / 2 }, 2: { perSecond: perSecond * 0.8 }, 8: { perSecond } });
  const results = [
    { id: 'cordon-full-async', payload: 'true', throughput: at(600) },
    { id: 'c-isolation-floor', payload: 'true', throughput: at(800) },
    { id: 'c-isolation-floor-guarded', payload: 'true', throughput: at(700) },
  ];
  const target = evaluateTargets(results, payloads, {}).find((entry) => entry.id === 'throughput-vs-floor').byPayload.true;
  t.equal(target.shown, '0.75×');
  t.equal(target.verdict, 'MISS', 'against the plain floor, as the issue states it');
  t.match(target.note, /the floor with cordon's filters and limits at 8: 700\/s \(cordon 0\.86× of it\)/);
  const without = evaluateTargets(results.slice(0, 2), payloads, {}).find((entry) => entry.id === 'throughput-vs-floor').byPayload.true;
  t.notMatch(without.note, /filters and limits/, 'nothing shown when the guarded floor did not run');
});
