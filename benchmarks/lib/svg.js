// A hand-written SVG of the latency distributions: one box plot per case on
// a log time axis, a panel per payload.
'use strict';

const COLORS = { baseline: '#4b5563', peer: '#c2410c', cordon: '#1d4ed8' };
const WIDTH = 1100;
const LABEL_W = 330;
const RIGHT_PAD = 90;
const ROW_H = 20;
const PANEL_GAP = 54;
const TOP = 90;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n = (x) => x.toFixed(1);

function ticks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** The largest 1, 2 or 5 x 10^k not above v, and the smallest not below. */
function niceBelow(v) {
  const e = Math.floor(Math.log10(v));
  return [5, 2, 1].map((m) => m * 10 ** e).find((c) => c <= v) ?? 10 ** e;
}
function niceAbove(v) {
  const e = Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * 10 ** e).find((c) => c >= v);
}

function latencySvg(run, title, subtitle = '') {
  const measured = run.results.filter((r) => r.stats);
  if (measured.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="10" y="25">no data</text></svg>\n';
  const lo = niceBelow(Math.min(...measured.map((r) => r.stats.p1)));
  const hi = niceAbove(Math.max(...measured.map((r) => r.stats.p99)));
  const plotW = WIDTH - LABEL_W - RIGHT_PAD;
  const x = (v) => LABEL_W + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;

  const parts = [];
  let y = TOP;
  for (const payload of run.payloads) {
    const rows = measured.filter((r) => r.payload === payload.id);
    if (rows.length === 0) continue;
    parts.push(`<text x="10" y="${y}" class="panel">Payload: ${esc(payload.label)}</text>`);
    y += 12;
    const panelTop = y;
    const panelBottom = y + rows.length * ROW_H;
    for (const v of ticks(lo, hi)) {
      parts.push(`<line x1="${n(x(v))}" y1="${panelTop}" x2="${n(x(v))}" y2="${panelBottom}" class="grid"/>`);
      parts.push(`<text x="${n(x(v))}" y="${panelBottom + 14}" class="tick">${v >= 1 ? v : v.toPrecision(1)}</text>`);
    }
    rows.forEach((r, i) => {
      const cy = panelTop + i * ROW_H + ROW_H / 2;
      const s = r.stats;
      const color = COLORS[r.group] ?? '#000';
      if (i % 2 === 0) parts.push(`<rect x="0" y="${cy - ROW_H / 2}" width="${WIDTH}" height="${ROW_H}" class="band"/>`);
      parts.push(`<text x="${LABEL_W - 8}" y="${cy + 4}" class="label">${esc(r.title)}</text>`);
      parts.push(`<line x1="${n(x(s.p1))}" y1="${cy}" x2="${n(x(s.p99))}" y2="${cy}" stroke="${color}" stroke-width="1.2"/>`);
      for (const v of [s.p1, s.p99]) parts.push(`<line x1="${n(x(v))}" y1="${cy - 4}" x2="${n(x(v))}" y2="${cy + 4}" stroke="${color}"/>`);
      parts.push(`<rect x="${n(x(s.p25))}" y="${cy - 6}" width="${n(Math.max(1, x(s.p75) - x(s.p25)))}" height="12" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`);
      parts.push(`<line x1="${n(x(s.median))}" y1="${cy - 7}" x2="${n(x(s.median))}" y2="${cy + 7}" stroke="${color}" stroke-width="2.5"/>`);
      parts.push(`<circle cx="${n(x(s.p90))}" cy="${cy}" r="2.2" fill="${color}"/>`);
      parts.push(`<text x="${WIDTH - RIGHT_PAD + 8}" y="${cy + 4}" class="value">${s.median.toFixed(3)} ms</text>`);
    });
    y = panelBottom + PANEL_GAP;
  }
  const height = y - PANEL_GAP + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">
<style>
  .title { font-size: 16px; font-weight: 600; }
  .sub { font-size: 11px; fill: #374151; }
  .panel { font-size: 13px; font-weight: 600; }
  .label { font-size: 11.5px; text-anchor: end; }
  .value { font-size: 11px; fill: #374151; }
  .tick { font-size: 10px; text-anchor: middle; fill: #4b5563; }
  .grid { stroke: #d1d5db; stroke-width: 0.7; }
  .band { fill: #f3f4f6; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="22" class="title">${esc(title)}</text>
<text x="10" y="40" class="sub">${esc(subtitle)}</text>
<text x="10" y="58" class="sub">Spawn call to exit observed, ms, log scale. Box: p25–p75; thick line: median; dot: p90; whiskers: p1–p99. Right: median. Grey: baselines, orange: peer tools, blue: cordon.</text>
${parts.join('\n')}
<text x="${LABEL_W + plotW / 2}" y="${height - 12}" class="tick">milliseconds (log scale)</text>
</svg>
`;
}

module.exports = { latencySvg };
