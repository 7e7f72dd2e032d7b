// Red team: an image author's layers against importOciImage, and what an
// imported store hands to the host's other users. Each attack is a layer
// an importer (root, or the unprivileged caller) takes in; what must hold
// is said next to it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { DEFAULT_MAX_LAYER_BYTES, importOciImage } = require('../..');
const { isRoot } = require('../helpers/payload');
const { scratch } = require('../helpers/images');
const { writeLayout } = require('../helpers/oci-layout');

/** Imports one layer of `entries`; resolves with { image } or { error }. */
async function importOne(base, name, entries) {
  const layout = path.join(base, `layout-${name}`);
  await writeLayout(layout, [entries]);
  return importOciImage(layout, { store: path.join(base, `store-${name}`) }).then((image) => ({ image }), (error) => ({ error }));
}

t.test('a directory entry later replaced by a symlink: its mode is never applied through the link', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
  fs.chmodSync(outside, 0o700);
  fs.chmodSync(path.join(outside, 'sub'), 0o700);
  const attacks = {
    'the directory itself': [{ name: 'x/', type: 'directory', mode: 0o6777 }, { name: 'x', type: 'symlink', linkname: outside }],
    'a directory under it': [{ name: 'x/', type: 'directory' }, { name: 'x/sub/', type: 'directory', mode: 0o6777 }, { name: 'x', type: 'symlink', linkname: outside }],
    'the directory, then a file, then a symlink': [{ name: 'x/', type: 'directory', mode: 0o777 }, { name: 'x', content: 'f' }, { name: 'x', type: 'symlink', linkname: outside }],
  };
  for (const [name, entries] of Object.entries(attacks)) {
    fs.chmodSync(outside, 0o700);
    fs.chmodSync(path.join(outside, 'sub'), 0o700);
    const { error } = await importOne(base, name.replace(/\W+/g, '-'), entries);
    t.equal(fs.statSync(outside).mode & 0o7777, 0o700, `${name}: the link's target keeps its mode (${error ? error.message : 'imported'})`);
    t.equal(fs.statSync(path.join(outside, 'sub')).mode & 0o7777, 0o700, `${name}: and what is under it`);
  }
});

t.test('setuid and setgid bits stay out of the store: on the host they would hand any local user the box root\'s (or the importer\'s) uid', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const { image, error } = await importOne(base, 'suid', [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/rootshell', content: '#!/bin/sh\n', mode: 0o4755 },
    { name: 'bin/groupshell', content: '#!/bin/sh\n', mode: 0o2755 },
    { name: 'bin/both', content: '#!/bin/sh\n', mode: 0o6711 },
    { name: 'bin/hard', type: 'link', linkname: 'bin/rootshell' },
    { name: 'shared/', type: 'directory', mode: 0o2775 },
  ]);
  t.error(error);
  const mode = (name) => fs.lstatSync(path.join(image.layers[0], name)).mode & 0o7777;
  t.equal(mode('bin/rootshell'), 0o755, 'setuid dropped (the box\'s root is nosuid: nothing in a box loses)');
  t.equal(mode('bin/groupshell'), 0o755, 'setgid dropped');
  t.equal(mode('bin/both'), 0o711, 'both dropped, the rest kept');
  t.equal(mode('bin/hard'), 0o755, 'a hard link to it is the same file');
  t.equal(mode('shared'), 0o2775, 'a setgid directory keeps its bit (it only sets new files\' group)');
});

