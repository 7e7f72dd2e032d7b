// Runs tsc over the type tests: exact public types, bad options rejected,
// for CommonJS and ESM users, with each end of the @types/node peer range.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');

const root = path.join(__dirname, '..', '..');
const pkg = require('../../package.json');

/** The @types/node versions the declarations are checked with (devDependencies). */
const TYPES_NODE = [
  ['the devDependency', '@types/node'],
  ['the oldest of the peer range', 'types-node-peer-min'],
  ['the newest at the last lockfile update', 'types-node-latest'],
];
const PROJECTS = [
  ['CommonJS', path.join(__dirname, 'tsconfig.json')],
  ['ESM (node16)', path.join(__dirname, 'esm', 'tsconfig.json')],
];

/**
 * tsc over `project` with the @types/node package `typesNode` (a package
 * name in node_modules). Returns the errors, leaving out those inside that
 * @types/node itself: an old @types/node does not type-check under a newer
 * TypeScript (its Buffer predates TS 5.7's generic Uint8Array), which users
 * meet with skipLibCheck; cordon's declarations and the tests are still
 * checked with skipLibCheck off.
 */
function typeErrors(project, typesNode) {
  const packageDir = fs.realpathSync(path.dirname(require.resolve(`${typesNode}/package.json`)));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-types-'));
  try {
    fs.mkdirSync(path.join(scratch, '@types'));
    fs.symlinkSync(packageDir, path.join(scratch, '@types', 'node'));
    const config = path.join(scratch, 'tsconfig.json');
    fs.writeFileSync(config, JSON.stringify({
      extends: project,
      compilerOptions: { typeRoots: [path.join(scratch, '@types')] },
    }));
    const tsc = require.resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
    const errors = [];
    for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
      if (!/error TS\d+/.test(line)) continue;
      const file = /^(.+?)\(\d+,\d+\): error/.exec(line)?.[1];
      if (file !== undefined && path.resolve(root, file).startsWith(packageDir + path.sep)) continue;
      errors.push(line);
    }
    if (result.status !== 0 && errors.length === 0 && !/error TS/.test(result.stdout)) {
      errors.push(`tsc failed without errors: ${result.stdout}${result.stderr}`);
    }
    return errors;
  } finally {
    removeTree(scratch);
  }
}

t.test('the oldest @types/node tested is the peer range minimum', async (t) => {
  const range = pkg.peerDependencies['@types/node'];
  t.equal(pkg.peerDependenciesMeta['@types/node'].optional, true, 'JavaScript users need no @types/node');
  t.equal(range, `>=${require('types-node-peer-min/package.json').version}`, 'types-node-peer-min is the range\'s lower end');
});

for (const [which, typesNode] of TYPES_NODE) {
  const version = require(`${typesNode}/package.json`).version;
  for (const [kind, project] of PROJECTS) {
    t.test(`${kind} public types compile, and bad calls do not, with @types/node ${version} (${which})`, async (t) => {
      t.same(typeErrors(project, typesNode), []);
    });
  }
}

// Comments and string literal types may say "any"; the type may not.
function codeOf(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}

t.test('no any in the public declarations', async (t) => {
  t.match(codeOf("reach: 'any'; x: any;"), /\bany\b/, 'a real any survives the filter');
  t.notMatch(codeOf("/** any */ reach: 'gateway' | 'any';"), /\bany\b/, 'a literal or a comment does not');
  const dist = path.join(root, 'dist');
  for (const file of fs.readdirSync(dist).filter((f) => /\.d\.m?ts$/.test(f))) {
    t.notMatch(codeOf(fs.readFileSync(path.join(dist, file), 'utf8')), /\bany\b/, `${file} has no any`);
  }
});
