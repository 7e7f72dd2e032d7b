// Runs tsc over the type tests: exact public types, bad options rejected.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');

t.test('public types compile, and bad options do not', async (t) => {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'tsconfig.json')], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stdout + result.stderr);
});

// Comments and string literal types may say "any"; the type may not.
function codeOf(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''");
}

t.test('no any in the public declarations', async (t) => {
  t.match(codeOf("reach: 'any'; x: any;"), /\bany\b/, 'a real any survives the filter');
  t.notMatch(codeOf("/** any */ reach: 'gateway' | 'any';"), /\bany\b/, 'a literal or a comment does not');
  const fs = require('node:fs');
  const dist = path.join(__dirname, '..', '..', 'dist');
  for (const file of fs.readdirSync(dist).filter((f) => f.endsWith('.d.ts'))) {
    t.notMatch(codeOf(fs.readFileSync(path.join(dist, file), 'utf8')), /\bany\b/, `${file} has no any`);
  }
});
