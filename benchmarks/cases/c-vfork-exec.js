// vfork-style spawn from C: glibc's posix_spawn() is clone(CLONE_VM|CLONE_VFORK).
'use strict';
module.exports = {
  id: 'c-vfork-exec',
  title: 'C vfork+exec (posix_spawn)',
  group: 'baseline',
  order: 20,
  driver: 'helper',
  mode: 'vfork',
  argv: (payload) => [payload.path],
};
