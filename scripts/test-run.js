// Runs tap once and reports it compactly: the whole TAP stream goes to a
// file, the terminal gets one line per test file, the details of whatever
// failed, and a closing `<pass>: N passed, N failed, N skipped` line.
//
// On a terminal (and unless CORDON_TEST_REPORTER=tap) tap's own reporter is
// used instead: people watching want its live view.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const TAP_BIN = require.resolve('tap/package.json').replace(/package\.json$/, 'dist/esm/run.mjs');

/** Whether this run prints tap's own live report rather than the compact one. */
function wantsLiveReport() {
  if (process.env.CORDON_TEST_REPORTER === 'tap') return false;
  if (process.env.CORDON_TEST_REPORTER === 'live') return true;
  return process.stdout.isTTY === true && process.env.CI === undefined;
}

/**
 * Runs `command args` (a tap run, possibly wrapped in setpriv), saving its
 * TAP to `tapFile`. Resolves with { status, counts, failed } where counts are
 * tap's own totals, or null when the run ended before printing them.
 */
function runTap({ label, command, args, cwd, env, tapFile }) {
  const live = wantsLiveReport();
  const fullArgs = live ? args : [...args, '--reporter=tap', '--no-color'];
  return new Promise((resolve) => {
    const child = spawn(command, fullArgs, { cwd, env, stdio: ['ignore', live ? 'inherit' : 'pipe', 'inherit'] });
    fs.mkdirSync(path.dirname(tapFile), { recursive: true });
    const file = fs.createWriteStream(tapFile);
    const summary = live ? null : new CompactSummary(label);
    if (!live) {
      let pending = '';
      child.stdout.on('data', (chunk) => {
        file.write(chunk);
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) summary.line(line);
      });
      child.stdout.on('end', () => {
        if (pending !== '') summary.line(pending);
      });
    }
    child.on('error', (error) => {
      console.error(`${label}: cannot start the test runner: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      file.end();
      const status = code ?? 1;
      const counts = summary?.counts ?? null;
      if (signal !== null) console.error(`${label}: the test runner was killed by ${signal}`);
      resolve({ status: signal === null ? status : 1, counts, failed: summary?.failedFiles ?? [] });
    });
  });
}

/** Reads a TAP stream line by line and prints what matters. */
class CompactSummary {
  constructor(label) {
    this.label = label;
    this.counts = null;
    this.failedFiles = [];
    this.block = []; // lines of the current top-level test file
  }

  line(text) {
    const totals = /^# \{ (.*) \}$/.exec(text);
    if (totals !== null) {
      this.counts = Object.fromEntries(totals[1].split(', ').map((part) => part.split(': ')).map(([k, v]) => [k, Number(v)]));
      return;
    }
    const top = /^(not ok|ok) \d+ - (.*)$/.exec(text);
    if (top === null) {
      this.block.push(text);
      return;
    }
    const [, result, rest] = top;
    console.log(`${this.label}: ${result === 'ok' ? 'ok    ' : 'FAILED'} ${rest}`);
    if (result === 'not ok') {
      this.failedFiles.push(rest.replace(/ # time=.*$/, ''));
      for (const failure of failuresIn(this.block)) console.log(failure);
    }
    this.block = [];
  }
}

/** The failing assertions of one file's TAP, with their diagnostics, indented. */
function failuresIn(lines) {
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*)not ok /.exec(lines[i]);
    if (match === null) continue;
    // A failing subtest is followed by its own failing children; print the
    // leaves (the line after a leaf's `not ok` is its YAML block).
    out.push(`    ${lines[i].trim()}`);
    const indent = match[1];
    if (lines[i + 1]?.startsWith(`${indent}  ---`)) {
      for (let j = i + 2; j < lines.length && !lines[j].startsWith(`${indent}  ...`); j++) {
        out.push(`      ${lines[j].slice(indent.length + 2)}`);
      }
    }
  }
  return out.slice(0, 400);
}

/** The plain closing line CI reads: `label: N passed, N failed, N skipped`. */
function closingLine(label, result) {
  const c = result.counts;
  if (c === null) return `${label}: 0 passed, 1 failed (the run ended before tap printed its totals; status ${result.status})`;
  const failed = (c.fail ?? 0) + (result.status !== 0 && (c.fail ?? 0) === 0 ? 1 : 0);
  return `${label}: ${c.pass ?? 0} passed, ${failed} failed, ${(c.skip ?? 0) + (c.todo ?? 0)} skipped`;
}

module.exports = { runTap, closingLine, wantsLiveReport, TAP_BIN };
