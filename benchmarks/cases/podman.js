// podman run with its own runtime (crun, or runc where crun refuses the
// host) against podman run with cordon as the runtime: see _podman.js.
'use strict';
module.exports = require('./_podman').podmanCases;
