// cordon-full run by the checkout BENCH_BASELINE_CORDON names (the code
// before a change), interleaved with this one's cases in the same run.
'use strict';
module.exports = {
  id: 'cordon-full-baseline',
  title: 'cordon: full isolation, baseline checkout',
  group: 'cordon',
  order: 40.2,
  driver: 'cordon',
  options: {},
  baseline: true,
};
