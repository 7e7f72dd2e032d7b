// cordon with only a new ipc namespace.
'use strict';
module.exports = require('./_cordon').alone('ipc', 24);
