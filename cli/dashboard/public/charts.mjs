// The run page's charts: a line over time in inline SVG, and items per second from the
// samples the server keeps.
import { formatCount, formatDuration, formatTime, h, s } from './dom.mjs';

/** Items per second between samples at least 2 s apart, so one late refresh does not spike it. */
export function throughput(history) {
  const points = [];
  let from = 0;
  for (let i = 1; i < history.length; i++) {
    while (from < i - 1 && history[i].at - history[from + 1].at >= 2000) from++;
    const span = history[i].at - history[from].at;
    if (span > 0) points.push([history[i].at, ((history[i].items - history[from].items) * 1000) / span]);
  }
  return points;
}

export function chart(title, points) {
  const width = 460;
  const height = 150;
  const pad = { left: 44, right: 8, top: 10, bottom: 22 };
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  if (points.length < 2) {
    figure.append(h('p', { class: 'muted' }, 'Not enough samples yet.'));
    return figure;
  }
  const [x0, x1] = [points[0][0], points[points.length - 1][0]];
  const yMax = Math.max(1, ...points.map(([, y]) => y));
  const x = (value) => pad.left + ((value - x0) / Math.max(1, x1 - x0)) * (width - pad.left - pad.right);
  const y = (value) => height - pad.bottom - (value / yMax) * (height - pad.top - pad.bottom);
  const line = points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
  const bottom = height - pad.bottom;
  figure.append(
    s(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
      s('line', { x1: pad.left, y1: bottom, x2: width - pad.right, y2: bottom, class: 'axis' }),
      s('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: bottom, class: 'axis' }),
      s('polygon', { points: `${x(x0)},${bottom} ${line} ${x(x1)},${bottom}`, class: 'area' }),
      s('polyline', { points: line, class: 'line' }),
      s('text', { x: pad.left - 4, y: pad.top + 8, class: 'tick', 'text-anchor': 'end' }, formatCount(yMax)),
      s('text', { x: pad.left - 4, y: bottom, class: 'tick', 'text-anchor': 'end' }, '0'),
      s('text', { x: width - pad.right, y: height - 6, class: 'tick', 'text-anchor': 'end' }, formatDuration(x1 - x0)),
      s('text', { x: pad.left, y: height - 6, class: 'tick' }, formatTime(x0)),
    ),
  );
  return figure;
}
