// Red team: action 'log' in a deny entry runs the call (SECCOMP_RET_LOG is
// "allow, and log"). A deny entry with it must not quietly permit what the
// default profile or allowlist mode refuses: `deny: [{ syscall: 'mount',
// action: 'log' }]`, written to watch for mounts, would have let every mount
// through. 'allow' is refused as a deny action for that reason; 'log' is
// refused where it would lift the profile, and works where the call is
// permitted anyway (or lifted explicitly in `allow`: "lift it and log it").
'use strict';
const t = require('tap');
const seccomp = require('../../dist/seccomp');
const bpf = require('./bpf-interpreter');

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';
const AUDIT = { x64: 0xc000003e, arm64: 0xc00000b7 }[ARCH];
const TABLE = ARCH === 'arm64' ? seccomp.SYSCALLS_AARCH64 : seccomp.SYSCALLS_X86_64;
const TIOCSTI = 0x5412;

function decide(policy, name, args = []) {
  const evaluate = bpf.load(seccomp.compileSeccomp(policy, ARCH));
  return bpf.describe(evaluate({ nr: TABLE.get(name), arch: AUDIT, args }).ret);
}

function loosening(t, policy, option, what) {
  t.throws(() => seccomp.validateSeccomp(policy), { code: 'ERR_CORDON_CONFLICTING_OPTIONS', option }, what);
}

t.test("a deny entry with 'log' cannot permit what the profile or allowlist mode refuses", async (t) => {
  loosening(t, { deny: [{ syscall: 'mount', action: 'log' }] }, 'seccomp.deny[0]', 'denylist: mount, which the default profile refuses');
  loosening(t, { deny: ['keyctl', { syscall: 'ioctl', action: 'log', args: [{ index: 1, op: 'eq', value: TIOCSTI }] }] }, 'seccomp.deny[1]', "denylist: TIOCSTI, which the profile's argument test refuses");
  loosening(t, { mode: 'allowlist', allow: ['execve'], deny: [{ syscall: 'mount', action: 'log' }] }, 'seccomp.deny[0]', 'allowlist: a call the profile refuses, not in allow');
  loosening(t, { mode: 'allowlist', allow: ['execve', 'ioctl'], deny: [{ syscall: 'ioctl', action: 'log' }] }, 'seccomp.deny[0]', "allowlist: ioctl is allowed, but the profile's tests still bind it");
  loosening(t, { mode: 'allowlist', allow: ['execve', { syscall: 'mount', args: [{ index: 3, op: 'eq', value: 0 }] }], deny: [{ syscall: 'mount', action: 'log' }] }, 'seccomp.deny[0]', 'allowlist: allowed with args only, log would permit the rest');
  loosening(t, { allow: [{ syscall: 'mount', args: [{ index: 3, op: 'eq', value: 0 }] }], deny: [{ syscall: 'mount', action: 'log' }] }, 'seccomp.deny[0]', 'denylist: lifted with args only, log would lift the rest');
});

t.test("'log' where the call runs anyway, or is lifted in allow, still logs", async (t) => {
  t.same(decide({ deny: [{ syscall: 'getsid', action: 'log' }] }, 'getsid'), { action: 'log' }, 'denylist: a call the profile does not refuse');
  t.same(decide({ allow: ['mount'], deny: [{ syscall: 'mount', action: 'log' }] }, 'mount'), { action: 'log' }, 'lifted in allow, and logged');
  t.same(decide({ profile: 'none', deny: [{ syscall: 'mount', action: 'log' }] }, 'mount'), { action: 'log' }, "profile 'none': nothing to loosen");
  t.same(decide({ mode: 'allowlist', allow: ['execve', 'getsid'], deny: [{ syscall: 'getsid', action: 'log' }] }, 'getsid'), { action: 'log' }, 'allowlist: a call in allow');
  t.same(decide({ deny: [{ syscall: 'execve', action: 'log' }] }, 'execve'), { action: 'log' }, 'execve');
  t.same(decide({ mode: 'allowlist', allow: ['execve'], deny: [{ syscall: 'ptrace', action: 'log' }] }, 'ptrace'), { action: 'log' },
    "allowlist: a deny entry's action replaces defaultAction for a call the profile does not speak of (as documented; the OCI mapping's SCMP_ACT_LOG)");
  t.same(decide({ mode: 'allowlist', allow: ['execve', 'mount'], deny: [{ syscall: 'mount', action: 'log' }] }, 'mount'), { action: 'log' }, 'allowlist: the profile refuses mount, allow permits it: logged');
  // Without the log entry, the profile's refusals stand as before.
  t.same(decide({}, 'mount'), { action: 'errno', errno: 1 });
  t.same(decide({}, 'ioctl', [0, TIOCSTI]), { action: 'errno', errno: 1 });
});
