#!/usr/bin/env node
// Interop: panva's openid-client (an OpenID-certified relying party) against the real
// `latch` binary: discovery, the authorization-code flow with PKCE (S256) + state +
// nonce, ID-token validation against the JWKS (done by the library), userinfo, refresh
// with rotation, revocation and single-use codes; request objects (RFC 9101); the device flow (RFC 8628) and dynamic
// client registration (RFC 7591/7592).
//
// Usage: node tests/interop/openid-client/run.mjs PATH/TO/latch
// (run `npm ci --prefix tests/interop/openid-client` first; this script installs nothing)
//
// Starts `latch serve all --dev` on free loopback ports over a fresh SQLite file, creates
// the client with the `latch` CLI, plays the login/consent app through the admin API,
// and stops the server at the end (and on failure); those helpers live in harness.mjs,
// shared with par_dpop.mjs.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import {
  CheckFailed,
  REDIRECT_URI,
  SUBJECT,
  admin,
  browserGet,
  describeError,
  introspect,
  loginAndConsent,
  ok,
  runChecks,
  startLatch,
} from './harness.mjs';

const CLIENT_ID = 'rp';
const CLIENT_SECRET = 'rp-secret-123';
const SCOPES = ['openid', 'offline', 'email'];

function isInvalidGrant(err) {
  return err instanceof client.ResponseBodyError && err.error === 'invalid_grant';
}

// Runs an authorization request through login and consent, as a browser plus the
// login/consent app would; returns the callback URL (redirect_uri?code=…&state=…).
async function authorize(config, publicUrl, adminUrl, label) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPES.join(' '),
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await loginAndConsent({
    adminUrl,
    authUrl,
    label,
    clientId: CLIENT_ID,
    scopes: SCOPES,
    state,
    urlWhat: 'authorization URL built by openid-client (PKCE S256, state, nonce)',
  });
  return { callback, codeVerifier, state, nonce };
}

// --- the test --------------------------------------------------------------------------

