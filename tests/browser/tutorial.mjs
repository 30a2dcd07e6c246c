#!/usr/bin/env node
// End-to-end browser test of Latch: the second half of ORY Hydra's 5-minute tutorial
// ("Perform the OAuth 2.0 Authorization Code Grant"), done in headless Chromium exactly as a
// new user does it:
//
//   1. latch serve all --dev                 (SQLite in a temporary directory)
//   2. latch example login-consent           (demo user foo@bar.com / foobar)
//   3. latch clients create ...              (auth-code-client)
//   4. latch token user ...                  (the example client's start page and callback)
//   5. in the browser: start page -> "Authorize application" -> login form (a wrong password
//      first, then the right one with "remember me") -> consent (openid, offline) -> "Allow
//      access" -> the tokens page (access, refresh and ID token; the ID token's claims)
//   6. the tokens `latch token user` printed, and `latch token introspect` of its access token
//   7. "Deny access" on the consent page and on the login form (fresh browser contexts) bring
//      the browser back to the callback with error=access_denied; a remembered login skips
//      the login form.
//
// Usage: node tests/browser/tutorial.mjs PATH/TO/latch
// Needs: `npm ci --prefix tests/browser` (playwright-core) and Chromium at /usr/bin/chromium
// (override with $CHROMIUM). Prints "ok - ..." per check and "N passed, M failed" at the end;
// exits 1 on the first failure, after killing every process it started. The temporary
// directory (screenshots, the processes' logs) is kept and its path printed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CLIENT_ID = 'auth-code-client';
const CLIENT_SECRET = 'secret';
const EMAIL = 'foo@bar.com';
const PASSWORD = 'foobar';
/** How long to wait for a server to come up, a page to load, a process to end. */
const STARTUP_MS = 30_000;
const STEP_MS = 15_000;

// ---------------------------------------------------------------------------------------
// Reporting

let passed = 0;
let failed = 0;
/** Set once the run is being torn down (finished, failed or interrupted). */
let exiting = false;

class CheckFailed extends Error {}

function ok(what) {
  if (exiting) return; // interrupted: the run is being torn down
  passed += 1;
  console.log(`ok - ${what}`);
}

/** Records a failed check and aborts the run. */
function fail(what, details) {
  if (exiting) throw new CheckFailed(what); // interrupted: the run is being torn down
  failed += 1;
  console.log(`not ok - ${what}`);
  throw new CheckFailed(details ? `${what}\n${details}` : what);
}

function check(cond, what, details) {
  if (cond) ok(what);
  else fail(what, typeof details === 'function' ? details() : details);
}

const clip = (text, n = 2000) => (text.length > n ? `${text.slice(0, n)}\n… (${text.length - n} more characters)` : text);

// ---------------------------------------------------------------------------------------
// Processes

/** The browser while it runs, to close it on an interruption. */
let openBrowser;

/** Every process this run started that may still be running; and all of them, for the report. */
const children = new Set();
const started = [];

/**
 * Starts `latch ARGS`, logging its stdout and stderr to files in the temporary directory and
 * keeping them in memory. Returns { name, child, out(), err(), exited (a promise of the exit
 * code, or the signal name) }.
 */
