// Runs the test suite again as an unprivileged user (nobody), the way most
// Node users will run cordon: rootless, through user namespaces.
//
// tap writes its state into the project directory, which nobody cannot, so
// the suite runs from a scratch copy of the built package (node_modules is
// linked, not copied). Run as root; as any other user the normal `tap` run
// is already unprivileged and this script says so and exits.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const NOBODY = 65534;

if (process.geteuid() !== 0) {
  console.log('test-unprivileged: already unprivileged (euid %d); `tap` covers this case', process.geteuid());
  process.exit(0);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-unprivileged-'));
let status = 1;
try {
  for (const entry of ['package.json', 'dist', 'build', 'test', 'types', 'native', 'benchmarks', 'scripts', 'examples']) {
    const from = path.join(root, entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(scratch, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
  chownTree(scratch, NOBODY);
  const tap = path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs');
  const result = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', process.execPath, tap, ...process.argv.slice(2)],
    { cwd: scratch, stdio: 'inherit', env: { ...process.env, HOME: scratch } },
  );
  if (result.error) throw result.error;
  status = result.status ?? 1;
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.exit(status);

function chownTree(dir, id) {
  fs.lchownSync(dir, id, id);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, id);
    else fs.lchownSync(full, id, id);
  }
}
