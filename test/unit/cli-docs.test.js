// The CLI's flags live in one table (lib/cli-flags.ts); --help and the
// README's flag tables are made from it. These tests fail when a copy drifts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const root = path.join(__dirname, '..', '..');
const { FLAGS, FLAG_INDEX } = require('../../dist/cli-flags.js');
const { renderHelp, updateReadme } = require('../../dist/cli-docs.js');

t.test('the README\'s flag tables are the ones the CLI table makes', async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  t.equal(updateReadme(readme), readme, 'README.md is up to date (if not: npm run build && node scripts/cli-docs.js)');
});

t.test('the README table and the parser agree: every documented flag parses', async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const region = readme.slice(readme.indexOf('<!-- cli-flags:begin'), readme.indexOf('<!-- cli-flags:end'));
  // The first cell of each row (cells split at unescaped pipes) names the flags.
  const documented = region.split('\n').filter((line) => line.startsWith('| `-'))
    .flatMap((line) => [...line.split(/(?<!\\)\|/)[1].matchAll(/`(--?[a-zA-Z0-9][a-zA-Z0-9-]*)/g)].map((match) => match[1]));
  t.ok(documented.length > 60, `${documented.length} flags documented`);
  for (const flag of documented) t.ok(FLAG_INDEX.has(flag), `${flag} is a flag of the parser`);
  const parsed = new Set(FLAGS.filter((row) => row.group !== 'refused').flatMap((row) => [row.flag, ...(row.aliases ?? [])]));
  t.same([...parsed].filter((flag) => !documented.includes(flag)), [], 'and the parser has no undocumented flag');
});

t.test('--help lists every flag of the table with its values', async (t) => {
  const help = renderHelp();
  for (const row of FLAGS) {
    for (const name of [row.flag, ...(row.aliases ?? [])]) {
      t.ok(help.includes([name, ...row.values.map((value) => value.name)].join(' ')), `--help shows ${name}`);
    }
  }
});

t.test('every row is complete', async (t) => {
  for (const row of FLAGS) {
    t.match(row.flag, /^--[a-z0-9-]+$/, `${row.flag}: a long flag (short ones are aliases)`);
    t.ok(row.help.length > 0, `${row.flag}: help`);
    t.type(row.apply, 'function', `${row.flag}: apply`);
    if (row.group === 'bwrap' || row.group === 'refused') t.ok(row.bwrap !== undefined, `${row.flag}: says how it compares with bwrap`);
  }
});

t.test('every option a flag names is one the README\'s option table documents', async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| option | default | meaning |'), readme.indexOf('**Seccomp.**'));
  const documented = new Set([...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((match) => [...match[1].matchAll(/`(\w+)`/g)].map((m) => m[1])));
  t.ok(documented.has('hostname') && documented.has('mounts'), 'the option table was found');
  for (const row of FLAGS) {
    if (row.option === '' || row.option.startsWith('(')) continue;
    const key = /^\w+/.exec(row.option)[0];
    t.ok(documented.has(key), `${row.flag} sets ${row.option}: \`${key}\` is in the option table`);
  }
});
