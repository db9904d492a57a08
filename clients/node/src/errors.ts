// Errors a processor throws, or that the client raises.

import type {Job} from './job.js';

// Thrown by a processor to fail its job at once, whatever attempts are left: the worker sends
// NACK ... PERMANENT. Same name as BullMQ's, and recognised by name too, so BullMQ's own class
// thrown from shared code works the same.
export class UnrecoverableError extends Error {
  constructor(message?: string) {
    super(message);
    this.name = 'UnrecoverableError';
  }
}

// Queue.addBulk when some of its ADDJOBs were refused. The others were added: `jobs[i]` is the
// job added for entry i, or undefined where `errors[i]` says why it was not.
export class BulkAddError extends Error {
  constructor(
    message: string,
    readonly jobs: ReadonlyArray<Job | undefined>,
    readonly errors: ReadonlyArray<Error | undefined>,
  ) {
    super(message);
    this.name = 'BulkAddError';
  }
}

export function isUnrecoverable(error: unknown): boolean {
  return error instanceof UnrecoverableError ||
         (error instanceof Error && error.name === 'UnrecoverableError');
}

// A processor may throw anything; a failed attempt needs an Error with a message.
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(JSON.stringify(thrown) ?? String(thrown));
  } catch {
    return new Error(String(thrown));
  }
}

// Herald answers a command on a job that is not active (lease expired, already acknowledged)
// with an error starting with NOJOB.
export function isNoJob(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOJOB');
}
