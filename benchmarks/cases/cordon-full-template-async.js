'use strict';
// Full isolation from a compiled template, spawned with spawnAsync (the
// set-up on a libuv worker): the template counterpart of cordon-full-async.
module.exports = {
  id: 'cordon-full-template-async',
  title: 'cordon: full isolation, compileBox() template, spawnAsync()',
  group: 'cordon',
  order: 41.5,
  driver: 'cordon',
  options: {},
  async: true,
  template: true,
};
