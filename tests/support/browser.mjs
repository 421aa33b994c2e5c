/**
 * Headless Chromium for the end-to-end tests, driven by playwright-core: Debian's `chromium`
 * (installed by scripts/lib/test-deps.mjs), a fresh profile per launch, and a network that
 * reaches nothing but this machine.
 *
 *   const browser = await launchBrowser();
 *   const page = await browser.newPage();
 *   await page.goto(authorizeUrl);
 *   await completeSignIn(page, { login: 'alice' });     // Allow on the consent page, then the IdP
 *   await browser.close();
 *
 * @module tests/support/browser
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { ROOT } from '../../scripts/lib/toolchain.mjs';

/** Debian's Chromium; `CHROMIUM_PATH` points elsewhere (a developer's own Chrome, say). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Where screenshots go: with the rest of the test output (git-ignored). */
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

/**
 * Flags for a headless Chromium that talks to nobody on its own: no GPU, no QUIC, no
 * component updates, sync or other background traffic (the machine may be offline).
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]);

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for URLs the tests may load: this machine, and the page-internal schemes. */
export function isLocalUrl(url) {
  const parsed = URL.parse(url);
  if (!parsed) return false;
  if (['data:', 'blob:', 'about:', 'chrome:', 'chrome-error:'].includes(parsed.protocol)) return true;
  return LOCAL_HOSTS.has(parsed.hostname);
}

/**
 * Starts Chromium with a fresh profile directory, and a context that aborts every request
 * not addressed to this machine (web fonts the Inspector links to would otherwise hang
 * `networkidle` offline) and records each page's console errors.
 *
 * @param {{ viewport?: { width: number, height: number } }} [options]
 * @returns {Promise<{ context: import('playwright-core').BrowserContext,
 *   newPage: () => Promise<import('playwright-core').Page>,
 *   consoleErrors: (page: import('playwright-core').Page) => string[],
 *   blocked: string[], close: () => Promise<void> }>}
 */
