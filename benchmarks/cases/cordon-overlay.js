// Full isolation with an overlay root: one read-only template layer under
// an ephemeral tmpfs upper. The layer holds only the tiny static payload (a
// layer is a root filesystem; /bin/true would need its libraries), so this
// case runs with that payload alone. Measured once cordon accepts
// rootfs: { layers, upper }.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

module.exports = {
  id: 'cordon-overlay',
  title: 'cordon: full + overlay root (1 layer, tmpfs upper)',
  group: 'cordon',
  order: 53,
  driver: 'cordon',
  payloads: ['static'],
  feature: 'overlay layers (rootfs.layers)',
  options(ctx, payload) {
    const layer = path.join(ctx.tmp, 'overlay-layer');
    fs.mkdirSync(layer, { recursive: true, mode: 0o755 });
    fs.copyFileSync(payload.path, path.join(layer, 'payload'));
    fs.chmodSync(path.join(layer, 'payload'), 0o755);
    return { rootfs: { layers: [layer], upper: 'tmpfs' } };
  },
  file: () => '/payload',
};