t.test('a layer store someone else could write is refused: a planted layer would be taken as verified', async (t) => {
  const { writeLayout: write } = require('../helpers/oci-layout');
  const base = scratch(t, 'cordon-oci-redteam-');
  const layout = path.join(base, 'layout');
  const written = await write(layout, [[{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'genuine\n' }]]);
  const poison = (store) => {
    const planted = path.join(store, 'layers', 'sha256', written.diffIds[0].slice(7));
    fs.mkdirSync(path.join(planted, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(planted, 'etc', 'motd'), 'planted\n');
  };
  const plants = {
    'a world-writable store': () => {
      const store = path.join(base, 'open');
      fs.mkdirSync(store);
      fs.chmodSync(store, 0o777);
      return store;
    },
    'a store that is a symbolic link': () => {
      fs.mkdirSync(path.join(base, 'elsewhere'), { mode: 0o755 });
      fs.symlinkSync(path.join(base, 'elsewhere'), path.join(base, 'link'));
      return path.join(base, 'link');
    },
  };
  if (isRoot) {
    plants['a store another user owns'] = () => {
      const store = path.join(base, 'theirs');
      fs.mkdirSync(store, { mode: 0o755 });
      fs.chownSync(store, 12345, 12345);
      return store;
    };
  }
  for (const [name, plant] of Object.entries(plants)) {
    const store = plant();
    poison(store);
    const result = await importOciImage(layout, { store }).then((image) => ({ image }), (error) => ({ error }));
    if (result.image !== undefined) {
      t.fail(`${name}: refused`, { motd: fs.readFileSync(path.join(result.image.layers[0], 'etc', 'motd'), 'utf8') });
      continue;
    }
    t.match(result.error, { code: 'ERR_CORDON_OCI_IMAGE', message: /store/ }, `${name}: refused (${result.error.message})`);
  }
});

t.test('a manifest or config blob that claims (or is) more than 4 MiB is not read into memory', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const layout = path.join(base, 'layout');
  const written = await writeLayout(layout, [[{ name: 'a', content: 'a' }]]);
  // The manifest blob grows past the cap (its digest then fails, but only after a read of all of it).
  const manifest = path.join(layout, 'blobs', 'sha256', written.manifest.digest.slice(7));
  fs.truncateSync(manifest, 64 * 1024 * 1024);
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  index.manifests[0].size = 64 * 1024 * 1024;
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
  const error = await importOciImage(layout, { store: path.join(base, 'store') }).then(() => undefined, (e) => e);
  t.match(error, { code: 'ERR_CORDON_OCI_IMAGE', message: /4 MiB|too (big|large)/ }, error?.message);
});

t.test('another host user cannot reach the layers: an image\'s world-writable directories and files are the image\'s, not theirs', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const { image, error } = await importOne(base, 'open', [
    { name: 'data/', type: 'directory', mode: 0o1777 },
    { name: 'shared', content: 'image\n', mode: 0o666 },
  ]);
  t.error(error);
  const layers = path.dirname(path.dirname(image.layers[0]));
  t.equal(fs.statSync(layers).mode & 0o007, 0, 'the store\'s layers/ is closed to others');
  if (isRoot) {
    const { spawnSync } = require('node:child_process');
    const planted = spawnSync('setpriv', ['--reuid=12345', '--regid=12345', '--clear-groups', '/bin/sh', '-c', `echo planted > '${image.layers[0]}/data/planted'; echo changed > '${image.layers[0]}/shared'`], { encoding: 'utf8' });
    t.not(planted.status, 0, 'another user\'s writes fail');
    t.notOk(fs.existsSync(path.join(image.layers[0], 'data', 'planted')), 'nothing planted in the layer\'s 1777 directory');
    t.equal(fs.readFileSync(path.join(image.layers[0], 'shared'), 'utf8'), 'image\n', 'its 0666 file unchanged');
  }
});

t.test('a layer\'s own xattrs (PAX SCHILY.xattr.*) are never applied: no file capability, no overlay.* redirect or opaque of the author\'s', async (t) => {
  const { native } = require('../../dist/internal/native');
  const base = scratch(t, 'cordon-oci-redteam-');
  const xattrs = {
    'SCHILY.xattr.security.capability': '\x01\x00\x00\x02\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00',
    'SCHILY.xattr.trusted.overlay.redirect': '/etc',
    'SCHILY.xattr.user.overlay.redirect': '/etc',
    'SCHILY.xattr.trusted.overlay.opaque': 'y',
    'SCHILY.xattr.user.overlay.opaque': 'y',
  };
  const { image, error } = await importOne(base, 'xattrs', [
    { name: 'dir/', type: 'directory', pax: xattrs },
    { name: 'dir/tool', content: '#!/bin/sh\n', mode: 0o755, pax: xattrs },
  ]);
  t.error(error);
  for (const file of ['dir', 'dir/tool']) {
    for (const name of Object.keys(xattrs).map((key) => key.slice('SCHILY.xattr.'.length))) {
      const value = native().getXattr(path.join(image.layers[0], file), name);
      t.ok(typeof value === 'number' && value < 0, `${file}: no ${name}`);
    }
  }
});

