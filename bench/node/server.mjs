// node-oidc-provider baseline for bench/run: its own defaults (in-memory adapter,
// opaque access tokens) plus only what client_credentials and introspection need.
//
// Usage: PORT=<port> [PKJWT_JWKS='{"keys":[…]}'] node server.mjs   (listens on 127.0.0.1:<port>)
// Token:         POST /token               (HTTP Basic bench:bench-secret)
// Introspection: POST /token/introspection (the caller authenticates as a client)
// With PKJWT_JWKS (a public JWK Set), a second client, bench-pkjwt, authenticates with
// private_key_jwt (RFC 7523 §2.2, ES256) signed by that key; its assertions' `aud` may be
// the token endpoint URL or the issuer.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('server.mjs: set PORT to the port to listen on');
  process.exit(2);
}

const clients = [
  {
    client_id: 'bench',
    client_secret: 'bench-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'read',
  },
];
if (process.env.PKJWT_JWKS) {
  clients.push({
    client_id: 'bench-pkjwt',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'read',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: JSON.parse(process.env.PKJWT_JWKS),
  });
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients,
  // A client's `scope` may only hold scope values the server supports.
  scopes: ['read'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
