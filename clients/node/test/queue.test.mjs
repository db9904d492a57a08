// The Queue API and Job methods against a real herald.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {BulkAddError, Job, Queue, Worker} from 'herald-client';

import {Herald, nextEvent, waitFor} from './herald.mjs';

const herald = new Herald();
before(() => herald.start());
after(() => herald.stop());

// A Queue for the test, closed after it.
function queueFor(t, name, opts = {}) {
  const queue = new Queue(name, {connection: herald.connection, ...opts});
  t.after(() => queue.close());
  return queue;
}

function workerFor(t, name, processor, opts = {}) {
  // A short closeTimeout, so that a failed test's hung processor does not hold up the file.
  const worker = new Worker(name, processor, {connection: herald.connection, drainDelay: 1, closeTimeout: 2000, ...opts});
  t.after(() => worker.close());
  return worker;
}

test('add and getJob: name, data, options and state round-trip', async (t) => {
  const queue = queueFor(t, 'roundtrip');
  const before = Date.now();
  const added = await queue.add('send-email', {to: 'a@example.com', n: [1, 2]},
                                {attempts: 4, backoff: {type: 'exponential', delay: 250}, priority: 3});
  assert.equal(added.name, 'send-email');
  assert.equal(added.queueName, 'roundtrip');
  assert.equal(added.attemptsMade, 0);

  const job = await queue.getJob(added.id);
  assert.ok(job instanceof Job);
  assert.equal(job.id, added.id);
  assert.equal(job.name, 'send-email');
  assert.deepEqual(job.data, {to: 'a@example.com', n: [1, 2]});
  assert.deepEqual(job.opts, {attempts: 4, backoff: {type: 'exponential', delay: 250}, priority: 3});
  assert.ok(job.timestamp >= before - 1000 && job.timestamp <= Date.now() + 1000);
  assert.equal(job.processedOn, undefined);
  assert.equal(job.finishedOn, undefined);
  assert.equal(job.failedReason, undefined);
  assert.equal(job.returnvalue, null);
  assert.equal(await job.getState(), 'waiting');
  assert.equal(await job.isWaiting(), true);
  assert.deepEqual(await Job.fromId(queue, added.id), job);

  assert.equal(await queue.getJob('no-such-job'), undefined);
  // Ids are the server's, across queues; a Queue only answers for its own jobs.
  const other = queueFor(t, 'roundtrip-other');
  assert.equal(await other.getJob(added.id), undefined);
});

test('the worker sees the name and data; the result comes back as returnvalue', async (t) => {
  const queue = queueFor(t, 'names');
  const seen = [];
  const worker = workerFor(t, 'names', async (job) => {
    seen.push([job.name, job.data]);
    return {sent: job.data.to};
  });
  const completed = nextEvent(worker, 'completed');
  const added = await queue.add('welcome', {to: 'b@example.com'});
  const [job, result] = await completed;
  assert.deepEqual(seen, [['welcome', {to: 'b@example.com'}]]);
  assert.deepEqual(result, {sent: 'b@example.com'});
  assert.deepEqual(job.returnvalue, {sent: 'b@example.com'});
  const stored = await queue.getJob(added.id);
  assert.deepEqual(stored.returnvalue, {sent: 'b@example.com'});
  assert.ok(stored.finishedOn >= stored.processedOn && stored.processedOn >= stored.timestamp);
  assert.equal(await stored.isCompleted(), true);
});

test('a payload another producer wrote that is not JSON is given as the raw string', async (t) => {
  const queue = queueFor(t, 'raw');
  const id = await queue.client.call('ADDJOB', 'raw', 'plain text, not JSON');
  const job = await queue.getJob(id);
  assert.equal(job.data, 'plain text, not JSON');
  assert.equal(job.name, '');
});

