// scripts/test-node-lines.js runs the suite on each supported Node line and
// sets CORDON_NODE_LINE. Here the suite checks it really runs on that line:
// if tap ever started the test files with another Node, every line would
// quietly test the same one (and dispose.test.js would skip for the wrong
// reason).
'use strict';
const { spawnSync } = require('node:child_process');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');

const line = process.env.CORDON_NODE_LINE;

if (skipExpected(t, line !== undefined, 'run (CORDON_NODE_LINE is set only by scripts/test-node-lines.js)')) {
  t.test(`the test files run on Node ${line}`, async (t) => {
    t.equal(process.versions.node.split('.')[0], line, process.execPath);
  });

  t.test(`\`node\` on PATH is Node ${line} too`, async (t) => {
    const result = spawnSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
    t.equal(result.status, 0, result.stderr);
    t.equal(result.stdout.trim().split('.')[0], line);
  });

  t.test('the addon built once loads on this line', async (t) => {
    // Built by `npm ci` with the machine's Node headers: N-API keeps it loadable.
    const { probe } = require('../..');
    t.type(probe().clone.rung, 'string');
  });
}
