#!/usr/bin/env node
/**
 * A headless "web browser" for MCP clients that sign in by opening the system browser: the
 * Inspector CLI, mcp-remote (what Claude Desktop runs), Python's `webbrowser`. Point `BROWSER`
 * at it (xdg-open, the `open` package and Python's webbrowser module all honour `BROWSER`):
 *
 *   BROWSER=tests/support/open-url.mjs npx mcp-remote http://localhost:8788/mcp
 *
 * Given the URL the client opens (the MCP worker's `/authorize`), it does what a person would, in
 * headless Chromium: clicks Allow on the worker's consent page, signs in at the identity provider,
 * and lets the browser follow the redirect back to the client's callback listener.
 *
 * mcp-remote opens the browser before its callback listener is up, so a refused connection to the
 * callback is retried (same request, same one-time code) until the listener answers.
 *
 * Settings, from the environment (clients pass theirs on to the browser they start):
 *   OPEN_URL_LOGIN      who signs in (default alice)
 *   OPEN_URL_IDP        the identity provider's origin (default http://localhost:8790)
 *   OPEN_URL_LOG        append a line per step to this file (clients discard a browser's output)
 *   OPEN_URL_UNTICK     scopes to untick on the consent page, comma separated
 *   OPEN_URL_UNTICK_ONCE a file: untick only while it does not exist, then create it (a person who
 *                       declines a scope at first and approves it when the client asks again)
 *   OPEN_URL_SCREENSHOT name of a screenshot of the consent page (test-output/screenshots/)
 *   OPEN_URL_TIMEOUT_MS give up after this long (default 60000)
 * Exit code 0 when the client's callback answered, 1 otherwise.
 *
 * @module tests/support/open-url
 */

import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { completeSignIn, launchBrowser } from './browser.mjs';

const log = (message) => {
  const line = `${new Date().toISOString()} open-url[${process.pid}] ${message}\n`;
  if (process.env.OPEN_URL_LOG) appendFileSync(process.env.OPEN_URL_LOG, line);
  else process.stderr.write(line);
};

/**
 * Opens `url` in a headless Chromium and completes consent and sign-in.
 *
 * @param {string} url The authorization URL the MCP client opens.
 * @param {object} [options]
 * @param {string} [options.login='alice']
 * @param {string} [options.idpOrigin='http://localhost:8790']
 * @param {string[]} [options.untick] Scopes to untick on the consent page.
 * @param {string} [options.consentScreenshot]
 * @param {number} [options.timeout=60000]
 * @param {(message: string) => void} [options.log]
 * @returns {Promise<{ callbackUrl: string, status: number, consentShown: boolean, loginShown: boolean }>}
 */
export async function openAndSignIn(url, {
  login = 'alice',
  idpOrigin = 'http://localhost:8790',
  untick = [],
  consentScreenshot,
  timeout = 60_000,
  log: note = () => {},
} = {}) {
  const workerOrigin = new URL(url).origin;
  const browser = await launchBrowser();
  const deadline = Date.now() + timeout;
  const remaining = () => Math.max(1000, deadline - Date.now());
  try {
    const page = await browser.newPage();
    // How each main-frame navigation ended: a response's status, or a network error.
    const outcomes = new Map();
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) outcomes.set(request.url(), response.status());
    });
    page.on('requestfailed', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) outcomes.set(request.url(), request.failure()?.errorText ?? 'failed');
    });

    note(`opening ${workerOrigin}${new URL(url).pathname}`);
    await page.goto(url, { timeout: remaining() });
    const result = await completeSignIn(page, {
      login, workerOrigin, idpOrigin, untick, consentScreenshot, timeout: remaining(), log: note,
    });
    note(`back at the client: consent ${result.consentShown ? 'given' : 'remembered'}, login ${result.loginShown ? 'done' : 'skipped (IdP session)'}`);
    const callback = new URL(result.callbackUrl);
    const where = `${callback.origin}${callback.pathname}`;

    // Wait for the redirect to the callback to end, then retry it while nothing listens there.
    for (let attempt = 1; ; attempt += 1) {
      while (!outcomes.has(result.callbackUrl) && Date.now() < deadline) await page.waitForTimeout(50);
      const outcome = outcomes.get(result.callbackUrl);
      if (typeof outcome === 'number') {
        note(`callback ${where} answered ${outcome} (attempt ${attempt})`);
        const errors = browser.consoleErrors(page);
        if (errors.length) note(`console errors: ${errors.join(' | ')}`);
        return { callbackUrl: result.callbackUrl, status: outcome, consentShown: result.consentShown, loginShown: result.loginShown };
      }
      if (Date.now() > deadline) throw new Error(`callback ${where} did not answer: ${outcome ?? 'no response'}`);
      if (attempt === 1 || attempt % 20 === 0) note(`callback ${where}: ${outcome}; retrying`);
      outcomes.delete(result.callbackUrl);
      await page.waitForTimeout(250);
      // The code in it was never delivered (the connection was refused), so sending it again is safe.
      await page.goto(result.callbackUrl, { timeout: remaining() }).catch(() => {});
    }
  } finally {
    await browser.close();
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  const url = process.argv.slice(2).find((arg) => /^https?:\/\//.test(arg));
  if (!url) {
    log(`no URL among the arguments: ${JSON.stringify(process.argv.slice(2))}`);
    process.exit(2);
  }
  const timeout = Number(process.env.OPEN_URL_TIMEOUT_MS) || 60_000;
  // The browser must never outlive its job, whatever happens to the client that started it.
  setTimeout(() => {
    log(`gave up after ${timeout} ms`);
    process.exit(1);
  }, timeout + 10_000).unref();
  let untick = (process.env.OPEN_URL_UNTICK || '').split(',').map((scope) => scope.trim()).filter(Boolean);
  const once = process.env.OPEN_URL_UNTICK_ONCE;
  if (once && existsSync(once)) untick = [];
  else if (once && untick.length) writeFileSync(once, untick.join(' '));
  try {
    const result = await openAndSignIn(url, {
      login: process.env.OPEN_URL_LOGIN || 'alice',
      idpOrigin: process.env.OPEN_URL_IDP || 'http://localhost:8790',
      untick,
      consentScreenshot: process.env.OPEN_URL_SCREENSHOT || undefined,
      timeout,
      log,
    });
    log(`done: callback answered ${result.status}`);
    process.exit(result.status < 400 ? 0 : 1);
  } catch (error) {
    log(`failed: ${error?.stack ?? error}`);
    process.exit(1);
  }
}
