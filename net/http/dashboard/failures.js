// Failures: the failed jobs of each queue grouped by error fingerprint and event type, with
// counts and when they were first and last seen; retry or delete a group (a bulk action
// after a dry-run count). Without the failures API the page groups the failed jobs it can
// read itself (the oldest 1000 of each queue) and says so.

import {h, replace, num, timeEl, queueHref, query, plural} from './dom.js';
import {get, describeError, isMissingEndpoint} from './api.js';
import {bulkAction} from './queue.js';
import {coalesce} from './live.js';

const FALLBACK_SCAN = 1000;

// An error with its numbers, ids and hex taken out, so that "timeout after 3012 ms" and
// "timeout after 2987 ms" are one group.
function normalize(message) {
  return (message || '').replace(/[0-9a-f]{8,}/gi, '#').replace(/\d+(\.\d+)?/g, '#').slice(0, 300);
}

async function groupsOf(queue) {
  try {
    const answer = await get(`/api/queues/${encodeURIComponent(queue)}/failures`);
    return {groups: answer.groups || [], fallback: false, ungrouped: answer.ungrouped || 0};
  } catch (error) {
    if (!isMissingEndpoint(error)) throw error;
  }
  const answer = await get(`/api/queues/${encodeURIComponent(queue)}/jobs${query({state: 'failed', limit: FALLBACK_SCAN})}`);
  const map = new Map();
  for (const job of answer.jobs || []) {
    const eventType = job.eventType ?? job.name;
    const key = `${eventType}\u0000${normalize(job.failedReason)}`;
    let group = map.get(key);
    if (!group) {
      group = {fingerprint: null, eventType, error: job.failedReason, count: 0,
               firstSeen: job.finishedOn, lastSeen: job.finishedOn};
      map.set(key, group);
    }
    group.count++;
    group.firstSeen = Math.min(group.firstSeen || Infinity, job.finishedOn || Infinity);
    group.lastSeen = Math.max(group.lastSeen || 0, job.finishedOn || 0);
  }
  const groups = [...map.values()].sort((a, b) => b.count - a.count);
  return {groups, fallback: true, seen: (answer.jobs || []).length, total: answer.counts ? answer.counts.failed : null};
}

export function mount(ctx) {
  const {main, live, params} = ctx;
  const only = params.get('queue') || '';
  ctx.setTitle(only ? `Failures of ${only}` : 'Failures');
  const sections = h('div', {class: 'failure-sections'}, h('p', {class: 'muted'}, 'Loading…'));
  const picker = h('nav', {class: 'tabs', 'aria-label': 'Queue'});
  replace(main,
    h('div', {class: 'page-head'},
      h('div', h('h1', 'Failures'),
        h('p', {class: 'subtitle'}, 'Failed jobs grouped by error and event type.'))),
    picker, sections);
  let disposed = false;
  let loadedFor = '';

  function renderPicker(names) {
    replace(picker,
      h('a', {href: '/queues/failures', class: 'tab', 'aria-current': only ? null : 'page'}, 'All queues'),
      names.map((n) => h('a', {href: `/queues/failures${query({queue: n})}`, class: 'tab',
                                'aria-current': n === only ? 'page' : null}, n)));
  }

  function groupTable(queue, result) {
    const {groups} = result;
    if (groups.length === 0) return h('p', {class: 'muted'}, 'No failed jobs.');
    const rows = groups.map((g) => {
      const filter = g.fingerprint ? {state: 'failed', fingerprint: g.fingerprint}
        : {state: 'failed', ...(g.eventType ? {type: g.eventType} : {}), ...(g.error ? {q: g.error} : {})};
      const jobsHref = `${queueHref(queue)}${query(g.fingerprint
        ? {state: 'failed', type: g.eventType || '', fingerprint: g.fingerprint}
        : {state: 'failed', type: g.eventType || '', q: g.error || ''})}`;
      return h('tr', {dataset: {fingerprint: g.fingerprint || ''}},
        h('td', {class: 'num'}, h('strong', num(g.count))),
        h('td', g.eventType ? h('span', {class: 'mono small'}, g.eventType) : h('span', {class: 'muted'}, '—')),
        h('td', h('span', {class: 'error-text'}, g.pattern || g.error || '(no message)'),
          g.pattern && g.error && g.pattern !== g.error ? h('div', {class: 'muted small sample'}, 'e.g. ', g.error) : null),
        h('td', {class: 'wide-only'}, timeEl(g.firstSeen)),
        h('td', timeEl(g.lastSeen)),
        h('td', {class: 'row-actions'},
          h('a', {href: jobsHref, class: 'button small'}, 'Jobs'),
          h('button', {type: 'button', class: 'small', dataset: {action: 'retry-group'},
                       onclick: async () => { if (await bulkAction({queue, action: 'retry', filter, live})) load(); }},
            'Retry…'),
          h('button', {type: 'button', class: 'small danger-outline', dataset: {action: 'delete-group'},
                       onclick: async () => { if (await bulkAction({queue, action: 'delete', filter, live})) load(); }},
            'Delete…')));
    });
    return h('div', {class: 'table-wrap'}, h('table', {class: 'table'},
      h('thead', h('tr', ['Count', 'Event type', 'Error', 'First seen', 'Last seen', ''].map((t, i) =>
        h('th', {scope: 'col', class: i === 3 ? 'wide-only' : i === 0 ? 'num' : null}, t)))),
      h('tbody', rows)));
  }

  async function load() {
    const names = only ? [only] : (live.queues || []).map((q) => q.name);
    if (names.length === 0) return;
    loadedFor = names.join(',');
    const results = await Promise.all(names.map(async (name) => {
      try {
        return {name, result: await groupsOf(name)};
      } catch (error) {
        return {name, error};
      }
    }));
    if (disposed) return;
    replace(sections, results.map(({name, result, error}) => h('section', {class: 'panel', dataset: {queue: name}},
      h('h2', h('a', {href: `${queueHref(name)}?state=failed`}, name), ' ',
        result ? h('span', {class: 'muted small'}, plural(result.groups.reduce((n, g) => n + g.count, 0), 'failed job')) : null),
      error ? h('p', {class: 'notice error'}, error.status === 404 ? `There is no queue named “${name}”.` : describeError(error))
        : [result.fallback ? h('p', {class: 'notice'},
            `This server has no failures API (GET /api/queues/{q}/failures answered 404): grouped here from ` +
            `${plural(result.seen, 'failed job')}${result.total > result.seen ? ` of ${num(result.total)}` : ''}.`) : null,
           result.ungrouped ? h('p', {class: 'muted small'}, `${plural(result.ungrouped, 'failed job')} beyond the groups shown.`) : null,
           groupTable(name, result)])));
    ctx.ready();
  }

  // Loaded again when the failed counts change, at most every few seconds.
  const reload = coalesce(load, 3000);
  let lastKey = '';
  function onLive(message) {
    if (message.type !== 'queues') return;
    renderPicker(message.queues.map((q) => q.name));
    const names = only ? only : message.queues.map((q) => q.name).join(',');
    const key = message.queues.filter((q) => !only || q.name === only)
      .map((q) => `${q.name}:${q.counts ? q.counts.failed : ''}`).join(',');
    if (names !== loadedFor) {
      lastKey = key;
      load();
    } else if (key !== lastKey) {
      const seen = lastKey !== '';
      lastKey = key;
      if (seen) reload();
    }
  }

  if (only) load();
  return {onLive, dispose() { disposed = true; reload.cancel(); }};
}
