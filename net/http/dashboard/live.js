// Live updates: the server's event stream (GET /api/events/stream, Server-Sent Events) when it
// has one, else polling GET /api/queues. Either way a request starts only after the previous
// one has answered, and slower answers make the polling slower: a slow server is never sent
// a pile of requests (Bull Board's polling does that).
//
// Listeners receive:
//   {type: 'queues', queues: [...]}   the full GET /api/queues answer
//   {type: 'counts', queues: [{name, counts, paused}]}   from the stream
//   {type: 'jobs', events: [{type, queue, id, attemptsMade, at}]}   from the stream
//   {type: 'reset'}   the stream lost events: views read everything again
//   {type: 'mode', mode: 'stream' | 'polling' | 'offline'}

import {get, describeError} from './api.js';

const POLL_MS = 1000;            // polling interval while the tab is visible
const HIDDEN_POLL_MS = 10000;    // and while it is hidden
const STREAM_QUEUES_MS = 5000;   // with the stream: the rest of /api/queues (last minute, ages)
const STREAM_RETRY_MS = 30000;   // how long after a refused stream it is tried again
const STREAM_JOBS_QUEUES_MS = 2000;  // with the stream: /api/queues at most this often after jobs

// Calls `fn` at most once per `ms`, never while its previous call (a promise) is running;
// calls asked for meanwhile collapse into one that runs after.
export function coalesce(fn, ms) {
  let running = false;
  let wanted = false;
  let last = 0;
  let timer = null;
  const run = async () => {
    timer = null;
    if (running) {
      wanted = true;
      return;
    }
    const wait = last + ms - Date.now();
    if (wait > 0) {
      timer = setTimeout(run, wait);
      return;
    }
    running = true;
    wanted = false;
    last = Date.now();
    try {
      await fn();
    } catch (error) {
      console.warn(error);
    } finally {
      running = false;
      if (wanted && timer === null) run();
    }
  };
  const trigger = () => {
    if (running) {
      wanted = true;
    } else if (timer === null) {
      run();
    }
  };
  trigger.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    wanted = false;
  };
  return trigger;
}

export class Live {
  constructor() {
    this.listeners = new Set();
    this.mode = 'connecting';
    this.queues = null;         // the last /api/queues answer's queues
    this.error = null;          // the last polling error, for the status line
    this.source = null;
    this.pollTimer = null;
    this.polling = false;
    this.fetchingQueues = false;
    this.queuesWanted = false;
    this.queuesSoon = coalesce(() => this.refreshQueues(), STREAM_JOBS_QUEUES_MS);
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(message) {
    for (const fn of [...this.listeners]) {
      try {
        fn(message);
      } catch (error) {
        console.error(error);
      }
    }
  }

  setMode(mode) {
    if (this.mode === mode) return;
    this.mode = mode;
    this.emit({type: 'mode', mode});
  }

  start() {
    this.openStream();
    this.schedulePoll(0);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.refreshQueues();
    });
  }

  openStream() {
    if (typeof EventSource === 'undefined') return;
    let source;
    try {
      source = new EventSource('/api/events/stream');
    } catch {
      return;
    }
    this.source = source;
    source.addEventListener('open', () => this.setMode('stream'));
    source.addEventListener('counts', (event) => {
      const data = parse(event.data);
      if (!data || !Array.isArray(data.queues)) return;
      this.mergeCounts(data.queues);
      this.emit({type: 'counts', queues: data.queues});
    });
    source.addEventListener('jobs', (event) => {
      const data = parse(event.data);
      const events = Array.isArray(data) ? data : data && Array.isArray(data.events) ? data.events : null;
      if (events && events.length) {
        this.emit({type: 'jobs', events});
        // The last minute and the oldest waiting age come only with GET /api/queues.
        this.queuesSoon();
      }
    });
    // The client fell behind the server's ring of events: everything is read again.
    source.addEventListener('reset', () => {
      this.emit({type: 'reset'});
      this.refreshQueues();
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (404 on a server without the stream, 401, ...): poll, and try again later.
        source.close();
        this.source = null;
        if (this.mode === 'stream' || this.mode === 'connecting') this.setMode('polling');
        setTimeout(() => this.openStream(), STREAM_RETRY_MS);
      } else if (this.mode === 'stream') {
        // The browser reconnects by itself; poll meanwhile.
        this.setMode('polling');
      }
      this.schedulePoll(0);
    });
  }

  mergeCounts(updates) {
    if (!this.queues) return;
    for (const update of updates) {
      const queue = this.queues.find((q) => q.name === update.name);
      if (!queue) continue;
      if (update.counts) queue.counts = update.counts;
      if (update.paused !== undefined) queue.paused = update.paused;
    }
  }

  schedulePoll(ms) {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.poll(), ms);
  }

  async poll() {
    this.pollTimer = null;
    const started = Date.now();
    await this.refreshQueues();
    const took = Date.now() - started;
    let next = this.mode === 'stream' ? STREAM_QUEUES_MS : POLL_MS;
    if (document.hidden) next = HIDDEN_POLL_MS;
    // A slow server is asked less often: at least twice the time its last answer took.
    next = Math.max(next, 2 * took);
    this.schedulePoll(next);
  }

  // GET /api/queues now (after the one in flight, if any), for the pages that just changed
  // something. Resolves when done.
  async refreshQueues() {
    if (this.fetchingQueues) {
      this.queuesWanted = true;
      return;
    }
    this.fetchingQueues = true;
    try {
      do {
        this.queuesWanted = false;
        try {
          const answer = await get('/api/queues');
          this.queues = answer.queues;
          this.error = null;
          if (this.mode === 'offline' || this.mode === 'connecting') {
            this.setMode(this.source && this.source.readyState === 1 ? 'stream' : 'polling');
          }
          this.emit({type: 'queues', queues: answer.queues});
        } catch (error) {
          this.error = describeError(error);
          if (error.status === 0) this.setMode('offline');
          this.emit({type: 'error', error});
        }
      } while (this.queuesWanted);
    } finally {
      this.fetchingQueues = false;
    }
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
