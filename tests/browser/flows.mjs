// The dashboard's flows in headless Chromium, each against a herald of its own. A flow gets
// {herald binary, screenshots dir, browser} and throws on failure.

import {Herald, openPage, assert, assertEqual, assertNoPageErrors, screenshot, waitFor, sleep,
        configWith, setTomlKey} from './harness.mjs';

// The text of the first element matching `selector` becomes `want` (a string, or a predicate).
async function waitForText(page, selector, want, timeout = 15000) {
  await page.waitForFunction(([sel, expected, isRegex]) => {
    const el = document.querySelector(sel);
    if (!el) return false;
    const text = el.textContent.trim();
    return isRegex ? new RegExp(expected).test(text) : text === expected;
  }, [selector, want instanceof RegExp ? want.source : want, want instanceof RegExp], {timeout});
}

async function count(page, queue, state) {
  return page.locator(`article.card[data-queue="${queue}"] .count-value[data-state="${state}"]`).textContent();
}

async function withHerald(options, binary, fn) {
  const herald = new Herald(binary);
  try {
    await herald.start(options);
    return await fn(herald);
  } catch (error) {
    error.message += `\n--- herald log (last 3000 characters) ---\n${herald.log.slice(-3000)}`;
    throw error;
  } finally {
    await herald.stop();
  }
}

// A mock event fired through the API appears on the overview and completes, without a reload.
export async function overviewLive({binary, shots, browser}) {
  await withHerald({}, binary, async (herald) => {
    const page = await openPage(browser);
    await page.goto(`${herald.url}/queues`);
    await page.waitForSelector('article.card[data-queue="emails"]');
    await page.waitForSelector('article.card[data-queue="notifications"]');
    await page.waitForSelector('article.card[data-queue="tickets"]');
    await page.evaluate(() => { window.__notReloaded = true; });
    // Paused, the job stays waiting long enough to be seen; resumed, it completes.
    assertEqual((await herald.api('POST', '/api/queues/emails/pause')).status, 200, 'pause');
    const event = await herald.mockEvent('booking-created');
    assertEqual(event.queue, 'emails', 'the event\'s queue');
    await waitForText(page, 'article.card[data-queue="emails"] .count-value[data-state="waiting"]', '1');
    await page.waitForSelector('article.card[data-queue="emails"].is-paused');
    await screenshot(page, shots, 'overview-waiting');
    assertEqual((await herald.api('POST', '/api/queues/emails/resume')).status, 200, 'resume');
    await waitForText(page, 'article.card[data-queue="emails"] .count-value[data-state="completed"]', '1');
    assertEqual(await count(page, 'emails', 'waiting'), '0', 'waiting after completion');
    // The activity feed says so: with the event stream it names the job, without it the queue.
    await page.waitForSelector('.feed-item[data-queue="emails"][data-kind="completed"]');
    assert(await page.evaluate(() => window.__notReloaded === true), 'the page was not reloaded');
    await screenshot(page, shots, 'overview');
    assertNoPageErrors(page);
    await page.context().close();
  });
}

// The email handler fails (a seeded fault: attempts 1 and 2 fail, the third passes): the job is
// failed with its error on the job page; retried from the page, it completes.
export async function failedRetry({binary, shots, browser}) {
  let config = await configWith((text) => text);
  config = setTomlKey(config, 'queues.emails', 'attempts', '2');
  config = setTomlKey(config, 'queues.emails', 'backoff', '"fixed"');
  config = setTomlKey(config, 'queues.emails', 'backoff_delay_ms', '300');
  // mt19937_64 seeded 9 draws 0.519, 0.500, 0.874: below 0.6 fails. Retry resets attemptsMade,
  // so a fail_first fault would fail the retried job again.
  const args = ['--fault', 'emails:rate=0.6,seed=9'];
  await withHerald({config, args}, binary, async (herald) => {
    const page = await openPage(browser);
    await page.goto(`${herald.url}/queues/emails?state=failed`);
    await page.waitForSelector('a.tab[data-state="failed"][aria-current="page"]');
    const event = await herald.mockEvent('booking-created');
    const id = event.eventId;
    // The failed list shows it without a reload.
    const row = `tbody tr[data-id="${id}"]`;
    await page.waitForSelector(row, {timeout: 20000});
    assert((await page.locator(`${row} .error-text`).textContent()).includes('injected fault'),
           'the row shows the error');
    await screenshot(page, shots, 'queue-failed');
    await page.click(`${row} a.job-link`);
    await page.waitForURL(`**/queues/jobs/${id}`);
    await waitForText(page, 'h1 .badge', 'failed');
    await page.waitForSelector('.attempt');
    const attempts = await page.locator('.attempt').allTextContents();
    assert(attempts.some((a) => a.includes('injected fault')), `the timeline shows the error: ${attempts}`);
    assert((await page.locator('[data-error]').textContent()).includes('injected fault'), 'the error box');
    assert(await page.locator('.timeline').count() === 1, 'the timeline is drawn');
    await screenshot(page, shots, 'job-failed');
    await page.click('button[data-action="retry"]');
    await waitForText(page, 'h1 .badge', 'completed', 20000);
    const job = await herald.job(id);
    assertEqual(job.state, 'completed', 'the job\'s state on the server');
    assert(/sent: email/.test(job.returnValue), `the result: ${job.returnValue}`);
    await page.waitForSelector('section.panel pre.code');
    await screenshot(page, shots, 'job-completed');
    // Back goes to the failed list, where the job is no more.
    await page.goBack();
    await page.waitForSelector('a.tab[data-state="failed"][aria-current="page"]');
    await page.waitForSelector(row, {state: 'detached'});
    assertNoPageErrors(page);
    await page.context().close();
  });
}

