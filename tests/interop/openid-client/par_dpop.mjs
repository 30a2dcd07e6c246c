#!/usr/bin/env node
// Interop: panva's openid-client drives Latch's pushed authorization requests (RFC 9126)
// and DPoP (RFC 9449) against the real `latch` binary, with the library's own API
// (buildAuthorizationUrlWithPAR, getDPoPHandle, randomDPoPKeyPair, authorizationCodeGrant,
// refreshTokenGrant and fetchUserInfo with { DPoP }):
//   - discovery names the PAR endpoint and the DPoP algorithms;
//   - a confidential client's code flow through PAR (the URL holds client_id and
//     request_uri only; the request_uri is used once); a client that must push;
//   - a public client with an ES256 and then an EdDSA key: DPoP-bound access tokens
//     (cnf.jkt is the key's RFC 7638 thumbprint, computed here by hand), userinfo with
//     a proof, bound refresh tokens refused with another key, a code bound by dpop_jkt;
//   - PAR and DPoP together (the proof at the push binds the code);
//   - a server that requires DPoP nonces (openid-client retries on use_dpop_nonce at the
//     token endpoint, PAR and userinfo);
//   - a server that requires PAR (a plain authorization request is sent back with
//     error=invalid_request; the pushed one runs).
//
// Usage: node tests/interop/openid-client/par_dpop.mjs PATH/TO/latch
// (run `npm ci --prefix tests/interop/openid-client` first; this script installs nothing)

import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import {
  REDIRECT_URI,
  SUBJECT,
  admin,
  Browser,
  describeError,
  introspect,
  loginAndConsent,
  ok,
  runChecks,
  show,
  startLatch,
} from './harness.mjs';

const SCOPES = ['openid', 'offline', 'email'];
const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
const CONFIDENTIAL = { id: 'par-rp', secret: 'par-rp-secret-123' };
const PUBLIC = 'spa';

// --- helpers ---------------------------------------------------------------------------

// RFC 7638 §3, by hand: SHA-256 over the required members in lexicographic order,
// serialized without whitespace, base64url.
async function thumbprint(publicKey) {
  const jwk = await crypto.subtle.exportKey('jwk', publicKey);
  const members = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'] }[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

function decodeJws(jws) {
  const [h, p] = jws.split('.');
  const part = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: part(h), payload: part(p) };
}

// A fetch for openid-client that records what went over the wire: the request's method,
// path, Authorization scheme and decoded DPoP proof; the response's status, DPoP-Nonce
// and WWW-Authenticate (and the body of PAR answers).
function recorder() {
  const log = [];
  const fetchFn = async (url, options) => {
    const headers = new Headers(options?.headers);
    const proof = headers.get('dpop');
    const res = await fetch(url, options);
    const entry = {
      method: options?.method ?? 'GET',
      url: String(url),
      path: new URL(url).pathname,
      scheme: headers.get('authorization')?.split(' ')[0],
      proof: proof ? decodeJws(proof) : undefined,
      status: res.status,
      nonce: res.headers.get('dpop-nonce'),
      challenge: res.headers.get('www-authenticate'),
    };
    if (entry.path === '/oauth2/par') entry.body = await res.clone().json().catch(() => undefined);
    log.push(entry);
    return res;
  };
  return {
    fetch: fetchFn,
    mark: () => log.length,
    since: (mark, path) => log.slice(mark).filter((e) => !path || e.path === path),
  };
}

async function discover(issuer, clientId, rec, confidential) {
  return client.discovery(
    new URL(issuer),
    clientId,
    confidential ? { id_token_signed_response_alg: 'RS256' } : { token_endpoint_auth_method: 'none' },
    confidential ? client.ClientSecretBasic(CONFIDENTIAL.secret) : client.None(),
    { execute: [client.allowInsecureRequests], [client.customFetch]: rec.fetch },
  );
}

async function createClients(adminUrl, extra = {}) {
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: CONFIDENTIAL.id,
    client_secret: CONFIDENTIAL.secret,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: SCOPES.join(' '),
    redirect_uris: [REDIRECT_URI],
    ...extra,
  });
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: PUBLIC,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: SCOPES.join(' '),
    redirect_uris: [REDIRECT_URI],
  });
}

