// A minimal OCI bundle for `crun run`: the payload as process, a read-only
// bind of the host's / as the root (made once in the spawn-helper's own
// mount namespace), /proc, a tmpfs /dev, and pid/net/ipc/uts/mount/cgroup
// namespaces.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { needTool } = require('./_helper');

function requires(ctx) {
  return (
    needTool(ctx, 'crun', 'crun') ??
    (ctx.isRoot ? null : 'the crun bundle here is a rootful one (its root is a bind mount the helper makes); run the suite as root')
  );
}

/** cgroup v2 mounted beside v1 with controllers enabled: crun refuses such a "hybrid" host. */
function hybridWithControllers() {
  try {
    return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

const helper = {
  key: 'crun',
  async setup(client, ctx) {
    const rootfs = path.join(ctx.tmp, 'crun-rootfs');
    fs.mkdirSync(rootfs, { recursive: true });
    fs.mkdirSync(path.join(ctx.tmp, 'crun-state'), { recursive: true });
    await client.request('unshare-mounts');
    // crun stops with "cgroups in hybrid mode not supported, drop all
    // controllers from cgroupv2" on such hosts; in the helper's private
    // mount namespace the v2 mount is hidden, so crun sees a v1 host.
    if (hybridWithControllers()) await client.request('umount /sys/fs/cgroup/unified');
    // Recursive only if the payload lives on another mount than / (a tmpfs /tmp).
    const recursive = fs.statSync(ctx.tmp).dev !== fs.statSync('/').dev;
    await client.request(`bind / ${rootfs}${recursive ? ' rec' : ''}`);
  },
};

function bundle(payload, ctx) {
  const dir = path.join(ctx.tmp, `crun-bundle-${payload.id}`);
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    ociVersion: '1.0.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [payload.path],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      noNewPrivileges: true,
    },
    root: { path: path.join(ctx.tmp, 'crun-rootfs'), readonly: true },
    hostname: 'crun',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      // A /dev of its own, as bwrap's --dev: with the host's /dev shared,
      // concurrent runs race creating /dev/ptmx ("File exists").
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: { namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })) },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

function crunCase({ id, title, order, globalArgs }) {
  return {
    id,
    title,
    group: 'peer',
    order,
    driver: 'helper',
    mode: 'vfork',
    helper,
    requires,
    argv: (payload, ctx) => [
      ctx.tools.crun, ...globalArgs, '--root', path.join(ctx.tmp, 'crun-state'),
      'run', '--bundle', bundle(payload, ctx), `bench-${payload.id}-{n}`,
    ],
  };
}

module.exports = { crunCase };
