// containerd with cordon as the runtime binary of its runc shim
// (io.containerd.runc.v2, option BinaryName): a containerd of the test's
// own (its own root, state, sockets and config, ended by pid), an image
// imported from an OCI archive built here (no registry), `ctr run` through
// cordon, and nothing left after it: state dirs, cgroups, mounts, shims.
// The config is docs/oci.md's snippet for the CRI plugin (a Kubernetes
// RuntimeClass), checked as far as containerd goes without a CRI client.
// Root only: containerd's snapshots and shims need it.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { isRoot } = require('../helpers/payload');
const { scratch } = require('../helpers/images');
const { writeLayout, archiveOf, busyboxEntries } = require('../helpers/oci-layout');
const { until } = require('../helpers/until');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const docs = path.join(__dirname, '..', '..', 'docs', 'oci.md');

function present(tool) {
  return spawnSync(tool, ['--version'], { encoding: 'utf8' }).status === 0;
}


/** docs/oci.md's containerd snippet (the toml block naming runtimes.cordon), with this test's paths. */
function documentedSnippet(binary, runcRoot) {
  const blocks = [...fs.readFileSync(docs, 'utf8').matchAll(/```toml\n([\s\S]*?)```/g)].map((match) => match[1]);
  const snippet = blocks.find((block) => block.includes('containerd.runtimes.cordon]'));
  if (snippet === undefined) throw new Error('docs/oci.md has no containerd snippet');
  return snippet
    .replace(/BinaryName = "[^"]*"/, `BinaryName = "${binary}"`)
    .replace(/Root = "[^"]*"/, `Root = "${runcRoot}"`);
}

/** Every pid whose command line names `dir` (containerd, its shims, the containers' processes). */
function processesIn(dir) {
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function mountsUnder(dir) {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4]?.startsWith(dir));
}

