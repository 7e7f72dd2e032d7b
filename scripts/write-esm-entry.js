// Writes dist/index.mjs, the ESM entry: named exports over the CommonJS build,
// so `import { spawnIsolated } from 'cordon'` and `require('cordon')` share one
// module instance.
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
