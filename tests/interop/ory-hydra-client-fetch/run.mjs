// Interop: Ory's TypeScript SDK for Hydra (@ory/hydra-client-fetch from npm, unchanged)
// drives every admin and public operation Latch implements against the real `latch`
// binary: metadata, clients, JSON Web Keys, discovery and JWKS, the code flow's login
// and consent requests, tokens, userinfo, introspection, revocation, consent and login
// sessions, logout requests and token deletion.
//
//   node tests/interop/ory-hydra-client-fetch/run.mjs PATH/TO/latch
//
// Starts `latch serve all --dev` on free loopback ports over a fresh SQLite file; Node's
// fetch with a small cookie jar plays the browser, the SDK plays the login & consent app.
// Prints `ok - …` per check and `N passed, 0 failed` last; exits 1 on the first failure.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  Configuration,
  JwkApi,
  MetadataApi,
  OAuth2Api,
  OidcApi,
  ResponseError,
  WellknownApi,
} from "@ory/hydra-client-fetch";

const UI = "http://127.0.0.1:9/ui"; // never fetched: the browser stops at the UI redirects
const CALLBACK = "http://127.0.0.1:9/callback";
let passed = 0;

function check(cond, what) {
  if (!cond) throw new Error(`FAIL - ${what}`);
  passed++;
  console.log(`ok - ${what}`);
}

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    if (e instanceof ResponseError) return e.response.status;
    throw e;
  }
}

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const param = (location, name) => new URL(location).searchParams.get(name);

// A browser: follows nothing by itself, keeps the cookies each origin sets.
const jar = new Map();
async function follow(url) {
  const u = new URL(url);
  const cookie = [...jar.entries()].filter(([k]) => k.startsWith(`${u.host} `)).map(([k, v]) => `${k.split(" ")[1]}=${v}`);
  const r = await fetch(url, { redirect: "manual", headers: cookie.length ? { cookie: cookie.join("; ") } : {} });
  for (const c of r.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    jar.set(`${u.host} ${pair.slice(0, i)}`, pair.slice(i + 1));
  }
  check([302, 303].includes(r.status), `the browser is redirected from ${u.pathname}`);
  return new URL(r.headers.get("location"), url).toString();
}

// Follows redirects while they stay on Latch's public port: to the UI or the client.
let publicOrigin = "";
async function walk(url) {
  let at = await follow(url);
  while (at.startsWith(publicOrigin)) at = await follow(at);
  return at;
}

