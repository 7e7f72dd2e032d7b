// Writes the README's tables of `cordon run`'s flags (the regions between
// `<!-- cli-flags:begin ... -->` / `<!-- bwrap-flags:begin ... -->` and their
// `:end` markers) from the flag table in lib/cli-flags.ts, through dist/.
// test/unit/cli-docs.test.js fails when README.md and the table disagree;
// then run `npm run build && node scripts/cli-docs.js`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const readme = path.join(__dirname, '..', 'README.md');
const { updateReadme } = require('../dist/cli-docs.js');
const before = fs.readFileSync(readme, 'utf8');
const after = updateReadme(before);
if (after !== before) fs.writeFileSync(readme, after);
console.log(after === before ? 'README.md: the flag tables are up to date' : 'README.md: flag tables rewritten');
