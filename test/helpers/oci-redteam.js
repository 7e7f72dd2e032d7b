// What the red-team tests of hostile OCI bundles share (test/oci/redteam-bundle*.test.js):
// the cwd probe, the fds tried, a state root per test, containers created and exec'd into.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { isRoot } = require('./payload');
const { scratch } = require('./images');
const { ociCli } = require('./oci');
const { until } = require('./until');

const oci = ociCli;
/** Enough `..` to climb from any host directory to the host's root. */
const UP = '/..'.repeat(24);
/** The fd numbers tried: what a Node process has open (its own, libuv's, cordon's). */
const FDS = Array.from({ length: 38 }, (_, i) => i + 3);

// Climbs from the cwd as far as `..` goes: inside the box that is the box's
// root, outside it the host's. `stat` of each says which.
const WHERE = `i=0; while [ $i -lt 40 ]; do cd -P .. 2>/dev/null; i=$((i+1)); done
if [ "$(stat -c %d:%i .)" = "$(stat -c %d:%i /)" ]; then echo cwd-inside; else echo cwd-OUTSIDE; ls; fi`;
// The payload's open fds, listed by a child (ls), whose own fd on the
// directory is then not among them: "... N -> target" a line.
const FD_LIST = 'ls -l /proc/$$/fd';

/** A limit makes cordon give the box a cgroup of its own (as root; the cgroup's fd is what CVE-2024-21626 leaked). */
function withCgroup(c) {
  if (isRoot) c.linux.resources = { ...c.linux.resources, pids: { limit: 64 } };
}

function stateRoot(t) {
  return path.join(scratch(t, 'cordon-oci-redteam-root-'), 'state');
}

/** The fds a listing shows besides stdio, as "N -> target". */
function extraFds(stdout) {
  return stdout.split('\n').map((line) => / (\d+ -> .*)$/.exec(line)?.[1]).filter((fd) => fd !== undefined && !/^[012] /.test(fd));
}

/** dev:ino of a host file, as busybox stat prints them. */
function devIno(file) {
  const stat = fs.statSync(file);
  return `${stat.dev}:${stat.ino}`;
}

/** create + start in the background (stdout to a file); returns the container's out file. */
function createStarted(t, root, dir, id) {
  const out = path.join(dir, 'out');
  const err = path.join(dir, 'err');
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  const created = oci(root, ['create', '--bundle', dir, id], ['ignore', ...fds]);
  for (const fd of fds) fs.closeSync(fd);
  t.teardown(() => oci(root, ['delete', '--force', id]));
  t.equal(created.status, 0, `create: ${fs.readFileSync(err, 'utf8')}`);
  if (created.status !== 0) return undefined;
  const started = oci(root, ['start', id]);
  t.equal(started.status, 0, `start: ${started.stderr}`);
  until(() => fs.readFileSync(out, 'utf8').includes('started\n'), 'the container to start');
  return out;
}

/** `oci exec` of an OCI process (the config's, edited) in a created container. */
function execIn(root, dir, id, edit) {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const processSpec = structuredClone(config.process);
  edit(processSpec);
  const file = path.join(dir, `process-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(processSpec));
  return oci(root, ['exec', '--process', file, id]);
}

module.exports = { oci, UP, FDS, WHERE, FD_LIST, withCgroup, stateRoot, extraFds, devIno, createStarted, execIn };
