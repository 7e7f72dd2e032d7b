'use strict';
// Full isolation from a compiled template (compileBox): the same box as
// cordon-full, with validation, planning and encoding done once (issue 15).
module.exports = {
  id: 'cordon-full-template',
  title: 'cordon: full isolation, compileBox() template',
  group: 'cordon',
  order: 40.5,
  driver: 'cordon',
  options: {},
  template: true,
};
