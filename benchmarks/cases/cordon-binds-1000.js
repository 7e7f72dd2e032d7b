// Full isolation with 1,000 bind mounts (the target: linear cost).
'use strict';
module.exports = {
  id: 'cordon-binds-1000',
  title: 'cordon: full + 1,000 bind mounts',
  group: 'cordon',
  order: 54,
  notImplemented: 'bind mounts',
};
