// Full isolation with 1000 bind mounts (see _binds.js).
'use strict';
module.exports = require('./_binds').bindsCase(1000, 57);
