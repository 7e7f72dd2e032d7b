// linux.seccomp with argument filters: the OCI rules (as runc hands them to
// libseccomp) against the BPF cordon compiles from their mapping, call by
// call; podman's default profile maps whole; what cannot be mapped faithfully
// is refused by JSON path; and the same profile under crun and under cordon
// gives the same answers to the calls it filters.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { fromOciConfig, loadOciBundle, OciConfigError } = require('../..');
const seccomp = require('../../dist/seccomp');
const bpf = require('../seccomp/bpf-interpreter');
const { run, isRoot } = require('../helpers/payload');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const { toolSpec, makeBundle, runReference } = require('../helpers/oci');
const { scratch } = require('../helpers/images');

const arch = process.arch;
const NATIVE = arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64';
const TABLE = arch === 'arm64' ? seccomp.SYSCALLS_AARCH64 : seccomp.SYSCALLS_X86_64;
const AUDIT = arch === 'arm64' ? 0xc00000b7 : 0xc000003e;
const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';
// podman's default capabilities (containers.conf): no CAP_AUDIT_WRITE, no CAP_SYS_ADMIN.
const PODMAN_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT'];

function config(seccompProfile) {
  return {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['true'], env: ['PATH=/bin'], cwd: '/' },
    root: { path: '/srv/rootfs' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }], seccomp: seccompProfile },
  };
}

// podman's template resolved as containers/common does for a container:
// an entry applies when its includes all hold and none of its excludes does.
function podmanProfile(caps = PODMAN_CAPS) {
  const template = JSON.parse(fs.readFileSync(PODMAN_PROFILE, 'utf8'));
  const goArch = arch === 'arm64' ? 'arm64' : 'amd64';
  const syscalls = [];
  for (const entry of template.syscalls) {
    const includes = entry.includes ?? {};
    const excludes = entry.excludes ?? {};
    if (includes.arches?.length && !includes.arches.includes(goArch)) continue;
    if (includes.caps?.length && !includes.caps.every((cap) => caps.includes(cap))) continue;
    if (excludes.arches?.includes(goArch)) continue;
    if (excludes.caps?.some((cap) => caps.includes(cap))) continue;
    syscalls.push({ names: entry.names, action: entry.action, ...(entry.errnoRet ? { errnoRet: entry.errnoRet } : {}), ...(entry.args?.length ? { args: entry.args } : {}) });
  }
  const archMap = template.archMap.find((a) => a.architecture === NATIVE);
  return { defaultAction: template.defaultAction, defaultErrnoRet: template.defaultErrnoRet, architectures: [NATIVE, ...archMap.subArchitectures], syscalls };
}

// The OCI rules' meaning, written from the runtime spec and runc/libseccomp,
// independently of lib/oci/seccomp.ts: a rule holds when all its conditions
// do (when several name one argument, runc adds each as a rule of its own);
// values compare as unsigned 64-bit; no rule: the default action.
const OPS = {
  SCMP_CMP_NE: (x, v) => x !== v,
  SCMP_CMP_LT: (x, v) => x < v,
  SCMP_CMP_LE: (x, v) => x <= v,
  SCMP_CMP_EQ: (x, v) => x === v,
  SCMP_CMP_GE: (x, v) => x >= v,
  SCMP_CMP_GT: (x, v) => x > v,
  SCMP_CMP_MASKED_EQ: (x, mask, want) => (x & mask) === want,
};
function ociAction(action, errnoRet) {
  if (action === 'SCMP_ACT_ALLOW') return 'allow';
  if (action === 'SCMP_ACT_ERRNO') return `errno ${errnoRet ?? 1}`; // EPERM unless given (the default action's is defaultErrnoRet)
  if (action === 'SCMP_ACT_KILL_PROCESS') return 'kill-process';
  if (action === 'SCMP_ACT_KILL' || action === 'SCMP_ACT_KILL_THREAD') return 'kill';
  if (action === 'SCMP_ACT_TRAP') return 'trap';
  return 'log';
}
function oracle(profile, name, args) {
  const matched = new Set();
  for (const entry of profile.syscalls ?? []) {
    if (!entry.names.includes(name)) continue;
    const conditions = entry.args ?? [];
    const indexes = conditions.map((c) => c.index);
    const rules = new Set(indexes).size === indexes.length ? [conditions] : conditions.map((c) => [c]);
    for (const rule of rules) {
      const holds = rule.every((c) => OPS[c.op](BigInt.asUintN(64, BigInt(args[c.index] ?? 0)), BigInt(c.value), BigInt(c.valueTwo ?? 0)));
      if (holds) matched.add(ociAction(entry.action, entry.errnoRet));
    }
  }
  if (matched.size > 1) throw new Error(`${name}: rules with different actions hold for ${args}`);
  return matched.size === 1 ? [...matched][0] : ociAction(profile.defaultAction, profile.defaultErrnoRet);
}

