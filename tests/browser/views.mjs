// Every view of the dashboard on seeded data: each one's screenshot (desktop, and the overview
// on a phone and in dark mode), no script error, deep links that survive a reload and the back
// button, and the HTTP side of the page (types, caching, security headers). And the same
// views with 10^5 failed jobs and a 1 MiB payload, each rendered within a second.

import net from 'node:net';
import {Herald, openPage, assert, assertEqual, assertNoPageErrors, screenshot, waitFor,
        configWith, setTomlKey} from './harness.mjs';

async function seed(herald) {
  // Completed and failed emails (an invalid address fails at once), a push, a ticket.
  const done = [];
  for (const name of ['booking-created', 'booking-confirmed', 'booking-reminder', 'payment-received', 'payment-failed']) {
    done.push(await herald.mockEvent(name));
  }
  const failed = [];
  for (let i = 0; i < 3; i++) failed.push(await herald.mockEvent('booking-created', {userEmail: `broken-${i}`}));
  failed.push(await herald.mockEvent('booking-cancelled', {userEmail: 'no-domain@'}));
  for (const e of [...done, ...failed]) {
    await herald.waitForJob(e.eventId, (j) => j.state === 'completed' || j.state === 'failed', `${e.eventId} finished`);
  }
  // A delayed job with a 1 MiB payload, and one waiting in a paused queue.
  const blob = 'x'.repeat(1 << 20);
  const big = await herald.api('POST', '/api/queues/notifications/jobs', {
    data: {eventType: 'booking.reminder', eventId: 'evt_big_payload', data: {bookingId: 'bk_big', userId: 'user_1001', note: blob,
           items: Array.from({length: 300}, (_, i) => ({n: i, label: `item ${i}`}))}},
    delay: 3600000, jobId: 'evt_big_payload'});
  assert(big.status === 201, `the big job: ${big.status} ${JSON.stringify(big.body)}`);
  const device = await herald.api('PUT', '/api/users/user_1001/devices', {token: 'fcm-token-of-jane-phone', platform: 'ios'});
  if (device.status !== 201) throw new Error(`device registration answered ${device.status}`);
  await herald.api('POST', '/api/queues/tickets/pause');
  await herald.mockEvent('payment-failed', {reason: 'card expired'});
  return {done, failed, big: 'evt_big_payload'};
}

async function checkHttp(herald) {
  const page = await fetch(`${herald.url}/queues`);
  assertEqual(page.status, 200, 'GET /queues');
  assert(page.headers.get('content-type').startsWith('text/html'), 'the page is HTML');
  assert(page.headers.get('etag'), 'the page has an ETag');
  assertEqual(page.headers.get('cache-control'), 'no-cache', 'the page is revalidated');
  assert(/script-src 'self'/.test(page.headers.get('content-security-policy') || ''), 'a CSP');
  const html = await page.text();
  const version = /\/queues\/assets\/([0-9a-f]{12})\/app\.js/.exec(html);
  assert(version, 'the page names its versioned script');
  const deep = await fetch(`${herald.url}/queues/jobs/some%2Fid`);
  assertEqual(deep.status, 200, 'a deep link is the page');
  assertEqual(await deep.text(), html, 'a deep link has the same page');
  const js = await fetch(`${herald.url}/queues/assets/${version[1]}/app.js`);
  assertEqual(js.status, 200, 'the script');
  assert(js.headers.get('content-type').startsWith('text/javascript'), 'the script\'s type');
  assert(/immutable/.test(js.headers.get('cache-control')), 'a versioned script is cached');
  const css = await fetch(`${herald.url}/queues/assets/app.css`);
  assert(css.headers.get('content-type').startsWith('text/css'), 'the style sheet\'s type');
  assertEqual(css.headers.get('cache-control'), 'no-cache', 'an unversioned asset is revalidated');
  assertEqual((await fetch(`${herald.url}/queues/assets/nothing.js`)).status, 404, 'an unknown asset');
  assertEqual((await fetch(`${herald.url}/queues/assets/index.html`)).status, 404, 'the page is no asset');
}

