// Cases and drivers are files: benchmarks/cases/<id>.js and
// benchmarks/drivers/<name>.js. Adding a case is adding one file.
//
// A case module exports:
//   id          unique, used in --cases, the JSON and the SVG
//   title       shown in the table
//   group       'baseline' | 'peer' | 'cordon'
//   driver      a file name under drivers/ ('helper', 'child-process', 'cordon')
//   heap        'normal' (default) or 'large': Node-side cases with 'large'
//               run in a separate Node process holding ~150 MB more heap
//   order       sort key in the output (smaller first)
//   payloads    optional list of payload ids it runs with (default: all)
//   requires(ctx)        optional: a reason string if it cannot run here
//   notImplemented       optional: the cordon feature it needs; the case is
//                        listed as "not yet measurable" instead of run
//   feature              optional (cordon driver): the feature its options
//                        need; "not yet measurable" if cordon rejects them
//                        as an unknown option, measured once it accepts them
//   throughput           optional: false keeps the case out of the
//                        throughput phase (a case that spawns one at a time)
//   ...plus what its driver reads (options, file, argv, mode, helper).
// Files whose name starts with '_' are shared helpers, not cases.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const CASES_DIR = path.join(__dirname, '..', 'cases');
const DRIVERS_DIR = path.join(__dirname, '..', 'drivers');
const GROUP_ORDER = { baseline: 0, peer: 1, cordon: 2 };

function loadCases() {
  const cases = [];
  for (const file of fs.readdirSync(CASES_DIR).sort()) {
    if (!file.endsWith('.js') || file.startsWith('_')) continue;
    const loaded = require(path.join(CASES_DIR, file));
    for (const caseDef of Array.isArray(loaded) ? loaded : [loaded]) {
      for (const field of ['id', 'title', 'group']) {
        if (!caseDef[field]) throw new Error(`benchmarks/cases/${file}: missing "${field}"`);
      }
      if (!caseDef.notImplemented && !caseDef.driver) throw new Error(`benchmarks/cases/${file}: missing "driver"`);
      if (cases.some((c) => c.id === caseDef.id)) throw new Error(`benchmarks/cases/${file}: duplicate id ${caseDef.id}`);
      cases.push({ heap: 'normal', order: 500, ...caseDef, source: file });
    }
  }
  return cases.sort((a, b) => GROUP_ORDER[a.group] - GROUP_ORDER[b.group] || a.order - b.order || a.id.localeCompare(b.id));
}

function loadDriver(name) {
  return require(path.join(DRIVERS_DIR, `${name}.js`));
}

module.exports = { loadCases, loadDriver };
