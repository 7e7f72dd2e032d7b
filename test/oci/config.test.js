// fromOciConfig: configs of the real tools map; every refusal names the
// field's JSON path; seccomp, resources and capabilities map as documented.
'use strict';
const t = require('tap');
const fs = require('node:fs');
const path = require('node:path');

const { fromOciConfig, loadOciBundle, OciConfigError, CordonOptionError } = require('../..');
const { requireOrSkip } = require('../helpers/skip');
const { toolSpec } = require('../helpers/oci');
const { scratch } = require('../helpers/images');

/** A minimal valid config; `edit` changes a copy. */
function config(edit = () => {}) {
  const base = {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'true'], env: ['PATH=/bin'], cwd: '/' },
    root: { path: '/srv/rootfs' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }, { type: 'uts' }] },
  };
  edit(base);
  return base;
}

function refused(t, edit, jsonPath, code = 'ERR_CORDON_OCI_UNSUPPORTED') {
  let caught;
  try {
    fromOciConfig(config(edit));
  } catch (error) {
    caught = error;
  }
  t.ok(caught instanceof OciConfigError, `${jsonPath}: an OciConfigError`);
  t.ok(caught instanceof CordonOptionError, `${jsonPath}: a CordonOptionError`);
  t.equal(caught?.option, jsonPath, `names ${jsonPath}`);
  t.equal(caught?.jsonPath, jsonPath);
  t.equal(caught?.code, code, `${jsonPath}: ${code}`);
  t.match(caught?.message ?? '', jsonPath);
}

t.test('the config of `crun spec` and `runc spec` maps, as root and rootless', async (t) => {
  for (const [tool, rootless] of [['crun', false], ['crun', true], ['runc', false], ['runc', true]]) {
    const spec = toolSpec(t, tool, rootless);
    if (!requireOrSkip(t, spec !== undefined, `${tool} spec (apt-get install ${tool})`)) continue;
    spec.process.terminal = false;
    const bundle = scratch(t);
    const { file, args, options, ignored } = fromOciConfig(spec, { bundle });
    const what = `${tool} spec${rootless ? ' --rootless' : ''}`;
    t.equal(file, 'sh', what);
    t.same(args, [], what);
    t.same(options.rootfs, { dir: path.join(bundle, 'rootfs') }, `${what}: root.path in the bundle, readonly`);
    t.equal(options.hostname, tool);
    t.same(options.capabilities, ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'], `${what}: the capabilities`);
    t.same(options.rlimits, { nofile: 1024 });
    t.equal(options.init, false, 'the process is PID 1');
    t.equal(options.namespaces.user, 'new');
    t.equal(options.namespaces.pid, 'new');
    const hasNet = spec.linux.namespaces.some((ns) => ns.type === 'network');
    t.equal(options.namespaces.net, hasNet ? 'new' : 'host', `${what}: the network namespace as listed`);
    t.ok(options.mounts.some((m) => m.type === 'mask' && m.target === '/proc/kcore' && m.ifExists), `${what}: maskedPaths`);
    t.ok(options.mounts.some((m) => m.type === 'remount-ro' && m.target === '/proc/sys'), `${what}: readonlyPaths`);
    t.ok(options.mounts.some((m) => m.type === 'mqueue' && m.target === '/dev/mqueue'), `${what}: /dev/mqueue`);
    t.ok(
      options.mounts.some((m) => m.target === '/sys' && (hasNet ? m.type === 'sysfs' : m.type === 'bind' && m.recursive && m.readonly)),
      `${what}: /sys`,
    );
    t.ok(ignored.some((i) => i.field === 'mounts[0]'), `${what}: /proc is cordon's own, and says so`);
    if (!rootless) t.ok(ignored.some((i) => i.field === 'linux.namespaces'), `${what}: the user namespace cordon adds is listed`);
    else if (spec.linux.uidMappings !== undefined) t.same(options.uidMap, spec.linux.uidMappings.map((m) => ({ inside: m.containerID, outside: m.hostID, count: m.size })));
  }
});

t.test('the process maps field by field', async (t) => {
  const { file, args, options } = fromOciConfig(
    config((c) => {
      c.process.args = ['/bin/app', '--flag'];
      c.process.env = ['A=1', 'B=x=y', 'PATH=/usr/bin'];
      c.process.cwd = '/work';
      c.process.user = { uid: 1000, gid: 1001, umask: 0o27, additionalGids: [5, 6, 5] };
      c.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_NET_RAW'], ambient: ['CAP_NET_RAW'], permitted: ['CAP_NET_RAW'], effective: ['CAP_NET_RAW'], inheritable: ['CAP_NET_RAW'] };
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }];
      c.process.noNewPrivileges = false;
      c.process.oomScoreAdj = 500;
      c.process.scheduler = { policy: 'SCHED_OTHER', nice: 5 };
      c.process.apparmorProfile = '';
      c.hostname = 'box1';
      c.root = { path: 'rootfs', readonly: false };
    }),
    { bundle: '/srv/b' },
  );
  t.equal(file, '/bin/app');
  t.same(args, ['--flag']);
  t.same(options.env, { A: '1', B: 'x=y', PATH: '/usr/bin' });
  t.equal(options.cwd, '/work');
  t.equal(options.uid, 1000);
  t.equal(options.gid, 1001);
  t.equal(options.umask, 0o27);
  t.same(options.groups, [5, 6]);
  t.same(options.capabilities, ['CAP_NET_RAW'], 'a non-root payload keeps its ambient set');
  t.same(options.rlimits, { nofile: { soft: 100, hard: 200 }, core: 'unlimited' });
  t.equal(options.allowNewPrivileges, true, 'noNewPrivileges: false is honoured');
  t.equal(options.oomScoreAdj, 500);
  t.equal(options.nice, 5);
  t.equal(options.hostname, 'box1');
  t.same(options.rootfs, { dir: '/srv/b/rootfs', writable: true });
});

