// node-oidc-provider baseline for bench/run: its own defaults (in-memory adapter,
// opaque access tokens) plus only what client_credentials and introspection need.
//
// Usage: PORT=<port> node server.mjs   (listens on 127.0.0.1:<port>)
// Token:         POST /token               (HTTP Basic bench:bench-secret)
// Introspection: POST /token/introspection (the caller authenticates as a client)
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('server.mjs: set PORT to the port to listen on');
  process.exit(2);
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench',
      client_secret: 'bench-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'read',
    },
  ],
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
