// Audit log: what operators did (retries, deletes, bulk actions, pauses, cleans), who from
// which address, on what, and how many jobs it matched.

import {h, replace, num, timeEl, query} from './dom.js';
import {get, describeError, isMissingEndpoint} from './api.js';
import {coalesce} from './live.js';

const LIMITS = [50, 100, 500, 1000];

export function mount(ctx) {
  const {main, params, navigate} = ctx;
  const limit = LIMITS.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 100;
  ctx.setTitle('Audit log');
  const status = h('p', {class: 'subtitle'}, 'Operator actions, newest first.');
  const body = h('div', h('p', {class: 'muted'}, 'Loading…'));
  const sizes = h('select', {'aria-label': 'Entries shown'},
    LIMITS.map((n) => h('option', {value: n, selected: n === limit}, `newest ${n}`)));
  sizes.addEventListener('change', () => navigate(`/queues/audit${query({limit: sizes.value})}`));
  replace(main,
    h('div', {class: 'page-head'}, h('div', h('h1', 'Audit log'), status), h('div', {class: 'button-row'}, sizes)),
    body);
  let disposed = false;
  let missing = false;
  let firstLoad = true;

  async function load() {
    if (missing) return;
    try {
      const answer = await get(`/api/audit${query({limit})}`);
      if (disposed) return;
      const entries = answer.entries || [];
      if (entries.length === 0) {
        replace(body, h('p', {class: 'muted'}, 'No operator action yet.'));
        return;
      }
      replace(body, h('div', {class: 'table-wrap'}, h('table', {class: 'table'},
        h('thead', h('tr', ['When', 'Client', 'Action', 'Target', 'Matched', 'Detail']
          .map((t, i) => h('th', {scope: 'col', class: i === 4 ? 'num' : i === 1 ? 'wide-only' : null}, t)))),
        h('tbody', entries.map((e) => h('tr',
          h('td', timeEl(e.at)),
          h('td', {class: 'wide-only mono small'}, e.client || ''),
          h('td', h('span', {class: 'mono'}, e.action || '')),
          h('td', h('span', {class: 'mono small'}, e.target || '')),
          h('td', {class: 'num'}, e.matched === null || e.matched === undefined ? '' : num(e.matched)),
          h('td', {class: 'small'}, typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail ?? ''))))))));
    } catch (error) {
      if (disposed) return;
      if (isMissingEndpoint(error)) {
        missing = true;
        replace(body, h('p', {class: 'notice'}, 'This server keeps no audit log yet (GET /api/audit answered 404).'));
      } else {
        replace(body, h('p', {class: 'notice error'}, `Cannot load the audit log: ${describeError(error)}`));
      }
    } finally {
      if (firstLoad) {
        firstLoad = false;
        ctx.ready();
      }
    }
  }
  const reload = coalesce(load, 5000);
  function onLive(message) {
    if (message.type === 'queues' || message.type === 'jobs') reload();
  }
  load();
  return {onLive, dispose() { disposed = true; reload.cancel(); }};
}
