// crun run with cgroups off (--cgroup-manager=disabled): namespaces and mounts only.
'use strict';
const { crunCase } = require('./_crun');
module.exports = crunCase({
  id: 'crun-no-cgroups',
  title: 'crun run, cgroups disabled',
  order: 35,
  globalArgs: ['--cgroup-manager=disabled'],
});
