// Seccomp, proven from inside the box with a probe that makes one system
// call and reports the kernel's answer (test/seccomp/seccomp-probe.c).
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const { run } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-seccomp-box-'));
fs.chmodSync(dir, 0o755);
t.teardown(() => removeTree(dir));
const probe = path.join(dir, 'seccomp-probe');
const build = spawnSync('cc', ['-O1', '-o', probe, path.join(__dirname, '..', 'seccomp', 'seccomp-probe.c'), '-pthread'], { encoding: 'utf8' });
const built = build.status === 0;
const bind = { mounts: [{ type: 'bind', source: dir, target: dir }] };

// "-": the probe installs nothing itself; the box's own filter answers.
async function call(what, options = {}, ...args) {
  const result = await run(probe, ['-', what, ...args], { ...bind, ...options });
  return result.signal ? `signal ${result.signal}` : result.stdout.trim();
}

t.test('the box runs under a filter by default', async (t) => {
  const result = await run('/bin/sh', ['-c', 'grep ^Seccomp: /proc/self/status; echo ordinary programs run']);
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')), ['Seccomp: 2', 'ordinary programs run']);
  const none = await run('/bin/grep', ['^Seccomp:', '/proc/self/status'], { seccomp: false });
  t.match(none.stdout, /Seccomp:\s+0/, 'seccomp: false installs none');
});

t.test('each denied call of the default profile returns EPERM', async (t) => {
  if (!requireOrSkip(t, built, `no C compiler: ${build.stderr ?? build.error}`)) return;
  for (const what of ['keyctl', 'add_key', 'bpf', 'perf_event_open', 'userfaultfd', 'kexec_load', 'init_module', 'reboot', 'swapon', 'settimeofday', 'clock_settime', 'acct', 'open_by_handle_at', 'mount', 'pivot_root', 'setns']) {
    t.equal(await call(what), 'err 1', `${what}: EPERM`);
  }
  t.match(await call('getpid'), /^ok /, 'ordinary calls work');
});

t.test('terminal injection ioctls are refused, other ioctls pass', async (t) => {
  if (!requireOrSkip(t, built, 'no C compiler')) return;
  const cases = fs.readFileSync(path.join(__dirname, '..', 'seccomp', 'seccomp-probe.c'), 'utf8');
  if (!requireOrSkip(t, /"tiocsti"/.test(cases), 'the probe has no tiocsti case')) return;
  t.equal(await call('tiocsti'), 'err 1');
  t.equal(await call('tioclinux'), 'err 1');
  t.not(await call('tcgets'), 'err 1', 'an ordinary ioctl is not refused by the filter');
});

t.test('custom rules: a denied call with its own errno, a kill, an allowed one', async (t) => {
  if (!requireOrSkip(t, built, 'no C compiler')) return;
  t.equal(await call('getppid', { seccomp: { deny: [{ syscall: 'getppid', action: { errno: 'EACCES' } }] } }), 'err 13');
  t.equal(await call('getppid', { seccomp: { deny: [{ syscall: 'getppid', action: 'kill-process' }] } }), 'signal SIGSYS');
  t.equal(await call('io_uring_setup'), 'err 1', 'io_uring_setup is denied by default');
  const allowed = await call('io_uring_setup', { seccomp: { allow: ['io_uring_setup'] } });
  t.not(allowed, 'err 1', `allowed, the kernel answers for itself (${allowed})`);
});

t.test('allowlist mode', async (t) => {
  const result = await run('/bin/true', [], { seccomp: { mode: 'allowlist', allow: ['execve', 'exit_group', 'brk', 'mmap', 'munmap', 'mprotect', 'arch_prctl', 'access', 'openat', 'newfstatat', 'fstat', 'close', 'read', 'pread64', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'getrandom'] }, init: false });
  t.equal(result.code, 0, result.stderr);
  const refused = await run('/bin/sh', ['-c', 'true'], { seccomp: { mode: 'allowlist', allow: ['execve', 'exit_group'] } });
  t.not(refused.code, 0, 'a shell cannot start with only execve and exit_group');
});
