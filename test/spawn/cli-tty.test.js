// `cordon run -t` under a terminal of its own: util-linux `script` gives the
// CLI one, and the test types into script's stdin. Every wait is for a
// pattern; markers are computed ($((...))) so the echo of what is typed
// never matches them.
'use strict';
const t = require('tap');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const { TerminalReader } = require('../helpers/terminal');
const { requireOrSkip } = require('../helpers/skip');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const NODE = process.execPath;
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const BASH = `${NODE} ${CLI} run -t --env 'PS1=P> ' --env TERM=xterm -- /bin/bash --norc --noprofile -i`;
// Runs `command` under script's terminal, reports whether the CLI left that
// terminal as it found it, and the CLI's exit status.
const restoring = (command) => `stty cols 100 rows 40; before=$(stty -g); ${command}; rc=$?; if [ "$(stty -g)" = "$before" ]; then echo RESTORED-$rc; else echo NOT-RESTORED-$rc; fi`;

function underScript(command) {
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const term = new TerminalReader(child.stdout);
  const closed = new Promise((resolve) => child.on('close', resolve));
  return { child, term, closed, type: (text) => child.stdin.write(text) };
}

t.test('an interactive bash through cordon run -t: size, ^C, exit status, terminal restored', async (t) => {
  if (!requireOrSkip(t, hasScript, 'needs util-linux script to give the CLI a terminal')) return;
  const { term, type, closed, child } = underScript(restoring(BASH));
  await term.waitFor(/P> /);
  type('echo S:$(stty size):$((1+1))\n');
  t.equal((await term.waitFor(/S:(\d+ \d+):2/))[1], '40 100', 'the box\'s terminal has the CLI terminal\'s size');
  type('test -t 0 && echo T:$(tty):$((2+3))\n');
  t.equal((await term.waitFor(/T:(\S+):5/))[1], '/dev/console');
  type('sh -c \'echo FG-$((4+4)); exec sleep 100\'\n');
  await term.waitFor(/FG-8/);
  type('\x03');
  type('echo RC:$?:$((2+9))\n');
  t.equal((await term.waitFor(/RC:(\d+):11/))[1], '130', '^C reached the box\'s foreground job as a character, not the CLI as SIGINT');
  type('exit 3\n');
  t.equal((await term.waitFor(/(NOT-)?RESTORED-(\d+)/))[0], 'RESTORED-3', 'the CLI exits with the payload\'s status and restores the terminal');
  child.stdin.end();
  await closed;
});

t.test('a window size change reaches the box as SIGWINCH with the new size', async (t) => {
  if (!requireOrSkip(t, hasScript, 'needs util-linux script to give the CLI a terminal')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-tty-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'resize');
  // A helper beside the CLI resizes script's terminal when the test says so.
  const { term, type, closed, child } = underScript(
    `mkfifo ${fifo}; (read x < ${fifo}; stty -F /dev/tty cols 120 rows 50) & ${restoring(BASH)}`);
  await term.waitFor(/P> /);
  type('sh -c \'trap "echo WINCH-\\$((6*7)):\\$(stty size); exit 0" WINCH; echo READY-$((8+1)); while :; do sleep 1; done\'\n');
  await term.waitFor(/READY-9/);
  fs.writeFileSync(fifo, 'go\n');
  t.equal((await term.waitFor(/WINCH-42:(\d+ \d+)/))[1], '50 120', 'the box saw SIGWINCH and the new size');
  type('exit 0\n');
  t.equal((await term.waitFor(/(NOT-)?RESTORED-(\d+)/))[0], 'RESTORED-0');
  child.stdin.end();
  await closed;
});

t.test('the terminal is restored when the CLI fails and when it is killed by a signal', async (t) => {
  if (!requireOrSkip(t, hasScript, 'needs util-linux script to give the CLI a terminal')) return;
  {
    const { term, closed, child } = underScript(restoring(`${NODE} ${CLI} run -t -- /nonexistent/cmd`));
    t.equal((await term.waitFor(/(NOT-)?RESTORED-(\d+)/))[0], 'RESTORED-127', 'a command not found: 127, terminal restored');
    child.stdin.end();
    await closed;
  }
  {
    const { term, closed, child } = underScript(restoring(`${NODE} ${CLI} run -t --upper /nonexistent/dir --layer / -- /bin/true`));
    t.equal((await term.waitFor(/(NOT-)?RESTORED-(\d+)/))[0], 'RESTORED-125', 'cordon refused: 125, terminal restored');
    child.stdin.end();
    await closed;
  }
  {
    // The CLI in the background, its pid printed; its stdin still the terminal.
    const { term, closed, child } = underScript(restoring(
      `${NODE} ${CLI} run -t -- /bin/sh -c 'echo UP-$((1+1)); exec sleep 100' </dev/tty & echo CLIPID-$!-; wait $!`));
    const [, pid] = await term.waitFor(/CLIPID-(\d+)-/);
    await term.waitFor(/UP-2/);
    process.kill(Number(pid), 'SIGTERM');
    t.equal((await term.waitFor(/(NOT-)?RESTORED-(\d+)/))[0], 'RESTORED-143', 'SIGTERM to the CLI ends the box (128+15), terminal restored');
    child.stdin.end();
    await closed;
  }
});

t.test('-t without a terminal on stdin fails with 125 and says why', async (t) => {
  const result = spawnSync(NODE, [CLI, 'run', '-t', '--', '/bin/true'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  t.equal(result.status, 125);
  t.match(result.stderr, /^cordon: -t needs a terminal on stdin/);
  const long = spawnSync(NODE, [CLI, 'run', '--tty', '--', '/bin/true'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  t.equal(long.status, 125, '--tty as well');
});

t.test('--help documents -t', async (t) => {
  const result = spawnSync(NODE, [CLI, 'run', '--help'], { encoding: 'utf8' });
  t.match(result.stdout, /--tty, -t/);
  t.match(result.stdout, /cordon run -t -- \/bin\/bash/, 'with an example');
});
