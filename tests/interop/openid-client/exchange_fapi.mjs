#!/usr/bin/env node
// Interop: panva's openid-client drives Latch's token exchange (RFC 8693) and its FAPI 2.0
// Security Profile switch (OAUTH2_PROFILE=fapi2) against the real `latch` binary, with the
// library's own API (genericGrantRequest, clientCredentialsGrant, tokenRevocation,
// PrivateKeyJwt, buildAuthorizationUrlWithPAR, getDPoPHandle, randomDPoPKeyPair,
// authorizationCodeGrant, refreshTokenGrant, fetchUserInfo):
//   - token exchange: a user's code flow at client `app` whose consent grants the access-
//     token audience `api` (another client); `api` exchanges that access token for one to
//     a resource it may reach (sub = the user, aud = the resource, client_id = `api`,
//     issued_token_type); an actor token adds `act` (and a chain of them); `app` exchanges
//     its own ID token; a trusted issuer's JWT is exchanged once; the refusals, as
//     openid-client surfaces them (a resource or audience the client may not have, a wider
//     scope, a token not meant for the client, a public client); revoking the user's
//     refresh token (RFC 7009, by `app`) makes the exchanged tokens inactive;
//   - FAPI 2.0: a second server with OAUTH2_PROFILE=fapi2; discovery offers only
//     private_key_jwt, response_type=code and pushed requests; a private_key_jwt (ES256)
//     client runs PAR + PKCE + DPoP end to end (iss in the response, an ES256 ID token
//     validated by the library, userinfo and refresh with DPoP, a refresh retried with the
//     previous token); the refusals, each with the server's error: a plain authorization
//     URL, a push without redirect_uri or PKCE, a client_secret_basic client, a public
//     client, an RS256 client assertion, a token request without DPoP or with an RS256
//     proof, a refresh without DPoP.
//
// Usage: node tests/interop/openid-client/exchange_fapi.mjs PATH/TO/latch
// (run `npm ci --prefix tests/interop/openid-client` first; this script installs nothing)

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

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const IDT = 'urn:ietf:params:oauth:token-type:id_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const DOWNSTREAM = 'https://downstream.example/v1';

// The user's client, and a resource server (itself a client) that exchanges what it receives.
const APP = { id: 'app', secret: 'app-secret-123', scopes: ['openid', 'offline', 'email', 'read'] };
const API = { id: 'api', secret: 'api-secret-123' };
const OTHER = { id: 'other', secret: 'other-secret-123' };

// --- helpers ---------------------------------------------------------------------------

async function attempt(fn) {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error };
  }
}

// Refused with `error` (and `status`; and an error_description matching `because`).
function refusedWith(outcome, error, status, because) {
  return (
    outcome.error instanceof client.ResponseBodyError &&
    outcome.error.error === error &&
    (status === undefined || outcome.error.status === status) &&
    (because === undefined || because.test(outcome.error.error_description ?? ''))
  );
}

const FAPI = /\(FAPI 2\.0 Security Profile\)/;

// A 401 to a client that sent an Authorization header carries WWW-Authenticate (RFC 6749
// §5.2), which openid-client surfaces as a WWWAuthenticateChallengeError with the
// response; the OAuth error is then in its body. Resolves to { status, scheme, error,
// description }.
async function challengeOf(outcome) {
  const err = outcome.error;
  if (!(err instanceof client.WWWAuthenticateChallengeError)) return undefined;
  const body = await err.response.json().catch(() => ({}));
  return { status: err.response.status, scheme: err.cause?.[0]?.scheme, error: body.error, description: body.error_description };
}

// A client refused under the profile: 401 invalid_client, WWW-Authenticate: Basic, and
// the description naming the profile.
function fapiClientRefusal(c) {
  return c?.status === 401 && c.scheme === 'basic' && c.error === 'invalid_client' && FAPI.test(c.description ?? '');
}

function outcomeOf(outcome) {
  return outcome.error ? describeError(outcome.error) : { accepted: outcome.value };
}

