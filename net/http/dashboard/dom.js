// Building the page: elements are made with h() and text goes in as text nodes, never as
// HTML, so that payloads, errors and names (user data) cannot become markup. Formatting of
// numbers, sizes, times and durations lives here too.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'checked' || key === 'disabled' || key === 'selected' || key === 'open' ||
               key === 'value' || key === 'indeterminate') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

// h('a', {href: '/queues', class: 'x', onclick: f}, 'text', child, [more]) -> HTMLElement.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs && (attrs instanceof Node || typeof attrs !== 'object' || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// ---- formatting -------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat('en');

export function num(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return numberFormat.format(Number(n));
}

export function plural(n, one, many) {
  return `${num(n)} ${Number(n) === 1 ? one : (many || one + 's')}`;
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// 850 -> "850 ms", 2000 -> "2 s", 90000 -> "1 min 30 s", 7200000 -> "2 h".
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const sign = ms < 0 ? '−' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return `${sign}${Math.round(ms)} ms`;
  if (ms < 10000) return `${sign}${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  if (ms < 60000) return `${sign}${Math.round(ms / 1000)} s`;
  if (ms < 3600000) {
    const m = Math.floor(ms / 60000);
    const sec = Math.round((ms % 60000) / 1000);
    return `${sign}${m} min${sec ? ` ${sec} s` : ''}`;
  }
  if (ms < 86400000) {
    const hrs = Math.floor(ms / 3600000);
    const m = Math.round((ms % 3600000) / 60000);
    return `${sign}${hrs} h${m ? ` ${m} min` : ''}`;
  }
  return `${sign}${(ms / 86400000).toFixed(1).replace(/\.0$/, '')} d`;
}

// A time as ms since the epoch, or an ISO-8601 string: ms, or null.
export function toMs(t) {
  if (t === null || t === undefined || t === '' || t === 0) return null;
  if (typeof t === 'number') return t;
  const parsed = Date.parse(t);
  return Number.isNaN(parsed) ? null : parsed;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});

// "14:03:12.345" (today) or "2 Dec 2026, 14:03:12".
export function clock(t, {millis = false} = {}) {
  const ms = toMs(t);
  if (ms === null) return '—';
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const text = sameDay ? timeFormat.format(d) : dateTimeFormat.format(d);
  return millis && sameDay ? `${text}.${String(d.getMilliseconds()).padStart(3, '0')}` : text;
}

export function isoTime(t) {
  const ms = toMs(t);
  return ms === null ? '' : new Date(ms).toISOString();
}

// "3 s ago", "in 2 min".
export function ago(t, now = Date.now()) {
  const ms = toMs(t);
  if (ms === null) return '—';
  const diff = now - ms;
  if (Math.abs(diff) < 1000) return 'just now';
  return diff > 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`;
}

// A <time> with the relative text and the exact time as its tooltip.
export function timeEl(t, {relative = true, millis = false} = {}) {
  const ms = toMs(t);
  if (ms === null) return h('span', {class: 'muted'}, '—');
  return h('time', {datetime: isoTime(ms), title: `${clock(ms, {millis: true})} (${isoTime(ms)})`,
                    dataset: relative ? {ago: ms} : {}},
           relative ? ago(ms) : clock(ms, {millis}));
}

// Refreshes every relative <time data-ago> in `root` (called once a second).
export function tickRelativeTimes(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time[data-ago]')) {
    const text = ago(Number(el.dataset.ago), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

// One line of a payload for a table cell: JSON text cut to `max` characters.
export function preview(data, max = 140) {
  let text = typeof data === 'string' ? data : JSON.stringify(data);
  if (text === undefined) text = '';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'];

export function stateBadge(state) {
  return h('span', {class: ['badge', `state-${state}`]}, state);
}

export function queueHref(name) {
  const reserved = ['assets', 'jobs', 'failures', 'users', 'tickets', 'audit', 'charts', 'queue'];
  const enc = encodeURIComponent(name);
  return reserved.includes(name) ? `/queues/queue/${enc}` : `/queues/${enc}`;
}

export function jobHref(id) {
  return `/queues/jobs/${encodeURIComponent(id)}`;
}

export function userHref(id) {
  return `/queues/users/${encodeURIComponent(id)}`;
}

// A query string from an object, without empty values: {a: 1, b: ''} -> "?a=1".
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}
