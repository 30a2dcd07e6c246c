// D1 and KV operations per request on the Worker, counted (not estimated): for each
// endpoint, the store's counters (GET /admin/test/ops, compiled only into the test build
// with the `conformance` feature) are read before and after one request, one request at
// a time, so the difference is exactly what that request asked of D1 and KV.
//
//   node bench/worker-ops.mjs --url URL --admin-token TOKEN [--check] [--markdown FILE]
//
// URL: a Worker built with `scripts/edge-build --out-dir build-test --features conformance`
// under `wrangler dev` (scripts/edge-test starts one). Every endpoint is measured on its
// first use ("cold": the isolate's client cache is empty for that client) and again in
// steady state (the same request repeated: the figure a loaded Worker sees).
// --check: exit 1 unless the targets of issue 4 hold: at most two D1 statements per token issued (the client's read and the insert)
// (client credentials, steady) and at most one per introspection.
// Prints a markdown table (also written to FILE with --markdown).

import { parseArgs } from "node:util";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    "admin-token": { type: "string" },
    check: { type: "boolean", default: false },
    markdown: { type: "string" },
  },
});
if (!opts.url || !opts["admin-token"]) {
  console.error("usage: node bench/worker-ops.mjs --url URL --admin-token TOKEN [--check] [--markdown FILE]");
  process.exit(2);
}
const base = opts.url.replace(/\/$/, "");
const admin = { authorization: `Bearer ${opts["admin-token"]}` };
const b64url = (b) => Buffer.from(b).toString("base64url");
const basic = (id, secret) => ({ authorization: "Basic " + Buffer.from(`${id}:${secret}`).toString("base64") });

async function raw(method, url, { headers = {}, form, json } = {}) {
  const init = { method, headers: { ...headers }, redirect: "manual" };
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers["content-type"] = "application/x-www-form-urlencoded";
  } else if (json) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  }
  const res = await fetch(url.startsWith("http") ? url : base + url, init);
  const text = await res.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, headers: res.headers, data };
}

async function counters() {
  const r = await raw("GET", "/admin/test/ops", { headers: admin });
  if (r.status !== 200) throw new Error(`/admin/test/ops: ${r.status} (is this the conformance build?)`);
  return r.data;
}

// name -> [{d1_calls, d1_statements, kv_reads, kv_writes}, ...] in the order measured
const seen = new Map();
const order = [];

/** Runs one request, checks its answer, records the counters' difference. */
async function measure(name, fn) {
  const before = await counters();
  const out = await fn();
  const after = await counters();
  const d = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
  if (!seen.has(name)) {
    seen.set(name, []);
    order.push(name);
  }
  seen.get(name).push(d);
  return out;
}

