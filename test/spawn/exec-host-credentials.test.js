// box.exec() into a box that runs with host credentials (namespaces.user
// 'host' as root, allowed with allowHostCredentials: true): the exec'd
// process is validated as the box was, not refused as "real root" (what
// `cordon oci exec` into a podman or containerd container needs).
'use strict';
const t = require('tap');

const { spawnIsolated } = require('../..');
const { isRoot } = require('../helpers/payload');
const { skipExpected } = require('../helpers/skip');

t.test('box.exec() into a host-credentials box', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: host credentials as root need root')) return;
  const box = spawnIsolated('/bin/sh', ['-c', 'echo READY; exec sleep 1000'], {
    namespaces: { user: 'host' }, allowHostCredentials: true, stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => box.kill('SIGKILL'));
  await new Promise((resolve) => box.stdout.once('data', resolve));
  const exec = box.exec('/bin/sh', ['-c', 'id -u; exit 4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  exec.stdout.on('data', (d) => out.push(d));
  exec.stderr.on('data', (d) => err.push(d));
  const result = await exec.exited;
  t.equal(result.code, 4, `the exec'd process ran: ${Buffer.concat(err)}`);
  t.equal(Buffer.concat(out).toString(), '0\n', 'as the box\'s (host) root');
  box.kill('SIGKILL');
  await box.exited.catch(() => undefined);
});