// Failed jobs filtered by error text; the bulk retry's dry run shows how many; confirmed, the
// group is retried (the queue is paused so that they stay waiting to be counted).
export async function bulkRetry({binary, shots, browser}) {
  await withHerald({}, binary, async (herald) => {
    const bad = [];
    for (let i = 0; i < 3; i++) bad.push((await herald.mockEvent('booking-created', {userEmail: 'nobody-at-example'})).eventId);
    const other = [];
    for (let i = 0; i < 2; i++) other.push((await herald.mockEvent('booking-cancelled', {userEmail: 'broken.address'})).eventId);
    for (const id of [...bad, ...other]) await herald.waitForJob(id, (j) => j.state === 'failed', `${id} failed`);
    assertEqual((await herald.api('POST', '/api/queues/emails/pause')).status, 200, 'pause');

    const page = await openPage(browser);
    await page.goto(`${herald.url}/queues/emails?state=failed`);
    await page.waitForSelector(`tbody tr[data-id="${bad[0]}"]`);
    assertEqual(await page.locator('tbody tr[data-id]').count(), 5, 'failed jobs listed');
    await page.fill('input[name="q"]', 'nobody-at-example');
    await page.press('input[name="q"]', 'Enter');
    await page.waitForURL(/q=nobody-at-example/);
    await waitFor(async () => (await page.locator('tbody tr[data-id]').count()) === 3, 'three matching rows');
    for (const id of other) assertEqual(await page.locator(`tbody tr[data-id="${id}"]`).count(), 0, `${id} filtered out`);
    await screenshot(page, shots, 'queue-filtered');

    const bulk = await herald.api('POST', '/api/queues/emails/bulk', {action: 'retry', filter: {state: 'failed', q: 'nobody-at-example'}, dry_run: true});
    if (bulk.status === 404) throw new Error('POST /api/queues/{q}/bulk answers 404: the bulk endpoint is missing');

    await page.click('button[data-action="all-retry"]');
    await page.waitForSelector('dialog[open] [data-count]');
    assertEqual(await page.locator('dialog[open] [data-count]').getAttribute('data-count'), '3', 'the dry-run count');
    await screenshot(page, shots, 'bulk-confirm');
    await page.click('dialog[open] button[data-confirm]');
    await page.waitForSelector('dialog[open]', {state: 'detached'});
    await waitFor(async () => {
      const emails = (await herald.api('GET', '/api/queues/emails')).body;
      return emails.counts.waiting === 3 && emails.counts.failed === 2;
    }, 'three retried jobs waiting, two still failed');
    await waitFor(async () => (await page.locator('tbody tr[data-id]').count()) === 0, 'the filtered failed list empties');
    await waitForText(page, 'a.tab[data-state="waiting"] .tab-count', '3');
    for (const id of bad) assertEqual((await herald.job(id)).state, 'waiting', `${id} retried`);
    assertNoPageErrors(page);
    await page.context().close();
  });
}

