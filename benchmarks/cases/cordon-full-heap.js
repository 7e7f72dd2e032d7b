// Full isolation from a Node process holding ~150 MB more heap.
'use strict';
module.exports = {
  id: 'cordon-full-heap',
  title: 'cordon: full, +150 MB heap',
  group: 'cordon',
  order: 41,
  driver: 'cordon',
  heap: 'large',
  options: {},
};
