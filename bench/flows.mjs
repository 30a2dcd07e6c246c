// bench/flows.mjs: complete OAuth 2.0 authorization-code flows, scripted end to end.
//
// One flow = authorization request (PKCE S256, state, nonce) → the login challenge from
// the redirect → login read + accepted → back to the authorization endpoint with the
// browser's cookies → the consent challenge → consent read + accepted → back again →
// the code on the redirect URI → token exchange. A flow counts only when every step
// answered as expected and the token response holds an access token, a refresh token
// and an ID token whose nonce, audience and subject are the flow's (decoded, not verified).
//
// Two protocols, the same eight HTTP requests per flow:
//
//   latch  Hydra's login & consent protocol. The login and consent URLs are never
//          fetched (the challenge is read from the Location header); the scripted login
//          & consent app uses the admin API:
//            GET  {public}/oauth2/auth?…                          → 302 {login}?login_challenge=
//            GET  {admin}/admin/oauth2/auth/requests/login?login_challenge=
//            PUT  {admin}/admin/oauth2/auth/requests/login/accept?login_challenge=   {"subject":…}
//            GET  redirect_to (browser cookies)                    → 302 {consent}?consent_challenge=
//            GET  {admin}/admin/oauth2/auth/requests/consent?consent_challenge=
//            PUT  {admin}/admin/oauth2/auth/requests/consent/accept?consent_challenge= {"grant_scope":…}
//            GET  redirect_to (browser cookies)                    → 302 {redirect_uri}?code=
//            POST {public}/oauth2/token (client_secret_basic, code, redirect_uri, code_verifier)
//   node   node-oidc-provider with bench/node/flows-server.mjs, whose interaction app
//          (in the provider's process) answers:
//            GET  /auth?…                                          → 303 /interaction/{uid}
//            GET  /interaction/{uid}            interactionDetails → {"prompt":"login",…}
//            POST /interaction/{uid}/login      interactionFinished({login})     → 303 /auth/{uid}
//            GET  /auth/{uid} (browser cookies)                    → 303 /interaction/{uid2}
//            GET  /interaction/{uid2}           interactionDetails → {"prompt":"consent",…}
//            POST /interaction/{uid2}/consent   Grant + interactionFinished({consent}) → 303 /auth/{uid2}
//            GET  /auth/{uid2} (browser cookies)                   → 303 {redirect_uri}?code=
//            POST /token (client_secret_basic, code, redirect_uri, code_verifier)
//
// Every flow has its own cookie jar (the "browser"). Latch's admin calls carry none of it;
// oidc-provider's interaction endpoints get the browser's cookies, as its interactions
// are bound to the browser by its _interaction cookie.
//
// Usage:
//   node bench/flows.mjs latch --public URL --admin URL [mode]
//   node bench/flows.mjs node --url URL [mode]
// Modes:
//   --workers N --duration S [--warmup W]   N concurrent workers, each running flows back
//                                           to back for S seconds (after a warm-up of W s)
//   --sequential N [--sql-log FILE] [--pg-log FILE --pg-db NAME]
//                                           N flows one after the other; the SQL statements
//                                           that ran meanwhile are attributed to the step
//                                           that ran them, from --sql-log (Latch's stderr
//                                           with LOG_FORMAT=json and RUST_LOG=sqlx=debug)
//                                           and/or --pg-log (PostgreSQL's log with
//                                           log_statement=all; only database NAME counts)
// FLOWS_TRACE=1 in the environment prints every request and answer on stderr.
// Other options: --client-id flow --client-secret flow-secret --redirect-uri
//   http://127.0.0.1:9/cb --subject foo@bar.com (the end-user of every flow) --subjects 1
//   (N > 1: the flows take turns among N end-users user0@bar.com … instead)
//   --http raw|node (HTTP client, below)
//   --json (no progress on stderr)
//
// Prints a human summary on stderr and, as the last line on stdout, one JSON object:
//   {"mode":"load","flows":…,"errors":…,"duration_s":…,"flows_per_s":…,"p50_ms":…,
//    "p99_ms":…,"steps_ms":{…},"client_cpu":…,"error_samples":[…]}
// and, with --sql-log / --pg-log, "sql": {"sqlx": …, "postgres": …} with per-step counts.
// Exit status: 0 when every flow succeeded, 1 when any failed, 2 on a usage error.

