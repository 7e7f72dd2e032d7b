// A worker that starts boxes which end at once, then, in a timer, holds its
// JS thread until each is a zombie (its pidfd readable) and throws: the
// exits are seen in the turn in which the worker's JS dies.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { workerData } = require('node:worker_threads');
const { spawnIsolated } = require(path.join(__dirname, '..', '..', '..'));

const { marker, init } = workerData;

function zombie(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z';
  } catch {
    return false;
  }
}

// All in one timer callback: the poll phase that follows it, in the same
// turn, is the first to see the exits (an earlier one would reap them).
setTimeout(() => {
  const boxes = [];
  for (let i = 0; i < 4; i++) boxes.push(spawnIsolated('/bin/sh', ['-c', 'exit 0', marker], { stdio: 'ignore', init }));
  while (!boxes.every((box) => zombie(box.pid))) {
    // held: the boxes end meanwhile
  }
  throw new Error('the worker dies now');
}, 0);
