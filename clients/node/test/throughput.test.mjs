// 10^4 jobs through one Worker of concurrency 5: each is processed once and completed once.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {Queue, Worker} from 'herald-client';

import {Herald, nextEvent} from './herald.mjs';

const kJobs = 10000;
const herald = new Herald();

// Completed jobs are kept up to [engine] completed_retention (1000 per queue by default, the
// oldest pruned beyond it); raised here so that QSTAT's completed count can show all 10^4.
before(() => herald.start({config: '[engine]\ncompleted_retention = 20000\n'}));
after(() => herald.stop());

test('10^4 jobs at concurrency 5 are each processed and completed exactly once', async () => {
  const queue = new Queue('bulk', {connection: herald.connection});
  const ids = [];
  for (let start = 0; start < kJobs; start += 1000) {
    const batch = Array.from({length: 1000}, (_, i) => ({name: 'n', data: {n: start + i}}));
    for (const job of await queue.addBulk(batch)) ids.push(job.id);
  }
  assert.equal(new Set(ids).size, kJobs);

  const seen = new Map();
  let running = 0;
  let maxRunning = 0;
  let completedEvents = 0;
  const worker = new Worker('bulk', async (job) => {
    seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    // A turn of the event loop, so that the five slots overlap.
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    return job.data.n * 2;
  }, {connection: herald.connection, concurrency: 5, drainDelay: 1});
  worker.on('completed', () => { completedEvents += 1; });
  const errors = [];
  worker.on('error', (error) => errors.push(error));

  await nextEvent(worker, 'completed', () => completedEvents === kJobs, 60000);
  await worker.close();

  assert.deepEqual(errors, []);
  assert.equal(seen.size, kJobs);
  assert.ok([...seen.values()].every((count) => count === 1), 'a job was processed twice');
  assert.ok(ids.every((id) => seen.has(id)));
  assert.equal(maxRunning, 5);

  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  assert.deepEqual(counts, {waiting: 0, active: 0, delayed: 0, completed: kJobs, failed: 0});

  // The server's side: one attempt each, completed, with the processor's result.
  const pipeline = queue.client.pipeline();
  for (const id of ids) pipeline.call('SHOW', id);
  const replies = await pipeline.exec();
  for (const [error, reply] of replies) {
    assert.equal(error, null);
    const fields = Object.fromEntries(chunk(reply, 2));
    assert.equal(fields.state, 'completed');
    assert.equal(fields['attempts-made'], 1);
    assert.equal(fields.history.length, 1);
    assert.equal(Object.fromEntries(chunk(fields.history[0], 2)).outcome, 'completed');
    assert.equal(fields.result, String(JSON.parse(fields.payload).n * 2));
  }
  await queue.close();
});

function chunk(array, size) {
  const out = [];
  for (let i = 0; i < array.length; i += size) out.push(array.slice(i, i + size));
  return out;
}
