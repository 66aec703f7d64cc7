// The dashboard in a real browser (Debian's chromium driven by playwright-core): a server created
// through the API appears, its status changes live as the manual clock runs its steps, and the
// status filter shows only the servers in that status.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startNovabox } from '../helpers/novabox.ts';
import { listenNovabox, type Listening } from '../helpers/listening.ts';

const CHROMIUM = '/usr/bin/chromium';
const REQUIRED = process.env.NOVABOX_TEST_BROWSER_REQUIRED === '1';
if (REQUIRED && !existsSync(CHROMIUM)) throw new Error(`a browser is required (NOVABOX_TEST_BROWSER_REQUIRED=1) but ${CHROMIUM} is missing`);
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;

let live: Listening;
let base: string;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip) return;
  live = await listenNovabox({ clock: 'manual', time_scale: 1 });
  base = live.base;
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
});
after(async () => {
  await browser?.close();
  await live?.close();
});

const api = (method: string, path: string, user: string, body?: unknown) => live.api(method, path, user, body);
const create = (name: string) => live.create(name);

async function advance(seconds: number): Promise<void> {
  const r = await api('POST', '/novabox/v1/clock', 'admin', { advance: seconds });
  assert.equal(r.status, 200);
}

const statusCell = (id: string) => page.locator(`#servers tbody tr[data-id="${id}"] td.status`);
const count = (status: string) => page.locator(`#statuses .count[data-status="${status}"] b`);

test('servers appear and change status live; the status filter narrows the table', { skip }, async () => {
  await page.goto(`${base}/dashboard/`);
  await page.locator('#live.on').waitFor({ timeout: 10000 });
  assert.equal(await page.locator('#statuses .count').count(), 20);

  const a = await create('web-1');
  await statusCell(a).getByText('BUILD').waitFor({ timeout: 10000 });
  assert.equal(await page.locator(`#servers tbody tr[data-id="${a}"] td.task_state`).textContent(), 'scheduling');
  assert.equal(await count('BUILD').textContent(), '1');

  await advance(2);
  await statusCell(a).getByText('ACTIVE').waitFor({ timeout: 10000 });
  assert.equal(await count('ACTIVE').textContent(), '1');
  assert.equal(await count('BUILD').textContent(), '0');
  assert.match(String(await page.locator(`#servers tbody tr[data-id="${a}"] td.host`).textContent()), /^compute-\d$/);

  const b = await create('db-1');
  await advance(2);
  await statusCell(b).getByText('ACTIVE').waitFor({ timeout: 10000 });
  assert.equal((await api('POST', `/compute/v2.1/servers/${b}/action`, 'demo', { 'os-stop': null })).status, 202);
  await page.locator(`#servers tbody tr[data-id="${b}"] td.task_state`).getByText('powering-off').waitFor({ timeout: 10000 });
  await advance(1);
  await statusCell(b).getByText('SHUTOFF').waitFor({ timeout: 10000 });

  await page.selectOption('#status-filter', 'SHUTOFF');
  await page.waitForFunction(() => document.querySelectorAll('#servers tbody tr').length === 1);
  assert.equal(await page.locator('#servers tbody tr').getAttribute('data-id'), b);
  assert.match(page.url(), /status=SHUTOFF/);

  await page.locator('#statuses .count[data-status="ACTIVE"]').click();
  await page.waitForFunction((id) => {
    const rows = document.querySelectorAll('#servers tbody tr');
    return rows.length === 1 && (rows[0] as HTMLElement).dataset.id === id;
  }, a);

  // A server in another status does not show under the filter, even when it arrives live.
  const c = await create('cache-1');
  await page.waitForTimeout(300);
  assert.equal(await page.locator(`#servers tbody tr[data-id="${c}"]`).count(), 0);
  await advance(2);
  await statusCell(c).getByText('ACTIVE').waitFor({ timeout: 10000 });

  await page.selectOption('#status-filter', '');
  await page.waitForFunction(() => document.querySelectorAll('#servers tbody tr').length === 3);

  // The timeline of one server lists its transitions and actions.
  await page.locator(`#servers tbody tr[data-id="${b}"] td.name`).click();
  await page.locator('#timeline-list li').filter({ hasText: 'SHUTOFF' }).first().waitFor({ timeout: 10000 });
  const timeline = (await page.locator('#timeline-list').textContent()) ?? '';
  for (const want of ['BUILD · scheduling', '▶ create', 'ACTIVE · powering-off', '▶ stop']) assert.ok(timeline.includes(want), `${want} in ${timeline}`);

  if (process.env.NOVABOX_DASHBOARD_SCREENSHOT) {
    await advance(0.5);
    await page.screenshot({ path: process.env.NOVABOX_DASHBOARD_SCREENSHOT, fullPage: true });
  }
});

test('after an admin signs in, the buttons act on the server and inject faults', { skip }, async () => {
  await page.goto(`${base}/dashboard/`);
  await page.locator('#live.on').waitFor({ timeout: 10000 });
  const id = await create('buttons');
  await advance(2);
  await statusCell(id).getByText('ACTIVE').waitFor({ timeout: 10000 });
  const row = page.locator(`#servers tbody tr[data-id="${id}"]`);
  // Without a token an action opens the sign-in form instead.
  await row.locator('button[data-action="reboot"]').click();
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#login input[name="password"]', 'secret');
  await page.click('#login button[type="submit"]');
  await page.locator('#who').getByText('signed in as admin').waitFor();
  await page.locator('#live.on').waitFor({ timeout: 10000 });
  await page.locator(`#servers tbody tr[data-id="${id}"] button[data-action="reboot"]`).click();
  await statusCell(id).getByText('REBOOT').waitFor({ timeout: 10000 });
  await advance(1);
  await statusCell(id).getByText('ACTIVE').waitFor({ timeout: 10000 });
  await page.locator(`#servers tbody tr[data-id="${id}"] button[data-action="fault"]`).click();
  await page.waitForFunction(() => document.querySelector('#action-error')?.textContent === '');
  const faults = await (await api('GET', '/novabox/v1/faults', 'admin')).json();
  assert.ok(faults.faults.some((f: { server_uuid?: string }) => f.server_uuid === id), JSON.stringify(faults));
  // The injected fault makes the stop fail: Nova rolls a failed stop back to ACTIVE.
  await page.locator(`#servers tbody tr[data-id="${id}"] button[data-action="stop"]`).click();
  await page.locator(`#servers tbody tr[data-id="${id}"] td.task_state`).getByText('powering-off').waitFor({ timeout: 10000 });
  await advance(1);
  await page.locator(`#servers tbody tr[data-id="${id}"] td.task_state`).getByText('-').waitFor({ timeout: 10000 });
  assert.equal(await statusCell(id).textContent(), 'ACTIVE');
  const left = await (await api('GET', '/novabox/v1/faults', 'admin')).json();
  assert.ok(!left.faults.some((f: { server_uuid?: string }) => f.server_uuid === id), 'the fault was used');
});

test('off loopback the data needs an admin, and the page asks for it', { skip }, async () => {
  const remote = await startNovabox({ host: '0.0.0.0' });
  try {
    assert.equal((await remote.app.inject({ method: 'GET', url: '/dashboard/api/summary' })).statusCode, 401);
    const page = await remote.app.inject({ method: 'GET', url: '/dashboard/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form id="login"/);
    const cookie = await remote.app.inject({ method: 'GET', url: '/dashboard/api/summary', headers: { cookie: `novabox_token=${await remote.token('admin')}` } });
    assert.equal(cookie.statusCode, 200);
    assert.equal(cookie.json().login_required, true);
  } finally {
    await remote.close();
  }
});
