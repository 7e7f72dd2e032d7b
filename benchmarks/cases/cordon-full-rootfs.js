// Full isolation with the root filesystem the issue asks for: pivot_root
// into a read-only view of the host's root, with /proc, /dev and a tmpfs
// /tmp. Measured once cordon accepts the `rootfs` option.
'use strict';
module.exports = {
  id: 'cordon-full-rootfs',
  title: "cordon: full + ro root (rootfs 'host')",
  group: 'cordon',
  order: 50,
  driver: 'cordon',
  feature: 'pivot_root into a read-only root (the rootfs option)',
  options: { rootfs: 'host' },
};
