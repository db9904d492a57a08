// Queue: its jobs by state, a page at a time (cursor paging, so 10^5 failed jobs cost one
// page); filters on the text of payload and error, the event type and a time range, all in
// the URL; actions on the jobs selected, or on every job the filter matches after a
// confirmation that shows the dry-run count; cleaning completed or failed jobs.

import {h, replace, num, duration, STATES, queueHref, jobHref, timeEl, preview, query, plural,
        stateBadge} from './dom.js';
import {get, post, del, toast, describeError, isMissingEndpoint} from './api.js';
import {confirmAction} from './confirm.js';
import {coalesce} from './live.js';
import {policyText, togglePause} from './overview.js';

const LIMITS = [25, 50, 100, 200, 500];
const KNOWN_TYPES = ['booking.created', 'booking.confirmed', 'booking.cancelled', 'booking.reminder',
                     'payment.received', 'payment.failed'];

// What can be done to jobs in each state: [action, label, danger].
const ACTIONS = {
  waiting: [['delete', 'Delete', true]],
  active: [],
  delayed: [['promote', 'Promote', false], ['delete', 'Delete', true]],
  completed: [['delete', 'Delete', true]],
  failed: [['retry', 'Retry', false], ['delete', 'Delete', true]],
};
const PAST = {retry: 'retried', promote: 'promoted', delete: 'deleted'};

// datetime-local text <-> ms.
function localInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(text) {
  if (!text) return '';
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? '' : String(ms);
}

export function describeFilter(filter) {
  const parts = [];
  if (filter.q) parts.push(`text “${filter.q}”`);
  if (filter.type) parts.push(`type ${filter.type}`);
  if (filter.since) parts.push(`since ${new Date(Number(filter.since)).toLocaleString()}`);
  if (filter.until) parts.push(`until ${new Date(Number(filter.until)).toLocaleString()}`);
  if (filter.fingerprint) parts.push('this error group');
  return parts.length ? parts.join(', ') : 'no filter';
}

// POST /api/queues/{q}/bulk after a dry-run confirmation. Resolves true when done.
export async function bulkAction({queue, action, filter, live}) {
  const body = (dryRun) => ({action, filter, dry_run: dryRun});
  const path = `/api/queues/${encodeURIComponent(queue)}/bulk`;
  const state = filter.state;
  const ok = await confirmAction({
    title: `${action[0].toUpperCase()}${action.slice(1)} every ${state} job of ${queue} that matches?`,
    body: h('p', Object.keys(filter).some((k) => k !== 'state')
      ? `Filter: ${describeFilter(filter)}.` : `No filter: every ${state} job of ${queue}.`),
    count: async () => {
      try {
        const answer = await post(path, body(true));
        return answer.matched;
      } catch (error) {
        if (isMissingEndpoint(error)) {
          throw new Error('This server has no bulk actions (POST /api/queues/{q}/bulk answered 404). ' +
                          'Select jobs on the page instead.');
        }
        throw error;
      }
    },
    confirmLabel: (n) => n === null ? `${action[0].toUpperCase()}${action.slice(1)}`
      : `${action[0].toUpperCase()}${action.slice(1)} ${plural(n, 'job')}`,
    danger: action === 'delete',
  });
  if (!ok) return false;
  try {
    const answer = await post(path, body(false));
    toast(`${plural(answer.done, 'job')} ${PAST[action]} (${num(answer.matched)} matched)`, 'ok');
  } catch (error) {
    toast(`Bulk ${action} failed: ${describeError(error)}`, 'error');
  }
  if (live) live.refreshQueues();
  return true;
}

