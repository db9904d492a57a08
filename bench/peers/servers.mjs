// The servers of a side-by-side run: redis-server in a durability mode and Herald at an fsync
// mode, each in a directory of its own, on 127.0.0.1 only. Every process started here is kept
// in one set until it exits, so that killAll() can end them all when the run is interrupted.
import {spawn, execFileSync} from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const live = new Set();

function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

// Ends every process started here at once (SIGKILL): for exits on a signal or an error, when
// there is no time to wait. Synchronous, so it can run in process.on('exit').
export function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

// Runs a command to its end: {code, stdout, stderr}.
export function run(command, argv, {input} = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, argv, {stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe']}));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-20000); });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({code: code ?? signal, stdout, stderr}));
    if (input) child.stdin.end(input);
  });
}

// Starts `command` and resolves once `ready` matches its output: {child, match, log()}.
export async function startProcess(command, argv, ready, what, timeoutMs = 60000) {
  const child = track(spawn(command, argv, {stdio: ['ignore', 'pipe', 'pipe']}));
  let log = '';
  const onData = (chunk) => { log = (log + chunk.toString()).slice(-20000); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = ready.exec(log);
    if (match) return {child, match, log: () => log};
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited before it was ready:\n${log}`);
    }
    await sleep(5);
  }
  child.kill('SIGKILL');
  throw new Error(`${what} was not ready in ${timeoutMs / 1000} s:\n${log}`);
}

// SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited.
export async function stopProcess(child, graceMs = 60000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

// A port the kernel had free a moment ago (redis-server cannot be given port 0).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

// One command over a fresh connection; resolves to the reply (a string, a number, or an
// Error for an error reply). Enough for PING, INFO, SHUTDOWN and the like.
export function command(port, args, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: '127.0.0.1', port});
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('timed out')); }, timeoutMs);
    const finish = (value, failed) => {
      clearTimeout(timer);
      socket.destroy();
      failed ? reject(value) : resolve(value);
    };
    socket.on('error', (error) => finish(error, true));
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n` +
                   args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(''));
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n');
      if (end < 0) return;
      const head = data.subarray(1, end).toString();
      switch (String.fromCharCode(data[0])) {
        case '+': return finish(head);
        case '-': return finish(new Error(head));
        case ':': return finish(Number(head));
        case '$': {
          const size = Number(head);
          if (size < 0) return finish(null);
          if (data.length >= end + 2 + size) return finish(data.subarray(end + 2, end + 2 + size).toString());
          return undefined;
        }
        default: return finish(new Error(`unexpected reply ${head}`), true);
      }
    });
  });
}

// Resolves once PING answers PONG (a loading Redis answers -LOADING until it is done).
export async function waitPong(port, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await command(port, ['PING'], 1000)) === 'PONG') return;
    } catch {
      // not listening yet
    }
    await sleep(2);
  }
  throw new Error(`nothing answered PING on port ${port} in ${timeoutMs / 1000} s`);
}

// Disk use of `dir` in bytes (du: blocks allocated).
export function diskBytes(dir) {
  return Number(execFileSync('du', ['-sk', dir]).toString().split('\t')[0]) * 1024;
}

// redis-server as BullMQ runs on it. `mode`: 'rdb' (appendonly no, Redis's default save
// points), 'everysec' or 'always' (appendonly yes with that appendfsync, no RDB save points,
// as bench/compare-redis.sh runs it).
export class RedisServer {
  static async start(mode, dir, port) {
    const server = new RedisServer(mode, dir);
    server.port = port ?? await freePort();
    await server.launch();
    return server;
  }

  constructor(mode, dir) {
    this.kind = 'redis';
    this.mode = mode;
    this.dir = dir;
  }

  args() {
    const durability = this.mode === 'rdb'
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', this.mode, '--save', ''];
    return ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
            '--daemonize', 'no', ...durability];
  }

  async launch() {
    const {child} = await startProcess('redis-server', this.args(),
                                       /Ready to accept connections/, 'redis-server');
    this.child = child;
    this.pid = child.pid;
  }

  async stop() { if (this.child) await stopProcess(this.child); }

  // Stops it and starts it again on the same port: ms from the start to the first PONG.
  async restart() {
    await this.stop();
    const start = performance.now();
    const child = track(spawn('redis-server', this.args(), {stdio: 'ignore'}));
    this.child = child;
    this.pid = child.pid;
    await waitPong(this.port);
    return performance.now() - start;
  }

  async usedMemory() {
    const info = await command(this.port, ['INFO', 'memory']);
    return Number(/used_memory:(\d+)/.exec(info)[1]);
  }
}

