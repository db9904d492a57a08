// Overview: every queue with its counts per state, paused or not, a throughput sparkline,
// the last minute and the age of the oldest waiting job; pause and resume; what happened
// lately; and test events to send (the product brief's mock endpoints).

import {h, replace, num, duration, STATES, queueHref, jobHref, timeEl, plural} from './dom.js';
import {get, post, toast, describeError, isMissingEndpoint} from './api.js';
import {sparkline} from './svg_chart.js';
import {coalesce} from './live.js';

const MOCK_EVENTS = ['booking-created', 'booking-confirmed', 'booking-cancelled', 'booking-reminder',
                     'payment-received', 'payment-failed'];
const FEED_MAX = 40;
const SAMPLES_MAX = 60;

export function policyText(policy) {
  if (!policy) return '';
  const parts = [plural(policy.attempts, 'attempt')];
  if (policy.backoff) parts.push(`${policy.backoff.type} backoff ${duration(policy.backoff.delay)}`);
  if (policy.concurrency) parts.push(`concurrency ${policy.concurrency}`);
  if (policy.rateLimit) parts.push(`at most ${num(policy.rateLimit.max)} per ${duration(policy.rateLimit.durationMs)}`);
  if (policy.timeoutMs) parts.push(`timeout ${duration(policy.timeoutMs)}`);
  // Retention: "keeps 500 completed", "keeps failed for 1 d", "keeps 100 failed for 2 h".
  for (const state of ['completed', 'failed']) {
    const rule = policy.retention && policy.retention[state];
    if (!rule || (!rule.count && !rule.ageMs)) continue;
    parts.push(`keeps ${rule.count ? `${num(rule.count)} ` : ''}${state}` +
               `${rule.ageMs ? ` for ${duration(rule.ageMs)}` : ''}`);
  }
  return parts.join(' · ');
}

// Pause or resume `queue`, then refresh the live counts.
export async function togglePause(live, name, paused, button) {
  if (button) button.disabled = true;
  try {
    await post(`/api/queues/${encodeURIComponent(name)}/${paused ? 'resume' : 'pause'}`);
    toast(`${name} ${paused ? 'resumed' : 'paused'}`, 'ok');
  } catch (error) {
    toast(`Could not ${paused ? 'resume' : 'pause'} ${name}: ${describeError(error)}`, 'error');
  } finally {
    if (button) button.disabled = false;
    await live.refreshQueues();
  }
}

