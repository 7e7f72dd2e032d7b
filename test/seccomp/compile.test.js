// compileSeccomp(): every program is checked as the kernel would check it and
// run through an independent BPF interpreter, over every syscall number of the
// architecture and the argument values the profile tests.
'use strict';
const t = require('tap');
const seccomp = require('../../dist/seccomp');
const bpf = require('./bpf-interpreter');

const ARCHES = ['x64', 'arm64'];
const AUDIT = { x64: 0xc000003e, arm64: 0xc00000b7 };
const AUDIT_I386 = 0x40000003;
const AUDIT_ARM = 0x40000028;
const TABLE = { x64: seccomp.SYSCALLS_X86_64, arm64: seccomp.SYSCALLS_AARCH64 };
const EPERM = 1;
const ENOSYS = 38;

// The default profile, written out here as the specification the compiled
// program must meet (not read from the library).
const PROFILE_EPERM = [
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'reboot', 'swapon', 'swapoff',
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'acct', 'quotactl', 'quotactl_fd', 'syslog',
  'vhangup', 'iopl', 'ioperm', 'add_key', 'keyctl', 'request_key', 'bpf', 'perf_event_open', 'fanotify_init', 'userfaultfd',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'open_by_handle_at', 'name_to_handle_at', 'mount',
  'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'open_tree_attr',
  'mount_setattr', 'setns', 'lookup_dcookie', 'uselib',
];
const PROFILE_ENOSYS = ['clone3'];
const PROFILE_ARGS = ['ioctl', 'clone', 'unshare'];

const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const NS_FLAGS = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
};
const CLONE_NEWTIME = 0x80;
const SIGCHLD = 17;
// What glibc's pthread_create passes to clone.
const THREAD_FLAGS = 0x3d0f00;

function evaluator(policy, arch) {
  const evaluate = bpf.load(seccomp.compileSeccomp(policy, arch));
  const table = TABLE[arch];
  const fn = (name, args = [], overrides = {}) => {
    const nr = typeof name === 'number' ? name : table.get(name);
    if (nr === undefined) throw new Error(`no ${name} on ${arch}`);
    return bpf.describe(evaluate({ nr, arch: AUDIT[arch], args, ...overrides }).ret);
  };
  fn.evaluate = evaluate;
  return fn;
}

const ALLOW = { action: 'allow' };
const errno = (n) => ({ action: 'errno', errno: n });
const KILL_PROCESS = { action: 'kill-process' };

