// Writes dist/index.mjs, the ESM entry: named exports over the CommonJS build,
// so `import { spawnIsolated } from 'cordon'` and `require('cordon')` share one
// module instance. Its types, dist/index.d.mts, say the same to TypeScript: an
// ESM file re-exporting the CommonJS declarations. Without it an ESM importer
// would get dist/index.d.ts, which describes a CommonJS module, for an ESM
// file ("masquerading as CJS" in @arethetypeswrong/cli).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((name) => name !== 'default' && name !== '__esModule');
const lines = [
  "import cordon from './index.js';",
  ...names.map((name) => `export const ${name} = cordon.${name};`),
  'export default cordon;',
  '',
];
fs.writeFileSync(path.join(dist, 'index.mjs'), lines.join('\n'));

const types = [
  '// The types of dist/index.mjs: the CommonJS declarations, as ESM.',
  "export * from './index.js';",
  "import cordon from './index.js';",
  'export default cordon;',
  '',
];
fs.writeFileSync(path.join(dist, 'index.d.mts'), types.join('\n'));
