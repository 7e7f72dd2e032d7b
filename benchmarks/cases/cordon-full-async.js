// cordon's defaults through spawnIsolatedAsync(): the clone and the box's
// setup run on a libuv worker thread, so the JS thread is free meanwhile,
// and spawns from the threadpool set their boxes up at the same time.
'use strict';
module.exports = {
  id: 'cordon-full-async',
  title: 'cordon: full isolation, spawnIsolatedAsync()',
  group: 'cordon',
  order: 41,
  driver: 'cordon',
  options: {},
  async: true,
};
