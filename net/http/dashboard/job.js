// Job: what it is (state, attempts, times), why it is not running (blockedBy), the attempt
// timeline (each attempt's start, duration, outcome, error and worker, the backoff wait and
// the next due time), its result or error, and its payload (collapsible; a large one cut,
// with "show all"). Retry, promote and delete.

import {h, s, replace, bytes, duration, clock, timeEl, queueHref, stateBadge, plural, toMs,
        userHref} from './dom.js';
import {get, post, del, toast, describeError} from './api.js';
import {confirmAction} from './confirm.js';
import {payloadView} from './payload.js';
import {coalesce} from './live.js';

const FINAL = new Set(['completed', 'failed']);

// The attempts of a job: the server's history, or what the job's own fields tell of the last.
function attemptsOf(job) {
  if (Array.isArray(job.history)) return {attempts: job.history, fromHistory: true};
  const attempts = [];
  if (job.processedOn) {
    const outcome = {active: 'running', completed: 'completed', failed: 'failed', delayed: 'retrying',
                     waiting: job.failedReason ? 'stalled' : 'retrying'}[job.state] || 'running';
    attempts.push({
      startedAt: job.processedOn,
      endedAt: job.state === 'active' ? null : (job.finishedOn || null),
      outcome,
      error: outcome === 'completed' ? '' : job.failedReason,
      worker: null,
      backoffMs: null,
      nextDueAt: job.state === 'delayed' ? job.delayUntil : null,
      number: job.attemptsMade,
    });
  }
  return {attempts, fromHistory: false};
}

function timelineSvg(job, attempts, width) {
  const now = Date.now();
  const start = toMs(job.timestamp) || (attempts[0] && attempts[0].startedAt) || now;
  let end = start;
  for (const a of attempts) {
    end = Math.max(end, a.startedAt || 0, a.endedAt || (a.outcome === 'running' ? now : 0), a.nextDueAt || 0);
  }
  if (job.delayUntil) end = Math.max(end, job.delayUntil);
  if (!FINAL.has(job.state)) end = Math.max(end, now);
  if (end - start < 1000) end = start + 1000;
  const height = 96;
  const left = 14;
  const right = 14;
  const lane = 34;
  const plotW = Math.max(200, width) - left - right;
  const x = (t) => left + ((t - start) / (end - start)) * plotW;
  const svg = s('svg', {class: 'timeline', width: Math.max(200, width), height, role: 'img',
                        'aria-label': 'Attempt timeline'});
  svg.append(s('line', {x1: left, x2: left + plotW, y1: lane, y2: lane, class: 'tl-axis'}));
  svg.append(s('circle', {cx: x(start), cy: lane, r: 5, class: 'tl-added'},
               s('title', `added ${clock(start, {millis: true})}`)));
  attempts.forEach((a, i) => {
    const n = a.number || i + 1;
    const from = a.startedAt;
    if (!from) return;
    const to = a.endedAt || (a.outcome === 'running' ? now : from);
    const x1 = x(from);
    const w = Math.max(4, x(to) - x1);
    const tip = `attempt ${n}: ${a.outcome}, ${clock(from, {millis: true})}` +
      (a.endedAt ? `, ran ${duration(a.endedAt - from)}` : '') + (a.error ? ` — ${a.error}` : '');
    svg.append(s('rect', {x: x1.toFixed(1), y: lane - 9, width: w.toFixed(1), height: 18, rx: 3,
                          class: `tl-attempt outcome-${a.outcome}`}, s('title', tip)));
    svg.append(s('text', {x: (x1 + w / 2).toFixed(1), y: lane - 14, class: 'tl-label', 'text-anchor': 'middle'}, `#${n}`));
    if (a.nextDueAt && a.endedAt) {
      const bx1 = x(a.endedAt);
      const bx2 = x(a.nextDueAt);
      svg.append(s('line', {x1: bx1, x2: bx2, y1: lane + 16, y2: lane + 16, class: 'tl-backoff'},
                   s('title', `backoff ${duration(a.nextDueAt - a.endedAt)}, due ${clock(a.nextDueAt, {millis: true})}`)));
      svg.append(s('circle', {cx: bx2, cy: lane + 16, r: 3, class: 'tl-due'}));
      if (bx2 - bx1 > 44) {
        svg.append(s('text', {x: ((bx1 + bx2) / 2).toFixed(1), y: lane + 30, class: 'tl-label', 'text-anchor': 'middle'},
                     `wait ${duration(a.nextDueAt - a.endedAt)}`));
      }
    }
  });
  // Delayed from the start (not a backoff): the wait until the due time.
  if (job.delayUntil && !attempts.some((a) => a.nextDueAt)) {
    const from = attempts.length ? (attempts[attempts.length - 1].endedAt || start) : start;
    svg.append(s('line', {x1: x(from), x2: x(job.delayUntil), y1: lane + 16, y2: lane + 16, class: 'tl-backoff'},
                 s('title', `delayed until ${clock(job.delayUntil, {millis: true})}`)));
    svg.append(s('circle', {cx: x(job.delayUntil), cy: lane + 16, r: 3, class: 'tl-due'}));
  }
  if (!FINAL.has(job.state)) {
    svg.append(s('line', {x1: x(now), x2: x(now), y1: 8, y2: lane + 24, class: 'tl-now'}, s('title', 'now')));
  }
  svg.append(s('text', {x: left, y: height - 6, class: 'tick'}, clock(start)));
  svg.append(s('text', {x: left + plotW, y: height - 6, class: 'tick', 'text-anchor': 'end'},
               `${clock(end)} (+${duration(end - start)})`));
  return svg;
}