// The parameters of an authorization request (PKCE S256, state, nonce) and its verifier.
async function request(extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: REDIRECT_URI,
    scope: SCOPES.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...extra,
  };
  return { verifier, params };
}

function exchange(cfg, callback, req, dpop) {
  return client.authorizationCodeGrant(
    cfg,
    callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.params.state, expectedNonce: req.params.nonce, idTokenExpected: true },
    undefined,
    dpop ? { DPoP: dpop } : undefined,
  );
}

async function attempt(fn) {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error };
  }
}

function refusedWith(outcome, error) {
  return outcome.error instanceof client.ResponseBodyError && outcome.error.error === error;
}

function outcomeOf(outcome) {
  return outcome.error ? describeError(outcome.error) : { accepted: outcome.value };
}

function queryKeys(url) {
  return [...new URL(url).searchParams.keys()].sort().join(',');
}

function dpopHandle(cfg, keyPair) {
  return client.getDPoPHandle(cfg, keyPair);
}

// The names a proof of `alg` may carry: openid-client 6.9 (oauth4webapi 3.8) signs
// Ed25519 proofs as "Ed25519" (RFC 9864's fully-specified name), which Latch takes as
// well as RFC 8037's "EdDSA".
function proofAlgs(alg) {
  return alg === 'EdDSA' ? ['EdDSA', 'Ed25519'] : [alg];
}

// --- the checks ------------------------------------------------------------------------

async function main(latch) {
  const { issuer, adminUrl } = await startLatch(latch, {}, 'main server');
  await createClients(adminUrl);
  const rec = recorder();

  // (a) Discovery.
  const conf = await discover(issuer, CONFIDENTIAL.id, rec, true);
  const meta = conf.serverMetadata();
  ok(
    meta.pushed_authorization_request_endpoint === `${issuer}/oauth2/par` && meta.require_pushed_authorization_requests !== true,
    `discovery (openid-client): pushed_authorization_request_endpoint is ${issuer}/oauth2/par, pushing not required`,
    meta,
  );
  ok(
    show(meta.dpop_signing_alg_values_supported) === show(['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256']),
    'discovery (openid-client): dpop_signing_alg_values_supported is ES256, EdDSA, Ed25519, RS256, PS256',
    meta,
  );

  await confidentialThroughPar(issuer, adminUrl, conf, rec);
  await mustPushClient(issuer, adminUrl, rec);
  const pub = await discover(issuer, PUBLIC, rec, false);
  for (const alg of ['ES256', 'EdDSA']) await publicWithDpop(adminUrl, pub, rec, alg);
  await parWithDpop(adminUrl, conf, rec);
  await nonces(latch);
  await parRequired(latch);
}

// (b) A confidential client (client_secret_basic) through PAR.
async function confidentialThroughPar(issuer, adminUrl, conf, rec) {
  const label = 'PAR';
  const req = await request();
  const mark = rec.mark();
  const url = await client.buildAuthorizationUrlWithPAR(conf, req.params);
  const [push] = rec.since(mark, '/oauth2/par');
  ok(
    push?.method === 'POST' && push.scheme === 'Basic' && push.status === 201 &&
      push.body?.request_uri?.startsWith(REQUEST_URI_PREFIX) && push.body?.expires_in === 60,
    `${label}: openid-client pushes the request (client_secret_basic) and gets 201 with a ${REQUEST_URI_PREFIX}… request_uri, expires_in 60`,
    push,
  );
  ok(
    `${url.origin}${url.pathname}` === `${issuer}/oauth2/auth` &&
      queryKeys(url) === 'client_id,request_uri' &&
      url.searchParams.get('client_id') === CONFIDENTIAL.id &&
      url.searchParams.get('request_uri') === push.body.request_uri,
    `${label}: the authorization URL openid-client builds holds only client_id and request_uri`,
    url.href,
  );
  const callback = await loginAndConsent({
    adminUrl, authUrl: url.href, label, clientId: CONFIDENTIAL.id, scopes: SCOPES, state: req.params.state,
    urlWhat: 'the pushed authorization URL',
  });
  const got = await attempt(() => exchange(conf, callback, req));
  const tokens = got.value;
  const claims = tokens?.claims();
  ok(
    tokens?.access_token && tokens.refresh_token && tokens.token_type === 'bearer' &&
      claims?.sub === SUBJECT && claims.nonce === req.params.nonce && [].concat(claims.aud).includes(CONFIDENTIAL.id),
    `${label}: the code is exchanged (client_secret_basic, PKCE) for bearer access, refresh and ID tokens; openid-client validated the ID token (signature, iss, aud, nonce)`,
    outcomeOf(got),
  );
  const again = await new Browser().get(url.href);
  const to = again.location && new URL(again.location, url);
  ok(
    !to?.searchParams.get('login_challenge') && to?.searchParams.get('error') === 'invalid_request_uri',
    `${label}: the request_uri is used once (a second visit is refused with invalid_request_uri)`,
    { status: again.status, location: again.location },
  );
}