test('getJobCounts reports every type, or those asked; paused counts the waiting of a paused queue', async (t) => {
  const queue = queueFor(t, 'counts');
  assert.deepEqual(await queue.getJobCounts(), {
    active: 0, completed: 0, delayed: 0, failed: 0, paused: 0, prioritized: 0, waiting: 0, 'waiting-children': 0,
  });
  await queue.add('a', {});
  await queue.add('b', {});
  await queue.add('c', {}, {delay: 60000});
  assert.deepEqual(await queue.getJobCounts('wait', 'delayed'), {waiting: 2, delayed: 1});
  assert.equal(await queue.count(), 3);
  await queue.pause();
  assert.deepEqual(await queue.getJobCounts('waiting', 'paused'), {waiting: 0, paused: 2});
  assert.equal(await queue.getJobCountByTypes('waiting', 'paused', 'delayed'), 3);
  await queue.resume();
  await assert.rejects(queue.getJobCounts('bogus'), /unknown job type 'bogus'/);
});

test('getJobs pages through a state in take order, and across states', async (t) => {
  const queue = queueFor(t, 'paging');
  const added = await queue.addBulk(Array.from({length: 25}, (_, n) => ({name: `j${n}`, data: {n}})));
  const ids = added.map((job) => job.id);
  const page = async (start, end) => (await queue.getJobs('waiting', start, end)).map((job) => job.id);
  assert.deepEqual(await page(0, 9), ids.slice(0, 10));
  assert.deepEqual(await page(10, 19), ids.slice(10, 20));
  assert.deepEqual(await page(20, -1), ids.slice(20));
  assert.deepEqual(await page(30, 40), []);
  const all = await queue.getJobs(['waiting']);
  assert.deepEqual(all.map((job) => job.data.n), Array.from({length: 25}, (_, n) => n));
  assert.deepEqual(all.map((job) => job.name).slice(0, 2), ['j0', 'j1']);

  // Five completed by hand: getJobs lists the types one after the other.
  const raw = await queue.client.call('GETJOB', 'NOHANG', 'COUNT', '5', 'FROM', 'paging');
  assert.equal(await queue.client.call('ACKJOB', ...raw.map((entry) => entry[1])), 5);
  // Completed ones are listed newest first, as BullMQ lists them by default.
  const completed = await queue.getCompleted();
  assert.deepEqual(completed.map((job) => job.id).sort(), ids.slice(0, 5).sort());
  for (let i = 1; i < completed.length; ++i) assert.ok(completed[i - 1].finishedOn >= completed[i].finishedOn);
  const mixed = await queue.getJobs(['completed', 'waiting'], 3, 7);
  assert.deepEqual(mixed.map((job) => job.id), [...completed.map((job) => job.id), ...ids.slice(5)].slice(3, 8));
  assert.deepEqual(await Promise.all(mixed.map((job) => job.getState())),
                   ['completed', 'completed', 'waiting', 'waiting', 'waiting']);
});

test('a paused queue delivers nothing until resumed', async (t) => {
  const queue = queueFor(t, 'pausing');
  await queue.pause();
  assert.equal(await queue.isPaused(), true);
  const added = await queue.add('held', {});
  assert.equal(await queue.client.call('GETJOB', 'NOHANG', 'FROM', 'pausing'), null);
  const processed = [];
  const worker = workerFor(t, 'pausing', (job) => { processed.push(job.id); });
  // The worker looked and found nothing to take.
  await nextEvent(worker, 'drained');
  assert.deepEqual(processed, []);
  assert.deepEqual(await queue.getJobCounts('paused', 'active'), {paused: 1, active: 0});
  assert.deepEqual((await queue.getJobs('paused')).map((job) => job.id), [added.id]);
  assert.deepEqual((await queue.getJobs('waiting')).map((job) => job.id), []);
  assert.deepEqual((await queue.getJobs()).map((job) => job.id), [added.id]);
  const completed = nextEvent(worker, 'completed');
  await queue.resume();
  assert.equal(await queue.isPaused(), false);
  const [job] = await completed;
  assert.equal(job.id, added.id);
});

