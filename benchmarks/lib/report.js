// Tables: one set of rows, rendered for the terminal and for Markdown.
'use strict';

const HEADERS = ['case', 'n', 'median ms', 'p90 ms', 'p99 ms', '× C fork+exec', '× child_process', 'boxes/s c=1', 'c=2', 'c=8', 'c=64', 'CPU ms/box c=8'];
const RIGHT = [false, true, true, true, true, true, true, true, true, true, true, true];

const ms = (x) => (x === undefined ? '' : x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1));
const ratio = (x) => (x === undefined || x === null ? '' : x.toFixed(2));

function rate(slot) {
  if (!slot) return '';
  if (slot.error) return 'failed';
  return slot.perSecond === null ? '' : String(Math.round(slot.perSecond));
}

/** CPU per box (own + children, ms) of a throughput slot; n/a when the slot ran too few ticks to say. */
function cpuCell(slot) {
  if (!slot?.cpu) return '';
  return slot.cpu.totalMsPerBox === null ? 'n/a' : slot.cpu.totalMsPerBox.toFixed(2);
}

/** Rows of measured cases for one payload, then the lines for the rest. */
function rowsFor(results, payloadId) {
  const rows = [];
  const others = [];
  for (const r of results) {
    if (r.payload !== payloadId) continue;
    for (const [concurrency, slot] of Object.entries(r.throughput ?? {})) {
      if (slot.error) others.push({ label: 'throughput failed', title: `${r.title}, concurrency ${concurrency}`, reason: slot.error });
    }
    if (r.stats) {
      rows.push([
        r.title, String(r.stats.n), ms(r.stats.median), ms(r.stats.p90), ms(r.stats.p99),
        ratio(r.ratios?.forkExec), ratio(r.ratios?.childProcess),
        rate(r.throughput?.[1]), rate(r.throughput?.[2]), rate(r.throughput?.[8]), rate(r.throughput?.[64]),
        cpuCell(r.throughput?.[8]),
      ]);
    } else {
      const label = r.status === 'not-implemented' ? 'not yet measurable' : r.status;
      others.push({ label, title: r.title, reason: r.reason });
    }
  }
  return { rows, others };
}

function textTable(headers, rows, right) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(headers, rows, right) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${right.map((r) => (r ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ].join('\n');
}

function targetRows(targets, payloads) {
  return targets.map((t) => [
    t.target,
    t.figure,
    ...payloads.flatMap((p) => {
      const e = t.byPayload[p.id];
      return [e.shown ?? '', e.verdict];
    }),
  ]);
}

function targetHeaders(payloads) {
  return ['target', 'figure', ...payloads.flatMap((p) => [p.label, 'verdict'])];
}

function terminalReport(run, targets) {
  const out = [];
  for (const payload of run.payloads) {
    const { rows, others } = rowsFor(run.results, payload.id);
    out.push('', `Payload: ${payload.label}${payload.path ? ` (${payload.path})` : ''}`, '');
    if (rows.length > 0) out.push(textTable(HEADERS, rows, RIGHT));
    for (const other of others) out.push(`  ${other.label}: ${other.title}: ${other.reason}`);
  }
  out.push('', 'Targets (issues 7 and 15)', '');
  const headers = targetHeaders(run.payloads);
  out.push(textTable(headers, targetRows(targets, run.payloads), headers.map(() => false)));
  const notes = targets.flatMap((t) => {
    const note = t.byPayload[run.payloads[0].id]?.note;
    return note ? [`  ${t.target}: ${note}`] : [];
  });
  if (notes.length) out.push('', ...notes);
  return out.join('\n');
}

function markdownTables(run, targets) {
  const out = [];
  for (const payload of run.payloads) {
    const { rows, others } = rowsFor(run.results, payload.id);
    out.push(`### Payload: ${payload.label}`, '');
    if (rows.length > 0) out.push(mdTable(HEADERS, rows, RIGHT), '');
    for (const other of others) out.push(`- ${other.label}: **${other.title}** — ${other.reason}`);
    if (others.length) out.push('');
  }
  out.push('### Targets', '');
  const headers = targetHeaders(run.payloads);
  out.push(mdTable(headers, targetRows(targets, run.payloads), headers.map(() => false)), '');
  for (const t of targets) {
    const note = t.byPayload[run.payloads[0].id]?.note;
    if (note) out.push(`- *${t.target}*: ${note}`);
  }
  return out.join('\n');
}

module.exports = { terminalReport, markdownTables };
