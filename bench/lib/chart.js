// A small SVG line chart for the bench's reports (no dependency: a few panels of lines over a
// shared x axis is all the history section draws). Each panel has its own y axis and title;
// each series is one line with its legend, the same colour in every panel.

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 420;
const H = 260;
const PAD = { left: 56, right: 16, top: 34, bottom: 44 };

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Round-number ticks from 0 to at least max. */
function ticks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const out = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(+v.toPrecision(12));
  return out;
}

const compact = (v) => (v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : String(+v.toFixed(1)));

/**
 * panels: [{ title, yLabel, series: [{ name, points: [[x, y], ...] }] }], xLabel: the shared
 * x axis' label. Points with a null y are skipped. Returns the SVG text.
 */
export function lineChart({ title, xLabel, panels }) {
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xTicks = ticks(Math.max(...allX, 1));
  const xMax = xTicks.at(-1);
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colour = (name) => COLOURS[names.indexOf(name) % COLOURS.length];
  const parts = [];
  panels.forEach((panel, i) => {
    const ox = i * W;
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y).filter((y) => y !== null && Number.isFinite(y)));
    const yTicks = ticks(Math.max(...ys, 1));
    const yMax = yTicks.at(-1);
    const px = (x) => ox + PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
    const py = (y) => PAD.top + (1 - y / yMax) * (H - PAD.top - PAD.bottom);
    parts.push(`<text x="${ox + W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(panel.title)}</text>`);
    for (const t of yTicks) {
      parts.push(`<line x1="${ox + PAD.left}" x2="${ox + W - PAD.right}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`);
      parts.push(`<text x="${ox + PAD.left - 6}" y="${py(t) + 4}" text-anchor="end">${compact(t)}</text>`);
    }
    for (const t of xTicks) parts.push(`<text x="${px(t)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${compact(t)}</text>`);
    parts.push(`<text x="${ox + (W + PAD.left) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
    parts.push(`<text transform="translate(${ox + 14} ${(H + PAD.top - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(panel.yLabel)}</text>`);
    for (const s of panel.series) {
      const pts = s.points.filter(([, y]) => y !== null && Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
      if (pts.length) parts.push(`<polyline fill="none" stroke="${colour(s.name)}" stroke-width="2" points="${pts.join(' ')}"/>`);
      for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${colour(s.name)}"/>`);
    }
  });
  const width = W * panels.length;
  const legendY = H + 14;
  names.forEach((name, i) => {
    const x = 20 + i * 260;
    parts.push(`<line x1="${x}" x2="${x + 24}" y1="${legendY}" y2="${legendY}" stroke="${colour(name)}" stroke-width="3"/>`);
    parts.push(`<text x="${x + 30}" y="${legendY + 4}">${esc(name)}</text>`);
  });
  const titleText = title ? `<title>${esc(title)}</title>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 28}" viewBox="0 0 ${width} ${H + 28}" font-family="sans-serif" font-size="11">${titleText}<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}