// (f, per client) A client registered with require_pushed_authorization_requests.
async function mustPushClient(issuer, adminUrl, rec) {
  const label = 'PAR required by the client';
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'must-push', client_secret: CONFIDENTIAL.secret, grant_types: ['authorization_code'], response_types: ['code'],
    scope: 'openid', redirect_uris: [REDIRECT_URI], require_pushed_authorization_requests: true,
  });
  const cfg = await client.discovery(new URL(issuer), 'must-push', undefined, client.ClientSecretBasic(CONFIDENTIAL.secret), {
    execute: [client.allowInsecureRequests], [client.customFetch]: rec.fetch,
  });
  const req = await request({ scope: 'openid' });
  await refusesPlainAndRunsPushed(adminUrl, cfg, 'must-push', req, label);
}

// Shared by both PAR-required cases: the plain URL goes back to the client with
// error=invalid_request; the pushed one runs to a code that is exchanged.
async function refusesPlainAndRunsPushed(adminUrl, cfg, clientId, req, label) {
  const plain = client.buildAuthorizationUrl(cfg, req.params);
  const refused = await new Browser().get(plain.href);
  const to = refused.location && new URL(refused.location, plain);
  ok(
    [302, 303].includes(refused.status) && to && `${to.origin}${to.pathname}` === REDIRECT_URI &&
      to.searchParams.get('error') === 'invalid_request' && to.searchParams.get('state') === req.params.state &&
      !to.searchParams.get('code'),
    `${label}: a plain authorization URL (buildAuthorizationUrl) is sent back to the redirect_uri with error=invalid_request`,
    { url: plain.href, status: refused.status, location: refused.location },
  );
  const url = await client.buildAuthorizationUrlWithPAR(cfg, req.params);
  const callback = await loginAndConsent({
    adminUrl, authUrl: url.href, label, clientId, scopes: req.params.scope.split(' '), state: req.params.state,
    urlWhat: 'the pushed authorization URL (buildAuthorizationUrlWithPAR)',
  });
  const got = await attempt(() => exchange(cfg, callback, req));
  ok(
    got.value?.access_token && got.value.claims()?.sub === SUBJECT,
    `${label}: the pushed request's code is exchanged and its ID token validated`,
    outcomeOf(got),
  );
}

