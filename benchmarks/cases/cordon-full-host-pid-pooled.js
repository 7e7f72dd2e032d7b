// As cordon-full-host-pid, but the user and network namespaces come from a
// 'user+net' namespace pool (createNamespacePool), joined by setns instead
// of made during the spawn. The pool refills on a libuv worker while the
// boxes run; misses (an empty pool) make a fresh netns and are printed.
'use strict';
module.exports = {
  id: 'cordon-full-host-pid-pooled',
  title: 'cordon: full minus pid ns, pooled netns',
  group: 'cordon',
  order: 48,
  driver: 'cordon',
  options: { namespaces: { pid: 'host' } },
  netnsPool: () => ({ kind: 'user+net', size: 16 }),
};
