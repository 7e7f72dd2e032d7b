// The automatic bridge sweep against live supervisors. A bridge has no port
// from the moment a supervisor makes it until its first veth is on it, so
// "portless" alone cannot tell a SIGKILLed supervisor's leftover from a
// bridge another supervisor is about to use. A supervisor holds the
// bridge's lock (flock, /run/cordon/bridges) from before it makes the
// bridge until it exits; a sweep removes only bridges whose lock it can
// take. Root only: bridges need CAP_NET_ADMIN on the host.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const t = require('tap');

const { startSupervisor } = require('../helpers/supervisor');
const { isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { removeTree } = require('../helpers/remove-tree');
const { testCgroupName, cgroupMounts } = require('../helpers/cgroup-fixture');
const { probe } = require('../../dist');

t.setTimeout(300_000);

const exists = (file) => fs.existsSync(file);
const bridgeReason = () => (isRoot ? probe().network.bridge.reason : 'bridges need root');

function tempDir(t, label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-bridge-lock-${label}-`));
  t.teardown(() => removeTree(dir));
  return dir;
}

function uniqueBridge(t, tag) {
  const name = `cbk${tag}${process.pid % 100000}`;
  const subnet = `10.${150 + (process.pid % 40)}.${(process.pid + tag.charCodeAt(0)) % 250}.1/24`;
  t.teardown(() => {
    if (exists(`/sys/class/net/${name}`)) spawnSync('ip', ['link', 'del', name]);
  });
  return { name, subnet };
}

// The starting supervisor's box cgroups live under a parent of this file's
// own, so the cgroup half of its sweep looks at nothing else.
let cgroupParent;
if (isRoot) {
  const { name } = testCgroupName(t, 'bridge-lock');
  for (const mount of cgroupMounts()) {
    try {
      fs.mkdirSync(path.join(mount, name));
    } catch {
      // a hierarchy that refuses it
    }
  }
  cgroupParent = `/${name}`;
}

const usable = () => isRoot && probe().network.bridge.available;

t.test('a bridge a live supervisor has just made (no veth yet) survives another supervisor\'s start and cleanup()', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: bridges need root')) return;
  if (!requireOrSkip(t, usable(), `bridge networking: ${bridgeReason()}`)) return;
  const env = { CORDON_STATE_DIR: tempDir(t, 'state') };
  const { name, subnet } = uniqueBridge(t, 'a');
  // A is between making the bridge and attaching its first veth.
  const a = await startSupervisor(t, { env });
  const leased = await a.request('leaseBridgeOnly', { network: { bridge: name, subnet } });
  t.equal(leased.bridge, name, `A made the bridge ${JSON.stringify(leased.thrown ?? '')}`);
  t.same(fs.readdirSync(`/sys/class/net/${name}/brif`), [], 'it has no port yet');

  // B starts: its first box takes the cgroup parent and sweeps, its first bridge box sweeps bridges too.
  const b = await startSupervisor(t, { env });
  const box = await b.request('spawn', { file: '/bin/true', args: [], options: { stdio: 'ignore', cgroup: { pids: { max: 16 } }, cgroupParent } });
  t.ok(box.pid > 0, `B ran a box ${JSON.stringify(box.failed ?? '')}`);
  const other = uniqueBridge(t, 'b');
  const bridged = await b.request('spawn', { file: '/bin/true', args: [], options: { stdio: 'ignore', network: { bridge: other.name, subnet: other.subnet } } });
  t.ok(bridged.pid > 0, 'and a box on a bridge of its own');
  t.ok(exists(`/sys/class/net/${name}`), 'B\'s start-up sweep left A\'s new portless bridge alone');
  const { report } = await b.request('cleanup', { options: { cgroupParent } });
  t.ok(exists(`/sys/class/net/${name}`), 'so did cleanup()');
  t.notOk(report.bridges.includes(name), 'which does not report it');
  const unlocked = await b.request('cleanup', { options: { cgroupParent, bridges: 'unlocked' } });
  t.ok(exists(`/sys/class/net/${name}`), 'and cleanup({ bridges: \'unlocked\' }): A holds its lock');
  t.notOk(unlocked.report.bridges.includes(name), 'which does not report it either');

  // A is SIGKILLed before it ever puts a veth on it: the kernel drops its lock.
  await a.kill();
  const after = await b.request('cleanup', { options: { cgroupParent } });
  // (or a supervisor another test file starts meanwhile has swept it: nobody holds it now)
  t.notOk(exists(`/sys/class/net/${name}`), `the next cleanup() removes the dead supervisor's bridge: ${JSON.stringify(after.report.bridges)}`);
  t.same(after.report.errors, [], 'without an error');
  t.notOk(exists(`/run/cordon/bridges/${lockName(name)}`), 'and its lock file');
  await b.end();
  t.notOk(exists(`/sys/class/net/${other.name}`), 'B removed its own bridge when it ended');
  t.notOk(exists(`/run/cordon/bridges/${lockName(other.name)}`), 'and that bridge\'s lock file');
});