export async function launchBrowser({ viewport = { width: 1280, height: 900 } } = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: run scripts/lib/test-deps.mjs (apt-get install chromium)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport,
    ignoreDefaultArgs: ['--enable-automation'],
  });
  const blocked = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocalUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });

  const errors = new WeakMap();
  const watch = (page) => {
    const list = [];
    errors.set(page, list);
    page.on('console', (message) => {
      if (message.type() === 'error') list.push(`${message.text()} (${message.location().url || page.url()})`);
    });
    page.on('pageerror', (error) => list.push(`uncaught: ${error.message}`));
  };
  for (const page of context.pages()) watch(page);
  context.on('page', watch);

  // A persistent context opens with one blank tab: hand that out first instead of leaving it idle.
  const handedOut = new WeakSet();
  return {
    context,
    blocked,
    async newPage() {
      const blank = context.pages().find((page) => page.url() === 'about:blank' && !handedOut.has(page));
      const page = blank ?? (await context.newPage());
      handedOut.add(page);
      return page;
    },
    consoleErrors: (page) => errors.get(page) ?? [],
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** True when `url` is the MCP worker's consent page (`GET /authorize` on the worker). */
export function isConsentUrl(url, workerOrigin = 'http://localhost:8788') {
  const parsed = URL.parse(url);
  return Boolean(parsed && parsed.origin === new URL(workerOrigin).origin && parsed.pathname === '/authorize');
}

/** True when `url` is on the identity provider (any page of it: login, interaction). */
export function isIdpUrl(url, idpOrigin = 'http://localhost:8790') {
  const parsed = URL.parse(url);
  return Boolean(parsed && parsed.origin === new URL(idpOrigin).origin);
}

/**
 * Completes the sign-in that an MCP client started by sending the browser to the worker's
 * `/authorize`: on the consent page, optionally unticks scopes and takes a screenshot, clicks
 * Allow; on the identity provider's login page, signs in as `login` (the one-click button for
 * a known user, else the free-text field). Resolves as soon as the browser sets off for a URL
 * that is neither the worker nor the IdP: the client's redirect URI. Whether that answers is the
 * caller's business (the client's listener may not be up yet; see open-url.mjs).
 *
 * A consent already remembered for the client skips the page; an IdP session skips the login.
 *
 * @param {import('playwright-core').Page} page A page at, or on its way to, the consent page.
 * @param {object} [options]
 * @param {string} [options.login='alice']
 * @param {string[]} [options.untick] Scopes to untick before Allow.
 * @param {string} [options.consentScreenshot] Screenshot name for the consent page.
 * @param {(page: import('playwright-core').Page) => Promise<void>} [options.onConsent] Called on
 *   the consent page before Allow (to inspect it).
 * @param {string} [options.workerOrigin='http://localhost:8788']
 * @param {string} [options.idpOrigin='http://localhost:8790']
 * @param {number} [options.timeout=30000]
 * @param {(message: string) => void} [options.log] Told each step just before it is taken, so a
 *   log read once the client has its tokens already holds it (the client may finish its token
 *   request before this function returns).
 * @returns {Promise<{ consentShown: boolean, loginShown: boolean, callbackUrl: string }>}
 */
export async function completeSignIn(page, {
  login = 'alice',
  untick = [],
  consentScreenshot,
  onConsent,
  workerOrigin = 'http://localhost:8788',
  idpOrigin = 'http://localhost:8790',
  timeout = 30_000,
  log = () => {},
} = {}) {
  const worker = new URL(workerOrigin).origin;
  const atConsent = (url) => isConsentUrl(url, worker);
  const atIdp = (url) => isIdpUrl(url, idpOrigin);
  // Back at the client: an http(s) URL on neither the worker (consent, /callback) nor the IdP.
  const atClient = (url) => /^https?:/.test(url) && URL.parse(url)?.origin !== worker && !atIdp(url);

  const result = { consentShown: false, loginShown: false, callbackUrl: '' };
  const seen = [];
  const onRequest = (request) => {
    if (!request.isNavigationRequest() || request.frame() !== page.mainFrame()) return;
    seen.push(request.url());
    if (!result.callbackUrl && seen.some((url) => atConsent(url) || atIdp(url)) && atClient(request.url())) {
      result.callbackUrl = request.url();
    }
  };
  page.on('request', onRequest);
  if (atConsent(page.url()) || atIdp(page.url())) seen.push(page.url());

  const deadline = Date.now() + timeout;
  let consentDone = false;
  let loginDone = false;
  try {
    while (!result.callbackUrl) {
      if (Date.now() > deadline) {
        const text = await page.locator('body').innerText({ timeout: 1000 }).catch(() => '');
        throw new Error(`sign-in did not get back to the client within ${timeout} ms; the browser is at ${page.url()}: ${text.slice(0, 400)}`);
      }
      const url = page.url();
      if (!consentDone && atConsent(url)) {
        const allow = page.getByRole('button', { name: /^\s*allow\b/i });
        if (await allow.isVisible().catch(() => false)) {
          consentDone = true;
          result.consentShown = true;
          for (const scope of untick) {
            await page.locator(`input[type="checkbox"][value="${scope}"]`).uncheck();
          }
          if (onConsent) await onConsent(page);
          if (consentScreenshot) await screenshot(page, consentScreenshot);
          log(`consent page shown, Allow clicked${untick.length ? ` (unticked ${untick.join(' ')})` : ''}`);
          await allow.click();
          continue;
        }
      }
      if (!loginDone && atIdp(url)) {
        const form = page.locator('#login-form');
        if (await form.isVisible().catch(() => false)) {
          loginDone = true;
          result.loginShown = true;
          log(`login as ${login}`);
          const userButton = page.locator(`form.users button[name="login"][value="${login}"]`);
          if (await userButton.count()) {
            await userButton.click();
          } else {
            await page.fill('#login', login);
            await form.locator('button[type="submit"]').click();
          }
          continue;
        }
      }
      await page.waitForTimeout(100);
    }
  } finally {
    page.off('request', onRequest);
  }
  return result;
}