import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const STEPS = [
  'authorize',
  'login_read',
  'login_accept',
  'login_return',
  'consent_read',
  'consent_accept',
  'consent_return',
  'token',
];

// ------------------------------------------------------------------------------------
// Arguments.

function usage(msg) {
  process.stderr.write(`flows.mjs: ${msg}\n(see the header of bench/flows.mjs)\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const target = argv.shift();
if (target !== 'latch' && target !== 'node') usage('the first argument must be "latch" or "node"');
const opt = {
  workers: 16,
  duration: 10,
  warmup: 0,
  sequential: 0,
  clientId: 'flow',
  clientSecret: 'flow-secret',
  redirectUri: 'http://127.0.0.1:9/cb',
  subject: 'foo@bar.com',
  subjects: 1,
};
while (argv.length) {
  const a = argv.shift();
  const val = () => {
    if (!argv.length) usage(`${a} needs a value`);
    return argv.shift();
  };
  const num = () => {
    const v = Number(val());
    if (!Number.isFinite(v) || v < 0) usage(`${a} needs a non-negative number`);
    return v;
  };
  switch (a) {
    case '--public': opt.public = val().replace(/\/$/, ''); break;
    case '--admin': opt.admin = val().replace(/\/$/, ''); break;
    case '--url': opt.url = val().replace(/\/$/, ''); break;
    case '--workers': opt.workers = num(); break;
    case '--duration': opt.duration = num(); break;
    case '--warmup': opt.warmup = num(); break;
    case '--sequential': opt.sequential = num(); break;
    case '--sql-log': opt.sqlLog = val(); break;
    case '--pg-log': opt.pgLog = val(); break;
    case '--pg-db': opt.pgDb = val(); break;
    case '--client-id': opt.clientId = val(); break;
    case '--client-secret': opt.clientSecret = val(); break;
    case '--redirect-uri': opt.redirectUri = val(); break;
    case '--subject': opt.subject = val(); break;
    case '--subjects': opt.subjects = num(); break;
    case '--json': opt.json = true; break;
    case '--http': opt.http = val(); break;
    default: usage(`unknown option ${a}`);
  }
}
if (opt.http && !['raw', 'node'].includes(opt.http)) usage('--http is raw or node');
if (target === 'latch' && (!opt.public || !opt.admin)) usage('latch needs --public and --admin');
if (target === 'node' && !opt.url) usage('node needs --url');
if ((opt.sqlLog || opt.pgLog) && !opt.sequential) usage('--sql-log and --pg-log need --sequential N');
if (opt.pgLog && !opt.pgDb) usage('--pg-log needs --pg-db NAME');
if (!opt.sequential && (opt.workers < 1 || opt.duration <= 0)) usage('--workers ≥ 1 and --duration > 0');

const info = (msg) => { if (!opt.json) process.stderr.write(`[flows] ${msg}\n`); };

// ------------------------------------------------------------------------------------
// HTTP/1.1 with keep-alive; no redirect is followed (each is a step). The default client
// is a minimal one on raw sockets (Content-Length and chunked bodies), because node:http
// costs the load generator several times more CPU per request, and the load generator
// shares the machine's cores with the server. `--http node` uses node:http instead (a
// cross-check; the figures should agree when the machine has CPU to spare).

class FlowError extends Error {}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });

function nodeRequest(method, u, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new FlowError(`${method} ${u.pathname}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const CRLF2 = Buffer.from('\r\n\r\n');

// One keep-alive connection; one request at a time.
class Conn {
  constructor(host, port, pool) {
    this.pool = pool;
    this.buf = Buffer.alloc(0);
    this.pending = null;
    this.dead = false;
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    const fail = (e) => {
      this.dead = true;
      if (this.pending) {
        const { reject } = this.pending;
        this.pending = null;
        reject(e instanceof Error ? e : new FlowError('the server closed the connection'));
      }
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(null));
    this.socket.setTimeout(30_000, () => this.socket.destroy(new FlowError('no answer in 30 s')));
  }

  send(head, body) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, res: null };
      this.socket.write(body ? head + body : head);
    });
  }

  parse() {
    const p = this.pending;
    if (!p) return;
    if (!p.res) {
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) return;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      this.buf = this.buf.subarray(end + 4);
      const status = Number(lines[0].split(' ')[1]);
      const headers = {};
      for (let i = 1; i < lines.length; i += 1) {
        const c = lines[i].indexOf(':');
        const k = lines[i].slice(0, c).trim().toLowerCase();
        const v = lines[i].slice(c + 1).trim();
        if (k === 'set-cookie') (headers[k] ||= []).push(v);
        else headers[k] = v;
      }
      const chunked = /chunked/i.test(headers['transfer-encoding'] || '');
      const length = chunked ? -1 : Number(headers['content-length'] || 0);
      p.res = { status, headers, chunked, length, chunks: [] };
    }
    const r = p.res;
    if (!r.chunked) {
      if (this.buf.length < r.length) return;
      r.chunks.push(this.buf.subarray(0, r.length));
      this.buf = this.buf.subarray(r.length);
    } else {
      for (;;) {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return;
        const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
        if (size === 0) {
          const fin = this.buf.indexOf(CRLF2, eol - 2 >= 0 ? eol - 2 : 0);
          if (fin < 0) return;
          this.buf = this.buf.subarray(fin + 4);
          break;
        }
        if (this.buf.length < eol + 2 + size + 2) return;
        r.chunks.push(this.buf.subarray(eol + 2, eol + 2 + size));
        this.buf = this.buf.subarray(eol + 2 + size + 2);
      }
    }
    this.pending = null;
    const res = { status: r.status, headers: r.headers, body: Buffer.concat(r.chunks).toString() };
    if (/close/i.test(r.headers.connection || '')) {
      this.dead = true;
      this.socket.destroy();
    } else {
      this.pool.push(this);
    }
    p.resolve(res);
  }
}

