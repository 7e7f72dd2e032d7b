// cordon oci pause / resume: the container's cgroup frozen and thawed
// through the freezer (v2 cgroup.freeze, v1 freezer.state); state says
// paused; a paused container can be deleted with --force; a container
// without a cgroup of its own is refused with the reason.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { skipExpected } = require('../helpers/skip');
const { isRoot } = require('../helpers/payload');
const { scratch } = require('../helpers/images');
const { scriptBundle, ociCli } = require('../helpers/oci');
const { until } = require('../helpers/until');

const oci = ociCli;

const bundle = scriptBundle;

function create(t, root, dir, id) {
  const out = path.join(dir, `${id}.out`);
  const err = path.join(dir, `${id}.err`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  try {
    const result = oci(root, ['create', '--bundle', dir, id], ['ignore', ...fds]);
    t.teardown(() => oci(root, ['delete', '--force', id]));
    t.equal(result.status, 0, `create: ${fs.readFileSync(err, 'utf8')}`);
    return out;
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

const status = (root, id) => JSON.parse(oci(root, ['state', id]).stdout).status;

/** Host pids of the container's processes, by its record's cgroups. */
function containerPids(root, id) {
  const record = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
  const pids = new Set();
  for (const dir of record.cgroupDirs) for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.add(pid);
  return [...pids];
}

/**
 * Where the kernel holds a task once frozen: the v2 freezer's trap (inlined
 * into get_signal, as wchan shows it) or the v1 refrigerator. Neither the
 * init (waiting for its child) nor sleep(1) waits there otherwise.
 */
const frozenTask = (pid) => /freez|refrigerator|get_signal/.test(fs.readFileSync(`/proc/${pid}/wchan`, 'utf8'));

t.test('pause freezes the container, state says paused, resume thaws it', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: this host delegates no cgroup to an unprivileged user, and the freezer needs the container\'s own')) return;
  const dir = bundle(t, 'echo started; exec sleep 1000', (c) => {
    c.linux.resources = { pids: { limit: 64 } };
  });
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const out = create(t, root, dir, 'p1');
  t.match(oci(root, ['pause', 'p1']).stderr, /is created, not running/, 'a created container is not paused');
  t.equal(oci(root, ['start', 'p1']).status, 0);
  until(() => fs.readFileSync(out, 'utf8') === 'started\n', 'the payload');

  const paused = oci(root, ['pause', 'p1']);
  t.equal(paused.status, 0, paused.stderr);
  t.equal(status(root, 'p1'), 'paused');
  const pids = containerPids(root, 'p1');
  t.ok(pids.length >= 2, 'the init and the payload are in the cgroup');
  t.ok(pids.every(frozenTask), 'every process of the container is held by the freezer');
  t.match(oci(root, ['pause', 'p1']).stderr, /is paused, not running/);
  t.match(oci(root, ['exec', '--process', '/dev/null', 'p1']).stderr, /is paused, not running/, 'no exec into a paused container');

  const resumed = oci(root, ['resume', 'p1']);
  t.equal(resumed.status, 0, resumed.stderr);
  t.equal(status(root, 'p1'), 'running');
  t.notOk(pids.some(frozenTask), 'no process is held any more');
  t.match(oci(root, ['resume', 'p1']).stderr, /is running, not paused/);

  // Paused again, then deleted: delete needs --force, and thaws what SIGKILL must reach.
  t.equal(oci(root, ['pause', 'p1']).status, 0);
  t.match(oci(root, ['delete', 'p1']).stderr, /is paused: stop it first, or delete --force/);
  const record = JSON.parse(fs.readFileSync(path.join(root, 'p1', 'state.json'), 'utf8'));
  const deleted = oci(root, ['delete', '--force', 'p1']);
  t.equal(deleted.status, 0, deleted.stderr);
  t.same(record.cgroupDirs.filter((d) => fs.existsSync(d)), [], 'its cgroups are gone');
  t.same(fs.readdirSync(root), []);
});

t.test('a container without a cgroup of its own cannot be paused, and says why', async (t) => {
  const dir = bundle(t, 'echo started; exec sleep 1000', (c) => {
    delete c.linux.resources;
  });
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const out = create(t, root, dir, 'p2');
  t.equal(oci(root, ['start', 'p2']).status, 0);
  until(() => fs.readFileSync(out, 'utf8') === 'started\n', 'the payload');
  const paused = oci(root, ['pause', 'p2']);
  t.equal(paused.status, 1);
  t.match(paused.stderr, /cannot pause container "p2": it has no cgroup with a freezer of its own/);
  t.equal(status(root, 'p2'), 'running');
  t.equal(oci(root, ['delete', '--force', 'p2']).status, 0);
});