// Goes to `path` in the page as a person would (a link, or the address bar for the first).
async function visit(page, url, selector) {
  await page.goto(url);
  await page.waitForSelector(selector);
}

export async function views({binary, shots, browser}) {
  const herald = new Herald(binary);
  try {
    // Tickets keep their finished jobs by count and by age (shown in the card's policy line).
    const config = await configWith((text) => text.replace(
        '[queues.tickets]', '[queues.tickets]\nkeep_completed = 500\nkeep_failed_age_ms = 86400000'));
    await herald.start({config});
    await checkHttp(herald);
    const seeded = await seed(herald);
    const base = herald.url;
    const page = await openPage(browser);

    await visit(page, `${base}/queues`, 'article.card[data-queue="tickets"].is-paused');
    const kept = await page.locator('article.card[data-queue="tickets"] .policy').textContent();
    assert(/keeps 500 completed · keeps failed for 1 d/.test(kept), `the retention is shown: ${kept}`);
    await page.waitForSelector('article.card[data-queue="emails"] .sparkline');
    await screenshot(page, shots, 'view-overview');

    await visit(page, `${base}/queues/emails?state=failed`, 'tbody tr[data-id]');
    assertEqual(await page.locator('tbody tr[data-id]').count(), 4, 'four failed emails');
    await screenshot(page, shots, 'view-queue-failed');
    await visit(page, `${base}/queues/emails?state=completed`, 'tbody tr[data-id]');
    await screenshot(page, shots, 'view-queue-completed');

    // The job with a 1 MiB payload: cut, collapsible, "show all" on demand.
    const started = Date.now();
    await visit(page, `${base}/queues/jobs/${seeded.big}`, '.payload');
    const shownIn = Date.now() - started;
    assert(shownIn < 3000, `the 1 MiB job shows in ${shownIn} ms`);
    await page.waitForSelector('.notice.why');
    assert(/delayed/i.test(await page.locator('.notice.why').textContent()), 'why it is not running');
    const cut = await page.locator('.payload .toolbar').textContent();
    assert(/Showing the first/.test(cut), `the payload says it is cut: ${cut}`);
    await screenshot(page, shots, 'view-job-big-payload');
    await page.click('.payload .toolbar button:has-text("Show all")');
    await page.waitForSelector('.j-tree');
    await page.waitForSelector('.j-tree details.j-node');
    await screenshot(page, shots, 'view-job-big-payload-all');

    // A failed job's page, reloaded, is the same page; back goes to where it came from.
    await visit(page, `${base}/queues/emails?state=failed`, `tbody tr[data-id="${seeded.failed[0].eventId}"]`);
    await page.click(`tbody tr[data-id="${seeded.failed[0].eventId}"] a.job-link`);
    await page.waitForSelector('h1 .badge');
    await page.waitForSelector('.attempt');
    await screenshot(page, shots, 'view-job-failed');
    await page.reload();
    await page.waitForSelector('.attempt');
    assert(page.url().endsWith(`/queues/jobs/${seeded.failed[0].eventId}`), 'reload keeps the job');
    await page.goBack();
    await page.waitForSelector('a.tab[data-state="failed"][aria-current="page"]');

    await visit(page, `${base}/queues/failures`, 'section.panel[data-queue="emails"] tbody tr');
    await screenshot(page, shots, 'view-failures');
    // A group's jobs: the queue's failed list narrowed to the group's fingerprint.
    await page.click('section.panel[data-queue="emails"] tbody tr:has(td.num strong:text-is("3")) a.button');
    await page.waitForURL(/fingerprint=/);
    await page.waitForSelector('.chip');
    await waitFor(async () => (await page.locator('tbody tr[data-id]').count()) === 3, 'the group\'s three jobs');
    await screenshot(page, shots, 'view-queue-group');
    await visit(page, `${base}/queues/users/user_1001`, '#deliveries tbody tr');
    await page.waitForSelector('#inbox .inbox-item');
    await page.waitForSelector('#devices tr[data-token="fcm-token-of-jane-phone"]');
    await screenshot(page, shots, 'view-user');
    await visit(page, `${base}/queues/tickets`, 'tbody tr');
    await screenshot(page, shots, 'view-tickets');
    await visit(page, `${base}/queues/audit`, 'h1');
    await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Loading…'));
    await screenshot(page, shots, 'view-audit');
    await visit(page, `${base}/queues/charts`, 'h1');
    await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Loading…'));
    await screenshot(page, shots, 'view-charts');
    await visit(page, `${base}/queues/nowhere/at/all`, 'h1');
    assertEqual(await page.locator('h1').textContent(), 'Nothing here', 'an unknown view');

    // Keyboard: "g f" goes to the failures, "/" finds the search box.
    await visit(page, `${base}/queues/emails`, 'input[name="q"]');
    await page.locator('body').press('g');
    await page.locator('body').press('f');
    await page.waitForURL('**/queues/failures');
    await visit(page, `${base}/queues/emails`, 'input[name="q"]');
    await page.locator('body').press('/');
    assertEqual(await page.evaluate(() => document.activeElement.name), 'q', '"/" focuses the search');
    assertNoPageErrors(page);
    await page.context().close();

    const phone = await openPage(browser, {viewport: {width: 390, height: 844}, isMobile: true, deviceScaleFactor: 2});
    await visit(phone, `${base}/queues`, 'article.card[data-queue="tickets"]');
    await screenshot(phone, shots, 'phone-overview');
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 390, `the phone overview is no wider than the screen (${width} px)`);
    await visit(phone, `${base}/queues/emails?state=failed`, 'tbody tr[data-id]');
    await screenshot(phone, shots, 'phone-queue');
    await visit(phone, `${base}/queues/jobs/${seeded.failed[0].eventId}`, '.attempt');
    await screenshot(phone, shots, 'phone-job');
    assertNoPageErrors(phone);
    await phone.context().close();

    const dark = await openPage(browser, {colorScheme: 'dark'});
    await visit(dark, `${base}/queues`, 'article.card[data-queue="tickets"]');
    await screenshot(dark, shots, 'dark-overview');
    await visit(dark, `${base}/queues/jobs/${seeded.failed[0].eventId}`, '.attempt');
    await screenshot(dark, shots, 'dark-job');
    assertNoPageErrors(dark);
    await dark.context().close();
  } catch (error) {
    error.message += `\n--- herald log (last 3000 characters) ---\n${herald.log.slice(-3000)}`;
    throw error;
  } finally {
    await herald.stop();
  }
}

