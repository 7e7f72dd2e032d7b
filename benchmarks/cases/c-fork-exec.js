// The floor: fork()+execve() from a small long-lived C process.
'use strict';
module.exports = {
  id: 'c-fork-exec',
  title: 'C fork+exec',
  group: 'baseline',
  order: 10,
  driver: 'helper',
  mode: 'fork',
  argv: (payload) => [payload.path],
};
