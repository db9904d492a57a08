// Opening connections, and reading Herald's RESP2 replies.

import {Redis, type RedisOptions} from 'ioredis';

import type {ConnectionOptions} from './types.js';

const kDefaultConnection: RedisOptions = {host: '127.0.0.1', port: 6380};

// Duck-typed rather than instanceof, so an instance from another copy of ioredis works too.
export function isRedisInstance(connection: ConnectionOptions): connection is Redis {
  const candidate = connection as Partial<Redis>;
  return typeof candidate.duplicate === 'function' && typeof candidate.call === 'function';
}

// A connection the caller owns (and must close), from options or as a duplicate of an
// instance, with `overrides` on top.
export function openConnection(connection: ConnectionOptions | undefined,
                               overrides: RedisOptions = {}): Redis {
  if (connection !== undefined && isRedisInstance(connection)) return connection.duplicate(overrides);
  return new Redis({...kDefaultConnection, ...connection, ...overrides});
}

// Closes a connection: QUIT when it is usable, so replies in flight arrive first; otherwise
// drops it (one that is reconnecting would wait for the server).
export async function closeConnection(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

// The last connection error reported, shared by the connections of one Queue or Worker.
export interface ErrorMemory {
  last?: string;
}

// Forwards a connection's errors to `report`, each once while it repeats (a connection that
// cannot reconnect fails the same way at every retry, on every connection), until one of the
// connections sharing `memory` is ready again. Also keeps ioredis from printing them itself.
export function forwardErrors(client: Redis, memory: ErrorMemory, report: (error: Error) => void): void {
  client.on('error', (error: Error) => {
    if (error.message === memory.last) return;
    memory.last = error.message;
    report(error);
  });
  client.on('ready', () => { memory.last = undefined; });
}

// RESP2 maps arrive as flat [field, value, ...] arrays; RESP3 ones (a connection that sent
// HELLO 3) as objects or Maps.
export function toRecord(reply: unknown): Record<string, unknown> {
  if (Array.isArray(reply)) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = reply[i + 1];
    return record;
  }
  if (reply instanceof Map) return Object.fromEntries(reply);
  if (reply !== null && typeof reply === 'object') return reply as Record<string, unknown>;
  throw new Error(`unexpected reply from Herald: ${JSON.stringify(reply)}`);
}

export function asString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

export function asNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  const n = Number(asString(value));
  return Number.isFinite(n) ? n : 0;
}

// Payloads and results are JSON when this client wrote them; anything else (a string another
// producer wrote) is given back as it is.
export function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
