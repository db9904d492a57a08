// A Worker across a restart of herald: it reports the connection errors, reconnects, and goes
// on; a job that was running when herald stopped runs again.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {Queue, Worker} from 'herald-client';

import {Herald, nextEvent, waitFor} from './herald.mjs';

const herald = new Herald();
before(() => herald.start());
after(() => herald.stop());

test('a worker survives a herald restart; the job it held runs again', async (t) => {
  const port = herald.port;
  const dataDir = herald.dataDir;
  const errors = [];
  const runs = [];
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  const worker = new Worker('restart', async (job) => {
    runs.push({id: job.id, attemptsMade: job.attemptsMade});
    if (job.data.hold && job.attemptsMade === 0) await released;
    return 'done';
  }, {connection: {...herald.connection, retryStrategy: () => 50}, concurrency: 2, drainDelay: 1});
  t.after(() => worker.close());
  worker.on('error', (error) => errors.push(error));

  const producer = new Queue('restart', {connection: herald.connection});
  const held = await producer.add('held', {hold: true}, {attempts: 3});
  await waitFor(() => runs.length === 1, 'the held job to start');
  await producer.close();

  // herald stops: every connection of the worker fails to reconnect until it is back.
  await herald.stop({keepData: true});
  await waitFor(() => errors.some((error) => error.code === 'ECONNREFUSED'), 'a connection error event');
  await herald.start({dataDir, port});

  // Its lease was in the stopped herald's memory: the restarted one put the job back, so the
  // acknowledgement of the first run finds it no longer held and it runs again.
  release();
  const queue = new Queue('restart', {connection: herald.connection});
  t.after(() => queue.close());
  const fresh = await queue.add('fresh', {});
  await waitFor(async () => (await queue.getJobCounts('completed')).completed === 2, 'both jobs to complete');
  assert.ok(errors.some((error) => /job \S+ is no longer held by this worker/.test(error.message)),
            errors.map((error) => error.message).join('\n'));
  assert.deepEqual(runs.filter((run) => run.id === held.id).map((run) => run.attemptsMade), [0, 1]);
  assert.deepEqual(runs.filter((run) => run.id === fresh.id).map((run) => run.attemptsMade), [0]);
  const job = await queue.getJob(held.id);
  assert.deepEqual(job.history.map((attempt) => attempt.outcome), ['stalled', 'completed']);
  assert.equal(worker.isRunning(), true);
});
