// The dashboard's entry: reads the URL, shows its view, keeps the URL when the view changes
// (History API, so back, forward and reload keep the place), and feeds views the live updates.
//
//   /queues                       overview of every queue
//   /queues/<queue>?state=&q=&type=&since=&until=&cursor=&limit=   one queue's jobs
//   /queues/queue/<queue>         the same (for a queue named like a view below)
//   /queues/jobs/<id>             one job
//   /queues/failures?queue=       failed jobs grouped by error
//   /queues/users[/<id>]          everything about one user
//   /queues/tickets, /queues/audit, /queues/charts?range=hour|day&queue=

import {h, replace, tickRelativeTimes} from './dom.js';
import {Live} from './live.js';
import {toast} from './api.js';
import * as overview from './overview.js';
import * as queue from './queue.js';
import * as job from './job.js';
import * as failures from './failures.js';
import * as user from './user.js';
import * as tickets from './tickets.js';
import * as audit from './audit.js';
import * as charts from './charts.js';

const main = document.getElementById('main');
const live = new Live();
let current = null;   // {view, unsubscribe}
let renderSeq = 0;

function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

// The view of a path: {name, module, args}.
function resolve(pathname) {
  const parts = pathname.split('/').filter(Boolean).map(decode);
  if (parts[0] !== 'queues') return {name: 'missing', args: {}};
  parts.shift();
  if (parts.length === 0) return {name: 'overview', module: overview, args: {}};
  const [first, second] = parts;
  switch (first) {
    case 'jobs':
      return second ? {name: 'job', module: job, args: {id: second}} : {name: 'missing', args: {}};
    case 'failures': return {name: 'failures', module: failures, args: {}};
    case 'users': return {name: 'users', module: user, args: {id: second || ''}};
    case 'tickets': return {name: 'tickets', module: tickets, args: {}};
    case 'audit': return {name: 'audit', module: audit, args: {}};
    case 'charts': return {name: 'charts', module: charts, args: {}};
    case 'queue':
      return second ? {name: 'queue', module: queue, args: {queue: second}} : {name: 'missing', args: {}};
    default:
      if (parts.length === 1) return {name: 'queue', module: queue, args: {queue: first}};
      return {name: 'missing', args: {}};
  }
}

function navigate(url, {replace: replaceState = false} = {}) {
  const target = new URL(url, location.href);
  if (target.href === location.href && !replaceState) return;
  saveScroll();
  if (replaceState) {
    history.replaceState({scroll: 0}, '', target.pathname + target.search + target.hash);
  } else {
    history.pushState({scroll: 0}, '', target.pathname + target.search + target.hash);
  }
  render({scroll: replaceState ? null : 0});
}

function saveScroll() {
  history.replaceState({...(history.state || {}), scroll: window.scrollY}, '');
}

function setNav(name) {
  const section = {overview: 'overview', queue: 'overview', job: 'overview', failures: 'failures',
                   users: 'users', tickets: 'tickets', audit: 'audit', charts: 'charts'}[name];
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === section) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
}

function render({scroll = null, focus = true} = {}) {
  const seq = ++renderSeq;
  if (current) {
    current.unsubscribe();
    if (current.view && current.view.dispose) current.view.dispose();
    current = null;
  }
  const route = resolve(location.pathname);
  setNav(route.name);
  replace(main);
  if (!route.module) {
    document.title = 'Not found · Herald';
    main.append(h('h1', {tabindex: '-1'}, 'Nothing here'),
                h('p', 'This address is not a view of the dashboard. ',
                  h('a', {href: '/queues'}, 'Go to the overview'), '.'));
    return;
  }
  const ctx = {
    main,
    live,
    args: route.args,
    params: new URLSearchParams(location.search),
    navigate,
    setTitle: (title) => { document.title = `${title} · Herald`; },
    // Called by the view once its first data is on screen: the scroll position of a back or
    // reload can be restored then.
    ready: () => {
      if (seq !== renderSeq || scroll === null) return;
      requestAnimationFrame(() => window.scrollTo(0, scroll));
      scroll = null;
    },
  };
  const view = route.module.mount(ctx);
  current = {
    view,
    unsubscribe: live.subscribe((message) => {
      if (view.onLive) view.onLive(message);
    }),
  };
  if (live.queues && view.onLive) view.onLive({type: 'queues', queues: live.queues});
  if (focus) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({preventScroll: true});
    }
  }
}

