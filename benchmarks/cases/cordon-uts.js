// cordon with only a new uts namespace.
'use strict';
module.exports = require('./_cordon').alone('uts', 25);
