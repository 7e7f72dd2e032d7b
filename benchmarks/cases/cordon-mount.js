// cordon with only a new mount namespace.
'use strict';
module.exports = require('./_cordon').alone('mount', 22);