const pools = new Map();

async function rawRequest(method, u, headers, body) {
  const origin = `${u.hostname}:${u.port || 80}`;
  let pool = pools.get(origin);
  if (!pool) pools.set(origin, (pool = []));
  let conn;
  while (pool.length) {
    conn = pool.pop();
    if (!conn.dead) break;
    conn = null;
  }
  const fresh = !conn;
  if (!conn) conn = new Conn(u.hostname, u.port || 80, pool);
  let head = `${method} ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += '\r\n';
  try {
    return await conn.send(head, body);
  } catch (e) {
    // A kept-alive connection the server closed meanwhile: retry once on a new one.
    if (fresh) throw e;
    return rawRequest(method, u, headers, body);
  }
}

function request(method, url, { headers = {}, body } = {}) {
  const u = new URL(url);
  if (u.protocol !== 'http:') return Promise.reject(new FlowError(`${method} ${url}: only http:// is supported`));
  const h = { ...headers };
  if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
  else if (method !== 'GET') h['content-length'] = 0;
  const res = opt.http === 'node' ? nodeRequest(method, u, h, body) : rawRequest(method, u, h, body);
  if (!process.env.FLOWS_TRACE) return res;
  return res.then((r) => {
    const cookies = (r.headers['set-cookie'] || []).map((c) => c.split(';')[0].split('=')[0]);
    process.stderr.write(`[trace] ${method} ${short(u.pathname + u.search, 90)}${h.cookie ? ` (cookies: ${h.cookie.split('; ').map((c) => c.split('=')[0]).join(', ')})` : ''}`
      + ` → ${r.status}${r.headers.location ? ` ${short(r.headers.location, 70)}` : ''}${cookies.length ? ` set-cookie: ${cookies.join(', ')}` : ''}\n`);
    return r;
  });
}

function closeConnections() {
  agent.destroy();
  for (const pool of pools.values()) for (const c of pool) c.socket.destroy();
}