function lockName(name) {
  const netns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/net'))[1];
  return `${netns}-${name}.lock`;
}

t.test('a SIGKILLed supervisor\'s bridge is swept by the next supervisor\'s start; a supervisor sharing it keeps it', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: bridges need root')) return;
  if (!requireOrSkip(t, usable(), `bridge networking: ${bridgeReason()}`)) return;
  const env = { CORDON_STATE_DIR: tempDir(t, 'state') };
  const { name, subnet } = uniqueBridge(t, 'c');
  const network = { bridge: name, subnet };
  const a = await startSupervisor(t, { env });
  const box = await a.request('spawn', { file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore', network } });
  t.ok(box.pid > 0, 'A runs a box on the bridge');
  // C shares the bridge (a rolling restart): it holds the lock too.
  const c = await startSupervisor(t, { env });
  const shared = await c.request('leaseBridgeOnly', { network });
  t.equal(shared.bridge, name, 'C uses the same bridge');
  await a.kill();
  // The box's veth goes with its network namespace, some ms after the box.
  const until = Date.now() + 10_000;
  while (fs.readdirSync(`/sys/class/net/${name}/brif`).length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(fs.readdirSync(`/sys/class/net/${name}/brif`), [], 'A\'s box and its veth are gone');
  const b = await startSupervisor(t, { env });
  const first = await b.request('spawn', { file: '/bin/true', args: [], options: { stdio: 'ignore', cgroup: {}, cgroupParent } });
  t.ok(first.pid > 0, 'B starts a box');
  t.ok(exists(`/sys/class/net/${name}`), 'B\'s start leaves the bridge C holds');
  await c.kill();
  const d = await startSupervisor(t, { env });
  const next = await d.request('spawn', { file: '/bin/true', args: [], options: { stdio: 'ignore', cgroup: {}, cgroupParent } });
  t.ok(next.pid > 0, 'D starts a box after C was SIGKILLed too');
  t.notOk(exists(`/sys/class/net/${name}`), 'D\'s start swept the bridge nobody holds or uses');
  t.notOk(exists(`/run/cordon/bridges/${lockName(name)}`), 'with its lock file');
  await b.end();
  await d.end();
});

t.test('a sweep leaves a bridge with a port alone without taking its lock', async (t) => {
  // The supervisor whose last box on a bridge ends turns its shared lock
  // into an exclusive one to remove the bridge; flock does that in two
  // steps (the shared lock goes, then the exclusive one is asked for). A
  // sweep that took the lock in between (seen with a second suite running
  // beside this one) made that supervisor leave the bridge, then kept it
  // too, as the ending box's veth was still on it: it stayed until the
  // next sweep. A bridge with a port is in use or its box is ending, never
  // a sweep's to remove, so a sweep no longer locks it at all.
  if (!skipExpected(t, isRoot, 'unprivileged pass: bridges need root')) return;
  if (!requireOrSkip(t, usable(), `bridge networking: ${bridgeReason()}`)) return;
  const { name, subnet } = uniqueBridge(t, 'p');
  const b = await startSupervisor(t, { env: { CORDON_STATE_DIR: tempDir(t, 'state') } });
  const box = await b.request('spawn', { file: '/bin/sleep', args: ['1000'], options: { stdio: 'ignore', network: { bridge: name, subnet } } });
  t.ok(box.pid > 0, `a box runs on the bridge ${JSON.stringify(box.failed ?? '')}`);
  t.ok(fs.readdirSync(`/sys/class/net/${name}/brif`).length > 0, 'which has its veth as a port');
  const addon = require('../../dist/internal/native').native();
  const { removeUnusedBridges } = require('../../dist/bridge');
  const lockFile = addon.lockFile;
  const locked = [];
  addon.lockFile = function (...args) {
    locked.push(args[1]);
    return lockFile.apply(this, args);
  };
  let removed;
  try {
    removed = removeUnusedBridges();
  } finally {
    addon.lockFile = lockFile;
  }
  t.notOk(locked.some((file) => file.endsWith(`-${name}.lock`)), `the sweep did not lock it (locked: ${locked.join(', ') || 'none'})`);
  t.notOk(removed.includes(name), 'nor remove it');
  t.ok(exists(`/sys/class/net/${name}`), 'it is still there');
  await b.kill();
});
