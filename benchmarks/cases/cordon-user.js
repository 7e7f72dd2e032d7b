// cordon with only a new user namespace.
'use strict';
module.exports = require('./_cordon').alone('user', 20);
