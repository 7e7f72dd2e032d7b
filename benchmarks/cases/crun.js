// crun run with a minimal bundle and its default cgroup manager (a cgroup per container).
'use strict';
const { crunCase } = require('./_crun');
module.exports = crunCase({ id: 'crun', title: 'crun run', order: 30, globalArgs: [] });
