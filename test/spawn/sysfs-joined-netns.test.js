// A sysfs mount in a box that joins a network namespace by path (podman's
// default network): it shows that namespace, the box's own, never the host's.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const t = require('tap');
const { spawnIsolated, CordonOptionError } = require('../..');
const { isRoot, runSh, spawnError } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');

/** A process of our own in a new net namespace (only lo), ended on teardown. */
async function netnsHolder(t) {
  const holder = spawn('unshare', ['--net', 'sh', '-c', 'echo ready; exec sleep 1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    holder.stdout.once('data', resolve);
    holder.once('exit', (code) => reject(new Error(`unshare --net ended with ${code}`)));
  });
  return `/proc/${holder.pid}/ns/net`;
}

t.test('sysfs with the host\'s network namespace is still refused', async (t) => {
  for (const options of [{ network: 'host' }, { namespaces: { net: 'host' } }]) {
    let thrown;
    try {
      spawnIsolated('/bin/true', [], { ...options, mounts: [{ type: 'sysfs', target: '/sys' }] });
    } catch (error) {
      thrown = error;
    }
    t.type(thrown, CordonOptionError);
    t.match(thrown, { code: 'ERR_CORDON_CONFLICTING_OPTIONS', option: 'mounts[0]' });
  }
});

t.test('a joined network namespace: sysfs shows it, not the host\'s interfaces', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: making a net namespace to join without a user namespace needs root')) return;
  const hostInterfaces = fs.readdirSync('/sys/class/net').filter((name) => name !== 'lo');
  if (!requireOrSkip(t, hostInterfaces.length > 0, 'a host interface besides lo, to tell the namespaces apart')) return;
  const netns = await netnsHolder(t);
  const result = await runSh('ls /sys/class/net; grep -c . /proc/net/dev', {
    namespaces: { user: 'host', net: { path: netns } }, allowHostCredentials: true, mounts: [{ type: 'sysfs', target: '/sys' }],
  });
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['lo', '3'], 'lo alone, in sysfs as in /proc/net/dev');
  // In a user namespace of its own the box cannot even join it (setns needs
  // CAP_SYS_ADMIN over the namespace's owner): no sysfs of it either.
  const { error } = await spawnError('/bin/true', [], { namespaces: { net: { path: netns } }, mounts: [{ type: 'sysfs', target: '/sys' }] });
  t.match(error, { code: 'EPERM', step: 'join net namespace' }, 'a box in its own user namespace cannot join the host-owned netns');
});
