// Full isolation but the host's pid namespace (and so no init), with a
// fresh network namespace: the baseline of the pooled case beside it, which
// differs only in where the netns comes from.
'use strict';
module.exports = {
  id: 'cordon-full-host-pid',
  title: 'cordon: full minus pid ns, fresh netns',
  group: 'cordon',
  order: 47,
  driver: 'cordon',
  options: { namespaces: { pid: 'host' } },
};
