// Pre-signed ES256 assertions for bench/run's assertion workloads (RFC 7523): one
// x-www-form-urlencoded token request body per line, each with its own assertion (fresh
// `jti`), for bench/assertion.lua to send once each. Signing happens here, before the
// measured runs, so that the load generator only reads lines.
//
// Usage:
//   node assertions.mjs keygen KID
//       prints {"private": JWK, "public": JWK}: a new P-256 key pair (kid KID, alg ES256)
//   node assertions.mjs private_key_jwt KEYFILE COUNT CLIENT_ID AUD
//       COUNT client-credentials bodies authenticated by a client assertion (§2.2):
//       iss = sub = CLIENT_ID
//   node assertions.mjs jwt-bearer KEYFILE COUNT ISS SUB AUD
//       COUNT JWT-bearer grant bodies (§2.1) asserting SUB, signed by the issuer ISS
// KEYFILE is keygen's output. Each assertion has aud = AUD, iat = now, exp = now + 300 s
// and a random jti. The lines go to stdout, signed on every core (worker threads).
import { generateKeyPairSync, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const LIFETIME = 300; // seconds from iat to exp
const CHUNK = 2000; // lines per message from a worker
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

function usage() {
  console.error('usage: assertions.mjs keygen KID | private_key_jwt KEYFILE COUNT CLIENT_ID AUD | jwt-bearer KEYFILE COUNT ISS SUB AUD');
  process.exit(2);
}

// A worker: signs `count` assertions and posts their bodies, CHUNK lines at a time.
function signLines({ jwk, count, iss, sub, aud, prefix, param }) {
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const header = b64({ alg: 'ES256', typ: 'JWT', kid: jwk.kid });
  let lines = [];
  for (let i = 0; i < count; i++) {
    const iat = Math.floor(Date.now() / 1000);
    const signed = `${header}.${b64({ iss, sub, aud, iat, exp: iat + LIFETIME, jti: randomUUID() })}`;
    // JWS ES256 (RFC 7518 §3.4): the signature is R || S, not DER.
    const sig = sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    lines.push(`${prefix}${param}=${signed}.${sig}`); // base64url and '.' need no escaping
    if (lines.length === CHUNK || i === count - 1) {
      parentPort.postMessage(lines.join('\n') + '\n');
      lines = [];
    }
  }
}

if (!isMainThread) {
  signLines(workerData);
} else {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'keygen' && args.length === 1) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const meta = { kid: args[0], alg: 'ES256', use: 'sig' };
    console.log(JSON.stringify({
      private: { ...privateKey.export({ format: 'jwk' }), ...meta },
      public: { ...publicKey.export({ format: 'jwk' }), ...meta },
    }));
    process.exit(0);
  }
  let job;
  if (mode === 'private_key_jwt' && args.length === 4) {
    const [, , clientId, aud] = args;
    const type = encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    job = { iss: clientId, sub: clientId, aud, param: 'client_assertion',
      prefix: `grant_type=client_credentials&scope=read&client_assertion_type=${type}&` };
  } else if (mode === 'jwt-bearer' && args.length === 5) {
    const [, , iss, sub, aud] = args;
    const grant = encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer');
    job = { iss, sub, aud, param: 'assertion', prefix: `grant_type=${grant}&scope=read&` };
  } else {
    usage();
  }
  const count = Number(args[1]);
  if (!Number.isInteger(count) || count <= 0) usage();
  const jwk = JSON.parse(readFileSync(args[0], 'utf8')).private;
  const n = Math.min(availableParallelism(), count);
  let written = 0;
  await Promise.all(Array.from({ length: n }, (_, w) => new Promise((resolve, reject) => {
    // Shares as even as integers allow; they add up to count.
    const share = Math.floor(count / n) + (w < count % n ? 1 : 0);
    const worker = new Worker(new URL(import.meta.url), { workerData: { ...job, jwk, count: share } });
    worker.on('message', (text) => {
      writeSync(1, text);
      written += text.split('\n').length - 1;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  })));
  if (written !== count) {
    console.error(`assertions.mjs: wrote ${written} lines, not ${count}`);
    process.exit(1);
  }
}
