// What the browser tests share: a herald of their own (temp data dir, port 0, killed at the
// end), Debian's Chromium driven by playwright-core, the JSON API from Node, waiting for a
// condition, and screenshots.

import {spawn} from 'node:child_process';
import {mkdtemp, rm, writeFile, readFile, mkdir} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';

let chromium;
async function playwright() {
  if (!chromium) {
    try {
      ({chromium} = await import('playwright-core'));
    } catch (error) {
      throw new Error(`playwright-core is not installed in tests/browser (run tools/herald-dev setup, ` +
                      `or npm ci there): ${error.message}`);
    }
  }
  return chromium;
}

export class Herald {
  constructor(binary) {
    this.binary = binary;
    this.child = null;
    this.url = null;
    this.dir = null;
    this.log = '';
  }

  // Starts herald with `args` after the test's own: a temp data dir, port 0, mock events, and
  // `config` (TOML text, or the repository's config/herald.toml).
  async start({args = [], config = null, timeoutMs = 30000} = {}) {
    this.dir = await mkdtemp(path.join(tmpdir(), 'herald-browser-'));
    let configPath = path.join(SOURCE_DIR, 'config/herald.toml');
    if (config !== null) {
      configPath = path.join(this.dir, 'herald.toml');
      await writeFile(configPath, config);
    }
    const dataDir = path.join(this.dir, 'data');
    await mkdir(dataDir);
    const argv = ['--config', configPath, '--data-dir', dataDir, '--port', '0', '--http-port', '0',
                  '--mock-events', ...args];
    this.child = spawn(this.binary, argv, {stdio: ['ignore', 'pipe', 'pipe']});
    // The log's tail is kept for failure messages (a large test logs a line per failed job).
    const onData = (chunk) => { this.log = (this.log + chunk.toString()).slice(-200000); };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    const exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({code, signal})));
    this.exited = exited;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = /HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(this.log);
      if (match && /herald ready/.test(this.log)) {
        this.url = `http://127.0.0.1:${match[1]}`;
        return this;
      }
      const done = await Promise.race([exited, sleep(50).then(() => null)]);
      if (done) throw new Error(`herald exited (${JSON.stringify(done)}) before it was ready:\n${this.log}`);
    }
    throw new Error(`herald was not ready in ${timeoutMs} ms:\n${this.log}`);
  }

  // SIGTERM, as an operator stops it; a herald that does not exit cleanly fails the test.
  async stop() {
    let problem = null;
    if (this.child) {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        this.child.kill('SIGTERM');
        const done = await Promise.race([this.exited, sleep(20000).then(() => null)]);
        if (!done) {
          this.child.kill('SIGKILL');
          await this.exited;
          problem = 'herald did not stop within 20 s of SIGTERM';
        } else if (done.code !== 0) {
          problem = `herald exited with ${JSON.stringify(done)} after SIGTERM`;
        }
      } else {
        problem = `herald had exited during the test (${this.child.exitCode ?? this.child.signalCode})`;
      }
    }
    if (this.dir) await rm(this.dir, {recursive: true, force: true});
    this.child = null;
    if (problem) throw new Error(`${problem}\n--- herald log ---\n${this.log.slice(-4000)}`);
  }

  // The JSON API: resolves to {status, body}.
  async api(method, apiPath, body) {
    const response = await fetch(this.url + apiPath, {
      method,
      headers: body === undefined ? {} : {'Content-Type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return {status: response.status, body: json, headers: response.headers};
  }

  async mockEvent(name, body = {}) {
    const answer = await this.api('POST', `/mock-events/${name}`, body);
    if (answer.status !== 202) throw new Error(`POST /mock-events/${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  async job(id) {
    const answer = await this.api('GET', `/api/jobs/${encodeURIComponent(id)}`);
    return answer.status === 200 ? answer.body : null;
  }

  async waitForJob(id, predicate, what, timeoutMs = 20000) {
    return waitFor(async () => {
      const job = await this.job(id);
      return job && predicate(job) ? job : null;
    }, what || `job ${id}`, timeoutMs);
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls `fn` until it returns something truthy.
export async function waitFor(fn, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export async function launchBrowser() {
  const browserType = await playwright();
  return browserType.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page that fails the test on an uncaught script error, and remembers console errors.
export async function openPage(browser, {viewport = {width: 1280, height: 900}, colorScheme = 'light',
                                         isMobile = false, deviceScaleFactor = 1} = {}) {
  const context = await browser.newContext({viewport, colorScheme, isMobile, hasTouch: isMobile,
                                            deviceScaleFactor});
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error));
  return page;
}

export function assertNoPageErrors(page) {
  if (page.errors.length) {
    throw new Error(`the page threw: ${page.errors.map((e) => e.stack || e.message).join('\n')}`);
  }
}

export async function screenshot(page, dir, name) {
  await mkdir(dir, {recursive: true});
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  return file;
}

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function assertEqual(actual, expected, message) {
  if (actual !== expected) {
    throw new Error(`assertion failed: ${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// config/herald.toml with some of its settings changed: `edit(text) -> text`.
export async function configWith(edit) {
  const text = await readFile(path.join(SOURCE_DIR, 'config/herald.toml'), 'utf8');
  return edit(text);
}

// Replaces `key = value` in the [section] of a TOML text (the first of that key after it).
export function setTomlKey(text, section, key, value) {
  const start = text.indexOf(`[${section}]`);
  if (start < 0) throw new Error(`no [${section}] in the config`);
  const rest = text.slice(start);
  const re = new RegExp(`^${key}\\s*=.*$`, 'm');
  if (!re.test(rest)) throw new Error(`no ${key} in [${section}]`);
  return text.slice(0, start) + rest.replace(re, `${key} = ${value}`);
}