for (const arch of ARCHES) {
  t.test(`default profile on ${arch}: every syscall number`, async (t) => {
    const check = evaluator({}, arch);
    const table = TABLE[arch];
    const expected = new Map();
    for (const name of PROFILE_EPERM) if (table.has(name)) expected.set(name, errno(EPERM));
    for (const name of PROFILE_ENOSYS) expected.set(name, errno(ENOSYS));
    t.ok(expected.size >= 40, `${expected.size} calls refused outright on ${arch}`);
    let allowed = 0;
    for (const [name, nr] of table) {
      const want = expected.get(name) ?? ALLOW;
      const got = check(nr);
      if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, `${name} (${nr})`);
      if (want === ALLOW) allowed++;
    }
    t.pass(`${table.size} names checked, ${allowed} allowed`);
    // Numbers no table names (gaps, beyond the last): allowed, as the kernel answers ENOSYS.
    for (const nr of [335, 400, 470, 471, 1000, 0x3fffffff]) t.same(check(nr), ALLOW, `unnamed nr ${nr}`);
    t.same(check(-1), ALLOW, 'nr -1 (a tracer skipping a call) passes to the kernel');
  });

  t.test(`wrong architecture kills the process on ${arch}`, async (t) => {
    const check = evaluator({}, arch);
    const others = [AUDIT_I386, AUDIT_ARM, arch === 'x64' ? AUDIT.arm64 : AUDIT.x64, 0, 0xffffffff];
    for (const other of others) {
      for (const name of ['getpid', 'read', 'keyctl']) {
        t.same(check(name, [], { arch: other }), KILL_PROCESS, `${name} from arch 0x${other.toString(16)}`);
      }
    }
  });

  t.test(`ioctl: TIOCSTI and TIOCLINUX refused on any fd, other requests allowed, on ${arch}`, async (t) => {
    const check = evaluator({}, arch);
    for (const fd of [0, 1, 2, 3, 255, 0x7fffffff]) {
      t.same(check('ioctl', [fd, TIOCSTI]), errno(EPERM), `TIOCSTI on fd ${fd}`);
      t.same(check('ioctl', [fd, TIOCLINUX]), errno(EPERM), `TIOCLINUX on fd ${fd}`);
    }
    // The kernel takes the request as an unsigned int: high bits must not hide it.
    t.same(check('ioctl', [0, 0x1_0000_0000n + BigInt(TIOCSTI)]), errno(EPERM), 'TIOCSTI with high bits set');
    t.same(check('ioctl', [0, 0xffff_ffff_0000_0000n + BigInt(TIOCLINUX)]), errno(EPERM), 'TIOCLINUX with high bits set');
    const others = {
      TCGETS: 0x5401, TCSETS: 0x5402, TIOCGPGRP: 0x540f, TIOCSPGRP: 0x5410, TIOCOUTQ: 0x5411,
      TIOCGWINSZ: 0x5413, TIOCSWINSZ: 0x5414, FIONREAD: 0x541b, TIOCSCTTY: 0x540e, FIONBIO: 0x5421,
      FIOCLEX: 0x5451, TIOCGPTN: 0x80045430, TIOCSTI_PLUS_1: TIOCSTI + 1, TIOCLINUX_MINUS_1: TIOCLINUX - 1,
    };
    for (const [label, request] of Object.entries(others)) t.same(check('ioctl', [0, request]), ALLOW, label);
    // Only args[1] is the request: TIOCSTI's number as the fd or the argument is fine.
    t.same(check('ioctl', [TIOCSTI, 0x5401, TIOCSTI]), ALLOW, 'TIOCSTI value in other arguments');
  });

  t.test(`clone and unshare: namespace flags refused, fork and threads allowed, on ${arch}`, async (t) => {
    const check = evaluator({}, arch);
    t.same(check('clone', [SIGCHLD]), ALLOW, 'fork-style clone');
    t.same(check('clone', [THREAD_FLAGS]), ALLOW, 'pthread_create clone');
    t.same(check('clone', [0x4111]), ALLOW, 'vfork-style clone (CLONE_VM|CLONE_VFORK|SIGCHLD)');
    for (const [label, flag] of Object.entries(NS_FLAGS)) {
      t.same(check('clone', [flag | SIGCHLD]), errno(EPERM), `clone ${label}`);
      t.same(check('unshare', [flag]), errno(EPERM), `unshare ${label}`);
    }
    t.same(check('unshare', [CLONE_NEWTIME]), errno(EPERM), 'unshare CLONE_NEWTIME');
    t.same(check('clone', [CLONE_NEWTIME | SIGCHLD]), ALLOW, 'clone exit signal 0x80 is not CLONE_NEWTIME');
    t.same(check('unshare', [0x200]), ALLOW, 'unshare CLONE_FS');
    t.same(check('unshare', [0x400]), ALLOW, 'unshare CLONE_FILES');
    t.same(check('clone3', []), errno(ENOSYS), 'clone3: ENOSYS so that libc falls back to clone');
    if (arch === 'x64') {
      t.same(check('fork'), ALLOW, 'fork');
      t.same(check('vfork'), ALLOW, 'vfork');
    }
  });
}

t.test('x32 ABI refused on x86_64 only', async (t) => {
  const x64 = evaluator({}, 'x64');
  const X32 = 0x40000000;
  for (const nr of [0, 1, 39, 59, 512, 514, 520, 547, 0x3fffffff]) {
    t.same(x64(X32 | nr), KILL_PROCESS, `x32 nr 0x${(X32 | nr).toString(16)}`);
  }
  t.same(x64(0xfffffffe), KILL_PROCESS, 'nr -2');
  t.same(x64(-1), ALLOW, 'nr -1 still passes');
  const none = evaluator({ profile: 'none' }, 'x64');
  t.same(none(X32 | 39), KILL_PROCESS, 'refused with profile none too');
  const arm = evaluator({}, 'arm64');
  t.same(arm(X32 | 172), ALLOW, 'aarch64 has no x32: numbers above the table go to the kernel (ENOSYS)');
});