test('retryJobs and Job.retry move failed jobs back to waiting', async (t) => {
  const queue = queueFor(t, 'retrying');
  let fail = true;
  const worker = workerFor(t, 'retrying', () => {
    if (fail) throw new Error('down');
    return 'up';
  });
  let failures = 0;
  worker.on('failed', () => { failures += 1; });
  const a = await queue.add('a', {});
  const b = await queue.add('b', {});
  await waitFor(() => failures === 2, 'both jobs to fail');
  assert.deepEqual(await queue.getJobCounts('failed'), {failed: 2});
  const failedA = await queue.getJob(a.id);
  assert.equal(failedA.failedReason, 'down');
  await assert.rejects(queue.retryJobs({state: 'completed'}), /failed jobs only/);

  fail = false;
  const done = [];
  worker.on('completed', (job) => done.push(job.id));
  await failedA.retry();
  await waitFor(() => done.includes(a.id), 'job a to complete after Job.retry');
  await assert.rejects(failedA.retry(), /not in the failed state/);
  assert.equal(await queue.retryJobs(), 1);
  await waitFor(() => done.includes(b.id), 'job b to complete after retryJobs');
  const retried = await queue.getJob(b.id);
  assert.equal(await retried.getState(), 'completed');
  assert.deepEqual(retried.history.map((attempt) => attempt.outcome).slice(-1), ['completed']);
});

test('clean removes finished jobs older than the grace period, at most limit', async (t) => {
  const queue = queueFor(t, 'cleaning');
  const added = await queue.addBulk(Array.from({length: 6}, (_, n) => ({name: 'c', data: {n}})));
  const raw = await queue.client.call('GETJOB', 'NOHANG', 'COUNT', '6', 'FROM', 'cleaning');
  await queue.client.call('ACKJOB', ...raw.map((entry) => entry[1]));
  // A grace of 0 includes the jobs finished in this very millisecond.
  assert.equal(await queue.clean(60000, 0), 0);
  assert.equal(await queue.clean(0, 2), 2);
  // Oldest first.
  assert.equal(await queue.getJob(added[0].id), undefined);
  assert.equal(await queue.getJob(added[1].id), undefined);
  assert.equal(await (await queue.getJob(added[2].id)).getState(), 'completed');
  assert.equal(await queue.clean(0, 0, 'completed'), 4);
  assert.deepEqual(await queue.getJobCounts('completed'), {completed: 0});
  await assert.rejects(queue.clean(0, 0, 'active'), /cannot clean jobs of type 'active'/);
  await assert.rejects(queue.clean(-1, 0), /grace must be an integer >= 0 \(got -1\)/);

  await queue.add('w', {});
  await queue.add('d', {}, {delay: 60000});
  await queue.drain();
  assert.deepEqual(await queue.getJobCounts('waiting', 'delayed'), {waiting: 0, delayed: 1});
  await queue.drain(true);
  assert.deepEqual(await queue.getJobCounts('waiting', 'delayed'), {waiting: 0, delayed: 0});
});

test('a jobId is added once; numeric ids are the server\'s', async (t) => {
  const queue = queueFor(t, 'dedup');
  const first = await queue.add('once', {v: 1}, {jobId: 'order-17'});
  const second = await queue.add('once', {v: 2}, {jobId: 'order-17'});
  assert.equal(first.id, 'order-17');
  assert.equal(second.id, 'order-17');
  assert.deepEqual(await queue.getJobCounts('waiting'), {waiting: 1});
  assert.deepEqual((await queue.getJob('order-17')).data, {v: 1});
  await assert.rejects(queue.add('n', {}, {jobId: '12345'}), /plain number/);
});

test('a delayed job is delayed, then runs no sooner than its delay', async (t) => {
  const queue = queueFor(t, 'delaying');
  const added = await queue.add('later', {}, {delay: 300});
  assert.equal(await added.getState(), 'delayed');
  const worker = workerFor(t, 'delaying', () => Date.now());
  const [job] = await nextEvent(worker, 'completed');
  const stored = await queue.getJob(job.id);
  assert.ok(stored.processedOn - stored.timestamp >= 300, `ran ${stored.processedOn - stored.timestamp} ms after it was added`);
});

test('priority: no priority first, then 1, 2, ...; FIFO within one', async (t) => {
  const queue = queueFor(t, 'priorities');
  const order = [['p5a', 5], ['none-a', undefined], ['p1', 1], ['p5b', 5], ['zero', 0], ['none-b', undefined], ['p2', 2]];
  for (const [name, priority] of order) await queue.add(name, {}, priority === undefined ? {} : {priority});
  const seen = [];
  const worker = workerFor(t, 'priorities', (job) => { seen.push(job.name); });
  await waitFor(() => seen.length === order.length, 'every job to run');
  await worker.close();
  assert.deepEqual(seen, ['none-a', 'zero', 'none-b', 'p1', 'p2', 'p5a', 'p5b']);
});

