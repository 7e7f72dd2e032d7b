// A small streaming reader of the TAP that tap's `--reporter=tap` prints:
// it remembers the subtest path of every leaf failure (with its YAML
// diagnostics), every skip and todo, and tap's own final count line
// (`# { total: 12, pass: 10, fail: 1, skip: 1 }`).
'use strict';

class TapSummary {
  constructor() {
    this.stack = [];
    this.pendingSubtest = [];
    this.failures = [];
    this.skips = [];
    this.todos = [];
    this.counts = undefined;
    this.collecting = undefined;
  }

  line(raw) {
    const line = raw.replace(/\s+$/, '');
    if (this.collecting !== undefined) {
      const { entry, indent } = this.collecting;
      if (line.startsWith(`${indent}...`) || (line.trim() !== '' && !line.startsWith(indent))) {
        this.collecting = undefined;
        if (line.startsWith(`${indent}...`)) return;
      } else {
        if (entry.diagnostics.length < 40 && !line.startsWith(`${indent}---`)) entry.diagnostics.push(line.slice(indent.length));
        return;
      }
    }
    const counts = /^# (\{ total: .*\})$/.exec(line);
    if (counts) {
      this.counts = counts[1];
      return;
    }
    const leading = /^( *)/.exec(line)[1].length;
    const depth = Math.floor(leading / 4);
    const body = line.slice(leading);
    const subtest = /^# Subtest: (.*)$/.exec(body);
    if (subtest) {
      this.stack.length = depth;
      this.stack[depth] = subtest[1];
      this.pendingSubtest[depth] = { name: subtest[1], failuresAt: this.failures.length };
      return;
    }
    const result = /^(not )?ok \d+(?: - ([^#]*?))?\s*(?:# (SKIP|TODO)\S*\s*(.*))?$/i.exec(body);
    if (!result) return;
    const opened = this.pendingSubtest[depth];
    const isSubtest = opened !== undefined;
    this.pendingSubtest[depth] = undefined;
    this.pendingSubtest.length = depth + 1;
    const name = (result[2] ?? '').replace(/ # time=.*$/, '').trim();
    const where = [...this.stack.slice(0, depth), name].filter(Boolean).join(' > ');
    const directive = result[3]?.toUpperCase();
    const reason = (result[4] ?? '').replace(/\s*# time=.*$/, '');
    if (directive === 'SKIP') this.skips.push({ where, reason, subtest: isSubtest });
    else if (directive === 'TODO') this.todos.push({ where, reason, subtest: isSubtest });
    // A failed subtest counts when nothing inside it failed (a file that crashed, a timeout).
    else if (result[1] !== undefined && (!isSubtest || this.failures.length === opened.failuresAt)) {
      const entry = { where, diagnostics: [] };
      this.failures.push(entry);
      this.collecting = { entry, indent: `${' '.repeat(leading)}  ` };
    }
  }

  report() {
    const out = [];
    out.push(`TAP summary inside the VM: ${this.counts ?? '(no final count line)'}`);
    if (this.failures.length > 0) {
      out.push(`failures (${this.failures.length}):`);
      for (const failure of this.failures) {
        out.push(`  not ok: ${failure.where}`);
        for (const line of failure.diagnostics) out.push(`      ${line}`);
      }
    }
    if (this.skips.length > 0) {
      out.push(`skips (${this.skips.length}):`);
      for (const skip of this.skips) out.push(`  skip: ${skip.where}${skip.reason ? ` (${skip.reason})` : ''}`);
    }
    if (this.todos.length > 0) {
      out.push(`todos (${this.todos.length}):`);
      for (const todo of this.todos) out.push(`  todo: ${todo.where}${todo.reason ? ` (${todo.reason})` : ''}`);
    }
    return out.join('\n');
  }
}

module.exports = { TapSummary };
