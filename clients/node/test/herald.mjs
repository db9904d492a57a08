// What the client's tests share: a herald of their own (temp data dir, RESP and HTTP on port 0
// of 127.0.0.1, no broker worker threads), waiting for a condition with a deadline, and
// connection options for it.
//
// The binary is $HERALD_BIN, or the release build in this repository.

import {spawn} from 'node:child_process';
import {accessSync, constants, rmSync, statSync} from 'node:fs';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(PACKAGE_DIR, '../..');
export const SAMPLE_CONFIG = path.join(REPO_DIR, 'config/herald.toml');

export function heraldBinary() {
  if (process.env.HERALD_BIN) return process.env.HERALD_BIN;
  // The CMake target's output is build/<preset>/tools/herald/herald or, where the tool's folder
  // is itself the output name, build/<preset>/tools/herald.
  const candidates = [path.join(REPO_DIR, 'build/release/tools/herald/herald'),
                      path.join(REPO_DIR, 'build/release/tools/herald')];
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // Not this one.
    }
  }
  throw new Error(`no herald binary: set HERALD_BIN, or build the release preset (looked at ${candidates.join(', ')})`);
}

// Heralds still running, and their temp directories. A test process that ends without stopping
// one (a failed before hook, a runner's timeout signal) kills it and removes its directory
// rather than leave them behind.
const running = new Map();
let cleanupInstalled = false;

function killLeftovers() {
  for (const [child, root] of running) {
    child.kill('SIGKILL');
    rmSync(root, {recursive: true, force: true});
  }
  running.clear();
}

function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', killLeftovers);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      killLeftovers();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

export class Herald {
  constructor() {
    this.child = null;
    this.port = 0;
    this.httpPort = 0;
    this.root = null;
    this.dataDir = null;
    this.log = '';
  }

  // Starts herald. `config`: TOML text written to a temp file, or `configFile`: a path (e.g.
  // SAMPLE_CONFIG); neither uses the built-in defaults. `dataDir` and `port` restart a herald
  // on the store and port of an earlier one.
  async start({config = null, configFile = null, dataDir = null, port = 0, args = [], timeoutMs = 30000} = {}) {
    if (!this.root) this.root = await mkdtemp(path.join(tmpdir(), 'herald-node-client-'));
    this.dataDir = dataDir ?? path.join(this.root, 'data');
    await mkdir(this.dataDir, {recursive: true});
    const argv = ['--data-dir', this.dataDir, '--bind', '127.0.0.1', '--port', String(port),
                  '--http-port', '0', '--workers', '0', '--fsync', 'everysec'];
    if (config !== null) {
      configFile = path.join(this.root, 'herald.toml');
      await writeFile(configFile, config);
    }
    if (configFile !== null) argv.push('--config', configFile);
    argv.push(...args);
    this.log = '';
    installCleanup();
    const child = spawn(heraldBinary(), argv, {stdio: ['ignore', 'pipe', 'pipe']});
    this.child = child;
    running.set(child, this.root);
    child.once('exit', () => running.delete(child));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`herald was not ready in ${timeoutMs} ms:\n${this.log}`)),
                               timeoutMs);
      const onData = (chunk) => {
        // The tail is kept for failure messages.
        this.log = (this.log + chunk.toString()).slice(-200000);
        const resp = /RESP\s+127\.0\.0\.1:(\d+)/.exec(this.log);
        const http = /HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(this.log);
        if (resp && http && /herald ready/.test(this.log)) {
          this.port = Number(resp[1]);
          this.httpPort = Number(http[1]);
          done(null);
        }
      };
      const onExit = (code, signal) => done(new Error(`herald exited (${code ?? signal}) before it was ready:\n${this.log}`));
      const onError = (error) => done(error);
      const done = (error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    return this;
  }

  // ioredis options for this herald.
  get connection() {
    return {host: '127.0.0.1', port: this.port};
  }

  // SIGTERM, as an operator stops it; a herald that does not exit 0 fails the test. The temp
  // directory is removed unless `keepData` (for a restart on the same store).
  async stop({keepData = false} = {}) {
    let problem = null;
    const child = this.child;
    this.child = null;
    if (child) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
        const done = await this.exited;
        clearTimeout(timer);
        if (done.code !== 0) problem = `herald exited with ${JSON.stringify(done)} after SIGTERM`;
      } else {
        problem = `herald had exited during the test (${child.exitCode ?? child.signalCode})`;
      }
    }
    if (!keepData && this.root) {
      await rm(this.root, {recursive: true, force: true});
      this.root = null;
    }
    if (problem) throw new Error(`${problem}\n--- herald log ---\n${this.log.slice(-4000)}`);
  }
}

// Polls `check` (sync or async) until it returns a truthy value, which it resolves to; rejects
// naming `what` after `timeoutMs`.
export async function waitFor(check, what, {timeoutMs = 10000, intervalMs = 20} = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// Resolves with the arguments of the first `event` that `emitter` emits and `accept` takes.
export function nextEvent(emitter, event, accept = () => true, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args) => {
      if (!accept(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}
