// cordon oci ps and exec --process: the container's processes by its pid
// namespace, and a process started in it (what containerd's runc shim calls
// for `ctr task ps` and `ctr task exec`), root and unprivileged.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { requireOrSkip } = require('../helpers/skip');
const { isRoot } = require('../helpers/payload');
const { scratch } = require('../helpers/images');
const { toolSpec, makeBundle, ociCli } = require('../helpers/oci');
const { until } = require('../helpers/until');

const oci = ociCli;

t.test('ps lists the processes of the container\'s pid namespace', async (t) => {
  const config = toolSpec(t, 'crun', !isRoot) ?? toolSpec(t, 'runc', !isRoot);
  if (!requireOrSkip(t, config !== undefined, 'crun or runc (apt-get install crun runc) to write a config')) return;
  const dir = makeBundle(t, config, (c) => {
    c.process.terminal = false;
    c.process.args = ['sh', '-c', 'sleep 1000 & echo started; wait'];
  });
  const root = path.join(scratch(t, 'cordon-oci-root-'), 'state');
  const out = path.join(dir, 'out');
  const fds = [fs.openSync(out, 'w'), fs.openSync(path.join(dir, 'err'), 'w')];
  const created = oci(root, ['create', '--bundle', dir, 'p1'], ['ignore', ...fds]);
  for (const fd of fds) fs.closeSync(fd);
  t.teardown(() => oci(root, ['delete', '--force', 'p1']));
  t.equal(created.status, 0, fs.readFileSync(path.join(dir, 'err'), 'utf8'));
  t.equal(oci(root, ['start', 'p1']).status, 0);
  until(() => fs.readFileSync(out, 'utf8') === 'started\n', 'the payload to start');
  const { pid } = JSON.parse(oci(root, ['state', 'p1']).stdout);
  const json = oci(root, ['ps', '--format', 'json', 'p1']);
  t.equal(json.status, 0, json.stderr);
  const pids = JSON.parse(json.stdout);
  // cordon's init (the recorded pid), sh and sleep.
  t.equal(pids.length, 3, `three processes: ${json.stdout}`);
  t.ok(pids.includes(pid), 'the container\'s recorded process');
  t.ok(pids.every((each) => fs.readlinkSync(`/proc/${each}/ns/pid`) === fs.readlinkSync(`/proc/${pid}/ns/pid`)), 'all of its pid namespace');
  t.notOk(pids.includes(process.pid), 'not this process');
  t.equal(oci(root, ['ps', 'p1']).stdout, `PID\n${pids.map((each) => `${each}\n`).join('')}`, 'the table format: a PID column');
  const extra = oci(root, ['ps', 'p1', '-ef']);
  t.equal(extra.status, 1);
  t.match(extra.stderr, /unknown option of ps: -ef/, 'ps(1) arguments are refused, not dropped');
  // exec --process: the OCI process JSON run in the container, in the foreground.
  const processFile = path.join(dir, 'process.json');
  const written = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(processFile, JSON.stringify({ ...written.process, args: ['sh', '-c', 'readlink /proc/self/ns/pid; exit 6'] }));
  const exec = oci(root, ['exec', '--process', processFile, 'p1']);
  t.equal(exec.status, 6, `exec's status is the process's: ${exec.stderr}`);
  t.equal(exec.stdout, `${fs.readlinkSync(`/proc/${pid}/ns/pid`)}\n`, 'it ran in the container\'s pid namespace');
  const tty = oci(root, ['exec', '--process', processFile, '--console-socket', path.join(dir, 'sock'), 'p1']);
  t.equal(tty.status, 1);
  t.match(tty.stderr, /a terminal for an exec'd process is not implemented yet/, 'a terminal for exec is refused, saying so');
  t.equal(oci(root, ['kill', 'p1', 'KILL']).status, 0);
  until(() => JSON.parse(oci(root, ['state', 'p1']).stdout).status === 'stopped', 'the container to stop');
  t.same(JSON.parse(oci(root, ['ps', '--format', 'json', 'p1']).stdout), [], 'a stopped container has no processes');
  t.equal(oci(root, ['delete', 'p1']).status, 0);
  t.match(oci(root, ['ps', 'p1']).stderr, /does not exist/);
});
