// Charts: completed and failed jobs per minute, the time from add to start (p50, p99) and
// how late delayed jobs start (p99), over the last hour or day, from GET /api/stats/history;
// kept live from the event stream (completions and failures counted into the current minute)
// and fetched again every minute.

import {h, replace, num, query, duration} from './dom.js';
import {get, describeError, isMissingEndpoint} from './api.js';
import {timeChart, msFormat} from './svg_chart.js';
import {coalesce} from './live.js';

const RANGES = {hour: {minutes: 60, bucketMs: 60e3, label: 'last hour', per: 'per minute'},
                day: {minutes: 1440, bucketMs: 10 * 60e3, label: 'last day', per: 'per 10 minutes'}};

export function mount(ctx) {
  const {main, live, params} = ctx;
  const rangeName = RANGES[params.get('range')] ? params.get('range') : 'hour';
  const range = RANGES[rangeName];
  const only = params.get('queue') || '';
  ctx.setTitle('Charts');
  const rangeTabs = h('nav', {class: 'tabs', 'aria-label': 'Time range'},
    Object.entries(RANGES).map(([key, r]) => h('a', {href: `/queues/charts${query({range: key === 'hour' ? '' : key, queue: only})}`,
      class: 'tab', 'aria-current': key === rangeName ? 'page' : null}, r.label)));
  const queueTabs = h('nav', {class: 'tabs', 'aria-label': 'Queue'});
  const body = h('div', {class: 'charts'}, h('p', {class: 'muted'}, 'Loading…'));
  replace(main,
    h('div', {class: 'page-head'}, h('div', h('h1', 'Charts'),
      h('p', {class: 'subtitle'}, `Throughput and latency, ${range.label}${only ? `, queue ${only}` : ', all queues'}.`))),
    h('div', {class: 'tab-rows'}, rangeTabs, queueTabs),
    body);

  let rows = null;          // the history's rows for the chosen queue(s)
  let extra = new Map();    // bucket start -> {completed, failed} counted from the stream since the fetch
  let disposed = false;
  let missing = false;
  let firstLoad = true;
  let lastFetch = 0;

  function renderQueueTabs(names) {
    replace(queueTabs,
      h('a', {href: `/queues/charts${query({range: rangeName === 'hour' ? '' : rangeName})}`, class: 'tab',
              'aria-current': only ? null : 'page'}, 'All queues'),
      names.map((n) => h('a', {href: `/queues/charts${query({range: rangeName === 'hour' ? '' : rangeName, queue: n})}`,
                               class: 'tab', 'aria-current': n === only ? 'page' : null}, n)));
  }

  function bucketOf(ms) {
    return Math.floor(ms / range.bucketMs) * range.bucketMs;
  }

  function draw() {
    if (!rows) return;
    const end = bucketOf(Date.now()) + range.bucketMs;
    const start = end - range.minutes * 60e3;
    const completed = new Map();
    const failed = new Map();
    const added = new Map();
    const p50 = new Map();
    const p99 = new Map();
    const late = new Map();
    const maxInto = (map, t, v) => {
      if (v === null || v === undefined) return;
      map.set(t, Math.max(map.get(t) ?? 0, v));
    };
    let total = {added: 0, completed: 0, failed: 0};
    for (const row of rows) {
      if (row.minute < start) continue;
      const t = bucketOf(row.minute);
      completed.set(t, (completed.get(t) || 0) + (row.completed || 0));
      failed.set(t, (failed.get(t) || 0) + (row.failed || 0));
      added.set(t, (added.get(t) || 0) + (row.added || 0));
      total.added += row.added || 0;
      total.completed += row.completed || 0;
      total.failed += row.failed || 0;
      if (row.completed || row.failed || row.added) {
        maxInto(p50, t, row.waitP50Ms);
        maxInto(p99, t, row.waitP99Ms);
      }
      if (row.latenessP99Ms) maxInto(late, t, row.latenessP99Ms);
    }
    for (const [t, x] of extra) {
      if (t < start) continue;
      completed.set(t, (completed.get(t) || 0) + x.completed);
      failed.set(t, (failed.get(t) || 0) + x.failed);
      total.completed += x.completed;
      total.failed += x.failed;
    }
    const width = Math.min(body.clientWidth || 900, 1240) - 34;
    const worstP99 = Math.max(0, ...p99.values());
    const worstLate = Math.max(0, ...late.values());
    const several = !only;
    replace(body,
      h('section', {class: 'panel'},
        h('h2', `Completed and failed ${range.per}`),
        h('p', {class: 'muted small'}, `${num(total.completed)} completed · ${num(total.failed)} failed · ${num(total.added)} added, ${range.label}`),
        legend([['completed', 'completed'], ['failed', 'failed']]),
        timeChart({width, start, end, bucketMs: range.bucketMs, label: `completed and failed ${range.per}`,
                   bars: [{name: 'completed', cls: 'completed', values: completed}, {name: 'failed', cls: 'failed', values: failed}]})),
      h('section', {class: 'panel'},
        h('h2', 'Wait from add to start'),
        h('p', {class: 'muted small'}, `p99 at worst ${duration(worstP99)}${several ? ' (the highest of the queues in each minute)' : ''}`),
        legend([['p50', 'p50'], ['p99', 'p99']]),
        timeChart({width, start, end, bucketMs: range.bucketMs, format: msFormat, label: 'wait from add to start, p50 and p99',
                   lines: [{name: 'p50', cls: 'p50', values: p50}, {name: 'p99', cls: 'p99', values: p99}]})),
      h('section', {class: 'panel'},
        h('h2', 'Delayed jobs: how late they start'),
        h('p', {class: 'muted small'}, worstLate ? `p99 at worst ${duration(worstLate)}` : 'No delayed job started in this range.'),
        legend([['p99', 'lateness p99']]),
        timeChart({width, start, end, bucketMs: range.bucketMs, format: msFormat, label: 'lateness of delayed jobs, p99',
                   lines: [{name: 'lateness p99', cls: 'p99', values: late}]})));
  }

  function legend(items) {
    return h('ul', {class: 'legend'}, items.map(([cls, label]) => h('li', h('span', {class: ['swatch', cls]}), label)));
  }

  async function load() {
    if (missing || disposed) return;
    try {
      const answer = await get(`/api/stats/history${query({minutes: range.minutes})}`);
      if (disposed) return;
      rows = (answer.minutes || []).filter((r) => !only || r.queue === only);
      extra = new Map();
      lastFetch = Date.now();
      draw();
    } catch (error) {
      if (disposed) return;
      if (isMissingEndpoint(error)) {
        missing = true;
        replace(body, h('p', {class: 'notice'},
          'This server keeps no history for charts yet (GET /api/stats/history answered 404). ',
          'The overview shows the last minute of each queue.'));
      } else {
        replace(body, h('p', {class: 'notice error'}, `Cannot load the history: ${describeError(error)}`));
      }
    } finally {
      if (firstLoad) {
        firstLoad = false;
        ctx.ready();
      }
    }
  }

  const reload = coalesce(load, 15000);
  const redraw = coalesce(async () => draw(), 1000);
  let names = '';
  function onLive(message) {
    if (message.type === 'queues') {
      const list = message.queues.map((q) => q.name);
      if (list.join(',') !== names) {
        names = list.join(',');
        renderQueueTabs(list);
      }
      // A minute later than the last fetch: fetch again (with the stream: every minute).
      if (Date.now() - lastFetch > (live.mode === 'stream' ? 60e3 : 15e3)) reload();
    } else if (message.type === 'jobs' && rows) {
      for (const e of message.events) {
        if (only && e.queue !== only) continue;
        if (e.type !== 'completed' && e.type !== 'failed') continue;
        const t = bucketOf(e.at || Date.now());
        const x = extra.get(t) || {completed: 0, failed: 0};
        x[e.type]++;
        extra.set(t, x);
      }
      redraw();
    }
  }
  const onResize = () => redraw();
  window.addEventListener('resize', onResize);
  load();
  return {
    onLive,
    dispose() {
      disposed = true;
      reload.cancel();
      redraw.cancel();
      window.removeEventListener('resize', onResize);
    },
  };
}