async function main(latch) {
  const { issuer, adminUrl } = await startLatch(latch, {
    OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL: '1s',
    OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED: 'true',
  });

  // The client, created with latch's own CLI (Hydra's `create client` form).
  let created;
  let via = 'the latch CLI (`latch create client`)';
  try {
    const out = execFileSync(
      latch,
      [
        'create', 'client',
        '--endpoint', adminUrl,
        '--format', 'json',
        '--id', CLIENT_ID,
        '--secret', CLIENT_SECRET,
        '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code',
        '--scope', SCOPES.join(','),
        '--redirect-uri', REDIRECT_URI,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    created = JSON.parse(out);
  } catch (err) {
    console.error(`# latch create client failed, falling back to POST /admin/clients: ${err.stderr || err.message}`);
    via = 'POST /admin/clients (CLI FAILED)';
    created = await admin(adminUrl, 'POST', '/admin/clients', {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: SCOPES.join(' '),
      redirect_uris: [REDIRECT_URI],
    });
  }
  ok(
    created?.client_id === CLIENT_ID &&
      (created?.redirect_uris ?? []).includes(REDIRECT_URI) &&
      created?.scope === SCOPES.join(' '),
    `client ${CLIENT_ID} created with ${via}`,
    created,
  );

  // Discovery. A fetch wrapper records which URLs the library fetched, and can tamper
  // with a token response to prove that the library really verifies the ID token.
  const fetched = [];
  let tamperIdToken = false;
  const recordingFetch = async (url, options) => {
    fetched.push(`${options?.method ?? 'GET'} ${url}`);
    const res = await fetch(url, options);
    if (!tamperIdToken || !String(url).endsWith('/oauth2/token') || res.status !== 200) return res;
    const body = await res.json();
    if (typeof body.id_token === 'string') {
      const [h, p, sig] = body.id_token.split('.');
      const i = 10;
      const flipped = sig[i] === 'A' ? 'B' : 'A';
      body.id_token = `${h}.${p}.${sig.slice(0, i)}${flipped}${sig.slice(i + 1)}`;
    }
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    return new Response(JSON.stringify(body), { status: res.status, headers });
  };

  const config = await client.discovery(
    new URL(issuer),
    CLIENT_ID,
    { id_token_signed_response_alg: 'RS256' },
    client.ClientSecretBasic(CLIENT_SECRET),
    {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      [client.customFetch]: recordingFetch,
    },
  );
  const meta = config.serverMetadata();
  ok(
    meta.issuer === issuer,
    `discovery: openid-client accepted ${issuer}/.well-known/openid-configuration and issuer is ${issuer}`,
    meta,
  );
  ok(
    meta.authorization_endpoint === `${issuer}/oauth2/auth` &&
      meta.token_endpoint === `${issuer}/oauth2/token` &&
      meta.userinfo_endpoint === `${issuer}/userinfo` &&
      meta.revocation_endpoint === `${issuer}/oauth2/revoke` &&
      meta.jwks_uri === `${issuer}/.well-known/jwks.json` &&
      (meta.code_challenge_methods_supported ?? []).includes('S256'),
    'discovery: endpoints (auth, token, userinfo, revoke, jwks) and S256 PKCE advertised',
    meta,
  );

  // Flow 1: code -> tokens, userinfo, refresh, refresh-token reuse.
  const f1 = await authorize(config, issuer, adminUrl, 'flow 1');
  const beforeJwks = fetched.filter((u) => u.endsWith('/.well-known/jwks.json')).length;
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, f1.callback, {
      pkceCodeVerifier: f1.codeVerifier,
      expectedState: f1.state,
      expectedNonce: f1.nonce,
      idTokenExpected: true,
    });
  } catch (err) {
    throw new CheckFailed('code exchange accepted by openid-client', { cause: describeError(err) });
  }
  const jwksFetches = fetched.filter((u) => u.endsWith('/.well-known/jwks.json')).length - beforeJwks;
  ok(
    typeof tokens.access_token === 'string' &&
      typeof tokens.refresh_token === 'string' &&
      typeof tokens.id_token === 'string' &&
      tokens.token_type?.toLowerCase() === 'bearer',
    'code exchange (client_secret_basic, PKCE verifier) returns access, refresh and ID tokens',
    { ...tokens, access_token: !!tokens.access_token, refresh_token: !!tokens.refresh_token },
  );
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString());
  ok(
    header.alg === 'RS256' && jwksFetches >= 1,
    `openid-client verified the ID token's ${header.alg} signature (kid ${header.kid}) with the JWKS it fetched, and its iss, aud, exp, iat, nonce`,
    { header, fetched },
  );
  const claims = tokens.claims();
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  ok(
    claims.sub === SUBJECT &&
      claims.email === SUBJECT &&
      claims.iss === issuer &&
      aud.includes(CLIENT_ID) &&
      claims.nonce === f1.nonce,
    `ID token claims: sub=${claims.sub}, email=${claims.email}, iss, aud ∋ ${CLIENT_ID}, nonce`,
    claims,
  );
  // openid-client does not check at_hash for the code flow (it is optional there,
  // OIDC Core 3.1.3.6); check it here when present (OIDC Core 3.2.2.9).
  if (claims.at_hash !== undefined) {
    const digest = createHash('sha256').update(tokens.access_token, 'ascii').digest();
    const expected = digest.subarray(0, digest.length / 2).toString('base64url');
    ok(claims.at_hash === expected, 'ID token at_hash matches the access token (left half of SHA-256)', {
      at_hash: claims.at_hash,
      expected,
    });
  } else {
    console.log('# ID token has no at_hash (optional for response_type=code)');
  }

  let userinfo;
  try {
    userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  } catch (err) {
    throw new CheckFailed('userinfo accepted by openid-client', { cause: describeError(err) });
  }
  ok(
    userinfo.sub === SUBJECT && userinfo.email === SUBJECT,
    `userinfo (checked by openid-client against the ID token's sub) returns sub=${userinfo.sub} and email=${userinfo.email}`,
    userinfo,
  );

  let refreshed;
  try {
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (err) {
    throw new CheckFailed('refresh accepted by openid-client', { cause: describeError(err) });
  }
  const rclaims = refreshed.claims();
  ok(
    typeof refreshed.refresh_token === 'string' &&
      refreshed.refresh_token !== tokens.refresh_token &&
      typeof refreshed.access_token === 'string' &&
      refreshed.access_token !== tokens.access_token &&
      typeof refreshed.id_token === 'string' &&
      refreshed.id_token !== tokens.id_token,
    'refresh returns a new access token, a new (rotated) refresh token and a new ID token',
    { refresh_token_changed: refreshed.refresh_token !== tokens.refresh_token, id_token: !!refreshed.id_token },
  );
  const raud = Array.isArray(rclaims?.aud) ? rclaims.aud : [rclaims?.aud];
  ok(
    rclaims?.sub === claims.sub &&
      rclaims?.iss === claims.iss &&
      raud.includes(CLIENT_ID) &&
      rclaims?.email === SUBJECT &&
      rclaims?.auth_time === claims.auth_time,
    'refreshed ID token (signature verified by openid-client) keeps iss, sub, aud, auth_time and email (OIDC Core 12.2)',
    { original: claims, refreshed: rclaims },
  );

  let reuse;
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
    reuse = 'accepted';
  } catch (err) {
    reuse = err;
  }
  ok(
    isInvalidGrant(reuse),
    'the old refresh token is rejected after rotation (invalid_grant)',
    reuse === 'accepted' ? 'the server accepted the old refresh token' : describeError(reuse),
  );

  // Flow 2: revocation through the library, then a second redemption of the code.
  const f2 = await authorize(config, issuer, adminUrl, 'flow 2');
  let tokens2;
  try {
    tokens2 = await client.authorizationCodeGrant(config, f2.callback, {
      pkceCodeVerifier: f2.codeVerifier,
      expectedState: f2.state,
      expectedNonce: f2.nonce,
      idTokenExpected: true,
    });
  } catch (err) {
    throw new CheckFailed('flow 2: code exchange accepted by openid-client', { cause: describeError(err) });
  }
  const before = await introspect(adminUrl, tokens2.access_token);
  ok(
    before.active === true && before.sub === SUBJECT && before.client_id === CLIENT_ID,
    'flow 2: introspection (admin API) says the fresh access token is active',
    before,
  );
  try {
    await client.tokenRevocation(config, tokens2.access_token, { token_type_hint: 'access_token' });
  } catch (err) {
    throw new CheckFailed('revocation accepted by openid-client', { cause: describeError(err) });
  }
  const after = await introspect(adminUrl, tokens2.access_token);
  ok(
    after.active === false && Object.keys(after).length === 1,
    'revocation through openid-client (RFC 7009) -> introspection says {"active":false}',
    after,
  );

  let second;
  try {
    await client.authorizationCodeGrant(config, f2.callback, {
      pkceCodeVerifier: f2.codeVerifier,
      expectedState: f2.state,
      expectedNonce: f2.nonce,
      idTokenExpected: true,
    });
    second = 'accepted';
  } catch (err) {
    second = err;
  }
  ok(
    isInvalidGrant(second),
    'a second redemption of the same authorization code fails (invalid_grant)',
    second === 'accepted' ? 'the server accepted the code twice' : describeError(second),
  );

  // Flow 3: negative control — a token response whose ID token signature was altered in
  // transit must be rejected by the library (proves the JWKS check above is real).
  const f3 = await authorize(config, issuer, adminUrl, 'flow 3');
  tamperIdToken = true;
  let tampered;
  try {
    await client.authorizationCodeGrant(config, f3.callback, {
      pkceCodeVerifier: f3.codeVerifier,
      expectedState: f3.state,
      expectedNonce: f3.nonce,
      idTokenExpected: true,
    });
    tampered = 'accepted';
  } catch (err) {
    tampered = err;
  } finally {
    tamperIdToken = false;
  }
  ok(
    tampered !== 'accepted' && /signature/i.test(`${tampered?.message} ${tampered?.cause?.message ?? ''}`),
    'negative control: openid-client rejects an ID token whose signature was altered in transit',
    tampered === 'accepted' ? 'the library accepted a tampered ID token' : describeError(tampered),
  );

  await deviceFlow(issuer, adminUrl);
  await registration(issuer, adminUrl);
  await requestObjects(issuer, adminUrl);
}