// (c) A public client (none, PKCE) with a DPoP key of `alg`. The EdDSA run also binds
// the code by dpop_jkt at the authorization endpoint (RFC 9449 §10).
async function publicWithDpop(adminUrl, pub, rec, alg) {
  const label = `DPoP ${alg} (public client)`;
  const keyPair = await client.randomDPoPKeyPair(alg);
  const jkt = await thumbprint(keyPair.publicKey);
  const dpop = dpopHandle(pub, keyPair);
  const other = dpopHandle(pub, await client.randomDPoPKeyPair(alg));
  const withJkt = alg === 'EdDSA';
  const req = await request(withJkt ? { dpop_jkt: jkt } : {});
  const url = client.buildAuthorizationUrl(pub, req.params);
  const callback = await loginAndConsent({
    adminUrl, authUrl: url.href, label, clientId: PUBLIC, scopes: SCOPES, state: req.params.state,
    urlWhat: `the authorization URL built by openid-client (PKCE S256${withJkt ? ', dpop_jkt' : ''})`,
  });

  if (withJkt) {
    const wrong = await attempt(() => exchange(pub, callback, req, other));
    ok(
      refusedWith(wrong, 'invalid_dpop_proof'),
      `${label}: the code bound by dpop_jkt is refused with another key's proof (invalid_dpop_proof)`,
      outcomeOf(wrong),
    );
  }
  let mark = rec.mark();
  const got = await attempt(() => exchange(pub, callback, req, dpop));
  const tokens = got.value;
  const [sent] = rec.since(mark, '/oauth2/token');
  ok(
    tokens?.access_token && tokens.refresh_token && tokens.id_token && tokens.token_type === 'dpop' &&
      tokens.claims()?.sub === SUBJECT,
    `${label}: authorizationCodeGrant with { DPoP } returns token_type DPoP, a refresh token and an ID token openid-client validated`,
    outcomeOf(got),
  );
  ok(
    sent?.proof?.header.typ === 'dpop+jwt' && proofAlgs(alg).includes(sent.proof.header.alg) && sent.proof.header.jwk?.d === undefined &&
      sent.proof.payload.htm === 'POST' && sent.proof.payload.htu === pub.serverMetadata().token_endpoint,
    `${label}: openid-client's proof at the token endpoint is a dpop+jwt of ${alg} with the public jwk, htm POST, htu the token endpoint`,
    sent,
  );
  const intro = await introspect(adminUrl, tokens.access_token);
  ok(
    intro.active === true && intro.token_type === 'DPoP' && intro.cnf?.jkt === jkt && intro.client_id === PUBLIC,
    `${label}: introspection shows token_type DPoP and cnf.jkt = the key's RFC 7638 thumbprint (computed here by hand)`,
    { introspection: intro, expected_jkt: jkt },
  );

  mark = rec.mark();
  const ui = await attempt(() => client.fetchUserInfo(pub, tokens.access_token, SUBJECT, { DPoP: dpop }));
  const [call] = rec.since(mark, '/userinfo');
  const ath = createHash('sha256').update(tokens.access_token, 'ascii').digest('base64url');
  ok(
    ui.value?.sub === SUBJECT && ui.value.email === SUBJECT && call?.scheme === 'DPoP' &&
      call.proof?.payload.ath === ath && call.proof.payload.htm === 'GET',
    `${label}: fetchUserInfo with { DPoP } (Authorization: DPoP, a proof with ath) returns sub and email`,
    { outcome: outcomeOf(ui), call },
  );
  const bearer = await attempt(() => client.fetchUserInfo(pub, tokens.access_token, SUBJECT));
  const challenges = bearer.error instanceof client.WWWAuthenticateChallengeError ? bearer.error.cause : [];
  ok(
    challenges.some((c) => c.scheme === 'dpop' && c.parameters.error === 'invalid_token'),
    `${label}: the bound access token used as a bearer token at userinfo is refused with a DPoP invalid_token challenge`,
    outcomeOf(bearer),
  );

  const refreshed = await attempt(() => client.refreshTokenGrant(pub, tokens.refresh_token, undefined, { DPoP: dpop }));
  const r = refreshed.value;
  const rIntro = r?.access_token && (await introspect(adminUrl, r.access_token));
  ok(
    r?.token_type === 'dpop' && r.refresh_token && r.refresh_token !== tokens.refresh_token && rIntro?.cnf?.jkt === jkt,
    `${label}: refreshTokenGrant with the same key gives a new DPoP access token bound to it and a rotated refresh token`,
    { outcome: outcomeOf(refreshed), introspection: rIntro },
  );
  const stolen = await attempt(() => client.refreshTokenGrant(pub, r.refresh_token, undefined, { DPoP: other }));
  ok(
    refusedWith(stolen, 'invalid_dpop_proof'),
    `${label}: the (public client's, bound) refresh token is refused with another key's proof (invalid_dpop_proof)`,
    outcomeOf(stolen),
  );
  const bare = await attempt(() => client.refreshTokenGrant(pub, r.refresh_token));
  ok(
    refusedWith(bare, 'invalid_dpop_proof'),
    `${label}: and without a proof (invalid_dpop_proof)`,
    outcomeOf(bare),
  );
  const still = await attempt(() => client.refreshTokenGrant(pub, r.refresh_token, undefined, { DPoP: dpop }));
  ok(
    still.value?.token_type === 'dpop',
    `${label}: the refusals did not use it up: the right key still refreshes`,
    outcomeOf(still),
  );
}

