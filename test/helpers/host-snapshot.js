// What cordon leaves on the host, seen from outside cordon: the box cgroups
// a supervisor made (in every hierarchy), its state records, and whether a
// path exists. Shared by the leftovers tests and scripts/leak-run.js, which
// compare the host before and after.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { cgroupMounts } = require('./cgroup-fixture');

/**
 * Every cgroup directory named `box-<pid>-...` (the box cgroups supervisor
 * `pid` made), at any depth up to `maxDepth` under every cgroup mount, sorted.
 */
function boxCgroupsOf(pid, { maxDepth = 8 } = {}) {
  const found = [];
  const walk = (dir, depth) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const child = path.join(dir, entry.name);
      if (entry.name.startsWith(`box-${pid}-`)) found.push(child);
      else if (depth < maxDepth) walk(child, depth + 1);
    }
  };
  for (const mount of cgroupMounts()) walk(mount, 0);
  return found.sort();
}

/** The state records in a state directory, as `kind/name`, sorted. */
function recordsIn(stateDir) {
  const out = [];
  for (const kind of ['supervisors', 'boxes', 'tenants']) {
    try {
      for (const name of fs.readdirSync(path.join(stateDir, kind))) out.push(`${kind}/${name}`);
    } catch {
      // not made
    }
  }
  return out.sort();
}

/** Whether anything (a dangling symlink too) is at `file`. */
function exists(file) {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

module.exports = { boxCgroupsOf, recordsIn, exists };
