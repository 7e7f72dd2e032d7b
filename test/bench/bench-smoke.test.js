// Smoke test of the benchmark suite (benchmarks/index.js): a minimal run
// exits 0 and prints the table with the C baseline and cordon's full
// isolation. No timing is asserted: this only keeps the suite runnable.
'use strict';
const t = require('tap');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { requireOrSkip } = require('../helpers/skip');

// The bound only turns a hang into a failure: a quick run went past 150 s
// on a machine loaded with a second test run beside it.
const BENCH_BOUND_MS = 900_000;
t.setTimeout(BENCH_BOUND_MS + 60_000);

const root = path.join(__dirname, '..', '..');
const ARGS = ['benchmarks/index.js', '--quick', '--no-write', '--samples', '3', '--rounds', '1', '--tput-ms', '5'];

function runBench() {
  return new Promise((resolve) => {
    execFile(process.execPath, ARGS, { cwd: root, timeout: BENCH_BOUND_MS, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr });
    });
  });
}

t.test('a quick bench run prints the table with the C baseline and cordon full isolation', async (t) => {
  if (!requireOrSkip(t, process.platform === 'linux', 'cordon runs on Linux only')) return;
  const { code, stdout, stderr } = await runBench();
  t.equal(code, 0, 'exits 0', { stderr: stderr.slice(-4000) });
  t.match(stdout, /^Payload: \/bin\/true/m, 'a table for /bin/true');
  t.match(stdout, /^case\s+n\s+median ms\s+p90 ms\s+p99 ms/m, 'the table header');
  const cc = !/skipped: C fork\+exec: .*C spawn-helper could not be built/.test(stdout);
  if (requireOrSkip(t, cc, 'no C compiler: the C baselines are skipped')) {
    t.match(stdout, /^C fork\+exec\s+\d+\s+\d+\.\d+/m, 'the C fork+exec baseline row');
  }
  const skipped = stdout.match(/skipped: cordon: full isolation: (.*)/);
  if (requireOrSkip(t, !skipped, `cordon full isolation was skipped: ${skipped?.[1]}`)) {
    t.match(stdout, /^cordon: full isolation\s+\d+\s+\d+\.\d+/m, 'the cordon full-isolation row');
  }
  t.match(stdout, /^Targets \(issues 7 and 15\)/m, 'the targets table');
});
