// importOciImage: OCI image layouts (a directory or an oci-archive) into a
// layer store; whiteouts and opaque directories in overlay's form; layers
// shared by digest; digests verified; every escaping layer refused; two
// tenants on one image with their own uppers.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { importOciImage, OciImageError, CordonError } = require('../..');
const { native } = require('../../dist/internal/native');
const { run, isRoot } = require('../helpers/payload');
const { requireOrSkip } = require('../helpers/skip');
const { busyboxUsable, scratch } = require('../helpers/images');
const { writeLayout, archiveOf, busyboxEntries, sha256 } = require('../helpers/oci-layout');
const { which } = require('../helpers/oci');

const env = { PATH: '/bin' };

/** The base (busybox, /opq/old, /etc/gone) and a layer that whites out and makes /opq opaque. */
function twoLayers() {
  return [
    [...busyboxEntries(), { name: 'opq/', type: 'directory' }, { name: 'opq/old', content: 'old\n' }, { name: 'etc/gone', content: 'gone\n' }, { name: 'etc/kept', content: 'kept\n' }],
    [{ name: 'etc/.wh.gone' }, { name: 'opq/.wh..wh..opq' }, { name: 'opq/new', content: 'new\n' }, { name: 'etc/motd', content: 'image\n' }],
  ];
}

/** A tenant directory the box's root may use as its upper. */
function tenantDir(base, name) {
  const dir = path.join(base, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

async function imported(t, layers = twoLayers(), options = {}) {
  const base = scratch(t, 'cordon-oci-image-');
  const layout = path.join(base, 'layout');
  const written = await writeLayout(layout, layers, options);
  const store = path.join(base, 'store');
  const image = await importOciImage(layout, { store });
  return { base, layout, store, image, written };
}

t.test('a layout becomes layers: files, whiteouts as char 0/0, opaque dirs as xattrs', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const { image, written, store } = await imported(t);
  t.equal(image.layers.length, 2);
  t.equal(image.digest, written.manifest.digest);
  t.same(image.config.cmd, ['/bin/sh']);
  const [top, bottom] = image.layers;
  t.equal(bottom, path.join(store, 'layers', 'sha256', written.diffIds[0].slice(7)), 'stored by diff id');
  t.equal(fs.readFileSync(path.join(bottom, 'opq', 'old'), 'utf8'), 'old\n');
  const whiteout = fs.lstatSync(path.join(top, 'etc', 'gone'));
  t.ok(whiteout.isCharacterDevice(), 'a .wh. entry is a character device');
  t.equal(whiteout.rdev, 0, 'device 0/0');
  t.notOk(fs.existsSync(path.join(top, 'etc', '.wh.gone')), 'the .wh. name itself is not kept');
  t.equal(native().getXattr(path.join(top, 'opq'), 'user.overlay.opaque'), 'y', 'user.overlay.opaque (overlay in the box\'s user namespace)');
  if (isRoot) t.equal(native().getXattr(path.join(top, 'opq'), 'trusted.overlay.opaque'), 'y', 'and trusted.overlay.opaque for root');
  t.notOk(fs.existsSync(path.join(top, 'opq', '.wh..wh..opq')));
  const owner = fs.statSync(path.join(bottom, 'bin', 'busybox'));
  t.equal(owner.uid, isRoot ? 65534 : process.geteuid(), 'files owned as the box\'s root (root: the default map 0 → 65534)');
});

t.test('two tenants on one image: the image as layers, each tenant its own upper', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const { base, image } = await imported(t);
  const tenants = ['tenant-a', 'tenant-b'].map((name) => tenantDir(base, name));
  const rootfs = (dir) => ({ layers: image.layers, upper: { dir } });
  const a = await run('/bin/sh', ['-c', 'echo A > /data/mine; echo a >> /etc/kept; cat /etc/motd; test -e /etc/gone && echo sees-gone || echo whited-out; ls /opq'], { rootfs: rootfs(tenants[0]), env });
  t.equal(a.code, 0, a.stderr);
  t.equal(a.stdout, 'image\nwhited-out\nnew\n', 'the top layer\'s file, its whiteout, its opaque directory');
  const b = await run('/bin/sh', ['-c', 'cat /data/mine 2>/dev/null || echo no-mine; cat /etc/kept'], { rootfs: rootfs(tenants[1]), env });
  t.equal(b.code, 0, b.stderr);
  t.equal(b.stdout, 'no-mine\nkept\n', 'tenant b sees none of tenant a\'s writes');
  const again = await run('/bin/cat', ['/data/mine', '/etc/kept'], { rootfs: rootfs(tenants[0]), env });
  t.equal(again.stdout, 'A\nkept\na\n', 'tenant a\'s writes persist in its own upper');
  t.equal(fs.readFileSync(path.join(image.layers[1], 'etc', 'kept'), 'utf8'), 'kept\n', 'the layer itself is untouched');
});

