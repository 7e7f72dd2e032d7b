// Red team: `cordon oci` state under --root that someone else planted. A
// forged state.json names a pid (with its true start time, which anyone
// can read in /proc) of the caller's own: `kill` and `delete --force` must
// not signal it. The state root must be the caller's own directory, not a
// link, writable by no one else.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const t = require('tap');

const { isRoot } = require('../helpers/payload');
const { scratch } = require('../helpers/images');

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function oci(root, args) {
  return spawnSync(process.execPath, [cli, 'oci', '--root', root, ...args], { encoding: 'utf8' });
}

/** A process of the caller's; `ended` says which signal ended it. */
function victim(t) {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const ended = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
  t.teardown(() => child.kill('SIGKILL'));
  return { child, ended };
}

function forge(root, id, pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  fs.mkdirSync(path.join(root, id), { recursive: true });
  fs.writeFileSync(path.join(root, id, 'state.json'), JSON.stringify({ ociVersion: '1.2.0', id, status: 'running', pid, startTime, bundle: '/' }));
}

const plants = {
  'a world-writable state root': (base) => {
    const root = path.join(base, 'open');
    fs.mkdirSync(root);
    fs.chmodSync(root, 0o777);
    return root;
  },
  'a state root that is a symbolic link': (base) => {
    const real = path.join(base, 'elsewhere');
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, path.join(base, 'link'));
    return path.join(base, 'link');
  },
};
if (isRoot) {
  plants['a state root another user owns'] = (base) => {
    const root = path.join(base, 'theirs');
    fs.mkdirSync(root, { mode: 0o700 });
    fs.chownSync(root, 12345, 12345);
    return root;
  };
}

for (const [name, plant] of Object.entries(plants)) {
  t.test(`${name}: kill and delete --force signal no pid a forged state names`, async (t) => {
    const base = scratch(t, 'cordon-oci-state-');
    const root = plant(base);
    const target = victim(t);
    forge(root, 'forged', target.child.pid);
    const kill = oci(root, ['kill', 'forged', 'KILL']);
    t.not(kill.status, 0, 'kill refused');
    t.match(kill.stderr, /state root/, kill.stderr);
    const del = oci(root, ['delete', '--force', 'forged']);
    t.not(del.status, 0, 'delete --force refused');
    const state = oci(root, ['state', 'forged']);
    t.not(state.status, 0, 'state refused');
    target.child.kill('SIGTERM');
    t.equal(await target.ended, 'SIGTERM', 'the process named lived until its owner ended it');
  });
}
