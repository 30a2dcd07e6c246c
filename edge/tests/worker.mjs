// Black-box checks of the Worker under `wrangler dev` (run by scripts/edge-test):
//   node edge/tests/worker.mjs --url URL --admin-token TOKEN [--conformance URL]
//                              [--access-port PORT --access-aud TAG]
// --access-port: the Worker was started with CF_ACCESS_TEAM_DOMAIN=http://127.0.0.1:PORT
// and CF_ACCESS_AUD=TAG; this script serves that team's key set on PORT (a stand-in for
// <team>.cloudflareaccess.com/cdn-cgi/access/certs) and checks the Access gate.
// Prints one line per check and ends with "N passed, M failed"; exits 1 on a failure.
// Only loopback URLs are used.

import { parseArgs } from "node:util";
import { createServer } from "node:http";
import { generateKeyPairSync, sign } from "node:crypto";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    "admin-token": { type: "string" },
    conformance: { type: "string" },
    "access-port": { type: "string" },
    "access-aud": { type: "string" },
  },
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


if (opts["access-port"]) {
  // A stand-in for the team's Cloudflare Access domain: it publishes the key set the
  // Worker fetches and counts the fetches; the assertions are signed here as Access
  // signs them (RS256, kid in the header, aud as a list).
  const team = `http://127.0.0.1:${opts["access-port"]}`;
  const aud = opts["access-aud"];
  const newKey = (kid) => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
  };
  const k1 = newKey("access-k1");
  const k2 = newKey("access-k2");
  const impostor = newKey("access-k1"); // the published kid, another key
  const published = [k1];
  let fetches = 0;
  let lastFetch = 0;
  const certs = createServer((req, res) => {
    if (req.url !== "/cdn-cgi/access/certs") return res.writeHead(404).end();
    fetches++;
    lastFetch = Date.now();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: published.map((k) => k.jwk), public_cert: {}, public_certs: [] }));
  });
  await new Promise((ok) => certs.listen(Number(opts["access-port"]), "127.0.0.1", ok));
  const b64 = (x) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const assertion = (key, over = {}, header = { alg: "RS256", kid: key.kid }) => {
    const claims = { aud: [aud], email: "ops@example.com", exp: now + 600, iat: now, nbf: now, iss: team, type: "app",
      sub: "0b7f4b1c-6f4e-4f59-9a49-3b8c1a9e2f10", ...over };
    const input = `${b64(header)}.${b64(claims)}`;
    return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`;
  };
  const asAccess = (jwt) => ({ "cf-access-jwt-assertion": jwt });

  await check("Cloudflare Access: a valid assertion opens the admin API; the team's keys are fetched once", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await call("GET", "/admin/clients", { headers: asAccess(assertion(k1)) });
      expect(r.status === 200 && Array.isArray(r.data), `try ${i}: ${r.status} ${JSON.stringify(r.data)}`);
    }
    expect(fetches === 1, `the key set was fetched ${fetches} times for three requests`);
    const bearer = await call("GET", "/admin/clients", { headers: admin });
    expect(bearer.status === 200, `the bearer token no longer works: ${bearer.status}`);
  });

  await check("Cloudflare Access: forged, expired, foreign or unsigned assertions are 401", async () => {
    const bad = {
      "another key under the published kid": assertion(impostor),
      "another application's audience": assertion(k1, { aud: ["someone-elses-app"] }),
      "another team's issuer": assertion(k1, { iss: "https://evil.cloudflareaccess.com" }),
      "expired": assertion(k1, { exp: now - 120, iat: now - 900, nbf: now - 900 }),
      "not yet valid": assertion(k1, { nbf: now + 600 }),
      "alg none": `${b64({ alg: "none", kid: k1.kid })}.${b64({ aud: [aud], iss: team, exp: now + 600 })}.`,
      "garbage": "not-a-jwt",
    };
    for (const [what, jwt] of Object.entries(bad)) {
      const r = await call("GET", "/admin/clients", { headers: asAccess(jwt) });
      expect(r.status === 401 && r.data.error === "unauthorized", `${what}: ${r.status} ${JSON.stringify(r.data)}`);
      expect(/Cloudflare Access/.test(r.data.error_description), `${what}: ${r.data.error_description}`);
    }
  });

  await check("Cloudflare Access: a rotated-in key is fetched on first sight (at most every 5 s)", async () => {
    published.push(k2);
    const before = fetches;
    // Right after a fetch an unknown kid does not fetch again (throttled): 401.
    const sent = Date.now();
    const early = await call("GET", "/admin/clients", { headers: asAccess(assertion(k2)) });
    if (sent - lastFetch < 4000) expect(early.status === 401 && fetches === before, `early: ${early.status}, fetches ${fetches}`);
    await new Promise((ok) => setTimeout(ok, 5500));
    const r = await call("GET", "/admin/clients", { headers: asAccess(assertion(k2)) });
    expect(r.status === 200, `after the refetch window: ${r.status} ${JSON.stringify(r.data)}`);
    expect(fetches === before + 1, `fetches: ${fetches - before} after the rotation`);
  });
  certs.close();
}

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
