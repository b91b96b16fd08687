// Building the page: elements from plain values (text is only ever set as text, never
// parsed as HTML), and how numbers, times and states read (durations, rates and counts as
// the command line writes them, from the one module both use).

export { formatCount, formatDuration, formatRate } from './formats.mjs';

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

export function formatTime(ms) {
  return new Date(ms).toLocaleString();
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