// (d) PAR and DPoP together: openid-client sends the proof at the push, which binds the code.
async function parWithDpop(adminUrl, conf, rec) {
  const label = 'PAR + DPoP';
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const jkt = await thumbprint(keyPair.publicKey);
  const dpop = client.getDPoPHandle(conf, keyPair);
  const otherPair = await client.randomDPoPKeyPair('ES256');
  const other = client.getDPoPHandle(conf, otherPair);

  const mismatched = await request({ dpop_jkt: await thumbprint(otherPair.publicKey) });
  const refused = await attempt(() => client.buildAuthorizationUrlWithPAR(conf, mismatched.params, { DPoP: dpop }));
  ok(
    refusedWith(refused, 'invalid_dpop_proof'),
    `${label}: a push whose dpop_jkt is not the proof's key is refused (invalid_dpop_proof)`,
    outcomeOf(refused),
  );

  const req = await request();
  const mark = rec.mark();
  const url = await client.buildAuthorizationUrlWithPAR(conf, req.params, { DPoP: dpop });
  const [push] = rec.since(mark, '/oauth2/par');
  ok(
    push?.status === 201 && push.proof?.payload.htu === conf.serverMetadata().pushed_authorization_request_endpoint &&
      push.proof.payload.htm === 'POST' && queryKeys(url) === 'client_id,request_uri',
    `${label}: buildAuthorizationUrlWithPAR with { DPoP } sends a proof for the PAR endpoint and gets a request_uri`,
    { push, url: url.href },
  );
  const callback = await loginAndConsent({
    adminUrl, authUrl: url.href, label, clientId: CONFIDENTIAL.id, scopes: SCOPES, state: req.params.state,
    urlWhat: 'the pushed authorization URL',
  });
  const wrong = await attempt(() => exchange(conf, callback, req, other));
  ok(
    refusedWith(wrong, 'invalid_dpop_proof'),
    `${label}: the code is bound to the key proven at the push: another key's proof is refused (invalid_dpop_proof)`,
    outcomeOf(wrong),
  );
  const none = await attempt(() => exchange(conf, callback, req));
  ok(
    refusedWith(none, 'invalid_dpop_proof'),
    `${label}: and so is the exchange without a proof (invalid_dpop_proof)`,
    outcomeOf(none),
  );
  const got = await attempt(() => exchange(conf, callback, req, dpop));
  const tokens = got.value;
  const intro = tokens?.access_token && (await introspect(adminUrl, tokens.access_token));
  ok(
    tokens?.token_type === 'dpop' && tokens.claims()?.sub === SUBJECT && intro?.cnf?.jkt === jkt,
    `${label}: with the pushed key's proof the code gives a DPoP token bound to its thumbprint; ID token validated`,
    { outcome: outcomeOf(got), introspection: intro, expected_jkt: jkt },
  );
  const ui = await attempt(() => client.fetchUserInfo(conf, tokens.access_token, SUBJECT, { DPoP: dpop }));
  ok(ui.value?.sub === SUBJECT, `${label}: fetchUserInfo with { DPoP } works`, outcomeOf(ui));
  // RFC 9449 §5: a confidential client's refresh token is not bound (it authenticates).
  const r = await attempt(() => client.refreshTokenGrant(conf, tokens.refresh_token));
  ok(
    r.value?.token_type === 'bearer',
    `${label}: the confidential client's refresh token is not bound: refreshed without a proof it gives a bearer token`,
    outcomeOf(r),
  );
}

