// Full isolation with 100 bind mounts (see _binds.js).
'use strict';
module.exports = require('./_binds').bindsCase(100, 56);