// ADDJOB `count` times over one RESP connection, pipelined in batches.
async function addJobs(port, queue, count, payloadOf) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  let replies = 0;
  let pending = '';
  socket.on('data', (chunk) => {
    pending += chunk.toString('latin1');
    let at;
    while ((at = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 2);
      if (line.startsWith('-')) throw new Error(`ADDJOB: ${line}`);
      if (line.startsWith('$') || line.startsWith('+') || line.startsWith(':')) {
        if (line.startsWith('$') && line !== '$-1') {
          // The bulk string's body is on the next line.
          continue;
        }
      }
      replies++;
    }
  });
  const batch = 1000;
  for (let i = 0; i < count; i += batch) {
    let text = '';
    for (let j = i; j < Math.min(count, i + batch); j++) {
      text += `*3\r\n${bulk('ADDJOB')}${bulk(queue)}${bulk(payloadOf(j))}`;
    }
    socket.write(text);
    await waitFor(() => replies >= Math.min(count, i + batch), `ADDJOB replies ${i + batch}`, 60000);
  }
  socket.end();
}

export async function large({binary, shots, browser}) {
  const total = Number(process.env.HERALD_BROWSER_LARGE_JOBS || 100000);
  let config = await configWith((text) => text);
  config = setTomlKey(config, 'queues.emails', 'attempts', '1');
  const herald = new Herald(binary);
  try {
    await herald.start({config, args: ['--fault', 'emails:rate=1', '--fsync', 'no']});
    const resp = Number(/RESP\s+127\.0\.0\.1:(\d+)/.exec(herald.log)[1]);
    const payload = (i) => JSON.stringify({eventType: i % 3 ? 'booking.created' : 'booking.cancelled',
      eventId: `evt_load_${i}`, timestamp: new Date().toISOString(),
      data: {bookingId: `bk_${i}`, userId: `user_${i % 500}`, userEmail: `u${i}@example.com`}});
    await addJobs(resp, 'emails', total, payload);
    await waitFor(async () => (await herald.api('GET', '/api/queues/emails')).body.counts.failed >= total,
                  `${total} failed jobs`, 600000);
    const blob = JSON.stringify({eventType: 'booking.reminder', eventId: 'evt_mib', data: {bookingId: 'bk_mib', userId: 'user_1', note: 'y'.repeat(1 << 20)}});
    await herald.api('POST', '/api/queues/notifications/jobs', {payload: blob, delay: 3600000, jobId: 'evt_mib'});

    const page = await openPage(browser);
    const timed = async (name, url, selector) => {
      const t0 = Date.now();
      await page.goto(url);
      await page.waitForSelector(selector, {timeout: 30000});
      const ms = Date.now() - t0;
      await screenshot(page, shots, `large-${name}`);
      return ms;
    };
    const times = {
      overview: await timed('overview', `${herald.url}/queues`, 'article.card[data-queue="emails"] .count-value[data-state="failed"]:not(:empty)'),
      failed: await timed('queue-failed', `${herald.url}/queues/emails?state=failed`, 'tbody tr[data-id]'),
      search: await timed('queue-search', `${herald.url}/queues/emails?state=failed&q=evt_load_99999`, '.list-status:not(:empty)'),
      failures: await timed('failures', `${herald.url}/queues/failures?queue=emails`, 'section.panel[data-queue="emails"] tbody tr'),
      job: await timed('job-mib', `${herald.url}/queues/jobs/evt_mib`, '.payload'),
    };
    console.log(`  ${total} failed jobs, render times (ms): ${JSON.stringify(times)}`);
    for (const [view, ms] of Object.entries(times)) {
      assert(ms < (process.env.HERALD_BROWSER_LARGE_BUDGET_MS ? Number(process.env.HERALD_BROWSER_LARGE_BUDGET_MS) : 1000),
             `${view} rendered in ${ms} ms`);
    }
    // A later page of 10^5 is reached by its cursor (the "next" link), without walking them on
    // the page.
    await page.goto(`${herald.url}/queues/emails?state=failed`);
    await page.waitForSelector('tbody tr[data-id]', {timeout: 30000});
    const firstId = await page.locator('tbody tr[data-id]').first().getAttribute('data-id');
    await page.click('a[rel="next"]');
    await page.waitForURL('**cursor=**', {timeout: 30000});
    await page.waitForSelector('tbody tr[data-id]', {timeout: 30000});
    assertEqual(await page.locator('tbody tr[data-id]').count() > 0, true, 'rows of a later page');
    assertEqual(await page.locator(`tbody tr[data-id="${firstId}"]`).count(), 0, 'the first page\'s first job on a later page');
    await screenshot(page, shots, 'large-queue-later-page');
    assertNoPageErrors(page);
    await page.context().close();
  } catch (error) {
    error.message += `\n--- herald log (last 3000 characters) ---\n${herald.log.slice(-3000)}`;
    throw error;
  } finally {
    await herald.stop();
  }
}