// (e) A server that requires DPoP nonces: openid-client retries on use_dpop_nonce.
async function nonces(latch) {
  const { issuer, adminUrl } = await startLatch(latch, { OAUTH2_DPOP_REQUIRE_NONCE: 'true' }, 'nonce server');
  await createClients(adminUrl);
  const rec = recorder();
  const pub = await discover(issuer, PUBLIC, rec, false);
  const label = 'DPoP nonces';
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const jkt = await thumbprint(keyPair.publicKey);
  const dpop = client.getDPoPHandle(pub, keyPair);

  const req = await request();
  const url = client.buildAuthorizationUrl(pub, req.params);
  const callback = await loginAndConsent({
    adminUrl, authUrl: url.href, label, clientId: PUBLIC, scopes: SCOPES, state: req.params.state,
  });
  let mark = rec.mark();
  const got = await attempt(() => exchange(pub, callback, req, dpop));
  const calls = rec.since(mark, '/oauth2/token');
  ok(
    got.value?.token_type === 'dpop' && calls.length === 2 &&
      calls[0].status === 400 && calls[0].nonce && calls[0].proof.payload.nonce === undefined &&
      calls[1].status === 200 && calls[1].proof.payload.nonce === calls[0].nonce,
    `${label}: the token endpoint answers 400 use_dpop_nonce with a DPoP-Nonce; openid-client retries with it and gets DPoP tokens`,
    { outcome: outcomeOf(got), calls },
  );
  const tokens = got.value;
  ok(
    (await introspect(adminUrl, tokens.access_token)).cnf?.jkt === jkt,
    `${label}: the access token is bound to the key (cnf.jkt)`,
  );

  // A fresh handle over the same key knows no nonce yet: userinfo challenges, the library retries.
  const fresh = client.getDPoPHandle(pub, keyPair);
  mark = rec.mark();
  const ui = await attempt(() => client.fetchUserInfo(pub, tokens.access_token, SUBJECT, { DPoP: fresh }));
  const uiCalls = rec.since(mark, '/userinfo');
  ok(
    ui.value?.sub === SUBJECT && uiCalls.length === 2 && uiCalls[0].status === 401 &&
      /^DPoP error="use_dpop_nonce"/.test(uiCalls[0].challenge ?? '') && uiCalls[0].nonce &&
      uiCalls[1].status === 200 && uiCalls[1].proof.payload.nonce === uiCalls[0].nonce,
    `${label}: userinfo answers 401 WWW-Authenticate: DPoP error="use_dpop_nonce"; openid-client retries with the nonce and gets the claims`,
    { outcome: outcomeOf(ui), calls: uiCalls },
  );
  const ui2 = await attempt(() => client.fetchUserInfo(pub, tokens.access_token, SUBJECT, { DPoP: dpop }));
  ok(ui2.value?.sub === SUBJECT, `${label}: userinfo with the handle that already holds a nonce works`, outcomeOf(ui2));
  const r = await attempt(() => client.refreshTokenGrant(pub, tokens.refresh_token, undefined, { DPoP: dpop }));
  ok(r.value?.token_type === 'dpop', `${label}: refreshTokenGrant with { DPoP } works`, outcomeOf(r));

  // PAR with a proof from a handle without a nonce: the push is retried too.
  const pushHandle = client.getDPoPHandle(pub, await client.randomDPoPKeyPair('ES256'));
  const preq = await request();
  mark = rec.mark();
  const pushed = await attempt(() => client.buildAuthorizationUrlWithPAR(pub, preq.params, { DPoP: pushHandle }));
  const pushes = rec.since(mark, '/oauth2/par');
  ok(
    pushed.value && pushes.length === 2 && pushes[0].status === 400 && pushes[0].nonce &&
      pushes[1].status === 201 && pushes[1].proof.payload.nonce === pushes[0].nonce,
    `${label}: the PAR endpoint answers 400 use_dpop_nonce; openid-client retries the push (a public client, by client_id) with the nonce`,
    { outcome: outcomeOf(pushed), pushes },
  );
  const pcb = await loginAndConsent({
    adminUrl, authUrl: pushed.value.href, label: `${label} + PAR`, clientId: PUBLIC, scopes: SCOPES, state: preq.params.state,
    urlWhat: 'the pushed authorization URL',
  });
  const pt = await attempt(() => exchange(pub, pcb, preq, pushHandle));
  ok(pt.value?.token_type === 'dpop', `${label} + PAR: the code is exchanged with the pushing key for DPoP tokens`, outcomeOf(pt));
}

// (f) A server that requires PAR of every client.
async function parRequired(latch) {
  const { issuer, adminUrl } = await startLatch(
    latch,
    { OAUTH2_PUSHED_AUTHORIZATION_REQUESTS_REQUIRED: 'true' },
    'PAR-required server',
  );
  await createClients(adminUrl);
  const rec = recorder();
  const conf = await discover(issuer, CONFIDENTIAL.id, rec, true);
  const label = 'PAR required by the server';
  ok(
    conf.serverMetadata().require_pushed_authorization_requests === true,
    `${label}: discovery (openid-client) says require_pushed_authorization_requests: true`,
    conf.serverMetadata(),
  );
  await refusesPlainAndRunsPushed(adminUrl, conf, CONFIDENTIAL.id, await request(), label);
}

await runChecks(main, 'node par_dpop.mjs PATH/TO/latch');
