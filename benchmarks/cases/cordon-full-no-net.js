// Full isolation but the host's network namespace: an indication of what a
// pooled (pre-created) netns could approach, which cordon does not have yet.
'use strict';
module.exports = {
  id: 'cordon-full-no-net',
  title: 'cordon: full minus netns',
  group: 'cordon',
  order: 46,
  driver: 'cordon',
  options: { namespaces: { net: 'host' } },
};
