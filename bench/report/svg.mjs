// Small SVG chart writers for the benchmark report: grouped horizontal bars and line charts
// (linear or log10 axes). Output is a standalone SVG string; no dependencies.

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(2));

export function color(i) { return COLORS[i % COLORS.length]; }

function frame(w, h, title, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">\n` +
    `<rect width="${w}" height="${h}" fill="#fff"/>\n<text x="${w / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>\n${body}</svg>\n`;
}

function legend(x, y, names) {
  return names.map((n, i) => `<rect x="${x}" y="${y + i * 16}" width="12" height="10" fill="${color(i)}"/>` +
    `<text x="${x + 16}" y="${y + i * 16 + 9}">${esc(n)}</text>`).join("\n");
}

// groups: [{ label, values: [{ name, value, note? }] }]; one bar per value, colored by name.
export function bars({ title, unit, groups, width = 760, perGroup = false }) {
  const names = [...new Set(groups.flatMap((g) => g.values.map((v) => v.name)))];
  // the label column widens for long group labels (about 7.5 px a character, bold 12 px)
  const longest = Math.max(0, ...groups.map((g) => String(g.label).length));
  const left = Math.max(300, Math.ceil(longest * 7.5) + 16), right = 200, barH = 14, gap = 10, top = 40;
  width += left - 300;
  const rows = groups.reduce((n, g) => n + g.values.length, 0);
  const h = top + rows * barH + groups.length * gap + 40;
  const max = Math.max(...groups.flatMap((g) => g.values.map((v) => v.value)), 1e-9);
  const plotW = width - left - right;
  let y = top, body = "";
  for (const g of groups) {
    const gmax = perGroup ? Math.max(...g.values.map((v) => v.value), 1e-9) : max;
    body += `<text x="${left - 8}" y="${y + (g.values.length * barH) / 2 + 4}" text-anchor="end" font-weight="bold">${esc(g.label)}</text>\n`;
    for (const v of g.values) {
      const w = Math.max(1, (v.value / gmax) * plotW);
      body += `<rect class="bar" x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${color(names.indexOf(v.name))}"><title>${esc(`${g.label} / ${v.name}: ${num(v.value)} ${unit}`)}</title></rect>` +
        `<text x="${left + w + 4}" y="${y + barH - 4}" font-size="10">${esc(num(v.value))}${v.note ? " " + esc(v.note) : ""}</text>\n`;
      y += barH;
    }
    y += gap;
  }
  body += `<line x1="${left}" y1="${top - 4}" x2="${left}" y2="${y}" stroke="#333"/>\n`;
  body += `<text x="${left + plotW / 2}" y="${y + 16}" text-anchor="middle">${esc(unit)}</text>\n`;
  body += legend(width - right + 60, top, names);
  return frame(width, h, title, body);
}

function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out.filter((t) => t >= lo * 0.999 && t <= hi * 1.001);
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4 || 1));
  const k = [1, 2, 5, 10].find((m) => (hi - lo) / (step * m) <= 6) * step;
  const out = [];
  for (let t = Math.ceil(lo / k) * k; t <= hi + 1e-9; t += k) out.push(t);
  return out;
}

// series: [{ name, points: [[x, y]], dash? }]
export function lines({ title, xLabel, yLabel, series, logX = false, logY = false, width = 900, height = 420, yFormat = num, xFormat = num, hlines = [] }) {
  const left = 70, right = 270, top = 40, bottom = 50;
  const pw = width - left - right, ph = height - top - bottom;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => (!logX || x > 0) && (!logY || y > 0));
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]).concat(hlines.map((l) => l.y));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!logY) y0 = Math.min(0, y0);
  if (x0 === x1) x1 = x0 + 1;
  if (y0 === y1) y1 = y0 + 1;
  if (logX) { x0 = 10 ** Math.floor(Math.log10(x0)); x1 = 10 ** Math.ceil(Math.log10(x1)); }
  if (logY) { y0 = 10 ** Math.floor(Math.log10(y0)); y1 = 10 ** Math.ceil(Math.log10(y1)); }
  const fx = (x) => left + (logX ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) * pw;
  const fy = (y) => top + ph - (logY ? (Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (y - y0) / (y1 - y0)) * ph;
  let body = `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>\n`;
  for (const t of ticks(x0, x1, logX)) {
    body += `<line x1="${fx(t)}" y1="${top}" x2="${fx(t)}" y2="${top + ph}" stroke="#ddd"/><text x="${fx(t)}" y="${top + ph + 16}" text-anchor="middle">${esc(xFormat(t))}</text>\n`;
  }
  for (const t of ticks(y0, y1, logY)) {
    body += `<line x1="${left}" y1="${fy(t)}" x2="${left + pw}" y2="${fy(t)}" stroke="#ddd"/><text x="${left - 6}" y="${fy(t) + 4}" text-anchor="end">${esc(yFormat(t))}</text>\n`;
  }
  series.forEach((s, i) => {
    const d = s.points.filter(([x, y]) => (!logX || x > 0) && (!logY || y > 0))
      .map(([x, y], k) => `${k ? "L" : "M"}${fx(x).toFixed(1)},${fy(y).toFixed(1)}`).join("");
    if (d) body += `<path class="series" d="${d}" fill="none" stroke="${color(i)}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}><title>${esc(s.name)}</title></path>\n`;
  });
  for (const l of hlines) {
    body += `<line x1="${left}" y1="${fy(l.y)}" x2="${left + pw}" y2="${fy(l.y)}" stroke="#000" stroke-dasharray="4 3"/><text x="${left + 4}" y="${fy(l.y) - 4}" font-size="10">${esc(l.label)}</text>\n`;
  }
  body += `<text x="${left + pw / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>\n`;
  body += `<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>\n`;
  body += legend(left + pw + 12, top, series.map((s) => s.name));
  return frame(width, height, title, body);
}
