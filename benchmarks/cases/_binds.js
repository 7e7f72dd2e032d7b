// Full isolation with N read-only bind mounts of one host directory, at
// /tmp/binds/0 ... /tmp/binds/N-1 inside the box (its /tmp is a tmpfs, so
// cordon can create the targets). Three sizes show whether the cost is
// linear in N.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function bindsCase(count, order) {
  return {
    id: `cordon-binds-${count}`,
    title: `cordon: full + ${count.toLocaleString('en-US')} bind mounts`,
    group: 'cordon',
    order,
    driver: 'cordon',
    feature: 'bind mounts (the mounts option)',
    options(ctx) {
      const source = path.join(ctx.tmp, 'bind-source');
      fs.mkdirSync(source, { recursive: true });
      return {
        mounts: Array.from({ length: count }, (_, i) => ({ type: 'bind', source, target: `/tmp/binds/${i}` })),
      };
    },
  };
}

module.exports = { bindsCase };