t.test('header: arch check, then the syscall number', async (t) => {
  for (const arch of ARCHES) {
    const program = bpf.decodeProgram(seccomp.compileSeccomp({}, arch));
    t.same(program.slice(0, 4), [
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 0, k: AUDIT[arch] },
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
      { code: 0x20, jt: 0, jf: 0, k: 0 },
    ], `${arch}: ld arch; jeq AUDIT_ARCH; ret KILL_PROCESS; ld nr`);
    if (arch === 'x64') {
      t.same(program.slice(4, 7), [
        { code: 0x35, jt: 0, jf: 2, k: 0x40000000 },
        { code: 0x15, jt: 1, jf: 0, k: 0xffffffff },
        { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
      ], 'x64: jge X32 bit; jeq -1; ret KILL_PROCESS');
    }
    // Only nr and arch are read outside argument tests: the kernel's
    // constant-action cache can skip the filter for allowed calls.
    const loads = program.filter((insn) => insn.code === 0x20).map((insn) => insn.k);
    t.ok(loads.every((k) => k === 0 || k === 4 || k >= 16), `${arch}: loads nr, arch, args only (never the ip)`);
  }
});

t.test('allow lifts profile refusals', async (t) => {
  for (const arch of ARCHES) {
    const check = evaluator({ allow: ['bpf', 'keyctl', 'ioctl', 'clone', 'clone3', 'mount'] }, arch);
    t.same(check('bpf'), ALLOW, `${arch} bpf`);
    t.same(check('keyctl'), ALLOW, `${arch} keyctl`);
    t.same(check('mount'), ALLOW, `${arch} mount`);
    t.same(check('clone3'), ALLOW, `${arch} clone3`);
    t.same(check('ioctl', [0, TIOCSTI]), ALLOW, `${arch} ioctl TIOCSTI (the argument test goes with it)`);
    t.same(check('clone', [NS_FLAGS.CLONE_NEWUSER | SIGCHLD]), ALLOW, `${arch} clone CLONE_NEWUSER`);
    t.same(check('unshare', [NS_FLAGS.CLONE_NEWUSER]), errno(EPERM), `${arch} unshare still filtered`);
    t.same(check('add_key'), errno(EPERM), `${arch} add_key still refused`);
    t.same(check('perf_event_open'), errno(EPERM), `${arch} perf_event_open still refused`);
  }
});