// Links inside the dashboard change the view without loading the page again.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey) {
    return;
  }
  const a = event.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !/^\/queues(\/|$)/.test(url.pathname) ||
      url.pathname.startsWith('/queues/assets/')) {
    return;
  }
  event.preventDefault();
  navigate(url.href);
});

window.addEventListener('popstate', (event) => {
  render({scroll: event.state && typeof event.state.scroll === 'number' ? event.state.scroll : 0});
});

// A password typed into the login form: load the view again with it.
window.addEventListener('herald:auth', () => {
  live.refreshQueues();
  render({focus: false});
});

// ---- live indicator ---------------------------------------------------------------------

const indicator = document.getElementById('live');
function showMode(mode) {
  const text = {stream: 'live', polling: 'polling', offline: 'offline', connecting: 'connecting'}[mode] || mode;
  const titles = {
    stream: 'Live: updates come from the server\'s event stream',
    polling: 'Polling /api/queues every second (this server has no event stream)',
    offline: 'The server does not answer; trying again',
    connecting: 'Connecting',
  };
  indicator.dataset.mode = mode;
  indicator.querySelector('.live-text').textContent = text;
  indicator.title = titles[mode] || text;
}
live.subscribe((message) => {
  if (message.type === 'mode') showMode(message.mode);
  // Events were lost: the view reads its data again (keeping the place on the page).
  if (message.type === 'reset') render({scroll: window.scrollY, focus: false});
});
showMode(live.mode);

// ---- keyboard ---------------------------------------------------------------------------

const goKeys = {o: '/queues', f: '/queues/failures', c: '/queues/charts', u: '/queues/users',
                t: '/queues/tickets', a: '/queues/audit'};
let pendingG = 0;

function showShortcuts() {
  const rows = [
    ['/', 'search the jobs of this queue'],
    ['g o', 'overview'], ['g f', 'failures'], ['g c', 'charts'], ['g u', 'users'],
    ['g t', 'tickets'], ['g a', 'audit log'],
    ['?', 'this list'], ['Esc', 'close a dialog'],
  ];
  const dialog = h('dialog', {class: 'dialog', 'aria-label': 'Keyboard shortcuts'},
    h('form', {method: 'dialog'},
      h('h2', 'Keyboard shortcuts'),
      h('table', {class: 'table compact'},
        h('tbody', rows.map(([k, what]) => h('tr', h('td', h('kbd', k)), h('td', what))))),
      h('div', {class: 'actions'}, h('button', {class: 'primary'}, 'Close'))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

document.addEventListener('keydown', (event) => {
  if (event.metaKey || event.ctrlKey || event.altKey) return;
  const target = event.target;
  if (target.closest('input, textarea, select, [contenteditable], dialog')) return;
  if (pendingG && Date.now() - pendingG < 1500 && goKeys[event.key]) {
    pendingG = 0;
    event.preventDefault();
    navigate(goKeys[event.key]);
    return;
  }
  pendingG = 0;
  if (event.key === 'g') {
    pendingG = Date.now();
  } else if (event.key === '/') {
    const search = main.querySelector('[data-search]');
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  } else if (event.key === '?') {
    event.preventDefault();
    showShortcuts();
  }
});

setInterval(() => tickRelativeTimes(main), 1000);

window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason;
  if (reason && reason.name === 'AbortError') return;
  toast(String(reason && reason.message ? reason.message : reason), 'error');
});

live.start();
render({scroll: history.state && typeof history.state.scroll === 'number' ? history.state.scroll : null});
