// User: everything about one user id — the events of their jobs and the jobs' states, the
// deliveries (sent, skipped with the reason, failed), the in-app inbox, the tickets, the push
// devices, and the notification preferences, which can be switched here. The product brief's "check the
// database" step, without a database client.

import {h, replace, num, timeEl, jobHref, queueHref, stateBadge, userHref} from './dom.js';
import {get, put, toast, describeError} from './api.js';
import {coalesce} from './live.js';

const LAST_USER = 'herald.lastUser';
const CHANNELS = [['email', 'Email'], ['push', 'Push'], ['inapp', 'In-app']];

function remember(id) {
  try {
    localStorage.setItem(LAST_USER, id);
  } catch {
    // No storage: the form starts empty next time.
  }
}

function lastUser() {
  try {
    return localStorage.getItem(LAST_USER) || 'user_1001';
  } catch {
    return 'user_1001';
  }
}

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', {class: 'muted'}, empty);
  return h('div', {class: 'table-wrap'}, h('table', {class: 'table'},
    h('caption', {class: 'sr-only'}, caption),
    h('thead', h('tr', headers.map((t) => h('th', {scope: 'col', class: t.cls || null}, t.title || t)))),
    h('tbody', rows)));
}

function deliveryBadge(status) {
  const cls = {sent: 'state-completed', skipped: 'state-skipped', failed: 'state-failed'}[status] || 'state-waiting';
  return h('span', {class: ['badge', cls]}, status);
}

