// CORS in a real browser: pages on other origins call Latch's public API from headless
// Chromium, which enforces the CORS protocol itself (preflights included).
//
//   node tests/browser/cors.mjs PATH/TO/latch
//
// Starts `latch serve all --dev` with `serve.public.cors` enabled for one origin (the
// "app" page), registers a public SPA client whose `allowed_cors_origins` names a second
// origin (the "spa" page), and serves a third page ("evil") that nothing allows. Each
// page runs fetch() against Latch and reports what it could read. Needs
// `npm ci --prefix tests/browser` (playwright-core) and Chromium at /usr/bin/chromium.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let passed = 0;
function check(cond, what) {
  if (!cond) throw new Error(`FAIL - ${what}`);
  passed++;
  console.log(`ok - ${what}`);
}

const freePort = () =>
  new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

// A page on its own origin: an empty document the test drives with page.evaluate.
function servePage(port) {
  const server = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>page</title>');
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

async function main() {
  const latch = path.resolve(process.argv[2]);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'latch-cors-'));
  const [pub, adm, appPort, spaPort, evilPort] = await Promise.all([1, 2, 3, 4, 5].map(freePort));
  const publicUrl = `http://127.0.0.1:${pub}`;
  const adminUrl = `http://127.0.0.1:${adm}`;
  const [app, spa, evil] = [appPort, spaPort, evilPort].map((p) => `http://127.0.0.1:${p}`);
  const server = spawn(latch, ['serve', 'all', '--dev'], {
    cwd: work,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      SERVE_PUBLIC_PORT: String(pub),
      SERVE_ADMIN_PORT: String(adm),
      URLS_SELF_ISSUER: publicUrl,
      DSN: `sqlite://${work}/latch.sqlite`,
      LOG_LEVEL: 'warn',
      SERVE_PUBLIC_CORS_ENABLED: 'true',
      SERVE_PUBLIC_CORS_ALLOWED_ORIGINS: app,
    },
  });
  const pages = await Promise.all([appPort, spaPort, evilPort].map(servePage));
  let browser;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${publicUrl}/health/ready`)).ok) break;
      } catch {}
      if (i > 300) throw new Error('latch did not become ready');
      await new Promise((ok) => setTimeout(ok, 100));
    }
    const created = await fetch(`${adminUrl}/admin/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [`${spa}/cb`], allowed_cors_origins: [spa],
      }),
    });
    check(created.status === 201, 'the SPA client is registered with its allowed_cors_origins');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const context = await browser.newContext();
    const on = async (origin) => {
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      return page;
    };
    // What a page could read of a fetch: the status and body, or the browser's CORS error.
    const call = (page, url, init) =>
      page.evaluate(
        async ([url, init]) => {
          try {
            const r = await fetch(url, init);
            return { status: r.status, body: await r.text() };
          } catch (e) {
            return { blocked: String(e) };
          }
        },
        [url, init],
      );
    const tokenForm = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&client_id=spa&refresh_token=not-a-token',
    };

    const appPage = await on(app);
    let r = await call(appPage, `${publicUrl}/.well-known/openid-configuration`);
    check(r.status === 200 && JSON.parse(r.body).issuer === publicUrl, 'the port\'s allowed origin reads discovery');
    r = await call(appPage, `${publicUrl}/userinfo`, { headers: { authorization: 'Bearer not-a-token' } });
    check(r.status === 401 && JSON.parse(r.body).error === 'invalid_token',
      'the port\'s allowed origin passes the preflight of a bearer call and reads the error');
    // Allowed origin or not, the endpoints that read the session cookies never answer CORS.
    r = await call(appPage, `${publicUrl}/oauth2/auth?client_id=nope`, { credentials: 'include' });
    check(!!r.blocked, 'even the port\'s allowed origin cannot read the authorization endpoint');
    r = await call(appPage, `${publicUrl}/oauth2/fallbacks/error?error=x`, { credentials: 'include' });
    check(!!r.blocked, 'nor the fallback pages');

    const spaPage = await on(spa);
    r = await call(spaPage, `${publicUrl}/oauth2/token`, tokenForm);
    check(r.status === 400 && JSON.parse(r.body).error === 'invalid_grant',
      'the client\'s own origin reads its token endpoint answer (per-client allowed_cors_origins)');
    r = await call(spaPage, `${publicUrl}/.well-known/jwks.json`);
    check(!!r.blocked, 'the client\'s origin opens only requests that name the client');

    const evilPage = await on(evil);
    for (const [what, url, init] of [
      ['discovery', `${publicUrl}/.well-known/openid-configuration`, undefined],
      ['the token endpoint, naming the client', `${publicUrl}/oauth2/token`, tokenForm],
      ['userinfo (preflighted)', `${publicUrl}/userinfo`, { headers: { authorization: 'Bearer x' } }],
    ]) {
      r = await call(evilPage, url, init);
      check(!!r.blocked, `another origin cannot read ${what}`);
    }
    console.log(`${passed} passed, 0 failed`);
  } finally {
    if (browser) await browser.close();
    pages.forEach((p) => p.close());
    server.kill();
  }
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
