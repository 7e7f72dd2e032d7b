// `npm test`: the suite as the caller, and as root also again as the
// unprivileged user nobody (scripts/test-unprivileged.js). Both passes always
// run; each prints its summary; the run fails if either failed.
//
// Extra arguments go to tap (e.g. a test file). The full TAP of each pass is
// kept in .tap/cordon-<pass>.tap.
'use strict';
const path = require('node:path');

const { closingLine, runTap, TAP_BIN, wantsLiveReport } = require('./test-run');
const { runUnprivileged } = require('./test-unprivileged');

const root = path.join(__dirname, '..');

async function main() {
  const args = process.argv.slice(2);
  const passes = [];
  const first = process.geteuid() === 0 ? 'root' : 'unprivileged';
  passes.push([
    first,
    await runTap({
      label: first, command: process.execPath, args: [TAP_BIN, ...args], cwd: root, env: process.env,
      tapFile: path.join(root, '.tap', `cordon-${first}.tap`),
    }),
  ]);
  if (process.geteuid() === 0) passes.push(['unprivileged', await runUnprivileged(args)]);

  console.log('');
  for (const [label, result] of passes) {
    if (wantsLiveReport()) console.log(`${label}: ${result.status === 0 ? 'passed' : 'FAILED'}`);
    else console.log(closingLine(label, result));
  }
  if (!wantsLiveReport()) {
    const total = passes.reduce((sum, [, r]) => ({
      pass: sum.pass + (r.counts?.pass ?? 0),
      fail: sum.fail + (r.counts?.fail ?? 0) + (r.status !== 0 && !(r.counts?.fail > 0) ? 1 : 0),
      skip: sum.skip + (r.counts?.skip ?? 0) + (r.counts?.todo ?? 0),
    }), { pass: 0, fail: 0, skip: 0 });
    console.log(`total: ${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
    console.log(`full TAP: ${passes.map(([label]) => path.join('.tap', `cordon-${label}.tap`)).join(', ')}`);
  }
  process.exit(passes.every(([, r]) => r.status === 0) ? 0 : 1);
}

main().catch((error) => {
  console.error(`npm test: ${error.message}`);
  process.exit(1);
});