export function mount(ctx) {
  const {main, live, navigate} = ctx;
  const id = ctx.args.id;
  ctx.setTitle(id ? `User ${id}` : 'Users');
  const input = h('input', {type: 'search', name: 'user', value: id || lastUser(), required: true,
                            'aria-label': 'User id', placeholder: 'user id, e.g. user_1001', 'data-search': '1'});
  const form = h('form', {class: 'filters', role: 'search'},
    h('label', {class: 'field grow'}, h('span', 'User id'), input),
    h('div', {class: 'field buttons'}, h('button', {type: 'submit', class: 'primary'}, 'Show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) navigate(userHref(value));
  });
  const body = h('div', {class: 'user-body'});
  replace(main,
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '/queues/users'}, 'Users'),
      id ? [' / ', h('span', {class: 'mono'}, id)] : null),
    h('div', {class: 'page-head'}, h('div', h('h1', id ? h('span', {class: 'mono'}, id) : 'Users'),
      h('p', {class: 'subtitle'}, 'Events, jobs, deliveries, inbox, tickets, push devices and preferences of one user.'))),
    form, body);
  let disposed = false;
  if (!id) {
    body.append(h('p', {class: 'muted'}, 'Type a user id. The test events are for ',
                  h('a', {href: userHref('user_1001')}, 'user_1001'), '.'));
    ctx.ready();
    return {dispose() {}};
  }
  remember(id);

  function preferences(user) {
    return h('div', {class: 'switches'}, CHANNELS.map(([channel, label]) => {
      const box = h('input', {type: 'checkbox', role: 'switch', checked: !!user.preferences[channel],
                              id: `pref-${channel}`, dataset: {channel}});
      box.addEventListener('change', async () => {
        box.disabled = true;
        try {
          const answer = await put(`/api/users/${encodeURIComponent(id)}/preferences`, {[channel]: box.checked});
          box.checked = !!answer.preferences[channel];
          toast(`${label} notifications ${box.checked ? 'on' : 'off'} for ${id}`, 'ok');
        } catch (error) {
          box.checked = !box.checked;
          toast(`Could not change ${label}: ${describeError(error)}`, 'error');
        } finally {
          box.disabled = false;
        }
      });
      return h('label', {class: 'switch', for: `pref-${channel}`}, box, h('span', {class: 'switch-track', 'aria-hidden': 'true'}),
               h('span', label));
    }));
  }

  function render(user) {
    const jobs = user.jobs || [];
    const deliveries = user.deliveries || [];
    const inbox = user.inbox || [];
    const tickets = user.tickets || [];
    const devices = user.devices || [];
    replace(body,
      h('section', {class: 'panel', id: 'preferences'}, h('h2', 'Notification preferences'), preferences(user),
        h('p', {class: 'muted small'}, 'A channel switched off makes its deliveries “skipped”.')),
      h('section', {class: 'panel', id: 'devices'}, h('h2', 'Push devices ', h('span', {class: 'muted small'}, num(devices.length))),
        table('Push devices', ['Device token', 'Platform', 'Registered'],
          devices.map((d) => h('tr', {dataset: {token: d.token}},
            h('td', h('span', {class: 'mono small', title: d.token}, d.token.length > 48 ? `${d.token.slice(0, 45)}…` : d.token)),
            h('td', d.platform || '—'),
            h('td', timeEl(d.addedAt)))),
          'No push device registered (DEVICES.ADD, or PUT /api/users/{id}/devices); FCM pushes skip this user.')),
      h('section', {class: 'panel', id: 'events'}, h('h2', 'Events and their jobs ', h('span', {class: 'muted small'}, num(jobs.length))),
        table('Events and jobs', ['Event', 'Event type', 'Queue', 'State', {title: 'Attempts', cls: 'num'}, 'Added', 'Finished'],
          jobs.map((j) => h('tr',
            h('td', h('a', {href: jobHref(j.id), class: 'mono'}, j.id)),
            h('td', h('span', {class: 'mono small'}, (j.eventType ?? j.name) || '—')),
            h('td', h('a', {href: queueHref(j.queue)}, j.queue)),
            h('td', stateBadge(j.state)),
            h('td', {class: 'num'}, `${j.attemptsMade} / ${j.maxAttempts}`),
            h('td', timeEl(j.timestamp)),
            h('td', timeEl(j.finishedOn)))),
          'No jobs for this user.')),
      h('section', {class: 'panel', id: 'deliveries'}, h('h2', 'Deliveries ', h('span', {class: 'muted small'}, num(deliveries.length))),
        table('Deliveries', ['Event', 'Event type', 'Channel', 'Status', 'Detail', {title: 'Attempts', cls: 'num'}, 'Updated'],
          deliveries.map((d) => h('tr', {dataset: {channel: d.channel, status: d.status}},
            h('td', h('a', {href: jobHref(d.eventId), class: 'mono'}, d.eventId)),
            h('td', h('span', {class: 'mono small'}, d.eventType)),
            h('td', d.channel),
            h('td', deliveryBadge(d.status)),
            h('td', {class: 'small detail'}, d.detail || ''),
            h('td', {class: 'num'}, String(d.attempts ?? '')),
            h('td', timeEl(d.updatedAt || d.createdAt)))),
          'Nothing was delivered to this user yet.')),
      h('section', {class: 'panel', id: 'inbox'}, h('h2', 'In-app inbox ', h('span', {class: 'muted small'}, num(inbox.length))),
        inbox.length === 0 ? h('p', {class: 'muted'}, 'The inbox is empty.')
          : h('ul', {class: 'inbox'}, inbox.map((m) => h('li', {class: 'inbox-item', dataset: {event: m.eventId}},
              h('div', {class: 'inbox-head'}, h('strong', m.title), ' ', h('span', {class: 'muted small'}, timeEl(m.createdAt))),
              h('p', m.text),
              h('p', {class: 'muted small'}, h('span', {class: 'mono'}, m.eventType), ' · ',
                h('a', {href: jobHref(m.eventId), class: 'mono'}, m.eventId)))))),
      h('section', {class: 'panel', id: 'tickets'}, h('h2', 'Tickets ', h('span', {class: 'muted small'}, num(tickets.length))),
        table('Tickets', ['Ticket', 'Status', 'Subject', 'Amount', 'Reason', 'Created'],
          tickets.map((t) => h('tr',
            h('td', h('span', {class: 'mono small'}, t.id)),
            h('td', h('span', {class: 'badge state-waiting'}, t.status)),
            h('td', t.subject),
            h('td', {class: 'num'}, String(t.amount ?? '')),
            h('td', t.reason),
            h('td', timeEl(t.createdAt)))),
          'No tickets for this user.')));
  }

  let firstLoad = true;
  async function load() {
    try {
      const user = await get(`/api/users/${encodeURIComponent(id)}`);
      if (disposed) return;
      // The preference switches keep focus across a live reload: only the lists are redrawn then.
      if (!firstLoad && body.querySelector('#preferences')?.contains(document.activeElement)) return;
      render(user);
    } catch (error) {
      if (disposed) return;
      replace(body, h('p', {class: 'notice error'}, `Cannot load ${id}: ${describeError(error)}`));
    } finally {
      if (firstLoad) {
        firstLoad = false;
        ctx.ready();
      }
    }
  }
  const reload = coalesce(load, 2000);
  let lastKey = '';
  function onLive(message) {
    if (message.type !== 'queues' && message.type !== 'counts' && message.type !== 'jobs') return;
    if (message.type === 'jobs') {
      reload();
      return;
    }
    const key = JSON.stringify(message.queues.map((q) => q.counts));
    if (lastKey && key !== lastKey) reload();
    lastKey = key;
  }
  load();
  return {onLive, dispose() { disposed = true; reload.cancel(); }};
}