function expectStatus(what, r, ok) {
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.data).slice(0, 300)}`);
  return r;
}

const suffix = randomBytes(4).toString("hex");
const cc = { id: `ops-cc-${suffix}`, secret: "ops-cc-secret-0123456789" };
const flow = { id: `ops-flow-${suffix}`, secret: "ops-flow-secret-0123456789", redirect: "http://127.0.0.1:9/cb" };

// The isolate's first request that signs checks the key sets (worker_entry.rs, ensure_keys);
// done here, outside the figures.
expectStatus("warm-up", await raw("GET", "/.well-known/jwks.json"), [200]);

await measure("POST /admin/clients (create)", async () =>
  expectStatus("create", await raw("POST", "/admin/clients", { headers: admin, json: {
    client_id: cc.id, client_secret: cc.secret, grant_types: ["client_credentials"], scope: "read" } }), [201]));
await measure("GET /admin/clients/{id}", async () =>
  expectStatus("get", await raw("GET", `/admin/clients/${cc.id}`, { headers: admin }), [200]));
await raw("POST", "/admin/clients", { headers: admin, json: {
  client_id: flow.id, client_secret: flow.secret, grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"], scope: "openid offline", redirect_uris: [flow.redirect] } });

const tokens = [];
for (let i = 0; i < 4; i++) {
  const r = await measure("POST /oauth2/token (client_credentials)", async () =>
    expectStatus("token", await raw("POST", "/oauth2/token", { headers: basic(cc.id, cc.secret),
      form: { grant_type: "client_credentials", scope: "read" } }), [200]));
  tokens.push(r.data.access_token);
}
for (let i = 0; i < 3; i++) {
  await measure("POST /admin/oauth2/introspect (active)", async () => {
    const r = expectStatus("introspect", await raw("POST", "/admin/oauth2/introspect", { headers: admin, form: { token: tokens[0] } }), [200]);
    if (r.data.active !== true) throw new Error(`introspect: ${JSON.stringify(r.data)}`);
  });
}
await measure("POST /admin/oauth2/introspect (unknown token)", async () => {
  const r = expectStatus("introspect", await raw("POST", "/admin/oauth2/introspect", { headers: admin, form: { token: "latch_at_nope.nope" } }), [200]);
  if (r.data.active !== false) throw new Error(`introspect unknown: ${JSON.stringify(r.data)}`);
});
for (let i = 1; i < 3; i++) {
  await measure("POST /oauth2/revoke", async () =>
    expectStatus("revoke", await raw("POST", "/oauth2/revoke", { headers: basic(cc.id, cc.secret), form: { token: tokens[i] } }), [200]));
}
await measure("POST /admin/oauth2/introspect (revoked)", async () => {
  const r = expectStatus("introspect", await raw("POST", "/admin/oauth2/introspect", { headers: admin, form: { token: tokens[1] } }), [200]);
  if (r.data.active !== false) throw new Error(`introspect revoked: ${JSON.stringify(r.data)}`);
});
for (let i = 0; i < 2; i++) {
  await measure("GET /.well-known/openid-configuration", async () =>
    expectStatus("discovery", await raw("GET", "/.well-known/openid-configuration"), [200]));
  await measure("GET /.well-known/jwks.json", async () =>
    expectStatus("jwks", await raw("GET", "/.well-known/jwks.json"), [200]));
}

/** A browser's cookie jar: `keep` stores an answer's cookies, `cookie` the request header,
 * `loc` the answer's Location. */
function browser() {
  const jar = new Map();
  const keep = (r) => {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return r;
  };
  const cookie = () => ({ cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") });
  const loc = (r) => new URL(r.headers.get("location"), base);
  return { keep, cookie, loc };
}

/** One authorization-code flow, each of its eight requests measured, then refresh and userinfo. */
async function codeFlow() {
  const { keep, cookie, loc } = browser();
  const verifier = b64url(randomBytes(32));
  const q = new URLSearchParams({
    response_type: "code", client_id: flow.id, redirect_uri: flow.redirect, scope: "openid offline",
    state: b64url(randomBytes(8)), nonce: b64url(randomBytes(8)),
    code_challenge: b64url(createHash("sha256").update(verifier).digest()), code_challenge_method: "S256",
  });
  const requests = "/admin/oauth2/auth/requests";
  const login = await measure("GET /oauth2/auth", async () =>
    loc(keep(expectStatus("authorize", await raw("GET", `/oauth2/auth?${q}`, { headers: cookie() }), [302, 303]))).searchParams.get("login_challenge"));
  await measure("GET …/requests/login", async () =>
    expectStatus("login read", await raw("GET", `${requests}/login?login_challenge=${encodeURIComponent(login)}`, { headers: admin }), [200]));
  const back = await measure("PUT …/requests/login/accept", async () =>
    expectStatus("login accept", await raw("PUT", `${requests}/login/accept?login_challenge=${encodeURIComponent(login)}`,
      { headers: admin, json: { subject: `ops-user-${suffix}` } }), [200]).data.redirect_to);
  const consent = await measure("GET /oauth2/auth (back from login)", async () =>
    loc(keep(expectStatus("back from login", await raw("GET", back, { headers: cookie() }), [302, 303]))).searchParams.get("consent_challenge"));
  await measure("GET …/requests/consent", async () =>
    expectStatus("consent read", await raw("GET", `${requests}/consent?consent_challenge=${encodeURIComponent(consent)}`, { headers: admin }), [200]));
  const back2 = await measure("PUT …/requests/consent/accept", async () =>
    expectStatus("consent accept", await raw("PUT", `${requests}/consent/accept?consent_challenge=${encodeURIComponent(consent)}`,
      { headers: admin, json: { grant_scope: ["openid", "offline"] } }), [200]).data.redirect_to);
  const code = await measure("GET /oauth2/auth (back from consent)", async () =>
    loc(keep(expectStatus("back from consent", await raw("GET", back2, { headers: cookie() }), [302, 303]))).searchParams.get("code"));
  const t = await measure("POST /oauth2/token (authorization_code)", async () =>
    expectStatus("code exchange", await raw("POST", "/oauth2/token", { headers: basic(flow.id, flow.secret),
      form: { grant_type: "authorization_code", code, redirect_uri: flow.redirect, code_verifier: verifier } }), [200]).data);
  const refreshed = await measure("POST /oauth2/token (refresh_token)", async () =>
    expectStatus("refresh", await raw("POST", "/oauth2/token", { headers: basic(flow.id, flow.secret),
      form: { grant_type: "refresh_token", refresh_token: t.refresh_token } }), [200]).data);
  await measure("GET /userinfo", async () =>
    expectStatus("userinfo", await raw("GET", "/userinfo", { headers: { authorization: `Bearer ${refreshed.access_token}` } }), [200]));
}
for (let i = 0; i < 3; i++) await codeFlow();

/** One device flow (RFC 8628): the device asks, polls while pending (waiting out the
 * interval, so no poll is slow_down), the user approves, the device exchanges. */
const tv = `ops-tv-${suffix}`;
await raw("POST", "/admin/clients", { headers: admin, json: {
  client_id: tv, token_endpoint_auth_method: "none", grant_types: ["urn:ietf:params:oauth:grant-type:device_code"], scope: "openid" } });
async function deviceFlow() {
  const { keep, cookie, loc } = browser();
  const da = await measure("POST /oauth2/device/auth", async () =>
    expectStatus("device auth", await raw("POST", "/oauth2/device/auth", { form: { client_id: tv, scope: "openid" } }), [200]).data);
  const poll = () => raw("POST", "/oauth2/token", { form: {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: da.device_code, client_id: tv } });
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, (da.interval ?? 5) * 1000 + 100));
    await measure("POST /oauth2/token (device_code, pending)", async () => {
      const r = expectStatus("pending poll", await poll(), [400]);
      if (r.data.error !== "authorization_pending") throw new Error(`pending poll: ${JSON.stringify(r.data)}`);
    });
  }
  const requests = "/admin/oauth2/auth/requests";
  const ui = loc(keep(await raw("GET", new URL(da.verification_uri).pathname, { headers: cookie() })));
  const accepted = expectStatus("device accept", await raw("PUT",
    `${requests}/device/accept?device_challenge=${encodeURIComponent(ui.searchParams.get("device_challenge"))}`,
    { headers: admin, json: { user_code: da.user_code } }), [200]).data.redirect_to;
  const login = loc(keep(await raw("GET", accepted, { headers: cookie() }))).searchParams.get("login_challenge");
  const back = expectStatus("login accept", await raw("PUT", `${requests}/login/accept?login_challenge=${encodeURIComponent(login)}`,
    { headers: admin, json: { subject: `ops-user-${suffix}` } }), [200]).data.redirect_to;
  const consent = loc(keep(await raw("GET", back, { headers: cookie() }))).searchParams.get("consent_challenge");
  const back2 = expectStatus("consent accept", await raw("PUT", `${requests}/consent/accept?consent_challenge=${encodeURIComponent(consent)}`,
    { headers: admin, json: { grant_scope: ["openid"] } }), [200]).data.redirect_to;
  await measure("GET /oauth2/device/verify (back from consent)", async () =>
    expectStatus("back from consent", await raw("GET", back2, { headers: cookie() }), [302, 303]));
  await measure("POST /oauth2/token (device_code, approved)", async () => {
    const r = expectStatus("exchange", await poll(), [200]);
    if (!r.data.access_token) throw new Error(`exchange: ${JSON.stringify(r.data)}`);
  });
}
for (let i = 0; i < 2; i++) await deviceFlow();

const fmt = (d) => `${d.d1_statements} (${d.d1_calls} call${d.d1_calls === 1 ? "" : "s"})`;
const kv = (d) => `${d.kv_reads} / ${d.kv_writes}`;
let table = "| request | D1 statements, first use (calls) | D1 statements, steady (calls) | KV reads / writes, steady |\n|---|---:|---:|---:|\n";
for (const name of order) {
  const runs = seen.get(name);
  const steady = runs[runs.length - 1];
  table += `| ${name} | ${fmt(runs[0])} | ${runs.length > 1 ? fmt(steady) : "—"} | ${kv(steady)} |\n`;
}
console.log(table);
if (opts.markdown) writeFileSync(opts.markdown, table);

if (opts.check) {
  const steady = (name) => seen.get(name).at(-1);
  const failures = [];
  const token = steady("POST /oauth2/token (client_credentials)");
  // The client's read and the token's insert: the Worker caches no clients, since its
  // isolates share no channel to hear of a deletion or a secret change (SECURITY.md, 9).
  if (token.d1_statements > 2) failures.push(`a token costs ${fmt(token)}, target: at most 2 statements`);
  for (const name of ["POST /admin/oauth2/introspect (active)", "POST /admin/oauth2/introspect (revoked)",
    "POST /admin/oauth2/introspect (unknown token)"]) {
    const d = steady(name);
    if (d.d1_statements > 1) failures.push(`${name} costs ${fmt(d)}, target: at most 1`);
  }
  // A device's poll: the client's read (no client cache on the Worker, as above), then
  // one read of the device's rows and one conditional write: the poll's record while
  // pending (one statement), the exchange's batch once approved (one call).
  const pending = steady("POST /oauth2/token (device_code, pending)");
  if (pending.d1_statements > 3) failures.push(`a pending poll costs ${fmt(pending)}, target: the client's read, one read, one write`);
  const approved = steady("POST /oauth2/token (device_code, approved)");
  if (approved.d1_calls > 3) failures.push(`an approved poll costs ${fmt(approved)}, target: the client's read, one read, one batch`);
  for (const name of order) {
    const d = steady(name);
    if (d.kv_writes > 0) failures.push(`${name} writes KV in steady state (${kv(d)})`);
  }
  if (failures.length) {
    console.log(`FAIL ${failures.join("; ")}`);
    process.exit(1);
  }
  console.log("ok - at most two D1 statements per token issued (the client's read and the insert), at most one per introspection, a device's poll the client's read, one read and one write, no KV writes in steady state");
}