test('addBulk adds in one pipeline; bad options add nothing; server refusals are reported per entry', async (t) => {
  const queue = queueFor(t, 'bulk-add');
  const jobs = await queue.addBulk([
    {name: 'a', data: {n: 1}},
    {name: 'b', data: {n: 2}, opts: {priority: 2}},
    {name: 'c', data: {n: 3}, opts: {delay: 60000}},
  ]);
  assert.deepEqual(jobs.map((job) => job.name), ['a', 'b', 'c']);
  assert.equal(new Set(jobs.map((job) => job.id)).size, 3);
  assert.deepEqual(await queue.getJobCounts('waiting', 'delayed'), {waiting: 2, delayed: 1});
  assert.deepEqual(await queue.addBulk([]), []);

  await assert.rejects(queue.addBulk([{name: 'ok', data: {}}, {name: 'bad', data: {}, opts: {delay: -5}}]),
                       /addBulk entry 1: delay must be an integer >= 0 \(got -5\)/);
  assert.equal(await queue.count(), 3);

  const error = await queue.addBulk([
    {name: 'x', data: {}},
    {name: 'y', data: {}, opts: {jobId: '99'}},
    {name: 'z', data: {}},
  ]).then(() => null, (thrown) => thrown);
  assert.ok(error instanceof BulkAddError, String(error));
  assert.match(error.message, /1 of 3 jobs were not added \(#1: ERR job id '99' is a plain number/);
  assert.ok(error.jobs[0] && error.jobs[2]);
  assert.equal(error.jobs[1], undefined);
  assert.match(error.errors[1].message, /plain number/);
  assert.equal(await queue.count(), 5);
});

test('emit routes an event to its queue; the eventId is the job id', async (t) => {
  const queue = queueFor(t, 'emails');
  const event = {
    eventType: 'booking.created', eventId: 'evt-node-1', timestamp: '2026-01-01T10:00:00Z',
    data: {bookingId: 'b-1', userId: 'u-1', userEmail: 'u1@example.com'},
  };
  assert.equal(await queue.emit(event), 'evt-node-1');
  assert.equal(await queue.emit(event), 'evt-node-1');
  const job = await queue.getJob('evt-node-1');
  assert.deepEqual(job.data, event);
  assert.equal(job.name, 'booking.created');  // named after its event type
  assert.deepEqual(job.opts, {attempts: 5, backoff: {type: 'exponential', delay: 2000}, priority: 0});
  await assert.rejects(queue.emit({...event, eventType: 'nope', eventId: 'e-2'}), /unknown event type 'nope'/);
  await assert.rejects(queue.emit({...event, eventId: 'e-3', data: {}}), /missing field data\.bookingId/);
});

test('omitted options take the queue\'s policy; defaultJobOptions apply under add()\'s', async (t) => {
  const tickets = queueFor(t, 'tickets');
  const plain = await tickets.getJob((await tickets.add('t', {})).id);
  assert.deepEqual(plain.opts, {attempts: 3, backoff: {type: 'fixed', delay: 5000}, priority: 0});
  const queue = queueFor(t, 'defaults', {defaultJobOptions: {attempts: 7, backoff: 100}});
  const job = await queue.getJob((await queue.add('d', {}, {backoff: {type: 'exponential', delay: 50}})).id);
  assert.deepEqual(job.opts, {attempts: 7, backoff: {type: 'exponential', delay: 50}, priority: 0});
});

test('Job.remove deletes; getState of a removed job is unknown', async (t) => {
  const queue = queueFor(t, 'removing');
  const job = await queue.add('r', {});
  await job.remove();
  assert.equal(await job.getState(), 'unknown');
  await assert.rejects(job.remove(), /could not be removed/);
});

test('a job deleted while it runs: the worker reports that it could not acknowledge it', async (t) => {
  const queue = queueFor(t, 'deleted-while-running');
  let release;
  const worker = workerFor(t, 'deleted-while-running', (job) =>
    job.name === 'doomed' ? new Promise((resolve) => { release = resolve; }) : 'ok');
  const errors = [];
  const completions = [];
  worker.on('error', (error) => errors.push(error.message));
  worker.on('completed', (job) => completions.push(job.id));
  const active = nextEvent(worker, 'active');
  const job = await queue.add('doomed', {});
  await active;
  await job.remove();
  release('too late');
  await waitFor(() => errors.length > 0, 'the worker to report the lost job');
  assert.match(errors[0], new RegExp(`job ${job.id} is no longer held by this worker.*NOJOB`));
  assert.deepEqual(completions, []);
  // The worker goes on with the next job.
  const completed = nextEvent(worker, 'completed');
  const next = await queue.add('next', {});
  assert.equal((await completed)[0].id, next.id);
});

test('bad input is refused with a message naming it', async (t) => {
  const queue = queueFor(t, 'bad-input');
  await assert.rejects(queue.add('a', {}, {delay: 1.5}), /delay must be an integer >= 0 \(got 1.5\)/);
  await assert.rejects(queue.add('a', {}, {delay: '100'}), /delay must be an integer >= 0 \(got "100"\)/);
  await assert.rejects(queue.add('a', {}, {attempts: 0}), /attempts must be an integer from 1 to 1000000/);
  await assert.rejects(queue.add('a', {}, {priority: -1}), /priority must be an integer from 0 to 2097152/);
  await assert.rejects(queue.add('a', {}, {priority: 2 ** 21 + 1}), /priority must be an integer from 0 to 2097152/);
  await assert.rejects(queue.add('a', {}, {backoff: {type: 'linear', delay: 5}}), /backoff.type must be 'fixed' or 'exponential'/);
  await assert.rejects(queue.add('a', {}, {backoff: {type: 'fixed', delay: -1}}), /backoff.delay must be an integer >= 0/);
  await assert.rejects(queue.add('a', {}, {repeat: {every: 1000}}), /'repeat' is not supported by Herald/);
  await assert.rejects(queue.add('a', {}, {removeOnComplete: true}), /'removeOnComplete' is not supported/);
  await assert.rejects(queue.add(42, {}), /job name must be a string/);
  await assert.rejects(queue.add('x'.repeat(1025), {}), /job name must be at most 1024 bytes/);
  await assert.rejects(queue.add('a', {n: 1n}), /BigInt/);
  await assert.rejects(queue.getJobs('waiting', 1.5), /start must be an integer/);
  // The server's own checks come through with its message.
  const badQueue = queueFor(t, 'bad queue name');
  await assert.rejects(badQueue.add('a', {}), /invalid queue name 'bad queue name': use letters, digits and _ \. : -/);
  assert.equal(await queue.count(), 0);

  assert.throws(() => new Worker('bad-input', () => {}, {lease: 500, autorun: false}),
                /lease must be an integer from 1000 to 86400000 \(got 500\)/);
  assert.throws(() => new Worker('bad-input', () => {}, {concurrency: 0, autorun: false}), /concurrency must be/);
  assert.throws(() => new Worker('bad-input', () => {}, {drainDelay: 0, autorun: false}), /drainDelay must be/);
  assert.throws(() => new Worker('bad-input', 'processor.js', {autorun: false}), /sandboxed processor files are not supported/);
});

test('a Queue on a given ioredis instance uses it and leaves it open', async (t) => {
  const {Redis} = await import('ioredis');
  const client = new Redis(herald.connection);
  t.after(() => client.quit());
  const queue = new Queue('shared', {connection: client});
  assert.equal(queue.client, client);
  await queue.add('s', {});
  await queue.close();
  assert.equal(client.status, 'ready');
  assert.equal(await client.call('QLEN', 'shared'), 1);

  // A Worker duplicates it, one connection per slot, and closes only those.
  const worker = new Worker('shared', () => 'ok', {connection: client, concurrency: 2, drainDelay: 1});
  await nextEvent(worker, 'completed');
  await worker.close();
  assert.equal(client.status, 'ready');
});
