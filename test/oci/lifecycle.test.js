// cordon oci create / start / state / kill / delete: the container waits at
// its start gate (exec.fifo in the state dir) and outlives `create`; the
// later verbs reach it through its record; delete leaves nothing behind.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { skipExpected } = require('../helpers/skip');
const { scratch } = require('../helpers/images');
const { scriptBundle, ociCli } = require('../helpers/oci');
const { until } = require('../helpers/until');

const oci = ociCli;

function bundle(t, script, edit = () => {}) {
  return scriptBundle(t, script, (c) => {
    c.annotations = { 'org.example.tenant': 't1' };
    edit(c);
  });
}

function state(root, id) {
  const result = oci(root, ['state', id]);
  if (result.status !== 0) return { missing: result.stderr };
  return JSON.parse(result.stdout);
}

/**
 * `create` with the container's stdout and stderr going to files (a pipe
 * would stay open as long as the container, which inherits it).
 */
function createIn(root, dir, id, extra = []) {
  const out = path.join(dir, `${id}.out`);
  const err = path.join(dir, `${id}.err`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  try {
    const result = oci(root, ['create', '--bundle', dir, ...extra, id], ['ignore', ...fds]);
    return { out, status: result.status, stderr: fs.readFileSync(err, 'utf8') };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

function create(t, root, dir, id, extra = []) {
  const result = createIn(root, dir, id, extra);
  t.teardown(() => oci(root, ['delete', '--force', id]));
  t.equal(result.status, 0, `create exits once the container waits: ${result.stderr}`);
  return result.out;
}

t.test('create waits at the gate, start runs it, delete leaves nothing', async (t) => {
  const dir = bundle(t, 'echo ran as $$; exit 3');
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const pidFile = path.join(dir, 'pid');
  const out = create(t, root, dir, 'c1', ['--pid-file', pidFile]);
  const created = state(root, 'c1');
  t.match(created, { ociVersion: /^1\./, id: 'c1', status: 'created', bundle: dir, annotations: { 'org.example.tenant': 't1' } });
  t.equal(created.pid, Number(fs.readFileSync(pidFile, 'utf8')), 'the pid file holds the container\'s pid');
  t.ok(fs.existsSync(`/proc/${created.pid}`), 'the container outlived create');
  t.equal(fs.readFileSync(out, 'utf8'), '', 'nothing of the payload ran before start');
  t.ok(fs.existsSync(path.join(root, 'c1', 'exec.fifo')), 'the start gate is in the state dir');
  t.equal(oci(root, ['create', '--bundle', dir, 'c1']).status, 1, 'an id in use is refused');

  const start = oci(root, ['start', 'c1']);
  t.equal(start.status, 0, start.stderr);
  t.equal(until(() => fs.readFileSync(out, 'utf8'), 'the output'), 'ran as 2\n', 'the payload ran, in its own pid namespace');
  until(() => state(root, 'c1').status === 'stopped', 'the container to stop');
  t.match(state(root, 'c1'), { status: 'stopped', pid: 0 });
  const again = oci(root, ['start', 'c1']);
  t.equal(again.status, 1);
  t.match(again.stderr, /is stopped, not created/);
  const deleted = oci(root, ['delete', 'c1']);
  t.equal(deleted.status, 0, deleted.stderr);
  t.same(fs.readdirSync(root), [], 'nothing left under --root');
  t.match(state(root, 'c1').missing, /does not exist/);
});

t.test('kill ends a created container; it never runs', async (t) => {
  const dir = bundle(t, 'echo ran');
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const out = create(t, root, dir, 'c2');
  const { pid } = state(root, 'c2');
  const kill = oci(root, ['kill', 'c2', 'TERM']);
  t.equal(kill.status, 0, kill.stderr);
  until(() => state(root, 'c2').status === 'stopped', 'the container to stop');
  t.equal(fs.readFileSync(out, 'utf8'), '', 'the payload never ran');
  const start = oci(root, ['start', 'c2']);
  t.equal(start.status, 1, 'a stopped container does not start');
  t.match(oci(root, ['kill', 'c2', 'KILL']).stderr, /is stopped/, 'a stopped container is not signalled');
  t.equal(oci(root, ['delete', 'c2']).status, 0);
  t.same(fs.readdirSync(root), []);
  t.notOk(fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1][0] !== 'Z', 'its process is gone');
});

t.test('delete --force ends a running container and removes its cgroup', async (t) => {
  const dir = bundle(t, 'echo started; exec sleep 1000', (c) => {
    c.linux.resources = { pids: { limit: 64 } };
  });
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  if (!skipExpected(t, process.geteuid() === 0, 'unprivileged pass: this host delegates no cgroup to an unprivileged user, and a pids limit needs one')) return;
  const create1 = createIn(root, dir, 'c3');
  t.teardown(() => oci(root, ['delete', '--force', 'c3']));
  t.equal(create1.status, 0, create1.stderr);
  const record = JSON.parse(fs.readFileSync(path.join(root, 'c3', 'state.json'), 'utf8'));
  t.ok(record.cgroupDirs?.length > 0 && record.cgroupDirs.every((dir) => fs.existsSync(dir)), 'the box has cgroups of its own, recorded');
  t.ok(record.cgroupDirs.some((dir) => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').includes(String(record.pid))), 'the container is in them');
  t.equal(oci(root, ['start', 'c3']).status, 0);
  until(() => fs.readFileSync(create1.out, 'utf8') === 'started\n', 'the payload to start');
  t.equal(state(root, 'c3').status, 'running');
  const refused = oci(root, ['delete', 'c3']);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /is running: stop it first, or delete --force/);
  const forced = oci(root, ['delete', '--force', 'c3']);
  t.equal(forced.status, 0, forced.stderr);
  t.same(record.cgroupDirs.filter((dir) => fs.existsSync(dir)), [], 'its cgroups are gone');
  t.same(fs.readdirSync(root), [], 'its state is gone');
});

t.test('delete --force of a container that is not there succeeds (engines clean up so)', async (t) => {
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const forced = oci(root, ['delete', '--force', 'never-made']);
  t.equal(forced.status, 0, forced.stderr);
  const plain = oci(root, ['delete', 'never-made']);
  t.equal(plain.status, 1);
  t.match(plain.stderr, /container "never-made" does not exist/);
});