t.test('a small blob that inflates past maxLayerBytes (a gzip bomb) is refused as it unpacks; nothing of it stays', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const layout = path.join(base, 'layout-bomb');
  // 16 MiB of zeros: a gzip blob of some 16 KiB, whose diff id matches.
  await writeLayout(layout, [[{ name: 'zeros', content: Buffer.alloc(16 * 2 ** 20) }]]);
  const blobBytes = fs.readdirSync(path.join(layout, 'blobs', 'sha256')).map((f) => fs.statSync(path.join(layout, 'blobs', 'sha256', f)).size).sort((a, b) => b - a)[0];
  t.ok(blobBytes < 2 ** 20, `the blob is small (${blobBytes} bytes)`);
  const store = path.join(base, 'store');
  const refused = await importOciImage(layout, { store, maxLayerBytes: 2 ** 20 }).then(() => undefined, (error) => error);
  t.match(refused, { code: 'ERR_CORDON_OCI_IMAGE', digest: /^sha256:/, message: /unpacks to more than 1048576 bytes \(maxLayerBytes/ }, 'refused, naming the limit and the option');
  t.same(fs.readdirSync(path.join(store, 'tmp')), [], 'its staging directory is gone');
  t.notOk(fs.existsSync(path.join(store, 'layers', 'sha256')) && fs.readdirSync(path.join(store, 'layers', 'sha256')).length > 0, 'no layer stored');
  // The default is documented and exported; raising the limit takes the same image.
  t.equal(DEFAULT_MAX_LAYER_BYTES, 8 * 2 ** 30);
  const image = await importOciImage(layout, { store, maxLayerBytes: 32 * 2 ** 20 });
  t.equal(fs.statSync(path.join(image.layers[0], 'zeros')).size, 16 * 2 ** 20, 'under a higher limit it imports');
  for (const bad of [0, -1, 1.5, '10', Number.MAX_VALUE]) {
    await t.rejects(importOciImage(layout, { store, maxLayerBytes: bad }), { code: 'ERR_INVALID_ARG_VALUE', option: 'maxLayerBytes' }, `maxLayerBytes ${String(bad)} refused`);
  }
});

t.test('aliases: a PAX path with .., a hard link then a write through its name, duplicates', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  const escape = await importOne(base, 'pax', [{ name: 'innocent', content: 'x', pax: { path: '../outside/planted' } }]);
  t.match(escape.error, { code: 'ERR_CORDON_OCI_IMAGE' }, 'a PAX path with .. is refused like a plain name');
  t.same(fs.readdirSync(outside), [], 'nothing made outside');

  const { image, error } = await importOne(base, 'alias', [
    { name: 'a', content: 'original\n' },
    { name: 'b', type: 'link', linkname: 'a' },
    { name: 'b', content: 'rewritten\n' },
    { name: 'c', content: 'first\n' },
    { name: 'c', content: 'second\n' },
    { name: `${'d/'.repeat(60)}deep`, content: 'deep\n' },
  ]);
  t.error(error);
  t.equal(fs.readFileSync(path.join(image.layers[0], 'a'), 'utf8'), 'original\n', 'a later entry at a hard link\'s name replaces the link, never writes through it');
  t.equal(fs.readFileSync(path.join(image.layers[0], 'b'), 'utf8'), 'rewritten\n');
  t.equal(fs.statSync(path.join(image.layers[0], 'a')).nlink, 1, 'the two names are no longer one file');
  t.equal(fs.readFileSync(path.join(image.layers[0], 'c'), 'utf8'), 'second\n', 'of duplicates the last wins');
  t.equal(fs.readFileSync(path.join(image.layers[0], ...'d/'.repeat(60).split('/').filter(Boolean), 'deep'), 'utf8'), 'deep\n', 'a long (PAX) name is made where it says');
});

