// cordon's defaults through spawnIsolatedAsync() with the experimental
// concurrent setup (issue 15): the threadpool's spawns set their boxes up
// at the same time, an in-flight count guarding the dumpable flag instead
// of one spawn at a time.
'use strict';
module.exports = {
  id: 'cordon-full-async-concurrent',
  title: 'cordon: full, async, concurrent setup (experimental)',
  group: 'cordon',
  order: 42,
  driver: 'cordon',
  options: {},
  async: true,
  concurrentSetup: true,
};
