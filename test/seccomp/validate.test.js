// validateSeccomp(): one test per bad-input class, each a CordonOptionError
// with a Node-style code and the dotted option name; and what valid input
// becomes.
'use strict';
const t = require('tap');
const { CordonOptionError } = require('../../dist/errors');
const { validateSeccomp, compileSeccomp } = require('../../dist/seccomp');

const classes = [
  ['policy not an object', 'strict', 'ERR_INVALID_ARG_TYPE', 'seccomp', /must be an object/],
  ['policy an array', ['keyctl'], 'ERR_INVALID_ARG_TYPE', 'seccomp'],
  ['policy null', null, 'ERR_INVALID_ARG_TYPE', 'seccomp'],
  ['unknown key, with a guess', { denny: [] }, 'ERR_CORDON_UNKNOWN_OPTION', 'seccomp.denny', /Did you mean "seccomp\.deny"\?/],
  ['unknown key, no guess', { filters: [] }, 'ERR_CORDON_UNKNOWN_OPTION', 'seccomp.filters', /^Unknown option "seccomp\.filters"\.$/],
  ['mode of the wrong type', { mode: 1 }, 'ERR_INVALID_ARG_TYPE', 'seccomp.mode'],
  ['mode unknown', { mode: 'allow-list' }, 'ERR_INVALID_ARG_VALUE', 'seccomp.mode', /Did you mean 'allowlist'\?/],
  ['profile unknown', { profile: 'strict' }, 'ERR_INVALID_ARG_VALUE', 'seccomp.profile', /'default', 'none'/],
  ['deny not an array', { deny: 'keyctl' }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny', /must be an array/],
  ['deny entry of the wrong type', { deny: [42] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0]', /system call name or \{ syscall, action, args \}/],
  ['deny entry empty name', { deny: [''] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0]', /must not be empty/],
  ['deny entry with a null byte', { deny: ['key\0ctl'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0]', /null bytes/],
  ['unknown syscall, with a guess', { deny: ['getpid', 'keyctll'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[1]', /must name a Linux system call.*Received "keyctll"\. Did you mean "keyctl"\?/],
  ['unknown syscall, no guess', { deny: ['frobnicate_everything'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0]', /Received "frobnicate_everything"$/],
  ['unknown syscall in an object', { deny: [{ syscall: 'unshar' }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].syscall', /Did you mean "unshare"\?/],
  ['a libc name, not a syscall', { deny: ['wait'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0]'],
  ['deny object without syscall', { deny: [{ action: 'kill' }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].syscall'],
  ['deny object unknown key', { deny: [{ syscall: 'ptrace', acton: 'kill' }] }, 'ERR_CORDON_UNKNOWN_OPTION', 'seccomp.deny[0].acton', /seccomp\.deny\[0\]\.action/],
  ['action unknown, with a guess', { deny: [{ syscall: 'ptrace', action: 'kill_process' }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action', /Did you mean 'kill-process'\?/],
  ['action of the wrong type', { deny: [{ syscall: 'ptrace', action: 1 }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].action', /'allow', 'kill', 'kill-process', 'log', 'trap' or \{ errno \}/],
  ['action allow in a deny entry', { deny: [{ syscall: 'ptrace', action: 'allow' }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action', /seccomp\.allow/],
  ['action object unknown key', { deny: [{ syscall: 'ptrace', action: { erno: 1 } }] }, 'ERR_CORDON_UNKNOWN_OPTION', 'seccomp.deny[0].action.erno', /Did you mean "seccomp\.deny\[0\]\.action\.errno"/],
  ['errno missing', { deny: [{ syscall: 'ptrace', action: {} }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].action.errno'],
  ['errno unknown name', { deny: [{ syscall: 'ptrace', action: { errno: 'EPERN' } }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action.errno', /Did you mean 'EPERM'\?/],
  ['errno zero', { deny: [{ syscall: 'ptrace', action: { errno: 0 } }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action.errno', /from 1 to 4095/],
  ['errno above MAX_ERRNO', { deny: [{ syscall: 'ptrace', action: { errno: 4096 } }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action.errno'],
  ['errno not an integer', { deny: [{ syscall: 'ptrace', action: { errno: 1.5 } }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action.errno'],
  ['errno negative', { deny: [{ syscall: 'ptrace', action: { errno: -1 } }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action.errno'],
  ['deny repeats a syscall', { deny: ['ptrace', { syscall: 'ptrace', action: 'kill' }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[1]', /repeats the system call of "seccomp\.deny\[0\]"/],
  ['deny execve', { deny: ['execve'] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.deny[0]', /could then never start/],
  ['allow not an array', { allow: 'bpf' }, 'ERR_INVALID_ARG_TYPE', 'seccomp.allow'],
  ['allow entry neither a name nor an object', { allow: [42] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.allow[0]', /system call name or \{ syscall, args \}/],
  ['allow object unknown key', { allow: [{ syscall: 'bpf', action: 'allow' }] }, 'ERR_CORDON_UNKNOWN_OPTION', 'seccomp.allow[0].action'],
  // Argument conditions.
  ['args not an array', { deny: [{ syscall: 'socket', args: { index: 0, op: 'eq', value: 40 } }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args', /must be an array/],
  ['args empty', { deny: [{ syscall: 'socket', args: [] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args', /at least one condition/],
  ['args more than six', { allow: [{ syscall: 'socket', args: Array.from({ length: 7 }, () => ({ index: 0, op: 'ne', value: 1 })) }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.allow[0].args', /at most 6/],
  ['condition not an object', { deny: [{ syscall: 'socket', args: [40] }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args[0]'],
  ['condition unknown key', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', vaule: 40 }] }] }, 'ERR_CORDON_UNKNOWN_OPTION', 'seccomp.deny[0].args[0].vaule', /Did you mean "seccomp\.deny\[0\]\.args\[0\]\.value"/],
  ['index missing', { deny: [{ syscall: 'socket', args: [{ op: 'eq', value: 40 }] }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args[0].index'],
  ['index 6', { deny: [{ syscall: 'socket', args: [{ index: 6, op: 'eq', value: 40 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].index', /from 0 to 5/],
  ['index negative', { deny: [{ syscall: 'socket', args: [{ index: -1, op: 'eq', value: 40 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].index'],
  ['op unknown, with a guess', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'masked_eq', value: 1, valueTwo: 1 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].op', /Did you mean 'maskedEq'\?/],
  ['op of the wrong type', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 1, value: 1 }] }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args[0].op'],
  ['value missing', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq' }] }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args[0].value', /integer \(number or bigint\)/],
  ['value a string', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: '40' }] }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args[0].value'],
  ['value fractional', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 1.5 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].value', /safe integer/],
  ['value beyond 2 ** 53 as a number', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 2 ** 60 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].value', /bigint/],
  ['value beyond 64 bits', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 1n << 64n }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].value', /64 bits/],
  ['value below -2 ** 63', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: -(1n << 63n) - 1n }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].value'],
  ['lt 0 never holds', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'lt', value: 0 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].value', /never hold/],
  ['gt the largest never holds', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'gt', value: -1 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].value', /never hold/],
  ['valueTwo with eq', { deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 1, valueTwo: 0 }] }] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.deny[0].args[0].valueTwo', /only with op 'maskedEq'/],
  ['maskedEq without valueTwo', { deny: [{ syscall: 'clone', args: [{ index: 0, op: 'maskedEq', value: 0x10000000 }] }] }, 'ERR_INVALID_ARG_TYPE', 'seccomp.deny[0].args[0].valueTwo'],
  ['maskedEq valueTwo outside the mask', { deny: [{ syscall: 'clone', args: [{ index: 0, op: 'maskedEq', value: 0xff, valueTwo: 0x100 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].args[0].valueTwo', /never hold/],
  ['a deny entry after one without args', { deny: ['socket', { syscall: 'socket', args: [{ index: 0, op: 'eq', value: 40 }] }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[1]', /always applies first/],
  ['allowed with args but denied always', { deny: ['socket'], allow: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 1 }] }] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.allow[0]', /which "seccomp\.deny\[0\]" denies/],
  ['allowed always and with args', { allow: [{ syscall: 'bpf', args: [{ index: 0, op: 'eq', value: 1 }] }, 'bpf'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.allow[1]', /pointless/],
  ['deny execve with args', { deny: [{ syscall: 'execve', args: [{ index: 2, op: 'eq', value: 0 }] }] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.deny[0]', /could then never start/],
  ['allowlist with execve only under args', { mode: 'allowlist', allow: [{ syscall: 'execve', args: [{ index: 2, op: 'ne', value: 0 }] }] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.allow[0]', /must include "execve" \(without args\)/],
  ['allow unknown syscall', { allow: ['perf_event_opne'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.allow[0]', /Did you mean "perf_event_open"\?/],
  ['allow repeats a syscall', { allow: ['bpf', 'bpf'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.allow[1]'],
  ['allowed and denied', { deny: ['ptrace'], allow: ['bpf', 'ptrace'] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.allow[1]', /allows "ptrace", which "seccomp\.deny\[0\]" denies/],
  ['defaultAction in denylist mode', { defaultAction: 'kill' }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.defaultAction', /only with seccomp\.mode 'allowlist'/],
  ['defaultAction allow', { mode: 'allowlist', allow: ['execve'], defaultAction: 'allow' }, 'ERR_INVALID_ARG_VALUE', 'seccomp.defaultAction'],
  ['defaultAction bad', { mode: 'allowlist', allow: ['execve'], defaultAction: { errno: 'nope' } }, 'ERR_INVALID_ARG_VALUE', 'seccomp.defaultAction.errno'],
  ['allowlist without execve', { mode: 'allowlist', allow: ['read', 'write'] }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.allow', /must include "execve"/],
  ['allowlist with nothing', { mode: 'allowlist' }, 'ERR_CORDON_CONFLICTING_OPTIONS', 'seccomp.allow'],
  ['prototype keys are not syscalls', { deny: ['constructor'] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0]'],
  ['errno name from the prototype', { deny: [{ syscall: 'ptrace', action: { errno: 'toString' } }] }, 'ERR_INVALID_ARG_VALUE', 'seccomp.deny[0].action.errno'],
];

for (const [label, input, code, option, message] of classes) {
  t.test(label, async (t) => {
    let thrown;
    try {
      validateSeccomp(input);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof CordonOptionError, 'a CordonOptionError');
    t.ok(thrown instanceof TypeError, 'a TypeError, like Node');
    t.equal(thrown?.code, code, 'code');
    t.equal(thrown?.option, option, 'option');
    if (message) t.match(thrown?.message, message, 'message');
    // compileSeccomp validates the same way.
    t.throws(() => compileSeccomp(input, 'x64'), { code, option });
  });
}

t.test('the option prefix comes from the caller', async (t) => {
  t.throws(() => validateSeccomp({ deny: ['nope'] }, 'boxes[2].seccomp'), {
    code: 'ERR_INVALID_ARG_VALUE',
    option: 'boxes[2].seccomp.deny[0]',
  });
  t.throws(() => validateSeccomp({ bogus: 1 }, 'security.seccomp'), { option: 'security.seccomp.bogus' });
});

t.test('valid input is normalized into a private copy', async (t) => {
  t.same(validateSeccomp(undefined), { mode: 'denylist', profile: 'default', deny: [], allow: [] });
  t.same(validateSeccomp({}), { mode: 'denylist', profile: 'default', deny: [], allow: [] });
  const input = {
    deny: ['ptrace', { syscall: 'getppid', action: { errno: 'EACCES' } }, { syscall: 'gettid', action: 'trap' }],
    allow: ['bpf'],
  };
  const out = validateSeccomp(input);
  t.same(out, {
    mode: 'denylist',
    profile: 'default',
    deny: [
      { syscall: 'ptrace', action: { errno: 1 } },
      { syscall: 'getppid', action: { errno: 13 } },
      { syscall: 'gettid', action: 'trap' },
    ],
    allow: [{ syscall: 'bpf' }],
  });
  input.allow.push('keyctl');
  t.same(out.allow, [{ syscall: 'bpf' }], 'not the arrays of the caller');
  t.same(validateSeccomp(out), out, 'idempotent');
  const allowlist = validateSeccomp({ mode: 'allowlist', allow: ['execve'], defaultAction: { errno: 'ENOSYS' } });
  t.same(allowlist.defaultAction, { errno: 38 });
  t.same(validateSeccomp({ mode: 'allowlist', allow: ['execve'] }).defaultAction, undefined, 'EPERM when omitted');
  // Portable names: known on one of the two architectures is enough.
  t.doesNotThrow(() => validateSeccomp({ deny: ['open', 'stat', 'iopl', 'arch_prctl'] }), 'x86_64-only names');
  t.doesNotThrow(() => validateSeccomp({ mode: 'allowlist', allow: ['execve', 'newfstatat', 'renameat'] }));
  t.doesNotThrow(() => validateSeccomp({ deny: [{ syscall: 'execve', action: 'log' }] }), 'logging execve is fine');
  t.doesNotThrow(() => validateSeccomp({ allow: ['read'] }), 'allowing what the profile allows anyway is harmless');
});

t.test('argument conditions: exact unsigned 64-bit values, several rules per call', async (t) => {
  const out = validateSeccomp({
    mode: 'allowlist',
    allow: [
      'execve',
      { syscall: 'personality', args: [{ index: 0, op: 'eq', value: 0 }] },
      { syscall: 'personality', args: [{ index: 0, op: 'eq', value: 0xffffffff }] },
      { syscall: 'socket', args: [{ index: 0, op: 'ne', value: -1 }, { index: 2, op: 'le', value: 0xffffffffffffffffn }] },
    ],
    deny: [
      { syscall: 'socket', action: { errno: 'EINVAL' }, args: [{ index: 0, op: 'eq', value: 16 }, { index: 2, op: 'eq', value: 9 }] },
      { syscall: 'clone', args: [{ index: 0, op: 'maskedEq', value: 0x10000000, valueTwo: 0x10000000 }] },
      { syscall: 'clone', action: 'kill-process', args: [{ index: 0, op: 'ge', value: -(1n << 63n) }] },
    ],
  });
  t.same(out.allow[1], { syscall: 'personality', args: [{ index: 0, op: 'eq', value: 0n }] });
  t.same(out.allow[2].args[0].value, 0xffffffffn, 'a number becomes its bigint');
  t.equal(out.allow[3].args[0].value, 0xffffffffffffffffn, '-1 is the 64-bit two\'s complement');
  t.equal(out.allow[3].args[1].value, 0xffffffffffffffffn);
  t.equal(out.deny[0].action.errno, 22);
  t.same(out.deny[1].args[0], { index: 0, op: 'maskedEq', value: 0x10000000n, valueTwo: 0x10000000n });
  t.equal(out.deny[2].args[0].value, 1n << 63n, '-(2 ** 63) is the high bit');
  t.notOk('args' in out.allow[0], 'a name has no args');
  t.ok(compileSeccomp(out).length > 0, 'and it compiles');
  t.doesNotThrow(() => validateSeccomp({ deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 40 }] }, 'socket'] }), 'the entry without args last');
  t.doesNotThrow(() => validateSeccomp({ deny: [{ syscall: 'socket', args: [{ index: 0, op: 'eq', value: 40 }] }], allow: ['socket'] }), 'denied with args, allowed otherwise');
});
