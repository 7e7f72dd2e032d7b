// Tiny root filesystems for the filesystem tests, built from the static
// busybox (Debian: busybox-static) in a temp dir, and host-state snapshots
// to prove nothing is left behind.
'use strict';
const { removeTree } = require('./remove-tree');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
const APPLETS = ['sh', 'ls', 'cat', 'echo', 'mkdir', 'touch', 'mount', 'chroot', 'readlink', 'stat', 'id', 'ps', 'rm', 'ln', 'df', 'grep', 'wc', 'dd', 'true', 'test', 'sleep', 'head'];

function isStatic(file) {
  const elf = fs.readFileSync(file);
  // A static ELF has no PT_INTERP program header; checking for the loader path is enough here.
  return !elf.includes(Buffer.from('/lib64/ld-linux')) && !elf.includes(Buffer.from('/lib/ld-linux'));
}

const busyboxUsable = BUSYBOX !== undefined && isStatic(BUSYBOX);

/** A scratch dir the box user can read (0755 all the way). */
function scratch(t, prefix = 'cordon-fs-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => removeTree(dir));
  return dir;
}

/** An image dir with busybox as /bin/*, and /proc, /dev, /tmp mount points. */
function busyboxImage(dir, extra = {}) {
  for (const sub of ['bin', 'proc', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  for (const [file, content] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** What cordon must leave as it found: the host's mounts and the temp dir. */
// Other suites on this host mount too: the podman and containerd tests
// (test/oci, or a CI trial running beside this suite) mount their
// containers' overlays under their own state directories, and podman's
// network namespaces at /run/netns/ (ip-netns's place, where cordon only
// ever joins one: a quota test failed when a podman run beside it removed
// its namespace's mount). Those mount points are theirs, never a box's, so
// host comparisons leave them out.
const OTHERS_MOUNT_POINTS = /^\/(var\/lib|run)\/(containers|containerd)\/|^\/tmp\/cordon-containerd-|^\/run\/user\/\d+\/containers\/|^\/run\/netns\//;

/** The host's mount table without other suites' mount points (see OTHERS_MOUNT_POINTS). */
function hostMounts() {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => !OTHERS_MOUNT_POINTS.test(line.split(' ')[4] ?? '')).join('\n');
}

function hostState() {
  return {
    mounts: hostMounts(),
    tmp: fs.readdirSync(os.tmpdir()).sort().join('\n'),
  };
}

module.exports = { BUSYBOX, busyboxUsable, scratch, busyboxImage, hostState, hostMounts, OTHERS_MOUNT_POINTS, env: { PATH: '/bin' } };
