// Logs: stdio entries that name a file, and real pipes a payload can reopen
// as /dev/stderr (servers log there).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { spawnIsolated, CordonOptionError } = require('../..');
const { run, runSh, spawnError, isRoot } = require('../helpers/payload');
const { removeTree } = require('../helpers/remove-tree');

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-logs-'));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => removeTree(dir));
  return dir;
}



t.test('/dev/stderr and /dev/stdout can be opened with real pipes, not with socket pairs', async (t) => {
  const script = 'echo to-stderr > /dev/stderr && echo to-stdout > /dev/stdout && echo done';
  const sockets = await runSh(script);
  t.not(sockets.code, 0, 'on a socket pair the open fails');
  t.match(sockets.stderr, /No such device or address/, 'with ENXIO');
  const pipes = await runSh(script, { stdioPipes: 'pipe' });
  t.equal(pipes.code, 0);
  t.equal(pipes.stderr, 'to-stderr\n');
  t.equal(pipes.stdout, 'to-stdout\ndone\n');
});

t.test('stdin as a real pipe: /dev/stdin reads what the parent writes', async (t) => {
  const box = spawnIsolated('/bin/sh', ['-c', 'cat /dev/stdin'], { stdioPipes: 'pipe' });
  let out = '';
  box.stdout.on('data', (d) => (out += d));
  box.stdin.end('through a pipe\n');
  const { code } = await box.exited;
  t.equal(code, 0);
  t.equal(out, 'through a pipe\n');
});

t.test('a log file: made with its mode and owner, appended by two boxes, reopened through /proc/self/fd', async (t) => {
  const dir = scratch(t);
  const log = path.join(dir, 't1.log');
  const lines = (tag) => `for i in 1 2 3 4 5 6 7 8 9 10; do echo "${tag} $i"; done; echo "${tag} reopened" >> /dev/stdout; echo "${tag} err" >> /proc/self/fd/2`;
  const [a, b] = await Promise.all([
    runSh(lines('a'), { stdio: ['ignore', { file: log }, { file: log }] }),
    runSh(lines('b'), { stdio: ['ignore', { file: log }, { file: log }] }),
  ]);
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  t.equal(a.box.stdout, null, 'no stream for a file fd');
  const written = fs.readFileSync(log, 'utf8').trim().split('\n').sort();
  const expected = ['a', 'b'].flatMap((tag) => [...Array.from({ length: 10 }, (_, i) => `${tag} ${i + 1}`), `${tag} reopened`, `${tag} err`]).sort();
  t.same(written, expected, 'every line of both boxes, none overwritten');
  const stat = fs.statSync(log);
  t.equal(stat.mode & 0o777, 0o620, 'mode 0620 by default, whatever the umask');
  t.equal(stat.uid, process.geteuid(), 'owned by the caller');
  t.equal(stat.gid, process.getegid(), 'and the caller\'s group: the box reopens its pipe, never the file');

  const custom = path.join(dir, 'custom.log');
  const old = process.umask(0o077);
  try {
    await runSh('echo x', { stdio: ['ignore', { file: custom, mode: 0o604 }, 'ignore'] });
  } finally {
    process.umask(old);
  }
  t.equal(fs.statSync(custom).mode & 0o777, 0o604, 'the mode asked for, not masked by the umask');
});

t.test('the payload cannot chmod or chown its log file (a setuid file of its uid on the host)', async (t) => {
  const dir = scratch(t);
  const log = path.join(dir, 'attack.log');
  const attack = await runSh('chmod 4777 /proc/self/fd/1; chown 0:0 /proc/self/fd/1; echo tried', { stdio: ['ignore', { file: log }, 'ignore'] });
  t.equal(attack.code, 0);
  t.equal(fs.readFileSync(log, 'utf8'), 'tried\n', 'the box wrote through its fd');
  const stat = fs.statSync(log);
  t.equal(stat.mode & 0o7777, 0o620, 'the file\'s mode is unchanged: the box\'s fd is a pipe, not the file');
  t.equal(stat.uid, process.geteuid(), 'so is its owner');
  t.equal(stat.gid, process.getegid(), 'and its group');
});

t.test('an existing log file keeps its owner and mode and is appended to', async (t) => {
  const dir = scratch(t);
  const log = path.join(dir, 'existing.log');
  fs.writeFileSync(log, 'first\n', { mode: 0o666 });
  fs.chmodSync(log, 0o666);
  const { code } = await runSh('echo second', { stdio: ['ignore', { file: log }, 'ignore'] });
  t.equal(code, 0);
  t.equal(fs.readFileSync(log, 'utf8'), 'first\nsecond\n');
  const stat = fs.statSync(log);
  t.equal(stat.mode & 0o777, 0o666);
  t.equal(stat.uid, process.geteuid());
});

