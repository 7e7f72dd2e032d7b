// cordon's defaults through spawnIsolatedAsync(): the clone and the box's
// setup run on a libuv worker thread, so the JS thread is free meanwhile
// (spawns still take turns for the clone-to-exec window).
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