// Herald as bench/compare starts it: --port 0 --http-port 0 --workers 0 (only the clients
// take jobs), the ports read from its log. `workers`: in-process handler threads instead;
// `extra`: more arguments (a --config).
export class HeraldServer {
  static async start(binary, mode, dir, {workers = 0, extra = []} = {}) {
    const server = new HeraldServer(binary, mode, dir, workers, extra);
    await server.launch('0');
    return server;
  }

  constructor(binary, mode, dir, workers, extra) {
    this.kind = 'herald';
    this.binary = binary;
    this.mode = mode;
    this.dir = dir;
    this.workers = workers;
    this.extra = extra;
  }

  args(port) {
    return ['--data-dir', this.dir, '--bind', '127.0.0.1', '--port', port, '--http-port', '0',
            '--fsync', this.mode, '--workers', String(this.workers), ...this.extra];
  }

  async launch(port) {
    const {child, match} = await startProcess(
        this.binary, this.args(port),
        /RESP\s+127\.0\.0\.1:(\d+)\s[\s\S]*HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\/[\s\S]*herald ready/,
        'herald');
    this.child = child;
    this.pid = child.pid;
    this.port = Number(match[1]);
    this.httpPort = Number(match[2]);
  }

  async stop() { if (this.child) await stopProcess(this.child); }

  // Stops it (a clean shutdown) and starts it again on the same RESP port: ms from the start
  // of the process to the first PONG.
  async restart() {
    await this.stop();
    const start = performance.now();
    const child = track(spawn(this.binary, this.args(String(this.port)), {stdio: 'ignore'}));
    this.child = child;
    this.pid = child.pid;
    await waitPong(this.port);
    return performance.now() - start;
  }
}

// PostgreSQL for Herald's postgres store backend (bench/compare --postgres): `initdb` into
// `dir`, a server on a free loopback port with its socket in `dir`, durable as in production
// (fsync and synchronous_commit on, PostgreSQL's defaults). Run as the `postgres` user when
// this runs as root (PostgreSQL refuses root). Each Herald gets a database of its own
// (database()).
export class PostgresServer {
  static async start(dir) {
    const server = new PostgresServer(dir);
    await server.launch();
    return server;
  }

  constructor(dir) {
    this.kind = 'postgres';
    this.dir = dir;
    this.databases = 0;
    const versions = execFileSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'])
      .toString().trim();
    if (!versions) throw new Error('no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql-15)');
    this.bin = versions;
    this.asUser = process.getuid() === 0 ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups'] : [];
  }

  // Runs a PostgreSQL program as the cluster's owner.
  exec(program, argv) {
    const [command, ...rest] = [...this.asUser, `${this.bin}/${program}`, ...argv];
    return run(command, rest);
  }

  async launch() {
    if (this.asUser.length > 0) {
      // The postgres user must reach its directory: the run's temp dir is root's, mode 0700.
      execFileSync('chmod', ['o+x', path.dirname(this.dir)]);
      execFileSync('chown', ['postgres:postgres', this.dir]);
    }
    const data = `${this.dir}/data`;
    const made = await this.exec('initdb', ['-D', data, '-U', 'herald', '--auth=trust', '-E', 'UTF8']);
    if (made.code !== 0) throw new Error(`initdb: ${made.stdout}${made.stderr}`);
    this.port = await freePort();
    const [command, ...rest] = [...this.asUser, `${this.bin}/postgres`, '-D', data, '-p', String(this.port),
                                '-k', this.dir, '-c', 'listen_addresses=127.0.0.1'];
    const {child} = await startProcess(command, rest, /database system is ready to accept connections/,
                                       'postgres');
    this.child = child;
    this.pid = child.pid;
  }

  // A new, empty database: its libpq connection string.
  async database() {
    const name = `herald_${++this.databases}`;
    const made = await this.exec('createdb', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'herald', name]);
    if (made.code !== 0) throw new Error(`createdb ${name}: ${made.stdout}${made.stderr}`);
    return `host=127.0.0.1 port=${this.port} dbname=${name} user=herald`;
  }

  async stop() { if (this.child) await stopProcess(this.child); }
}
