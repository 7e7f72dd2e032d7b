// cordon oci: the OCI runtime verbs done so far (run, state, kill, delete,
// features), state under --root; the rest refused clearly.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { scratch } = require('../helpers/images');
const { scriptBundle } = require('../helpers/oci');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function oci(root, args) {
  return spawnSync(process.execPath, [cli, 'oci', '--root', root, ...args], { encoding: 'utf8' });
}

/** Starts `cordon oci run` in the background; resolves once the payload said it started. */
function startRun(t, root, bundle, id, extra = []) {
  const child = spawn(process.execPath, [cli, 'oci', '--root', root, 'run', '--bundle', bundle, ...extra, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const started = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('started\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`run ended before the payload started: ${stderr}`)));
  });
  return { child, exited, started, stderr: () => stderr };
}

function bundle(t) {
  return scriptBundle(t, 'echo started; exec sleep 1000');
}

t.test('run, state, kill: the state under --root follows the container', async (t) => {
  const dir = bundle(t);
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const pidFile = path.join(dir, 'pid');
  const running = startRun(t, root, dir, 'c1', ['--pid-file', pidFile]);
  await running.started;
  const state = oci(root, ['state', 'c1']);
  t.equal(state.status, 0, state.stderr);
  const parsed = JSON.parse(state.stdout);
  t.match(parsed, { ociVersion: /^1\./, id: 'c1', status: 'running', bundle: dir });
  t.equal(parsed.pid, Number(fs.readFileSync(pidFile, 'utf8')), 'the pid file holds the container\'s pid');
  t.match(fs.readFileSync(`/proc/${parsed.pid}/cmdline`, 'utf8'), /^sleep/, 'that pid is the payload');
  t.equal(oci(root, ['run', '--bundle', dir, 'c1']).status, 1, 'an id in use is refused');
  const kill = oci(root, ['kill', 'c1', 'KILL']);
  t.equal(kill.status, 0, kill.stderr);
  t.same(await running.exited, { code: 128 + 9, signal: null }, 'run exits with the payload\'s status');
  const gone = oci(root, ['state', 'c1']);
  t.equal(gone.status, 1);
  t.match(gone.stderr, /container "c1" does not exist/, 'run deletes the container when it ends');
  t.same(fs.readdirSync(root), [], 'nothing left under --root');
});

t.test('delete refuses a running container unless --force', async (t) => {
  const dir = bundle(t);
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const running = startRun(t, root, dir, 'c2');
  await running.started;
  const refused = oci(root, ['delete', 'c2']);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /is running: stop it first, or delete --force/);
  const forced = oci(root, ['delete', '--force', 'c2']);
  t.equal(forced.status, 0, forced.stderr);
  t.same(await running.exited, { code: 128 + 9, signal: null }, 'the box was killed');
  t.same(fs.readdirSync(root), [], 'its state is gone');
});

t.test('features, and what is not there yet is refused clearly', async (t) => {
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const features = oci(root, ['features']);
  t.equal(features.status, 0, features.stderr);
  t.match(JSON.parse(features.stdout), { ociVersionMax: /^1\./, linux: { seccomp: { enabled: true } } });
  t.match(JSON.parse(features.stdout).hooks, ['prestart', 'createRuntime', 'poststart', 'poststop'], 'the hooks cordon runs (test/oci/hooks.test.js)');
  for (const verb of ['update', 'checkpoint']) {
    const result = oci(root, [verb, 'x']);
    t.equal(result.status, 1, verb);
    t.match(result.stderr, new RegExp(`"${verb}" is not implemented yet`), verb);
  }
  // exec takes the OCI process JSON (what engines pass); runc's exec ID CMD is not there yet.
  const exec = oci(root, ['exec', 'x', 'sh']);
  t.equal(exec.status, 1);
  t.match(exec.stderr, /exec needs --process FILE .*exec ID CMD\.\.\. is not implemented yet/);
  const systemd = spawnSync(process.execPath, [cli, 'oci', '--systemd-cgroup', 'run', 'x'], { encoding: 'utf8' });
  t.equal(systemd.status, 1);
  t.match(systemd.stderr, /--systemd-cgroup: cordon makes and removes its boxes' cgroups itself/);
  const log = path.join(path.dirname(root), 'log.json');
  const bad = spawnSync(process.execPath, [cli, 'oci', '--root', root, '--log', log, '--log-format', 'json', 'state', '../escape'], { encoding: 'utf8' });
  t.equal(bad.status, 1);
  t.match(JSON.parse(fs.readFileSync(log, 'utf8').trim()), { level: 'error', msg: /bad container id/ }, '--log --log-format json');
});
