// The C isolation floor (c/isolation-floor.c): a default box's namespaces,
// id map, pivot_root root, /proc, /dev, tmpfs mounts, lo, hostname,
// capabilities and a minimal init, written plainly in C and cloned from the
// small C helper: the physical reference for cordon's full isolation.
'use strict';
module.exports = {
  id: 'c-isolation-floor',
  title: 'C isolation floor (same work as defaults)',
  group: 'baseline',
  order: 25,
  driver: 'helper',
  mode: 'floor',
  argv: (payload) => [payload.path],
};
