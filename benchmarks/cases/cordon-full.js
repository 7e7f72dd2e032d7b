// cordon's defaults: user+pid+mount+net+ipc+uts+cgroup namespaces and an init.
'use strict';
module.exports = {
  id: 'cordon-full',
  title: 'cordon: full isolation',
  group: 'cordon',
  order: 40,
  driver: 'cordon',
  options: {},
};
