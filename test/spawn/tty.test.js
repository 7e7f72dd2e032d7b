// The `tty` option: a pseudo-terminal for the payload, driven here from its
// master (box.stdin, box.stdout) with no real terminal. Every wait is for a
// pattern the box prints; markers are computed by the shell ($((...))), so
// the terminal's echo of what we type never matches them.
'use strict';
const t = require('tap');
const fs = require('node:fs');

const { spawnIsolated, CordonOptionError } = require('../..');
const { TerminalReader } = require('../helpers/terminal');
const { run } = require('../helpers/payload');

const BASH = ['--norc', '--noprofile', '-i'];
const BASH_ENV = { PATH: '/usr/bin:/bin', PS1: 'P> ', TERM: 'xterm' };

function shell(options = {}) {
  const box = spawnIsolated('/bin/bash', BASH, { tty: true, env: BASH_ENV, ...options });
  const term = new TerminalReader(box.stdout);
  const type = (text) => box.stdin.write(text);
  return { box, term, type };
}

t.test('an interactive bash gets a terminal: test -t, tty, stty size, resize and SIGWINCH', async (t) => {
  const { box, term, type } = shell({ tty: { cols: 100, rows: 30 } });
  t.equal(box.stderr, null, 'stderr is the terminal too: box.stderr is null');
  t.equal(box.stdio[2], null);
  type('test -t 0 && test -t 1 && test -t 2 && echo TTY-$((1+1))\n');
  await term.waitFor(/TTY-2/);
  t.pass('fds 0, 1 and 2 are a terminal');
  type('echo T:$(tty):$((3+3))\n');
  const [, name] = await term.waitFor(/T:(\S+):6/);
  t.equal(name, '/dev/console', 'tty names the box\'s terminal (bound at /dev/console, as bubblewrap does)');
  type('echo S:$(stty size):$((2+2))\n');
  t.equal((await term.waitFor(/S:(\d+ \d+):4/))[1], '30 100', 'the size given in the tty option');
  // Resize once bash shows its next prompt: readline prepares the terminal
  // for each prompt with TIOCGWINSZ and then TIOCSWINSZ of what it read (its
  // set_winsize), so a resize landing between the two is written back over
  // (seen under strace: 1 in 30).
  await term.waitFor(/P> /);
  t.equal(box.resize(123, 45), true);
  type('echo S:$(stty size):$((5+5))\n');
  t.equal((await term.waitFor(/S:(\d+ \d+):10/))[1], '45 123', 'box.resize sets the size');
  // A foreground job that waits for SIGWINCH: the kernel sends it to the
  // terminal's foreground process group when the size changes.
  type('sh -c \'trap "echo WINCH-\\$((6*7)); exit 0" WINCH; echo READY-$((8+1)); while :; do sleep 1; done\'\n');
  await term.waitFor(/READY-9/);
  box.resize(90, 20);
  await term.waitFor(/WINCH-42/);
  t.pass('the foreground job got SIGWINCH');
  type('exit 0\n');
  const result = await box.exited;
  t.equal(result.code, 0);
});

t.test('job control: background jobs, jobs, kill %1, ^C on a foreground job, EOF, exit status', async (t) => {
  const { box, term, type } = shell();
  type('echo SID:$(cut -d" " -f6 /proc/$$/stat):$$:$((7+7))\n');
  const [, sid, pid] = await term.waitFor(/SID:(\d+):(\d+):14/);
  t.equal(sid, pid, 'the shell leads the terminal\'s session, not the init');
  t.not(pid, '1', 'the init is PID 1; the shell is its child');
  type('sleep 100 &\n');
  await term.waitFor(/\[1\] \d+/);
  type('jobs\n');
  await term.waitFor(/\[1\]\+\s+Running\s+sleep 100 &/);
  t.pass('jobs lists the background job');
  type('kill %1; wait %1; echo K:$?:$((1+2))\n');
  t.equal((await term.waitFor(/K:(\d+):3/))[1], '143', 'kill %1 ended it with SIGTERM');
  // A foreground job: ^C (written as the character) reaches its process
  // group through the terminal's line discipline, not the shell.
  type('sh -c \'echo FG-$((4+4)); exec sleep 100\'\n');
  await term.waitFor(/FG-8/);
  type('\x03');
  type('echo RC:$?:$((2+9))\n');
  t.equal((await term.waitFor(/RC:(\d+):11/))[1], '130', '^C killed the foreground job with SIGINT');
  type('echo ALIVE-$((3*3))\n');
  await term.waitFor(/ALIVE-9/);
  t.pass('the shell survived ^C');
  // ^Z stops a foreground job; fg brings it back.
  type('sh -c \'echo Z-$((5+5)); exec sleep 100\'\n');
  await term.waitFor(/Z-10/);
  type('\x1a');
  await term.waitFor(/Stopped/);
  // `wait` on a job bash still lists as stopped returns 148 at once, before
  // it has seen the SIGKILL; the job then stays in its table and ^D below
  // only says "There are stopped jobs" (hung on Node 26 under CI load).
  // The first wait's status is checked; then bash is waited on until it no
  // longer lists the job (a later wait may find it gone: 127).
  type('kill -9 %1; wait %1; s=$?; while jobs %1 >/dev/null 2>&1; do wait %1 2>/dev/null; done; echo STOPPED-KILLED-$s-$((6+6))\n');
  t.match((await term.waitFor(/STOPPED-KILLED-(\d+)-12/))[1], /^(137|148)$/, 'the stopped job was there to kill (wait: killed, or its stop)');
  t.pass('^Z stopped the foreground job (SIGTSTP through the terminal)');
  type('echo LAST-$((4*4)); (exit 42)\n');
  await term.waitFor(/LAST-16[\s\S]*P> /);
  type('\x04');
  const result = await box.exited;
  t.equal(result.code, 42, 'EOF (^D) at the prompt ends the shell with its last status');
});