function cordonAction(policy) {
  const evaluate = bpf.load(seccomp.compileSeccomp(policy));
  return (name, args) => {
    const d = bpf.describe(evaluate({ nr: TABLE.get(name), arch: AUDIT, args }).ret);
    return d.action === 'errno' ? `errno ${d.errno}` : d.action;
  };
}

// Argument values: small ones, the profile's, and each with a high word set.
const VALUES = [0n, 1n, 2n, 3n, 8n, 9n, 10n, 16n, 17n, 40n, 0x10000n, 0x20000n, 0x20008n, 0xfffffffen, 0xffffffffn, 0x7e020000n, 0x10000000n, 0x10000011n];
const WITH_HIGH = [...VALUES, ...VALUES.map((v) => v | (1n << 32n)), ...VALUES.map((v) => v | 0xffffffff00000000n)];

function agree(t, profile, calls) {
  const policy = fromOciConfig(config(profile)).options.seccomp;
  const ours = cordonAction(policy);
  let compared = 0;
  for (const name of calls) {
    for (const a0 of WITH_HIGH) {
      for (const a2 of [0n, 9n, 0x100000009n, 17n]) {
        const args = [a0, 3n, a2];
        const want = oracle(profile, name, args);
        const got = ours(name, args);
        if (got !== want) t.equal(got, want, `${name}(0x${a0.toString(16)}, 3, 0x${a2.toString(16)})`);
        compared++;
      }
    }
  }
  t.pass(`${compared} calls decided alike by the OCI rules and cordon's BPF`);
  return { policy, ours };
}

t.test('every SCMP_CMP op maps, both sides of each value, 64-bit', async (t) => {
  for (const [op, value, valueTwo] of [['SCMP_CMP_EQ', 40], ['SCMP_CMP_NE', 16], ['SCMP_CMP_LT', 17], ['SCMP_CMP_LE', 16], ['SCMP_CMP_GT', 9], ['SCMP_CMP_GE', 0x10000], ['SCMP_CMP_MASKED_EQ', 0x7e020000, 0], ['SCMP_CMP_MASKED_EQ', 0x10000000, 0x10000000], ['SCMP_CMP_EQ', 0xffffffff]]) {
    for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']) {
      const profile = {
        defaultAction,
        defaultErrnoRet: 38,
        architectures: [NATIVE],
        syscalls: [
          { names: ['execve', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
          { names: ['personality', 'clone'], action: defaultAction === 'SCMP_ACT_ALLOW' ? 'SCMP_ACT_ERRNO' : 'SCMP_ACT_ALLOW', errnoRet: defaultAction === 'SCMP_ACT_ALLOW' ? 13 : undefined, args: [{ index: 0, op, value, ...(valueTwo === undefined ? {} : { valueTwo }) }] },
        ],
      };
      const { policy } = agree(t, profile, ['personality', 'clone', 'getpid']);
      t.equal(policy.mode, defaultAction === 'SCMP_ACT_ALLOW' ? 'denylist' : 'allowlist', `${op} under ${defaultAction}`);
    }
  }
});

t.test('several conditions: AND across arguments, OR on one argument (as runc)', async (t) => {
  const profile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 16 }, { index: 2, op: 'SCMP_CMP_EQ', value: 9 }] },
      // two conditions on argument 0: runc adds them as two rules
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 8 }, { index: 0, op: 'SCMP_CMP_EQ', value: 0x20008 }] },
    ],
  };
  const { policy, ours } = agree(t, profile, ['socket', 'personality']);
  t.same(policy.deny.filter((rule) => rule.syscall === 'personality').map((rule) => rule.args), [[{ index: 0, op: 'eq', value: 8 }], [{ index: 0, op: 'eq', value: 0x20008 }]], 'one rule per condition on the same argument');
  t.equal(ours('personality', [8]), 'errno 1');
  t.equal(ours('personality', [0x20008]), 'errno 1');
  t.equal(ours('personality', [0x20000]), 'allow');
  t.equal(ours('socket', [16, 3, 9]), 'errno 22');
  t.equal(ours('socket', [16, 3, 10]), 'allow');
});