// Paused on the page, a queue takes no work; resumed, it does the work that waited.
export async function pauseResume({binary, shots, browser}) {
  await withHerald({}, binary, async (herald) => {
    const page = await openPage(browser);
    await page.goto(`${herald.url}/queues/emails`);
    await page.waitForSelector('button[data-action="pause"]');
    await waitForText(page, 'button[data-action="pause"]', 'Pause');
    await page.click('button[data-action="pause"]');
    await waitForText(page, 'button[data-action="pause"]', 'Resume');
    await page.waitForSelector('h1 .badge.state-paused:not([hidden])');
    assertEqual((await herald.api('GET', '/api/queues/emails')).body.paused, true, 'paused on the server');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await herald.mockEvent('booking-created')).eventId);
    await waitForText(page, 'a.tab[data-state="waiting"] .tab-count', '3');
    for (const id of ids) await page.waitForSelector(`tbody tr[data-id="${id}"]`);
    // Work has stopped: a while later nothing has run.
    await sleep(1500);
    const stopped = (await herald.api('GET', '/api/queues/emails')).body.counts;
    assertEqual(stopped.waiting, 3, 'waiting while paused');
    assertEqual(stopped.completed, 0, 'completed while paused');
    assertEqual(stopped.active, 0, 'active while paused');
    const job = await herald.job(ids[0]);
    assertEqual(job.blockedBy && job.blockedBy.reason, 'paused', 'the job says why it waits');
    await screenshot(page, shots, 'queue-paused');
    await page.click('button[data-action="pause"]');
    await waitForText(page, 'button[data-action="pause"]', 'Pause');
    await waitForText(page, 'a.tab[data-state="completed"] .tab-count', '3', 20000);
    await waitForText(page, 'a.tab[data-state="waiting"] .tab-count', '0');
    assertEqual((await herald.api('GET', '/api/queues/emails')).body.paused, false, 'resumed on the server');
    assertNoPageErrors(page);
    await page.context().close();
  });
}

// The user page has the email delivery and the in-app notification of the user's events.
export async function userPage({binary, shots, browser}) {
  await withHerald({}, binary, async (herald) => {
    const created = await herald.mockEvent('booking-created');
    const reminder = await herald.mockEvent('booking-reminder');
    const failedPayment = await herald.mockEvent('payment-failed');
    for (const e of [created, reminder, failedPayment]) {
      await herald.waitForJob(e.eventId, (j) => j.state === 'completed', `${e.eventType} completed`);
    }
    const page = await openPage(browser);
    await page.goto(`${herald.url}/queues/users`);
    await page.fill('input[name="user"]', 'user_1001');
    await page.press('input[name="user"]', 'Enter');
    await page.waitForURL('**/queues/users/user_1001');
    const delivery = `#deliveries tr[data-channel="email"][data-status="sent"]`;
    await page.waitForSelector(delivery);
    assert((await page.locator(delivery).textContent()).includes(created.eventId), 'the email delivery names the event');
    await page.waitForSelector(`#inbox .inbox-item[data-event="${reminder.eventId}"]`);
    assert((await page.locator(`#inbox .inbox-item[data-event="${reminder.eventId}"]`).textContent()).includes('bk_'),
           'the in-app notification has its text');
    await page.waitForSelector('#tickets tbody tr');
    await page.waitForSelector(`#events a[href="/queues/jobs/${created.eventId}"]`);
    await screenshot(page, shots, 'user');
    // Turning email off is kept by the server.
    await page.click('label[for="pref-email"]');
    await waitFor(async () => (await herald.api('GET', '/api/users/user_1001')).body.preferences.email === false,
                  'email off on the server');
    await page.reload();
    await page.waitForSelector(delivery);
    assertEqual(await page.locator('#pref-email').isChecked(), false, 'the switch after a reload');
    assertNoPageErrors(page);
    await page.context().close();
  });
}

// With a password the page and the API need it (HTTP Basic: the browser asks); the read-only
// password sees everything and changes nothing.
export async function password({binary, shots, browser}) {
  const args = ['--requirepass', 'open sesame', '--readonly-password', 'just looking'];
  await withHerald({args}, binary, async (herald) => {
    const bare = await fetch(`${herald.url}/queues`);
    assertEqual(bare.status, 401, 'the page without a password');
    assert(/^Basic/.test(bare.headers.get('www-authenticate') || ''), 'the browser is asked for it');

    const admin = await browser.newContext({httpCredentials: {username: 'ops', password: 'open sesame'}});
    const page = await admin.newPage();
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(error));
    await page.goto(`${herald.url}/queues`);
    await page.waitForSelector('article.card[data-queue="emails"] .count-value[data-state="waiting"]');
    await page.click('article.card[data-queue="emails"] button[data-action="pause"]');
    await page.waitForSelector('article.card[data-queue="emails"].is-paused');
    assertNoPageErrors(page);
    await admin.close();

    const viewer = await browser.newContext({httpCredentials: {username: 'ops', password: 'just looking'}});
    const view = await viewer.newPage();
    view.errors = [];
    view.on('pageerror', (error) => view.errors.push(error));
    await view.goto(`${herald.url}/queues`);
    await view.waitForSelector('article.card[data-queue="emails"].is-paused');
    await view.click('article.card[data-queue="emails"] button[data-action="pause"]');
    await view.waitForSelector('.toast-error');
    assert(/read-only/.test(await view.locator('.toast-error').textContent()), 'the read-only password is told no');
    await screenshot(view, shots, 'password-read-only');
    assertNoPageErrors(view);
    await viewer.close();
  });
}

export const flows = {
  overview_live: overviewLive,
  failed_retry: failedRetry,
  bulk_retry: bulkRetry,
  pause_resume: pauseResume,
  user_page: userPage,
  password,
};
