// child_process.spawn() from a Node process holding ~150 MB more heap:
// libuv forks, and fork copies page tables in proportion to resident memory.
'use strict';
module.exports = {
  id: 'node-child-process-heap',
  title: 'child_process.spawn, +150 MB heap',
  group: 'baseline',
  order: 40,
  driver: 'child-process',
  heap: 'large',
};