function start(name, args, { env = {}, logDir }) {
  const child = spawn(LATCH, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { name, args, child, stdout: '', stderr: '', code: undefined };
  const outLog = fs.createWriteStream(path.join(logDir, `${name}.stdout.log`));
  const errLog = fs.createWriteStream(path.join(logDir, `${name}.stderr.log`));
  child.stdout.on('data', (b) => {
    proc.stdout += b;
    outLog.write(b);
  });
  child.stderr.on('data', (b) => {
    proc.stderr += b;
    errLog.write(b);
  });
  children.add(proc);
  started.push(proc);
  proc.exited = new Promise((resolve) => {
    child.on('error', (e) => {
      proc.stderr += `\n[spawn error: ${e.message}]`;
      proc.code = 'spawn-error';
      children.delete(proc);
      resolve(proc.code);
    });
    child.on('close', (code, signal) => {
      proc.code = code ?? signal;
      children.delete(proc);
      outLog.end();
      errLog.end();
      resolve(proc.code);
    });
  });
  return proc;
}

/** Runs `latch ARGS` to completion: { code, stdout, stderr }. */
async function run(name, args, opts) {
  const proc = start(name, args, opts);
  const code = await withTimeout(proc.exited, STEP_MS, `${name} did not finish`);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/** Ends a process: SIGTERM, then SIGKILL if it is still there after 3 s. */
async function stop(proc) {
  if (proc.code !== undefined) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 3000);
  await proc.exited;
  clearTimeout(timer);
}

async function stopAll() {
  await Promise.all([...children].map(stop));
}

function describe(proc) {
  return `--- ${proc.name}: latch ${proc.args.join(' ')} (exit: ${proc.code ?? 'running'})\n` +
    `stdout:\n${clip(proc.stdout.trimEnd() || '(empty)')}\nstderr:\n${clip(proc.stderr.trimEnd() || '(empty)')}`;
}

// ---------------------------------------------------------------------------------------
// Waiting

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new CheckFailed(`${message} within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Free TCP ports on 127.0.0.1, all different (held open together while being picked). */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const srv = net.createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * Polls GET `url` until `accept(status)`; fails early if `proc` ends. Returns the status.
 */
async function waitForHttp(url, proc, accept = (s) => s === 200) {
  const deadline = Date.now() + STARTUP_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc && proc.code !== undefined) {
      fail(`${proc.name} answers on ${url}`, `it exited early\n${describe(proc)}`);
    }
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (accept(res.status)) return res.status;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await sleep(100);
  }
  return fail(`${proc ? proc.name : url} answers on ${url}`, `last try: ${last}${proc ? `\n${describe(proc)}` : ''}`);
}

// ---------------------------------------------------------------------------------------
// The test

const LATCH = process.argv[2] ? path.resolve(process.argv[2]) : '';

async function main() {
  if (!LATCH) {
    throw new CheckFailed('usage: node tests/browser/tutorial.mjs PATH/TO/latch');
  }
  try {
    fs.accessSync(LATCH, fs.constants.X_OK);
  } catch {
    throw new CheckFailed(`${LATCH} is not an executable latch binary (build it with cargo build -p latch)`);
  }
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
  } catch {
    throw new CheckFailed(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set $CHROMIUM)`);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latch-browser-'));
  console.log(`# temporary directory: ${tmp}`);
  const [publicPort, adminPort, appPort, cbPort] = await freePorts(4);
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const cbUrl = `http://127.0.0.1:${cbPort}`;
  console.log(`# ports: public ${publicPort}, admin ${adminPort}, login & consent app ${appPort}, callback ${cbPort}`);
  const opts = { logDir: tmp };

  // 1. The server.
  const server = start('serve', ['serve', 'all', '--dev'], {
    ...opts,
    env: {
      SERVE_PUBLIC_PORT: String(publicPort),
      SERVE_ADMIN_PORT: String(adminPort),
      DSN: `sqlite://${tmp}/latch.sqlite`,
      URLS_LOGIN: `${appUrl}/login`,
      URLS_CONSENT: `${appUrl}/consent`,
      URLS_LOGOUT: `${appUrl}/logout`,
      LOG_LEVEL: 'warn',
    },
  });
  await waitForHttp(`${adminUrl}/health/ready`, server);
  await waitForHttp(`${publicUrl}/health/ready`, server);
  ok(`latch serve all --dev is ready (GET /health/ready on ports ${publicPort} and ${adminPort}: 200)`);

  // 2. The example login & consent app.
  const app = start('login-consent', ['example', 'login-consent', '--port', String(appPort), '--endpoint', adminUrl], opts);
  await waitForHttp(`${appUrl}/`, app);
  ok(`latch example login-consent answers on ${appUrl}/`);

  // 3. The client.
  const created = await run('clients-create', [
    'clients', 'create', '--endpoint', adminUrl,
    '--id', CLIENT_ID, '--secret', CLIENT_SECRET,
    '--grant-types', 'authorization_code,refresh_token',
    '--response-types', 'code,id_token',
    '--scope', 'openid,offline',
    '--callbacks', `${cbUrl}/callback`,
  ], opts);
  check(created.code === 0 && created.stdout.includes(`OAuth 2.0 Client ID: ${CLIENT_ID}`),
    `latch clients create prints "OAuth 2.0 Client ID: ${CLIENT_ID}"`,
    () => `exit ${created.code}\nstdout:\n${created.stdout}\nstderr:\n${created.stderr}`);

  // 4. The example OAuth 2.0 client. It ends after the first callback, so every browser
  // flow below gets its own.
  const tokenUserArgs = [
    'token', 'user', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET,
    '--endpoint', `${publicUrl}/`, '--port', String(cbPort), '--scope', 'openid,offline',
  ];
  const startTokenUser = async (name) => {
    const proc = start(name, tokenUserArgs, opts);
    await waitForHttp(`${cbUrl}/`, proc);
    return proc;
  };
  const tokenUser = await startTokenUser('token-user');
  ok(`latch token user serves its start page on ${cbUrl}/`);

  // 5. The browser.
  // This script handles the signals itself: it closes the browser and ends its processes.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  openBrowser = browser;
  try {
    console.log(`# browser: Chromium ${browser.version()}`);
    await browserFlows({ browser, tmp, appUrl, cbUrl, adminUrl, tokenUser, startTokenUser, opts });
  } finally {
    openBrowser = undefined;
    await browser.close();
  }
}