t.test('bad log paths: symlinks, missing directories, not a regular file', async (t) => {
  const dir = scratch(t);
  fs.mkdirSync(path.join(dir, 'real'));
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  fs.symlinkSync('/etc/passwd', path.join(dir, 'planted.log'));
  const cases = [
    [path.join(dir, 'link', 'x.log'), 'ELOOP', 'openat2'],
    [path.join(dir, 'planted.log'), 'ELOOP', 'openat'],
    [path.join(dir, 'missing', 'x.log'), 'ENOENT', 'openat2'],
    [path.join(dir, 'real'), 'EISDIR', 'openat'],
  ];
  for (const [file, code, syscall] of cases) {
    const { error } = await spawnError('/bin/true', [], { stdio: ['ignore', { file }, 'ignore'] });
    t.equal(error.code, code, `${file}: ${code}`);
    t.equal(error.syscall, syscall);
    t.equal(error.step, 'stdio[1] file');
    t.equal(error.path, file);
  }
  t.notOk(fs.existsSync(path.join(dir, 'real', 'x.log')), 'nothing made through the link');
  require('node:child_process').execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  const fifo = await spawnError('/bin/true', [], { stdio: ['ignore', { file: path.join(dir, 'fifo') }, 'ignore'] });
  t.equal(fifo.error.code, 'ENXIO', 'a FIFO without a reader does not block the supervisor');
  const reader = fs.openSync(path.join(dir, 'fifo'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  const withReader = await spawnError('/bin/true', [], { stdio: ['ignore', { file: path.join(dir, 'fifo') }, 'ignore'] });
  t.equal(withReader.error.code, 'EINVAL', 'nor a FIFO with one: a regular file only');
  t.match(withReader.error.hint, /not a regular file/);
});

t.test('bad options', async (t) => {
  for (const [options, code] of [
    [{ stdio: [{ file: '/tmp/x.log' }] }, 'ERR_INVALID_ARG_VALUE'],
    [{ stdio: ['ignore', { file: 'x.log' }] }, 'ERR_INVALID_ARG_VALUE'],
    [{ stdio: ['ignore', { file: '/tmp/x.log', mode: 0o1000 }] }, 'ERR_INVALID_ARG_VALUE'],
    [{ stdio: ['ignore', { file: '/tmp/x.log', flags: 'w' }] }, 'ERR_CORDON_UNKNOWN_OPTION'],
    [{ stdioPipes: 'fifo' }, 'ERR_INVALID_ARG_VALUE'],
  ]) {
    let thrown;
    try {
      spawnIsolated('/bin/true', [], options);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof CordonOptionError && thrown.code === code, `${JSON.stringify(options)}: ${code}`, { thrown: thrown?.message });
  }
});

t.test('no fd of the parent is left behind', async (t) => {
  const dir = scratch(t);
  await run('/bin/true', [], { stdioPipes: 'pipe', stdio: ['pipe', 'pipe', { file: path.join(dir, 'x.log') }] });
  const before = fs.readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 10; i++) await run('/bin/true', [], { stdioPipes: 'pipe', stdio: ['pipe', 'pipe', { file: path.join(dir, 'x.log') }] });
  await spawnError('/bin/true', [], { stdioPipes: 'pipe', stdio: ['pipe', 'pipe', { file: path.join(dir, 'missing', 'x.log') }] });
  t.equal(fs.readdirSync('/proc/self/fd').length, before);
});

t.test('the payload cannot truncate or rewrite its log file, whatever it does with its fd', async (t) => {
  const dir = scratch(t);
  const log = path.join(dir, 'kept.log');
  fs.writeFileSync(log, 'before the box\n');
  // Every way a payload could cut or overwrite what is there: ftruncate on
  // its fd, a reopen through /proc/self/fd with O_TRUNC (a shell's `>`), and
  // F_SETFL dropping O_APPEND then a write at offset 0.
  const attack = [
    'echo one',
    'perl -e \'truncate(STDOUT, 0) or print STDERR "ftruncate: $!\\n"\'',
    ': > /proc/self/fd/1',
    'echo two > /dev/stdout',
    'perl -MFcntl -e \'fcntl(STDOUT, F_SETFL, 0); sysseek(STDOUT, 0, 0); syswrite(STDOUT, "XXXX")\'',
    'echo three',
  ].join('; ');
  const result = await runSh(attack, { stdio: ['ignore', { file: log }, 'ignore'] });
  t.equal(result.code, 0);
  const written = fs.readFileSync(log, 'utf8');
  t.ok(written.startsWith('before the box\n'), `what was there before stays: ${JSON.stringify(written)}`);
  t.match(written, /one\n/, 'the first line stays');
  t.match(written, /two\n/, 'a reopen of /dev/stdout still writes');
  t.match(written, /three\n$/, 'and the last line is appended');
  t.equal(written.length, 'before the box\none\ntwo\nXXXXthree\n'.length, 'nothing was cut');
});

t.test('a log file that fills up: the box goes on, a warning says why', async (t) => {
  if (!require('../helpers/skip').skipExpected(t, isRoot, 'unprivileged pass: a small filesystem to fill needs a tmpfs mount (root)')) return;
  const dir = scratch(t);
  const { execFileSync } = require('node:child_process');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'cordon-logs-full', dir]);
  t.teardown(() => execFileSync('umount', [dir]));
  const log = path.join(dir, 'full.log');
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const result = await runSh('head -c 1048576 /dev/zero; echo done >&2', { stdio: ['ignore', { file: log }, 'pipe'] });
  t.equal(result.code, 0, 'the box wrote 1 MiB and ended: it never blocked on the pipe');
  t.equal(result.stderr, 'done\n');
  await new Promise((resolve) => setImmediate(resolve));
  const warning = warnings.find((w) => w.step === 'stdio[1] file');
  t.ok(warning, `a warning: ${warning?.message}`);
  t.equal(warning?.code, 'ENOSPC', 'ENOSPC');
  t.equal(warning?.syscall, 'write');
  t.equal(warning?.path, log);
  t.ok(fs.statSync(log).size <= 64 * 1024, 'the file holds what fit');
});