export function mount(ctx) {
  const {main, live, params, navigate} = ctx;
  const name = ctx.args.queue;
  const state = STATES.includes(params.get('state')) ? params.get('state') : 'waiting';
  const filter = {
    q: params.get('q') || '',
    type: params.get('type') || '',
    since: params.get('since') || '',
    until: params.get('until') || '',
    fingerprint: params.get('fingerprint') || '',
  };
  const filtered = Object.values(filter).some(Boolean);
  const cursor = params.get('cursor') || '';
  const limit = LIMITS.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50;
  ctx.setTitle(`${name} · ${state}`);

  const base = queueHref(name);
  const urlWith = (changes) => base + query({state, ...filter, limit: limit === 50 ? '' : limit, ...changes});

  // ---- header ----
  const pausedBadge = h('span', {class: 'badge state-paused', hidden: true}, 'paused');
  const pauseButton = h('button', {type: 'button', 'data-action': 'pause'}, 'Pause');
  const policyEl = h('p', {class: 'subtitle'});
  let paused = false;
  pauseButton.addEventListener('click', () => togglePause(live, name, paused, pauseButton));

  const tabs = h('nav', {class: 'tabs', 'aria-label': 'Job states'});
  const tabCounts = {};
  for (const st of STATES) {
    const count = h('span', {class: 'tab-count'}, '');
    tabCounts[st] = count;
    tabs.append(h('a', {href: base + query({state: st, ...filter}), class: ['tab', `state-${st}`],
                        'aria-current': st === state ? 'page' : null, dataset: {state: st}},
                  h('span', st), count));
  }

  // ---- filters ----
  const qInput = h('input', {type: 'search', name: 'q', value: filter.q, 'data-search': '1',
                             placeholder: 'text in payload or error', 'aria-label': 'Text in payload or error'});
  const typeInput = h('input', {type: 'text', name: 'type', value: filter.type, list: 'event-types',
                                placeholder: 'any event type', 'aria-label': 'Event type'});
  const typeList = h('datalist', {id: 'event-types'}, KNOWN_TYPES.map((t) => h('option', {value: t})));
  const sinceInput = h('input', {type: 'datetime-local', name: 'since', value: localInput(filter.since),
                                 'aria-label': 'From'});
  const untilInput = h('input', {type: 'datetime-local', name: 'until', value: localInput(filter.until),
                                 'aria-label': 'Until'});
  const quick = (label, ms) => h('button', {type: 'button', class: 'small', onclick: () => {
    sinceInput.value = localInput(Date.now() - ms);
    untilInput.value = '';
    form.requestSubmit();
  }}, label);
  const form = h('form', {class: 'filters', role: 'search'},
    h('label', {class: 'field grow'}, h('span', 'Search'), qInput),
    h('label', {class: 'field'}, h('span', 'Event type'), typeInput, typeList),
    h('label', {class: 'field'}, h('span', 'From'), sinceInput),
    h('label', {class: 'field'}, h('span', 'Until'), untilInput),
    h('div', {class: 'field quick'}, h('span', 'Last'), h('div', {class: 'button-row'},
      quick('15 min', 15 * 60e3), quick('1 h', 3600e3), quick('24 h', 86400e3))),
    filter.fingerprint ? h('div', {class: 'field'}, h('span', 'Error group'),
      h('span', {class: 'chip'}, h('span', {class: 'mono'}, filter.fingerprint), ' ',
        h('a', {href: base + query({state, ...filter, fingerprint: ''}), 'aria-label': 'Remove the error group filter'}, '✕'))) : null,
    h('div', {class: 'field buttons'},
      h('button', {type: 'submit', class: 'primary'}, 'Filter'),
      filtered ? h('a', {href: base + query({state}), class: 'button'}, 'Clear') : null));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate(base + query({state, q: qInput.value.trim(), type: typeInput.value.trim(),
                           since: fromLocalInput(sinceInput.value), until: fromLocalInput(untilInput.value),
                           fingerprint: filter.fingerprint,
                           limit: limit === 50 ? '' : limit}));
  });

  // ---- actions ----
  const selected = new Set();
  const selectionText = h('span', {class: 'muted'});
  const selectedButtons = ACTIONS[state].map(([action, label, danger]) =>
    h('button', {type: 'button', class: danger ? 'danger-outline' : '', disabled: true,
                 dataset: {action: `selected-${action}`},
                 onclick: () => actOnSelected(action)}, `${label} selected`));
  const allButtons = ACTIONS[state].map(([action, label, danger]) =>
    h('button', {type: 'button', class: danger ? 'danger-outline' : '', dataset: {action: `all-${action}`},
                 onclick: () => actOnAll(action)}, `${label} all matching…`));
  const cleanButton = (state === 'completed' || state === 'failed')
    ? h('button', {type: 'button', dataset: {action: 'clean'}, onclick: () => clean()}, `Clean ${state}…`) : null;
  const failuresLink = state === 'failed'
    ? h('a', {href: `/queues/failures${query({queue: name})}`, class: 'button'}, 'Group by error') : null;
  const actionBar = h('div', {class: 'action-bar'},
    h('div', {class: 'button-row'}, selectionText, selectedButtons),
    h('div', {class: 'button-row'}, allButtons, cleanButton, failuresLink));

  // ---- table ----
  const headCheckbox = h('input', {type: 'checkbox', 'aria-label': 'Select every job on this page'});
  const tbody = h('tbody');
  const columns = columnsFor(state);
  const table = h('table', {class: 'table jobs'},
    h('thead', h('tr', h('th', {class: 'check'}, headCheckbox),
                 columns.map((c) => h('th', {class: c.cls || null, scope: 'col'}, c.title)))),
    tbody);
  const status = h('p', {class: 'list-status', role: 'status'});
  const pager = h('div', {class: 'pager'});
  const staleButton = h('button', {type: 'button', class: 'small', hidden: true,
                                   onclick: () => { staleButton.hidden = true; refresh(); }},
                        'New changes: refresh');
  let jobs = [];
  let disposed = false;
  let controller = null;
  let firstLoad = true;

  replace(main,
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '/queues'}, 'Queues'), ' / ',
      h('span', name)),
    h('div', {class: 'page-head'},
      h('div', h('h1', name, ' ', pausedBadge), policyEl),
      h('div', {class: 'button-row'}, pauseButton)),
    tabs, form, actionBar,
    h('div', {class: 'table-wrap'}, table),
    h('div', {class: 'list-foot'}, status, staleButton, pager));

  headCheckbox.addEventListener('change', () => {
    for (const job of jobs) {
      if (headCheckbox.checked) selected.add(job.id); else selected.delete(job.id);
    }
    for (const box of tbody.querySelectorAll('input[type=checkbox]')) box.checked = headCheckbox.checked;
    showSelection();
  });

  function showSelection() {
    const n = selected.size;
    selectionText.textContent = n ? `${plural(n, 'job')} selected` : 'Select jobs, or act on all that match:';
    for (const b of selectedButtons) b.disabled = n === 0;
    const onPage = jobs.filter((j) => selected.has(j.id)).length;
    headCheckbox.checked = jobs.length > 0 && onPage === jobs.length;
    headCheckbox.indeterminate = onPage > 0 && onPage < jobs.length;
  }

  function renderRows() {
    replace(tbody);
    if (jobs.length === 0) {
      tbody.append(h('tr', h('td', {colspan: columns.length + 1, class: 'empty'},
        filtered ? `No ${state} job matches on this page of the search.` : `No ${state} jobs.`)));
    }
    for (const job of jobs) {
      const box = h('input', {type: 'checkbox', checked: selected.has(job.id), 'aria-label': `Select ${job.id}`});
      box.addEventListener('change', () => {
        if (box.checked) selected.add(job.id); else selected.delete(job.id);
        showSelection();
      });
      tbody.append(h('tr', {dataset: {id: job.id}},
        h('td', {class: 'check'}, box),
        columns.map((c) => h('td', {class: [c.cls, c.phone], dataset: c.phone === 'main' ? {} : {label: c.title}},
                             c.cell(job)))));
    }
    showSelection();
  }

  function renderPager(answer) {
    replace(pager);
    const total = answer.counts ? answer.counts[state] : null;
    let text;
    if (filtered) {
      text = `${plural(jobs.length, 'matching job')} · looked at ${num(answer.scanned)} of ${num(total)} ${state}`;
    } else {
      text = `${num(jobs.length)} of ${num(total)} ${state}${cursor ? ' (a later page)' : ''}`;
    }
    status.textContent = text;
    if (cursor) pager.append(h('a', {href: urlWith({}), class: 'button'}, '« First page'));
    const sizes = h('select', {'aria-label': 'Jobs per page'},
      LIMITS.map((n) => h('option', {value: n, selected: n === limit}, `${n} per page`)));
    sizes.addEventListener('change', () => navigate(urlWith({limit: sizes.value})));
    pager.append(sizes);
    if (answer.cursor) {
      const more = filtered && jobs.length < limit ? 'Search further »' : 'Next page »';
      pager.append(h('a', {href: urlWith({cursor: answer.cursor}), class: 'button', rel: 'next'}, more));
    }
  }

  async function refresh() {
    if (disposed) return;
    if (controller) controller.abort();
    controller = new AbortController();
    const path = `/api/queues/${encodeURIComponent(name)}/jobs` +
      query({state, limit, cursor, ...filter});
    try {
      const answer = await get(path, {signal: controller.signal});
      if (disposed) return;
      jobs = answer.jobs || [];
      renderRows();
      renderPager(answer);
      if (answer.counts) showCounts(answer.counts);
    } catch (error) {
      if (error.name === 'AbortError' || disposed) return;
      replace(tbody, h('tr', h('td', {colspan: columns.length + 1, class: 'empty error-text'},
        error.status === 404 && !isMissingEndpoint(error) ? `There is no queue named “${name}”.`
          : `Cannot load the jobs: ${describeError(error)}`)));
      status.textContent = '';
    } finally {
      if (firstLoad) {
        firstLoad = false;
        ctx.ready();
      }
    }
  }

  function showCounts(counts) {
    for (const st of STATES) tabCounts[st].textContent = num(counts[st]);
  }

  const liveRefresh = coalesce(async () => {
    // Someone working in the table keeps the rows under their hands; the button says there is news.
    if (tbody.contains(document.activeElement) || document.querySelector('dialog[open]')) {
      staleButton.hidden = false;
      return;
    }
    await refresh();
  }, 1000);

  async function actOnSelected(action) {
    const ids = [...selected];
    if (ids.length === 0) return;
    const label = `${action[0].toUpperCase()}${action.slice(1)}`;
    const ok = await confirmAction({
      title: `${label} ${plural(ids.length, 'selected job')}?`,
      body: h('p', {class: 'mono small'}, ids.slice(0, 10).join(', '), ids.length > 10 ? ` and ${ids.length - 10} more` : ''),
      confirmLabel: `${label} ${plural(ids.length, 'job')}`,
      danger: action === 'delete',
    });
    if (!ok) return;
    let done = 0;
    const failed = [];
    for (const id of ids) {
      try {
        if (action === 'delete') await del(`/api/jobs/${encodeURIComponent(id)}`);
        else await post(`/api/jobs/${encodeURIComponent(id)}/${action}`);
        done++;
        selected.delete(id);
      } catch (error) {
        failed.push(`${id}: ${describeError(error)}`);
      }
    }
    toast(`${plural(done, 'job')} ${PAST[action]}${failed.length ? `; ${failed.length} not: ${failed[0]}` : ''}`,
          failed.length ? 'error' : 'ok');
    await refresh();
    live.refreshQueues();
  }

  async function actOnAll(action) {
    const f = {state};
    for (const [k, v] of Object.entries(filter)) if (v) f[k] = k === 'since' || k === 'until' ? Number(v) : v;
    if (await bulkAction({queue: name, action, filter: f, live})) {
      selected.clear();
      await refresh();
    }
  }

  async function clean() {
    const age = h('select', {id: 'clean-age'},
      h('option', {value: '0'}, 'all of them'),
      h('option', {value: String(3600e3)}, 'older than 1 hour'),
      h('option', {value: String(86400e3)}, 'older than 1 day'),
      h('option', {value: String(7 * 86400e3)}, 'older than 7 days'));
    const ok = await confirmAction({
      title: `Remove ${state} jobs of ${name}?`,
      body: [h('p', `The ${state} jobs go for good. The queue has ${num(live.queues?.find((q) => q.name === name)?.counts?.[state])} now.`),
             h('label', {for: 'clean-age'}, 'Which: '), age],
      confirmLabel: 'Remove',
      danger: true,
    });
    if (!ok) return;
    try {
      const answer = await post(`/api/queues/${encodeURIComponent(name)}/clean`,
                                {state, older_than_ms: Number(age.value)});
      toast(`${plural(answer.removed, `${state} job`)} removed`, 'ok');
    } catch (error) {
      toast(`Clean failed: ${describeError(error)}`, 'error');
    }
    await refresh();
    live.refreshQueues();
  }

  let lastCounts = null;
  function onLive(message) {
    if (message.type === 'queues' || message.type === 'counts') {
      const q = message.queues.find((x) => x.name === name);
      if (!q) return;
      paused = !!q.paused;
      pausedBadge.hidden = !paused;
      pauseButton.textContent = paused ? 'Resume' : 'Pause';
      if (q.policy) policyEl.textContent = policyText(q.policy);
      if (q.counts) {
        const changed = !lastCounts || STATES.some((st) => lastCounts[st] !== q.counts[st]);
        showCounts(q.counts);
        if (changed && lastCounts && !cursor) liveRefresh();
        lastCounts = {...q.counts};
      }
    } else if (message.type === 'jobs' && !cursor && message.events.some((e) => e.queue === name)) {
      liveRefresh();
    }
  }

  refresh();
  return {
    onLive,
    dispose() {
      disposed = true;
      liveRefresh.cancel();
      if (controller) controller.abort();
    },
  };
}

