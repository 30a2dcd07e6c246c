#!/usr/bin/env python3
"""Interop: Authlib's RFC 7523 client side against the real `latch` binary: the
JWT-bearer grant (JWTBearerGrant.sign makes the assertion) with a trust relationship
created by `latch create jwt-bearer-trust`, and private_key_jwt client authentication
(authlib's PrivateKeyJWT) at the token and revocation endpoints, with the client's key
inline and at a jwks_uri served here, and client_secret_jwt (authlib's ClientSecretJWT).

Usage: authlib_jwt_assertions.py PATH/TO/latch
"""
import http.server
import json
import os
import subprocess
import sys
import threading

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc7523 import ClientSecretJWT, JWTBearerGrant, PrivateKeyJWT
from joserfc.jwk import ECKey
from latch_server import check, serving

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def serve_jwks(document):
    """Serves `document` at /jwks.json on a free loopback port; returns its URL."""
    body = json.dumps(document).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json"


def signing_key(key):
    """What authlib's PrivateKeyJWT signs with: an RSA JWK as a dict, others as joserfc keys."""
    private = key.as_dict(is_private=True)
    return private if private["kty"] == "RSA" else ECKey.import_key(private)


def main():
    latch = os.path.abspath(sys.argv[1])
    with serving(latch) as (public, admin, work):
        def cli(*args):
            return subprocess.run([latch, *args], check=True, capture_output=True, text=True).stdout

        meta = requests.get(f"{public}/.well-known/openid-configuration", timeout=5).json()
        token_url = meta["token_endpoint"]
        check(JWT_BEARER in meta["grant_types_supported"], "discovery offers the JWT-bearer grant")
        check("private_key_jwt" in meta["token_endpoint_auth_methods_supported"], "discovery offers private_key_jwt")

        # The JWT-bearer grant: an identity provider's key, trusted through the CLI.
        idp = JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": "idp-1"})
        jwk_file = os.path.join(work, "idp.json")
        with open(jwk_file, "w") as f:
            json.dump(idp.as_dict(is_private=False), f)
        out = cli("create", "jwt-bearer-trust", "--endpoint", admin, "--format", "json",
                  "--issuer", "https://idp.example", "--subject", "alice", "--scope", "read",
                  "--jwk", jwk_file, "--expires-at", "2099-01-01T00:00:00Z")
        trust = json.loads(out)
        check(trust["public_key"] == {"set": "https://idp.example", "kid": "idp-1"}, "the CLI creates the trust")
        listed = json.loads(cli("list", "jwt-bearer-trusts", "--endpoint", admin, "--format", "json"))
        check([t["id"] for t in listed] == [trust["id"]], "the CLI lists it")
        cli("create", "client", "--endpoint", admin, "--id", "svc", "--secret", "svc-secret",
            "--grant-type", JWT_BEARER, "--scope", "read")
        assertion = JWTBearerGrant.sign(idp, issuer="https://idp.example", audience=token_url,
                                        subject="alice", header={"alg": "ES256", "kid": "idp-1"})
        session = OAuth2Session("svc", "svc-secret", token_endpoint_auth_method="client_secret_basic")
        tok = session.fetch_token(token_url, grant_type=JWT_BEARER, assertion=assertion, scope="read")
        check(tok["token_type"].lower() == "bearer" and tok.get("scope") == "read", "authlib's assertion is exchanged")
        intro = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": tok["access_token"]}, timeout=5).json()
        check(intro["active"] and intro["sub"] == "alice", "the token is alice's")
        try:
            session.fetch_token(token_url, grant_type=JWT_BEARER, assertion=assertion, scope="read")
            check(False, "the same assertion twice is refused")
        except Exception as e:  # authlib raises OAuthError carrying the error code
            check("invalid_grant" in str(e), "the same assertion twice is refused with invalid_grant")
        cli("delete", "jwt-bearer-trust", "--endpoint", admin, trust["id"])
        again = JWTBearerGrant.sign(idp, issuer="https://idp.example", audience=token_url,
                                    subject="alice", header={"alg": "ES256", "kid": "idp-1"})
        try:
            session.fetch_token(token_url, grant_type=JWT_BEARER, assertion=again)
            check(False, "a deleted trust trusts nothing")
        except Exception as e:
            check("invalid_grant" in str(e), "a deleted trust trusts nothing")

        # private_key_jwt with an inline key and with a jwks_uri.
        inline = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "rp-1"})
        remote = JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": "rp-2"})
        jwks_uri = serve_jwks({"keys": [remote.as_dict(is_private=False)]})
        for body in (
            {"client_id": "pkj-inline", "grant_types": ["client_credentials"], "scope": "read",
             "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [inline.as_dict(is_private=False)]}},
            {"client_id": "pkj-remote", "grant_types": ["client_credentials"], "scope": "read",
             "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
             "jwks_uri": jwks_uri},
        ):
            r = requests.post(f"{admin}/admin/clients", json=body, timeout=5)
            check(r.status_code == 201, f"client {body['client_id']} is created")
        for client_id, key, alg in (("pkj-inline", inline, "RS256"), ("pkj-remote", remote, "ES256")):
            s = OAuth2Session(client_id, signing_key(key), scope="read",
                              token_endpoint_auth_method=PrivateKeyJWT(token_url, alg=alg),
                              revocation_endpoint_auth_method=PrivateKeyJWT(token_url, alg=alg))
            t = s.fetch_token(token_url, grant_type="client_credentials")
            got = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": t["access_token"]}, timeout=5).json()
            check(got["active"] and got["client_id"] == client_id, f"{client_id} authenticates with private_key_jwt")
            r = s.revoke_token(meta["revocation_endpoint"], token=t["access_token"])
            check(r.status_code == 200, f"{client_id} revokes with private_key_jwt ({r.status_code} {r.text})")
            gone = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": t["access_token"]}, timeout=5).json()
            check(gone == {"active": False}, f"{client_id}'s token is revoked")
        wrong = JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": "rp-2"})
        s = OAuth2Session("pkj-remote", signing_key(wrong),
                          token_endpoint_auth_method=PrivateKeyJWT(token_url, alg="ES256"))
        try:
            s.fetch_token(token_url, grant_type="client_credentials")
            check(False, "another key is refused")
        except Exception as e:
            check("invalid_client" in str(e), "an assertion signed with another key is refused with invalid_client")

        # client_secret_jwt: Latch generates a 64-character secret, authlib MACs with it.
        r = requests.post(f"{admin}/admin/clients", timeout=5, json={
            "client_id": "csj", "grant_types": ["client_credentials"], "scope": "read",
            "token_endpoint_auth_method": "client_secret_jwt"})
        check(r.status_code == 201 and len(r.json()["client_secret"]) == 64, "a client_secret_jwt client is created")
        secret = r.json()["client_secret"]
        check("client_secret_jwt" in meta["token_endpoint_auth_methods_supported"], "discovery offers client_secret_jwt")
        s = OAuth2Session("csj", secret, scope="read",
                          token_endpoint_auth_method=ClientSecretJWT(token_url, alg="HS256"),
                          revocation_endpoint_auth_method=ClientSecretJWT(token_url, alg="HS256"))
        t = s.fetch_token(token_url, grant_type="client_credentials")
        got = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": t["access_token"]}, timeout=5).json()
        check(got["active"] and got["client_id"] == "csj", "csj authenticates with client_secret_jwt")
        r = s.revoke_token(meta["revocation_endpoint"], token=t["access_token"])
        check(r.status_code == 200, f"csj revokes with client_secret_jwt ({r.status_code} {r.text})")
        s = OAuth2Session("csj", "x" * 64, token_endpoint_auth_method=ClientSecretJWT(token_url, alg="HS256"))
        try:
            s.fetch_token(token_url, grant_type="client_credentials")
            check(False, "another secret is refused")
        except Exception as e:
            check("invalid_client" in str(e), "an assertion made with another secret is refused with invalid_client")


if __name__ == "__main__":
    main()
