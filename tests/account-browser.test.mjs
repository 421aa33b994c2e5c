// The connected-apps page in a real browser (headless Chromium): sign in through the identity
// provider's login page, see the grant, take a screenshot (test-output/screenshots/account.png),
// revoke with the page's own button, and sign out, with no console errors and no request leaving
// this machine.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshot } from './support/browser.mjs';
import { callMcp, signedInClient } from './support/oauth-client.mjs';
import { startAccountStack } from './support/account.mjs';

describe('the connected-apps page in Chromium', () => {
  let stack;
  let browser;
  before(async () => {
    stack = await startAccountStack();
    browser = await launchBrowser({ viewport: { width: 1100, height: 800 } });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('renders the grants, revokes with its own button and signs out, without console errors', async () => {
    const inspector = await signedInClient(stack.workerUrl, { login: 'alice' });
    const other = await signedInClient(stack.workerUrl, { login: 'alice', consentScopes: ['openid', 'email', 'read:todos'] });
    const page = await browser.newPage();

    await page.goto(`${stack.workerUrl}/account`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForSelector('#login-form');
    const userButton = page.locator('form.users button[name="login"][value="alice"]');
    if (await userButton.count()) await userButton.click();
    else {
      await page.fill('#login', 'alice');
      await page.locator('#login-form button[type="submit"]').click();
    }
    await page.waitForURL(`${stack.workerUrl}/account`);
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    assert.equal(await page.locator('ul.grants li').count(), 2);
    assert.match(await page.locator('header').innerText(), /Signed in as alice/);
    const path = await screenshot(page, 'account');
    assert.match(path, /account\.png$/);

    // The first Revoke button: a real browser's POST carries the page's Origin and CSRF token.
    const before = await page.locator('ul.grants li').count();
    await page.locator('ul.grants li').first().getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(`${stack.workerUrl}/account?revoked=1`);
    assert.match(await page.locator('.notice').innerText(), /Access revoked/);
    assert.equal(await page.locator('ul.grants li').count(), before - 1);
    const statuses = [(await callMcp(stack.workerUrl, inspector.tokens.access_token)).status, (await callMcp(stack.workerUrl, other.tokens.access_token)).status].sort();
    assert.deepEqual(statuses, [200, 401], 'exactly the revoked grant stopped working');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${stack.workerUrl}/account?signed_out=1`);
    assert.match(await page.locator('main').innerText(), /You are signed out/);
    const cookies = await browser.context.cookies(stack.workerUrl);
    assert.ok(!cookies.some((c) => c.name === '__Host-account-session'), 'the session cookie is gone');

    assert.deepEqual(browser.consoleErrors(page), []);
    assert.deepEqual(browser.blocked, [], 'nothing was fetched from outside this machine');
  });

  test('cannot be shown in a frame', async () => {
    const page = await browser.newPage();
    const refused = [];
    page.on('console', (message) => refused.push(message.text()));
    await page.setContent(`<iframe src="${stack.workerUrl}/account" width="400" height="300"></iframe>`);
    await page.waitForTimeout(1000);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const text = frame ? await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
    assert.ok(!text.includes('Connected apps'), 'the page did not render inside the frame');
    assert.ok(refused.some((m) => /frame-ancestors|X-Frame-Options|Refused to (display|frame)/i.test(m)), `Chromium reports the refusal: ${refused.join(' | ')}`);
    await page.close();
  });
});
