// Runs the tests on every supported Node line (CI: .ci/run). The addon is
// built once, by `npm ci`, with whatever Node the machine has; N-API keeps
// that one build loadable in every line, and this script proves it by
// running the tests there.
//
//   node scripts/test-node-lines.js [TAP ARGS...]
//
// Each line's Node comes from the npm registry as the package
// node-linux-<arch>@<line> (bin/node plus include/node), fetched with
// `npm pack` (which checks the registry's integrity hash) and unpacked into a
// fresh directory under os.tmpdir(). Not inside the checkout: the
// unprivileged pass runs that Node as nobody, and a checkout under /root (or
// any directory only root may traverse) would keep nobody from executing it.
// The directory is made world-readable and removed at the end; set
// CORDON_NODE_LINES_DIR to keep the downloads in a directory of your own and
// reuse them.
//
// Every line gets both passes (as the caller, then as nobody when run as
// root; scripts/test-unprivileged.js). The line named by
// CORDON_NODE_LINES_FULL (default: the newest, the Active LTS) runs the whole
// suite; the others run SUBSET, the tests that exercise what differs between
// Node versions (the addon through N-API, streams, child processes, ESM/CJS
// loading, the CLI, disposal, and test/unit/tarball.test.js: the packed
// tarball installed with no compiler and used from CJS, ESM and strict TS).
// CORDON_NODE_LINES_FULL=all runs the whole suite on every line. TAP ARGS
// (e.g. a test file) replace both.
//
// Output: the per-file lines of scripts/test-run.js labelled `node22/root`,
// `node22/unprivileged`, ..., then a summary with one plain closing line per
// Node line, `node22: N passed, N failed, N skipped`, and the total.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { closingLine, runTap, TAP_BIN } = require('./test-run');
const { runUnprivileged } = require('./test-unprivileged');

const root = path.join(__dirname, '..');

/** The Node lines cordon supports (package.json `engines`) and CI tests. */
const LINES = (process.env.CORDON_NODE_LINES ?? '22,24,26').split(',').map((line) => line.trim()).filter(Boolean);
const FULL = process.env.CORDON_NODE_LINES_FULL ?? LINES[LINES.length - 1];
const SUBSET = ['test/spawn', 'test/unit'];

/**
 * The test files under `dirs`, the ones tap's `include` setting would pick
 * (*.test.js): tap given a directory runs every .js file in it, helpers too.
 */
function testFilesIn(dirs) {
  return dirs.flatMap((dir) => fs.readdirSync(path.join(root, dir), { recursive: true })
    .filter((file) => file.endsWith('.test.js'))
    .sort()
    .map((file) => path.posix.join(dir, file)));
}

/** Runs `command args` and returns its stdout; throws with its stderr when it fails. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error !== undefined) throw new Error(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (status ${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Fetches node-linux-<arch>@<line> into `dir`/node<line> unless it is there
 * already, and returns the path of its bin/node after checking it runs and
 * is of that line.
 */
function installLine(line, dir) {
  const home = path.join(dir, `node${line}`);
  const node = path.join(home, 'bin', 'node');
  if (!fs.existsSync(node)) {
    const spec = `node-linux-${process.arch}@${line}`;
    const packed = JSON.parse(run('npm', ['pack', spec, '--json', '--pack-destination', dir], { cwd: dir }));
    const tarball = path.join(dir, packed[0].filename);
    console.log(`node${line}: fetched ${packed[0].id} (${packed[0].integrity})`);
    fs.mkdirSync(home, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', home, '--strip-components=1', '--no-same-owner']);
    fs.rmSync(tarball);
    makeWorldReadable(home);
  }
  const version = run(node, ['--version']).trim();
  if (!version.startsWith(`v${line}.`)) throw new Error(`${node} is ${version}, not Node ${line}`);
  return node;
}

/** chmod a+rX over a tree: nobody runs these Nodes in the unprivileged pass. */
function makeWorldReadable(dir) {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) makeWorldReadable(full);
    else fs.chmodSync(full, fs.statSync(full).mode | 0o444);
  }
}