t.test('podman\'s default profile maps whole and decides as libseccomp would', async (t) => {
  if (!requireOrSkip(t, fs.existsSync(PODMAN_PROFILE), `${PODMAN_PROFILE} (apt-get install golang-github-containers-common)`)) return;
  for (const caps of [PODMAN_CAPS, [...PODMAN_CAPS, 'CAP_AUDIT_WRITE', 'CAP_SYS_ADMIN']]) {
    const what = caps === PODMAN_CAPS ? 'podman\'s default capabilities' : 'with CAP_AUDIT_WRITE and CAP_SYS_ADMIN';
    const profile = podmanProfile(caps);
    const mapped = fromOciConfig(config(profile));
    const seccompIgnored = mapped.ignored.filter((entry) => entry.field.includes('seccomp'));
    t.ok(seccompIgnored.every((entry) => /architectures|names/.test(entry.field)), `${what}: only compatibility ABIs and names cordon lacks are set aside: ${JSON.stringify(seccompIgnored.map((e) => e.field))}`);
    t.ok(seccompIgnored.some((entry) => /architectures\[1\]/.test(entry.field)), `${what}: the compatibility ABIs are listed`);
    const { ours } = agree(t, profile, ['personality', 'socket', 'clone', 'bpf', 'getpid', 'open_by_handle_at']);
    if (caps === PODMAN_CAPS) {
      t.equal(ours('setns', [-1, 0]), 'errno 1', 'setns, allowed in the long list and refused without CAP_SYS_ADMIN: refused');
      t.ok(mapped.ignored.some((entry) => /^linux\.seccomp\.syscalls\[1\]\.names\[\d+\]$/.test(entry.field) && /keeps the refusal/.test(entry.reason)), 'and the allow it overrides is listed');
      t.ok(profile.syscalls.some((entry) => entry.names.includes('socket') && entry.args), 'the profile does filter socket\'s arguments here');
      t.equal(ours('personality', [0xffffffff]), 'allow', 'personality(0xffffffff): allowed');
      t.equal(ours('personality', [0x1ffffffffn]), 'errno 38', 'a high word makes it another value, refused (64-bit, as libseccomp)');
      t.equal(ours('personality', [0x10000]), 'errno 38', 'another persona: the default errno');
      t.equal(ours('socket', [16, 3, 9]), 'errno 22', 'socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT): EINVAL');
      t.equal(ours('socket', [16, 3, 0]), 'allow', 'another netlink protocol');
      t.equal(ours('socket', [40, 1, 0]), 'allow', 'AF_VSOCK: this profile does not filter it');
    } else {
      t.equal(ours('socket', [16, 3, 9]), 'allow', 'with CAP_AUDIT_WRITE the audit socket is allowed');
      t.equal(ours('bpf', [0]), 'allow', 'with CAP_SYS_ADMIN bpf is allowed');
    }
  }
});

