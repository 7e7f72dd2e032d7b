// Detection: parsing other hosts' files (pure v2, hybrid with co-mounted
// controllers, v1, none, a container's subtree mount), this host against
// independent readings, and
// findParent()'s refusals, each with its reason.
'use strict';
const { removeTree } = require('../helpers/remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const t = require('tap');
const { requireOrSkip, skipExpected } = require('../helpers/skip');
const cg = require('../../dist/cgroups');
const { CordonError } = require('../../dist/errors');
const { cgroupMounts, cgroupTree, oursIn, isRoot } = require('../helpers/cgroup-fixture');

const PROC_CGROUPS = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t0\t80\t1
cpu\t0\t80\t1
cpuacct\t0\t80\t1
blkio\t0\t80\t1
memory\t0\t80\t1
devices\t0\t80\t1
freezer\t0\t80\t1
net_cls\t0\t80\t1
perf_event\t0\t80\t1
net_prio\t0\t80\t1
hugetlb\t0\t80\t1
pids\t0\t80\t1
rdma\t0\t80\t1
misc\t0\t80\t1
`;

t.test('pure v2 (systemd host)', async (t) => {
  const parsed = cg.parseCgroupHost({
    mountinfo: [
      '22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw',
      '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
    ].join('\n'),
    cgroup: '0::/user.slice/user-1000.slice/session-3.scope\n',
    cgroups: PROC_CGROUPS,
  });
  t.equal(parsed.mode, 'v2');
  t.same(parsed.v2, {
    mount: '/sys/fs/cgroup',
    mountRoot: '/',
    ownPath: '/user.slice/user-1000.slice/session-3.scope',
    ownDir: '/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope',
  });
  t.same(parsed.v1, {});
});

t.test('hybrid with co-mounted v1 controllers and a named hierarchy', async (t) => {
  const parsed = cg.parseCgroupHost({
    mountinfo: [
      '31 25 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate',
      '32 25 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd',
      '35 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct',
      '36 25 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:16 - cgroup cgroup rw,net_cls,net_prio',
      '37 25 0:33 / /sys/fs/cgroup/memory rw,nosuid shared:17 - cgroup cgroup rw,memory',
      '38 25 0:34 / /sys/fs/cgroup/cpuset rw,nosuid shared:18 - cgroup cgroup rw,cpuset,clone_children',
    ].join('\n'),
    cgroup: [
      '12:memory:/user.slice/user-1000.slice/session-2.scope',
      '5:cpuset:/',
      '4:cpu,cpuacct:/user.slice',
      '3:net_cls,net_prio:/',
      '1:name=systemd:/user.slice/user-1000.slice/session-2.scope',
      '0::/user.slice/user-1000.slice/session-2.scope',
    ].join('\n'),
    cgroups: PROC_CGROUPS,
  });
  t.equal(parsed.mode, 'hybrid');
  t.equal(parsed.v2.mount, '/sys/fs/cgroup/unified');
  t.same(Object.keys(parsed.v1).sort(), ['cpu', 'cpuacct', 'cpuset', 'memory', 'net_cls', 'net_prio']);
  t.equal(parsed.v1.cpu, parsed.v1.cpuacct, 'co-mounted controllers share one hierarchy');
  t.same(parsed.v1.cpu.controllers, ['cpu', 'cpuacct']);
  t.equal(parsed.v1.cpu.ownDir, '/sys/fs/cgroup/cpu,cpuacct/user.slice');
  t.equal(parsed.v1.memory.ownPath, '/user.slice/user-1000.slice/session-2.scope');
  t.same(parsed.v1.cpuset.controllers, ['cpuset'], 'clone_children is an option, not a controller');
  t.equal(parsed.v1.cpuset.ownDir, '/sys/fs/cgroup/cpuset');
});

t.test('v1 only; none; options without /proc/cgroups', async (t) => {
  const v1 = cg.parseCgroupHost({
    mountinfo: '40 25 0:40 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n41 25 0:41 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer,release_agent=/x',
    cgroup: '7:pids:/a\n6:freezer:/b\n',
  });
  t.equal(v1.mode, 'v1');
  t.same(Object.keys(v1.v1).sort(), ['freezer', 'pids']);
  t.equal(v1.v1.pids.ownDir, '/sys/fs/cgroup/pids/a');
  t.equal(v1.v2, undefined);
  const none = cg.parseCgroupHost({ mountinfo: '22 1 0:21 / /proc rw - proc proc rw', cgroup: '' });
  t.equal(none.mode, 'none');
});

t.test('a container\'s view: the mount shows a subtree; escaped mount points', async (t) => {
  const parsed = cg.parseCgroupHost({
    mountinfo: [
      '50 40 0:30 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory',
      '51 40 0:31 /docker/abc /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids',
    ].join('\n'),
    cgroup: '9:memory:/docker/abc\n8:pids:/docker/abc/inner\n',
    cgroups: PROC_CGROUPS,
  });
  t.equal(parsed.v1.memory.ownDir, '/sys/fs/cgroup/memory', 'the own cgroup is the mount\'s root');
  t.equal(parsed.v1.pids.mount, '/sys/fs/cgroup/my pids', '\\040 is a space');
  t.equal(parsed.v1.pids.ownDir, '/sys/fs/cgroup/my pids/inner');
  const outside = cg.parseCgroupHost({
    mountinfo: '50 40 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
    cgroup: '0::/elsewhere\n',
  });
  t.equal(outside.v2.ownDir, undefined, 'a cgroup outside the mount has no directory');
});

t.test('this host, against independent readings', async (t) => {
  const host = cg.detectCgroups();
  const mounts = cgroupMounts();
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const hasV2 = / - cgroup2 /.test(mountinfo);
  const hasV1 = / - cgroup cgroup rw,[a-z]/.test(mountinfo) || Object.keys(host.v1).length > 0;
  t.equal(host.mode, hasV2 ? (hasV1 ? 'hybrid' : 'v2') : hasV1 ? 'v1' : 'none', `mode ${host.mode}`);
  t.equal(host.euid, process.geteuid());
  if (host.v2) {
    t.ok(mounts.includes(host.v2.mount), `v2 mount ${host.v2.mount}`);
    const own = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((line) => line.startsWith('0::'));
    t.equal(host.v2.ownPath, own.slice(3), 'own v2 path');
    t.same(host.v2.rootControllers, fs.readFileSync(`${host.v2.mount}/cgroup.controllers`, 'utf8').split(/\s+/).filter(Boolean));
  }
  for (const [controller, hierarchy] of Object.entries(host.v1)) {
    t.ok(mounts.includes(hierarchy.mount), `${controller} at ${hierarchy.mount}`);
    t.ok(fs.existsSync(`${hierarchy.mount}/cgroup.procs`), `${hierarchy.mount} is a cgroup root`);
  }
});

t.test('findParent refusals name the reason and create nothing', async (t) => {
  const before = oursIn(cgroupTree());
  t.throws(
    () => cg.findParent({ mode: 'none', euid: 0, v1: {}, kernelControllers: [] }),
    { name: 'CgroupError', code: 'ERR_CORDON_HOST_UNSUPPORTED', message: /no cgroup hierarchy is mounted/ },
    'no hierarchy',
  );
  const fakeV2 = {
    mode: 'v2',
    euid: 65534,
    kernelControllers: [],
    v1: {},
    v2: {
      mount: '/nonexistent-cgroup2', mountRoot: '/', ownPath: '/user.slice', ownDir: '/nonexistent-cgroup2/user.slice',
      rootControllers: ['memory', 'pids'], ownControllers: [], ownSubtreeControl: [], ownWritable: false, ownUid: 0,
    },
  };
  let error;
  try {
    cg.findParent(fakeV2);
  } catch (caught) {
    error = caught;
  }
  t.type(error, CordonError, 'a CordonError');
  t.equal(error?.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.match(error?.message, /not root, and the own cgroup \/user\.slice is not delegated to uid 65534 \(owned by uid 0\)/, 'unprivileged, not delegated');
  t.match(error?.message, /Delegate=yes/, 'says what to do');

  const host = cg.detectCgroups();
  if (host.mode !== 'none') {
    t.throws(
      () => cg.findParent(host, { cgroupParent: '/cordon-test-no-such-parent' }),
      { code: 'ENOENT', syscall: 'stat', step: 'find cgroup parent', message: /does not exist; cordon does not create a configured parent/ },
      'a configured parent must exist',
    );
    t.throws(() => cg.findParent(host, { cgroupParent: 'relative' }), { code: 'ERR_INVALID_ARG_VALUE', option: 'cgroupParent' });
    t.throws(() => cg.findParent(host, { name: '../x' }), { code: 'ERR_INVALID_ARG_VALUE', option: 'name' });
  }
  t.same(oursIn(cgroupTree()), before, 'nothing created');
});

t.test('unprivileged: no parent, and an error naming the controller', async (t) => {
  const host = cg.detectCgroups();
  if (!requireOrSkip(t, host.mode !== 'none', 'no cgroup hierarchy on this host')) return;
  // nobody may not be able to read this checkout (one under /root): the
  // cgroup code is plain JS, so it runs from a copy nobody can read.
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-detect-'));
  t.teardown(() => removeTree(copy));
  fs.cpSync(path.join(__dirname, '../../dist'), path.join(copy, 'dist'), { recursive: true });
  fs.chmodSync(copy, 0o755);
  const script = `
    const cg = require(${JSON.stringify(path.join(copy, 'dist', 'cgroups'))});
    const out = {};
    try {
      const parent = cg.findParent(cg.detectCgroups());
      out.v2Reason = parent.v2Reason;
      try { cg.createBoxCgroup(parent, 'cordon-test-unprivileged', { pids: { max: 5 } }); out.created = true; }
      catch (e) { out.create = { name: e.name, code: e.code, controller: e.controller, message: e.message }; }
    } catch (e) { out.find = { name: e.name, code: e.code, message: e.message }; }
    console.log(JSON.stringify(out));`;
  // Without tap's NODE_OPTIONS, which load modules from this checkout (tap
  // puts them back into any child's environment, so env(1) drops them).
  const node = ['env', '-u', 'NODE_OPTIONS', process.execPath, '-e', script];
  // cwd '/': Node 26 reads the nearest package.json above the working
  // directory even for -e, and nobody cannot traverse a checkout in /root.
  const run = isRoot()
    ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', ...node], { encoding: 'utf8', cwd: '/' })
    : spawnSync(node[0], node.slice(1), { encoding: 'utf8', cwd: '/' });
  const ran = !run.error && run.status === 0;
  if (!requireOrSkip(t, ran, `cannot run node as nobody here (can nobody traverse the directories of ${process.execPath} and of this checkout?): ${run.error?.message ?? run.stderr}`)) return;
  const out = JSON.parse(run.stdout);
  t.comment(JSON.stringify(out));
  if (!skipExpected(t, !out.created, 'host: this unprivileged user has a delegated cgroup, so the refusal cannot be shown')) return;
  const refusal = out.find ?? out.create;
  t.equal(refusal.name, 'CgroupError');
  t.equal(refusal.code, 'ERR_CORDON_HOST_UNSUPPORTED');
  t.match(refusal.message, /not delegated to uid \d+/, 'says why');
  if (out.create) t.equal(out.create.controller, 'pids', 'names the controller');
  if (host.mode === 'hybrid') t.match(out.v2Reason, /not delegated/, 'v2 not usable either, with the reason');
});
