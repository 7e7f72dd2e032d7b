// Runs inside the cgroup2 VM (the default runner): each test file with plain
// `node FILE`, one after another, as a TAP 14 stream on stdout that looks
// like tap's own `--reporter=tap` output: every file a subtest (its TAP
// indented), its stderr as `# stderr:` comments, then `ok`/`not ok` by its
// exit status, and a final `# { total: ..., pass: ..., ... }` summed from the
// files' own count lines. tap's runner costs some 30 s of startup per file
// under TCG; a tap test file run directly needs none of it.
//
//   node guest-runner.js [--timeout=SECONDS] FILE...
// Exit status: 0 when every file exits 0, else 1.
'use strict';
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');

const { values, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { timeout: { type: 'string', default: '600' } },
});
const timeoutMs = Number(values.timeout) * 1000;

const KEYS = ['total', 'pass', 'fail', 'skip', 'todo'];

function indentLines(text, prefix) {
  return text.split('\n').map((line) => (line === '' ? '' : `${prefix}${line}`)).join('\n');
}

function lineSplitter(onLine) {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) onLine(line);
    },
    flush() {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let counts;
    const out = lineSplitter((line) => {
      const match = /^# (\{ total: [^}]*\})$/.exec(line);
      if (match) counts = Object.fromEntries([...match[1].matchAll(/(\w+): (\d+)/g)].map((m) => [m[1], Number(m[2])]));
      process.stdout.write(`${indentLines(line, '    ')}\n`);
    });
    const err = lineSplitter((line) => process.stdout.write(`    # stderr: ${line}\n`));
    child.stdout.setEncoding('utf8').on('data', (chunk) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => err.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The file's whole process group: its helpers too.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.flush();
      err.flush();
      resolve({ code, signal, counts, timedOut, ms: Date.now() - started });
    });
  });
}

async function main() {
  const total = Object.fromEntries(KEYS.map((key) => [key, 0]));
  let failedFiles = 0;
  const started = Date.now();
  process.stdout.write(`TAP version 14\n1..${files.length}\n`);
  for (const [index, file] of files.entries()) {
    process.stdout.write(`# Subtest: ${file}\n`);
    const result = await runFile(file);
    const ok = result.code === 0 && !result.timedOut;
    if (result.counts === undefined) {
      // No count line: the file died early; count it as one failure.
      total.total += 1;
      total.fail += 1;
    } else {
      for (const key of KEYS) total[key] += result.counts[key] ?? 0;
    }
    if (!ok) failedFiles++;
    const why = result.timedOut ? `timed out after ${values.timeout} s` : result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`;
    process.stdout.write(`${ok ? 'ok' : 'not ok'} ${index + 1} - ${file} # time=${result.ms}ms\n`);
    if (!ok) process.stdout.write(`  ---\n  message: ${JSON.stringify(`the test file failed: ${why}`)}\n  ...\n`);
    process.stdout.write('\n');
  }
  const shown = KEYS.filter((key) => key === 'total' || total[key] > 0).map((key) => `${key}: ${total[key]}`);
  process.stdout.write(`# { ${shown.join(', ')} }\n# time=${Date.now() - started}ms\n`);
  if (failedFiles > 0) process.stdout.write(`# ${failedFiles} of ${files.length} test files failed\n`);
  return failedFiles === 0 ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
});