/** Opens the example client's start page and follows "Authorize application". */
async function authorize(page, cbUrl) {
  const res = await page.goto(`${cbUrl}/`);
  if (res.status() !== 200) fail(`start page ${cbUrl}/ loads`, `HTTP ${res.status()}`);
  const link = page.locator('a#authorize');
  await link.waitFor();
  const label = (await link.innerText()).trim();
  if (label !== 'Authorize application') fail('the start page has the "Authorize application" link', `found "${label}"`);
  await link.click();
}

async function waitForPath(page, base, pathname, what) {
  try {
    await page.waitForURL((u) => u.origin === base && u.pathname === pathname, { timeout: STEP_MS });
  } catch {
    const text = await page.locator('body').innerText().catch(() => '(no page)');
    fail(what, `the browser is at ${page.url()}\npage text:\n${clip(text)}`);
  }
}

/** Fills the login form and presses "Log in". */
async function logIn(page, password, { remember = false } = {}) {
  await page.locator('input#email').fill(EMAIL);
  await page.locator('input#password').fill(password);
  await page.locator('input[type=checkbox][name=remember]').setChecked(remember);
  await page.locator('button[type=submit][name=submit][value=login]').click();
}

/** The text of the <dd> following <dt>LABEL</dt> on the tokens page. */
async function definition(page, label) {
  return page.locator('dt', { hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]').innerText();
}

/** The value printed under "LABEL:" by `latch token user` (the next line, tab-indented). */
function printed(stdout, label) {
  const m = stdout.match(new RegExp(`^${label}:\\n\\t(.*)$`, 'm'));
  return m ? m[1].trim() : undefined;
}

async function browserFlows({ browser, tmp, appUrl, cbUrl, adminUrl, tokenUser, startTokenUser, opts }) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  // Script errors and failed requests; the expected 401 of the wrong password is not one.
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') &&
    consoleErrors.push(`${page.url()}: ${m.text()}`));
  page.on('response', (r) => {
    const wrongPassword = r.status() === 401 && r.request().method() === 'POST' && r.url() === `${appUrl}/login`;
    if (r.status() >= 400 && !wrongPassword) consoleErrors.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });

  await authorize(page, cbUrl);
  await waitForPath(page, appUrl, '/login', `"Authorize application" leads to the login form at ${appUrl}/login`);
  check(new URL(page.url()).searchParams.get('login_challenge'),
    `"Authorize application" leads to the login form at ${appUrl}/login?login_challenge=…`, page.url());
  await page.screenshot({ path: path.join(tmp, 'login.png'), fullPage: true });

  // 7a. A wrong password first.
  await logIn(page, 'not-the-password');
  const alert = page.locator('p.error[role=alert]');
  try {
    await alert.waitFor();
  } catch {
    fail('a wrong password shows an error on the login form', await page.locator('body').innerText());
  }
  const alertText = (await alert.innerText()).trim();
  check(alertText.includes('not correct') && new URL(page.url()).pathname === '/login' &&
      (await page.locator('input#password').count()) === 1,
    `a wrong password shows an error on the login form ("${alertText}")`, `at ${page.url()}`);
  await page.screenshot({ path: path.join(tmp, 'login-error.png'), fullPage: true });

  // The right password, remembered.
  await logIn(page, PASSWORD, { remember: true });
  await waitForPath(page, appUrl, '/consent', `logging in as ${EMAIL} leads to the consent page`);
  ok(`logging in as ${EMAIL} / ${PASSWORD} with "remember me" leads to the consent page`);

  const scopes = await page.locator('input[type=checkbox][name=grant_scope]').evaluateAll(
    (boxes) => boxes.map((b) => ({ value: b.value, checked: b.checked })));
  const consentText = await page.locator('body').innerText();
  const listed = (s) => scopes.some((b) => b.value === s && b.checked) &&
    new RegExp(`(^|\\s)${s}(\\s|$)`, 'm').test(consentText);
  check(listed('openid') && listed('offline'), 'the consent page lists the scopes openid and offline (ticked)',
    () => `checkboxes: ${JSON.stringify(scopes)}\npage text:\n${consentText}`);
  check(consentText.includes(EMAIL), `the consent page greets ${EMAIL}`, consentText);
  await page.screenshot({ path: path.join(tmp, 'consent.png'), fullPage: true });

  await page.locator('button[type=submit][name=submit][value=allow]').click();
  await waitForPath(page, cbUrl, '/callback', `"Allow access" brings the browser back to ${cbUrl}/callback`);
  const callback = new URL(page.url());
  check(callback.searchParams.get('code') && callback.searchParams.get('state') && !callback.searchParams.get('error'),
    `"Allow access" brings the browser back to ${cbUrl}/callback?code=…&state=…`, page.url());

  await page.locator('h1', { hasText: 'Tokens received' }).waitFor().catch(async () =>
    fail('the callback page shows the tokens', await page.locator('body').innerText()));
  const shown = {
    access: (await definition(page, 'Access Token')).trim(),
    refresh: (await definition(page, 'Refresh Token')).trim(),
    id: (await definition(page, 'ID Token')).trim(),
    claims: (await definition(page, 'Claims')).trim(),
  };
  const pageText = await page.locator('body').innerText();
  const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
  check(shown.access && shown.access !== '(none)' && shown.refresh && shown.refresh !== '(none)' &&
      jwtShape.test(shown.id),
    'the callback page shows an access token, a refresh token and an ID token',
    () => `${JSON.stringify(shown, null, 2)}\npage text:\n${pageText}`);
  check(shown.claims.includes(`"sub": "${EMAIL}"`), `the decoded ID token claims shown include "sub": "${EMAIL}"`,
    shown.claims);
  check(!/warning/i.test(pageText), 'the tokens page shows no warning (the ID token nonce matches)', pageText);
  const screenshot = path.join(tmp, 'tokens.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`# screenshot of the tokens page: ${screenshot}`);

  // 6. What `latch token user` printed.
  const code = await withTimeout(tokenUser.exited, STEP_MS, 'latch token user did not exit after the callback');
  const out = tokenUser.stdout;
  const terminal = {
    access: printed(out, 'Access Token'),
    refresh: printed(out, 'Refresh Token'),
    id: printed(out, 'ID Token'),
  };
  check(code === 0, 'latch token user exits 0 after the tokens were received', () => describe(tokenUser));
  check(terminal.access && terminal.refresh && terminal.id,
    'latch token user prints non-empty "Access Token:", "Refresh Token:" and "ID Token:"', () => describe(tokenUser));
  check(terminal.access === shown.access && terminal.refresh === shown.refresh && terminal.id === shown.id,
    'the tokens printed in the terminal are the ones the page shows',
    () => `terminal: ${JSON.stringify(terminal)}\npage: ${JSON.stringify(shown)}`);

  const introspected = await run('introspect', ['token', 'introspect', '--endpoint', `${adminUrl}/`, terminal.access], opts);
  let claims = {};
  try {
    claims = JSON.parse(introspected.stdout);
  } catch {
    // Checked below, with the output.
  }
  check(introspected.code === 0 && claims.active === true && claims.sub === EMAIL &&
      /"active":\s*true/.test(introspected.stdout) && new RegExp(`"sub":\\s*"${EMAIL}"`).test(introspected.stdout),
    `latch token introspect of the printed access token: "active": true, "sub": "${EMAIL}"`,
    () => `exit ${introspected.code}\nstdout:\n${introspected.stdout}\nstderr:\n${introspected.stderr}`);
  check(claims.client_id === CLIENT_ID && String(claims.scope).split(' ').sort().join(' ') === 'offline openid',
    `the access token belongs to ${CLIENT_ID} with scopes openid and offline`, introspected.stdout);

  // 7b. "Deny access" on the consent page, in a fresh browser (no remembered login).
  await denyFlow({ browser, tmp, appUrl, cbUrl, startTokenUser, where: 'consent' });
  // 7c. "Deny access" on the login form.
  await denyFlow({ browser, tmp, appUrl, cbUrl, startTokenUser, where: 'login' });

  // "Remember me": in the first browser the next authorization skips the login form.
  const again = await startTokenUser('token-user-remembered');
  await authorize(page, cbUrl);
  await waitForPath(page, appUrl, '/consent', 'a remembered login goes straight to the consent page');
  ok('with "remember me" ticked, the next authorization skips the login form');
  await page.locator('button[type=submit][name=submit][value=allow]').click();
  await waitForPath(page, cbUrl, '/callback', 'the second authorization comes back to the callback');
  await page.locator('h1', { hasText: 'Tokens received' }).waitFor();
  const againCode = await withTimeout(again.exited, STEP_MS, 'latch token user did not exit after the callback');
  check(againCode === 0 && printed(again.stdout, 'Access Token'),
    'the second authorization gets tokens too (latch token user exits 0)', () => describe(again));

  check(consoleErrors.length === 0, 'no script errors or failed requests in the browser (besides the wrong password\'s 401)', consoleErrors.join('\n'));
  await context.close();
}