t.test('layers are shared between images by digest', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const { base, store, image } = await imported(t);
  const before = fs.statSync(image.layers[1]).ino;
  const other = path.join(base, 'other');
  await writeLayout(other, [twoLayers()[0], [{ name: 'etc/motd', content: 'other image\n' }]], { ref: 'other' });
  const second = await importOciImage(other, { store });
  t.equal(second.layers[1], image.layers[1], 'the same base layer directory');
  t.equal(fs.statSync(second.layers[1]).ino, before, 'not unpacked again');
  t.not(second.layers[0], image.layers[0]);
  t.same(fs.readdirSync(path.join(store, 'layers', 'sha256')).length, 3, 'three distinct layers in the store');
  t.same(fs.readdirSync(path.join(store, 'tmp')), [], 'no staging left behind');
});

t.test('an oci-archive imports like its directory; uncompressed layers too', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const base = scratch(t, 'cordon-oci-image-');
  const layout = path.join(base, 'layout');
  const written = await writeLayout(layout, twoLayers(), { gzip: false });
  const archive = path.join(base, 'image.tar');
  await archiveOf(layout, archive);
  const image = await importOciImage(archive, { store: path.join(base, 'store') });
  t.equal(image.digest, written.manifest.digest);
  t.equal(fs.readFileSync(path.join(image.layers[0], 'etc', 'motd'), 'utf8'), 'image\n');
  t.same(fs.readdirSync(path.join(base, 'store', 'tmp')), [], 'the archive\'s staging is gone');
});

t.test('digests are verified: the blob, its size, and the uncompressed diff id', async (t) => {
  const cases = {
    'a layer blob changed': (blobs, { layers }) => {
      const data = blobs.get(layers[1].digest);
      const copy = Buffer.from(data);
      copy[copy.length - 5] ^= 0xff;
      blobs.set(layers[1].digest, copy);
    },
    'a diff id that is not the layer\'s': (blobs) => {
      for (const [digest, data] of blobs) {
        const text = data.toString();
        if (!text.includes('diff_ids')) continue;
        const config = JSON.parse(text);
        config.rootfs.diff_ids[1] = sha256('something else');
        blobs.delete(digest);
        // The config's own digest must match for the diff id check to be reached: rewrite the manifest too.
        const newConfig = Buffer.from(JSON.stringify(config));
        blobs.set(sha256(newConfig), newConfig);
        for (const [mDigest, mData] of blobs) {
          const m = mData.toString();
          if (!m.includes('"layers"') || !m.includes('schemaVersion')) continue;
          blobs.set(mDigest, Buffer.from(m.replace(digest, sha256(newConfig)).replace(`"size":${data.length}`, `"size":${newConfig.length}`)));
        }
        return;
      }
    },
    'a manifest changed': (blobs) => {
      for (const [digest, data] of blobs) {
        if (data.toString().includes('"layers"')) blobs.set(digest, Buffer.concat([data, Buffer.from(' ')]));
      }
    },
  };
  for (const [name, tamper] of Object.entries(cases)) {
    const base = scratch(t, 'cordon-oci-image-');
    await writeLayout(path.join(base, 'layout'), [[{ name: 'a', content: 'a' }], [{ name: 'b', content: 'b' }]], { tamper });
    const store = path.join(base, 'store');
    await t.rejects(importOciImage(path.join(base, 'layout'), { store }), { name: 'OciImageError', code: 'ERR_CORDON_OCI_IMAGE', message: /does not match/ }, name);
    const stored = fs.existsSync(path.join(store, 'layers', 'sha256')) ? fs.readdirSync(path.join(store, 'layers', 'sha256')) : [];
    t.ok(stored.length <= 1, `${name}: the bad layer is not in the store`);
    t.same(fs.readdirSync(path.join(store, 'tmp')), [], `${name}: no staging left behind`);
  }
});

