// Full isolation with overlay layers (upper on tmpfs).
'use strict';
module.exports = {
  id: 'cordon-overlay',
  title: 'cordon: full + overlay layers',
  group: 'cordon',
  order: 53,
  notImplemented: 'overlay layers',
};
