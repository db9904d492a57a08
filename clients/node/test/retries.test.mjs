// Failed attempts: retried after the job's backoff, attemptsMade as BullMQ counts it, and
// UnrecoverableError failing a job at once.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {Queue, UnrecoverableError, Worker} from 'herald-client';

import {Herald, nextEvent} from './herald.mjs';

const herald = new Herald();
before(() => herald.start());
after(() => herald.stop());

// Adds one job to `queueName`, runs a worker whose processor fails the first `failures`
// attempts, and resolves once it completed: what the processor and the events saw, and SHOW's
// record of it.
async function runFlaky(queueName, opts, failures) {
  const queue = new Queue(queueName, {connection: herald.connection});
  const seen = [];
  const failedEvents = [];
  const worker = new Worker(queueName, async (job) => {
    seen.push(job.attemptsMade);
    if (job.attemptsMade < failures) throw new Error(`attempt ${job.attemptsMade} fails`);
    return {ok: true};
  }, {connection: herald.connection, concurrency: 1, drainDelay: 1});
  worker.on('failed', (job, error) => failedEvents.push([job.attemptsMade, error.message]));
  const completed = nextEvent(worker, 'completed');
  const added = await queue.add('flaky', {x: 1}, opts);
  const [completedJob, result] = await completed;
  await worker.close();
  const job = await queue.getJob(added.id);
  const state = await job.getState();
  await queue.close();
  return {seen, failedEvents, completedJob, result, job, state};
}

test('fixed backoff: fails twice, then succeeds; attempts start at least 300 ms apart', async () => {
  const {seen, failedEvents, completedJob, result, job, state} =
      await runFlaky('fixed', {attempts: 3, backoff: {type: 'fixed', delay: 300}}, 2);
  assert.deepEqual(seen, [0, 1, 2]);
  // As in BullMQ, the job in a 'failed' event counts the attempt that just failed.
  assert.deepEqual(failedEvents, [[1, 'attempt 0 fails'], [2, 'attempt 1 fails']]);
  assert.equal(completedJob.attemptsMade, 3);
  assert.deepEqual(result, {ok: true});

  assert.equal(state, 'completed');
  assert.equal(job.attemptsMade, 3);
  assert.deepEqual(job.opts.backoff, {type: 'fixed', delay: 300});
  assert.equal(job.opts.attempts, 3);
  assert.deepEqual(job.returnvalue, {ok: true});
  assert.equal(job.failedReason, 'attempt 1 fails');
  assert.deepEqual(job.history.map((attempt) => attempt.outcome), ['retrying', 'retrying', 'completed']);
  assert.deepEqual(job.history.map((attempt) => attempt.backoffMs), [300, 300, 0]);
  for (let i = 1; i < job.history.length; ++i) {
    const gap = job.history[i].startedOn - job.history[i - 1].startedOn;
    assert.ok(gap >= 300, `attempt ${i} started ${gap} ms after attempt ${i - 1}`);
    assert.ok(job.history[i].startedOn >= job.history[i - 1].nextDueOn);
  }
});

test('exponential backoff: waits delay, then twice the delay', async () => {
  const {seen, job} = await runFlaky('exponential', {attempts: 3, backoff: {type: 'exponential', delay: 200}}, 2);
  assert.deepEqual(seen, [0, 1, 2]);
  assert.deepEqual(job.history.map((attempt) => attempt.backoffMs), [200, 400, 0]);
  const starts = job.history.map((attempt) => attempt.startedOn);
  assert.ok(starts[1] - starts[0] >= 200, `second attempt ${starts[1] - starts[0]} ms after the first`);
  assert.ok(starts[2] - starts[1] >= 400, `third attempt ${starts[2] - starts[1]} ms after the second`);
});

test('a job whose attempts are used up is failed with the last error', async () => {
  const queue = new Queue('exhausted', {connection: herald.connection});
  const worker = new Worker('exhausted', async () => { throw new Error('smtp timeout'); },
                            {connection: herald.connection, drainDelay: 1});
  const finalFailure = nextEvent(worker, 'failed', (job) => job.attemptsMade === 2);
  const added = await queue.add('mail', {}, {attempts: 2, backoff: 50});
  const [failedJob, error] = await finalFailure;
  await worker.close();
  assert.equal(error.message, 'smtp timeout');
  assert.equal(failedJob.id, added.id);
  const job = await queue.getJob(added.id);
  assert.equal(await job.getState(), 'failed');
  assert.equal(job.attemptsMade, 2);
  assert.equal(job.failedReason, 'smtp timeout');
  assert.deepEqual(job.history.map((attempt) => attempt.outcome), ['retrying', 'failed']);
  assert.deepEqual((await queue.getJobCounts('failed')), {failed: 1});
  await queue.close();
});

test('UnrecoverableError fails the job at once, whatever attempts are left', async () => {
  const queue = new Queue('unrecoverable', {connection: herald.connection});
  let calls = 0;
  const worker = new Worker('unrecoverable', async () => {
    calls += 1;
    throw new UnrecoverableError('mailbox does not exist');
  }, {connection: herald.connection, drainDelay: 1});
  const failed = nextEvent(worker, 'failed');
  const added = await queue.add('mail', {to: 'nobody@example.com'}, {attempts: 5, backoff: 100});
  const [failedJob, error] = await failed;
  assert.ok(error instanceof UnrecoverableError);
  assert.equal(failedJob.attemptsMade, 1);

  const job = await queue.getJob(added.id);
  assert.equal(await job.getState(), 'failed');
  assert.equal(job.attemptsMade, 1);
  assert.equal(job.failedReason, 'mailbox does not exist');
  assert.equal(job.history.length, 1);
  assert.equal(job.history[0].outcome, 'failed');
  await worker.close();
  assert.equal(calls, 1);
  await queue.close();
});

test('an error named UnrecoverableError from other code counts too; a message "permanent" does not', async () => {
  const queue = new Queue('by-name', {connection: herald.connection});
  const worker = new Worker('by-name', async (job) => {
    const error = new Error(job.data.message);
    if (job.data.named) error.name = 'UnrecoverableError';
    throw error;
  }, {connection: herald.connection, drainDelay: 1});
  const failures = [];
  worker.on('failed', (job) => failures.push(job.id));
  const named = await queue.add('a', {named: true, message: 'gone'}, {attempts: 3, backoff: 10000});
  const plain = await queue.add('b', {named: false, message: 'permanent'}, {attempts: 3, backoff: 10000});
  await nextEvent(worker, 'failed', () => failures.length === 2);
  await worker.close();
  assert.equal(await (await queue.getJob(named.id)).getState(), 'failed');
  // A retry is due in 10 s: the reason was not read as NACK's PERMANENT flag.
  const retrying = await queue.getJob(plain.id);
  assert.equal(await retrying.getState(), 'delayed');
  assert.match(retrying.failedReason, /permanent/);
  await queue.close();
});
