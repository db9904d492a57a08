// A payload shown as a collapsible tree (<details>, so keyboard and screen readers work),
// built lazily: a node's children are made only when it is opened, long arrays and objects
// come 100 entries at a time and long strings are cut, so that a 1 MiB payload costs what
// is on screen, not what it holds. The raw view is the pretty-printed text.

import {h, replace, bytes, num} from './dom.js';

const PAGE = 100;          // entries of an object or array shown at once
const STRING_CUT = 500;    // characters of a string shown before "more"
const OPEN_DEPTH = 2;      // levels open at first
const OPEN_MAX_ENTRIES = 30;

function primitive(value) {
  if (value === null) return h('span', {class: 'j-null'}, 'null');
  switch (typeof value) {
    case 'string': {
      const text = JSON.stringify(value);
      if (text.length <= STRING_CUT) return h('span', {class: 'j-str'}, text);
      const span = h('span', {class: 'j-str'}, text.slice(0, STRING_CUT));
      const more = h('button', {type: 'button', class: 'link small',
                                onclick: () => { span.textContent = text; more.remove(); }},
                     `… ${num(text.length - STRING_CUT)} more characters`);
      return h('span', span, ' ', more);
    }
    case 'number': return h('span', {class: 'j-num'}, String(value));
    case 'boolean': return h('span', {class: 'j-bool'}, String(value));
    default: return h('span', String(value));
  }
}

function isContainer(value) {
  return value !== null && typeof value === 'object';
}

function summary(value) {
  if (Array.isArray(value)) return `[${value.length === 0 ? '' : '…'}] ${num(value.length)} items`;
  const n = Object.keys(value).length;
  return `{${n === 0 ? '' : '…'}} ${num(n)} ${n === 1 ? 'key' : 'keys'}`;
}

function keyLabel(key, isIndex) {
  if (key === null) return null;
  return h('span', {class: isIndex ? 'j-index' : 'j-key'}, isIndex ? `${key}: ` : `${JSON.stringify(key)}: `);
}

// Appends entries [from, from + PAGE) of `value` to `list`, and a "show more" button.
function fillEntries(list, value, depth, from) {
  const isArray = Array.isArray(value);
  const keys = isArray ? null : Object.keys(value);
  const count = isArray ? value.length : keys.length;
  const to = Math.min(count, from + PAGE);
  for (let i = from; i < to; i++) {
    const key = isArray ? i : keys[i];
    list.append(h('li', node(key, value[key], depth + 1, isArray)));
  }
  if (to < count) {
    const li = h('li');
    li.append(h('button', {type: 'button', class: 'link small', onclick: () => {
      li.remove();
      fillEntries(list, value, depth, to);
    }}, `show ${num(Math.min(PAGE, count - to))} more of ${num(count - to)}`));
    list.append(li);
  }
}

function node(key, value, depth, isIndex = false) {
  if (!isContainer(value)) return h('span', {class: 'j-leaf'}, keyLabel(key, isIndex), primitive(value));
  const size = Array.isArray(value) ? value.length : Object.keys(value).length;
  if (size === 0) return h('span', {class: 'j-leaf'}, keyLabel(key, isIndex), Array.isArray(value) ? '[]' : '{}');
  const details = h('details', {class: 'j-node'});
  details.append(h('summary', keyLabel(key, isIndex), h('span', {class: 'j-summary'}, summary(value))));
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    const list = h('ul', {class: 'j-list'});
    fillEntries(list, value, depth, 0);
    details.append(list);
  };
  details.addEventListener('toggle', () => { if (details.open) build(); });
  if (depth < OPEN_DEPTH && size <= OPEN_MAX_ENTRIES) {
    build();
    details.open = true;
  }
  return details;
}

// Opens (or closes) every node already built under `root`, and builds one more level each call.
function setAll(root, open) {
  for (const d of root.querySelectorAll('details.j-node')) d.open = open;
}

// The payload panel: tree or raw text, with the note and the "show all" of a truncated one.
//   data: the parsed payload, or a string (a prefix when truncated, or a payload not JSON)
//   truncated, payloadBytes: as the job has them
//   loadFull: async () => full data (?full=1), or null when there is nothing more to load
export function payloadView({data, truncated, payloadBytes, loadFull}) {
  const box = h('div', {class: 'payload'});
  const body = h('div', {class: 'payload-body'});
  const toolbar = h('div', {class: 'toolbar'});
  let mode = 'tree';
  let current = data;
  let currentTruncated = truncated;

  const render = () => {
    replace(toolbar);
    replace(body);
    const isText = typeof current === 'string';
    if (currentTruncated) {
      toolbar.append(h('span', {class: 'muted'},
        `Showing the first ${bytes(current.length)} of ${bytes(payloadBytes)}.`));
      if (loadFull) {
        const button = h('button', {type: 'button', onclick: async () => {
          button.disabled = true;
          button.textContent = 'Loading…';
          try {
            const full = await loadFull();
            current = full.data;
            currentTruncated = full.truncated;
            mode = typeof current === 'string' ? 'raw' : 'tree';
            render();
          } catch (error) {
            button.disabled = false;
            button.textContent = 'Show all';
            body.prepend(h('p', {class: 'notice error'}, String(error.message || error)));
          }
        }}, `Show all (${bytes(payloadBytes)})`);
        toolbar.append(button);
      }
    } else if (!isText) {
      const treeButton = h('button', {type: 'button', 'aria-pressed': String(mode === 'tree'),
                                      onclick: () => { mode = 'tree'; render(); }}, 'Tree');
      const rawButton = h('button', {type: 'button', 'aria-pressed': String(mode === 'raw'),
                                     onclick: () => { mode = 'raw'; render(); }}, 'Raw');
      toolbar.append(h('span', {class: 'segmented'}, treeButton, rawButton));
      if (mode === 'tree') {
        toolbar.append(h('button', {type: 'button', onclick: () => setAll(body, true)}, 'Expand all'),
                       h('button', {type: 'button', onclick: () => setAll(body, false)}, 'Collapse all'));
      }
    }
    if (navigator.clipboard && !currentTruncated) {
      toolbar.append(h('button', {type: 'button', onclick: async () => {
        try {
          await navigator.clipboard.writeText(isText ? current : JSON.stringify(current, null, 2));
        } catch {
          // Clipboard refused (no permission): nothing to do.
        }
      }}, 'Copy'));
    }
    if (isText || currentTruncated || mode === 'raw') {
      const text = isText ? current : JSON.stringify(current, null, 2);
      body.append(h('pre', {class: 'code', tabindex: '0'}, text));
    } else {
      body.append(h('div', {class: 'j-tree'}, node(null, current, 0)));
    }
  };
  render();
  box.append(toolbar, body);
  return box;
}