t.test('custom deny entries and their actions', async (t) => {
  const policy = {
    deny: [
      'ptrace',
      { syscall: 'getppid', action: 'kill' },
      { syscall: 'getpgid', action: 'kill-process' },
      { syscall: 'getsid', action: 'log' },
      { syscall: 'gettid', action: 'trap' },
      { syscall: 'sysinfo', action: { errno: 'EACCES' } },
      { syscall: 'uname', action: { errno: 4095 } },
      { syscall: 'personality', action: { errno: 22 } },
      { syscall: 'bpf', action: { errno: 'ENOSYS' } },
      { syscall: 'ioctl', action: 'kill-process' },
      'open', // x86_64 only: no effect on aarch64
    ],
  };
  for (const arch of ARCHES) {
    const check = evaluator(policy, arch);
    t.same(check('ptrace'), errno(EPERM), `${arch} name only: EPERM`);
    t.same(check('getppid'), { action: 'kill' }, `${arch} kill (thread)`);
    t.same(check('getpgid'), KILL_PROCESS, `${arch} kill-process`);
    t.same(check('getsid'), { action: 'log' }, `${arch} log`);
    t.same(check('gettid'), { action: 'trap', data: 0 }, `${arch} trap`);
    t.same(check('sysinfo'), errno(13), `${arch} errno by name`);
    t.same(check('uname'), errno(4095), `${arch} errno 4095`);
    t.same(check('personality'), errno(22), `${arch} errno by number`);
    t.same(check('bpf'), errno(ENOSYS), `${arch} an explicit action overrides the profile's`);
    t.same(check('ioctl', [0, 0x5401]), KILL_PROCESS, `${arch} explicit deny of ioctl replaces the argument test`);
    t.same(check('getpid'), ALLOW, `${arch} others allowed`);
    t.same(check('keyctl'), errno(EPERM), `${arch} profile still applies`);
    if (arch === 'x64') t.same(check('open'), errno(EPERM), 'open denied on x86_64');
  }
  // The exact return values.
  const x64 = evaluator(policy, 'x64');
  const raw = (name) => x64.evaluate({ nr: seccomp.SYSCALLS_X86_64.get(name), arch: AUDIT.x64 }).ret;
  t.equal(raw('getppid'), 0x00000000, 'KILL_THREAD 0');
  t.equal(raw('getpgid'), 0x80000000, 'KILL_PROCESS');
  t.equal(raw('getsid'), 0x7ffc0000, 'LOG');
  t.equal(raw('gettid'), 0x00030000, 'TRAP');
  t.equal(raw('sysinfo'), 0x0005000d, 'ERRNO|EACCES');
  t.equal(raw('getpid'), 0x7fff0000, 'ALLOW');
});

t.test('profile none: only the architecture checks and the deny list', async (t) => {
  for (const arch of ARCHES) {
    const check = evaluator({ profile: 'none', deny: ['getpid'] }, arch);
    for (const name of [...PROFILE_EPERM, ...PROFILE_ENOSYS, ...PROFILE_ARGS]) {
      if (TABLE[arch].has(name)) t.same(check(name, [0, TIOCSTI]), ALLOW, `${arch} ${name}`);
    }
    t.same(check('getpid'), errno(EPERM), `${arch} getpid denied`);
    t.same(check('read', [], { arch: AUDIT_I386 }), KILL_PROCESS, `${arch} wrong arch still killed`);
  }
  const empty = bpf.decodeProgram(seccomp.compileSeccomp({ profile: 'none' }, 'arm64'));
  t.equal(empty.length, 5, 'aarch64, nothing denied: arch check and ret ALLOW');
});

t.test('allowlist mode', async (t) => {
  const allow = ['read', 'write', 'exit_group', 'execve', 'ioctl', 'clone', 'brk', 'bpf'];
  for (const arch of ARCHES) {
    const check = evaluator({ mode: 'allowlist', allow, deny: [{ syscall: 'ptrace', action: 'kill-process' }] }, arch);
    for (const name of allow) t.same(check(name), ALLOW, `${arch} ${name} permitted`);
    t.same(check('getpid'), errno(EPERM), `${arch} getpid: default EPERM`);
    t.same(check('openat'), errno(EPERM), `${arch} openat: default EPERM`);
    t.same(check('ptrace'), KILL_PROCESS, `${arch} ptrace: its deny action`);
    t.same(check('clone3'), errno(ENOSYS), `${arch} clone3 keeps the profile's ENOSYS`);
    t.same(check('keyctl'), errno(EPERM), `${arch} keyctl refused`);
    t.same(check('ioctl', [1, TIOCSTI]), errno(EPERM), `${arch} permitted ioctl keeps the TIOCSTI test`);
    t.same(check('clone', [NS_FLAGS.CLONE_NEWNET | SIGCHLD]), errno(EPERM), `${arch} permitted clone keeps the namespace test`);
    t.same(check('clone', [SIGCHLD]), ALLOW, `${arch} fork-style clone`);
    t.same(check('unshare', [0]), errno(EPERM), `${arch} unshare not permitted at all`);
    t.same(check(2000), errno(EPERM), `${arch} an unnamed number`);
    t.same(check(-1), errno(EPERM), `${arch} nr -1`);
    let permitted = 0;
    for (const [, nr] of TABLE[arch]) if (check(nr).action === 'allow') permitted++;
    t.equal(permitted, allow.length, `${arch}: exactly the listed calls are permitted`);
  }
  const killing = evaluator({ mode: 'allowlist', allow: ['execve', 'ioctl'], defaultAction: 'kill-process', profile: 'none' }, 'x64');
  t.same(killing('getpid'), KILL_PROCESS, 'defaultAction kill-process');
  t.same(killing('clone3'), KILL_PROCESS, 'profile none: clone3 gets the default action too');
  t.same(killing('ioctl', [0, TIOCSTI]), ALLOW, 'profile none: no argument tests');
  const enosys = evaluator({ mode: 'allowlist', allow: ['execve'], defaultAction: { errno: 'ENOSYS' } }, 'arm64');
  t.same(enosys('getpid'), errno(ENOSYS), 'defaultAction errno ENOSYS');
});

