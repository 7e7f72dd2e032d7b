// cordon with only a new cgroup namespace.
'use strict';
module.exports = require('./_cordon').alone('cgroup', 26);
