// Runs the test suite again as an unprivileged user (nobody), the way most
// Node users will run cordon: rootless, through user namespaces.
//
// tap writes its state into the project directory, which nobody cannot, so
// the suite runs from a scratch copy of the built package. node_modules is
// linked when nobody can read it where it is, and copied when it cannot (a
// checkout under /root, or any directory only root may traverse): Node would
// report that EACCES as "Cannot find module". Run as root; as any other user
// the normal `tap` run is already unprivileged and this script says so.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { closingLine, runTap } = require('./test-run');

const root = path.join(__dirname, '..');
const NOBODY = 65534;
const AS_NOBODY = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];
const ENTRIES = ['package.json', 'README.md', 'binding.gyp', 'dist', 'build', 'prebuilds', 'test', 'types', 'native', 'benchmarks', 'scripts', 'examples', 'tsconfig.json', 'docs'];

/** Whether nobody can read `file` where it is (every directory above it traversable). */
function nobodyCanRead(file) {
  const probe = spawnSync('setpriv', [...AS_NOBODY, 'test', '-r', file], { stdio: 'ignore' });
  if (probe.error !== undefined) {
    throw new Error(`cannot run setpriv (util-linux) to drop to nobody: ${probe.error.message}`);
  }
  return probe.status === 0;
}

// The rest of what the package ships, so `npm pack` in the copy
// (test/unit/package-types.test.js) packs what it packs in the checkout.
const PACKED_ONLY = ['lib', 'LICENSE', 'README.md', 'binding.gyp', 'bin'];

/**
 * Makes the scratch copy, runs tap in it as nobody and removes it. Resolves
 * with runTap's result; the TAP goes to `tapFile` (.tap/cordon-unprivileged.tap).
 * `node` is the Node binary that runs tap (scripts/test-node-lines.js passes
 * each Node line's), `label` prefixes the report lines and `env` is the
 * environment of the run (HOME is set to the scratch copy).
 */
async function runUnprivileged(tapArgs, {
  node = process.execPath,
  label = 'unprivileged',
  env = process.env,
  tapFile = path.join(root, '.tap', 'cordon-unprivileged.tap'),
} = {}) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-unprivileged-'));
  try {
    fs.chmodSync(scratch, 0o755);
    for (const entry of new Set([...ENTRIES, ...PACKED_ONLY])) {
      const from = path.join(root, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(scratch, entry), { recursive: true, verbatimSymlinks: true });
    }
    const modules = path.join(root, 'node_modules');
    if (nobodyCanRead(path.join(modules, 'tap', 'package.json'))) {
      fs.symlinkSync(modules, path.join(scratch, 'node_modules'));
    } else {
      console.log(`${label}: nobody cannot read ${modules}; copying it into ${scratch}`);
      fs.cpSync(modules, path.join(scratch, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    }
    // nobody writes tap's state and the tests' files here; node_modules
    // (linked or copied) is only read.
    chownTree(scratch, NOBODY, path.join(scratch, 'node_modules'));
    const tap = path.join(scratch, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs');
    if (!nobodyCanRead(node)) {
      console.error(`${label}: nobody cannot run ${node}: make its directories traversable (chmod o+x) or install Node where every user can run it`);
      return { status: 1, counts: null, failed: [] };
    }
    return await runTap({
      label,
      command: 'setpriv',
      args: [...AS_NOBODY, node, tap, ...tapArgs],
      cwd: scratch,
      // npm run sets npm_config_cache (and userconfig) to root's ~/.npm,
      // which nobody cannot write: the tests that run npm get their own.
      env: { ...env, HOME: scratch, npm_config_cache: path.join(scratch, '.npm'), npm_config_userconfig: path.join(scratch, '.npmrc') },
      tapFile,
    });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function chownTree(dir, id, except) {
  fs.lchownSync(dir, id, id);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (full === except) continue;
    if (entry.isDirectory()) chownTree(full, id, except);
    else fs.lchownSync(full, id, id);
  }
}

module.exports = { runUnprivileged };

if (require.main === module) {
  if (process.geteuid() !== 0) {
    console.log('test-unprivileged: already unprivileged (euid %d); `tap` covers this case', process.geteuid());
    process.exit(0);
  }
  runUnprivileged(process.argv.slice(2)).then(
    (result) => {
      console.log(closingLine('unprivileged', result));
      process.exit(result.status === 0 ? 0 : 1);
    },
    (error) => {
      console.error(`test-unprivileged: ${error.message}`);
      process.exit(1);
    },
  );
}
