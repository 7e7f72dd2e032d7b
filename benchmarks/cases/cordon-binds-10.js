// Full isolation with 10 bind mounts (see _binds.js).
'use strict';
module.exports = require('./_binds').bindsCase(10, 55);