t.test('what cannot be mapped faithfully is refused by JSON path', async (t) => {
  const refused = (syscalls, jsonPath, code, message, defaultAction = 'SCMP_ACT_ALLOW') => {
    let caught;
    try {
      fromOciConfig(config({ defaultAction, syscalls }));
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof OciConfigError, `${jsonPath}: refused`);
    t.equal(caught?.jsonPath, jsonPath, `${jsonPath}: named`);
    t.equal(caught?.code, code, `${jsonPath}: ${code}`);
    if (message) t.match(caught?.message, message);
  };
  const socket = (args, action = 'SCMP_ACT_ERRNO') => ({ names: ['socket'], action, args });
  refused([socket([{ index: 0, op: 'SCMP_CMP_LIKE', value: 1 }])], 'linux.seccomp.syscalls[0].args[0].op', 'ERR_INVALID_ARG_VALUE', /SCMP_CMP_MASKED_EQ/);
  refused([socket([{ index: 6, op: 'SCMP_CMP_EQ', value: 1 }])], 'linux.seccomp.syscalls[0].args[0].index', 'ERR_INVALID_ARG_VALUE');
  refused([socket([{ op: 'SCMP_CMP_EQ', value: 1 }])], 'linux.seccomp.syscalls[0].args[0].index', 'ERR_INVALID_ARG_TYPE');
  refused([socket([{ index: 0, op: 'SCMP_CMP_EQ', value: 2 ** 60 }])], 'linux.seccomp.syscalls[0].args[0].value', 'ERR_INVALID_ARG_VALUE', /JSON/);
  refused([socket([{ index: 0, op: 'SCMP_CMP_EQ', value: -1 }])], 'linux.seccomp.syscalls[0].args[0].value', 'ERR_INVALID_ARG_VALUE');
  refused([socket([{ index: 0, op: 'SCMP_CMP_EQ', value: '1' }])], 'linux.seccomp.syscalls[0].args[0].value', 'ERR_INVALID_ARG_TYPE');
  refused([socket([{ index: 0, op: 'SCMP_CMP_EQ', value: 1, valueTwo: 2 }])], 'linux.seccomp.syscalls[0].args[0].valueTwo', 'ERR_INVALID_ARG_VALUE', /only to SCMP_CMP_MASKED_EQ/);
  refused([socket([{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 0xff, valueTwo: 0x100 }])], 'linux.seccomp.syscalls[0].args[0].valueTwo', 'ERR_INVALID_ARG_VALUE', /never match/);
  refused([socket([{ index: 0, op: 'SCMP_CMP_LT', value: 0 }])], 'linux.seccomp.syscalls[0].args[0].value', 'ERR_INVALID_ARG_VALUE');
  refused([socket([{ index: 0, op: 'SCMP_CMP_EQ', value: 1, extra: 1 }])], 'linux.seccomp.syscalls[0].args[0].extra', 'ERR_CORDON_UNKNOWN_OPTION');
  // Rules with different actions that may match one call: no precedence in the OCI format.
  refused([socket([{ index: 0, op: 'SCMP_CMP_GE', value: 16 }]), socket([{ index: 0, op: 'SCMP_CMP_LE', value: 40 }], 'SCMP_ACT_KILL')], 'linux.seccomp.syscalls[1].names[0]', 'ERR_CORDON_OCI_UNSUPPORTED', /neither precedence/);
  refused([socket([{ index: 0, op: 'SCMP_CMP_EQ', value: 16 }]), { names: ['socket'], action: 'SCMP_ACT_KILL' }], 'linux.seccomp.syscalls[1].names[0]', 'ERR_CORDON_OCI_UNSUPPORTED');
  refused([socket([{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 0xf0, valueTwo: 0x10 }]), socket([{ index: 0, op: 'SCMP_CMP_NE', value: 7 }], 'SCMP_ACT_KILL')], 'linux.seccomp.syscalls[1].names[0]', 'ERR_CORDON_OCI_UNSUPPORTED');
  // Provably apart: accepted.
  const apart = fromOciConfig(config({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      socket([{ index: 0, op: 'SCMP_CMP_LT', value: 16 }]),
      socket([{ index: 0, op: 'SCMP_CMP_GE', value: 16 }, { index: 1, op: 'SCMP_CMP_EQ', value: 3 }], 'SCMP_ACT_KILL'),
      socket([{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 0xff, valueTwo: 0x10 }, { index: 1, op: 'SCMP_CMP_NE', value: 3 }], 'SCMP_ACT_TRAP'),
      // same action as the default: dropped, as runc does
      socket([{ index: 0, op: 'SCMP_CMP_EQ', value: 16 }], 'SCMP_ACT_ALLOW'),
    ],
  }));
  t.same(apart.options.seccomp.deny.map((rule) => rule.action), [{ errno: 1 }, 'kill', 'trap'], 'three rules with three actions, provably apart');
  // A rule without args and rules with args, one action: the rule without wins alone.
  const merged = fromOciConfig(config({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ALLOW' }, { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }] }, { names: ['socket'], action: 'SCMP_ACT_ALLOW' }] }));
  t.same(merged.options.seccomp.allow, ['execve', 'socket']);
});

t.test('podman\'s profile under crun and under cordon: the same answers', async (t) => {
  if (!skipExpected(t, isRoot, 'unprivileged pass: rootless crun and runc do not run containers on this host (no delegated cgroup v2)')) return;
  if (!requireOrSkip(t, fs.existsSync(PODMAN_PROFILE), `${PODMAN_PROFILE} (apt-get install golang-github-containers-common)`)) return;
  const spec = toolSpec(t, 'crun') ?? toolSpec(t, 'runc');
  if (!requireOrSkip(t, spec !== undefined, 'crun or runc (apt-get install crun runc)')) return;
  const dir = scratch(t, 'cordon-oci-seccomp-');
  const probe = path.join(dir, 'seccomp-calls');
  const built = spawnSync('cc', ['-static', '-O1', '-Wall', '-o', probe, path.join(__dirname, 'seccomp-calls.c')], { encoding: 'utf8' });
  if (!requireOrSkip(t, built.status === 0, `a C compiler with a static libc (cc -static): ${built.stderr ?? built.error?.message}`)) return;
  const bundle = makeBundle(t, spec, (c) => {
    c.process.terminal = false;
    c.process.args = ['/bin/seccomp-calls'];
    c.linux.seccomp = podmanProfile();
  });
  fs.copyFileSync(probe, path.join(bundle, 'rootfs', 'bin', 'seccomp-calls'));
  fs.chmodSync(path.join(bundle, 'rootfs', 'bin', 'seccomp-calls'), 0o755);
  const reference = runReference(bundle, `cordon-seccomp-${process.pid}`);
  if (!requireOrSkip(t, reference !== undefined, 'a reference runtime (crun or runc) that runs containers here')) return;
  const ours = await run(...(({ file, args, options }) => [file, args, options])(loadOciBundle(bundle, { hostCredentials: true })));
  t.equal(ours.code, 0, ours.stderr);
  // The one documented difference: podman allows setns in its long list and
  // refuses it again without CAP_SYS_ADMIN; libseccomp keeps the first rule,
  // cordon the refusal (docs/oci.md).
  const apartFromSetns = (text) => text.replace(/^setns .*\n/m, '');
  t.equal(apartFromSetns(ours.stdout), apartFromSetns(reference.stdout), `the same answers under ${reference.tool} and cordon`);
  t.match(ours.stdout, /^setns err 1$/m, 'setns: refused under cordon, as the profile\'s later rule asks');
  t.match(reference.stdout, /^setns err (1|9)$/m, `setns under ${reference.tool}: refused, or allowed and failing on the bad fd`);
  const lines = Object.fromEntries(ours.stdout.trim().split('\n').map((line) => { const [name, ...rest] = line.split(' '); return [name, rest.join(' ')]; }));
  t.equal(lines['personality-query'], 'ok', 'personality(0xffffffff) allowed');
  t.equal(lines['personality-0x10000'], 'err 38', 'personality(0x10000): the profile\'s default errno');
  t.equal(lines['personality-query-high-word'], 'err 38', 'personality(0x1ffffffff): 64-bit, not the allowed query');
  t.equal(lines['personality-8-high-word'], 'err 38');
  t.equal(lines['socket-netlink-audit'], 'err 22', 'socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT): EINVAL from the filter');
  t.equal(lines['socket-netlink-route'], 'ok');
  t.equal(lines.bpf, 'err 1', 'bpf without CAP_SYS_ADMIN: EPERM');
  t.comment(`socket(AF_NETLINK, SOCK_RAW, 0x100000009) under both: ${lines['socket-netlink-audit-high-word']} (the profile compares 64 bits; the kernel reads an int)`);
});