function short(s, n = 300) {
  s = String(s).replace(/\s+/g, ' ');
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function expectStatus(step, res, statuses) {
  if (!statuses.includes(res.status)) {
    throw new FlowError(`${step}: HTTP ${res.status} (wanted ${statuses.join('/')}): ${short(res.body || res.headers.location || '')}`);
  }
}

function location(step, res, base) {
  const loc = res.headers.location;
  if (!loc) throw new FlowError(`${step}: HTTP ${res.status} without Location`);
  return new URL(loc, base);
}

function json(step, res) {
  try {
    return JSON.parse(res.body);
  } catch {
    throw new FlowError(`${step}: not JSON: ${short(res.body)}`);
  }
}

// A browser's cookie jar for one flow (one host; cookies ignore ports, as browsers do).
class Jar {
  constructor() { this.cookies = new Map(); }

  take(res) {
    const set = res.headers['set-cookie'];
    if (!set) return;
    for (const line of set) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let gone = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path') path = v.trim() || '/';
        else if (key === 'max-age' && Number(v) <= 0) gone = true;
        else if (key === 'expires' && Date.parse(v) <= Date.now()) gone = true;
      }
      const id = `${name};${path}`;
      if (gone) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(url) {
    const p = new URL(url).pathname;
    const out = [];
    for (const c of this.cookies.values()) {
      const match = p === c.path || (p.startsWith(c.path) && (c.path.endsWith('/') || p[c.path.length] === '/'));
      if (match) out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }

  async get(url) {
    const cookie = this.header(url);
    const res = await request('GET', url, { headers: cookie ? { cookie } : {} });
    this.take(res);
    return res;
  }
}

const b64 = (n) => randomBytes(n).toString('base64url');
const basic = `Basic ${Buffer.from(`${encodeURIComponent(opt.clientId)}:${encodeURIComponent(opt.clientSecret)}`).toString('base64')}`;

// ------------------------------------------------------------------------------------
// One flow. `step(name, fn)` runs and times one step; `onStep` (SQL mode) is told when a
// step has finished.

// The end-user of the next flow: always --subject, or with --subjects N > 1 one of N
// users in turn (user0@bar.com …).
let flowCounter = 0;
function nextSubject() {
  flowCounter += 1;
  return opt.subjects > 1 ? `user${flowCounter % opt.subjects}@bar.com` : opt.subject;
}

function checkTokens(res, nonce, subject) {
  expectStatus('token', res, [200]);
  const t = json('token', res);
  for (const k of ['access_token', 'refresh_token', 'id_token']) {
    if (typeof t[k] !== 'string' || !t[k]) {
      throw new FlowError(`token: the response has no ${k}: ${short(res.body)}`);
    }
  }
  let claims;
  try {
    claims = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url').toString());
  } catch {
    throw new FlowError(`token: the ID token is not a JWT: ${short(t.id_token)}`);
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.nonce !== nonce || !aud.includes(opt.clientId) || claims.sub !== subject) {
    throw new FlowError(`token: ID token claims do not match the flow: ${short(JSON.stringify(claims))}`);
  }
}

function callbackCode(step, loc, state) {
  const cb = new URL(opt.redirectUri);
  if (loc.origin !== cb.origin || loc.pathname !== cb.pathname) {
    throw new FlowError(`${step}: redirected to ${short(loc.href)}, not to the redirect URI`);
  }
  const error = loc.searchParams.get('error');
  if (error) throw new FlowError(`${step}: the client got error=${error}: ${short(loc.searchParams.get('error_description') || '')}`);
  if (loc.searchParams.get('state') !== state) throw new FlowError(`${step}: state mismatch`);
  const code = loc.searchParams.get('code');
  if (!code) throw new FlowError(`${step}: no code in ${short(loc.href)}`);
  return code;
}

function authParams(scope, extra = {}) {
  const verifier = b64(32);
  const p = {
    response_type: 'code',
    client_id: opt.clientId,
    redirect_uri: opt.redirectUri,
    scope,
    state: b64(16),
    nonce: b64(16),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  };
  return { verifier, p, query: new URLSearchParams(p).toString() };
}

async function tokenRequest(url, code, verifier) {
  return request('POST', url, {
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic, accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: opt.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
}

const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

async function latchFlow(step) {
  const jar = new Jar();
  const subject = nextSubject();
  const { verifier, p, query } = authParams('openid offline');
  const adminFlow = `${opt.admin}/admin/oauth2/auth/requests`;

  const loginChallenge = await step('authorize', async () => {
    const res = await jar.get(`${opt.public}/oauth2/auth?${query}`);
    expectStatus('authorize', res, [302, 303]);
    const c = location('authorize', res, opt.public).searchParams.get('login_challenge');
    if (!c) throw new FlowError(`authorize: no login_challenge in ${short(res.headers.location)}`);
    return c;
  });
  const lc = encodeURIComponent(loginChallenge);
  await step('login_read', async () => {
    const res = await request('GET', `${adminFlow}/login?login_challenge=${lc}`, { headers: { accept: 'application/json' } });
    expectStatus('login_read', res, [200]);
    const r = json('login_read', res);
    if (r.skip !== false || r.client?.client_id !== opt.clientId) {
      throw new FlowError(`login_read: unexpected login request: ${short(res.body)}`);
    }
  });
  const loginReturn = await step('login_accept', async () => {
    const res = await request('PUT', `${adminFlow}/login/accept?login_challenge=${lc}`, {
      headers: jsonHeaders,
      body: JSON.stringify({ subject }),
    });
    expectStatus('login_accept', res, [200]);
    const r = json('login_accept', res);
    if (!r.redirect_to) throw new FlowError(`login_accept: no redirect_to: ${short(res.body)}`);
    return r.redirect_to;
  });
  const consentChallenge = await step('login_return', async () => {
    const res = await jar.get(loginReturn);
    expectStatus('login_return', res, [302, 303]);
    const c = location('login_return', res, opt.public).searchParams.get('consent_challenge');
    if (!c) throw new FlowError(`login_return: no consent_challenge in ${short(res.headers.location)}`);
    return c;
  });
  const cc = encodeURIComponent(consentChallenge);
  await step('consent_read', async () => {
    const res = await request('GET', `${adminFlow}/consent?consent_challenge=${cc}`, { headers: { accept: 'application/json' } });
    expectStatus('consent_read', res, [200]);
    const r = json('consent_read', res);
    if (r.skip !== false || r.subject !== subject) {
      throw new FlowError(`consent_read: unexpected consent request: ${short(res.body)}`);
    }
  });
  const consentReturn = await step('consent_accept', async () => {
    const res = await request('PUT', `${adminFlow}/consent/accept?consent_challenge=${cc}`, {
      headers: jsonHeaders,
      body: JSON.stringify({ grant_scope: ['openid', 'offline'] }),
    });
    expectStatus('consent_accept', res, [200]);
    const r = json('consent_accept', res);
    if (!r.redirect_to) throw new FlowError(`consent_accept: no redirect_to: ${short(res.body)}`);
    return r.redirect_to;
  });
  const code = await step('consent_return', async () => {
    const res = await jar.get(consentReturn);
    expectStatus('consent_return', res, [302, 303]);
    return callbackCode('consent_return', location('consent_return', res, opt.public), p.state);
  });
  await step('token', async () => {
    checkTokens(await tokenRequest(`${opt.public}/oauth2/token`, code, verifier), p.nonce, subject);
  });
}

async function nodeFlow(step) {
  const jar = new Jar();
  const subject = nextSubject();
  // oidc-provider grants offline_access only with prompt=consent (OIDC Core §11).
  const { verifier, p, query } = authParams('openid offline_access', { prompt: 'consent' });
  const interaction = async (name, url, prompt) => {
    const res = await jar.get(url);
    expectStatus(name, res, [200]);
    const r = json(name, res);
    if (r.prompt !== prompt) throw new FlowError(`${name}: prompt is ${r.prompt}, wanted ${prompt}`);
  };
  const post = async (name, url) => {
    const cookie = jar.header(url);
    const res = await request('POST', url, { headers: cookie ? { cookie } : {}, body: '' });
    jar.take(res);
    expectStatus(name, res, [302, 303]);
    return location(name, res, opt.url).href;
  };
  const toInteraction = (name, res) => {
    expectStatus(name, res, [302, 303]);
    const loc = location(name, res, opt.url);
    if (!loc.pathname.startsWith('/interaction/')) throw new FlowError(`${name}: redirected to ${short(loc.href)}`);
    return loc.href;
  };

  const login = await step('authorize', async () => toInteraction('authorize', await jar.get(`${opt.url}/auth?${query}`)));
  await step('login_read', () => interaction('login_read', login, 'login'));
  const loginReturn = await step('login_accept', () =>
    post('login_accept', `${login}/login?subject=${encodeURIComponent(subject)}`));
  const consent = await step('login_return', async () => toInteraction('login_return', await jar.get(loginReturn)));
  await step('consent_read', () => interaction('consent_read', consent, 'consent'));
  const consentReturn = await step('consent_accept', () => post('consent_accept', `${consent}/consent`));
  const code = await step('consent_return', async () => {
    const res = await jar.get(consentReturn);
    expectStatus('consent_return', res, [302, 303]);
    return callbackCode('consent_return', location('consent_return', res, opt.url), p.state);
  });
  await step('token', async () => {
    checkTokens(await tokenRequest(`${opt.url}/token`, code, verifier), p.nonce, subject);
  });
}

const flow = target === 'latch' ? latchFlow : nodeFlow;

// ------------------------------------------------------------------------------------
// Statistics.

function percentile(sorted, q) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

class Stats {
  constructor() {
    this.latencies = [];
    this.stepSum = Object.fromEntries(STEPS.map((s) => [s, 0]));
    this.errors = 0;
    this.samples = [];
  }

  async run() {
    const times = {};
    const step = async (name, fn) => {
      const t0 = performance.now();
      const out = await fn();
      times[name] = performance.now() - t0;
      if (this.onStep) await this.onStep(name);
      return out;
    };
    const t0 = performance.now();
    try {
      await flow(step);
    } catch (e) {
      this.errors += 1;
      const msg = e instanceof FlowError ? e.message : `${e.code || ''} ${e.message}`.trim();
      if (this.samples.length < 5 && !this.samples.includes(msg)) this.samples.push(msg);
      if (this.onStep) await this.onStep('failed');
      return false;
    }
    this.latencies.push(performance.now() - t0);
    for (const s of STEPS) this.stepSum[s] += times[s];
    return true;
  }

  summary(elapsedMs) {
    const sorted = Float64Array.from(this.latencies).sort();
    const n = this.latencies.length;
    return {
      flows: n,
      errors: this.errors,
      duration_s: round(elapsedMs / 1000, 3),
      flows_per_s: round(n / (elapsedMs / 1000), 1),
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
      steps_ms: Object.fromEntries(STEPS.map((s) => [s, n ? round(this.stepSum[s] / n, 3) : 0])),
      error_samples: this.samples,
    };
  }
}

// N workers running flows back to back until `seconds` have passed.
async function load(seconds) {
  const stats = new Stats();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) await stats.run();
  };
  await Promise.all(Array.from({ length: opt.workers }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ...stats.summary(elapsed), client_cpu: round((cpu.user + cpu.system) / 1000 / elapsed) };
}

// ------------------------------------------------------------------------------------
// SQL attribution. Two sources, read after every step (the requests run one at a time):
//  - Latch's stderr (LOG_FORMAT=json, RUST_LOG=sqlx=debug): sqlx logs each statement
//    with target sqlx::query once it has run, before the request that ran it answers.
//    It does not log everything: SQLite's BEGIN/COMMIT/ROLLBACK are run by sqlx's SQLite
//    worker without its logger, and PostgreSQL's BEGIN is queued as a simple query
//    without it (COMMIT and ROLLBACK are logged there).
//  - PostgreSQL's own log (log_statement = all for the benchmark's database): every
//    statement as the server executed it, BEGIN included. Lines of other databases are
//    skipped.

class LogTail {
  constructor(path, parse) {
    this.fd = openSync(path, 'r');
    this.offset = fstatSync(this.fd).size;
    this.rest = '';
    this.parse = parse;
    this.unparsed = 0;
  }

  // The statements logged since the last call.
  take() {
    const size = fstatSync(this.fd).size;
    if (size <= this.offset) return [];
    const buf = Buffer.alloc(size - this.offset);
    const n = readSync(this.fd, buf, 0, buf.length, this.offset);
    this.offset += n;
    const text = this.rest + buf.subarray(0, n).toString();
    const lines = text.split('\n');
    this.rest = lines.pop();
    const out = [];
    for (const line of lines) {
      const sql = this.parse(line, this);
      if (sql) out.push(sql.trim().replace(/\s+/g, ' '));
    }
    return out;
  }

  close() { closeSync(this.fd); }
}

function sqlxLine(line, tail) {
  if (!line.includes('sqlx::query')) return null;
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    tail.unparsed += 1;
    return null;
  }
  if (e.target !== 'sqlx::query') return null;
  const f = e.fields || {};
  return String(f['db.statement'] || f.summary || '');
}

function pgLine(db) {
  // "%m [%p] %q%u@%d " then "LOG:  statement: …" (simple) or "LOG:  execute name: …" (extended).
  const re = /^\S+ \S+ \S+ \[\d+\] [^@\s]*@(\S+) LOG:  (?:statement|execute [^:]*): (.*)$/;
  return (line) => {
    const m = re.exec(line);
    return m && m[1] === db ? m[2] : null;
  };
}

const TX = ['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'START', 'END'];
// "INSERT INTO latch_tokens (…) VALUES (…), (…)" → "INSERT latch_tokens"; BEGIN etc. as is.
function kindOf(sql) {
  const first = sql.split(/[\s;]+/)[0].toUpperCase();
  if (TX.includes(first)) return first;
  if (first === 'PRAGMA') return `PRAGMA ${(sql.match(/^PRAGMA\s+([A-Za-z_]+)/i) || [])[1] || '?'}`;
  const table = (sql.match(/\b(?:FROM|INTO|UPDATE)\s+([A-Za-z_][A-Za-z0-9_]*)/i) || [])[1] || '?';
  return `${first} ${table}`;
}
const isTx = (kind) => TX.includes(kind);
// Reads that Latch's caches make rare: the client (5 s) and the signing keys (60 s).
const isCacheRefill = (kind) => kind === 'SELECT latch_clients' || kind === 'SELECT latch_keys';
// Settings a new pool connection runs once (sqlx's own and Latch's after_connect).
const isConnectionSetup = (kind) => kind.startsWith('PRAGMA ') || kind.startsWith('SET ');

class Attribution {
  constructor(tail) {
    this.tail = tail;
    this.steps = Object.fromEntries([...STEPS, 'failed', 'after the last flow'].map((s) => [s, {}]));
  }

  collect(step) {
    for (const sql of this.tail.take()) {
      const k = kindOf(sql);
      this.steps[step][k] = (this.steps[step][k] || 0) + 1;
    }
  }

  report(flows) {
    const steps = {};
    const total = { statements: 0, transaction_control: 0, cache_refills: 0, connection_setup: 0 };
    for (const [name, kinds] of Object.entries(this.steps)) {
      if (!Object.keys(kinds).length && !STEPS.includes(name)) continue;
      const s = { statements: 0, transaction_control: 0, cache_refills: 0, connection_setup: 0, kinds };
      for (const [k, c] of Object.entries(kinds)) {
        if (isTx(k)) s.transaction_control += c;
        else if (isConnectionSetup(k)) s.connection_setup += c;
        else s.statements += c;
        if (isCacheRefill(k)) s.cache_refills += c;
      }
      steps[name] = s;
      for (const key of Object.keys(total)) total[key] += s[key];
    }
    const per = (x) => round(x / Math.max(1, flows), 2);
    return {
      flows,
      per_flow: {
        statements: per(total.statements),
        statements_without_cache_refills: per(total.statements - total.cache_refills),
        transaction_control: per(total.transaction_control),
        all: per(total.statements + total.transaction_control),
      },
      totals: total,
      steps,
      unparsed_lines: this.tail.unparsed,
    };
  }
}

async function sequential(n) {
  const stats = new Stats();
  const sources = {};
  if (opt.sqlLog) sources.sqlx = new Attribution(new LogTail(opt.sqlLog, sqlxLine));
  if (opt.pgLog) sources.postgres = new Attribution(new LogTail(opt.pgLog, pgLine(opt.pgDb)));
  const attributions = Object.values(sources);
  if (attributions.length) {
    stats.onStep = async (name) => {
      for (const a of attributions) a.collect(name);
    };
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1) {
    await stats.run();
  }
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const out = { ...stats.summary(elapsed), client_cpu: round((cpu.user + cpu.system) / 1000 / elapsed) };
  if (attributions.length) {
    // Anything logged after the last step shows up on its own line (none is expected).
    await new Promise((r) => setTimeout(r, 500));
    out.sql = {};
    for (const [name, a] of Object.entries(sources)) {
      a.collect('after the last flow');
      a.tail.close();
      out.sql[name] = a.report(stats.latencies.length);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------

let result;
if (opt.sequential) {
  info(`${target}: ${opt.sequential} sequential flows${opt.sqlLog || opt.pgLog ? ', counting SQL statements' : ''}`);
  result = { mode: 'sequential', target, ...(await sequential(opt.sequential)) };
} else {
  if (opt.warmup > 0) {
    info(`${target}: warm-up, ${opt.workers} workers for ${opt.warmup} s`);
    const w = await load(opt.warmup);
    if (w.errors) {
      result = { mode: 'warmup', target, workers: opt.workers, ...w };
    }
  }
  if (!result) {
    info(`${target}: ${opt.workers} workers for ${opt.duration} s`);
    result = { mode: 'load', target, workers: opt.workers, ...(await load(opt.duration)) };
  }
}
closeConnections();

info(`${result.flows} flows, ${result.errors} failed, ${result.flows_per_s} flows/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, client CPU ${result.client_cpu} cores`);
for (const e of result.error_samples) info(`error: ${e}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.errors ? 1 : 0);