// RFC 9101 driven by openid-client (buildAuthorizationUrlWithJAR): every authorization
// parameter travels in an ES256 request object signed with the client's key, the query
// carrying only client_id and request; the flow completes and the code is exchanged.
// Then a request object signed with another key is refused.
async function requestObjects(issuer, adminUrl) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const jwk = { ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid: 'jar-1', alg: 'ES256', use: 'sig' };
  delete jwk.key_ops;
  delete jwk.ext;
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'jar-rp', client_secret: 'jar-secret', grant_types: ['authorization_code'], response_types: ['code'],
    scope: 'openid', redirect_uris: [REDIRECT_URI], jwks: { keys: [jwk] }, request_object_signing_alg: 'ES256',
  });
  const cfg = await client.discovery(new URL(issuer), 'jar-rp', undefined, client.ClientSecretBasic('jar-secret'), {
    execute: [client.allowInsecureRequests],
  });
  ok(cfg.serverMetadata().request_parameter_supported === true, 'JAR: discovery says request objects are supported', cfg.serverMetadata());
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: REDIRECT_URI, scope: 'openid', state: client.randomState(), nonce: client.randomNonce(),
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  };
  const url = await client.buildAuthorizationUrlWithJAR(cfg, params, { key: pair.privateKey, kid: 'jar-1' });
  ok(
    [...url.searchParams.keys()].sort().join(',') === 'client_id,request',
    'JAR: openid-client puts every parameter in the request object',
    url.href,
  );
  const q = (c) => encodeURIComponent(c);
  const first = await browserGet(url.href);
  const login = first.location && new URL(first.location, url).searchParams.get('login_challenge');
  const lr = login && (await admin(adminUrl, 'GET', `/admin/oauth2/auth/requests/login?login_challenge=${q(login)}`));
  ok(lr?.client?.client_id === 'jar-rp' && lr?.requested_scope?.includes('openid'), 'JAR: the login request is the request object\'s', {
    status: first.status, location: first.location, lr,
  });
  const la = await admin(adminUrl, 'PUT', `/admin/oauth2/auth/requests/login/accept?login_challenge=${q(login)}`, { subject: SUBJECT });
  const second = await browserGet(la.redirect_to);
  const consent = new URL(second.location, la.redirect_to).searchParams.get('consent_challenge');
  const ca = await admin(adminUrl, 'PUT', `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${q(consent)}`, {
    grant_scope: ['openid'],
  });
  const third = await browserGet(ca.redirect_to);
  const callback = new URL(third.location, ca.redirect_to);
  const tokens = await client.authorizationCodeGrant(cfg, callback, {
    pkceCodeVerifier: verifier, expectedState: params.state, expectedNonce: params.nonce,
  });
  ok(tokens.claims()?.sub === SUBJECT, 'JAR: the code of a request-object flow is exchanged and its ID token validated', tokens);

  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const forged = await client.buildAuthorizationUrlWithJAR(cfg, { ...params, state: client.randomState() }, {
    key: other.privateKey, kid: 'jar-1',
  });
  const refused = await browserGet(forged.href);
  const to = refused.location ? new URL(refused.location, forged) : null;
  ok(
    !to?.searchParams.get('login_challenge') && (to?.searchParams.get('error') === 'invalid_request_object' || refused.status >= 400),
    'JAR: a request object signed with another key is refused',
    { status: refused.status, location: refused.location },
  );
}

