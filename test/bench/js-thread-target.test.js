// The JS-thread target's verdict and note (benchmarks/lib/targets.js), on
// synthetic measurements: the verdict is the serial call's alone; the busy
// figure and the idle penalty are shown beside it. No timing.
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

t.test('an unmeasured or failed measurement has no verdict', async (t) => {
  const none = evaluateTargets([], payloads, {}).find((entry) => entry.id === 'js-thread').byPayload.true;
  t.equal(none.verdict, 'n/a');
  const failed = evaluateTargets([], payloads, { jsThread: { error: 'no cordon' } }).find((entry) => entry.id === 'js-thread').byPayload.true;
  t.equal(failed.verdict, 'n/a');
  t.match(failed.note, /could not measure: no cordon/);
});