// Deep equality of JSON values, whatever the order of object members.
function same(a, b) {
  const canon = (v) =>
    Array.isArray(v) ? v.map(canon)
      : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]))
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function decodeJws(jws) {
  const [h, p] = jws.split('.');
  const part = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: part(h), payload: part(p) };
}

function without(params, ...names) {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !names.includes(k)));
}

function queryKeys(url) {
  return [...new URL(url).searchParams.keys()].sort().join(',');
}

// A fetch for openid-client that records the request's path, Authorization scheme, form
// body (the client assertion decoded), DPoP proof, and the response's status.
function recorder() {
  const log = [];
  const fetchFn = async (url, options) => {
    const headers = new Headers(options?.headers);
    const proof = headers.get('dpop');
    const form = options?.body instanceof URLSearchParams ? Object.fromEntries(options.body) : undefined;
    const res = await fetch(url, options);
    log.push({
      method: options?.method ?? 'GET',
      path: new URL(url).pathname,
      scheme: headers.get('authorization')?.split(' ')[0],
      form: form && { ...form, client_assertion: form.client_assertion && decodeJws(form.client_assertion) },
      proof: proof ? decodeJws(proof) : undefined,
      status: res.status,
    });
    return res;
  };
  return {
    fetch: fetchFn,
    mark: () => log.length,
    since: (mark, path) => log.slice(mark).filter((e) => !path || e.path === path),
  };
}

function discover(issuer, clientId, auth, rec, metadata) {
  return client.discovery(new URL(issuer), clientId, metadata, auth, {
    execute: [client.allowInsecureRequests],
    ...(rec ? { [client.customFetch]: rec.fetch } : {}),
  });
}

// The parameters of an authorization request (PKCE S256, state, nonce) and its verifier.
async function request(scopes, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: REDIRECT_URI,
    scope: scopes.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...extra,
  };
  return { verifier, params };
}

function exchangeCode(cfg, callback, req, dpop) {
  return client.authorizationCodeGrant(
    cfg,
    callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.params.state, expectedNonce: req.params.nonce, idTokenExpected: true },
    undefined,
    dpop ? { DPoP: dpop } : undefined,
  );
}

function tokenExchange(cfg, params) {
  return attempt(() => client.genericGrantRequest(cfg, GRANT, params));
}

// An ES256 key pair whose public half is a JWK (kid `kid`) for a client's or issuer's `jwks`.
async function es256Key(kid) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const jwk = { ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  delete jwk.key_ops;
  delete jwk.ext;
  return { privateKey: pair.privateKey, jwk };
}

