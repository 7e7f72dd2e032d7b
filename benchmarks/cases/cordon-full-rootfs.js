// Full isolation as the issue defines it: pivot_root into a read-only root
// with /proc and a tmpfs, plus a cgroup with limits. Fill in `driver` and
// `options` when cordon has them.
'use strict';
module.exports = {
  id: 'cordon-full-rootfs',
  title: 'cordon: full + ro root (pivot_root, /proc, tmpfs)',
  group: 'cordon',
  order: 50,
  notImplemented: 'pivot_root into a read-only root with /proc and tmpfs',
};
