// Full isolation with the payload as PID 1 itself: what the init costs.
'use strict';
module.exports = {
  id: 'cordon-full-no-init',
  title: 'cordon: full, no init',
  group: 'cordon',
  order: 45,
  driver: 'cordon',
  options: { init: false },
};