// A compact ES256 JWS (WebCrypto's ECDSA signature is already JWS's r || s).
async function signEs256(privateKey, header, claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

// --- the checks ------------------------------------------------------------------------

async function main(latch) {
  await tokenExchangeChecks(latch);
  await fapiChecks(latch);
}

// --- RFC 8693 --------------------------------------------------------------------------

async function tokenExchangeChecks(latch) {
  const { issuer, adminUrl } = await startLatch(latch, {}, 'token-exchange server');
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: APP.id, client_secret: APP.secret, grant_types: ['authorization_code', 'refresh_token', GRANT],
    response_types: ['code'], scope: APP.scopes.join(' '), redirect_uris: [REDIRECT_URI], audience: [API.id],
  });
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: API.id, client_secret: API.secret, grant_types: [GRANT, 'client_credentials'],
    scope: 'openid read write', audience: [DOWNSTREAM],
  });
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: OTHER.id, client_secret: OTHER.secret, grant_types: [GRANT], scope: 'openid read', audience: [DOWNSTREAM],
  });
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: [GRANT], scope: 'read', audience: [DOWNSTREAM],
  });

  const rec = recorder();
  const app = await discover(issuer, APP.id, client.ClientSecretBasic(APP.secret), undefined, { id_token_signed_response_alg: 'RS256' });
  const api = await discover(issuer, API.id, client.ClientSecretBasic(API.secret), rec);
  const other = await discover(issuer, OTHER.id, client.ClientSecretBasic(OTHER.secret));
  const spa = await discover(issuer, 'spa', client.None(), undefined, { token_endpoint_auth_method: 'none' });
  ok(
    (api.serverMetadata().grant_types_supported ?? []).includes(GRANT),
    `token exchange: discovery (openid-client) lists grant type ${GRANT}`,
    api.serverMetadata(),
  );

  // The user's code flow at `app`; the consent grants access-token audience `api`.
  const label = 'token exchange';
  const req = await request(APP.scopes, { audience: API.id });
  const callback = await loginAndConsent({
    adminUrl, authUrl: client.buildAuthorizationUrl(app, req.params).href, label: `${label}: user at ${APP.id}`,
    clientId: APP.id, scopes: APP.scopes, state: req.params.state, grantAudience: [API.id],
    urlWhat: `the authorization URL built by openid-client (PKCE S256, audience=${API.id})`,
  });
  const got = await attempt(() => exchangeCode(app, callback, req));
  const user = got.value;
  const userIntro = user?.access_token && (await introspect(adminUrl, user.access_token));
  ok(
    user?.access_token && user.refresh_token && user.id_token && userIntro?.client_id === APP.id &&
      show(userIntro.aud) === show([API.id]),
    `${label}: ${APP.id}'s code gives access, refresh and ID tokens; the access token's aud is [${API.id}] (granted at consent)`,
    { outcome: outcomeOf(got), introspection: userIntro },
  );

  // §2.1: `api` exchanges the access token it received for one to DOWNSTREAM.
  let mark = rec.mark();
  const ex = await tokenExchange(api, { subject_token: user.access_token, subject_token_type: AT, resource: DOWNSTREAM, scope: 'read' });
  const [sent] = rec.since(mark, '/oauth2/token');
  const t = ex.value;
  ok(
    t?.access_token && t.issued_token_type === AT && t.token_type === 'bearer' && t.scope === 'read' &&
      typeof t.expires_in === 'number' && t.refresh_token === undefined,
    `${label}: genericGrantRequest(${GRANT}) by ${API.id} with resource ${DOWNSTREAM} answers issued_token_type access_token, token_type bearer, scope read, expires_in, no refresh token (§2.2.1)`,
    { outcome: outcomeOf(ex), sent },
  );
  ok(
    sent?.scheme === 'Basic' && sent.form?.grant_type === GRANT && sent.form.subject_token === user.access_token &&
      sent.form.subject_token_type === AT && sent.form.resource === DOWNSTREAM && sent.status === 200,
    `${label}: openid-client sent grant_type, subject_token, subject_token_type and resource, authenticated with client_secret_basic`,
    sent,
  );
  const exchanged = t.access_token;
  const i = await introspect(adminUrl, exchanged);
  ok(
    i.active === true && i.sub === SUBJECT && show(i.aud) === show([DOWNSTREAM]) && i.client_id === API.id && i.scope === 'read',
    `${label}: introspection of the exchanged token: active, sub=${SUBJECT}, aud=[${DOWNSTREAM}], client_id=${API.id}, scope read`,
    i,
  );
  const noScope = await tokenExchange(api, { subject_token: user.access_token, subject_token_type: AT });
  ok(
    noScope.value?.scope === 'openid read',
    `${label}: without scope, the subject token's scope within ${API.id}'s (openid read)`,
    outcomeOf(noScope),
  );

  // §4.1: an actor token (api's own client-credentials token) makes `act`.
  const cc = await attempt(() => client.clientCredentialsGrant(api, { scope: 'read' }));
  const actor = cc.value?.access_token;
  const withActor = await tokenExchange(api, {
    subject_token: user.access_token, subject_token_type: AT, actor_token: actor, actor_token_type: AT, resource: DOWNSTREAM,
  });
  const actorIntro = withActor.value && (await introspect(adminUrl, withActor.value.access_token));
  ok(
    actorIntro?.active === true && actorIntro.sub === SUBJECT && same(actorIntro.act, { sub: API.id }),
    `${label}: with an actor token (${API.id}'s client_credentials token) the new token's introspection says act {"sub":"${API.id}"}`,
    { outcome: outcomeOf(withActor), introspection: actorIntro },
  );
  const chained = await tokenExchange(api, {
    subject_token: withActor.value.access_token, subject_token_type: AT, actor_token: actor, actor_token_type: AT,
  });
  const chainIntro = chained.value && (await introspect(adminUrl, chained.value.access_token));
  ok(
    chainIntro?.sub === SUBJECT && same(chainIntro.act, { sub: API.id, act: { sub: API.id } }),
    `${label}: exchanged again with an actor, the act chain grows (act.act is the prior actor)`,
    { outcome: outcomeOf(chained), introspection: chainIntro },
  );

  // §3: an ID token, exchanged by the client it was issued to.
  const byApi = await tokenExchange(api, { subject_token: user.id_token, subject_token_type: IDT });
  ok(
    refusedWith(byApi, 'invalid_request', 400),
    `${label}: ${API.id} may not exchange an ID token issued to ${APP.id} (invalid_request)`,
    outcomeOf(byApi),
  );
  const idEx = await tokenExchange(app, { subject_token: user.id_token, subject_token_type: IDT, scope: 'read' });
  const idIntro = idEx.value && (await introspect(adminUrl, idEx.value.access_token));
  ok(
    idEx.value?.issued_token_type === AT && idIntro?.active === true && idIntro.sub === SUBJECT && idIntro.client_id === APP.id &&
      idIntro.scope === 'read',
    `${label}: ${APP.id} exchanges its own ID token: a token of sub=${SUBJECT}, client_id=${APP.id}, scope read`,
    { outcome: outcomeOf(idEx), introspection: idIntro },
  );

  await trustedJwt(issuer, adminUrl, api, label);

  // §2.2.2: the refusals, as openid-client surfaces them (ResponseBodyError).
  const base = { subject_token: user.access_token, subject_token_type: AT };
  const refusals = [
    [api, { resource: 'https://elsewhere.example/' }, 'invalid_target', `a resource ${API.id} may not have`],
    [api, { resource: 'not-a-uri' }, 'invalid_target', 'a resource that is no absolute URI'],
    [api, { audience: 'https://elsewhere.example' }, 'invalid_request', `an audience ${API.id} may not have`],
    [api, { scope: 'write' }, 'invalid_scope', "a scope wider than the subject token's"],
    [api, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'invalid_request', 'a refresh token as requested_token_type'],
    [api, { actor_token: actor }, 'invalid_request', 'an actor_token without actor_token_type'],
    [api, { subject_token_type: 'urn:example:unknown' }, 'invalid_request', 'an unknown subject_token_type'],
    [api, { subject_token_type: IDT }, 'invalid_request', 'an access token presented as an id_token'],
    [other, {}, 'invalid_request', `a client the token was neither issued to nor names (${OTHER.id})`],
    [spa, {}, 'unauthorized_client', 'a public client (none)'],
  ];
  for (const [cfg, extra, error, why] of refusals) {
    const r = await tokenExchange(cfg, { ...base, ...extra });
    ok(refusedWith(r, error, 400), `${label}: refused for ${why}: 400 ${error}`, outcomeOf(r));
  }

  // The exchanged tokens joined the user's grant: RFC 7009 revocation of the refresh token
  // by `app` reaches them.
  const rv = await attempt(() => client.tokenRevocation(app, user.refresh_token));
  const after = await Promise.all([user.access_token, exchanged, withActor.value.access_token, chained.value.access_token].map((x) => introspect(adminUrl, x)));
  ok(
    !rv.error && after.every((a) => a.active === false),
    `${label}: ${APP.id} revokes the user's refresh token (tokenRevocation) -> the user's access token and every token exchanged from it (plain, with actor, chained) are inactive`,
    { revocation: outcomeOf(rv), after },
  );
  const again = await tokenExchange(api, base);
  ok(
    refusedWith(again, 'invalid_request', 400),
    `${label}: the revoked access token is no longer exchanged (invalid_request)`,
    outcomeOf(again),
  );
}

