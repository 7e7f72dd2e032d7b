// cordon with only a new pid namespace.
'use strict';
module.exports = require('./_cordon').alone('pid', 21);
