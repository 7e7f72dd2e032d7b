// Red team: an image author's layers against importOciImage, and what an
// imported store hands to the host's other users. Each attack is a layer
// an importer (root, or the unprivileged caller) takes in; what must hold
// is said next to it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { importOciImage } = require('../..');
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
