// The compiled programs in the real kernel: a small C helper (seccomp-probe.c,
// built here with cc) installs a program the way cordon's child does
// (no_new_privs, then seccomp(SECCOMP_SET_MODE_FILTER)) and makes one call.
// Runs as root and as an unprivileged user alike.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const t = require('tap');
const seccomp = require('../../dist/seccomp');
const { requireOrSkip } = require('../helpers/skip');

const EPERM = 1;
const ENOSYS = 38;
const EXDEV = 18;
const host = process.arch;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-seccomp-'));
t.teardown(() => removeTree(work));

const probe = path.join(work, 'seccomp-probe');
const build = spawnSync('cc', ['-O1', '-Wall', '-o', probe, path.join(__dirname, 'seccomp-probe.c'), '-pthread'], {
  encoding: 'utf8',
});
const built = build.status === 0;
const hasSeccomp = fs.existsSync('/proc/sys/kernel/seccomp/actions_avail');
const supported = host === 'x64' || host === 'arm64';

let counter = 0;
function programFile(policy, arch = host) {
  const file = path.join(work, `program-${counter++}.bpf`);
  fs.writeFileSync(file, seccomp.compileSeccomp(policy, arch));
  return file;
}

function run(program, what, ...args) {
  const result = spawnSync(probe, [program, what, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  return { out: result.stdout.trim(), status: result.status, signal: result.signal, stderr: result.stderr };
}

t.test('the helper builds', async (t) => {
  if (!requireOrSkip(t, supported, `no seccomp programs for ${host}`)) return;
  if (!requireOrSkip(t, hasSeccomp, 'the kernel has no seccomp filters')) return;
  if (!requireOrSkip(t, build.error === undefined, `no C compiler (cc): ${build.error?.message}`)) return;
  t.equal(build.status, 0, `cc: ${build.stderr}`);
});

const ready = supported && hasSeccomp && built;

t.test('default profile in the kernel', async (t) => {
  if (!requireOrSkip(t, ready, 'the helper is not built')) return;
  const program = programFile({});
  t.same(run(program, 'nothing'), { out: 'ok 0', status: 0, signal: null, stderr: '' }, 'the kernel accepts the program');
  t.equal(run(program, 'status').out, 'ok 12', '/proc/self/status: NoNewPrivs 1, Seccomp 2 (filter)');
  t.equal(run(program, 'getpid').out.split(' ')[0], 'ok', 'getpid works');

  const refused = [
    'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'kexec_load',
    'init_module', 'delete_module', 'reboot', 'swapon', 'settimeofday', 'clock_settime', 'adjtimex', 'syslog', 'acct',
    'open_by_handle_at', 'name_to_handle_at', 'mount', 'umount2', 'pivot_root', 'setns', 'unshare-user',
    'clone-newuser', 'tiocsti', 'tiocsti-high', 'tioclinux',
  ];
  for (const what of refused) t.equal(run(program, what).out, `err ${EPERM}`, `${what}: EPERM`);
  t.equal(run(program, 'clone3').out, `err ${ENOSYS}`, 'clone3: ENOSYS');

  // Without the filter these answer something else (root or not), so the EPERM
  // above is the filter's.
  const baseline = {
    adjtimex: /^ok \d+$/,
    clock_settime: 'err 14',
    keyctl: /^err (95|22)$/,
    mount: 'err 14',
    name_to_handle_at: /^err (75|95)$/,
    tiocsti: 'err 25',
    tiocsti_high: 'err 25',
    tioclinux: 'err 25',
    clone3: 'err 22',
    setns: 'err 9',
  };
  for (const [what, expected] of Object.entries(baseline)) {
    t.match(run('-', what.replace('_high', '-high')).out, expected, `${what} without the filter`);
  }

  // What ordinary programs need still works.
  t.equal(run(program, 'fork').out, 'ok 7', 'fork (clone without namespace flags)');
  t.equal(run(program, 'thread').out, 'ok 0', 'pthread_create (clone3 ENOSYS, glibc falls back to clone)');
  t.equal(run(program, 'unshare-fs').out, 'ok 0', 'unshare(CLONE_FS)');
  t.equal(run(program, 'tcgets').out, 'err 25', 'TCGETS reaches the driver (ENOTTY on /dev/null)');
  t.equal(run(program, 'fionread').out, 'ok 0', 'FIONREAD on a pipe');
  const sh = run(program, 'exec', '/bin/sh', '-c', 'echo ran; true');
  t.same([sh.out, sh.status], ['ran', 0], '/bin/sh -c runs after the install (execve allowed)');
  const node = run(
    program,
    'exec',
    process.execPath,
    '-e',
    "const { Worker } = require('node:worker_threads');" +
      "const fs = require('node:fs');" +
      "fs.readFileSync('/proc/self/status', 'utf8').includes('Seccomp:\\t2') || process.exit(5);" +
      "new Worker('require(\"node:worker_threads\").parentPort.postMessage(6*7)', { eval: true })" +
      ".on('message', (m) => console.log('node ok', m));",
  );
  t.same([node.out, node.status], ['node ok 42', 0], `a Node program with a worker thread runs: ${node.stderr}`);
  const python = ['/usr/bin/python3', '/bin/python3'].find((file) => fs.existsSync(file));
  if (python) {
    const py = run(program, 'exec', python, '-c', 'import threading, subprocess; t = threading.Thread(target=print, args=("py ok",)); t.start(); t.join(); subprocess.run(["true"], check=True)');
    t.same([py.out, py.status], ['py ok', 0], `a Python program with a thread and a subprocess runs: ${py.stderr}`);
  }
});

t.test('architecture checks in the kernel', async (t) => {
  if (!requireOrSkip(t, ready, 'the helper is not built')) return;
  const program = programFile({});
  if (host === 'x64') {
    const x32 = run(program, 'x32-getpid');
    t.equal(x32.signal, 'SIGSYS', 'an x32 syscall kills the process');
    t.equal(x32.out, '', 'before it could say anything');
    const baseline = run('-', 'int80-getpid');
    if (baseline.signal === null && /^ok \d+$/.test(baseline.out)) {
      t.equal(run(program, 'int80-getpid').signal, 'SIGSYS', 'an i386 syscall (int 0x80) kills the process');
    } else {
      t.comment(`no i386 syscalls on this kernel (${baseline.signal ?? baseline.out}): int 0x80 not checked`);
    }
  }
  // The other architecture's program: the kernel accepts it, and its arch
  // check kills this process at its next call.
  const other = host === 'x64' ? 'arm64' : 'x64';
  const foreign = run(programFile({}, other), 'nothing');
  t.equal(foreign.signal, 'SIGSYS', `the ${other} program loads and kills a ${host} process`);
  t.equal(foreign.out, '', 'at its first call after the install');
});

t.test('custom actions in the kernel', async (t) => {
  if (!requireOrSkip(t, ready, 'the helper is not built')) return;
  const program = programFile({
    deny: [
      { syscall: 'getppid', action: { errno: 'EXDEV' } },
      { syscall: 'getpgid', action: 'kill-process' },
      { syscall: 'getsid', action: 'kill' },
      { syscall: 'gettid', action: 'trap' },
      { syscall: 'sysinfo', action: 'log' },
    ],
    allow: ['keyctl'],
  });
  t.equal(run(program, 'getppid').out, `err ${EXDEV}`, 'errno by name');
  t.equal(run(program, 'getpgid').signal, 'SIGSYS', 'kill-process');
  t.equal(run(program, 'getsid').signal, 'SIGSYS', 'kill (the only thread)');
  t.equal(run(program, 'gettid').out, `sigsys ${(host === 'x64' ? seccomp.SYSCALLS_X86_64 : seccomp.SYSCALLS_AARCH64).get('gettid')}`, 'trap: SIGSYS caught');
  t.equal(run(program, 'sysinfo').out, 'ok 0', 'log: the call runs');
  t.not(run(program, 'keyctl').out, `err ${EPERM}`, 'allow lifted the profile refusal');
  t.equal(run(program, 'bpf').out, `err ${EPERM}`, 'the rest of the profile holds');
});

t.test('allowlist mode in the kernel', async (t) => {
  if (!requireOrSkip(t, ready, 'the helper is not built')) return;
  const allow = ['execve', 'write', 'exit_group', 'getpid'];
  const errnoProgram = programFile({ mode: 'allowlist', allow });
  t.match(run(errnoProgram, 'getpid').out, /^ok \d+$/, 'a permitted call');
  t.equal(run(errnoProgram, 'getppid').out, `err ${EPERM}`, 'anything else: EPERM');
  t.equal(run(errnoProgram, 'clone3').out, `err ${ENOSYS}`, 'clone3: the ENOSYS of the profile');
  const killProgram = programFile({ mode: 'allowlist', allow, defaultAction: 'kill-process' });
  t.match(run(killProgram, 'getpid').out, /^ok \d+$/, 'a permitted call');
  t.equal(run(killProgram, 'getppid').signal, 'SIGSYS', 'anything else: killed');
});

t.test('a long program with far jumps in the kernel', async (t) => {
  if (!requireOrSkip(t, ready, 'the helper is not built')) return;
  const keep = new Set(['execve', 'write', 'exit_group', 'exit', 'getpid', 'rt_sigreturn']);
  const names = [...(host === 'x64' ? seccomp.SYSCALLS_X86_64 : seccomp.SYSCALLS_AARCH64).keys()].filter((name) => !keep.has(name));
  const deny = names.map((syscall, i) => ({ syscall, action: { errno: 100 + i } }));
  const bytes = seccomp.compileSeccomp({ profile: 'none', deny });
  t.ok(bytes.length / 8 > 600, `${bytes.length / 8} instructions`);
  const program = programFile({ profile: 'none', deny });
  t.match(run(program, 'getpid').out, /^ok \d+$/, 'the kernel accepts it; getpid allowed');
  t.equal(run(program, 'getppid').out, `err ${100 + names.indexOf('getppid')}`, 'getppid gets its own errno');
  t.equal(run(program, 'bpf').out, `err ${100 + names.indexOf('bpf')}`, 'bpf gets its own errno');
});

t.test('argument conditions in the kernel: 64-bit registers, both words', async (t) => {
  if (!requireOrSkip(t, ready, 'the helper is not built')) return;
  const hex = (v) => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
  const call = (program, args) => run(program, 'getppid-args', ...[0, 0, 0, 0, 0, 0].map((zero, i) => hex(args[i] ?? zero))).out;
  const cases = [
    // [condition, argument index, values that hold, values that do not]
    [{ op: 'eq', value: 0x100000005n }, 3, [0x100000005n], [5n, 0x200000005n, 0x100000004n, 0n]],
    [{ op: 'ne', value: 0xffffffffn }, 0, [0x1ffffffffn, 0n, -1], [0xffffffffn]],
    [{ op: 'gt', value: 0x100000000n }, 5, [0x100000001n, 0x200000000n, -1], [0x100000000n, 0xffffffffn, 0n]],
    [{ op: 'ge', value: 0x8000000000000000n }, 1, [0x8000000000000000n, -1], [0x7fffffffffffffffn, 0xffffffffn]],
    [{ op: 'lt', value: 0x100000000n }, 2, [0xffffffffn, 0n], [0x100000000n, 0x100000001n, -1]],
    [{ op: 'le', value: 0x1ffffffffn }, 4, [0x1ffffffffn, 0x100000000n, 7n], [0x200000000n, -1]],
    [{ op: 'maskedEq', value: 0xffffffffn, valueTwo: 40n }, 0, [40n, 0x100000028n, 0xffffffff00000028n], [41n, 0x28n << 32n]],
    [{ op: 'maskedEq', value: 0xff00000000000000n, valueTwo: 0x8000000000000000n }, 2, [0x80000000deadbeefn, 0x8000000000000000n], [0x4000000000000000n, 0xdeadbeefn]],
  ];
  for (const [condition, index, hold, fail] of cases) {
    const program = programFile({ profile: 'none', deny: [{ syscall: 'getppid', action: { errno: EXDEV }, args: [{ index, ...condition }] }] });
    const label = `${condition.op} ${hex(condition.value)}${condition.valueTwo === undefined ? '' : ` ${hex(condition.valueTwo)}`} on arg ${index}`;
    for (const value of hold) {
      const args = [];
      args[index] = value;
      t.equal(call(program, args), `err ${EXDEV}`, `${label}: ${hex(value)} holds`);
    }
    for (const value of fail) {
      const args = [];
      args[index] = value;
      t.equal(call(program, args), 'ok 1', `${label}: ${hex(value)} does not`);
    }
  }
  // Two conditions ANDed, two rules ORed.
  const program = programFile({
    profile: 'none',
    deny: [
      { syscall: 'getppid', action: { errno: EXDEV }, args: [{ index: 0, op: 'eq', value: 16 }, { index: 2, op: 'eq', value: 9 }] },
      { syscall: 'getppid', action: { errno: EPERM }, args: [{ index: 0, op: 'eq', value: 40 }] },
    ],
  });
  t.equal(call(program, [16, 0, 9]), `err ${EXDEV}`, 'both conditions hold');
  t.equal(call(program, [16, 0, 8]), 'ok 1', 'one condition only');
  t.equal(call(program, [16, 0, 0x100000009n]), 'ok 1', 'the low word only');
  t.equal(call(program, [40]), `err ${EPERM}`, 'the second rule');
});