function typeCell(job) {
  const type = job.eventType ?? job.name;
  return type ? h('span', {class: 'mono small'}, type) : h('span', {class: 'muted'}, '—');
}

function errorCell(job) {
  if (!job.failedReason) return h('span', {class: 'muted'}, '—');
  const text = job.failedReason.length > 200 ? `${job.failedReason.slice(0, 200)}…` : job.failedReason;
  return h('span', {class: 'error-text', title: job.failedReason}, text);
}

function payloadCell(job) {
  return h('span', {class: 'mono small payload-preview', title: job.truncated ? `${job.payloadBytes} bytes, cut` : null},
           preview(job.data, 120));
}

// The table's columns for the jobs of one state.
function columnsFor(state) {
  const id = {title: 'Job', phone: 'main', cell: (job) => h('a', {href: jobHref(job.id), class: 'mono job-link'}, job.id)};
  const type = {title: 'Event type', cell: typeCell};
  const attempts = {title: 'Attempts', cls: 'num', cell: (job) => `${job.attemptsMade} / ${job.maxAttempts}`};
  const added = {title: 'Added', cell: (job) => timeEl(job.timestamp)};
  const payload = {title: 'Payload', cls: 'wide-only', cell: payloadCell};
  switch (state) {
    case 'waiting':
      return [id, type, added, {title: 'Priority', cls: 'num', cell: (job) => String(job.priority)}, payload];
    case 'active':
      return [id, type, attempts, added, {title: 'Started', cell: (job) => timeEl(job.processedOn)}, payload];
    case 'delayed':
      return [id, type, attempts, {title: 'Due', cell: (job) => timeEl(job.delayUntil)},
              {title: 'Last error', phone: 'full', cell: errorCell}, payload];
    case 'completed':
      return [id, type, attempts, {title: 'Finished', cell: (job) => timeEl(job.finishedOn)},
              {title: 'Took', cls: 'num', cell: (job) => job.finishedOn && job.processedOn
                ? duration(job.finishedOn - job.processedOn) : '—'},
              {title: 'Result', cls: 'wide-only', phone: 'full', cell: (job) => h('span', {class: 'small'}, preview(job.returnValue || '', 100))}];
    case 'failed':
      return [id, type, attempts, {title: 'Failed', cell: (job) => timeEl(job.finishedOn)},
              {title: 'Error', phone: 'full', cell: errorCell}, payload];
    default:
      return [id, type, {title: 'State', cell: (job) => stateBadge(job.state)}];
  }
}
