// OCI lifecycle hooks under `cordon oci`: prestart and createRuntime during
// create (the container set up, its process held at the gate), poststart
// during start, poststop during delete; each with the state JSON on stdin,
// exactly its env, its args as argv; a failing one fails its verb (a
// poststop one only warns); createContainer/startContainer are refused.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { isRoot } = require('../helpers/payload');
const { scratch } = require('../helpers/images');
const { toolSpec, scriptBundle, ociCli } = require('../helpers/oci');
const { until } = require('../helpers/until');

const SH = fs.existsSync('/bin/sh') ? '/bin/sh' : '/usr/bin/sh';

const oci = ociCli;

/** A hook that appends its name (and what `extra` prints) to DIR/order and saves its stdin as DIR/NAME.json. */
function marker(dir, name, then = '', env = []) {
  return {
    path: SH,
    args: ['hook-sh', '-c', `cat > ${dir}/${name}.json; echo "${name} $0 $MARK $HOME" >> ${dir}/order${then}`],
    env: ['PATH=/usr/bin:/bin', 'MARK=m1', ...env],
  };
}

function bundle(t, script, hooks) {
  return scriptBundle(t, script, (c) => {
    c.annotations = { 'org.example.hooks': 'yes' };
    c.hooks = typeof hooks === 'function' ? hooks() : hooks;
  });
}

function gone(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1][0] === 'Z';
  } catch {
    return true;
  }
}

