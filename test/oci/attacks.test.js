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
