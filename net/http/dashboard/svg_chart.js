// Charts drawn as SVG by hand: a sparkline, and a time chart of bars (stacked) and lines
// with axes. Sizes are in pixels of the container they are drawn for, so that text stays
// readable on a phone; a view draws again when its width changes.

import {s, num, duration} from './dom.js';

// The smallest "nice" number (1, 2, 5 x 10^k) at least `x`.
function niceCeil(x) {
  if (x <= 0) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * exp >= x) return m * exp;
  }
  return 10 * exp;
}

// A sparkline of one or two series of numbers (same length), the first as an area.
export function sparkline(series, {width = 160, height = 36, label = ''} = {}) {
  // One sample is a flat line across.
  series = series.map((x) => (x.values.length === 1 ? {...x, values: [x.values[0], x.values[0]]} : x));
  const n = Math.max(...series.map((x) => x.values.length), 2);
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const pad = 2;
  const step = (width - 2 * pad) / (n - 1);
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  const svg = s('svg', {class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`,
                        role: 'img', 'aria-label': label});
  series.forEach((one, i) => {
    const points = one.values.map((v, j) => `${(pad + j * step).toFixed(1)},${y(v).toFixed(1)}`);
    if (points.length === 0) return;
    if (i === 0) {
      const area = `M${pad},${height - pad} L${points.join(' L')} L${(pad + (one.values.length - 1) * step).toFixed(1)},${height - pad} Z`;
      svg.append(s('path', {d: area, class: `spark-area ${one.cls}`}));
    }
    svg.append(s('polyline', {points: points.join(' '), class: `spark-line ${one.cls}`}));
  });
  svg.append(s('title', label));
  return svg;
}

// A chart over time.
//   start, end: ms; bucketMs: the width of a bar
//   bars: [{name, cls, values: Map(t -> n)}] stacked, bottom first
//   lines: [{name, cls, values: Map(t -> n)}]
//   format: a y value -> text
export function timeChart({width, height = 220, start, end, bucketMs, bars = [], lines = [],
                           format = num, label = ''}) {
  width = Math.max(280, Math.floor(width));
  const margin = {top: 10, right: 12, bottom: 24, left: 56};
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const buckets = Math.max(1, Math.round((end - start) / bucketMs));
  const x = (t) => margin.left + ((t - start) / (end - start)) * plotW;

  let max = 0;
  for (let i = 0; i < buckets; i++) {
    const t = start + i * bucketMs;
    let stack = 0;
    for (const bar of bars) stack += bar.values.get(t) || 0;
    max = Math.max(max, stack);
    for (const line of lines) max = Math.max(max, line.values.get(t) || 0);
  }
  max = niceCeil(max || 1);
  const y = (v) => margin.top + plotH - (v / max) * plotH;

  const svg = s('svg', {class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`,
                        role: 'img', 'aria-label': label});
  // Grid and y axis: 0, 1/2, max.
  for (const v of [0, max / 2, max]) {
    svg.append(s('line', {x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v),
                          class: v === 0 ? 'axis' : 'grid'}));
    svg.append(s('text', {x: margin.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end'},
                 format(v)));
  }
  // x axis: a tick every nice interval.
  const span = end - start;
  const tickEvery = [60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3, 3600e3, 2 * 3600e3,
                     3 * 3600e3, 6 * 3600e3].find((t) => span / t <= Math.max(2, plotW / 90)) ||
                    12 * 3600e3;
  for (let t = Math.ceil(start / tickEvery) * tickEvery; t <= end; t += tickEvery) {
    const d = new Date(t);
    const text = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    svg.append(s('line', {x1: x(t), x2: x(t), y1: margin.top + plotH, y2: margin.top + plotH + 4,
                          class: 'axis'}));
    svg.append(s('text', {x: x(t), y: height - 6, class: 'tick', 'text-anchor': 'middle'}, text));
  }
  // Bars, stacked, each with a tooltip.
  const barW = Math.max(1, plotW / buckets - (plotW / buckets > 4 ? 1 : 0));
  for (let i = 0; i < buckets; i++) {
    const t = start + i * bucketMs;
    let base = 0;
    const tip = [];
    for (const bar of bars) {
      const v = bar.values.get(t) || 0;
      tip.push(`${bar.name} ${format(v)}`);
      if (v > 0) {
        const rect = s('rect', {x: x(t).toFixed(1), y: y(base + v).toFixed(1), width: barW.toFixed(1),
                                height: Math.max(0.5, y(base) - y(base + v)).toFixed(1),
                                class: `bar ${bar.cls}`});
        svg.append(rect);
      }
      base += v;
    }
    if (bars.length && base > 0) {
      const d = new Date(t);
      const when = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
      const hit = s('rect', {x: x(t).toFixed(1), y: margin.top, width: barW.toFixed(1), height: plotH,
                             class: 'hit'});
      hit.append(s('title', `${when}: ${tip.join(', ')}`));
      svg.append(hit);
    }
  }
  // Lines: a gap where a bucket has no value, and a dot for a value with no neighbour.
  const has = (line, t) => line.values.get(t) !== undefined && line.values.get(t) !== null;
  for (const line of lines) {
    let d = '';
    let pen = false;
    for (let i = 0; i < buckets; i++) {
      const t = start + i * bucketMs;
      if (!has(line, t)) {
        pen = false;
        continue;
      }
      const v = line.values.get(t);
      const px = (x(t) + barW / 2).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px},${y(v).toFixed(1)} `;
      if (!pen && !has(line, t + bucketMs)) {
        const dot = s('circle', {cx: px, cy: y(v).toFixed(1), r: 2.5, class: `dot ${line.cls}`});
        dot.append(s('title', `${line.name} ${format(v)}`));
        svg.append(dot);
      }
      pen = true;
    }
    if (d) svg.append(s('path', {d, class: `line ${line.cls}`}));
  }
  svg.append(s('title', label));
  return svg;
}

export function msFormat(v) {
  if (v === 0) return '0';
  if (v < 10) return `${Number(v.toFixed(1))} ms`;
  return duration(v);
}