// RFC 7591 driven by openid-client (dynamicClientRegistration): the registered client
// gets tokens and revokes them with the secret Latch chose; RFC 7592 reads it back with
// the registration access token.
async function registration(issuer, adminUrl) {
  const cfg = await client.dynamicClientRegistration(
    new URL(issuer),
    { client_name: 'registered-rp', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' },
    undefined,
    { execute: [client.allowInsecureRequests] },
  );
  const meta = cfg.clientMetadata();
  ok(
    /^[0-9a-f-]{36}$/.test(meta.client_id) && !!meta.client_secret && meta.registration_access_token?.startsWith('latch_rat_') &&
      meta.registration_client_uri === `${issuer}/oauth2/register/${meta.client_id}`,
    'registration: openid-client registers a client and gets its id, secret and registration access token',
    meta,
  );
  const t = await client.clientCredentialsGrant(cfg);
  ok((await introspect(adminUrl, t.access_token)).client_id === meta.client_id, 'registration: the registered client gets tokens', t);
  await client.tokenRevocation(cfg, t.access_token);
  ok((await introspect(adminUrl, t.access_token)).active === false, 'registration: and revokes them');
  const read = await fetch(meta.registration_client_uri, { headers: { authorization: `Bearer ${meta.registration_access_token}` } });
  const body = await read.json();
  ok(read.status === 200 && body.client_name === 'registered-rp' && !('client_secret' in body), 'registration: RFC 7592 reads it back', body);
}

// RFC 8628 driven by openid-client (initiateDeviceAuthorization, pollDeviceAuthorizationGrant)
// for a public client, while a browser and the device UI (admin accept of the user code),
// login and consent approve it; then a denied device.
async function deviceFlow(issuer, adminUrl) {
  const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
  await admin(adminUrl, 'POST', '/admin/clients', {
    client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE, 'refresh_token'], scope: 'openid offline',
  });
  const tv = await client.discovery(new URL(issuer), 'tv', { token_endpoint_auth_method: 'none' }, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  ok(
    tv.serverMetadata().device_authorization_endpoint === `${issuer}/oauth2/device/auth` &&
      tv.serverMetadata().grant_types_supported.includes(DEVICE),
    'device: discovery names the device authorization endpoint and grant',
    tv.serverMetadata(),
  );
  const q = (c) => encodeURIComponent(c);
  // The user's side: verification page, device UI, login, consent. Returns where it ends.
  const approve = async (da, deny) => {
    const first = await browserGet(da.verification_uri_complete);
    const ui = first.location && new URL(first.location, da.verification_uri_complete);
    const challenge = ui?.searchParams.get('device_challenge');
    if (!challenge || ui.searchParams.get('user_code') !== da.user_code) {
      throw new CheckFailed('device: the verification URI sends the browser to the device UI with the user code', {
        cause: `${first.status} ${first.location}`,
      });
    }
    const accepted = await admin(adminUrl, 'PUT', `/admin/oauth2/auth/requests/device/accept?device_challenge=${q(challenge)}`, {
      user_code: da.user_code,
    });
    const second = await browserGet(accepted.redirect_to);
    const login = new URL(second.location, accepted.redirect_to).searchParams.get('login_challenge');
    const la = await admin(adminUrl, 'PUT', `/admin/oauth2/auth/requests/login/accept?login_challenge=${q(login)}`, {
      subject: SUBJECT,
    });
    const third = await browserGet(la.redirect_to);
    const consent = new URL(third.location, la.redirect_to).searchParams.get('consent_challenge');
    const verb = deny ? 'reject' : 'accept';
    const body = deny ? { error: 'access_denied' } : { grant_scope: ['openid', 'offline'] };
    const ca = await admin(adminUrl, 'PUT', `/admin/oauth2/auth/requests/consent/${verb}?consent_challenge=${q(consent)}`, body);
    const last = await browserGet(ca.redirect_to);
    return last.location;
  };

  const da = await client.initiateDeviceAuthorization(tv, { scope: 'openid offline' });
  ok(
    da.device_code && da.user_code?.length === 8 && da.verification_uri === `${issuer}/oauth2/device/verify` &&
      da.interval === 1 && da.expires_in === 600,
    'device: openid-client gets a device code, an 8-character user code and the verification URI',
    da,
  );
  const polling = client.pollDeviceAuthorizationGrant(tv, da);
  const end = await approve(da, false);
  ok(end === `${issuer}/oauth2/fallbacks/device/done?client_id=tv`, 'device: the browser ends at the success page', end);
  const tokens = await polling;
  const claims = tokens.claims();
  ok(
    tokens.access_token && tokens.refresh_token && claims?.sub === SUBJECT && [].concat(claims?.aud).includes('tv'),
    'device: openid-client polls until approved and validates the ID token (sub, aud, signature)',
    { ...tokens, claims },
  );
  ok((await introspect(adminUrl, tokens.access_token)).active === true, 'device: the access token introspects active');
  const refreshed = await client.refreshTokenGrant(tv, tokens.refresh_token);
  ok(!!refreshed.access_token, 'device: its refresh token works with openid-client');

  const denied = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
  const deniedPoll = client.pollDeviceAuthorizationGrant(tv, denied).then(
    () => 'accepted',
    (e) => e,
  );
  await approve(denied, true);
  const outcome = await deniedPoll;
  ok(
    outcome instanceof client.ResponseBodyError && outcome.error === 'access_denied',
    'device: a rejected consent reaches openid-client as access_denied',
    outcome === 'accepted' ? 'tokens were issued' : describeError(outcome),
  );
}

await runChecks(main, 'node run.mjs PATH/TO/latch');
