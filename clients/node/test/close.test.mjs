// Worker.close(): stops taking, finishes and acknowledges what runs, loses nothing.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {Queue, Worker} from 'herald-client';

import {Herald, nextEvent} from './herald.mjs';

const herald = new Herald();
before(() => herald.start());
after(() => herald.stop());

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('close() mid-way leaves no job lost or run twice; a new worker finishes the rest', async (t) => {
  const kJobs = 200;
  const queue = new Queue('closing', {connection: herald.connection});
  t.after(() => queue.close());
  const added = await queue.addBulk(Array.from({length: kJobs}, (_, n) => ({name: 'job', data: {n}})));
  const ids = added.map((job) => job.id);

  const first = {started: [], completed: [], startedAfterClose: 0};
  let closeCalled = false;
  const worker1 = new Worker('closing', async (job) => {
    first.started.push(job.id);
    if (closeCalled) first.startedAfterClose += 1;
    await delay(15);
    return job.data.n;
  }, {connection: herald.connection, concurrency: 5, drainDelay: 1});
  t.after(() => worker1.close());
  worker1.on('completed', (job) => first.completed.push(job.id));
  await nextEvent(worker1, 'completed', () => first.completed.length >= 50);
  closeCalled = true;
  const closed = nextEvent(worker1, 'closed');
  await worker1.close();
  await closed;

  // close() waited for the running processors and acknowledged every one.
  assert.deepEqual([...first.completed].sort(), [...first.started].sort());
  // Only a take already in flight when close() was called can still hand over a job.
  assert.ok(first.startedAfterClose <= 5, `${first.startedAfterClose} jobs started after close()`);
  assert.ok(first.completed.length < kJobs, 'the first worker ran everything before close()');
  const counts = await queue.getJobCounts('waiting', 'active', 'completed');
  assert.deepEqual(counts, {waiting: kJobs - first.completed.length, active: 0, completed: first.completed.length});

  const second = [];
  const worker2 = new Worker('closing', async (job) => {
    second.push(job.id);
    return job.data.n;
  }, {connection: herald.connection, concurrency: 5, drainDelay: 1});
  t.after(() => worker2.close());
  await nextEvent(worker2, 'completed', () => second.length + first.completed.length === kJobs);
  await worker2.close();

  const firstSet = new Set(first.completed);
  assert.ok(second.every((id) => !firstSet.has(id)), 'a job acknowledged by the first worker ran again');
  assert.equal(new Set(second).size, second.length);
  assert.deepEqual([...first.completed, ...second].sort(), [...ids].sort());
  const jobs = await queue.getJobs('completed');
  assert.equal(jobs.length, kJobs);
  assert.ok(jobs.every((job) => job.history.length === 1 && job.returnvalue === job.data.n));
});

test('close() gives up on a processor after closeTimeout; its job comes back after the lease', async (t) => {
  const queue = new Queue('hung', {connection: herald.connection});
  t.after(() => queue.close());
  const added = await queue.add('hang', {}, {attempts: 2});
  const worker1 = new Worker('hung', () => new Promise(() => {}),
                             {connection: herald.connection, lease: 1000, closeTimeout: 200, drainDelay: 1});
  const errors = [];
  worker1.on('error', (error) => errors.push(error.message));
  await nextEvent(worker1, 'active');
  const closeStarted = Date.now();
  await worker1.close();
  const closeMs = Date.now() - closeStarted;
  assert.ok(closeMs >= 200 && closeMs < 2000, `close() took ${closeMs} ms`);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /still running or unacknowledged after 200 ms/);

  const worker2 = new Worker('hung', (job) => job.attemptsMade,
                             {connection: herald.connection, lease: 1000, drainDelay: 1});
  t.after(() => worker2.close());
  const [job, result] = await nextEvent(worker2, 'completed');
  assert.equal(job.id, added.id);
  assert.equal(result, 1);
  const shown = await queue.getJob(added.id);
  assert.deepEqual(shown.history.map((attempt) => attempt.outcome), ['stalled', 'completed']);
});

test('close(true) does not wait; the running job comes back after its lease', async (t) => {
  const queue = new Queue('forced', {connection: herald.connection});
  t.after(() => queue.close());
  const added = await queue.add('slow', {}, {attempts: 2});
  let finishFirst;
  const worker1 = new Worker('forced', () => new Promise((resolve) => { finishFirst = resolve; }),
                             {connection: herald.connection, lease: 1000, drainDelay: 1});
  const completions = [];
  worker1.on('completed', (job) => completions.push(job.id));
  await nextEvent(worker1, 'active');
  const closeStarted = Date.now();
  await worker1.close(true);
  assert.ok(Date.now() - closeStarted < 500);
  // The abandoned processor finishing later acknowledges nothing.
  finishFirst('late');

  const worker2 = new Worker('forced', () => 'again', {connection: herald.connection, lease: 1000, drainDelay: 1});
  t.after(() => worker2.close());
  const [job] = await nextEvent(worker2, 'completed');
  assert.equal(job.id, added.id);
  assert.deepEqual(completions, []);
  const shown = await queue.getJob(added.id);
  assert.equal(shown.returnvalue, 'again');
});

test('close() on an idle worker returns at once, before its blocking take would end', async () => {
  const worker = new Worker('idle', () => {}, {connection: herald.connection, concurrency: 3, drainDelay: 30});
  await nextEvent(worker, 'drained');
  const started = Date.now();
  await worker.close();
  assert.ok(Date.now() - started < 1000, `close() took ${Date.now() - started} ms`);
});
