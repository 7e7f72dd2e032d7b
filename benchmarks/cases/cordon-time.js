// cordon with only a new time namespace.
'use strict';
module.exports = require('./_cordon').alone('time', 27);