async function main() {
  const latch = resolve(process.argv[2]);
  const work = mkdtempSync(join(tmpdir(), "latch-ory-ts-"));
  const [pub, adm] = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${pub}`;
  const adminUrl = `http://127.0.0.1:${adm}`;
  publicOrigin = publicUrl;
  const server = spawn(latch, ["serve", "all", "--dev"], {
    cwd: work,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      SERVE_PUBLIC_PORT: String(pub),
      SERVE_ADMIN_PORT: String(adm),
      URLS_SELF_ISSUER: publicUrl,
      DSN: `sqlite://${work}/latch.sqlite`,
      LOG_LEVEL: "warn",
      URLS_LOGIN: `${UI}/login`,
      URLS_CONSENT: `${UI}/consent`,
      URLS_LOGOUT: `${UI}/logout`,
    },
  });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${publicUrl}/health/ready`)).ok) break;
      } catch {}
      if (i > 300) throw new Error("latch did not become ready");
      await new Promise((ok) => setTimeout(ok, 100));
    }
    await run(publicUrl, adminUrl);
    console.log(`${passed} passed, 0 failed`);
  } finally {
    server.kill();
  }
}

async function run(publicUrl, adminUrl) {
  const adminConf = new Configuration({ basePath: adminUrl });
  const publicConf = new Configuration({ basePath: publicUrl });
  const oauth2 = new OAuth2Api(adminConf);
  const jwk = new JwkApi(adminConf);

  const meta = new MetadataApi(adminConf);
  check((await meta.isAlive()).status === "ok", "MetadataApi.isAlive");
  check((await meta.isReady()).status === "ok", "MetadataApi.isReady");
  check(!!(await meta.getVersion()).version, "MetadataApi.getVersion");

  const disco = await new OidcApi(publicConf).discoverOidcConfiguration();
  check(disco.issuer === publicUrl && disco.token_endpoint === `${publicUrl}/oauth2/token`,
    "OidcApi.discoverOidcConfiguration");
  const keys = await new WellknownApi(publicConf).discoverJsonWebKeys();
  check(keys.keys.length >= 1 && keys.keys.every((k) => k.kid && k.kty), "WellknownApi.discoverJsonWebKeys");

  // Clients.
  const created = await oauth2.createOAuth2Client({
    oAuth2Client: {
      client_id: "ts-app", client_secret: "ts-secret", client_name: "TS app",
      grant_types: ["authorization_code", "refresh_token", "client_credentials"],
      response_types: ["code", "id_token"], scope: "openid offline profile",
      redirect_uris: [CALLBACK], owner: "team-a", metadata: { tier: "gold" },
    },
  });
  check(created.client_id === "ts-app" && created.client_secret === "ts-secret", "OAuth2Api.createOAuth2Client");
  const got = await oauth2.getOAuth2Client({ id: "ts-app" });
  check(got.client_name === "TS app" && got.created_at instanceof Date && !isNaN(got.created_at),
    "OAuth2Api.getOAuth2Client (dates parse)");
  for (let i = 0; i < 3; i++) {
    await oauth2.createOAuth2Client({ oAuth2Client: { client_id: `ts-extra-${i}`, owner: "team-b", grant_types: ["client_credentials"] } });
  }
  const page = await oauth2.listOAuth2ClientsRaw({ pageSize: 2 });
  const link = page.raw.headers.get("link") || "";
  const firstPage = await page.value();
  check(firstPage.length === 2 && link.includes('rel="next"'), "OAuth2Api.listOAuth2Clients pages with a Link header");
  const next = link.split(",").find((p) => p.includes('rel="next"')).split(";")[0].trim().replace(/^<|>$/g, "");
  const rest = await oauth2.listOAuth2Clients({ pageSize: 500, pageToken: param(new URL(next, adminUrl).toString(), "page_token") });
  check(rest.length === 2 && !rest.some((c) => firstPage.some((f) => f.client_id === c.client_id)),
    "OAuth2Api.listOAuth2Clients follows pageToken");
  check((await oauth2.listOAuth2Clients({ owner: "team-b" })).length === 3, "OAuth2Api.listOAuth2Clients by owner");
  const replaced = await oauth2.setOAuth2Client({
    id: "ts-extra-0", oAuth2Client: { client_name: "replaced", grant_types: ["client_credentials"] },
  });
  check(replaced.client_id === "ts-extra-0" && replaced.client_name === "replaced", "OAuth2Api.setOAuth2Client");
  const patched = await oauth2.patchOAuth2Client({
    id: "ts-extra-0", jsonPatch: [{ op: "replace", path: "/client_name", value: "patched" }],
  });
  check(patched.client_name === "patched", "OAuth2Api.patchOAuth2Client");
  const spans = await oauth2.setOAuth2ClientLifespans({
    id: "ts-extra-1", oAuth2ClientTokenLifespans: { client_credentials_grant_access_token_lifespan: "30m" },
  });
  check(spans.client_credentials_grant_access_token_lifespan === "30m0s", "OAuth2Api.setOAuth2ClientLifespans");
  await oauth2.deleteOAuth2Client({ id: "ts-extra-2" });
  check((await status(oauth2.getOAuth2Client({ id: "ts-extra-2" }))) === 404, "OAuth2Api.deleteOAuth2Client");

  // JSON Web Keys.
  const made = await jwk.createJsonWebKeySet({ set: "ts-set", createJsonWebKeySet: { alg: "ES256", kid: "k1", use: "sig" } });
  check(made.keys.length === 1 && made.keys[0].kid === "k1", "JwkApi.createJsonWebKeySet");
  const key = (await jwk.getJsonWebKey({ set: "ts-set", kid: "k1" })).keys[0];
  check(key.kid === "k1", "JwkApi.getJsonWebKey");
  check((await jwk.setJsonWebKey({ set: "ts-set", kid: "k1", jsonWebKey: key })).kid === "k1", "JwkApi.setJsonWebKey");
  check((await jwk.setJsonWebKeySet({ set: "ts-set", jsonWebKeySet: { keys: [key] } })).keys.length === 1,
    "JwkApi.setJsonWebKeySet");
  check((await jwk.getJsonWebKeySet({ set: "ts-set" })).keys.length === 1, "JwkApi.getJsonWebKeySet");
  await jwk.deleteJsonWebKey({ set: "ts-set", kid: "k1" });
  check((await status(jwk.getJsonWebKey({ set: "ts-set", kid: "k1" }))) === 404, "JwkApi.deleteJsonWebKey");
  await jwk.createJsonWebKeySet({ set: "ts-set-2", createJsonWebKeySet: { alg: "RS256", kid: "", use: "sig" } });
  await jwk.deleteJsonWebKeySet({ set: "ts-set-2" });
  check((await status(jwk.getJsonWebKeySet({ set: "ts-set-2" }))) === 404, "JwkApi.deleteJsonWebKeySet");

  // Tokens, with the SDK's own calls to the public port.
  const app = new OAuth2Api(new Configuration({ basePath: publicUrl, username: "ts-app", password: "ts-secret" }));
  const cc = await app.oauth2TokenExchange({ grantType: "client_credentials" });
  check(!!cc.access_token && cc.token_type.toLowerCase() === "bearer", "OAuth2Api.oauth2TokenExchange (client credentials)");
  const intro = await oauth2.introspectOAuth2Token({ token: cc.access_token });
  check(intro.active && intro.client_id === "ts-app", "OAuth2Api.introspectOAuth2Token");

  // The code flow.
  const start = (state) =>
    `${publicUrl}/oauth2/auth?` + new URLSearchParams({
      client_id: "ts-app", response_type: "code", scope: "openid offline profile",
      redirect_uri: CALLBACK, state, nonce: "nonce-0123456789",
    });
  let at = await follow(start("state-0123456789"));
  const login = await oauth2.getOAuth2LoginRequest({ loginChallenge: param(at, "login_challenge") });
  check(login.client.client_id === "ts-app" && login.skip === false, "OAuth2Api.getOAuth2LoginRequest");
  let done = await oauth2.acceptOAuth2LoginRequest({
    loginChallenge: login.challenge,
    acceptOAuth2LoginRequest: { subject: "user-2", remember: true, remember_for: 3600, amr: ["pwd"] },
  });
  at = await walk(done.redirect_to);
  const consent = await oauth2.getOAuth2ConsentRequest({ consentChallenge: param(at, "consent_challenge") });
  check(consent.subject === "user-2", "OAuth2Api.getOAuth2ConsentRequest");
  done = await oauth2.acceptOAuth2ConsentRequest({
    consentChallenge: consent.challenge,
    acceptOAuth2ConsentRequest: {
      grant_scope: consent.requested_scope, remember: true, remember_for: 3600,
      session: { id_token: { email: "user-2@example.com" } },
    },
  });
  at = await walk(done.redirect_to);
  check(at.startsWith(CALLBACK) && param(at, "state") === "state-0123456789", "the flow returns to the client");
  const tokens = await app.oauth2TokenExchange({ grantType: "authorization_code", code: param(at, "code"), redirectUri: CALLBACK });
  check(!!tokens.access_token && !!tokens.refresh_token && !!tokens.id_token, "OAuth2Api.oauth2TokenExchange (code)");
  // The SDK sends `accessToken` as the whole Authorization header (its userinfo
  // security scheme is oauth2, for which the generator adds no "Bearer "), as against Hydra.
  const bearer = `Bearer ${tokens.access_token}`;
  const info = await new OidcApi(new Configuration({ basePath: publicUrl, accessToken: bearer })).getOidcUserInfo();
  check(info.sub === "user-2" && info.email === "user-2@example.com", "OidcApi.getOidcUserInfo");
  const sessions = await oauth2.listOAuth2ConsentSessions({ subject: "user-2" });
  check(sessions.length === 1 && sessions[0].consent_request.client.client_id === "ts-app",
    "OAuth2Api.listOAuth2ConsentSessions");

  at = await follow(start("state-rejected-01"));
  const rejected = await oauth2.rejectOAuth2LoginRequest({
    loginChallenge: param(at, "login_challenge"), rejectOAuth2Request: { error: "access_denied" },
  });
  check(param(await walk(rejected.redirect_to), "error") === "access_denied", "OAuth2Api.rejectOAuth2LoginRequest");

  await app.revokeOAuth2Token({ token: tokens.refresh_token });
  check(!(await oauth2.introspectOAuth2Token({ token: tokens.refresh_token })).active, "OAuth2Api.revokeOAuth2Token");
  await oauth2.deleteOAuth2Token({ clientId: "ts-app" });
  check(!(await oauth2.introspectOAuth2Token({ token: cc.access_token })).active, "OAuth2Api.deleteOAuth2Token");

  at = await follow(`${publicUrl}/oauth2/sessions/logout?` + new URLSearchParams({ id_token_hint: tokens.id_token }));
  const logout = await oauth2.getOAuth2LogoutRequest({ logoutChallenge: param(at, "logout_challenge") });
  check(logout.subject === "user-2" && logout.rp_initiated === true, "OAuth2Api.getOAuth2LogoutRequest");
  check(!!(await oauth2.acceptOAuth2LogoutRequest({ logoutChallenge: logout.challenge })).redirect_to,
    "OAuth2Api.acceptOAuth2LogoutRequest");

  await oauth2.revokeOAuth2ConsentSessions({ subject: "user-2", all: true });
  check((await oauth2.listOAuth2ConsentSessions({ subject: "user-2" })).length === 0, "OAuth2Api.revokeOAuth2ConsentSessions");
  await oauth2.revokeOAuth2LoginSessions({ subject: "user-2" });
  at = await follow(start("state-after-revoke"));
  check((await oauth2.getOAuth2LoginRequest({ loginChallenge: param(at, "login_challenge") })).skip === false,
    "OAuth2Api.revokeOAuth2LoginSessions");
  await oauth2.deleteOAuth2Client({ id: "ts-app" });
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
