// lib/ has no import cycle: each module can be read (and loaded) after the
// ones it imports. A cycle makes the load order decide which bindings are
// still undefined, and tangles modules that should have one direction.
// Only imports that run count: type-only ones vanish at compile time.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { removeTree } = require('../helpers/remove-tree');
const { importGraph, cycles } = require('../helpers/import-graph');

const lib = path.join(__dirname, '..', '..', 'lib');

t.test('lib/ has no import cycle', async (t) => {
  const graph = importGraph(lib);
  t.ok(graph.size > 30, `read ${graph.size} modules`);
  t.ok([...graph.values()].some((edges) => edges.size > 3), 'and their imports');
  t.same(cycles(graph).map((cycle) => cycle.map((file) => path.relative(lib, file))), []);
});

t.test('the check finds a cycle, and ignores type-only imports', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-cycles-'));
  t.teardown(() => removeTree(dir));
  fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = (): number => b + 1;\n");
  fs.writeFileSync(path.join(dir, 'b.ts'), "import { c } from './c';\nexport const b = c;\n");
  fs.writeFileSync(path.join(dir, 'c.ts'), "import type { a } from './a';\nexport const c = 1;\nexport type A = typeof a;\n");
  t.same(cycles(importGraph(dir)), [], 'a type-only import closes no cycle');
  fs.writeFileSync(path.join(dir, 'c.ts'), "import { a } from './a';\nexport const c = 1;\nexport const alsoA = a;\n");
  t.same(cycles(importGraph(dir)).map((cycle) => cycle.map((file) => path.basename(file))), [['a.ts', 'b.ts', 'c.ts']]);
});
