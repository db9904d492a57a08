// The scenarios that bench/compare (and bench/node/compare-bullmq.mjs) run through a client
// library: the same code drives BullMQ on Redis and herald-client on Herald, whose Queue and
// Worker have one shape. A "side" is {kind: 'redis' | 'herald', lib, connection}.
//
// Times are taken in this one process on both ends (performance.timeOrigin + now(), ms with
// sub-ms resolution): a job carries the moment it was sent (`sentAt`) in its data, and the
// processor notes when it starts.
import path from 'node:path';
import * as bullmq from 'bullmq';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const now = () => performance.timeOrigin + performance.now();

// BullMQ from this folder's package.json; herald-client from its build in clients/node/dist.
export async function libraries(root) {
  const herald = await import(path.join(root, 'clients/node/dist/src/index.js'));
  return {redis: bullmq, herald};
}

// The product brief's job options. BullMQ's jobs are also removed once 1000 completed ones are
// kept, as Herald keeps 1000 completed jobs per queue by default (herald-client refuses
// removeOnComplete: Herald has no per-job retention).
export const PRODUCT_OPTIONS = {attempts: 5, backoff: {type: 'exponential', delay: 2000}};

export function jobOptions(kind, extra = {}) {
  const options = {...PRODUCT_OPTIONS, ...extra};
  if (kind === 'redis') options.removeOnComplete = 1000;
  return options;
}

// A booking.created event of about 320 bytes as JSON.
export function bookingEvent(i, sentAt = now()) {
  const n = String(i).padStart(10, '0');
  return {
    eventType: 'booking.created',
    eventId: `evt_${n}`,
    occurredAt: '2026-12-01T10:00:00Z',
    sentAt,
    data: {
      bookingId: `bk_${n}`,
      userId: `usr_${i % 10000}`,
      email: `guest${i % 10000}@example.com`,
      hotel: 'Harbour Hotel, Lisbon',
      checkIn: '2026-12-20',
      checkOut: '2026-12-23',
      amount: 412.5,
      currency: 'EUR',
    },
  };
}

export function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted.length === 0
    ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN,
          count: sorted.length};
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done in ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function newQueue(side, name) {
  const queue = new side.lib.Queue(name, {connection: side.connection});
  queue.on('error', (error) => console.error(`  queue error: ${error.message}`));
  return queue;
}

function newWorker(side, name, processor, concurrency) {
  const worker = new side.lib.Worker(name, processor, {connection: side.connection, concurrency});
  let reported = false;
  worker.on('error', (error) => {
    if (!reported) console.error(`  worker error: ${error.message}`);
    reported = true;
  });
  return worker;
}

// Both connected, and the Worker's first takes blocking (herald-client's Worker has no
// waitUntilReady; its slots connect when it starts).
async function ready(queue, worker) {
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady?.()]);
  await sleep(200);
}

// N Queue.add with `inflight` in flight on one connection: {jobs, seconds, rate}.
export async function enqueue(side, name, jobs, {inflight = 50, data = bookingEvent, options = {}} = {}) {
  const queue = newQueue(side, name);
  await queue.waitUntilReady();
  const opts = jobOptions(side.kind, options);
  let next = 0;
  const start = performance.now();
  async function lane() {
    while (next < jobs) await queue.add('booking.created', data(next++), opts);
  }
  await Promise.all(Array.from({length: inflight}, lane));
  const seconds = (performance.now() - start) / 1000;
  await queue.close();
  return {jobs, seconds, rate: jobs / seconds};
}

// Jobs waiting in `name` are taken by one Worker of `concurrency` with a processor that returns
// at once (failing each job's first attempt when `failFirst`): time from the Worker's start
// until `jobs` are completed.
export async function processAll(side, name, jobs, concurrency, {failFirst = false} = {}) {
  let done = 0;
  let resolveAll;
  const all = new Promise((resolve) => { resolveAll = resolve; });
  const start = performance.now();
  const worker = newWorker(side, name, async (job) => {
    if (failFirst && job.attemptsMade === 0) throw new Error('the first attempt fails');
    return 'ok';
  }, concurrency);
  worker.on('completed', () => {
    if (++done === jobs) resolveAll();
  });
  try {
    await withTimeout(all, 60000 + jobs * 5, `process ${jobs}`);
  } finally {
    await worker.close();
  }
  const seconds = (performance.now() - start) / 1000;
  return {jobs, seconds, rate: jobs / seconds};
}

// A Worker of `concurrency` runs while jobs are added at `rate` per second, `jobs` in all,
// each carrying its send time and due `delayMs` later (when `delayMs` > 0): ms from the due
// time (the send time when not delayed) to the processor's start, p50/p99/max.
export async function paced(side, name, {rate = 500, jobs, delayMs = 0, concurrency = 5}) {
  const starts = [];
  const worker = newWorker(side, name, async (job) => {
    starts.push(now() - job.data.sentAt - delayMs);
    return 'ok';
  }, concurrency);
  const queue = newQueue(side, name);
  await ready(queue, worker);
  const opts = jobOptions(side.kind, delayMs > 0 ? {delay: delayMs} : {});
  const adds = [];
  const start = performance.now();
  for (let i = 0; i < jobs; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    adds.push(queue.add('booking.created', bookingEvent(i), opts));
  }
  await Promise.all(adds);
  const deadline = Date.now() + 30000 + delayMs;
  while (starts.length < jobs && Date.now() < deadline) await sleep(10);
  await worker.close();
  await queue.close();
  return {jobs, ...percentiles(starts)};
}

