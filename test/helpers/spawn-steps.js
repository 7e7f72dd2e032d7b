// The spawn steps a synchronous call reports on diagnostics_channel
// ('cordon:spawn:step'), with what the call returned.
'use strict';
const dc = require('node:diagnostics_channel');

function stepsOf(run) {
  const steps = [];
  const onStep = (message) => steps.push(message);
  dc.subscribe('cordon:spawn:step', onStep);
  try {
    return { result: run(), steps };
  } finally {
    dc.unsubscribe('cordon:spawn:step', onStep);
  }
}

module.exports = { stepsOf };
