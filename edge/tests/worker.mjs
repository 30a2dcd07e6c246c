// Black-box checks of the Worker under `wrangler dev` (run by scripts/edge-test):
//   node edge/tests/worker.mjs --url URL --admin-token TOKEN [--conformance URL]
// Prints one line per check and ends with "N passed, M failed"; exits 1 on a failure.
// Only loopback URLs are used.

import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: { url: { type: "string" }, "admin-token": { type: "string" }, conformance: { type: "string" } },
});
const base = opts.url;
const admin = { authorization: `Bearer ${opts["admin-token"]}` };
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

async function call(method, path, { headers = {}, form, json, body } = {}) {
  const init = { method, headers: { ...headers } };
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers["content-type"] = "application/x-www-form-urlencoded";
  } else if (json) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const started = performance.now();
  const res = await fetch(base + path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return { status: res.status, headers: res.headers, data, ms: performance.now() - started };
}

const basic = (id, secret) => ({
  authorization: "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64"),
});

let client;
let token;

await check("health: alive and ready (D1 migrated)", async () => {
  const alive = await call("GET", "/health/alive");
  expect(alive.status === 200, `alive: ${alive.status}`);
  const ready = await call("GET", "/health/ready");
  expect(ready.status === 200 && ready.data.status === "ok", `ready: ${ready.status} ${JSON.stringify(ready.data)}`);
});

await check("admin API without the bearer token is 401 unauthorized (RFC 6749 JSON)", async () => {
  for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }, { authorization: "Basic eDp5" }]) {
    const r = await call("GET", "/admin/clients", { headers });
    expect(r.status === 401, `status ${r.status}`);
    expect(r.data.error === "unauthorized", JSON.stringify(r.data));
    expect((r.headers.get("www-authenticate") || "").startsWith("Bearer"), "no Bearer challenge");
  }
});

await check("un-prefixed v1 admin paths are not served on the Worker", async () => {
  for (const [method, path] of [["GET", "/clients"], ["POST", "/oauth2/introspect"], ["GET", "/keys/x"]]) {
    const r = await call(method, path, { headers: admin });
    expect(r.status === 404, `${method} ${path}: ${r.status}`);
  }
});

await check("create a client through /admin/clients", async () => {
  const r = await call("POST", "/admin/clients", {
    headers: admin,
    json: { client_name: "edge test", grant_types: ["client_credentials"], scope: "read write" },
  });
  expect(r.status === 201, `status ${r.status}: ${JSON.stringify(r.data)}`);
  expect(r.data.client_id && r.data.client_secret, "no id or secret");
  client = r.data;
  const got = await call("GET", `/admin/clients/${encodeURIComponent(client.client_id)}`, { headers: admin });
  expect(got.status === 200 && got.data.client_name === "edge test", `get: ${got.status}`);
  expect(!("client_secret" in got.data) || !got.data.client_secret, "the secret is shown again");
});

await check("client credentials grant issues a token", async () => {
  const r = await call("POST", "/oauth2/token", {
    headers: basic(client.client_id, client.client_secret),
    form: { grant_type: "client_credentials", scope: "read" },
  });
  expect(r.status === 200, `status ${r.status}: ${JSON.stringify(r.data)}`);
  expect(r.data.token_type.toLowerCase() === "bearer" && r.data.scope === "read", JSON.stringify(r.data));
  expect(r.headers.get("cache-control") === "no-store", "no cache-control: no-store");
  token = r.data.access_token;
});

await check("a wrong client secret is invalid_client", async () => {
  const r = await call("POST", "/oauth2/token", {
    headers: basic(client.client_id, "not-the-secret"),
    form: { grant_type: "client_credentials" },
  });
  expect(r.status === 401 && r.data.error === "invalid_client", `${r.status} ${JSON.stringify(r.data)}`);
});

await check("introspection: the token is active", async () => {
  const r = await call("POST", "/admin/oauth2/introspect", { headers: admin, form: { token } });
  expect(r.status === 200 && r.data.active === true, `${r.status} ${JSON.stringify(r.data)}`);
  expect(r.data.client_id === client.client_id && r.data.scope === "read", JSON.stringify(r.data));
});

await check("revocation (RFC 7009) answers 200", async () => {
  const r = await call("POST", "/oauth2/revoke", { headers: basic(client.client_id, client.client_secret), form: { token } });
  expect(r.status === 200, `${r.status} ${JSON.stringify(r.data)}`);
});

await check("introspection: the revoked token is inactive", async () => {
  const r = await call("POST", "/admin/oauth2/introspect", { headers: admin, form: { token } });
  expect(r.status === 200 && r.data.active === false, `${r.status} ${JSON.stringify(r.data)}`);
});

await check("discovery and JWKS (keys generated by WebCrypto)", async () => {
  const d = await call("GET", "/.well-known/openid-configuration");
  expect(d.status === 200 && d.data.issuer === base, `${d.status} issuer ${d.data && d.data.issuer}`);
  const j = await call("GET", "/.well-known/jwks.json");
  expect(j.status === 200 && j.data.keys.length >= 2, `${j.status} ${JSON.stringify(j.data).slice(0, 200)}`);
  expect(j.data.keys.every((k) => k.kty === "RSA" && k.alg === "RS256" && !("d" in k)), "a key is not public RS256");
});

await check("a body over 64 KiB is 413", async () => {
  const r = await call("POST", "/oauth2/token", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials&x=" + "a".repeat(70 * 1024),
  });
  expect(r.status === 413, `${r.status} ${JSON.stringify(r.data)}`);
});

await check("20 concurrent token requests all succeed with distinct tokens", async () => {
  const rs = await Promise.all(
    Array.from({ length: 20 }, () =>
      call("POST", "/oauth2/token", {
        headers: basic(client.client_id, client.client_secret),
        form: { grant_type: "client_credentials" },
      }),
    ),
  );
  expect(rs.every((r) => r.status === 200), rs.map((r) => r.status).join(","));
  expect(new Set(rs.map((r) => r.data.access_token)).size === 20, "tokens repeat");
});

await check("the cron handler (janitor) runs", async () => {
  const r = await call("GET", "/__scheduled?cron=17+*+*+*+*");
  expect(r.status === 200, `${r.status} ${JSON.stringify(r.data)}`);
  const ready = await call("GET", "/health/ready");
  expect(ready.status === 200, `ready after the janitor: ${ready.status}`);
});

if (opts.conformance) {
  await check("storage conformance suite (tests/src/conformance.rs) on D1 inside workerd", async () => {
    const res = await fetch(opts.conformance + "/admin/test/conformance", { method: "POST", headers: admin });
    const text = await res.text();
    expect(res.status === 200 && JSON.parse(text).conformance === "passed", `${res.status} ${text.slice(0, 300)}`);
    console.log(`     (${JSON.parse(text).ms} ms)`);
  });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