t.test('a policy with a different action for every syscall: long jumps, within the limit', async (t) => {
  for (const arch of ARCHES) {
    const names = [...TABLE[arch].keys()].filter((name) => name !== 'execve');
    const deny = names.map((syscall, i) => ({ syscall, action: { errno: 1 + (i % 4000) } }));
    const bytes = seccomp.compileSeccomp({ profile: 'none', deny }, arch);
    const program = bpf.decodeProgram(bytes);
    t.ok(program.length <= 4096, `${arch}: ${program.length} instructions`);
    t.ok(program.some((insn) => insn.code === 0x05), `${arch}: uses a long jump (ja)`);
    const check = evaluator({ profile: 'none', deny }, arch);
    let wrong = 0;
    names.forEach((name, i) => {
      const got = check(name);
      if (got.action !== 'errno' || got.errno !== 1 + (i % 4000)) wrong++;
    });
    t.equal(wrong, 0, `${arch}: each of ${names.length} calls returns its own errno`);
    t.same(check('execve'), ALLOW, `${arch}: execve allowed`);
    // Every path is short: a tree, not a chain.
    let longest = 0;
    for (const [, nr] of TABLE[arch]) longest = Math.max(longest, check.evaluate({ nr, arch: AUDIT[arch] }).steps);
    t.ok(longest <= 20, `${arch}: longest path ${longest} instructions`);
  }
});

t.test('the kernel limit of 4096 instructions is checked', async (t) => {
  const { encodeProgram, BPF_MAXINSNS } = require('../../dist/seccomp/bpf');
  t.equal(BPF_MAXINSNS, 4096);
  const insn = (k) => ({ code: 0x06, jt: 0, jf: 0, k });
  t.equal(encodeProgram(Array.from({ length: 4096 }, () => insn(0x7fff0000))).length, 4096 * 8, '4096 fit');
  t.throws(() => encodeProgram(Array.from({ length: 4097 }, () => insn(0))), {
    code: 'ERR_INVALID_ARG_VALUE',
    option: 'seccomp',
    message: /4097 BPF instructions, more than the kernel's limit of 4096/,
  });
  t.throws(() => encodeProgram([]), { code: 'ERR_INVALID_ARG_VALUE' });
  const bytes = encodeProgram([{ code: 0x15, jt: 3, jf: 250, k: 0xc000003e }]);
  t.same([...bytes], [0x15, 0x00, 3, 250, 0x3e, 0x00, 0x00, 0xc0], 'u16 code, u8 jt, u8 jf, u32 k, little-endian');
});