t.test('a layout directory\'s blobs are its own regular files: a symlink to a host file, a FIFO, a device are refused, never read', async (t) => {
  const crypto = require('node:crypto');
  const { execFileSync } = require('node:child_process');
  const base = scratch(t, 'cordon-oci-redteam-');
  const secret = path.join(base, 'secret');
  fs.writeFileSync(secret, 'host secret\n');
  const secretDigest = crypto.createHash('sha256').update('host secret\n').digest('hex');
  const swaps = {
    'a layer blob that is a symlink to a host file': (file) => fs.symlinkSync(secret, file),
    'a layer blob that is a symlink to /dev/zero': (file) => fs.symlinkSync('/dev/zero', file),
    'a layer blob that is a FIFO': (file) => execFileSync('mkfifo', [file]),
  };
  let i = 0;
  for (const [name, swap] of Object.entries(swaps)) {
    const layout = path.join(base, `layout-${i++}`);
    const written = await writeLayout(layout, [[{ name: 'a', content: 'a' }]]);
    const blob = path.join(layout, 'blobs', 'sha256', written.layers[0].digest.slice(7));
    fs.rmSync(blob);
    swap(blob);
    const error = await importOciImage(layout, { store: path.join(base, `store-${i}`) }).then(() => undefined, (e) => e);
    t.match(error, { code: 'ERR_CORDON_OCI_IMAGE', message: /regular file/ }, `${name}: refused (${error?.message})`);
    t.notOk(String(error?.message).includes(secretDigest), `${name}: the error tells nothing of what the link points to`);
  }
  // A manifest blob as a symlink too.
  const layout = path.join(base, 'layout-manifest');
  const written = await writeLayout(layout, [[{ name: 'a', content: 'a' }]]);
  const manifest = path.join(layout, 'blobs', 'sha256', written.manifest.digest.slice(7));
  fs.renameSync(manifest, path.join(base, 'real-manifest'));
  fs.symlinkSync(path.join(base, 'real-manifest'), manifest);
  const error = await importOciImage(layout, { store: path.join(base, 'store-manifest') }).then(() => undefined, (e) => e);
  t.match(error, { code: 'ERR_CORDON_OCI_IMAGE', message: /regular file/ }, `a manifest blob that is a symlink: refused (${error?.message})`);
});

t.test('a bundle\'s bind source that is a symlink in the bundle is not followed out of it', async (t) => {
  const { fromOciConfig } = require('../..');
  const { run } = require('../helpers/payload');
  const { requireOrSkip } = require('../helpers/skip');
  const { busyboxUsable, busyboxImage } = require('../helpers/images');
  if (!requireOrSkip(t, busyboxUsable, 'needs a static busybox (busybox-static)')) return;
  const bundle = scratch(t, 'cordon-oci-redteam-');
  busyboxImage(path.join(bundle, 'rootfs'));
  fs.mkdirSync(path.join(bundle, 'rootfs', 'x'));
  fs.symlinkSync('/etc', path.join(bundle, 'link'));
  const spec = fromOciConfig({
    ociVersion: '1.0.2',
    process: { args: ['/bin/cat', '/x/hostname'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/x', type: 'bind', source: 'link', options: ['rbind', 'ro'] }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'user' }] },
  }, { bundle });
  const result = await run(spec.file, spec.args, spec.options).then((r) => ({ r }), (error) => ({ error }));
  t.match(result.error ?? result.r?.error, { code: 'ELOOP', step: 'mounts[0] bind' }, 'the link is refused, the host\'s /etc never bound');
});

t.test('a digest string never builds a path outside blobs/: traversal, other algorithms, case, a diff id as a path', async (t) => {
  const base = scratch(t, 'cordon-oci-redteam-');
  const outside = path.join(base, 'outside.json');
  fs.writeFileSync(outside, '{}');
  const digests = [
    `sha256:../../../${path.relative(path.join(base, 'layout', 'blobs', 'sha256'), outside)}`,
    'sha256/../../outside.json:x',
    'md5:d41d8cd98f00b204e9800998ecf8427e',
    `SHA256:${'a'.repeat(64)}`,
    `sha256:${'A'.repeat(64)}`,
    `sha512:${'a'.repeat(64)}`,
    `sha256:${'a'.repeat(64)}\n`,
  ];
  let i = 0;
  for (const digest of digests) {
    const layout = path.join(base, `layout-${i}`);
    await writeLayout(layout, [[{ name: 'a', content: 'a' }]]);
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    index.manifests[0].digest = digest;
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
    const error = await importOciImage(layout, { store: path.join(base, `store-${i++}`) }).then(() => undefined, (e) => e);
    t.match(error, { code: 'ERR_CORDON_OCI_IMAGE', message: /digest cordon does not take/ }, `${JSON.stringify(digest)}: refused before any path is made of it`);
  }
});