t.test('a layer that escapes its directory is refused, one attack at a time', async (t) => {
  const base = scratch(t, 'cordon-oci-attack-');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'secret\n');
  const attacks = {
    'a .. path': [{ name: '../outside/planted', content: 'x' }],
    'a deep .. path': [{ name: 'a/b/../../../outside/planted', content: 'x' }],
    'an absolute path': [{ name: `${outside}/planted`, content: 'x' }],
    'a symlink, then a write through it': [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/planted', content: 'x' }],
    'a relative symlink, then a write through it': [{ name: 'link', type: 'symlink', linkname: '../../../../../../../../..' + outside }, { name: 'link/planted', content: 'x' }],
    'a symlink, then a directory through it': [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/sub/', type: 'directory' }],
    'a symlink, then a whiteout through it': [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/.wh.secret' }],
    'a symlink, then an opaque marker through it': [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/.wh..wh..opq' }],
    'a hard link to an absolute path outside': [{ name: 'hard', type: 'link', linkname: path.join(outside, 'secret') }],
    'a hard link with .. to outside': [{ name: 'hard', type: 'link', linkname: '../outside/secret' }],
    'a hard link to a file no entry made': [{ name: 'hard', type: 'link', linkname: 'etc/shadow' }],
    'a hard link through a symlink': [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'hard', type: 'link', linkname: 'link/secret' }],
  };
  if (!isRoot) attacks['a device node, for an unprivileged caller'] = [{ name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 }];
  let i = 0;
  for (const [name, entries] of Object.entries(attacks)) {
    const layout = path.join(base, `layout-${i}`);
    await writeLayout(layout, [[{ name: 'ok', content: 'ok' }, ...entries]]);
    const store = path.join(base, `store-${i++}`);
    const error = await importOciImage(layout, { store }).then(() => undefined, (e) => e);
    t.ok(error instanceof OciImageError, `${name}: refused (${error?.message})`);
    t.ok(error instanceof CordonError);
    t.equal(error?.code, 'ERR_CORDON_OCI_IMAGE', name);
    t.same(fs.readdirSync(outside), ['secret'], `${name}: nothing made outside`);
    t.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'secret\n', `${name}: nothing changed outside`);
    t.notOk(fs.existsSync(path.join(store, 'layers', 'sha256')) && fs.readdirSync(path.join(store, 'layers', 'sha256')).length > 0, `${name}: no layer stored`);
    t.same(fs.readdirSync(path.join(store, 'tmp')), [], `${name}: no staging left behind`);
  }
  if (isRoot) {
    const layout = path.join(base, 'layout-device');
    await writeLayout(layout, [[{ name: 'dev/', type: 'directory' }, { name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 }]]);
    const image = await importOciImage(layout, { store: path.join(base, 'store-device') });
    t.notOk(fs.existsSync(path.join(image.layers[0], 'dev', 'mem')), 'root: a device node is not made');
    t.match(image.skipped, [{ path: 'dev/mem', reason: /nodev/ }], 'and the result says so');
  }
});

t.test('a later entry replaces an earlier one without following it', async (t) => {
  const base = scratch(t, 'cordon-oci-image-');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  await writeLayout(path.join(base, 'layout'), [[
    { name: 'x', type: 'symlink', linkname: path.join(outside, 'target') },
    { name: 'x', content: 'replaced\n' },
  ]]);
  const image = await importOciImage(path.join(base, 'layout'), { store: path.join(base, 'store') });
  t.equal(fs.readFileSync(path.join(image.layers[0], 'x'), 'utf8'), 'replaced\n');
  t.notOk(fs.lstatSync(path.join(image.layers[0], 'x')).isSymbolicLink());
  t.same(fs.readdirSync(outside), [], 'the link was replaced, never written through');
});

t.test('a store keeps one id mapping; an unprivileged caller gives none', async (t) => {
  const base = scratch(t, 'cordon-oci-image-');
  await writeLayout(path.join(base, 'layout'), [[{ name: 'a', content: 'a' }]]);
  const store = path.join(base, 'store');
  await importOciImage(path.join(base, 'layout'), { store });
  const other = [{ inside: 0, outside: 100000, count: 65536 }];
  if (isRoot) {
    await t.rejects(importOciImage(path.join(base, 'layout'), { store, uidMap: other, gidMap: other }), { name: 'CordonOptionError', option: 'store' });
    const mapped = await importOciImage(path.join(base, 'layout'), { store: path.join(base, 'store-mapped'), uidMap: other, gidMap: other });
    t.equal(fs.statSync(path.join(mapped.layers[0], 'a')).uid, 100000, 'uid 0 of the layer is the map\'s host uid');
  } else {
    await t.rejects(importOciImage(path.join(base, 'layout'), { store, uidMap: other }), { name: 'CordonOptionError', option: 'uidMap' });
  }
});

t.test('layouts written by skopeo import and run', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const skopeo = which('skopeo');
  if (!requireOrSkip(t, skopeo !== undefined, 'skopeo (apt-get install skopeo) to write layouts with a real client')) return;
  const base = scratch(t, 'cordon-oci-skopeo-');
  await writeLayout(path.join(base, 'by-hand'), twoLayers(), { gzip: false });
  const home = path.join(base, 'home');
  fs.mkdirSync(home);
  const copy = (from, to) => spawnSync(skopeo, ['--insecure-policy', 'copy', '--dest-compress-format', 'gzip', from, to], { encoding: 'utf8', env: { ...process.env, HOME: home } });
  for (const [name, dest] of [['oci:', `oci:${path.join(base, 'skopeo-dir')}:latest`], ['oci-archive:', `oci-archive:${path.join(base, 'skopeo.tar')}:latest`]]) {
    const result = copy(`oci:${path.join(base, 'by-hand')}:latest`, dest);
    t.equal(result.status, 0, `skopeo copy to ${name}: ${result.stderr}`);
    const source = name === 'oci:' ? path.join(base, 'skopeo-dir') : path.join(base, 'skopeo.tar');
    const image = await importOciImage(source, { store: path.join(base, 'store') });
    const tenant = tenantDir(base, `tenant-${name.slice(0, -1)}`);
    const box = await run('/bin/sh', ['-c', 'cat /etc/motd; test -e /etc/gone || echo whited-out; ls /opq'], { rootfs: { layers: image.layers, upper: { dir: tenant } }, env });
    t.equal(box.stdout, 'image\nwhited-out\nnew\n', `${name} written by skopeo: ${box.stderr}`);
  }
});

