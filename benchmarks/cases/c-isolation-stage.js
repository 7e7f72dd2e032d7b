// The C isolation floor done the "stage program" way (issue 15): the helper
// clones with CLONE_VM|CLONE_VFORK and execs a small static program at
// once, which makes the namespaces and sets the box up in its own address
// space. Against c-isolation-floor it prices that design: one exec and one
// more process.
'use strict';
module.exports = {
  id: 'c-isolation-stage',
  title: 'C isolation floor, stage program',
  group: 'baseline',
  order: 26,
  driver: 'helper',
  mode: 'stage',
  argv: (payload) => [payload.path],
};
