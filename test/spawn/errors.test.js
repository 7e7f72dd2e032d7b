// One test per failing step: code, errno, syscall, step and path, like
// child_process's own spawn errors.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { skipExpected } = require('../helpers/skip');
const { spawnError, isRoot } = require('../helpers/payload');
const { CordonError } = require('../..');

function checkError(t, error, expected) {
  t.type(error, CordonError);
  for (const [key, value] of Object.entries(expected)) t.same(error[key], value, `error.${key}`);
  t.equal(error.errno, -os.constants.errno[error.code], 'errno is the negative of the code');
  t.ok(error.message.startsWith(`${error.syscall} ${error.code}`), `message starts like Node's: ${error.message}`);
  t.type(error.stepIndex, 'number');
}

t.test('missing binary: ENOENT at execve, like child_process', async (t) => {
  const { error, box } = await spawnError('/nonexistent/binary', ['a', 'b']);
  checkError(t, error, { code: 'ENOENT', syscall: 'spawn /nonexistent/binary', step: 'execve', path: '/nonexistent/binary', spawnargs: ['a', 'b'] });
  t.equal(box.pid, undefined);
  t.equal(box.exitCode, -2);
});

t.test('missing binary without an init', async (t) => {
  const { error } = await spawnError('/nonexistent/binary', [], { init: false });
  checkError(t, error, { code: 'ENOENT', step: 'execve', path: '/nonexistent/binary' });
});

t.test('a name not on the box PATH', async (t) => {
  const { error } = await spawnError('no-such-command-anywhere', [], { env: { PATH: '/usr/bin:/bin' } });
  checkError(t, error, { code: 'ENOENT', step: 'execve', path: 'no-such-command-anywhere' });
});

t.test('PATH search finds a command by name', async (t) => {
  const { runSh } = require('../helpers/payload');
  const result = await runSh('exit 0', { env: { PATH: '/nonexistent:/usr/bin:/bin' } });
  t.equal(result.code, 0);
});

t.test('a file that is not executable: EACCES', async (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-')), 'not-executable');
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  fs.chmodSync(path.dirname(file), 0o755);
  t.teardown(() => removeTree(path.dirname(file)));
  // The box has its own /tmp: the host's temp dir is bound in.
  const { error } = await spawnError(file, [], { mounts: [{ type: 'bind', source: path.dirname(file), target: path.dirname(file) }] });
  checkError(t, error, { code: 'EACCES', step: 'execve', path: file });
  t.ok(error.hint, 'with a hint');
});

t.test('a binary the kernel cannot run: ENOEXEC', async (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-')), 'garbage');
  fs.writeFileSync(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]), { mode: 0o755 });
  fs.chmodSync(path.dirname(file), 0o755);
  t.teardown(() => removeTree(path.dirname(file)));
  const { error } = await spawnError(file, [], { mounts: [{ type: 'bind', source: path.dirname(file), target: path.dirname(file) }] });
  checkError(t, error, { code: 'ENOEXEC', step: 'execve', path: file });
});

t.test('a cwd that does not exist', async (t) => {
  const { error } = await spawnError('/bin/true', [], { cwd: '/nonexistent-dir' });
  checkError(t, error, { code: 'ENOENT', syscall: 'chdir', step: 'chdir', path: '/nonexistent-dir' });
});

t.test('a cwd that is a file', async (t) => {
  const { error } = await spawnError('/bin/true', [], { cwd: '/etc/passwd' });
  checkError(t, error, { code: 'ENOTDIR', step: 'chdir', path: '/etc/passwd' });
});

t.test('a namespace path that does not exist', async (t) => {
  const { error } = await spawnError('/bin/true', [], { namespaces: { net: { path: '/proc/999999999/ns/net' } } });
  t.type(error, CordonError);
  t.equal(error.code, 'ENOENT');
  t.equal(error.errno, -2);
  t.equal(error.syscall, 'open');
  t.equal(error.step, 'open net namespace');
  t.equal(error.path, '/proc/999999999/ns/net');
});

t.test('a namespace path that is not a namespace', async (t) => {
  const { error } = await spawnError('/bin/true', [], { namespaces: { net: { path: '/etc/passwd' } } });
  checkError(t, error, { code: 'EINVAL', syscall: 'setns', step: 'join net namespace', path: '/etc/passwd' });
});

t.test('a namespace of the wrong kind', async (t) => {
  const { error } = await spawnError('/bin/true', [], { namespaces: { uts: { path: '/proc/self/ns/ipc' } } });
  checkError(t, error, { code: 'EINVAL', step: 'join uts namespace', path: '/proc/self/ns/ipc' });
});

