// Seccomp argument conditions in a real box: spawnIsolated compiles them into
// the box's filter (through the plan and the child's install, or the init's),
// and a probe inside makes the filtered calls with chosen 64-bit registers
// (test/oci/seccomp-calls.c). Root and unprivileged alike.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const t = require('tap');
const { run } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');
const { scratch } = require('../helpers/images');

function answers(stdout) {
  return Object.fromEntries(stdout.trim().split('\n').map((line) => {
    const [name, ...rest] = line.split(' ');
    return [name, rest.join(' ')];
  }));
}

t.test('a box\'s policy with args: each side of each rule, and no high-word dodge', async (t) => {
  const dir = scratch(t, 'cordon-seccomp-args-');
  const probe = path.join(dir, 'seccomp-calls');
  const built = spawnSync('cc', ['-O1', '-o', probe, path.join(__dirname, '..', 'oci', 'seccomp-calls.c')], { encoding: 'utf8' });
  if (!requireOrSkip(t, built.status === 0, `a C compiler (cc): ${built.stderr ?? built.error?.message}`)) return;
  const seccomp = {
    deny: [
      // personality: only the query (0xffffffff) and PER_LINUX (0), on all 64 bits
      { syscall: 'personality', action: { errno: 'ENOSYS' }, args: [{ index: 0, op: 'ne', value: 0xffffffff }, { index: 0, op: 'ne', value: 0 }] },
      // socket(AF_NETLINK, *, NETLINK_AUDIT): the protocol compared on its low word, as the kernel reads it
      { syscall: 'socket', action: { errno: 'EINVAL' }, args: [{ index: 0, op: 'eq', value: 16 }, { index: 2, op: 'maskedEq', value: 0xffffffff, valueTwo: 9 }] },
    ],
  };
  for (const init of [false, true]) {
    const what = init ? 'under cordon\'s init' : 'as PID 1';
    const result = await run(probe, [], { seccomp, init, mounts: [{ type: 'bind', source: dir, target: dir }] });
    t.equal(result.code, 0, `${what}: ${result.stderr}`);
    const got = answers(result.stdout);
    t.equal(got['personality-query'], 'ok', `${what}: personality(0xffffffff) passes both ne conditions' exception`);
    t.equal(got['personality-linux'], 'ok', `${what}: personality(0)`);
    t.equal(got['personality-0x10000'], 'err 38', `${what}: personality(0x10000) refused`);
    t.equal(got['personality-query-high-word'], 'err 38', `${what}: 0x1ffffffff is not the query`);
    t.equal(got['personality-8-high-word'], 'err 38', `${what}: 0x100000008 refused`);
    t.equal(got['socket-netlink-audit'], 'err 22', `${what}: the audit socket refused`);
    t.equal(got['socket-netlink-audit-high-word'], 'err 22', `${what}: and a high bit on the protocol does not dodge maskedEq`);
    t.equal(got['socket-netlink-route'], 'ok', `${what}: another netlink protocol`);
    t.equal(got['socket-inet'], 'ok', `${what}: AF_INET`);
    t.equal(got.bpf, 'err 1', `${what}: the default profile still holds (bpf)`);
    t.equal(got.setns, 'err 1', `${what}: (setns)`);
  }
  // Without the policy the same calls pass: the answers above are the filter's.
  const open = await run(probe, [], { mounts: [{ type: 'bind', source: dir, target: dir }] });
  const free = answers(open.stdout);
  t.equal(free['personality-0x10000'], 'ok', 'no args rules: personality(0x10000) runs');
  t.not(free['socket-netlink-audit'], 'err 22', 'and the audit socket is not refused by a filter');
});

t.test('allowlist with args in a box: only the values listed', async (t) => {
  const dir = scratch(t, 'cordon-seccomp-args-');
  const probe = path.join(dir, 'seccomp-calls');
  const built = spawnSync('cc', ['-static', '-O1', '-o', probe, path.join(__dirname, '..', 'oci', 'seccomp-calls.c')], { encoding: 'utf8' });
  if (!requireOrSkip(t, built.status === 0, `a C compiler with a static libc (cc -static): ${built.stderr ?? built.error?.message}`)) return;
  // What a static program needs to start, print and exit, and one socket family.
  const startup = ['execve', 'brk', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'readlinkat', 'readlink', 'uname', 'mprotect', 'getrandom', 'newfstatat', 'fstat', 'write', 'close', 'exit_group', 'ioctl'];
  const seccomp = {
    mode: 'allowlist',
    defaultAction: { errno: 'ENOSYS' },
    allow: [
      ...startup,
      { syscall: 'personality', args: [{ index: 0, op: 'eq', value: 0xffffffff }] },
      { syscall: 'socket', args: [{ index: 0, op: 'eq', value: 2 }] },
    ],
  };
  const result = await run(probe, [], { seccomp, mounts: [{ type: 'bind', source: dir, target: dir }] });
  t.equal(result.code, 0, result.stderr);
  const got = answers(result.stdout);
  t.equal(got['personality-query'], 'ok', 'the value listed');
  t.equal(got['personality-query-high-word'], 'err 38', 'its low word with a high bit: not listed');
  t.equal(got['personality-linux'], 'err 38', 'another value');
  t.equal(got['socket-inet'], 'ok', 'socket(AF_INET)');
  t.equal(got['socket-netlink-route'], 'err 38', 'socket(AF_NETLINK)');
  t.equal(got.bpf, 'err 1', 'bpf: the profile\'s own EPERM');
});