t.test('a non-root user keeps the ambient capabilities the kernel would raise', async (t) => {
  const spec = toolSpec(t, 'runc');
  if (!requireOrSkip(t, spec !== undefined, 'runc spec (apt-get install runc)')) return;
  spec.process.terminal = false;
  spec.process.user = { uid: 1000, gid: 1000 };
  spec.root.path = '/srv/rootfs';
  // runc spec lists them ambient but not inheritable: runc's payload ends with none.
  t.same(fromOciConfig(spec).options.capabilities, []);
  spec.process.capabilities.inheritable = ['CAP_KILL'];
  t.same(fromOciConfig(spec).options.capabilities, ['CAP_KILL']);
});

t.test('namespaces: new, joined by path, or the host\'s', async (t) => {
  const { options } = fromOciConfig(
    config((c) => {
      c.linux.namespaces = [{ type: 'mount' }, { type: 'user' }, { type: 'network', path: '/run/netns/blue' }, { type: 'ipc' }];
    }),
  );
  t.same(options.namespaces, { user: 'new', pid: 'host', mount: 'new', net: { path: '/run/netns/blue' }, ipc: 'new', uts: 'host', cgroup: 'host', time: 'host' });
  t.equal(options.init, undefined, 'no init decision without a pid namespace of its own');
  const host = fromOciConfig(config((c) => { c.linux.namespaces = [{ type: 'mount' }]; }), { hostCredentials: true });
  t.equal(host.options.namespaces.user, 'host');
  t.equal(host.options.allowHostCredentials, true, 'hostCredentials honours a config without a user namespace');
});

