// Removes a scratch tree the tests made, boxes' leftovers included.
// overlayfs leaves its work dir's `work/` at mode 0, and a tenant dir cordon
// closed to others is 0700: rmSync in Node 24 and later no longer opens up
// modes as it goes (older Nodes' JS rimraf did), so it stops with EACCES.
// The tree's own directories are opened up (u+rwx) and the removal tried again.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function openUp(dir) {
  try {
    fs.chmodSync(dir, 0o700);
  } catch {
    return; // not ours: nothing to open up
  }
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) openUp(path.join(dir, entry.name));
}

function removeTree(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  } catch (error) {
    if (error.code !== 'EACCES' && error.code !== 'EPERM') throw error;
  }
  openUp(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

module.exports = { removeTree };
