// examples/notification-processor.ts, compiled to dist/examples, against a herald running the
// repository's config/herald.toml (the brief's queues, policies and event contracts).

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {Queue} from 'herald-client';

import {Herald, PACKAGE_DIR, SAMPLE_CONFIG, waitFor} from './herald.mjs';

const kExample = path.join(PACKAGE_DIR, 'dist/examples/notification-processor.js');
const herald = new Herald();
before(() => herald.start({configFile: SAMPLE_CONFIG}));
after(() => herald.stop());

function runExample(mode) {
  const child = spawn(process.execPath, [kExample, mode], {
    env: {...process.env, HERALD_HOST: '127.0.0.1', HERALD_PORT: String(herald.port)},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = {child, output: '', exited: once(child, 'exit')};
  child.stdout.on('data', (chunk) => { run.output += chunk; });
  child.stderr.on('data', (chunk) => { run.output += chunk; });
  return run;
}

test('demo: every event is handled; the flaky email is retried after the emails backoff', async (t) => {
  const run = runExample('demo');
  t.after(() => run.child.kill('SIGKILL'));
  const [code] = await run.exited;
  assert.equal(code, 0, run.output);

  const summaries = [...run.output.matchAll(/summary (\S+) (\S+): (\w+) after (\d+) attempt\(s\) \[([^\]]*)\]/g)]
      .map(([, type, id, state, attempts, outcomes]) => ({type, id, state, attempts: Number(attempts), outcomes}));
  assert.deepEqual(summaries.map((s) => s.type),
                   ['booking.created', 'booking.confirmed', 'booking.cancelled', 'booking.reminder',
                    'payment.received', 'payment.failed']);
  assert.ok(summaries.every((s) => s.state === 'completed'), run.output);
  const confirmed = summaries.find((s) => s.type === 'booking.confirmed');
  assert.deepEqual([confirmed.attempts, confirmed.outcomes], [2, 'retrying, completed']);
  assert.match(run.output, /completed booking\.cancelled \S+: \{"skipped":"user_2002 turned email off"\}/);
  assert.match(run.output, /completed payment\.failed \S+: \{"sent":"TCK-/);

  const emails = new Queue('emails', {connection: herald.connection});
  t.after(() => emails.close());
  const job = await emails.getJob(confirmed.id);
  assert.deepEqual(job.opts, {attempts: 5, backoff: {type: 'exponential', delay: 2000}, priority: 0});
  assert.ok(job.history[1].startedOn - job.history[0].startedOn >= 2000);
  // The event sent with EMIT was routed by the server to tickets.
  const tickets = new Queue('tickets', {connection: herald.connection});
  t.after(() => tickets.close());
  const ticket = await tickets.getJob(summaries.find((s) => s.type === 'payment.failed').id);
  assert.equal(ticket.data.eventType, 'payment.failed');
});

test('process mode runs until SIGTERM, then closes its workers', async (t) => {
  const emails = new Queue('emails', {connection: herald.connection});
  t.after(() => emails.close());
  const completedBefore = (await emails.getJobCounts('completed')).completed;

  const processor = runExample('process');
  t.after(() => processor.child.kill('SIGKILL'));
  await waitFor(() => processor.output.includes('processing emails, notifications and tickets'), 'the processor to start');
  const producer = runExample('produce');
  const [code] = await producer.exited;
  assert.equal(code, 0, producer.output);
  // booking.created and booking.cancelled at once; booking.confirmed after its 2 s backoff.
  await waitFor(async () => (await emails.getJobCounts('completed')).completed === completedBefore + 3,
                'the three emails to complete', {timeoutMs: 15000});

  processor.child.kill('SIGTERM');
  const [exitCode] = await processor.exited;
  assert.equal(exitCode, 0, processor.output);
  assert.match(processor.output, /SIGTERM: finishing running jobs\n.*closed\n/);
});