/** A fresh browser context: start a flow and press "Deny access" on the login or consent page. */
async function denyFlow({ browser, tmp, appUrl, cbUrl, startTokenUser, where }) {
  const tokenUser = await startTokenUser(`token-user-deny-${where}`);
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  context.setDefaultTimeout(STEP_MS);
  try {
    const page = await context.newPage();
    await authorize(page, cbUrl);
    await waitForPath(page, appUrl, '/login', `a fresh browser is sent to the login form (deny on ${where})`);
    if (where === 'consent') {
      await logIn(page, PASSWORD);
      await waitForPath(page, appUrl, '/consent', 'logging in leads to the consent page');
    }
    await page.locator('button[type=submit][name=submit][value=deny]').click();
    await waitForPath(page, cbUrl, '/callback', `"Deny access" on the ${where} page brings the browser back to the callback`);
    const url = new URL(page.url());
    const text = await page.locator('body').innerText();
    check(url.searchParams.get('error') === 'access_denied' && !url.searchParams.get('code') &&
        /access_denied/.test(text) && /denied the request/.test(text),
      `"Deny access" on the ${where} page: the callback has error=access_denied and shows it`,
      () => `at ${page.url()}\npage text:\n${text}`);
    await page.screenshot({ path: path.join(tmp, `denied-${where}.png`), fullPage: true });
    const code = await withTimeout(tokenUser.exited, STEP_MS, 'latch token user did not exit after the callback');
    check(code !== 0 && /access_denied/.test(tokenUser.stdout + tokenUser.stderr) &&
        !printed(tokenUser.stdout, 'Access Token'),
      `latch token user reports access_denied and exits non-zero (${code})`, () => describe(tokenUser));
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------

async function finish(error) {
  if (exiting) return;
  exiting = true;
  if (error) {
    if (failed === 0) failed = 1;
    console.log(`\nFAILED: ${error instanceof CheckFailed ? error.message : error.stack || error}`);
    for (const proc of started) console.log(describe(proc));
  }
  if (openBrowser) await withTimeout(openBrowser.close(), 5000, 'closing the browser').catch(() => {});
  await stopAll();
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(error || failed ? 1 : 0);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => finish(new CheckFailed(`interrupted by ${signal}`)));
}
// Last resort (an unexpected exit): no process of this run outlives it.
process.on('exit', () => {
  for (const proc of children) proc.child.kill('SIGKILL');
});
main().then(() => finish(), finish);
