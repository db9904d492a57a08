// add()'s options checked and turned into ADDJOB's arguments. Checked here, before anything is
// sent, so that addBulk refuses a bad entry before it adds any, and the message uses BullMQ's
// option names (delay, attempts) rather than ADDJOB's.

import type {BackoffOptions, JobsOptions} from './types.js';

// BullMQ's PRIORITY_LIMIT.
export const kMaxPriority = 2 ** 21;
// ADDJOB's NAME limit.
const kMaxNameBytes = 1024;

// BullMQ options that Herald has nothing for; accepted only as their do-nothing values, so that
// code relying on them fails loudly instead of behaving differently.
const kUnsupported: ReadonlyArray<[string, string]> = [
  ['repeat', 'repeatable jobs are not supported'],
  ['lifo', 'LIFO order is not supported'],
  ['parent', 'flows (parent jobs) are not supported'],
  ['removeOnComplete', 'completed jobs are kept up to the server\'s [engine] completed_retention'],
  ['removeOnFail', 'failed jobs are kept until removed (Queue.clean, DELJOB)'],
  ['deduplication', 'use jobId to add a job once'],
  ['debounce', 'use jobId to add a job once'],
  ['keepLogs', 'job logs are not supported'],
  ['sizeLimit', 'payload size is limited by the server (proto-max-bulk-len)'],
];

export function addJobArgs(queueName: string, name: unknown, data: unknown,
                           opts: JobsOptions = {}): string[] {
  if (typeof name !== 'string') throw new TypeError(`job name must be a string (got ${typeof name})`);
  if (Buffer.byteLength(name) > kMaxNameBytes) {
    throw new RangeError(`job name must be at most ${kMaxNameBytes} bytes`);
  }
  const extra = opts as Record<string, unknown>;
  for (const [option, why] of kUnsupported) {
    const value = extra[option];
    if (value !== undefined && value !== false && value !== null) {
      throw new TypeError(`job option '${option}' is not supported by Herald: ${why}`);
    }
  }
  // undefined has no JSON form; BullMQ gives such a job's data back as {}.
  const payload = data === undefined ? '{}' : JSON.stringify(data);
  if (payload === undefined) {
    throw new TypeError(`job data must be JSON-serializable (got ${typeof data})`);
  }
  const args = [queueName, payload];
  if (opts.delay !== undefined) {
    args.push('DELAY', String(integerIn('delay', opts.delay, 0)));
  }
  if (opts.attempts !== undefined) {
    args.push('ATTEMPTS', String(integerIn('attempts', opts.attempts, 1, 1000000)));
  }
  if (opts.backoff !== undefined) {
    const backoff: BackoffOptions =
        typeof opts.backoff === 'number' ? {type: 'fixed', delay: opts.backoff} : opts.backoff;
    if (backoff === null || typeof backoff !== 'object') {
      throw new TypeError('backoff must be a number of ms or {type, delay}');
    }
    if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
      throw new TypeError(`backoff.type must be 'fixed' or 'exponential' (got ${JSON.stringify(backoff.type)}); ` +
                          'custom backoff strategies are not supported');
    }
    const jitter = (backoff as {jitter?: unknown}).jitter;
    if (jitter !== undefined && jitter !== 0) {
      throw new TypeError('backoff.jitter is not supported by Herald');
    }
    const delay = integerIn('backoff.delay', backoff.delay ?? 0, 0);
    args.push('BACKOFF', backoff.type, String(delay));
  }
  if (opts.priority !== undefined) {
    args.push('PRIORITY', String(integerIn('priority', opts.priority, 0, kMaxPriority)));
  }
  if (opts.jobId !== undefined) {
    if (typeof opts.jobId !== 'string' || opts.jobId === '') {
      throw new TypeError(`jobId must be a non-empty string (got ${JSON.stringify(opts.jobId)})`);
    }
    args.push('JOBID', opts.jobId);
  }
  if (name !== '') args.push('NAME', name);
  return args;
}

// `value` when it is an integer in [min, max] (no upper bound when max is undefined);
// otherwise a RangeError naming `what`.
export function integerIn(what: string, value: unknown, min: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min ||
      (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`${what} must be an integer ${range} (got ${describe(value)})`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