t.test('deterministic and cached', async (t) => {
  const a = { deny: ['ptrace', { syscall: 'getppid', action: { errno: 'EPERM' } }], allow: ['bpf', 'keyctl'] };
  const b = { allow: ['keyctl', 'bpf'], deny: [{ syscall: 'getppid', action: { errno: 1 } }, { syscall: 'ptrace' }], mode: 'denylist', profile: 'default' };
  for (const arch of ARCHES) {
    const one = seccomp.compileSeccomp(a, arch);
    t.ok(one.equals(seccomp.compileSeccomp(a, arch)), `${arch}: same policy, same bytes`);
    t.ok(one.equals(seccomp.compileSeccomp(b, arch)), `${arch}: order, defaults and errno names do not matter`);
    const cached = seccomp.compileCached(a, arch);
    t.ok(cached.equals(one), `${arch}: cached bytes are the compiled bytes`);
    t.equal(seccomp.compileCached(a, arch), cached, `${arch}: the second call returns the cached Buffer`);
    t.equal(seccomp.compileCached(b, arch), cached, `${arch}: an equivalent policy hits the same entry`);
    t.not(seccomp.compileCached({ deny: ['ptrace'] }, arch), cached, `${arch}: another policy, another entry`);
  }
  t.notOk(seccomp.compileCached(a, 'x64').equals(seccomp.compileCached(a, 'arm64')), 'per architecture');
  t.ok(seccomp.compileSeccomp({}).equals(seccomp.compileSeccomp({}, process.arch)), 'the host arch by default');
  t.ok(seccomp.compileSeccomp(undefined, 'x64').equals(seccomp.compileSeccomp({}, 'x64')), 'undefined is the default policy');
  t.equal(seccomp.compileCached({}, 'x64').length % 8, 0, 'whole instructions');
  t.throws(() => seccomp.compileCached({ deny: ['nope'] }, 'x64'), { code: 'ERR_INVALID_ARG_VALUE', option: 'seccomp.deny[0]' }, 'validated');
  t.throws(() => seccomp.compileSeccomp({}, 'ia32'), { code: 'ERR_INVALID_ARG_VALUE', option: 'arch' }, 'unknown arch');
});

t.test('a box installs a cached filter: equal policies share one compiled program and its hex', async (t) => {
  const a = seccomp.validateSeccomp({ deny: ['ptrace', 'getppid'], allow: ['bpf'] });
  const b = seccomp.validateSeccomp({ allow: ['bpf'], deny: [{ syscall: 'getppid', action: { errno: 'EPERM' } }, 'ptrace'] });
  for (const arch of ARCHES) {
    const filter = seccomp.filterFor(a, arch);
    t.ok(filter.program.equals(seccomp.compileSeccomp(a, arch)), `${arch}: the compiled bytes`);
    t.equal(filter.hex, seccomp.compileSeccomp(a, arch).toString('hex'), `${arch}: their hex`);
    t.equal(filter.instructions * 8, filter.program.length, `${arch}: the instruction count`);
    t.equal(seccomp.filterFor(b, arch), filter, `${arch}: an equal policy from another object reuses the entry`);
    t.equal(seccomp.compileCached({ deny: ['getppid', 'ptrace'], allow: ['bpf'] }, arch), filter.program, `${arch}: compileCached shares the cache`);
    t.not(seccomp.filterFor(seccomp.validateSeccomp({ deny: ['ptrace'] }), arch), filter, `${arch}: another policy, another entry`);
    t.ok(Object.isFrozen(filter), `${arch}: the entry cannot be changed by one box for the next`);
  }
  // The plan's seccomp step carries the cached hex: two boxes, one string.
  const { validateOptions } = require('../../dist/validate');
  const { buildPlan } = require('../../dist/plan');
  const plans = [0, 1].map(() => {
    const validated = validateOptions('/bin/true', [], { seccomp: { deny: ['ptrace'] } });
    return buildPlan(validated, { stdio: [0, 1, 2], namespaces: {}, init: 9 }, { euid: 0, egid: 0 });
  });
  const steps = plans.map((plan) => plan.steps.find((step) => step.op === 'seccomp'));
  t.equal(steps[0].str[0], seccomp.filterFor(seccomp.validateSeccomp({ deny: ['ptrace'] })).hex, 'the plan carries the cached hex');
  t.equal(steps[1].str[0], steps[0].str[0], 'the same for the second box');
  t.equal(steps[0].num[0], steps[0].str[0].length / 16, 'and its instruction count');
});

t.test('program sizes', async (t) => {
  for (const arch of ARCHES) {
    const size = seccomp.compileSeccomp({}, arch).length / 8;
    t.ok(size > 50 && size < 300, `default profile on ${arch}: ${size} instructions`);
  }
});