t.test('resources: memory, cpu, pids, blockIO, cpuset, unified', async (t) => {
  const { options } = fromOciConfig(
    config((c) => {
      c.linux.resources = {
        memory: { limit: 256 << 20, swap: 384 << 20, useHierarchy: true },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
        pids: { limit: 64 },
        blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] },
        unified: { 'memory.high': '200000000' },
        devices: [{ allow: false, access: 'rwm' }],
      };
    }),
  );
  t.same(options.cgroup, {
    memory: { max: 256 << 20, swapMax: 128 << 20, high: 200000000 },
    cpu: { weight: 39, max: { quota: 50000, period: 100000 } },
    cpuset: { cpus: '0-1', mems: '0' },
    pids: { max: 64 },
    io: { weight: 4950, devices: [{ major: 8, minor: 0, readBps: 1048576, writeIops: 100 }] },
  });
  const unlimited = fromOciConfig(config((c) => { c.linux.resources = { memory: { limit: -1 }, pids: { limit: -1 }, unified: { 'cpu.max': 'max 50000' } }; }));
  t.same(unlimited.options.cgroup, { memory: { max: 'max' }, pids: { max: 'max' }, cpu: { max: { quota: 'max', period: 50000 } } });
  const zeros = fromOciConfig(config((c) => { c.linux.resources = { memory: { limit: 0, swap: 0 }, cpu: { shares: 0, quota: 0, period: 0 }, blockIO: { weight: 0 }, pids: { limit: 0 } }; }));
  t.same(zeros.options.cgroup, { pids: { max: 'max' } }, '0 is "not set", as runc reads it');
  const none = fromOciConfig(config((c) => { c.linux.resources = { devices: [{ allow: false, access: 'rwm' }] }; }));
  t.equal(none.options.cgroup, undefined, 'no limits: no cgroup of its own');
});

t.test('devices bind the host\'s node; user.max_* sysctls are kernel counters', async (t) => {
  const { options } = fromOciConfig(config((c) => {
    c.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
    c.linux.sysctl = { 'user.max_user_namespaces': '8', 'user.max_inotify_instances': '16' };
  }));
  t.same(options.mounts, [{ type: 'bind', source: '/dev/null', target: '/dev/null', readonly: false, recursive: false, devices: true }]);
  t.same(options.kernelCounters, { userNamespaces: 8, inotifyInstances: 16 });
  // The box's own net and IPC namespaces' parameters: the sysctl option
  // (podman's default net.ipv4.ping_group_range among them).
  const namespaced = fromOciConfig(config((c) => {
    c.linux.sysctl = { 'net.ipv4.ping_group_range': '0 0', 'kernel.shmmax': '65536', 'user.max_user_namespaces': '8' };
  }));
  t.same(namespaced.options.sysctl, { 'net.ipv4.ping_group_range': '0 0', 'kernel.shmmax': '65536' });
  t.same(namespaced.options.kernelCounters, { userNamespaces: 8 });
  refused(t, (c) => { c.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 5 }]; }, 'linux.devices[0].path');
  refused(t, (c) => { c.linux.devices = [{ path: '/dev/null', type: 'p', major: 0, minor: 0 }]; }, 'linux.devices[0].type');
});

