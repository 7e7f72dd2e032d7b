'use strict'
// Runs the plan decoder's standalone C++ tests and fuzz driver (built with
// g++ under ASan+UBSan by test/cpp/run.sh). Needs only a C++ compiler, not
// the addon or any privileges.
const t = require('tap')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { requireOrSkip } = require('../helpers/skip.js')

const root = path.resolve(__dirname, '..', '..')
const script = path.join(root, 'test', 'cpp', 'run.sh')

const cxx = process.env.CXX || 'g++'
const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' })
const haveCxx = !probe.error && probe.status === 0
if (requireOrSkip(t, haveCxx, `C++ plan decoder tests need a C++ compiler (${cxx} not found)`)) {
  // Two sanitized builds plus the fuzz run: well past tap's default timeout
  // on a slow CI machine.
  t.setTimeout(10 * 60 * 1000)
  t.test('test/cpp/run.sh: decoder unit tests and fuzz driver pass', async t => {
    const result = spawnSync('bash', [script], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: process.env,
    })
    const output = `${result.stdout || ''}${result.stderr || ''}`
    if (result.error) t.fail(`could not run ${script}: ${result.error.message}`)
    const ok = result.status === 0
    if (!ok) t.comment(output)
    t.equal(result.status, 0, 'run.sh exits 0', { signal: result.signal })
    t.match(result.stdout, /plan_decode_test: all \d+ checks passed/, 'unit tests ran')
    t.match(result.stdout, /fuzz_plan_decode: \d+ inputs/, 'fuzz driver ran')
  })
}
