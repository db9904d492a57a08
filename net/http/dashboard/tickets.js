// Tickets: the support tickets the ticket handler opened (payment.failed), newest first.

import {h, replace, num, timeEl, jobHref, userHref, query} from './dom.js';
import {get, describeError} from './api.js';
import {coalesce} from './live.js';

const LIMITS = [50, 100, 500, 1000];

export function mount(ctx) {
  const {main, params, navigate} = ctx;
  const limit = LIMITS.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50;
  ctx.setTitle('Tickets');
  const status = h('p', {class: 'subtitle'}, 'Loading…');
  const body = h('div');
  const sizes = h('select', {'aria-label': 'Tickets shown'},
    LIMITS.map((n) => h('option', {value: n, selected: n === limit}, `newest ${n}`)));
  sizes.addEventListener('change', () => navigate(`/queues/tickets${query({limit: sizes.value})}`));
  replace(main,
    h('div', {class: 'page-head'}, h('div', h('h1', 'Tickets'), status), h('div', {class: 'button-row'}, sizes)),
    body);
  let disposed = false;
  let firstLoad = true;

  async function load() {
    try {
      const answer = await get(`/api/tickets${query({limit})}`);
      if (disposed) return;
      const tickets = answer.tickets || [];
      status.textContent = `${num(tickets.length)} shown`;
      if (tickets.length === 0) {
        replace(body, h('p', {class: 'muted'}, 'No tickets yet. A payment.failed event opens one.'));
        return;
      }
      replace(body, h('div', {class: 'table-wrap'}, h('table', {class: 'table'},
        h('thead', h('tr', ['Ticket', 'Status', 'Subject', 'User', 'Booking', 'Payment', 'Amount', 'Reason', 'Event', 'Created']
          .map((t, i) => h('th', {scope: 'col', class: [4, 5, 8].includes(i) ? 'wide-only' : null}, t)))),
        h('tbody', tickets.map((t) => h('tr',
          h('td', h('span', {class: 'mono small'}, t.id)),
          h('td', h('span', {class: 'badge state-waiting'}, t.status)),
          h('td', {title: t.description || ''}, t.subject),
          h('td', t.userId ? h('a', {href: userHref(t.userId), class: 'mono small'}, t.userId) : '—'),
          h('td', {class: 'wide-only mono small'}, t.bookingId || ''),
          h('td', {class: 'wide-only mono small'}, t.paymentId || ''),
          h('td', {class: 'num'}, String(t.amount ?? '')),
          h('td', t.reason || ''),
          h('td', {class: 'wide-only'}, t.eventId ? h('a', {href: jobHref(t.eventId), class: 'mono small'}, t.eventId) : ''),
          h('td', timeEl(t.createdAt))))))));
    } catch (error) {
      if (!disposed) replace(body, h('p', {class: 'notice error'}, `Cannot load the tickets: ${describeError(error)}`));
    } finally {
      if (firstLoad) {
        firstLoad = false;
        ctx.ready();
      }
    }
  }
  const reload = coalesce(load, 3000);
  let lastKey = '';
  function onLive(message) {
    if (message.type !== 'queues' && message.type !== 'counts') return;
    const q = message.queues.find((x) => x.name === 'tickets');
    const key = q && q.counts ? String(q.counts.completed + q.counts.failed) : '';
    if (lastKey && key !== lastKey) reload();
    lastKey = key;
  }
  load();
  return {onLive, dispose() { disposed = true; reload.cancel(); }};
}
