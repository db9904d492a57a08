// BullMQ on redis-server against clients/node on Herald: the same scenario through the same
// code (both libraries have Queue and Worker of one shape), in one run, per durability mode.
// bench/compare runs these scenarios and more (three Redis modes, redis-benchmark,
// herald-bench, memory) in one table; this script is the short form of its library rows.
//
//   node bench/node/compare-bullmq.mjs [--jobs N] [--modes always,everysec] [--rounds R]
//                                      [--herald PATH] [--latency-seconds S]
//
// For each mode, redis-server runs with appendonly yes and appendfsync MODE, Herald with
// --fsync MODE --workers 0 (only the Worker below takes jobs), and, for each system in turn
// (alternating which goes first, R rounds; the median is reported):
//   - enqueue: N adds of a 200-byte object, 50 in flight on one connection (Queue.add);
//   - process: a Worker with concurrency 5 and a processor that returns at once, timed from
//     its start until it has completed the N jobs;
//   - latency: booking.created events added at 500/s for S seconds while the Worker runs;
//     add -> processor start, p50 and p99 in ms (the clock of this one process on both ends).
// Jobs carry attempts 5 and exponential backoff 2000 ms; BullMQ's also removeOnComplete: 1000,
// as Herald keeps 1000 completed jobs per queue by default. The servers and scenarios are
// bench/peers/servers.mjs and bench/peers/scenarios.mjs. Needs `npm ci` in bench/peers, the
// client built (npm run build in clients/node) and a release build of herald; redis-server
// from tools/herald-dev setup.
import {rmSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {HeraldServer, RedisServer, killAll} from '../peers/servers.mjs';
import {enqueue, libraries, paced, processAll} from '../peers/scenarios.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv) {
  const args = {
    jobs: 20000,
    modes: ['always', 'everysec'],
    rounds: 1,
    herald: path.join(ROOT, 'build/release/tools/herald'),
    latencySeconds: 5,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--jobs': args.jobs = Number(value); i++; break;
      case '--modes': args.modes = value.split(','); i++; break;
      case '--rounds': args.rounds = Number(value); i++; break;
      case '--herald': args.herald = value; i++; break;
      case '--latency-seconds': args.latencySeconds = Number(value); i++; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

const PAD = 'x'.repeat(160);
const dirs = new Set();

async function runOne(kind, mode, args, libs) {
  const dir = await mkdtemp(path.join(tmpdir(), `bench-${kind}-`));
  dirs.add(dir);
  const server = kind === 'redis'
    ? await RedisServer.start(mode, dir)
    : await HeraldServer.start(args.herald, mode, dir);
  const side = {kind, lib: libs[kind],
                connection: {host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null}};
  try {
    const added = await enqueue(side, 'bench', args.jobs, {data: (i) => ({i, pad: PAD})});
    const processed = await processAll(side, 'bench', args.jobs, 5);
    const lat = await paced(side, 'probe', {rate: 500, jobs: 500 * args.latencySeconds});
    return {enqueueRate: added.rate, processRate: processed.rate, lat};
  } finally {
    await server.stop();
    await rm(dir, {recursive: true, force: true});
    dirs.delete(dir);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const k = (rate) => rate >= 1000 ? `${(rate / 1000).toFixed(1)}k` : rate.toFixed(0);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const libs = await libraries(ROOT);
  const rows = [];
  for (const mode of args.modes) {
    const results = {herald: [], redis: []};
    for (let round = 0; round < args.rounds; round++) {
      const order = round % 2 === 0 ? ['redis', 'herald'] : ['herald', 'redis'];
      for (const kind of order) {
        process.stderr.write(`  ${mode} round ${round + 1}/${args.rounds}: ${kind === 'redis' ? 'BullMQ on redis-server' : 'herald-client on Herald'} ...\n`);
        results[kind].push(await runOne(kind, mode, args, libs));
      }
    }
    const pick = (kind, f) => median(results[kind].map(f));
    for (const [test, f, unit] of [
      ['enqueue', (r) => r.enqueueRate, '/s'],
      ['process', (r) => r.processRate, '/s'],
    ]) {
      const h = pick('herald', f), b = pick('redis', f);
      rows.push([mode, test, `${k(h)}${unit}`, `${k(b)}${unit}`, (h / b).toFixed(2)]);
    }
    for (const [name, q] of [['add-to-start p50', 'p50'], ['add-to-start p99', 'p99']]) {
      const h = pick('herald', (r) => r.lat[q]), b = pick('redis', (r) => r.lat[q]);
      rows.push([mode, name, `${h.toFixed(1)} ms`, `${b.toFixed(1)} ms`, (h / b).toFixed(2)]);
    }
  }
  const header = ['mode', 'test', 'herald-client on Herald', 'BullMQ on Redis', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(`(${args.jobs} jobs, ${args.rounds} round(s), latency at 500 adds/s for ${args.latencySeconds} s; ` +
              'rates: higher is better; latency: lower is better)');
}

process.on('exit', () => {
  killAll();
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true});
});
process.on('SIGINT', () => process.exit(130));
main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