t.test('seccomp: the OCI format into cordon\'s policy', async (t) => {
  const native = process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64';
  const deny = fromOciConfig(config((c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: [native],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['ptrace'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['getpid', 's390_runtime_instr'], action: 'SCMP_ACT_ALLOW' },
      ],
    };
  }));
  t.same(deny.options.seccomp, {
    mode: 'denylist',
    profile: 'none',
    deny: [{ syscall: 'mkdir', action: { errno: 13 } }, { syscall: 'mkdirat', action: { errno: 13 } }, { syscall: 'ptrace', action: 'kill-process' }],
  });
  const allow = fromOciConfig(config((c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [{ names: ['execve', 'read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }, { names: ['kill'], action: 'SCMP_ACT_LOG' }],
    };
  }));
  const unknownInAllowlist = fromOciConfig(config((c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['execve', 'read'], action: 'SCMP_ACT_ALLOW' }, { names: ['bdflush', 'kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
  }));
  t.same(unknownInAllowlist.options.seccomp.deny, [{ syscall: 'kill', action: { errno: 38 } }], 'an unknown name the default refuses anyway is left to the default');
  t.ok(unknownInAllowlist.ignored.some((entry) => entry.field === 'linux.seccomp.syscalls[1].names[0]'), 'and listed');
  t.same(allow.options.seccomp, { mode: 'allowlist', profile: 'none', allow: ['execve', 'read', 'write', 'exit_group'], deny: [{ syscall: 'kill', action: 'log' }], defaultAction: { errno: 38 } });
  // podman's and Docker's profiles list the compatibility ABIs beside the
  // native one: cordon kills every call made through them, so they are
  // accepted (stricter) and listed as ignored; a foreign ABI is still refused.
  const compat = process.arch === 'arm64' ? ['SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
  const withCompat = fromOciConfig(config((c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [native, ...compat], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  }));
  t.same(withCompat.options.seccomp.deny, [{ syscall: 'mkdir', action: { errno: 1 } }], 'the compatibility ABIs change nothing in the policy');
  t.ok(withCompat.ignored.some((entry) => entry.field.startsWith('linux.seccomp.architectures[1]') && /kills every call/.test(entry.reason)), 'and are listed as ignored, with the reason');
  refused(t, (c) => { c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [native, 'SCMP_ARCH_PPC64LE'] }; }, 'linux.seccomp.architectures[1]');
  const { compileSeccomp } = require('../../dist/seccomp');
  t.ok(compileSeccomp(allow.options.seccomp).length > 0, 'the mapped policy compiles');
  t.ok(compileSeccomp(deny.options.seccomp).length > 0, 'the mapped policy compiles');
});

t.test('every unsupported field is refused with its JSON path', async (t) => {
  const seccomp = (extra) => (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }], ...extra };
  };
  const cases = [
    [(c) => { c.process.terminal = true; }, 'process.terminal'],
    [(c) => { c.process.apparmorProfile = 'docker-default'; }, 'process.apparmorProfile'],
    [(c) => { c.process.selinuxLabel = 'system_u:system_r:container_t:s0'; }, 'process.selinuxLabel'],
    [(c) => { c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 }; }, 'process.ioPriority'],
    [(c) => { c.process.scheduler = { policy: 'SCHED_FIFO', priority: 5 }; }, 'process.scheduler.policy'],
    [(c) => { c.process.rlimits = [{ type: 'RLIMIT_RTPRIO', soft: 1, hard: 1 }]; }, 'process.rlimits[0].type'],
    [(c) => { c.domainname = 'example.org'; }, 'domainname'],
    [(c) => { c.hooks = { prestart: [{ path: '/bin/true' }] }; }, 'hooks'],
    [(c) => { c.windows = { layerFolders: [] }; }, 'windows'],
    [(c) => { c.mounts = [{ destination: '/data', type: 'ext4', source: '/dev/sdb1' }]; }, 'mounts[0].type'],
    [(c) => { c.mounts = [{ destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'rshared'] }]; }, 'mounts[0].options[1]'],
    [(c) => { c.mounts = [{ destination: '/data', type: 'bind', source: '/srv', options: ['bind', 'ro', 'suid'] }]; }, 'mounts[0].options'],
    [(c) => { c.mounts = [{ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=50%'] }]; }, 'mounts[0].options'],
    [(c) => { c.mounts = [{ destination: '/data', type: 'bind', source: '/srv', uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }]; }, 'mounts[0].uidMappings'],
    [(c) => { c.linux.namespaces = [{ type: 'user' }]; }, 'linux.namespaces'],
    [(c) => { c.linux.sysctl = { 'vm.overcommit_memory': '1' }; }, 'linux.sysctl["vm.overcommit_memory"]'],
    [(c) => { c.linux.sysctl = { 'kernel.pid_max': '4096' }; }, 'linux.sysctl["kernel.pid_max"]'],
    [(c) => { c.linux.resources = { memory: { reservation: 1 << 20 } }; }, 'linux.resources.memory.reservation'],
    [(c) => { c.linux.resources = { memory: { swappiness: 0 } }; }, 'linux.resources.memory.swappiness'],
    [(c) => { c.linux.resources = { cpu: { realtimeRuntime: 1000 } }; }, 'linux.resources.cpu.realtimeRuntime'],
    [(c) => { c.linux.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }; }, 'linux.resources.hugepageLimits'],
    [(c) => { c.linux.resources = { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 10 }] } }; }, 'linux.resources.blockIO.weightDevice'],
    [(c) => { c.linux.resources = { unified: { 'memory.low': '1' } }; }, 'linux.resources.unified["memory.low"]'],
    [(c) => { c.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 999 }]; }, 'linux.devices[0].path'],
    [(c) => { c.linux.rootfsPropagation = 'rslave'; }, 'linux.rootfsPropagation'],
    [(c) => { c.linux.mountLabel = 'system_u:object_r:container_file_t:s0'; }, 'linux.mountLabel'],
    [(c) => { c.linux.intelRdt = { closID: 'x' }; }, 'linux.intelRdt'],
    [(c) => { c.linux.timeOffsets = { monotonic: { secs: 1 } }; }, 'linux.timeOffsets'],
    [(c) => { c.linux.personality = { domain: 'LINUX32' }; }, 'linux.personality.domain'],
    [seccomp({ architectures: ['SCMP_ARCH_S390X'] }), 'linux.seccomp.architectures[0]'],
    [seccomp({ flags: ['SECCOMP_FILTER_FLAG_LOG'] }), 'linux.seccomp.flags[0]'],
    [seccomp({ listenerPath: '/run/notify.sock' }), 'linux.seccomp.listenerPath'],
    [seccomp({ defaultAction: 'SCMP_ACT_TRACE' }), 'linux.seccomp.defaultAction'],
    [seccomp({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), 'linux.seccomp.syscalls[0].action'],
    [seccomp({ syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] }, { names: ['socket'], action: 'SCMP_ACT_KILL', args: [{ index: 0, value: 30, op: 'SCMP_CMP_GE' }] }] }), 'linux.seccomp.syscalls[1].names[0]'],
    [seccomp({ syscalls: [{ names: ['mkdir', 'no_such_call_here'], action: 'SCMP_ACT_ERRNO' }] }), 'linux.seccomp.syscalls[0].names[1]'],
  ];
  for (const [edit, jsonPath] of cases) refused(t, edit, jsonPath);
});