t.test('without an init the payload leads the session itself; sh -i works too', async (t) => {
  const box = spawnIsolated('/bin/sh', ['-i'], { tty: true, init: false, env: { PATH: '/usr/bin:/bin', PS1: '$ ' } });
  const term = new TerminalReader(box.stdout);
  box.stdin.write('test -t 0 && echo SID:$(cut -d" " -f6 /proc/$$/stat):$$:$((1+4))\n');
  const [, sid, pid] = await term.waitFor(/SID:(\d+):(\d+):5/);
  t.equal(pid, '1');
  t.equal(sid, '1');
  box.stdin.write('exit 9\n');
  t.equal((await box.exited).code, 9);
});

t.test('the box\'s /dev/tty is its own terminal, and its controlling terminal is the box\'s pty', async (t) => {
  const result = await run('/bin/sh', ['-c', [
    'exec 3<>/dev/tty',
    'echo VIA-DEV-TTY >&3',
    'nr=$(cut -d" " -f7 /proc/self/stat)',
    'dev=$(stat -L -c "%t %T" /proc/self/fd/0)',
    'echo "NR:$nr DEV:$dev"',
  ].join('; ')], { tty: true });
  t.equal(result.code, 0);
  t.match(result.stdout, /VIA-DEV-TTY/, 'what the box writes to /dev/tty comes out of its own terminal');
  const [, nr, major, minor] = /NR:(\d+) DEV:([0-9a-f]+) ([0-9a-f]+)/.exec(result.stdout);
  t.equal(Number(nr), (parseInt(major, 16) << 8) | (parseInt(minor, 16) & 0xff) | ((parseInt(minor, 16) & ~0xff) << 12),
    'the payload\'s controlling terminal (tty_nr) is the box\'s pty');
});

t.test('attacks on the terminal', async (t) => {
  // TIOCSTI pushes input into a terminal; TIOCLINUX reaches virtual consoles;
  // TIOCCONS redirects the host's console output.
  const perl = (request) => `my $c = "i"; if (ioctl(STDIN, ${request}, $c)) { print "OK\\n" } else { print "ERR:", ($!+0), "\\n" }`;
  const attempt = async (request, options = {}) => {
    const result = await run('/usr/bin/perl', ['-e', perl(request)], { tty: true, ...options });
    return /(OK|ERR:\d+)/.exec(result.stdout)?.[1];
  };
  t.equal(await attempt('0x5412'), 'ERR:1', 'TIOCSTI: EPERM from the default seccomp profile');
  t.equal(await attempt('0x541c'), 'ERR:1', 'TIOCLINUX: EPERM from the default seccomp profile');
  t.equal(await attempt('0x541d'), 'ERR:1', 'TIOCCONS: EPERM (needs the host\'s CAP_SYS_ADMIN)');
  t.equal(await attempt('0x541d', { seccomp: false }), 'ERR:1', 'TIOCCONS without a filter: still EPERM');

  // Without the filter a TIOCSTI can only ever reach the box's own terminal:
  // the input comes back to the box's own reader, never leaves it.
  const legacy = (() => {
    try {
      return fs.readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim();
    } catch {
      return '1';
    }
  })();
  const box = spawnIsolated('/bin/sh', ['-c',
    'stty -echo; perl -e \'for my $ch (split //, "INJECTED\\n") { ioctl(STDIN, 0x5412, $ch) or die "ERR:$!\\n" }\'; read line; echo "READ:$line:$((1+1))"'],
  { tty: true, seccomp: false, env: { PATH: '/usr/bin:/bin' } });
  const term = new TerminalReader(box.stdout);
  if (legacy === '0') {
    await term.waitFor(/ERR:/);
    t.pass('dev.tty.legacy_tiocsti=0: TIOCSTI needs CAP_SYS_ADMIN, which no box has');
  } else {
    const [, line] = await term.waitFor(/READ:(.*):2/);
    t.equal(line, 'INJECTED', 'the injected input went to the box\'s own terminal, read back by the box');
  }
  await box.exited;
});

