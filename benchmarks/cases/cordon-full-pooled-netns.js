// cordon's defaults (user+pid+mount+net+ipc+uts+cgroup namespaces, init,
// read-only host root) with the user and network namespaces taken from a
// 'user+net' namespace pool instead of made during the spawn; compare with
// "cordon: full isolation" in the same run. The pool refills on a libuv
// worker while the boxes run; misses (an empty pool, e.g. at concurrency 64)
// make a fresh netns and are printed when the case closes.
'use strict';
module.exports = {
  id: 'cordon-full-pooled-netns',
  title: 'cordon: full, pooled netns',
  group: 'cordon',
  order: 41,
  driver: 'cordon',
  options: {},
  netnsPool: () => ({ kind: 'user+net', size: 16 }),
};