// `jobs` delayed jobs all due at one moment, `leadMs` after the first add, while a Worker of
// `concurrency` runs: ms from that moment to each processor's start (p50/p99/max).
export async function burst(side, name, {jobs = 2000, leadMs = 1500, concurrency = 5}) {
  const late = [];
  const worker = newWorker(side, name, async (job) => {
    late.push(now() - job.data.dueAt);
    return 'ok';
  }, concurrency);
  const queue = newQueue(side, name);
  await ready(queue, worker);
  const dueAt = Math.ceil(now() + leadMs);
  let next = 0;
  async function lane() {
    while (next < jobs) {
      const event = {...bookingEvent(next++), dueAt};
      await queue.add('booking.created', event,
                      jobOptions(side.kind, {delay: Math.max(0, Math.round(dueAt - now()))}));
    }
  }
  await Promise.all(Array.from({length: 50}, lane));
  const addsLateMs = Math.max(0, now() - dueAt);  // > 0: the last adds were not delayed
  const deadline = Date.now() + leadMs + 60000;
  while (late.length < jobs && Date.now() < deadline) await sleep(10);
  await worker.close();
  await queue.close();
  return {jobs, addsLateMs, ...percentiles(late)};
}

// `jobs` waiting jobs added with addBulk (chunks of 1000, two chunks in flight): the rate.
export async function fill(side, name, jobs, {chunk = 1000, inflight = 2} = {}) {
  const queue = newQueue(side, name);
  await queue.waitUntilReady();
  const opts = jobOptions(side.kind);
  let next = 0;
  const start = performance.now();
  async function lane() {
    while (next < jobs) {
      const from = next;
      next = Math.min(jobs, next + chunk);
      const entries = [];
      for (let i = from; i < next; i++) {
        entries.push({name: 'booking.created', data: bookingEvent(i), opts});
      }
      await queue.addBulk(entries);
    }
  }
  await Promise.all(Array.from({length: inflight}, lane));
  const seconds = (performance.now() - start) / 1000;
  await queue.close();
  return {jobs, seconds, rate: jobs / seconds};
}

// Herald only: the scheduler's lateness in a burst. `jobs` delayed jobs due at one moment are
// added with no worker running, and the moment each becomes waiting is read from Herald's
// event stream (GET /api/events/stream, `promoted` events; ms resolution): ms from its due
// time (SHOW's due-ms) to its promotion, p50/p99/max.
export async function schedulerBurst(side, httpPort, name, {jobs = 2000, leadMs = 1500}) {
  const promoted = new Map();
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${httpPort}/api/events/stream`,
                               {signal: controller.signal});
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of response.body) {
        text += decoder.decode(chunk, {stream: true});
        let end;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const message = text.slice(0, end);
          text = text.slice(end + 2);
          if (!message.startsWith('event: jobs')) continue;
          const data = message.slice(message.indexOf('data: ') + 6);
          for (const event of JSON.parse(data)) {
            if (event.type === 'promoted' && event.queue === name) promoted.set(event.id, event.at);
          }
        }
      }
    } catch (error) {
      if (error.name !== 'AbortError') throw error;
    }
  })();
  const queue = newQueue(side, name);
  await queue.waitUntilReady();
  const dueAt = Math.ceil(Date.now() + leadMs);
  const ids = new Set();
  for (let from = 0; from < jobs; from += 500) {
    const entries = [];
    for (let i = from; i < Math.min(jobs, from + 500); i++) {
      entries.push({name: 'booking.created', data: bookingEvent(i),
                    opts: jobOptions(side.kind, {delay: Math.max(0, dueAt - Date.now())})});
    }
    const added = await queue.addBulk(entries);
    added.forEach((job, k) => { if (entries[k].opts.delay > 0) ids.add(job.id); });
  }
  // Jobs added after the due moment (a slow add) were never delayed: they are left out.
  const delayed = ids.size;
  const deadline = dueAt + 10000;
  while (promoted.size < delayed && Date.now() < deadline) await sleep(20);
  controller.abort();
  await reading;
  // Each job's own due time (SHOW's due-ms: the server's clock at the add plus the delay).
  const client = await queue.waitUntilReady();
  const mine = [...promoted].filter(([id]) => ids.has(id));
  const pipeline = client.pipeline();
  for (const [id] of mine) pipeline.call('SHOW', id);
  const shows = await pipeline.exec();
  const late = mine.map(([, at], i) => {
    const fields = shows[i][1];
    return at - Number(fields[fields.indexOf('due-ms') + 1]);
  });
  await queue.close();
  return {jobs, seen: late.length, ...percentiles(late)};
}