t.test('a supervisor\'s own terminal is out of reach of its boxes', async (t) => {
  // Run a supervisor that has a controlling terminal (under script): its
  // tty box writes to /dev/tty, its default box tries to open /dev/tty.
  const program = `
    const { spawnIsolated } = require(${JSON.stringify(require.resolve('../..'))});
    (async () => {
      const withTty = spawnIsolated('/bin/sh', ['-c', 'echo BOX-$((20+22)) > /dev/tty'], { tty: true });
      let seen = '';
      withTty.stdout.on('data', (d) => { seen += d; });
      await withTty.exited;
      const plain = spawnIsolated('/bin/sh', ['-c', '(exec 3<>/dev/tty) 2>/dev/null && echo OPENED || echo REFUSED'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let plainOut = '';
      plain.stdout.on('data', (d) => { plainOut += d; });
      await plain.exited;
      process.stdout.write('TTYBOX=' + seen.includes('BOX-42') + ' PLAIN=' + plainOut.trim() + ' DONE\\n');
    })();`;
  const { spawn } = require('node:child_process');
  const child = spawn('script', ['-qec', `${process.execPath} -e ${shellQuote(program)}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const term = new TerminalReader(child.stdout);
  const [line] = await term.waitFor(/TTYBOX=\S+ PLAIN=\S+ DONE/);
  child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
  t.match(line, /TTYBOX=true/, 'the tty box\'s /dev/tty was its own pty (its output came to box.stdout)');
  t.match(line, /PLAIN=REFUSED/, 'a default box (new session, no terminal) cannot open /dev/tty');
  t.notMatch(term.text.replace(line, ''), /BOX-42/, 'nothing the box wrote reached the supervisor\'s terminal');
});

t.test('options: bad tty values and conflicts throw before anything runs', async (t) => {
  t.throws(() => spawnIsolated('/bin/true', [], { tty: 'yes' }), CordonOptionError);
  t.throws(() => spawnIsolated('/bin/true', [], { tty: { cols: 0 } }), { option: 'tty.cols' });
  t.throws(() => spawnIsolated('/bin/true', [], { tty: { colums: 80 } }), CordonOptionError);
  t.throws(() => spawnIsolated('/bin/true', [], { tty: true, stdio: 'inherit' }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS', option: 'stdio' });
  t.throws(() => spawnIsolated('/bin/true', [], { tty: true, newSession: false }), { code: 'ERR_CORDON_CONFLICTING_OPTIONS', option: 'newSession' });
  const plain = spawnIsolated('/bin/true', [], {});
  t.throws(() => plain.resize(80, 24), { code: 'ERR_CORDON_NO_TTY' });
  await plain.exited;
  const box = spawnIsolated('/bin/true', [], { tty: true });
  t.throws(() => box.resize(0, 24), { option: 'cols' });
  await box.exited;
  t.equal(box.resize(80, 24), false, 'resize after the end: false');
});

t.test('a failed spawn with tty: stdout ends, stdin is closed, the master is released', async (t) => {
  const before = fs.readdirSync('/proc/self/fd').length;
  const box = spawnIsolated('/nonexistent/x', [], { tty: true });
  box.stdout.resume();
  const error = await box.exited.catch((e) => e);
  t.equal(error.code, 'ENOENT');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(fs.readdirSync('/proc/self/fd').length, before, 'no fd left open');
});

t.test('unread output still ends the box, as with pipes', async (t) => {
  const box = spawnIsolated('/bin/sh', ['-c', 'head -c 200000 /dev/zero | tr "\\0" x; exit 4'], { tty: true });
  const result = await box.exited;
  t.equal(result.code, 4);
});

function shellQuote(text) {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

t.test('spawnIsolatedAsync gives the same terminal', async (t) => {
  const { spawnIsolatedAsync } = require('../..');
  const box = await spawnIsolatedAsync('/bin/sh', ['-c', 'test -t 0 && echo ASYNC-TTY-$((2*21))'], { tty: true });
  const term = new TerminalReader(box.stdout);
  await term.waitFor(/ASYNC-TTY-42/);
  t.equal((await box.exited).code, 0);
});
