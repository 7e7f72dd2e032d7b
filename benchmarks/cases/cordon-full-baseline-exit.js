// cordon-full-exit run by the checkout BENCH_BASELINE_CORDON names.
'use strict';
module.exports = {
  id: 'cordon-full-baseline-exit',
  title: "cordon: full isolation, baseline checkout, to 'exit'",
  group: 'cordon',
  order: 40.3,
  driver: 'cordon',
  options: {},
  baseline: true,
  until: 'exit',
};
