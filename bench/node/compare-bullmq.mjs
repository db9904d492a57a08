// BullMQ on redis-server against clients/node on Herald: the same scenario through the same
// code (both libraries have Queue and Worker of one shape), in one run, per durability mode.
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
//   - latency: adds at 500/s for S seconds while the Worker runs; add -> processor start,
//     p50 and p99 in ms (the clock of this one process on both ends).
// BullMQ's jobs are added with removeOnComplete: 1000, as Herald keeps 1000 completed jobs
// per queue by default. Needs `npm ci` here, the client built (npm run build in clients/node)
// and a release build of herald; redis-server from tools/herald-dev setup.
import {spawn} from 'node:child_process';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {fileURLToPath} from 'node:url';

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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts `command` and resolves with the process once `ready` matches its output.
async function startProcess(command, argv, ready, what) {
  const child = spawn(command, argv, {stdio: ['ignore', 'pipe', 'pipe']});
  let log = '';
  const onData = (chunk) => { log = (log + chunk.toString()).slice(-20000); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const match = ready.exec(log);
    if (match) return {child, match};
    if (child.exitCode !== null) throw new Error(`${what} exited before it was ready:\n${log}`);
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(`${what} was not ready in 30 s:\n${log}`);
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(20000).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

// A server of one kind in its own temp dir; `port` is known once it is up.
async function startServer(kind, mode, args, dir) {
  if (kind === 'redis') {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const {child} = await startProcess('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', mode, '--daemonize', 'no',
    ], /Ready to accept connections/, 'redis-server');
    return {child, port};
  }
  const {child, match} = await startProcess(args.herald, [
    '--data-dir', dir, '--port', '0', '--http-port', '0', '--fsync', mode, '--workers', '0',
  ], /RESP\s+127\.0\.0\.1:(\d+)[\s\S]*herald ready/, 'herald');
  return {child, port: Number(match[1])};
}

async function library(kind) {
  if (kind === 'redis') return import('bullmq');
  return import(path.join(ROOT, 'clients/node/dist/src/index.js'));
}

const PAD = 'x'.repeat(160);

async function enqueue(lib, kind, connection, queueName, jobs) {
  const queue = new lib.Queue(queueName, {connection});
  const opts = kind === 'redis' ? {removeOnComplete: 1000} : {};
  let next = 0;
  const start = performance.now();
  async function lane() {
    while (next < jobs) {
      const i = next++;
      await queue.add('bench', {i, pad: PAD}, opts);
    }
  }
  await Promise.all(Array.from({length: 50}, lane));
  const seconds = (performance.now() - start) / 1000;
  await queue.close();
  return jobs / seconds;
}

async function processAll(lib, connection, queueName, jobs) {
  let done = 0;
  let resolveAll;
  const all = new Promise((resolve) => { resolveAll = resolve; });
  const start = performance.now();
  const worker = new lib.Worker(queueName, async () => 'ok', {connection, concurrency: 5});
  worker.on('completed', () => {
    if (++done === jobs) resolveAll();
  });
  worker.on('error', (error) => console.error(`worker error: ${error.message}`));
  await all;
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  return jobs / seconds;
}

async function latency(lib, kind, connection, queueName, seconds) {
  const delays = [];
  const worker = new lib.Worker(queueName, async (job) => {
    delays.push(performance.timeOrigin + performance.now() - job.data.t0);
    return 'ok';
  }, {connection, concurrency: 5});
  worker.on('error', (error) => console.error(`worker error: ${error.message}`));
  const queue = new lib.Queue(queueName, {connection});
  const opts = kind === 'redis' ? {removeOnComplete: 1000} : {};
  const total = 500 * seconds;
  const start = performance.now();
  const adds = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * 2;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    adds.push(queue.add('probe', {t0: performance.timeOrigin + performance.now()}, opts));
  }
  await Promise.all(adds);
  const deadline = Date.now() + 30000;
  while (delays.length < total && Date.now() < deadline) await sleep(20);
  await worker.close();
  await queue.close();
  delays.sort((a, b) => a - b);
  const at = (q) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  return {p50: at(0.5), p99: at(0.99), seen: delays.length, total};
}

async function runOne(kind, mode, args) {
  const dir = await mkdtemp(path.join(tmpdir(), `bench-${kind}-`));
  const server = await startServer(kind, mode, args, dir);
  const lib = await library(kind);
  const connection = {host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null};
  try {
    const enqueueRate = await enqueue(lib, kind, connection, 'bench', args.jobs);
    const processRate = await processAll(lib, connection, 'bench', args.jobs);
    const lat = await latency(lib, kind, connection, 'probe', args.latencySeconds);
    return {enqueueRate, processRate, lat};
  } finally {
    await stopProcess(server.child);
    await rm(dir, {recursive: true, force: true});
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const k = (rate) => rate >= 1000 ? `${(rate / 1000).toFixed(1)}k` : rate.toFixed(0);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const rows = [];
  for (const mode of args.modes) {
    const results = {herald: [], redis: []};
    for (let round = 0; round < args.rounds; round++) {
      const order = round % 2 === 0 ? ['redis', 'herald'] : ['herald', 'redis'];
      for (const kind of order) {
        process.stderr.write(`  ${mode} round ${round + 1}/${args.rounds}: ${kind === 'redis' ? 'BullMQ on redis-server' : 'herald-client on Herald'} ...\n`);
        results[kind].push(await runOne(kind, mode, args));
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
