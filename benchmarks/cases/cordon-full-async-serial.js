// cordon's defaults through spawnIsolatedAsync() with the setup window
// serial again (native setConcurrentSetup(false)): one box child at a time
// from clone to exec, as before issue 15. Against cordon-full-async it
// measures what concurrent setup buys.
'use strict';
module.exports = {
  id: 'cordon-full-async-serial',
  title: 'cordon: full, async, serial setup (the old window)',
  group: 'cordon',
  order: 42,
  driver: 'cordon',
  options: {},
  async: true,
  concurrentSetup: false,
};