t.test('syscall tables', async (t) => {
  // Independent spot checks (man 2 syscall numbers as the kernel assigns them).
  const x64 = { read: 0, ioctl: 16, getpid: 39, clone: 56, fork: 57, execve: 59, ptrace: 101, keyctl: 250, unshare: 272, bpf: 321, io_uring_setup: 425, clone3: 435, landlock_restrict_self: 446, fchmodat2: 452, mseal: 462, file_setattr: 469 };
  const arm64 = { io_setup: 0, fcntl: 25, ioctl: 29, mount: 40, openat: 56, read: 63, newfstatat: 79, fstat: 80, unshare: 97, getpid: 172, keyctl: 219, clone: 220, execve: 221, mmap: 222, bpf: 280, clone3: 435, memfd_secret: 447, fchmodat2: 452, map_shadow_stack: 453, file_setattr: 469 };
  for (const [name, nr] of Object.entries(x64)) t.equal(seccomp.SYSCALLS_X86_64.get(name), nr, `x86_64 ${name}`);
  for (const [name, nr] of Object.entries(arm64)) t.equal(seccomp.SYSCALLS_AARCH64.get(name), nr, `aarch64 ${name}`);
  for (const name of ['open', 'stat', 'fork', 'iopl', 'arch_prctl', 'uselib']) t.notOk(seccomp.SYSCALLS_AARCH64.has(name), `aarch64 has no ${name}`);
  for (const [label, table] of [['x86_64', seccomp.SYSCALLS_X86_64], ['aarch64', seccomp.SYSCALLS_AARCH64]]) {
    const numbers = [...table.values()];
    t.equal(new Set(numbers).size, numbers.length, `${label}: one name per number`);
    t.equal(Math.max(...numbers), 469, `${label}: up to file_setattr (Linux 6.18)`);
  }
  // Against the installed headers, where this host has them.
  const fs = require('node:fs');
  const header = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
  if (fs.existsSync(header)) {
    const defines = [...fs.readFileSync(header, 'utf8').matchAll(/^#define __NR_(\w+) (\d+)$/gm)];
    for (const [, name, nr] of defines) {
      if (seccomp.SYSCALLS_X86_64.get(name) !== Number(nr)) t.fail(`${name} ${nr} differs`);
    }
    t.pass(`${defines.length} numbers agree with ${header}`);
  }
});

t.test('resolveSeccomp describes the decisions', async (t) => {
  const resolved = seccomp.resolveSeccomp({ deny: [{ syscall: 'ptrace', action: 'log' }] }, 'arm64');
  t.equal(resolved.arch, 'arm64');
  t.equal(resolved.auditArch, 0xc00000b7);
  t.equal(resolved.defaultRet, 0x7fff0000);
  t.equal(resolved.x32Bit, undefined);
  const byName = new Map(resolved.syscalls.map((entry) => [entry.syscall, entry]));
  t.same(byName.get('ptrace'), { syscall: 'ptrace', nr: 117, ret: 0x7ffc0000, source: 'deny' });
  t.same(byName.get('ioctl').rules, [
    { conditions: [{ arg: 1, op: 'maskedEq', value: 0xffffffffn, valueTwo: BigInt(TIOCSTI) }], ret: 0x00050001 },
    { conditions: [{ arg: 1, op: 'maskedEq', value: 0xffffffffn, valueTwo: BigInt(TIOCLINUX) }], ret: 0x00050001 },
  ], 'the profile compares the low 32 bits of ioctl\'s request, as the kernel reads it');
  t.equal(byName.get('ioctl').ret, 0x7fff0000);
  t.equal(byName.get('keyctl').source, 'profile');
  t.notOk(byName.has('getpid'));
  const names = seccomp.DEFAULT_PROFILE.flatMap((entry) => entry.syscalls).sort();
  t.same(names, [...PROFILE_EPERM, ...PROFILE_ENOSYS, ...PROFILE_ARGS].sort(), 'DEFAULT_PROFILE lists what the tests expect');
  t.ok(seccomp.DEFAULT_PROFILE.every((entry) => entry.reason.length > 10), 'each entry says why');
});