/** Both passes of one line; resolves with [[passLabel, result], ...]. */
async function testLine(line, node, tapArgs) {
  const label = `node${line}`;
  // The line's Node first on PATH too, so a test that starts `node` by name
  // gets this line; CORDON_NODE_LINE lets test/unit/node-line.test.js check
  // that the tests really ran on it.
  const env = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH ?? ''}`, CORDON_NODE_LINE: line };
  const passes = [];
  const first = process.geteuid() === 0 ? 'root' : 'unprivileged';
  passes.push([`${label}/${first}`, await runTap({
    label: `${label}/${first}`, command: node, args: [TAP_BIN, ...tapArgs], cwd: root, env,
    tapFile: path.join(root, '.tap', `cordon-${label}-${first}.tap`),
  })]);
  if (process.geteuid() === 0) {
    passes.push([`${label}/unprivileged`, await runUnprivileged(tapArgs, {
      node, env, label: `${label}/unprivileged`,
      tapFile: path.join(root, '.tap', `cordon-${label}-unprivileged.tap`),
    })]);
  }
  return passes;
}

/** Sums passes into the counts closingLine() reads. */
function combine(passes) {
  const counts = { pass: 0, fail: 0, skip: 0 };
  let status = 0;
  for (const [, result] of passes) {
    if (result.status !== 0) status = 1;
    if (result.counts === null) {
      counts.fail += 1; // the pass died before its totals: count it as one failure
      continue;
    }
    counts.pass += result.counts.pass ?? 0;
    counts.fail += result.counts.fail ?? 0;
    counts.skip += (result.counts.skip ?? 0) + (result.counts.todo ?? 0);
    if (result.status !== 0 && (result.counts.fail ?? 0) === 0) counts.fail += 1;
  }
  return { status, counts };
}

function minutes(ms) {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

async function main() {
  const tapArgs = process.argv.slice(2);
  const keep = process.env.CORDON_NODE_LINES_DIR;
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-node-lines-'));
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755); // mkdtemp makes it 0700; nobody must reach the Nodes
  const summary = [];
  try {
    const nodes = new Map(LINES.map((line) => [line, installLine(line, dir)]));
    for (const [line, node] of nodes) {
      const whole = tapArgs.length > 0 || FULL === 'all' || FULL === line;
      const args = tapArgs.length > 0 ? tapArgs : whole ? [] : testFilesIn(SUBSET);
      const version = run(node, ['--version']).trim();
      console.log(`\nnode${line}: Node ${version} (N-API ${run(node, ['-p', 'process.versions.napi']).trim()}), ${tapArgs.length > 0 ? tapArgs.join(' ') : whole ? 'the whole suite' : `the subset ${SUBSET.join(' ')}`}`);
      const started = Date.now();
      const passes = await testLine(line, node, args);
      summary.push({ line, version, args, passes, ms: Date.now() - started });
    }
  } finally {
    if (keep === undefined) fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log('\nNode lines:');
  let failed = false;
  const total = { pass: 0, fail: 0, skip: 0 };
  for (const { line, version, args, passes, ms } of summary) {
    for (const [label, result] of passes) console.log(`  ${closingLine(label, result)}`);
    const combined = combine(passes);
    if (combined.status !== 0 || combined.counts.fail > 0) failed = true;
    for (const key of Object.keys(total)) total[key] += combined.counts[key];
    console.log(`  (${version}, ${args.length === 0 ? 'whole suite' : `${args.length} files`}, ${minutes(ms)})`);
    console.log(closingLine(`node${line}`, combined));
  }
  console.log(`total: ${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
  console.log(`full TAP: .tap/cordon-node<line>-<pass>.tap`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(`test-node-lines: ${error.message}`);
  process.exit(1);
});
