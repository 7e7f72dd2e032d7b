// cordon with every namespace shared with the host and no init: the cost of
// cordon's own spawn path (plan, clone, exec, exit watch) alone.
'use strict';
const { ALL_HOST } = require('./_cordon');
module.exports = {
  id: 'cordon-none',
  title: 'cordon: no isolation',
  group: 'cordon',
  order: 10,
  driver: 'cordon',
  options: { namespaces: ALL_HOST, init: false, allowHostCredentials: true },
};