t.test('a namespace fd that is not open', async (t) => {
  const { error } = await spawnError('/bin/true', [], { namespaces: { net: { fd: 987 } } });
  checkError(t, error, { code: 'EBADF', step: 'join net namespace', path: 'fd 987' });
});

t.test('an id map the kernel would refuse is refused before anything runs', async (t) => {
  // Outside ranges that overlap are refused by the kernel (EINVAL at 'write
  // uid_map'); cordon checks them with the inside ones, so it never gets there.
  const { CordonOptionError } = require('../..');
  const uidMap = [{ inside: 0, outside: 100000, count: 10 }, { inside: 10, outside: 100005, count: 10 }];
  const { spawnIsolated } = require('../..');
  t.throws(() => spawnIsolated('/bin/true', [], { uidMap }), { constructor: CordonOptionError, code: 'ERR_INVALID_ARG_VALUE', option: 'uidMap', message: /overlapping outside ranges/ });
});

t.test('an unprivileged caller\'s id outside its grants is refused before anything runs', async (t) => {
  if (!skipExpected(t, !isRoot, 'root pass (root may map any id)')) return;
  const { error } = await spawnError('/bin/true', [], { uidMap: [{ inside: 0, outside: 0, count: 1 }] });
  t.equal(error.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.equal(error.step, 'write uid_map');
  t.match(error.message, /not granted|not installed/);
  t.ok(error.hint === undefined || /subuid/.test(error.hint));
});

t.test('an unmappable uid inside a joined user namespace', async (t) => {
  const { spawnIsolated } = require('../..');
  const holder = spawnIsolated('/bin/sleep', ['30'], { stdio: 'ignore', init: false });
  await new Promise((resolve) => holder.once('spawn', resolve));
  t.teardown(() => holder.kill('SIGKILL'));
  const { error } = await spawnError('/bin/true', [], {
    namespaces: { pid: 'host', user: { path: `/proc/${holder.pid}/ns/user` } },
    uid: 4242,
  });
  checkError(t, error, { code: 'EINVAL', syscall: 'setresuid', step: 'set uid and gid' });
});

t.test('the spawn error of a failed step is also what exited rejects with', async (t) => {
  const { spawnIsolated } = require('../..');
  const box = spawnIsolated('/nonexistent', []);
  const events = [];
  box.on('spawn', () => events.push('spawn'));
  box.on('exit', () => events.push('exit'));
  box.on('close', (code) => events.push(`close ${code}`));
  const emitted = new Promise((resolve) => box.on('error', (e) => { events.push('error'); resolve(e); }));
  const rejected = await box.exited.then(() => undefined, (e) => e);
  t.equal(rejected, await emitted);
  t.same(events, ['error', 'close -2']);
});

t.test('an unhandled spawn error throws when exited is not observed', async (t) => {
  const { spawnSync } = require('node:child_process');
  const script = `require(${JSON.stringify(path.join(__dirname, '..', '..'))}).spawnIsolated('/nonexistent', [])`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.not(result.status, 0, 'the process fails');
  t.match(result.stderr, /spawn \/nonexistent ENOENT/);
  t.match(result.stderr, /Unhandled 'error' event/);
});

t.test('a failure whose exited was looked at but never handled is not lost', async (t) => {
  const { spawnSync } = require('node:child_process');
  const entry = JSON.stringify(require('node:path').join(__dirname, '..', '..'));
  const unhandled = spawnSync(process.execPath, ['-e', `
    const { spawnIsolated } = require(${entry});
    const box = spawnIsolated('/nonexistent');
    const seen = box.exited; // looked at, never handled
  `], { encoding: 'utf8' });
  t.not(unhandled.status, 0, 'node fails, as for any unhandled rejection');
  t.match(unhandled.stderr, /ENOENT/, 'and prints the spawn error');
  const handled = spawnSync(process.execPath, ['-e', `
    const { spawnIsolated } = require(${entry});
    spawnIsolated('/nonexistent').exited.catch((error) => console.log('handled', error.code));
  `], { encoding: 'utf8' });
  t.equal(handled.status, 0, handled.stderr);
  t.equal(handled.stdout, 'handled ENOENT\n');
  const listened = spawnSync(process.execPath, ['-e', `
    const { spawnIsolated } = require(${entry});
    spawnIsolated('/nonexistent').on('error', (error) => console.log('error event', error.code));
  `], { encoding: 'utf8' });
  t.equal(listened.status, 0, listened.stderr);
  t.equal(listened.stdout, 'error event ENOENT\n');
});
