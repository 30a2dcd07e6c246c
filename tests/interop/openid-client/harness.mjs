// Shared by the openid-client interop scripts (run.mjs, par_dpop.mjs, exchange_fapi.mjs):
// checks and their report, `latch serve all --dev` on free loopback ports over a fresh
// SQLite file, a cookie-keeping "browser" for the public port, the admin API, and the
// login & consent app played through the admin API.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as client from 'openid-client';

export const REDIRECT_URI = 'http://127.0.0.1:9/cb';
export const LOGIN_URL = 'http://127.0.0.1:9/login';
export const CONSENT_URL = 'http://127.0.0.1:9/consent';
export const SUBJECT = 'foo@bar.com';

// --- checks ----------------------------------------------------------------------------

let passed = 0;

export class CheckFailed extends Error {}

export function ok(cond, what, detail) {
  if (!cond) {
    const err = new CheckFailed(what);
    err.detail = detail;
    throw err;
  }
  passed += 1;
  console.log(`ok - ${what}`);
}

export function show(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function describeError(err) {
  if (err instanceof client.ResponseBodyError) {
    return `ResponseBodyError status=${err.status} error=${err.error} description=${err.error_description}`;
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    return `WWWAuthenticateChallengeError status=${err.response?.status} challenges=${show(err.cause)}`;
  }
  const parts = [`${err?.name}: ${err?.message}`];
  if (err?.code) parts.push(`code=${err.code}`);
  if (err?.cause !== undefined) {
    parts.push(`cause=${err.cause instanceof Error ? err.cause.message : show(err.cause)}`);
  }
  return parts.join(' ');
}

// Runs `main(latchPath)`, then prints the count and exits: 0 when every check passed,
// 1 at the first failure (with its detail and the servers' output).
export async function runChecks(main, usage) {
  const latch = process.argv[2];
  if (!latch) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  try {
    await main(resolve(latch));
    stopServers();
    console.log(`${passed} passed, 0 failed`);
    process.exit(0);
  } catch (err) {
    if (err instanceof CheckFailed) {
      console.log(`not ok - ${err.message}`);
      const detail = err.detail !== undefined ? err.detail : err.cause;
      if (detail !== undefined) console.log(`# ${show(detail).split('\n').join('\n# ')}`);
    } else {
      console.log(`not ok - ${describeError(err)}`);
      if (err?.stack) console.error(err.stack);
    }
    for (const s of servers) {
      if (s.log) console.error(`--- latch output (tail) of ${s.name} ---\n${s.log}`);
    }
    stopServers();
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
}

// --- server lifecycle ------------------------------------------------------------------

const servers = [];

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function stopServers() {
  for (const s of servers) {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM');
  }
}

process.on('exit', () => {
  stopServers();
  for (const s of servers) rmSync(s.workDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(130));
}

async function waitReady(s, url, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (s.proc.exitCode !== null) throw new Error(`latch (${s.name}) exited early (code ${s.proc.exitCode})`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`latch (${s.name}) did not become ready at ${url}`);
}

// Starts `latch serve all --dev` with the login and consent URLs above and `env` on top;
// resolves once it is ready, to { issuer, adminUrl }. Every server started is stopped
// (and its directory removed) when the process exits.
export async function startLatch(latch, env = {}, name = 'latch') {
  const workDir = mkdtempSync(join(tmpdir(), 'latch-openid-client-'));
  const pub = await freePort();
  let adm = await freePort();
  while (adm === pub) adm = await freePort();
  const issuer = `http://127.0.0.1:${pub}`;
  const adminUrl = `http://127.0.0.1:${adm}`;
  const proc = spawn(latch, ['serve', 'all', '--dev'], {
    cwd: workDir,
    env: {
      ...process.env,
      SERVE_PUBLIC_PORT: String(pub),
      SERVE_ADMIN_PORT: String(adm),
      DSN: `sqlite://${workDir}/latch.sqlite`,
      LOG_LEVEL: 'warn',
      URLS_LOGIN: LOGIN_URL,
      URLS_CONSENT: CONSENT_URL,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = { name, proc, workDir, log: '' };
  servers.push(s);
  const keep = (d) => {
    s.log = (s.log + d.toString()).slice(-20000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  await waitReady(s, `${issuer}/health/ready`);
  return { issuer, adminUrl };
}

// --- a tiny cookie-keeping browser (it talks to the public port only) ------------------

export class Browser {
  jar = new Map();

  storeCookies(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'max-age') return Number(v.trim()) <= 0;
        if (key === 'expires') return Date.parse(v.trim()) < Date.now();
        return false;
      });
      if (expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async get(url) {
    const headers = {};
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers });
    this.storeCookies(res);
    const body = await res.text();
    return { status: res.status, location: res.headers.get('location'), body };
  }
}

const defaultBrowser = new Browser();

export function browserGet(url) {
  return defaultBrowser.get(url);
}

// --- admin API -------------------------------------------------------------------------

export async function admin(adminUrl, method, path, body) {
  const res = await fetch(`${adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${method} ${path} -> ${res.status}: ${text}`);
  }
  return json;
}

export async function introspect(adminUrl, token) {
  const res = await fetch(`${adminUrl}/admin/oauth2/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`introspection -> ${res.status}: ${text}`);
  return JSON.parse(text);
}

// --- the login & consent app -----------------------------------------------------------

// Sends the browser to `authUrl` and plays the login and consent app through the admin
// API (subject SUBJECT, the requested `scopes` granted); checks that the browser reaches
// the login UI (the check named `urlWhat`), that the login request is `clientId`'s with
// `scopes`, and that it ends at the redirect_uri with a code and `state`. Returns the
// callback URL (redirect_uri?code=…&state=…). With `grantAudience`, the consent also
// grants that access-token audience (`grant_access_token_audience`).
export async function loginAndConsent({ adminUrl, authUrl, label, clientId, scopes, state, urlWhat, browser, grantAudience }) {
  const b = browser ?? defaultBrowser;
  const first = await b.get(authUrl);
  const loginLoc = first.location && new URL(first.location, authUrl);
  const loginChallenge = loginLoc?.searchParams.get('login_challenge');
  const loginOk =
    [302, 303].includes(first.status) &&
    loginLoc &&
    `${loginLoc.origin}${loginLoc.pathname}` === LOGIN_URL &&
    !!loginChallenge;
  ok(
    loginOk,
    `${label}: ${urlWhat ?? 'the authorization URL built by openid-client'} redirects to the login UI with a login_challenge`,
    `GET ${authUrl} -> ${first.status} Location: ${first.location} body: ${first.body.slice(0, 500)}`,
  );

  const q = (c) => encodeURIComponent(c);
  const loginReq = await admin(adminUrl, 'GET', `/admin/oauth2/auth/requests/login?login_challenge=${q(loginChallenge)}`);
  const reqScopes = loginReq?.requested_scope ?? [];
  ok(
    loginReq?.skip === false &&
      loginReq?.client?.client_id === clientId &&
      scopes.every((s) => reqScopes.includes(s)),
    `${label}: login request shows client ${clientId}, skip=false and the requested scopes`,
    loginReq,
  );
  const loginAccept = await admin(
    adminUrl,
    'PUT',
    `/admin/oauth2/auth/requests/login/accept?login_challenge=${q(loginChallenge)}`,
    { subject: SUBJECT, remember: false },
  );

  const second = await b.get(loginAccept.redirect_to);
  const consentLoc = second.location && new URL(second.location, loginAccept.redirect_to);
  const consentChallenge = consentLoc?.searchParams.get('consent_challenge');
  if (!consentLoc || `${consentLoc.origin}${consentLoc.pathname}` !== CONSENT_URL || !consentChallenge) {
    throw new CheckFailed(`${label}: login verifier redirects to the consent UI`, {
      cause: `GET ${loginAccept.redirect_to} -> ${second.status} Location: ${second.location} body: ${second.body.slice(0, 500)}`,
    });
  }
  const consentReq = await admin(
    adminUrl,
    'GET',
    `/admin/oauth2/auth/requests/consent?consent_challenge=${q(consentChallenge)}`,
  );
  if (consentReq?.subject !== SUBJECT) {
    throw new CheckFailed(`${label}: consent request carries subject ${SUBJECT}: ${show(consentReq)}`);
  }
  const consentAccept = await admin(
    adminUrl,
    'PUT',
    `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${q(consentChallenge)}`,
    {
      grant_scope: scopes,
      ...(grantAudience ? { grant_access_token_audience: grantAudience } : {}),
      session: { id_token: { email: SUBJECT } },
    },
  );

  const third = await b.get(consentAccept.redirect_to);
  const cb = third.location && new URL(third.location, consentAccept.redirect_to);
  ok(
    [302, 303].includes(third.status) &&
      cb &&
      `${cb.origin}${cb.pathname}` === REDIRECT_URI &&
      cb.searchParams.get('code') &&
      cb.searchParams.get('state') === state,
    `${label}: login + consent through the admin API end at the redirect_uri with code and the same state`,
    `GET ${consentAccept.redirect_to} -> ${third.status} Location: ${third.location} body: ${third.body.slice(0, 500)}`,
  );
  return cb;
}