t.test('images written by podman (import, then save as oci-dir and oci-archive) import and run', async (t) => {
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const { skipExpected } = require('../helpers/skip');
  if (!skipExpected(t, isRoot, 'unprivileged pass: rootless podman needs subordinate ids for the test user')) return;
  const podman = which('podman');
  if (!requireOrSkip(t, podman !== undefined, 'podman (apt-get install podman) to build an image with a real client')) return;
  const base = scratch(t, 'cordon-oci-podman-');
  // podman's own state in the scratch dir: the host's images are not touched.
  const flags = ['--root', path.join(base, 'storage'), '--runroot', path.join(base, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
  const podmanRun = (...args) => spawnSync(podman, [...flags, ...args], { encoding: 'utf8', env: { ...process.env, HOME: base } });
  t.teardown(() => podmanRun('rmi', '--all', '--force'));
  const rootfs = path.join(base, 'rootfs.tar');
  const { tarOf } = require('../helpers/oci-layout');
  fs.writeFileSync(rootfs, await tarOf([...busyboxEntries(), { name: 'etc/motd', content: 'from podman\n' }]));
  const imported = podmanRun('import', rootfs, 'localhost/cordon-test:latest');
  t.equal(imported.status, 0, `podman import: ${imported.stderr}`);
  for (const [format, target] of [['oci-dir', path.join(base, 'oci-dir')], ['oci-archive', path.join(base, 'oci.tar')]]) {
    const saved = podmanRun('save', '--format', format, '-o', target, 'localhost/cordon-test:latest');
    t.equal(saved.status, 0, `podman save --format ${format}: ${saved.stderr}`);
    const image = await importOciImage(target, { store: path.join(base, 'store'), ref: 'latest' });
    const tenant = tenantDir(base, `tenant-${format}`);
    const box = await run('/bin/sh', ['-c', 'cat /etc/motd; echo mine > /data/x; cat /data/x'], { rootfs: { layers: image.layers, upper: { dir: tenant } }, env });
    t.equal(box.stdout, 'from podman\nmine\n', `podman ${format}: ${box.stderr}`);
  }
});
