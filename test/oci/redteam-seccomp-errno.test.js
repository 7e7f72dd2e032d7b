// Red team: an OCI rule's SCMP_ACT_ERRNO without errnoRet fails with EPERM
// (runtime-spec: "If not specified then its default value is EPERM"; runc's
// and crun's rules do); defaultErrnoRet is the default action's alone. Were
// the rule given defaultErrnoRet instead, a profile whose default is ENOSYS
// would answer its refused calls with ENOSYS, and libc takes ENOSYS for "no
// such call" and falls back to an older one the profile allows (statx to
// newfstatat, faccessat2 to faccessat, clone3 to clone): what the profile
// refuses would get done anyway.
'use strict';
const t = require('tap');
const { fromOciConfig } = require('../..');
const seccomp = require('../../dist/seccomp');
const bpf = require('../seccomp/bpf-interpreter');

const NATIVE = process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64';
const TABLE = process.arch === 'arm64' ? seccomp.SYSCALLS_AARCH64 : seccomp.SYSCALLS_X86_64;
const AUDIT = process.arch === 'arm64' ? 0xc00000b7 : 0xc000003e;
const EPERM = 1;
const ENOSYS = 38;

function mapped(profile) {
  const { options } = fromOciConfig({
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['true'], env: ['PATH=/bin'], cwd: '/' },
    root: { path: '/srv/rootfs' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }], seccomp: profile },
  });
  const evaluate = bpf.load(seccomp.compileSeccomp(options.seccomp));
  const answer = (name) => bpf.describe(evaluate({ nr: TABLE.get(name), arch: AUDIT, args: [] }).ret);
  return { policy: options.seccomp, answer };
}

t.test('a rule\'s SCMP_ACT_ERRNO without errnoRet is EPERM, whatever defaultErrnoRet says', async (t) => {
  const allowlist = mapped({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: ENOSYS,
    architectures: [NATIVE],
    syscalls: [
      { names: ['execve', 'newfstatat', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
      { names: ['statx'], action: 'SCMP_ACT_ERRNO' },
      { names: ['faccessat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
    ],
  });
  t.same(allowlist.answer('statx'), { action: 'errno', errno: EPERM }, 'statx refused with EPERM: no ENOSYS for libc to fall back on');
  t.same(allowlist.answer('faccessat2'), { action: 'errno', errno: 13 }, 'an errnoRet given is kept');
  t.same(allowlist.answer('getpid'), { action: 'errno', errno: ENOSYS }, 'the default action keeps defaultErrnoRet');
  t.same(allowlist.answer('newfstatat'), { action: 'allow' });

  const denylist = mapped({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [NATIVE],
    syscalls: [{ names: ['statx'], action: 'SCMP_ACT_ERRNO' }],
  });
  t.same(denylist.answer('statx'), { action: 'errno', errno: EPERM });
});