// The views of endpoints that a server may not have yet (history, audit, the event stream),
// fed from fixtures in the shapes the API documents: charts drawn, audit rows, and the
// overview's activity naming jobs from the stream.
export async function fixtures({binary, shots, browser}) {
  const herald = new Herald(binary);
  try {
    await herald.start({});
    const now = Date.now();
    const minute0 = Math.floor(now / 60000) * 60000;
    const minutes = [];
    for (let i = 0; i < 60; i++) {
      const minute = minute0 - i * 60000;
      for (const [queue, scale] of [['emails', 40], ['notifications', 25], ['tickets', 4]]) {
        const wave = Math.round(scale * (1 + Math.sin(i / 6)) / 2);
        minutes.push({minute, queue, added: wave + 2, completed: wave, failed: i % 9 === 0 ? Math.ceil(scale / 10) : 0,
                      waitP50Ms: 3 + (i % 5), waitP99Ms: 20 + ((i * 7) % 40), latenessP99Ms: i % 4 === 0 ? 2 + (i % 3) : 0});
      }
    }
    const entries = [
      {at: now - 5000, client: '127.0.0.1:40312', action: 'bulk.retry', target: 'emails', matched: 1234, detail: 'filter state=failed q=timeout'},
      {at: now - 60000, client: '127.0.0.1:40312', action: 'queue.pause', target: 'tickets', matched: null, detail: ''},
      {at: now - 120000, client: '127.0.0.1:40300', action: 'job.delete', target: 'evt_0123456789abcdef', matched: 1, detail: 'failed'},
    ];
    const queues = (await herald.api('GET', '/api/queues')).body.queues;
    const counts = {queues: queues.map((q) => ({name: q.name, counts: {...q.counts, waiting: 7}, paused: q.paused}))};
    const jobs = [{type: 'added', queue: 'emails', id: 'evt_from_stream', attemptsMade: 0, at: now},
                  {type: 'completed', queue: 'emails', id: 'evt_from_stream', attemptsMade: 1, at: now + 10}];
    const stream = `retry: 3600000\n\nevent: counts\ndata: ${JSON.stringify(counts)}\n\nevent: jobs\ndata: ${JSON.stringify(jobs)}\n\n`;

    const page = await openPage(browser);
    const context = page.context();
    await context.route('**/api/stats/history*', (route) => route.fulfill({status: 200, contentType: 'application/json', body: JSON.stringify({minutes})}));
    await context.route('**/api/audit*', (route) => route.fulfill({status: 200, contentType: 'application/json', body: JSON.stringify({entries})}));
    await context.route('**/api/events/stream', (route) => route.fulfill({status: 200, contentType: 'text/event-stream', body: stream}));

    await page.goto(`${herald.url}/queues`);
    await page.waitForSelector('.feed-item[data-kind="completed"] a[href="/queues/jobs/evt_from_stream"]');
    await page.waitForSelector('article.card[data-queue="emails"] .sparkline path');
    await screenshot(page, shots, 'fixture-overview');
    await page.goto(`${herald.url}/queues/charts`);
    await page.waitForSelector('svg.chart rect.bar');
    assertEqual(await page.locator('svg.chart').count(), 3, 'three charts');
    assert(await page.locator('svg.chart path.line').count() >= 2, 'latency lines');
    await screenshot(page, shots, 'fixture-charts');
    await page.goto(`${herald.url}/queues/charts?range=day&queue=emails`);
    await page.waitForSelector('svg.chart rect.bar');
    await screenshot(page, shots, 'fixture-charts-day');
    await page.goto(`${herald.url}/queues/audit`);
    await page.waitForSelector('tbody tr');
    assertEqual(await page.locator('tbody tr').count(), 3, 'audit rows');
    await screenshot(page, shots, 'fixture-audit');

    // A job with its attempt history: two failures with backoff, then a success.
    const t0 = now - 20000;
    const history = [
      {startedAt: t0 + 10, endedAt: t0 + 130, outcome: 'retrying', error: 'smtp 127.0.0.1:25: 451 try again later',
       worker: 'local-2', backoffMs: 2000, nextDueAt: t0 + 2130},
      {startedAt: t0 + 2135, endedAt: t0 + 2400, outcome: 'retrying', error: 'smtp 127.0.0.1:25: connection reset',
       worker: 'local-4', backoffMs: 4000, nextDueAt: t0 + 6400},
      {startedAt: t0 + 6402, endedAt: t0 + 6480, outcome: 'completed', error: '', worker: 'remote 10.0.0.7:5123',
       backoffMs: null, nextDueAt: null},
    ];
    const job = {id: 'evt_fixture_history', queue: 'emails', state: 'completed', name: 'booking.created',
      data: {eventType: 'booking.created', eventId: 'evt_fixture_history', data: {bookingId: 'bk_1', userId: 'user_1001', userEmail: 'a@example.com'}},
      truncated: false, payloadBytes: 160, priority: 0, attemptsMade: 3, maxAttempts: 5, backoff: {type: 'exponential', delay: 2000},
      timestamp: t0, processedOn: t0 + 6402, finishedOn: t0 + 6480, delayUntil: null, failedReason: 'smtp 127.0.0.1:25: connection reset',
      returnValue: 'sent: email to a@example.com', blockedBy: null, history};
    await context.route('**/api/jobs/evt_fixture_history*', (route) => route.fulfill({status: 200, contentType: 'application/json', body: JSON.stringify(job)}));
    await page.goto(`${herald.url}/queues/jobs/evt_fixture_history`);
    await page.waitForSelector('.attempt');
    assertEqual(await page.locator('.attempt').count(), 3, 'three attempts');
    assertEqual(await page.locator('svg.timeline rect.tl-attempt').count(), 3, 'three attempts drawn');
    assertEqual(await page.locator('svg.timeline line.tl-backoff').count(), 2, 'two backoff waits drawn');
    assert((await page.locator('.attempt').nth(2).textContent()).includes('remote 10.0.0.7:5123'), 'who ran it');
    await screenshot(page, shots, 'fixture-job-history');

    // A server without the failures and bulk endpoints: the page groups what it can read, and
    // the bulk dialog says the action is missing instead of breaking.
    const failedEvent = await herald.mockEvent('booking-created', {userEmail: 'not-an-address'});
    await herald.waitForJob(failedEvent.eventId, (j) => j.state === 'failed', 'the failed job');
    const missing = (route) => route.fulfill({status: 404, contentType: 'application/json',
      body: JSON.stringify({error: {code: 'not_found', message: `no such endpoint: ${new URL(route.request().url()).pathname}`}})});
    await context.route('**/api/queues/*/failures', missing);
    await context.route('**/api/queues/*/bulk', missing);
    await page.goto(`${herald.url}/queues/failures?queue=emails`);
    await page.waitForSelector('section.panel[data-queue="emails"] .notice');
    await page.waitForSelector('section.panel[data-queue="emails"] tbody tr');
    await screenshot(page, shots, 'fixture-failures-fallback');
    await page.goto(`${herald.url}/queues/emails?state=failed`);
    await page.waitForSelector('tbody tr[data-id]');
    await page.click('button[data-action="all-retry"]');
    await page.waitForSelector('dialog[open] .error-text');
    assert(/no bulk actions/.test(await page.locator('dialog[open] .error-text').textContent()), 'the dialog explains');
    assert(await page.locator('dialog[open] button[data-confirm]').isDisabled(), 'nothing to confirm');
    await screenshot(page, shots, 'fixture-bulk-missing');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', {state: 'detached'});
    assertNoPageErrors(page);
    await context.close();
  } catch (error) {
    error.message += `\n--- herald log (last 3000 characters) ---\n${herald.log.slice(-3000)}`;
    throw error;
  } finally {
    await herald.stop();
  }
}
