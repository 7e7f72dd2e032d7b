// cordon's defaults, latency to the box's 'exit' event (the payload's status
// known) rather than to \`exited\` (the box torn down and released): how
// child_process is measured.
'use strict';
module.exports = {
  id: 'cordon-full-exit',
  title: "cordon: full isolation, to 'exit'",
  group: 'cordon',
  order: 40.1,
  driver: 'cordon',
  options: {},
  until: 'exit',
};
