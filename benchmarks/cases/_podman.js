// `podman run --rm IMAGE PAYLOAD` with podman's own OCI runtime against
// the same with cordon as the runtime (`--runtime` a wrapper of `cordon
// oci`). The image is built here, with no registry: `podman import` of a
// tarball holding the static busybox and the payload (as
// test/oci/podman.test.js does). Root only (rootless podman needs subuid
// ranges and newuidmap for the user).
//
// The baseline runtime is crun, podman's default; on a host with cgroup v2
// mounted beside v1 with controllers enabled ("hybrid"), crun refuses
// every container ("cgroups in hybrid mode not supported"), and runc is
// measured instead: the case's title and the note say which.
//
// Both sides get the same flags, podman's defaults (its seccomp profile
// included) but what cordon still needs (docs/oci.md, "podman"): the
// nofile/nproc limits within this process's hard limits, no network (one
// setup less for both), and `--runtime-flag host-credentials` for cordon
// (a rootful podman's configs have no user namespace).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Skip } = require('../lib/skip');

/** Few samples: one `podman run` is the better part of a second. */
const SLOW = { samples: 20, warmup: 1, throughput: false };
const COMMON = ['--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function requires(ctx) {
  if (!ctx.tools.podman) return 'podman is not installed (apt-get install podman)';
  if (!ctx.isRoot) return 'podman runs as root here (rootless podman needs subuid ranges and newuidmap for this user)';
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((file) => fs.existsSync(file));
  if (busybox === undefined) return 'the image is built from a static busybox (apt-get install busybox-static)';
  return null;
}

function podman(args) {
  return spawnSync('podman', args, { encoding: 'utf8', timeout: 120000 });
}

/** The image, once per suite: busybox as /bin/sh and /bin/true, and the payload at its host path. */
function image(payload, ctx) {
  ctx.podman ??= { images: new Map() };
  const known = ctx.podman.images.get(payload.id);
  if (known !== undefined) return known;
  const rootfs = path.join(ctx.tmp, `podman-rootfs-${payload.id}`);
  for (const dir of ['bin', 'proc', 'dev', 'tmp', 'etc', 'sys']) fs.mkdirSync(path.join(rootfs, dir), { recursive: true, mode: 0o755 });
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((file) => fs.existsSync(file));
  fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'true']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  // The payload at the path it has on the host (a static one: the image has no libc).
  if (payload.id !== 'true') {
    fs.mkdirSync(path.join(rootfs, path.dirname(payload.path)), { recursive: true, mode: 0o755 });
    fs.copyFileSync(payload.path, path.join(rootfs, payload.path));
    fs.chmodSync(path.join(rootfs, payload.path), 0o755);
  }
  const tar = path.join(ctx.tmp, `podman-rootfs-${payload.id}.tar`);
  const packed = spawnSync('tar', ['-C', rootfs, '-cf', tar, '.'], { encoding: 'utf8' });
  if (packed.status !== 0) throw new Skip(`cannot pack the image's rootfs: ${packed.stderr.trim()}`);
  const name = `localhost/cordon-bench-${payload.id}:${process.pid}`;
  const imported = podman(['import', tar, name]);
  if (imported.status !== 0) throw new Skip(`podman import failed: ${imported.stderr.trim().slice(0, 300)}`);
  ctx.atExit.push(() => podman(['rmi', '--force', name]));
  const entry = { name, command: payload.id === 'true' ? '/bin/true' : payload.path };
  ctx.podman.images.set(payload.id, entry);
  return entry;
}

/**
 * crun, unless it refuses this host's hybrid cgroup hierarchy: then runc.
 * Returns the runtime and why; a Skip when neither runs a container here.
 */
function baselineRuntime(img, ctx) {
  if (ctx.podman.baseline !== undefined) return ctx.podman.baseline;
  const tried = [];
  for (const runtime of ['crun', 'runc']) {
    const result = podman(['run', '--rm', '--runtime', runtime, ...COMMON, img.name, img.command]);
    if (result.status === 0) {
      const why = tried.length === 0 ? '' : `; ${tried.join('; ')}`;
      ctx.podman.baseline = { runtime, why };
      return ctx.podman.baseline;
    }
    tried.push(`${runtime} refuses: ${result.stderr.trim().split('\n').pop().slice(0, 160)}`);
  }
  throw new Skip(`podman runs no container here with crun or runc: ${tried.join('; ')}`);
}

/** `cordon oci` as one executable, with this Node and this checkout's dist/ (podman gives the runtime an environment of its own). */
function cordonWrapper(ctx) {
  const wrapper = path.join(ctx.tmp, 'cordon-oci-runtime');
  if (!fs.existsSync(wrapper)) {
    const cli = path.join(ctx.cordonRoot, 'dist', 'cli.js');
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${cli}' oci "$@"\n`, { mode: 0o755 });
  }
  return wrapper;
}

const baseline = {
  id: 'podman-run',
  title: 'podman run (crun)',
  group: 'peer',
  order: 40,
  driver: 'helper',
  mode: 'vfork',
  slow: SLOW,
  requires,
  argv(payload, ctx) {
    const img = image(payload, ctx);
    const { runtime, why } = baselineRuntime(img, ctx);
    this.title = `podman run (${runtime})`;
    if (why !== '') this.note = `${runtime} instead of crun${why}`;
    return [ctx.tools.podman, 'run', '--rm', '--runtime', runtime, ...COMMON, img.name, img.command];
  },
};

const withCordon = {
  id: 'podman-run-cordon',
  title: 'podman run --runtime cordon',
  group: 'cordon',
  order: 900,
  driver: 'helper',
  mode: 'vfork',
  slow: SLOW,
  requires,
  argv(payload, ctx) {
    const img = image(payload, ctx);
    return [ctx.tools.podman, '--runtime', cordonWrapper(ctx), '--runtime-flag', 'host-credentials', 'run', '--rm', ...COMMON, img.name, img.command];
  },
};

module.exports = { podmanCases: [baseline, withCordon] };