function attemptList(attempts) {
  return h('ol', {class: 'attempts'}, attempts.map((a, i) => {
    const n = a.number || i + 1;
    return h('li', {class: ['attempt', `outcome-${a.outcome}`], dataset: {outcome: a.outcome}},
      h('div', {class: 'attempt-head'},
        h('strong', `Attempt ${n}`), ' ',
        h('span', {class: ['badge', `outcome-${a.outcome}`]}, a.outcome), ' ',
        h('span', {class: 'muted'}, 'started ', a.startedAt ? clock(a.startedAt, {millis: true}) : '—'),
        a.endedAt && a.startedAt ? h('span', {class: 'muted'}, ` · ran ${duration(a.endedAt - a.startedAt)}`) : null,
        a.worker ? h('span', {class: 'muted'}, ' · by ', h('span', {class: 'mono'}, a.worker)) : null),
      a.error ? h('pre', {class: 'error-box'}, a.error) : null,
      a.nextDueAt ? h('div', {class: 'muted small'},
        `backoff ${a.backoffMs !== null && a.backoffMs !== undefined ? duration(a.backoffMs) : duration(a.nextDueAt - (a.endedAt || a.nextDueAt))}`,
        ' → next attempt due ', clock(a.nextDueAt, {millis: true}), ' (', timeEl(a.nextDueAt), ')') : null);
  }));
}

function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

function blockedText(job) {
  const b = job.blockedBy;
  if (b) {
    const hints = {
      paused: 'Resume the queue to run it.',
      delayed: 'Promote it to run it now.',
      backoff: 'It runs again when the backoff ends; promote it to run it now.',
      concurrency: 'It runs when one of the queue\'s running jobs ends.',
      rate_limit: 'The queue\'s rate limit is used up; it runs when the window moves on.',
      no_worker: 'No worker takes jobs of this queue: start herald with workers, or a remote worker.',
    };
    return h('div', {class: 'notice why', role: 'note'},
      h('strong', 'Why isn\'t this running? '), capitalize(b.message || b.reason),
      b.until ? h('span', ' — due ', clock(b.until, {millis: true}), ' (', timeEl(b.until), ').') : '.',
      ' ', hints[b.reason] || '');
  }
  if (job.state === 'waiting') {
    return h('div', {class: 'notice why', role: 'note'}, h('strong', 'Waiting: '),
             'next in line for a free worker.');
  }
  if (job.state === 'active') {
    return h('div', {class: 'notice why', role: 'note'}, h('strong', 'Running: '),
             'attempt ', String(job.attemptsMade), ' started ', timeEl(job.processedOn), '.');
  }
  return null;
}

