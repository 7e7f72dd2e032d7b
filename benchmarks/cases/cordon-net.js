// cordon with only a new net namespace.
'use strict';
module.exports = require('./_cordon').alone('net', 23);
