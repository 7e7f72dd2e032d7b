// The published package, as `npm pack` makes it, is right for TypeScript
// and for every resolver: @arethetypeswrong/cli finds no problem in any
// resolution mode (node10, node16 from CJS and ESM, bundler), publint finds
// nothing to say, and the declaration maps point at sources in the package.
// Both tools are devDependencies, so this runs offline after `npm ci`.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { requireOrSkip } = require('../helpers/skip');

const root = path.join(__dirname, '..', '..');

function resolvable(name) {
  try {
    return require.resolve(name);
  } catch {
    return undefined;
  }
}

const attwPackage = resolvable('@arethetypeswrong/cli/package.json');
const hasPublint = resolvable('publint') !== undefined; // its exports do not list package.json

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-pack-'));
t.teardown(() => removeTree(scratch));

/** `npm pack` of the built checkout (no lifecycle scripts: dist/ is built and other tests read it). */
function pack() {
  const result = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], {
    cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (result.status !== 0) throw new Error(`npm pack failed: ${result.error?.message ?? ''}${result.stderr}`);
  const [packed] = JSON.parse(result.stdout);
  return { tarball: path.join(scratch, packed.filename), files: packed.files.map((file) => file.path) };
}

const packed = pack();

t.test('@arethetypeswrong/cli finds no problem', async (t) => {
  if (!requireOrSkip(t, attwPackage !== undefined, '@arethetypeswrong/cli is not installed (a devDependency: run npm ci)')) return;
  const bin = path.join(path.dirname(attwPackage), require(attwPackage).bin.attw);
  const result = spawnSync(process.execPath, [bin, packed.tarball, '--format', 'json'], { cwd: scratch, encoding: 'utf8' });
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    t.fail(`attw printed no JSON (status ${result.status}): ${result.stdout}${result.stderr}`);
    return;
  }
  t.same(report.problems ?? [], [], 'no problems');
  t.same(Object.keys(report.analysis.entrypoints), ['.', './package.json'], 'the entry points checked');
  const esm = report.analysis.entrypoints['.'].resolutions['node16-esm'].resolution.fileName;
  t.match(esm, /\/dist\/index\.d\.mts$/, 'an ESM importer gets the ESM declarations');
  t.equal(result.status, 0, result.stderr);
});

t.test('publint has nothing to say', async (t) => {
  if (!requireOrSkip(t, hasPublint, 'publint is not installed (a devDependency: run npm ci)')) return;
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const tarball = fs.readFileSync(packed.tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
    level: 'suggestion',
  });
  t.same(messages.map((message) => `${message.type}: ${formatMessage(message, pkg)}`), [], 'no errors, warnings or suggestions');
});

t.test('the declaration maps point at sources in the package', async (t) => {
  const files = new Set(packed.files);
  const maps = packed.files.filter((file) => file.endsWith('.d.ts.map'));
  t.ok(files.has('dist/index.d.ts.map'), 'declaration maps are packed');
  t.ok(files.has('dist/index.d.mts') && files.has('dist/index.mjs'), 'the ESM entry and its types are packed');
  for (const map of maps) {
    const { sources } = JSON.parse(fs.readFileSync(path.join(root, map), 'utf8'));
    for (const source of sources) {
      const shipped = path.posix.join(path.posix.dirname(map), source);
      if (!files.has(shipped)) t.fail(`${map} points at ${shipped}, which is not in the package`);
    }
  }
  t.ok(maps.length > 10, `${maps.length} maps checked`);
});