export function mount(ctx) {
  ctx.setTitle('Queues');
  const {main, live} = ctx;
  const summary = h('p', {class: 'subtitle'}, 'Loading…');
  const grid = h('div', {class: 'cards', 'aria-live': 'off'});
  const feed = h('ol', {class: 'feed', 'aria-label': 'Recent activity'});
  const feedNote = h('p', {class: 'muted small'});
  const cards = new Map();   // queue name -> {root, update}
  const samples = new Map(); // queue name -> [{completed, failed}] when there is no history API
  let history = null;        // Map name -> {completed: [..60], failed: [..60]} from the API
  let historyMissing = false;
  let previous = null;       // the last queues seen, for the feed without a stream
  let disposed = false;
  let first = true;

  const mockButtons = MOCK_EVENTS.map((name) => h('button', {type: 'button', class: 'small',
    onclick: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        const answer = await post(`/mock-events/${name}`, {});
        toast(h('span', `${answer.eventType} queued to ${answer.queue}: `,
                h('a', {href: jobHref(answer.eventId)}, answer.eventId)), 'ok');
        live.refreshQueues();
      } catch (error) {
        toast(isMissingEndpoint(error) || error.status === 404
          ? 'Test events are off: start herald with --mock-events'
          : describeError(error), 'error');
      } finally {
        button.disabled = false;
      }
    }}, name.replace('-', '.')));

  replace(main,
    h('div', {class: 'page-head'},
      h('div', h('h1', 'Queues'), summary)),
    grid,
    h('div', {class: 'columns'},
      h('section', {class: 'panel', 'aria-labelledby': 'feed-title'},
        h('h2', {id: 'feed-title'}, 'Recent activity'), feedNote, feed),
      h('section', {class: 'panel', 'aria-labelledby': 'mock-title'},
        h('h2', {id: 'mock-title'}, 'Send a test event'),
        h('p', {class: 'muted small'}, 'POST /mock-events/… with realistic data for user_1001 ',
          '(needs herald --mock-events).'),
        h('div', {class: 'button-row'}, mockButtons))));

  function addFeed(items) {
    for (const item of items) {
      const li = h('li', {class: ['feed-item', `feed-${item.kind}`], dataset: {queue: item.queue, kind: item.kind}},
        timeEl(item.at), ' ',
        h('a', {href: queueHref(item.queue), class: 'feed-queue'}, item.queue), ' ',
        h('span', {class: ['badge', `state-${badgeState(item.kind)}`]}, item.kind), ' ',
        item.id ? h('a', {href: jobHref(item.id), class: 'mono'}, item.id) : h('span', item.text || ''));
      feed.prepend(li);
    }
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    if (feed.children.length) feedNote.textContent = '';
  }

  function badgeState(kind) {
    return {added: 'waiting', active: 'active', completed: 'completed', failed: 'failed',
            retrying: 'delayed', stalled: 'delayed', promoted: 'waiting', removed: 'removed',
            retried: 'waiting'}[kind] || 'waiting';
  }

  function makeCard(q) {
    const title = h('a', {href: queueHref(q.name), class: 'card-title'}, q.name);
    const pausedBadge = h('span', {class: 'badge state-paused', hidden: true}, 'paused');
    const pauseButton = h('button', {type: 'button', class: 'small', 'data-action': 'pause'});
    const countsEl = h('ul', {class: 'counts'});
    const countEls = {};
    for (const state of STATES) {
      const value = h('span', {class: 'count-value', dataset: {state}}, '0');
      countEls[state] = value;
      countsEl.append(h('li', h('a', {href: `${queueHref(q.name)}?state=${state}`, class: ['count', `state-${state}`],
                                      'aria-label': `${state} jobs of ${q.name}`},
        value, h('span', {class: 'count-label'}, state))));
    }
    const spark = h('div', {class: 'spark'});
    const sparkLabel = h('span', {class: 'muted small'});
    const minute = h('span');
    const oldest = h('span');
    const policy = h('p', {class: 'muted small policy'});
    const root = h('article', {class: 'card', dataset: {queue: q.name}, 'aria-label': `queue ${q.name}`},
      h('div', {class: 'card-head'}, h('h2', title), pausedBadge, h('span', {class: 'grow'}), pauseButton),
      countsEl,
      h('div', {class: 'card-spark'}, spark, sparkLabel),
      h('dl', {class: 'facts'},
        h('div', h('dt', 'Last minute'), h('dd', minute)),
        h('div', h('dt', 'Oldest waiting'), h('dd', oldest))),
      policy);
    let paused = false;
    pauseButton.addEventListener('click', () => togglePause(live, q.name, paused, pauseButton));
    const update = (queue) => {
      paused = !!queue.paused;
      root.classList.toggle('is-paused', paused);
      pausedBadge.hidden = !paused;
      pauseButton.textContent = paused ? 'Resume' : 'Pause';
      pauseButton.setAttribute('aria-label', `${paused ? 'Resume' : 'Pause'} ${queue.name}`);
      for (const state of STATES) {
        const n = queue.counts ? queue.counts[state] : 0;
        countEls[state].textContent = num(n);
        countEls[state].parentElement.classList.toggle('zero', !n);
      }
      if (queue.lastMinute) {
        const m = queue.lastMinute;
        minute.textContent = `${num(m.added)} added · ${num(m.completed)} done · ${num(m.failed)} failed`;
      }
      if (queue.oldestWaitingAgeMs !== undefined) {
        oldest.textContent = queue.oldestWaitingAgeMs === null ? '—' : duration(queue.oldestWaitingAgeMs);
        oldest.classList.toggle('warn', queue.oldestWaitingAgeMs > 60000);
      }
      if (queue.policy) policy.textContent = policyText(queue.policy);
    };
    const drawSpark = () => {
      let completed;
      let failed;
      let label;
      if (history && history.has(q.name)) {
        ({completed, failed} = history.get(q.name));
        label = 'done / failed per minute, last hour';
      } else {
        const list = samples.get(q.name) || [];
        completed = list.map((x) => x.completed);
        failed = list.map((x) => x.failed);
        label = historyMissing ? 'last minute, since this page opened' : '';
      }
      replace(spark, sparkline([{values: completed, cls: 'completed'}, {values: failed, cls: 'failed'}],
                               {label: `${q.name}: ${label}`}));
      sparkLabel.textContent = label;
    };
    return {root, update, drawSpark};
  }

  function showQueues(queues) {
    let waiting = 0;
    let failed = 0;
    for (const q of queues) {
      let card = cards.get(q.name);
      if (!card) {
        card = makeCard(q);
        cards.set(q.name, card);
        grid.append(card.root);
      }
      card.update(q);
      waiting += q.counts ? q.counts.waiting : 0;
      failed += q.counts ? q.counts.failed : 0;
    }
    summary.textContent = `${plural(queues.length, 'queue')} · ${num(waiting)} waiting · ${num(failed)} failed`;
  }

  function sample(queues) {
    for (const q of queues) {
      if (!q.lastMinute) continue;
      const list = samples.get(q.name) || [];
      list.push({completed: q.lastMinute.completed, failed: q.lastMinute.failed});
      if (list.length > SAMPLES_MAX) list.shift();
      samples.set(q.name, list);
    }
  }

  // Without the stream, the feed says what changed between two polls.
  function diffFeed(queues) {
    if (live.mode === 'stream') return;
    if (previous) {
      const items = [];
      const now = Date.now();
      for (const q of queues) {
        const before = previous.find((p) => p.name === q.name);
        if (!before || !before.counts || !q.counts) continue;
        const added = q.lastMinute && before.lastMinute ? q.lastMinute.added - before.lastMinute.added : 0;
        if (added > 0) items.push({queue: q.name, kind: 'added', text: plural(added, 'job'), at: now});
        for (const kind of ['completed', 'failed']) {
          const delta = q.counts[kind] - before.counts[kind];
          if (delta > 0) items.push({queue: q.name, kind, text: plural(delta, 'job'), at: now});
        }
        if (q.paused !== before.paused) {
          items.push({queue: q.name, kind: q.paused ? 'paused' : 'resumed', text: '', at: now});
        }
      }
      addFeed(items);
    }
    previous = queues.map((q) => ({name: q.name, paused: q.paused, counts: {...q.counts},
                                   lastMinute: q.lastMinute ? {...q.lastMinute} : null}));
  }

  const loadHistory = coalesce(async () => {
    if (historyMissing || disposed) return;
    try {
      const answer = await get('/api/stats/history?minutes=60');
      const now = Date.now();
      const start = Math.floor(now / 60000) * 60000 - 59 * 60000;
      const map = new Map();
      for (const row of answer.minutes || []) {
        const i = Math.round((row.minute - start) / 60000);
        if (i < 0 || i >= 60) continue;
        if (!map.has(row.queue)) map.set(row.queue, {completed: new Array(60).fill(0), failed: new Array(60).fill(0)});
        const series = map.get(row.queue);
        series.completed[i] += row.completed || 0;
        series.failed[i] += row.failed || 0;
      }
      for (const name of cards.keys()) {
        if (!map.has(name)) map.set(name, {completed: new Array(60).fill(0), failed: new Array(60).fill(0)});
      }
      history = map;
    } catch (error) {
      if (isMissingEndpoint(error)) historyMissing = true;
    }
    for (const card of cards.values()) card.drawSpark();
  }, 30000);

  function onLive(message) {
    if (disposed) return;
    if (message.type === 'queues') {
      showQueues(message.queues);
      sample(message.queues);
      diffFeed(message.queues);
      if (first) {
        first = false;
        feedNote.textContent = live.mode === 'stream' ? 'Waiting for jobs…'
          : 'Changes seen by polling; each job appears here when the server has the event stream.';
        ctx.ready();
      }
      loadHistory();
      if (historyMissing) for (const card of cards.values()) card.drawSpark();
    } else if (message.type === 'counts') {
      const byName = new Map((live.queues || []).map((q) => [q.name, q]));
      for (const update of message.queues) {
        const card = cards.get(update.name);
        const full = byName.get(update.name);
        if (card) card.update({...full, ...update});
      }
    } else if (message.type === 'jobs') {
      addFeed(message.events.map((e) => ({queue: e.queue, kind: e.type, id: e.id, at: e.at || Date.now()})));
    } else if (message.type === 'error' && first) {
      summary.textContent = `Cannot load the queues: ${describeError(message.error)}`;
    }
  }

  return {
    onLive,
    dispose() {
      disposed = true;
      loadHistory.cancel();
    },
  };
}
