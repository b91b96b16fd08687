// Building the page: elements from plain values (text is only ever set as text, never
// parsed as HTML), and how numbers, times and states read.

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  setProps(element, props);
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, props = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setProps(element, props);
  element.append(...children);
  return element;
}

function setProps(element, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
}

export function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatCount(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

export function formatTime(ms) {
  return new Date(ms).toLocaleString();
}

export function formatRate(rate) {
  const unit = { 1000: 's', 60000: 'm', 3600000: 'h' }[rate.periodMs];
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.periodMs}ms`;
}

export function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

export function stateBadge(state) {
  return h('span', { class: `state state-${state}`, 'data-field': 'state' }, state);
}

export function progressBar({ done, total, unit }) {
  const share = total ? ` (${Math.floor((done * 100) / total)}%)` : '';
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: Math.max(total ?? 1, 1), value: total === null ? 0 : done }),
    h('span', { class: 'progress-label', 'data-field': 'progress' }, `${done}/${total ?? '?'} ${unit}${share}`),
  );
}