// §3 `jwt`: a JWT of an issuer trusted through the JWT-bearer grant's relationships.
async function trustedJwt(issuer, adminUrl, api, label) {
  const idp = await es256Key('idp-1');
  await admin(adminUrl, 'POST', '/admin/trust/grants/jwt-bearer/issuers', {
    issuer: 'https://idp.example', subject: 'bob', scope: ['read'], jwk: idp.jwk,
    expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  const now = Math.floor(Date.now() / 1000);
  const jwt = await signEs256(idp.privateKey, { alg: 'ES256', kid: 'idp-1', typ: 'JWT' }, {
    iss: 'https://idp.example', sub: 'bob', aud: `${issuer}/oauth2/token`, iat: now, exp: now + 300, jti: client.randomState(),
  });
  const r = await tokenExchange(api, { subject_token: jwt, subject_token_type: JWT });
  const intro = r.value && (await introspect(adminUrl, r.value.access_token));
  ok(
    r.value?.issued_token_type === AT && r.value.scope === 'read' && intro?.sub === 'bob' && intro.client_id === API.id,
    `${label}: a trusted issuer's JWT (registered at /admin/trust/grants/jwt-bearer/issuers) is exchanged: sub=bob, the relationship's scope read`,
    { outcome: outcomeOf(r), introspection: intro },
  );
  const twice = await tokenExchange(api, { subject_token: jwt, subject_token_type: JWT });
  ok(refusedWith(twice, 'invalid_request', 400), `${label}: the same JWT (its jti) is not exchanged twice (invalid_request)`, outcomeOf(twice));
}

// --- FAPI 2.0 Security Profile ---------------------------------------------------------

const BANK = { id: 'bank-app', kid: 'bank-1', scopes: ['openid', 'offline', 'email'] };

async function fapiChecks(latch) {
  const { issuer, adminUrl } = await startLatch(latch, { OAUTH2_PROFILE: 'fapi2' }, 'FAPI 2.0 server');
  const label = 'FAPI 2.0';
  const key = await es256Key(BANK.kid);
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: BANK.id, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    scope: BANK.scopes.join(' '), redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [key.jwk] },
  });
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'secret-app', client_secret: 'secret-app-secret', grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'], scope: 'openid', redirect_uris: [REDIRECT_URI],
  });
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'],
    scope: 'openid', redirect_uris: [REDIRECT_URI],
  });

  const rec = recorder();
  const bank = await discover(issuer, BANK.id, client.PrivateKeyJwt({ key: key.privateKey, kid: BANK.kid }), rec);
  const meta = bank.serverMetadata();
  ok(
    show(meta.token_endpoint_auth_methods_supported) === show(['private_key_jwt']) &&
      show(meta.response_types_supported) === show(['code']) && meta.require_pushed_authorization_requests === true,
    `${label}: discovery (openid-client) advertises only private_key_jwt, response_types_supported ["code"], require_pushed_authorization_requests true`,
    meta,
  );
  ok(
    show(meta.code_challenge_methods_supported) === show(['S256']) && meta.authorization_response_iss_parameter_supported === true &&
      meta.pushed_authorization_request_endpoint === `${issuer}/oauth2/par` &&
      (meta.dpop_signing_alg_values_supported ?? []).length > 0 &&
      [...meta.dpop_signing_alg_values_supported, ...meta.token_endpoint_auth_signing_alg_values_supported, ...meta.id_token_signing_alg_values_supported]
        .every((a) => ['PS256', 'ES256', 'EdDSA', 'Ed25519'].includes(a)),
    `${label}: discovery: PKCE S256 only, iss in authorization responses, the PAR endpoint, and only PS256/ES256/EdDSA for DPoP, client assertions and ID tokens`,
    meta,
  );

  // §5.3.2.2: a plain (non-pushed) authorization request goes back with invalid_request.
  const plainReq = await request(BANK.scopes);
  const plain = client.buildAuthorizationUrl(bank, plainReq.params);
  const refused = await new Browser().get(plain.href);
  const to = refused.location && new URL(refused.location, plain);
  ok(
    [302, 303].includes(refused.status) && to && `${to.origin}${to.pathname}` === REDIRECT_URI &&
      to.searchParams.get('error') === 'invalid_request' && to.searchParams.get('state') === plainReq.params.state &&
      to.searchParams.get('iss') === issuer && !to.searchParams.get('code'),
    `${label}: a plain authorization URL (buildAuthorizationUrl) is sent back to the redirect_uri with error=invalid_request (and iss, RFC 9207)`,
    { url: plain.href, status: refused.status, location: refused.location },
  );

  // The whole flow: PAR (private_key_jwt, a DPoP proof) + PKCE, then code, userinfo, refresh with DPoP.
  const dpopKeys = await client.randomDPoPKeyPair('ES256');
  const dpop = client.getDPoPHandle(bank, dpopKeys);
  const req = await request(BANK.scopes);
  let mark = rec.mark();
  const pushed = await attempt(() => client.buildAuthorizationUrlWithPAR(bank, req.params, { DPoP: dpop }));
  const [push] = rec.since(mark, '/oauth2/par');
  const assertion = push?.form?.client_assertion;
  ok(
    pushed.value && push.status === 201 && queryKeys(pushed.value) === 'client_id,request_uri' &&
      push.form.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
      assertion?.header.alg === 'ES256' && assertion.header.kid === BANK.kid && assertion.payload.aud === issuer &&
      push.proof?.payload.htu === meta.pushed_authorization_request_endpoint,
    `${label}: buildAuthorizationUrlWithPAR with PrivateKeyJwt (ES256 assertion, aud = the issuer) and { DPoP } pushes the request (201); the URL holds client_id and request_uri`,
    { outcome: outcomeOf(pushed), push },
  );
  const callback = await loginAndConsent({
    adminUrl, authUrl: pushed.value.href, label, clientId: BANK.id, scopes: BANK.scopes, state: req.params.state,
    urlWhat: 'the pushed authorization URL',
  });
  ok(
    callback.searchParams.get('iss') === issuer,
    `${label}: the authorization response carries iss = the issuer (RFC 9207)`,
    callback.href,
  );
  mark = rec.mark();
  const got = await attempt(() => exchangeCode(bank, callback, req, dpop));
  const [sent] = rec.since(mark, '/oauth2/token');
  const tokens = got.value;
  const idHeader = tokens?.id_token && decodeJws(tokens.id_token).header;
  ok(
    tokens?.token_type === 'dpop' && tokens.refresh_token && tokens.claims()?.sub === SUBJECT &&
      tokens.claims().nonce === req.params.nonce && idHeader?.alg === 'ES256' &&
      sent?.form?.client_assertion?.payload.aud === issuer && sent.proof?.header.alg === 'ES256',
    `${label}: authorizationCodeGrant (private_key_jwt, PKCE, { DPoP }) gives DPoP tokens and an ES256 ID token openid-client validated (signature, iss, aud, nonce)`,
    { outcome: outcomeOf(got), sent, idHeader },
  );
  const intro = await introspect(adminUrl, tokens.access_token);
  ok(
    intro.active === true && intro.token_type === 'DPoP' && !!intro.cnf?.jkt && intro.client_id === BANK.id,
    `${label}: the access token is sender-constrained (introspection: token_type DPoP, cnf.jkt)`,
    intro,
  );
  const ui = await attempt(() => client.fetchUserInfo(bank, tokens.access_token, SUBJECT, { DPoP: dpop }));
  ok(ui.value?.sub === SUBJECT && ui.value.email === SUBJECT, `${label}: fetchUserInfo with { DPoP } returns sub and email`, outcomeOf(ui));
  const r1 = await attempt(() => client.refreshTokenGrant(bank, tokens.refresh_token, undefined, { DPoP: dpop }));
  const r1Intro = r1.value?.access_token && (await introspect(adminUrl, r1.value.access_token));
  ok(
    r1.value?.token_type === 'dpop' && r1.value.refresh_token && r1Intro?.cnf?.jkt === intro.cnf.jkt &&
      r1.value.claims()?.sub === SUBJECT,
    `${label}: refreshTokenGrant with { DPoP } gives a new DPoP access token bound to the same key and a new ID token`,
    { outcome: outcomeOf(r1), introspection: r1Intro },
  );
  const retry = await attempt(() => client.refreshTokenGrant(bank, tokens.refresh_token, undefined, { DPoP: dpop }));
  ok(
    retry.value?.token_type === 'dpop',
    `${label}: the previous refresh token still refreshes within the grace period (a lost answer can be retried, §5.3.2.1)`,
    outcomeOf(retry),
  );
  const bareRefresh = await attempt(() => client.refreshTokenGrant(bank, r1.value.refresh_token));
  ok(
    refusedWith(bareRefresh, 'invalid_dpop_proof', 400, /DPoP proof/),
    `${label}: a refresh without DPoP is refused (400 invalid_dpop_proof)`,
    outcomeOf(bareRefresh),
  );

  // §5.3.2.1: only sender-constrained tokens. A code pushed without a proof (so bound to no
  // key) is still refused without one, and with a proof of RS256 (§5.4); neither refusal
  // uses the code up.
  const req2 = await request(BANK.scopes);
  const url2 = await client.buildAuthorizationUrlWithPAR(bank, req2.params);
  const cb2 = await loginAndConsent({
    adminUrl, authUrl: url2.href, label: `${label} (pushed without DPoP)`, clientId: BANK.id, scopes: BANK.scopes,
    state: req2.params.state, urlWhat: 'the pushed authorization URL',
  });
  const noProof = await attempt(() => exchangeCode(bank, cb2, req2));
  ok(
    refusedWith(noProof, 'invalid_dpop_proof', 400, /DPoP proof/),
    `${label}: authorizationCodeGrant without a DPoP handle is refused (400 invalid_dpop_proof)`,
    outcomeOf(noProof),
  );
  const rsa = client.getDPoPHandle(bank, await client.randomDPoPKeyPair('RS256'));
  const rsaProof = await attempt(() => exchangeCode(bank, cb2, req2, rsa));
  ok(
    refusedWith(rsaProof, 'invalid_dpop_proof', 400, FAPI),
    `${label}: a DPoP proof signed with RS256 is refused (400 invalid_dpop_proof, §5.4)`,
    outcomeOf(rsaProof),
  );
  const late = await attempt(() => exchangeCode(bank, cb2, req2, dpop));
  ok(late.value?.token_type === 'dpop', `${label}: the same code is then exchanged with an ES256 proof`, outcomeOf(late));

  // §5.3.2.2: the push must name the redirect URI, and carry PKCE.
  const noRedirect = without((await request(BANK.scopes)).params, 'redirect_uri');
  const unnamed = await attempt(() => client.buildAuthorizationUrlWithPAR(bank, noRedirect, { DPoP: dpop }));
  ok(
    refusedWith(unnamed, 'invalid_request', 400, /redirect/i),
    `${label}: a push without redirect_uri is refused (400 invalid_request)`,
    outcomeOf(unnamed),
  );
  const noPkce = without((await request(BANK.scopes)).params, 'code_challenge', 'code_challenge_method');
  const unproven = await attempt(() => client.buildAuthorizationUrlWithPAR(bank, noPkce, { DPoP: dpop }));
  ok(
    refusedWith(unproven, 'invalid_request', 400, /code_challenge|PKCE/i),
    `${label}: a push without PKCE is refused (400 invalid_request)`,
    outcomeOf(unproven),
  );

  // §5.3.2.1: confidential clients, by private_key_jwt only.
  const secret = await discover(issuer, 'secret-app', client.ClientSecretBasic('secret-app-secret'), rec);
  const oidOnly = (await request(['openid'])).params;
  const secretPush = await attempt(() => client.buildAuthorizationUrlWithPAR(secret, oidOnly));
  const pushChallenge = await challengeOf(secretPush);
  ok(
    fapiClientRefusal(pushChallenge),
    `${label}: a client_secret_basic client's push is refused: 401 invalid_client with WWW-Authenticate: Basic (openid-client: WWWAuthenticateChallengeError)`,
    { outcome: outcomeOf(secretPush), challenge: pushChallenge },
  );
  const secretToken = await attempt(() => client.clientCredentialsGrant(secret, undefined, { DPoP: client.getDPoPHandle(secret, dpopKeys) }));
  const tokenChallenge = await challengeOf(secretToken);
  ok(
    fapiClientRefusal(tokenChallenge),
    `${label}: and so is its token request, even with a DPoP proof (401 invalid_client, WWW-Authenticate: Basic)`,
    { outcome: outcomeOf(secretToken), challenge: tokenChallenge },
  );
  const spa = await discover(issuer, 'spa', client.None(), rec, { token_endpoint_auth_method: 'none' });
  const spaPush = await attempt(() => client.buildAuthorizationUrlWithPAR(spa, oidOnly));
  const spaChallenge = await challengeOf(spaPush);
  ok(
    fapiClientRefusal(spaChallenge),
    `${label}: a public client's push is refused (401 invalid_client; WWW-Authenticate: Basic, RFC 6749 §5.2's MAY)`,
    { outcome: outcomeOf(spaPush), challenge: spaChallenge },
  );

  // §5.4: a client assertion signed with RS256 (the client registered RS256) is refused.
  const rsaPair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const rsaJwk = { ...(await crypto.subtle.exportKey('jwk', rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  delete rsaJwk.key_ops;
  delete rsaJwk.ext;
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'rsa-app', grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid',
    redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [rsaJwk] },
  });
  // §5.3.2.1: the assertion's aud is the issuer, as a string: the token endpoint's URL
  // (what many clients send) is refused.
  const toTokenEndpoint = {
    [client.modifyAssertion]: (header, payload) => {
      payload.aud = `${issuer}/oauth2/token`;
    },
  };
  const endpointAud = await discover(
    issuer, BANK.id, client.PrivateKeyJwt({ key: key.privateKey, kid: BANK.kid }, toTokenEndpoint), rec);
  const audPush = await attempt(() => client.buildAuthorizationUrlWithPAR(endpointAud, oidOnly));
  const audChallenge = await challengeOf(audPush);
  ok(
    fapiClientRefusal(audChallenge),
    `${label}: a private_key_jwt assertion whose aud is the token endpoint, not the issuer, is refused (401 invalid_client)`,
    { outcome: outcomeOf(audPush), challenge: audChallenge },
  );
  const rsaApp = await discover(issuer, 'rsa-app', client.PrivateKeyJwt({ key: rsaPair.privateKey, kid: 'rsa-1' }), rec);
  const rsaPush = await attempt(() => client.buildAuthorizationUrlWithPAR(rsaApp, oidOnly));
  const rsaChallenge = await challengeOf(rsaPush);
  ok(
    fapiClientRefusal(rsaChallenge),
    `${label}: a private_key_jwt client whose assertion is RS256 is refused (401 invalid_client; WWW-Authenticate: Basic)`,
    { outcome: outcomeOf(rsaPush), challenge: rsaChallenge },
  );
}

await runChecks(main, 'node exchange_fapi.mjs PATH/TO/latch');
