// Node's own child_process.spawn(), at the heap a fresh Node process has.
'use strict';
module.exports = {
  id: 'node-child-process',
  title: 'child_process.spawn',
  group: 'baseline',
  order: 30,
  driver: 'child-process',
};
