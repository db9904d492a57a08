// A worker process killed mid-job: its lease runs out and the job is delivered again.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {setTimeout as sleep} from 'node:timers/promises';
import {after, before, test} from 'node:test';

import {Queue, Worker} from 'herald-client';

import {Herald, PACKAGE_DIR, nextEvent, waitFor} from './herald.mjs';

const kLeaseMs = 1000;
const herald = new Herald();
before(() => herald.start());
after(() => herald.stop());

// A worker in a process of its own, which reports each job it starts on stdout and never
// finishes one. Run with the package as its working directory, so that 'herald-client'
// resolves to this package.
const kChildWorker = `
import {Worker} from 'herald-client';
const [port, lease] = process.argv.slice(1).map(Number);
const worker = new Worker('stall', async (job) => {
  process.stdout.write('active ' + job.id + '\\n');
  await new Promise(() => {});
}, {connection: {host: '127.0.0.1', port}, lease, name: 'doomed'});
worker.on('error', (error) => process.stderr.write(String(error) + '\\n'));
`;

// Herald counts an attempt whose lease ran out (the last one stalling gives the job back once:
// the next test); three attempts here leave room for the rescue either way.
test('a job whose worker process is killed is delivered again to another worker', async (t) => {
  const queue = new Queue('stall', {connection: herald.connection});
  t.after(() => queue.close());
  const added = await queue.add('slow', {n: 1}, {attempts: 3});

  const child = spawn(process.execPath, ['--input-type=module', '-e', kChildWorker, String(herald.port), String(kLeaseMs)],
                      {cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe']});
  let childOutput = '';
  child.stdout.on('data', (chunk) => { childOutput += chunk; });
  child.stderr.on('data', (chunk) => { childOutput += chunk; });
  const exited = once(child, 'exit');
  try {
    await waitFor(() => childOutput.includes(`active ${added.id}\n`), 'the child worker to start the job');

    // Past one lease the job is still active: the child renews it with WORKING.
    await sleep(kLeaseMs * 1.6);
    const held = await queue.getJob(added.id);
    assert.equal(await held.getState(), 'active', childOutput);
    assert.match(held.history[0].worker, /^doomed@127\.0\.0\.1:/);
  } finally {
    child.kill('SIGKILL');
  }
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');
  const killedAt = Date.now();

  const seen = [];
  const worker = new Worker('stall', async (job) => {
    seen.push({id: job.id, attemptsMade: job.attemptsMade, data: job.data, name: job.name});
    return 'rescued';
  }, {connection: herald.connection, name: 'rescuer', lease: kLeaseMs, drainDelay: 1});
  t.after(() => worker.close());
  const [completed] = await nextEvent(worker, 'completed', undefined, 10000);
  const redeliveredAfter = Date.now() - killedAt;
  await worker.close();

  assert.equal(completed.id, added.id);
  // The attempt that stalled counts (Herald counts every attempt, so a poison job still ends
  // in failed).
  assert.deepEqual(seen, [{id: added.id, attemptsMade: 1, data: {n: 1}, name: 'slow'}]);
  assert.ok(redeliveredAfter <= kLeaseMs + 2000, `delivered again ${redeliveredAfter} ms after the kill`);

  const job = await queue.getJob(added.id);
  assert.equal(await job.getState(), 'completed');
  assert.equal(job.returnvalue, 'rescued');
  assert.deepEqual(job.history.map((attempt) => attempt.outcome), ['stalled', 'completed']);
  assert.match(job.history[0].worker, /^doomed@/);
  assert.match(job.history[1].worker, /^rescuer@/);
});

test('with a single attempt, a stalled job is delivered once more; a second stall fails it', async (t) => {
  const queue = new Queue('stall-once', {connection: herald.connection});
  t.after(() => queue.close());
  const added = await queue.add('slow', {});
  // Raw takes standing in for workers that die: nothing renews the lease.
  const take = () => queue.client.call('GETJOB', 'NOHANG', 'LEASE', String(kLeaseMs), 'FROM', 'stall-once');
  const [[, id]] = await take();
  assert.equal(id, added.id);
  const back = await waitFor(async () => {
    const current = await queue.getJob(added.id);
    return current.history[0]?.outcome === 'stalled' ? current : null;
  }, 'the first lease to run out', {timeoutMs: kLeaseMs + 5000});
  // As BullMQ's maxStalledCount of 1: back to waiting once, though its one attempt was used.
  assert.equal(await back.getState(), 'waiting');
  assert.match(back.failedReason, /lease expired/);
  const [[, again]] = await take();
  assert.equal(again, added.id);
  const job = await waitFor(async () => {
    const current = await queue.getJob(added.id);
    return current.history[1]?.outcome === 'stalled' ? current : null;
  }, 'the second lease to run out', {timeoutMs: kLeaseMs + 5000});
  assert.equal(await job.getState(), 'failed');
  assert.equal(job.attemptsMade, 2);
  assert.match(job.failedReason, /lease expired/);
});