t.test('unknown fields and malformed values are refused with their JSON path', async (t) => {
  refused(t, (c) => { c.process.shell = true; }, 'process.shell', 'ERR_CORDON_UNKNOWN_OPTION');
  refused(t, (c) => { c.linux.resources = { memory: { limitt: 1 } }; }, 'linux.resources.memory.limitt', 'ERR_CORDON_UNKNOWN_OPTION');
  refused(t, (c) => { c.mounts = [{ destination: '/x', type: 'tmpfs', dest: '/y' }]; }, 'mounts[0].dest', 'ERR_CORDON_UNKNOWN_OPTION');
  refused(t, (c) => { c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscall: [] }; }, 'linux.seccomp.syscall', 'ERR_CORDON_UNKNOWN_OPTION');
  refused(t, (c) => { c.extra = 1; }, 'extra', 'ERR_CORDON_UNKNOWN_OPTION');
  refused(t, (c) => { c.process.user.uid = -1; }, 'process.user.uid', 'ERR_INVALID_ARG_VALUE');
  refused(t, (c) => { c.process.env = ['NOEQUALS']; }, 'process.env[0]', 'ERR_INVALID_ARG_VALUE');
  refused(t, (c) => { c.process.args = []; }, 'process.args', 'ERR_INVALID_ARG_VALUE');
  refused(t, (c) => { c.process.capabilities = { bounding: ['CAP_FLY'] }; }, 'process.capabilities.bounding[0]', 'ERR_INVALID_ARG_VALUE');
  refused(t, (c) => { c.linux.namespaces.push({ type: 'pid' }); }, 'linux.namespaces[4].type', 'ERR_INVALID_ARG_VALUE');
  refused(t, (c) => { c.ociVersion = '2.0.0'; }, 'ociVersion');
  refused(t, (c) => { c.root.path = 'rootfs'; }, 'root.path', 'ERR_INVALID_ARG_VALUE');
  refused(t, (c) => { c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }, { names: ['mkdir'], action: 'SCMP_ACT_KILL' }] }; }, 'linux.seccomp.syscalls[1].names[0]', 'ERR_INVALID_ARG_VALUE');
});

t.test('loadOciBundle reads config.json; a missing one is an option error', async (t) => {
  const dir = scratch(t);
  t.throws(() => loadOciBundle(dir), { name: 'OciConfigError', option: 'bundle', code: 'ERR_INVALID_ARG_VALUE', message: /ENOENT/ });
  fs.writeFileSync(path.join(dir, 'config.json'), '{ not json');
  t.throws(() => loadOciBundle(dir), { name: 'OciConfigError', option: 'bundle', message: /not JSON/ });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config((c) => { c.root.path = 'rootfs'; })));
  t.same(loadOciBundle(dir).options.rootfs, { dir: path.join(dir, 'rootfs'), writable: true }, 'root.readonly absent: writable, as the spec says');
});
