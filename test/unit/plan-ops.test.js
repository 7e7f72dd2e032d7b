// The op table (CORDON_OP_TABLE in native/plan_abi.h) is the one home of
// every op. The addon exports it; lib/internal/plan-ops.ts is generated from
// that export; lib/internal/steps.ts places named fields by it. These tests
// check the TypeScript side and the compiled C++ side agree for every op and
// every value enum, and that the checks can fail.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');
const { native } = require('../../dist/internal/native');
const { OP_TABLE, PLAN_ENUMS } = require('../../dist/internal/plan-ops');
const { step, fieldOf } = require('../../dist/internal/steps');
const { render, target } = require('../../scripts/gen-plan-ops');

const root = path.join(__dirname, '..', '..');

/** Where two op tables differ, as readable lines (empty: they agree). */
function differences(fromAddon, fromTs) {
  const out = [];
  const names = new Set([...fromAddon.map((row) => row.name), ...Object.keys(fromTs)]);
  for (const name of names) {
    const row = fromAddon.find((candidate) => candidate.name === name);
    const ts = fromTs[name];
    if (row === undefined || ts === undefined) {
      out.push(`${name}: only in ${row === undefined ? 'TypeScript' : 'the addon'}`);
      continue;
    }
    for (const key of ['number', 'side', 'fd']) {
      if (row[key] !== ts[key]) out.push(`${name}.${key}: addon ${row[key]}, TypeScript ${ts[key]}`);
    }
    for (const kind of ['num', 'str']) {
      for (let k = 0; k < 4; k++) {
        const a = JSON.stringify(row[kind][k]);
        const b = JSON.stringify(ts[kind][k]);
        if (a !== b) out.push(`${name}.${kind}[${k}]: addon ${a}, TypeScript ${b}`);
      }
    }
  }
  return out;
}

t.test('lib/internal/plan-ops.ts is what scripts/gen-plan-ops.js makes of this addon', async (t) => {
  t.equal(fs.readFileSync(target, 'utf8'), render(native()), 'current (else: node scripts/gen-plan-ops.js)');
});

t.test('every op agrees between the addon and TypeScript: number, side, fd, each field', async (t) => {
  t.ok(native().opTable.length >= 43, 'the addon exports the table');
  t.same(differences(native().opTable, OP_TABLE), []);
});

t.test('every value enum agrees', async (t) => {
  const enums = native().enums;
  t.same(Object.keys(PLAN_ENUMS).sort(), Object.keys(enums).sort());
  for (const name of Object.keys(enums)) {
    t.same(Object.entries(PLAN_ENUMS[name]).map(([k, v]) => [String(k), v]).sort(), Object.entries(enums[name]).sort(), name);
  }
});

t.test('the header lists the same ops the addon was built from (no stale build)', async (t) => {
  const header = fs.readFileSync(path.join(root, 'native', 'plan_abi.h'), 'utf8');
  const rows = [...header.matchAll(/^\s*X\((\d+), (\w+), (\w+), (kParent|kChild),/gm)].map((m) => [Number(m[1]), m[3], m[4] === 'kParent' ? 'parent' : 'child']);
  t.same(rows, native().opTable.map((row) => [row.number, row.name, row.side]));
});

t.test('two fields swapped on one side are caught', async (t) => {
  const swapped = structuredClone(OP_TABLE);
  const bind = swapped.bindMount;
  [bind.num[1], bind.num[2]] = [bind.num[2], bind.num[1]];
  t.same(differences(native().opTable, swapped), [
    'bindMount.num[1]: addon {"name":"recursive","min":0,"max":1}, TypeScript {"name":"targetMode","min":0,"max":2}',
    'bindMount.num[2]: addon {"name":"targetMode","min":0,"max":2}, TypeScript {"name":"recursive","min":0,"max":1}',
  ]);
});

// Distinct values for every field of an op, so a field landing in another's
// slot shows.
function sampleArgs(row, seed) {
  const args = {};
  row.num.forEach((field, k) => {
    if (field !== null && !field.count) args[field.name] = field.max === undefined ? seed * 10 + k + 1 : Math.min(field.max, field.min + k);
  });
  row.str.forEach((field, k) => {
    if (field === null) return;
    args[field.name] = field.use === 'list' || field.use === 'optionalList' ? [`${field.name}-a`, `${field.name}-b`, `${field.name}-c`].slice(0, k + 1) : `${field.name}-${seed}`;
  });
  return args;
}

t.test('step() puts every named field of every op where the table says', async (t) => {
  let seed = 0;
  for (const [op, row] of Object.entries(OP_TABLE)) {
    seed++;
    const args = sampleArgs(row, seed);
    const built = step(op, { name: op, syscall: 'x', kind: 'mount', ...(row.fd === 'required' ? { slot: 0 } : {}) }, args);
    row.num.forEach((field, k) => {
      if (field === null) return t.equal(built.num[k], 0, `${op}.num[${k}] unused`);
      if (field.count) {
        const list = row.str.findIndex((s) => s !== null && s.count === k);
        return t.equal(built.num[k], args[row.str[list].name].length, `${op}.${field.name} is its list's length`);
      }
      t.equal(built.num[k], args[field.name], `${op}.${field.name} at num[${k}]`);
    });
    row.str.forEach((field, k) => {
      if (field === null) return t.equal(built.str[k], undefined, `${op}.str[${k}] unused`);
      const list = field.use === 'list' || field.use === 'optionalList';
      t.same(list ? built.lists[k] : built.str[k], args[field.name], `${op}.${field.name} at str[${k}]`);
      t.same(fieldOf(built, op, field.name), args[field.name], `fieldOf reads ${op}.${field.name} back`);
    });
  }
});

t.test('a constructor cannot give fields by position or by a wrong name (type check)', async (t) => {
  const ts = require('typescript');
  const file = path.join(root, 'lib', '__swap_check.ts');
  const source = [
    "import { step } from './internal/steps';",
    "const label = { name: 'bind', syscall: 'mount', kind: 'mount' } as const;",
    '// the old positional form',
    "export const a = step('bindMount', label, { num: [1, 2, 1], str: ['/a', undefined, '/b'] });",
    '// a field the op does not have',
    "export const b = step('bindMount', label, { source: '/a', target: '/b', attrs: 1, recursive: 1, targetMode: 1, sourceLinks: 0, mode: 2 });",
    '// a required field left out',
    "export const c = step('bindMount', label, { source: '/a', attrs: 1, recursive: 1, targetMode: 1, sourceLinks: 0 });",
    '// the right form',
    "export const d = step('bindMount', label, { source: '/a', target: '/b', attrs: 1, recursive: true, targetMode: 1, sourceLinks: 0 });",
  ].join('\n');
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile;
  host.readFile = (name) => (path.resolve(name) === file ? source : readFile.call(host, name));
  const fileExists = host.fileExists;
  host.fileExists = (name) => path.resolve(name) === file || fileExists.call(host, name);
  const program = ts.createProgram([file], { ...config.options, noEmit: true }, host);
  const lines = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file !== undefined && path.resolve(d.file.fileName) === file)
    .map((d) => d.file.getLineAndCharacterOfPosition(d.start).line + 1);
  t.same([...new Set(lines)].sort((x, y) => x - y), [4, 6, 8], 'lines 4, 6 and 8 fail to compile; line 10 compiles');
});