/** create with the container's output in a file (a pipe would stay open as long as the container). */
function create(root, dir, id) {
  const out = path.join(dir, `${id}.out`);
  const err = path.join(dir, `${id}.err`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  try {
    const result = oci(root, ['create', '--bundle', dir, id], ['ignore', ...fds]);
    return { out, status: result.status, stderr: fs.readFileSync(err, 'utf8') };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

t.test('create, start, delete run prestart, createRuntime, poststart, poststop in order, with the state on stdin', async (t) => {
  const marks = scratch(t, 'cordon-oci-hooks-');
  const outFile = () => path.join(dir, 'h1.out');
  // createRuntime also says whether the container's process has run yet.
  let dir;
  dir = bundle(t, 'echo payload ran', () => ({
    prestart: [marker(marks, 'prestart')],
    createRuntime: [marker(marks, 'createRuntime', `; [ -s ${path.join('BUNDLE', 'h1.out')} ] && echo early >> ${marks}/order || true`)],
    poststart: [marker(marks, 'poststart')],
    poststop: [marker(marks, 'poststop')],
  }));
  if (dir === undefined) return;
  // The bundle path is known only now: point createRuntime's check at it.
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  config.hooks.createRuntime[0].args[2] = config.hooks.createRuntime[0].args[2].replace('BUNDLE', dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  t.teardown(() => oci(root, ['delete', '--force', 'h1']));

  const created = create(root, dir, 'h1');
  t.equal(created.status, 0, created.stderr);
  t.equal(read(path.join(marks, 'order')), 'prestart hook-sh m1 \ncreateRuntime hook-sh m1 \n', 'create ran prestart then createRuntime, with argv[0] from args and only the hook\'s env (no HOME), before the process ran');
  const pid = JSON.parse(oci(root, ['state', 'h1']).stdout).pid;
  for (const name of ['prestart', 'createRuntime']) {
    t.same(JSON.parse(read(path.join(marks, `${name}.json`))), {
      ociVersion: JSON.parse(oci(root, ['state', 'h1']).stdout).ociVersion, id: 'h1', status: 'creating', pid, bundle: dir, annotations: { 'org.example.hooks': 'yes' },
    }, `${name} read the state: creating, with the container's pid`);
  }
  t.equal(read(outFile()), '', 'the payload waits at the gate');

  const started = oci(root, ['start', 'h1']);
  t.equal(started.status, 0, started.stderr);
  t.match(read(path.join(marks, 'order')), /createRuntime hook-sh m1 \npoststart hook-sh m1 \n$/, 'start ran poststart');
  t.match(JSON.parse(read(path.join(marks, 'poststart.json'))), { id: 'h1', status: 'running', pid });
  until(() => read(outFile()) === 'payload ran\n', 'the payload');
  until(() => JSON.parse(oci(root, ['state', 'h1']).stdout).status === 'stopped', 'the container to stop');
  t.notOk(fs.existsSync(path.join(marks, 'poststop.json')), 'poststop waits for delete');

  const deleted = oci(root, ['delete', 'h1']);
  t.equal(deleted.status, 0, deleted.stderr);
  t.equal(read(path.join(marks, 'order')), 'prestart hook-sh m1 \ncreateRuntime hook-sh m1 \npoststart hook-sh m1 \npoststop hook-sh m1 \n', 'each hook once, in the spec\'s order');
  t.match(JSON.parse(read(path.join(marks, 'poststop.json'))), { id: 'h1', status: 'stopped', pid: 0, bundle: dir });
  t.same(fs.readdirSync(root), [], 'nothing left');
});

t.test('a failing createRuntime hook fails create and ends the container; its cgroups go too', async (t) => {
  const marks = scratch(t, 'cordon-oci-hooks-');
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  // prestart keeps the record create has written by then (the box's pid and cgroups).
  const keepRecord = { path: SH, args: ['sh', '-c', `cat > /dev/null; cp ${root}/h2/state.json ${marks}/record.json`], env: ['PATH=/usr/bin:/bin'] };
  const dir = bundle(t, 'echo ran', () => ({
    prestart: [marker(marks, 'prestart'), keepRecord],
    createRuntime: [{ path: SH, args: ['sh', '-c', 'echo no network for you >&2; exit 7'] }, marker(marks, 'never')],
  }));
  if (dir === undefined) return;
  if (isRoot) {
    // As root the box gets cgroups of its own (a pids limit): they must not outlive the failed create.
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    config.linux.resources = { pids: { limit: 64 } };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  }
  t.teardown(() => oci(root, ['delete', '--force', 'h2']));
  const created = create(root, dir, 'h2');
  t.equal(created.status, 1, 'create fails');
  t.match(created.stderr, /hooks\.createRuntime\[0\] \(\/\S*sh\) failed: exit status 7: no network for you/, 'it names the hook and says what it said');
  t.notOk(fs.existsSync(path.join(marks, 'never.json')), 'the hooks after it did not run');
  const record = JSON.parse(read(path.join(marks, 'record.json')));
  t.equal(JSON.parse(read(path.join(marks, 'prestart.json'))).pid, record.pid);
  until(() => gone(record.pid), 'the container to end');
  if (isRoot) {
    t.ok(record.cgroupDirs?.length > 0, 'the box had cgroups of its own');
    t.same((record.cgroupDirs ?? []).filter((d) => fs.existsSync(d)), [], 'they are removed');
  }
  t.same(fs.readdirSync(root), [], 'no state left');
  t.equal(read(path.join(dir, 'h2.out')), '', 'the payload never ran');
});

t.test('a hook past its timeout is killed and fails create', async (t) => {
  const dir = bundle(t, 'echo ran', { createRuntime: [{ path: SH, args: ['sh', '-c', 'exec sleep 30'], timeout: 1 }] });
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  t.teardown(() => oci(root, ['delete', '--force', 'h3']));
  const created = create(root, dir, 'h3');
  t.equal(created.status, 1);
  t.match(created.stderr, /hooks\.createRuntime\[0\] .*timed out after 1 s \(killed\)/);
  t.same(fs.readdirSync(root), []);
});

t.test('a failing poststart hook fails start and stops the container; a failing poststop one only warns', async (t) => {
  const dir = bundle(t, 'echo started; exec sleep 1000', {
    poststart: [{ path: SH, args: ['sh', '-c', 'exit 2'] }],
    poststop: [{ path: SH, args: ['sh', '-c', 'echo cannot tidy >&2; exit 5'] }],
  });
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  t.teardown(() => oci(root, ['delete', '--force', 'h4']));
  const created = create(root, dir, 'h4');
  t.equal(created.status, 0, created.stderr);
  const started = oci(root, ['start', 'h4']);
  t.equal(started.status, 1, 'start fails');
  t.match(started.stderr, /hooks\.poststart\[0\] .*failed: exit status 2/);
  until(() => JSON.parse(oci(root, ['state', 'h4']).stdout).status === 'stopped', 'the container to be stopped');
  const deleted = oci(root, ['delete', 'h4']);
  t.equal(deleted.status, 0, 'delete succeeds');
  t.match(deleted.stderr, /warning: hook hooks\.poststop\[0\] .*exit status 5: cannot tidy/, 'with a warning');
  t.same(fs.readdirSync(root), []);
});

t.test('run holds the process for its hooks and runs all four', async (t) => {
  const marks = scratch(t, 'cordon-oci-hooks-');
  const dir = bundle(t, `echo payload >> ${'/dev/null'}; exit 4`, {
    prestart: [marker(marks, 'prestart')],
    createRuntime: [marker(marks, 'createRuntime')],
    poststart: [marker(marks, 'poststart')],
    poststop: [marker(marks, 'poststop')],
  });
  if (dir === undefined) return;
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const result = oci(root, ['run', '--bundle', dir, 'h5']);
  t.equal(result.status, 4, `run exits with the payload's status: ${result.stderr}`);
  t.equal(read(path.join(marks, 'order')).split('\n').map((line) => line.split(' ')[0]).join(' '), 'prestart createRuntime poststart poststop ');
  t.match(JSON.parse(read(path.join(marks, 'createRuntime.json'))), { id: 'h5', status: 'creating', pid: Number });
  t.match(JSON.parse(read(path.join(marks, 'poststop.json'))), { id: 'h5', status: 'stopped' });
  t.same(fs.readdirSync(root), []);
});

t.test('hooks cordon cannot run where the spec says are refused by JSON path', async (t) => {
  for (const [hooks, pattern] of [
    [{ createContainer: [{ path: SH }] }, /"hooks\.createContainer" is not supported by cordon: it runs in the container's namespaces/],
    [{ startContainer: [{ path: SH }] }, /"hooks\.startContainer" is not supported/],
    [{ prestart: [{ path: 'sh' }] }, /"hooks\.prestart\[0\]\.path" must be an absolute path/],
    [{ poststop: [{ path: SH, timeout: 0 }] }, /"hooks\.poststop\[0\]\.timeout" must be an integer from 1/],
    [{ poststop: [{ path: SH, env: ['NOEQUALS'] }] }, /"hooks\.poststop\[0\]\.env\[0\]" must be NAME=VALUE/],
    [{ poststop: [{ path: SH, when: 'always' }] }, /Unknown OCI config field "hooks\.poststop\[0\]\.when"/],
  ]) {
    const dir = bundle(t, 'true', hooks);
    if (dir === undefined) return;
    const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
    const created = create(root, dir, 'h6');
    t.equal(created.status, 1, JSON.stringify(hooks));
    t.match(created.stderr, pattern);
    t.same(fs.existsSync(root) ? fs.readdirSync(root) : [], []);
  }
  // fromOciConfig alone (one spawn, no lifecycle) still refuses hooks.
  const { fromOciConfig } = require('../..');
  const config = toolSpec(t, 'crun', !isRoot) ?? toolSpec(t, 'runc', !isRoot);
  config.process.terminal = false;
  t.throws(() => fromOciConfig({ ...config, hooks: { poststop: [{ path: SH }] } }, { bundle: '/b' }), { code: 'ERR_CORDON_OCI_UNSUPPORTED', jsonPath: 'hooks' });
  t.match(fromOciConfig({ ...config, hooks: { poststop: [{ path: SH, args: ['x'] }] } }, { bundle: '/b', runtimeHooks: true }).hooks, { poststop: [{ path: SH, args: ['x'] }] });
});
