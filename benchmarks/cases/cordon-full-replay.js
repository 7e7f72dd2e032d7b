// A default box's plan, validated, planned and encoded once, handed to the
// native engine for every spawn and watched through its pidfd on the event
// loop: the native engine alone, from Node, without cordon's JS layer.
// Between the C floors and cordon-full it splits the remaining cost into
// the native engine's and the JS layer's (validation, the Box, its ledger
// and watches, the hand-over).
'use strict';
module.exports = {
  id: 'cordon-full-replay',
  title: 'cordon: full isolation, the plan replayed natively (no JS layer)',
  group: 'cordon',
  order: 40.5,
  driver: 'cordon',
  replay: true,
  // Synchronous spawns: no concurrency to measure.
  throughput: false,
  options: {},
};
