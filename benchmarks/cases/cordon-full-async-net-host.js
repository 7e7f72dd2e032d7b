// cordon's defaults minus the network namespace (`namespaces: { net: 'host' }`)
// through spawnIsolatedAsync(): issue 15's throughput target at
// concurrency 8 without the netns, whose creation and teardown take the
// kernel's rtnl lock host-wide.
'use strict';
module.exports = {
  id: 'cordon-full-async-net-host',
  title: "cordon: full, async, net 'host'",
  group: 'cordon',
  order: 43,
  driver: 'cordon',
  options: { namespaces: { net: 'host' } },
  async: true,
};
