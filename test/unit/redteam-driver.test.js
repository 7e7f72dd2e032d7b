// The red-team driver helper: a driver outlives nothing. tap kills a test
// that runs past its timeout, not the test's children: a driver orphaned so
// once held 140 boxes for 35 minutes.
'use strict';
const t = require('tap');
const { spawn } = require('node:child_process');
const path = require('node:path');

const HELPER = path.join(__dirname, '..', 'helpers', 'redteam-driver.js');

function running(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('a driver ends itself when its test process is SIGKILLed', async (t) => {
  // A stand-in test process: starts a driver that would run forever and
  // prints the driver's pid; then it is SIGKILLed.
  const program = `
    const { drive } = require(${JSON.stringify(HELPER)});
    drive("console.log('DRIVER ' + process.pid); setInterval(() => {}, 1000);", '0.5', {
      onLine: (line) => { if (line.startsWith('DRIVER ')) console.log(line); },
    });`;
  const test = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  const driverPid = await new Promise((resolve) => {
    let text = '';
    test.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /DRIVER (\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
  });
  t.ok(running(driverPid), 'the driver runs');
  test.kill('SIGKILL');
  await new Promise((resolve) => test.once('close', resolve));
  // Waits for the driver to go (an event: its exit), bounded only by tap's timeout.
  while (running(driverPid)) await new Promise((resolve) => setTimeout(resolve, 10));
  t.notOk(running(driverPid), 'the driver ended with its test process');
});
