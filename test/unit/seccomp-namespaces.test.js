'use strict';
// Whether a box's filter lets it make namespaces: what decides if their
// kernel counters get a default (lib/seccomp/namespaces.ts). Checked against
// the compiled filter itself: for each policy, the BPF interpreter says
// whether unshare/clone with namespace flags, clone3, open_tree and fsmount
// can run, and the predicate must never say "refused" when one can.
const t = require('tap');
const { validateSeccomp, resolveSeccomp } = require('../../dist/seccomp');
const { refusesNewNamespaces } = require('../../dist/seccomp/namespaces');
const { UNSHARE_NAMESPACE_FLAGS, CLONE_NAMESPACE_FLAGS, SECCOMP_RET_ALLOW, SECCOMP_RET_LOG } = require('../../dist/seccomp');

// What the resolved policy returns for a call with these low-32-bit arguments.
function decision(resolved, syscall, args) {
  const entry = resolved.syscalls.find((candidate) => candidate.syscall === syscall);
  if (entry === undefined) return resolved.defaultRet;
  for (const rule of entry.rules ?? []) {
    const holds = rule.conditions.every((condition) => {
      const value = BigInt(args[condition.arg] ?? 0);
      if (condition.op === 'anyBit32') return (value & condition.value) !== 0n;
      if (condition.op === 'maskedEq') return (value & condition.value) === condition.valueTwo;
      if (condition.op === 'eq') return value === condition.value;
      if (condition.op === 'ne') return value !== condition.value;
      throw new Error(`no interpreter for ${condition.op} in this test`);
    });
    if (holds) return rule.ret;
  }
  return entry.ret;
}

// True when some maker can run under the policy.
function canMakeNamespace(policy) {
  if (policy === undefined) return true;
  const resolved = resolveSeccomp(policy, 'x64');
  return [
    decision(resolved, 'unshare', [UNSHARE_NAMESPACE_FLAGS]),
    ...[0x10000000, 0x00020000, 0x20000000, 0x40000000, 0x08000000, 0x04000000, 0x02000000].map((flag) => decision(resolved, 'unshare', [flag])),
    ...[0x10000000, 0x00020000, 0x20000000, 0x40000000, 0x08000000, 0x04000000, 0x02000000].map((flag) => decision(resolved, 'clone', [flag | 17])),
    decision(resolved, 'clone', [CLONE_NAMESPACE_FLAGS]),
    decision(resolved, 'unshare', [0x80]),
    decision(resolved, 'clone3', []),
    decision(resolved, 'open_tree', [0, 0, 1]),
    decision(resolved, 'open_tree_attr', [0, 0, 1]),
    decision(resolved, 'fsmount', []),
  ].some((ret) => ret === SECCOMP_RET_ALLOW || ret === SECCOMP_RET_LOG); // 'log' runs the call too
}

const policies = [
  [undefined, false, 'no filter'],
  [{}, true, 'the default policy'],
  [{ deny: ['setns', { syscall: 'unshare', action: 'kill-process' }] }, true, 'deny only adds refusals'],
  [{ allow: ['ptrace', 'keyctl'] }, true, 'lifting other calls'],
  [{ allow: ['unshare'] }, false, 'denylist: allow unshare'],
  [{ allow: ['clone'] }, false, 'denylist: allow clone'],
  [{ allow: ['clone3'] }, false, 'denylist: allow clone3'],
  [{ allow: ['open_tree'] }, false, 'denylist: allow open_tree'],
  [{ allow: ['fsmount'] }, false, 'denylist: allow fsmount'],
  [{ allow: [{ syscall: 'unshare', args: [{ index: 0, op: 'eq', value: 0x10000000 }] }] }, false, 'denylist: allow unshare with args'],
  [{ profile: 'none' }, false, "profile 'none'"],
  [{ mode: 'allowlist', allow: ['execve', 'clone', 'unshare', 'exit_group'] }, true, 'allowlist: clone and unshare keep the flag tests'],
  [{ mode: 'allowlist', allow: ['execve', 'clone3'] }, false, 'allowlist: clone3 permitted'],
  [{ mode: 'allowlist', allow: ['execve', 'open_tree'] }, false, 'allowlist: open_tree permitted'],
  [{ mode: 'allowlist', profile: 'none', allow: ['execve', 'clone'] }, false, "allowlist, profile 'none': clone with any flags"],
  [{ mode: 'allowlist', allow: ['execve'], defaultAction: 'log' }, false, "allowlist with defaultAction 'log': unlisted clone and unshare run"],
  [{ mode: 'allowlist', allow: ['execve', 'clone', 'unshare'], defaultAction: 'log' }, true, "allowlist with defaultAction 'log': listed clone and unshare keep the flag tests"],
  [{ mode: 'allowlist', allow: ['execve'], defaultAction: 'trap' }, true, "allowlist with defaultAction 'trap'"],
];

t.test('refusesNewNamespaces agrees with the compiled policy', async (t) => {
  for (const [given, refuses, what] of policies) {
    const policy = given === undefined ? undefined : validateSeccomp(given);
    const makes = canMakeNamespace(policy);
    t.equal(refusesNewNamespaces(policy), refuses, `${what}: ${refuses ? 'refuses' : 'may make'} namespaces`);
    if (refusesNewNamespaces(policy)) t.notOk(makes, `${what}: and the filter indeed lets no maker run`);
  }
});

t.test('refusesFanotify agrees with the compiled policy', async (t) => {
  const { refusesFanotify } = require('../../dist/seccomp/namespaces');
  const fanotifyPolicies = [
    [undefined, false, 'no filter'],
    [{}, true, 'the default policy'],
    [{ allow: ['ptrace'], deny: ['setns'] }, true, 'lifting other calls'],
    [{ allow: ['fanotify_init'] }, false, 'denylist: allow fanotify_init'],
    [{ profile: 'none' }, false, "profile 'none'"],
    [{ mode: 'allowlist', allow: ['execve'] }, true, 'allowlist without it'],
    [{ mode: 'allowlist', allow: ['execve', 'fanotify_init'] }, false, 'allowlist naming it'],
    [{ mode: 'allowlist', allow: ['execve'], defaultAction: 'log' }, true, "allowlist with defaultAction 'log': the profile's refusal stays"],
  ];
  for (const [given, refuses, what] of fanotifyPolicies) {
    const policy = given === undefined ? undefined : validateSeccomp(given);
    t.equal(refusesFanotify(policy), refuses, `${what}: ${refuses ? 'refuses' : 'may run'} fanotify_init`);
    const runs = policy === undefined || [SECCOMP_RET_ALLOW, SECCOMP_RET_LOG].includes(decision(resolveSeccomp(policy, 'x64'), 'fanotify_init', []));
    t.equal(runs, !refuses, `${what}: the compiled filter ${runs ? 'runs' : 'refuses'} it`);
  }
});
