// node-oidc-provider for the authorization-code flows of bench/flowgen: its own
// defaults (in-memory adapter, opaque tokens, its development signing key) plus one
// confidential client with the code and refresh grants, and a minimal login & consent
// app in the same process, driven over HTTP by the scripted client:
//
//   GET  /interaction/:uid          provider.interactionDetails → {"prompt": name, …}
//   POST /interaction/:uid/login    interactionDetails (prompt must be "login"), then
//                                   interactionFinished({login: {accountId}}) → 303; the
//                                   account is ?subject= (bench/flowgen sends it), or
//                                   foo@bar.com
//   POST /interaction/:uid/consent  interactionDetails (prompt must be "consent"), a new
//                                   Grant with the OIDC scopes "openid offline_access",
//                                   grant.save(), interactionFinished({consent: {grantId}}) → 303
//
// PAR (RFC 9126) and DPoP (RFC 9449) are on, as they are by default in 9.x, for the PAR
// and DPoP flows of bench/flowgen (--kind par, --kind dpop); neither is required, so a
// plain flow is the same as without them.
//
// This follows the shape of oidc-provider's own example app (example/routes/*.js): each
// POST reads the interaction again before finishing it. The subject is fixed (no
// password check), as on the Latch side. Everything else goes to provider.callback().
//
// Usage: PORT=<port> node flows-server.mjs   (listens on 127.0.0.1:<port>)
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('flows-server.mjs: set PORT to the port to listen on');
  process.exit(2);
}
const ACCOUNT = process.env.FLOW_SUBJECT || 'foo@bar.com';

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'flow',
      client_secret: 'flow-secret',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      scope: 'openid offline_access',
    },
  ],
  features: {
    // The interaction app below replaces the development one (which renders HTML forms).
    devInteractions: { enabled: false },
    // RFC 9126, for bench/flowgen --kind par: POST /request, authenticated as at the token
    // endpoint. Not required, so the plain flows keep their requests in the query.
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
    // RFC 9449, for bench/flowgen --kind dpop: a DPoP header at /token binds the tokens.
    // Without a nonceSecret the provider neither hands out nor accepts nonces (and its
    // requireNonce default answers false), as Latch does without OAUTH2_DPOP_REQUIRE_NONCE.
    dPoP: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
const callback = provider.callback();

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function interaction(req, res, uid, action, subject) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, { error: 'interaction uid mismatch' });
  const { prompt, params, session } = details;
  if (req.method === 'GET' && !action) {
    return send(res, 200, { uid, prompt: prompt.name, client_id: params.client_id, scope: params.scope });
  }
  if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
  if (action === 'login') {
    if (prompt.name !== 'login') return send(res, 400, { error: `prompt is ${prompt.name}` });
    return provider.interactionFinished(req, res, { login: { accountId: subject } }, { mergeWithLastSubmission: false });
  }
  if (action === 'consent') {
    if (prompt.name !== 'consent') return send(res, 400, { error: `prompt is ${prompt.name}` });
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    grant.addOIDCScope('openid offline_access');
    const grantId = await grant.save();
    const consent = details.grantId ? {} : { grantId };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }
  return send(res, 404, { error: 'unknown interaction action' });
}

const server = http.createServer((req, res) => {
  const m = /^\/interaction\/([^/?]+)(?:\/(login|consent))?(?:\?(.*))?$/.exec(req.url);
  if (!m) return callback(req, res);
  // Drain any request body; the interaction app takes no input.
  req.resume();
  req.on('end', () => {
    interaction(req, res, m[1], m[2], new URLSearchParams(m[3] || '').get('subject') || ACCOUNT).catch((e) => {
      if (!res.headersSent) send(res, e.statusCode || 500, { error: e.name, error_description: e.message });
      else res.end();
    });
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider (flows) listening on http://127.0.0.1:${port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