export function mount(ctx) {
  const {main, live, navigate} = ctx;
  const id = ctx.args.id;
  ctx.setTitle(`Job ${id}`);
  const crumbs = h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '/queues'}, 'Queues'));
  const head = h('div', {class: 'page-head'});
  const body = h('div', {class: 'job-body'});
  replace(main, crumbs, head, body);
  let job = null;
  let disposed = false;
  let payloadBox = null;
  let firstLoad = true;
  let timelineBox = null;
  let attemptsInfo = null;

  const actionButton = (label, cls, fn) => h('button', {type: 'button', class: cls, onclick: fn, dataset: {action: label.toLowerCase()}}, label);

  async function act(action) {
    try {
      if (action === 'delete') {
        const ok = await confirmAction({title: `Delete job ${id}?`, body: 'It goes for good.', confirmLabel: 'Delete', danger: true});
        if (!ok) return;
        await del(`/api/jobs/${encodeURIComponent(id)}`);
        toast(`Job ${id} deleted`, 'ok');
        live.refreshQueues();
        navigate(`${queueHref(job.queue)}?state=${job.state}`);
        return;
      }
      await post(`/api/jobs/${encodeURIComponent(id)}/${action}`);
      toast(`Job ${id} ${action === 'retry' ? 'retried' : 'promoted'}`, 'ok');
      live.refreshQueues();
      await load();
    } catch (error) {
      toast(`Could not ${action} ${id}: ${describeError(error)}`, 'error');
    }
  }

  function renderHead() {
    replace(crumbs, h('a', {href: '/queues'}, 'Queues'), ' / ',
            h('a', {href: queueHref(job.queue)}, job.queue), ' / ',
            h('a', {href: `${queueHref(job.queue)}?state=${job.state}`}, job.state), ' / ',
            h('span', {class: 'mono'}, id));
    const actions = h('div', {class: 'button-row'});
    if (job.state === 'failed') actions.append(actionButton('Retry', 'primary', () => act('retry')));
    if (job.state === 'delayed') actions.append(actionButton('Promote', 'primary', () => act('promote')));
    if (job.state !== 'active') actions.append(actionButton('Delete', 'danger-outline', () => act('delete')));
    replace(head,
      h('div',
        h('h1', {class: 'mono job-title'}, id, ' ', stateBadge(job.state)),
        h('p', {class: 'subtitle'}, (job.eventType ?? job.name) ? h('span', {class: 'mono'}, job.eventType ?? job.name) : 'no event type',
          job.name && job.eventType !== undefined && job.name !== job.eventType ? [' as ', h('span', {class: 'mono'}, job.name)] : null,
          ' in ', h('a', {href: queueHref(job.queue)}, job.queue))),
      actions);
  }

  function facts() {
    const userId = job.data && typeof job.data === 'object' && job.data.data && job.data.data.userId;
    const rows = [
      ['State', stateBadge(job.state)],
      ['Attempts', `${job.attemptsMade} of ${job.maxAttempts}`],
      ['Backoff', job.backoff ? `${job.backoff.type} ${duration(job.backoff.delay)}` : '—'],
      ['Priority', String(job.priority)],
      ['Added', timeEl(job.timestamp)],
      ['Started', timeEl(job.processedOn)],
      ['Finished', timeEl(job.finishedOn)],
      job.delayUntil ? ['Due', timeEl(job.delayUntil)] : null,
      ['Payload', bytes(job.payloadBytes)],
      userId ? ['User', h('a', {href: userHref(userId)}, userId)] : null,
    ].filter(Boolean);
    return h('dl', {class: 'facts grid'}, rows.map(([k, v]) => h('div', h('dt', k), h('dd', v))));
  }

  function drawTimeline() {
    if (!timelineBox || !attemptsInfo) return;
    const width = timelineBox.clientWidth || 800;
    replace(timelineBox, timelineSvg(job, attemptsInfo.attempts, width));
  }

  function renderBody() {
    attemptsInfo = attemptsOf(job);
    const {attempts, fromHistory} = attemptsInfo;
    timelineBox = h('div', {class: 'timeline-box'});
    const resultSection = job.state === 'completed'
      ? h('section', {class: 'panel'}, h('h2', 'Result'),
          job.returnValue ? h('pre', {class: 'code'}, typeof job.returnValue === 'string' ? job.returnValue
            : JSON.stringify(job.returnValue, null, 2)) : h('p', {class: 'muted'}, 'No result value.'))
      : null;
    const errorSection = job.failedReason && job.state !== 'completed'
      ? h('section', {class: 'panel'}, h('h2', job.state === 'failed' ? 'Error' : 'Last error'),
          h('pre', {class: 'error-box', 'data-error': '1'}, job.failedReason))
      : null;
    // The payload keeps its state (open nodes, "show all") across live refreshes.
    if (!payloadBox) {
      payloadBox = payloadView({
        data: job.data, truncated: job.truncated, payloadBytes: job.payloadBytes,
        loadFull: async () => get(`/api/jobs/${encodeURIComponent(id)}?full=1`),
      });
    }
    replace(body,
      blockedText(job),
      h('div', {class: 'columns job-columns'},
        h('section', {class: 'panel'}, h('h2', 'Details'), facts()),
        h('section', {class: 'panel timeline-panel'},
          h('h2', 'Timeline'),
          timelineBox,
          attempts.length === 0 ? h('p', {class: 'muted'}, 'No attempt yet.') : null,
          fromHistory || attempts.length === 0 ? null : h('p', {class: 'muted small'},
            'This server sends no attempt history (GET /api/jobs/{id} has no history); the last attempt is shown.'),
          attempts.length ? attemptList(attempts) : null,
          !fromHistory && job.state === 'completed' && job.failedReason
            ? h('p', {class: 'muted small'}, 'An earlier attempt failed: ', h('span', {class: 'error-text'}, job.failedReason)) : null,
          job.attemptsMade > attempts.length && fromHistory
            ? h('p', {class: 'muted small'}, `${plural(job.attemptsMade - attempts.length, 'earlier attempt')} not recorded.`) : null)),
      errorSection,
      resultSection,
      h('section', {class: 'panel'}, h('h2', 'Payload'), payloadBox));
    requestAnimationFrame(drawTimeline);
  }

  async function load() {
    try {
      job = await get(`/api/jobs/${encodeURIComponent(id)}`);
      if (disposed) return;
      renderHead();
      renderBody();
    } catch (error) {
      if (disposed) return;
      replace(head, h('div', h('h1', {class: 'mono'}, id)));
      replace(body, h('p', {class: 'notice error'}, error.status === 404
        ? `There is no job “${id}” (it may have been deleted, or cleaned after it finished).`
        : `Cannot load the job: ${describeError(error)}`));
    } finally {
      if (firstLoad) {
        firstLoad = false;
        ctx.ready();
      }
    }
  }

  const liveLoad = coalesce(async () => {
    if (document.querySelector('dialog[open]')) return;
    await load();
  }, 1000);

  let lastCounts = '';
  function onLive(message) {
    if (!job) return;
    if (message.type === 'jobs') {
      if (message.events.some((e) => e.id === id)) liveLoad();
    } else if ((message.type === 'queues' || message.type === 'counts') && live.mode !== 'stream') {
      // Without the stream, a change in the job's queue may be this job.
      const q = message.queues.find((x) => x.name === job.queue);
      const key = q ? JSON.stringify(q.counts) : '';
      if (key !== lastCounts) {
        if (lastCounts) liveLoad();
        lastCounts = key;
      } else if (!FINAL.has(job.state)) {
        liveLoad();
      }
    }
  }

  const onResize = () => drawTimeline();
  window.addEventListener('resize', onResize);
  load();
  return {
    onLive,
    dispose() {
      disposed = true;
      liveLoad.cancel();
      window.removeEventListener('resize', onResize);
    },
  };
}