t.test('ctr run through containerd\'s runc shim with cordon as BinaryName', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: containerd runs as root (its snapshots and shims need it)')) return;
  if (!requireOrSkip(t, present('containerd') && present('ctr'), 'containerd and ctr (apt-get install containerd)')) return;
  const dir = scratch(t, 'cordon-containerd-');
  const argvLog = path.join(dir, 'argv.log');
  fs.writeFileSync(argvLog, '');
  // The runtime binary the shim calls: docs/oci.md's wrapper (cordon oci
  // with --host-credentials, since the shim passes no runtime flags), plus
  // the argv log (the shim's environment is containerd's).
  const binary = path.join(dir, 'cordon-runc');
  fs.writeFileSync(binary, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${process.execPath}' '${cli}' oci --host-credentials "$@"\n`, { mode: 0o755 });
  const runcRoot = path.join(dir, 'runc-root');
  const address = path.join(dir, 'containerd.sock');
  fs.writeFileSync(path.join(dir, 'config.toml'), [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    // Snapshotters this host has no use for, and tracing: fewer plugins to load.
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]',
    `[grpc]\n  address = "${address}"`,
    `[ttrpc]\n  address = "${address}.ttrpc"`,
    `[plugins."io.containerd.internal.v1.opt"]\n  path = "${dir}/opt"`,
    `[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "${dir}/cni-bin"\n  conf_dir = "${dir}/cni-conf"`,
    documentedSnippet(binary, runcRoot),
  ].join('\n'));

  // containerd 1.6 puts its shims' sockets in /run/containerd/s whatever
  // its config says: what is there now must be all that is there at the end.
  const shimSockets = '/run/containerd/s';
  const socketsBefore = fs.existsSync(shimSockets) ? fs.readdirSync(shimSockets) : [];
  // Made by containerd if it was not there: removed again (when empty) at the end.
  const madeRunDir = !fs.existsSync('/run/containerd');
  t.teardown(() => {
    if (!madeRunDir) return;
    for (const emptyDir of [shimSockets, '/run/containerd/fifo', '/run/containerd']) {
      try {
        fs.rmdirSync(emptyDir);
      } catch {
        // not empty (another containerd's since), or not made: left alone
      }
    }
  });
  const logFd = fs.openSync(path.join(dir, 'containerd.log'), 'w');
  const daemon = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const ended = new Promise((resolve) => daemon.once('exit', resolve));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // A test that failed half-way leaves tasks: their shims, mounts and
    // boxes go with `task delete -f` while the daemon still serves.
    for (const id of (ctr(['task', 'ls', '-q']).stdout ?? '').split('\n').filter(Boolean)) ctr(['task', 'delete', '-f', id]);
    for (const id of (ctr(['containers', 'ls', '-q']).stdout ?? '').split('\n').filter(Boolean)) ctr(['containers', 'delete', id]);
    daemon.kill('SIGTERM');
    await ended;
  };
  t.teardown(stop);
  const ctr = (args, options = {}) => spawnSync('ctr', ['--address', address, '-n', 'cordontest', ...args], { encoding: 'utf8', timeout: 120000, ...options });
  until(() => ctr(['version']).status === 0, 'containerd to serve');
  const log = () => fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8');

  // The documented config: the CRI plugin (Kubernetes' entry) loads with it
  // and has the cordon runtime with its options.
  const plugins = ctr(['plugins', 'ls']);
  t.match(plugins.stdout, /io\.containerd\.grpc\.v1\s+cri\s+\S+\s+ok/, 'the CRI plugin loaded with the documented snippet');
  t.match(log(), new RegExp(`cordon:\\{Type:io\\.containerd\\.runc\\.v2 .*BinaryName:${binary.replace(/[.]/g, '\\.')}`), 'the CRI plugin has the cordon runtime with its BinaryName');

  const layout = path.join(dir, 'layout');
  const image = 'cordon-test/busybox:1';
  await writeLayout(layout, [busyboxEntries(['sh', 'echo', 'sleep', 'cat'])], { ref: image });
  await archiveOf(layout, path.join(dir, 'image.tar'));
  const imported = ctr(['images', 'import', path.join(dir, 'image.tar')]);
  t.equal(imported.status, 0, `the image imported: ${imported.stderr}`);

  // The runtime options the snippet gives the CRI plugin, here by ctr's flags.
  // ctr's stdio FIFOs in the test's dir too (default /run/containerd/fifo).
  const runtime = ['--runc-binary', binary, '--runc-root', runcRoot, '--fifo-dir', path.join(dir, 'fifo')];
  const result = ctr(['run', '--rm', ...runtime, image, 'c1', 'sh', '-c', 'echo hi from $$; exit 3']);
  t.equal(result.status, 3, `ctr run's status is the container's: ${result.stderr}`);
  t.equal(result.stdout, 'hi from 2\n', 'its output; PID 2 under cordon\'s init');
  const calls = () => fs.readFileSync(argvLog, 'utf8').trim().split('\n').map((line) => line.replace(/^--root \S+ --log \S+ --log-format json /, ''));
  t.same(calls().map((line) => line.split(' ')[0]), ['create', 'start', 'delete', 'delete'], 'the shim created, started and deleted the container through cordon');
  t.match(fs.readFileSync(argvLog, 'utf8'), new RegExp(`^--root ${runcRoot}/cordontest --log \\S+/log\\.json --log-format json create --bundle \\S+ --pid-file \\S+/init\\.pid c1$`, 'm'), 'create got the runtime root, a json log, a bundle and a pid file');

  // A detached task: its cgroups while it runs, then kill, exec, delete.
  fs.writeFileSync(argvLog, '');
  const detached = ctr(['run', '-d', ...runtime, image, 'k1', 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 1; done']);
  t.equal(detached.status, 0, detached.stderr);
  const record = JSON.parse(fs.readFileSync(path.join(runcRoot, 'cordontest', 'k1', 'state.json'), 'utf8'));
  t.ok(record.cgroupDirs?.length > 0 && record.cgroupDirs.every((cgroup) => fs.existsSync(cgroup)), 'the running container has the cgroups cordon made');
  t.match(ctr(['task', 'ls']).stdout, /^k1\s+\d+\s+RUNNING$/m, 'containerd sees it running');
  // ctr task ps: the shim's `ps --format json`, the container's pid namespace.
  const ps = ctr(['task', 'ps', 'k1']);
  t.equal(ps.status, 0, ps.stderr);
  const pids = [...ps.stdout.matchAll(/^(\d+)\s/gm)].map((match) => Number(match[1]));
  t.ok(pids.includes(record.pid), `ctr task ps lists the container's process (${record.pid}): ${ps.stdout}`);
  // A listed process may end before it is looked at (the loop's `sleep 1`).
  const pidNamespaceOf = (pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/ns/pid`);
    } catch (error) {
      if (error.code === 'ENOENT') return 'ended';
      throw error;
    }
  };
  const containerNs = fs.readlinkSync(`/proc/${record.pid}/ns/pid`);
  t.ok(pids.length >= 2 && pids.every((pid) => ['ended', containerNs].includes(pidNamespaceOf(pid))), 'and the others of its pid namespace (cordon\'s init, sh, sleep)');
  // ctr task exec: the shim's `exec --process FILE --detach`; the process
  // joins the container (its pid namespace, its cgroups) and its status
  // comes back through the shim, which reaps it.
  const exec = ctr(['task', 'exec', '--fifo-dir', path.join(dir, 'fifo'), '--exec-id', 'e1', 'k1', 'sh', '-c', 'readlink /proc/self/ns/pid; cat /proc/self/cgroup; exit 5']);
  t.equal(exec.status, 5, `ctr task exec's status is the exec'd process's: ${exec.stderr}`);
  const [execNs, ...execCgroups] = exec.stdout.trim().split('\n');
  t.equal(execNs, fs.readlinkSync(`/proc/${record.pid}/ns/pid`), 'it ran in the container\'s pid namespace');
  const boxLines = (lines) => lines.filter((line) => line.includes('/box-')).sort();
  t.ok(boxLines(execCgroups).length > 0, 'in cordon\'s box cgroups');
  t.same(boxLines(execCgroups), boxLines(fs.readFileSync(`/proc/${record.pid}/cgroup`, 'utf8').trim().split('\n')), 'the container\'s own');
  t.equal(ctr(['task', 'kill', 'k1']).status, 0, 'ctr task kill (SIGTERM)');
  until(() => /^k1\s+\d+\s+STOPPED$/m.test(ctr(['task', 'ls']).stdout), 'the task to stop');
  const deleted = ctr(['task', 'delete', 'k1']);
  t.match(deleted.stderr, /exit code 7/, 'its status came through the shim: the trap\'s 7');
  t.equal(ctr(['container', 'delete', 'k1']).status, 0);
  t.same(calls().map((line) => line.split(' ')[0]), ['create', 'start', 'ps', 'exec', 'kill', 'delete', 'delete'], 'the verbs the shim called');
  t.match(calls().find((line) => line.startsWith('exec ')), /^exec --process \S+ --detach --pid-file \S+ k1$/, 'exec: what the shim asks for');
  t.ok(calls().includes('ps --format json k1'), 'ps: json');
  t.notOk(record.cgroupDirs.some((cgroup) => fs.existsSync(cgroup)), 'delete removed the container\'s cgroups');
  t.same(fs.readdirSync(path.join(runcRoot, 'cordontest')), [], 'no container state left under the runtime root');

  t.equal(ctr(['images', 'rm', image]).status, 0);
  await stop();
  t.same(processesIn(dir), [], 'no containerd, shim or container process left');
  t.same(mountsUnder(dir), [], 'no mount left under the test\'s dirs');
  t.same(fs.existsSync(shimSockets) ? fs.readdirSync(shimSockets) : [], socketsBefore, 'no shim socket left in /run/containerd/s');
});
