// Full isolation with a bridge network: a veth pair on a host bridge, an
// address and a default route set up over netlink in the parent's window,
// and the gateway-only filter. The bridge is made once (by the first box)
// and kept while the case runs, as a supervisor would.
'use strict';
module.exports = {
  id: 'cordon-full-bridge',
  title: 'cordon: full, bridge network',
  group: 'cordon',
  order: 47,
  driver: 'cordon',
  options: { network: { bridge: 'cordon-bench', subnet: '10.242.0.1/16' } },
  requires: (ctx) => (ctx.isRoot ? null : 'bridge networking needs a root caller; run the suite as root'),
};
