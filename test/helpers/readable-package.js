// A path from which uid 65534 can require('cordon') in a root-pass test that
// starts a supervisor as nobody. In the usual checkout under /root (0700),
// nobody cannot traverse to the package, so the built package (package.json,
// dist, the addon and the init, and the production dependencies npm lists)
// is copied into a scratch directory that is removed at the test's end.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { removeTree } = require('./remove-tree');

const ROOT = path.join(__dirname, '..', '..');
const NOBODY = 65534;

function nobodyCanRead(file) {
  const probe = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'test', '-r', file], { stdio: 'ignore' });
  return probe.status === 0;
}

/** The production dependencies' directories, relative to ROOT (npm's own list). */
function productionModules() {
  const listed = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
  return listed.stdout.split('\n')
    .filter((line) => line.startsWith(ROOT + path.sep))
    .map((line) => path.relative(ROOT, line));
}

/**
 * ROOT itself when nobody can read it, else a scratch copy of the built
 * package that nobody can read (removed in `t.teardown`).
 */
function packageReadableByNobody(t) {
  if (nobodyCanRead(path.join(ROOT, 'package.json'))) return ROOT;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-readable-'));
  t.teardown(() => removeTree(scratch));
  fs.chmodSync(scratch, 0o755);
  const entries = ['package.json', 'dist', 'build/Release/cordon.node', 'build/Release/cordon_init', 'prebuilds', ...productionModules()];
  for (const entry of entries) {
    const from = path.join(ROOT, entry);
    if (!fs.existsSync(from)) continue;
    const to = path.join(scratch, entry);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
  spawnSync('chmod', ['-R', 'a+rX', scratch]);
  return scratch;
}

module.exports = { packageReadableByNobody };
