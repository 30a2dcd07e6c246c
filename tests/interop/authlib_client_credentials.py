#!/usr/bin/env python3
"""Interop: Authlib (an independent, widely used OAuth 2.0 client library) against the
real `latch` binary: client credentials with client_secret_basic and
client_secret_post, RFC 7662 introspection and RFC 7009 revocation.

Usage: authlib_client_credentials.py PATH/TO/latch
Starts `latch serve all --dev` on free loopback ports over a fresh SQLite file, creates
the clients with the `latch` CLI itself, and stops the server at the end.
"""
import json
import os
import subprocess
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from latch_server import check, serving

def main():
    latch = os.path.abspath(sys.argv[1])
    with serving(latch) as (public, admin, _work):
        def cli(*args):
            return subprocess.run([latch, *args], check=True, capture_output=True, text=True).stdout

        out = cli("clients", "create", "--endpoint", admin, "--id", "authlib-basic",
                  "--secret", "secret-basic", "-g", "client_credentials", "-a", "read,write")
        check("OAuth 2.0 Client ID: authlib-basic" in out, "CLI creates the basic client")
        cli("create", "client", "--endpoint", admin, "--id", "authlib-post", "--secret", "secret-post",
            "--grant-type", "client_credentials", "--scope", "read",
            "--token-endpoint-auth-method", "client_secret_post")

        meta = requests.get(f"{public}/.well-known/openid-configuration", timeout=5).json()
        token_url = meta["token_endpoint"]
        check(token_url == f"{public}/oauth2/token", "discovery names the token endpoint")

        basic = OAuth2Session("authlib-basic", "secret-basic", scope="read",
                              token_endpoint_auth_method="client_secret_basic")
        tok = basic.fetch_token(token_url, grant_type="client_credentials")
        check(tok["token_type"].lower() == "bearer" and tok["access_token"].startswith("latch_at_"),
              "authlib gets a token with client_secret_basic")
        check(tok.get("scope") == "read", "granted scope is the requested one")

        post = OAuth2Session("authlib-post", "secret-post", token_endpoint_auth_method="client_secret_post")
        tok2 = post.fetch_token(token_url, grant_type="client_credentials")
        check(tok2["access_token"].startswith("latch_at_"), "authlib gets a token with client_secret_post")

        wrong = OAuth2Session("authlib-basic", "nope", token_endpoint_auth_method="client_secret_basic")
        try:
            wrong.fetch_token(token_url, grant_type="client_credentials")
            check(False, "a wrong secret is refused")
        except Exception as e:  # authlib raises OAuthError carrying the RFC 6749 error code
            check("invalid_client" in str(e), "a wrong secret is refused with invalid_client")

        intro = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": tok["access_token"]}, timeout=5).json()
        check(intro["active"] is True and intro["client_id"] == "authlib-basic", "introspection: active")

        # RFC 7009 through authlib's own revocation support.
        resp = basic.revoke_token(meta["revocation_endpoint"], token=tok["access_token"],
                                  token_type_hint="access_token")
        check(resp.status_code == 200, "authlib revokes the token")
        intro = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": tok["access_token"]}, timeout=5).json()
        check(intro == {"active": False}, "introspection after revocation: inactive")

        out = cli("token", "introspect", "--endpoint", admin, tok2["access_token"])
        check(json.loads(out)["active"] is True, "the CLI introspects the authlib token")


if __name__ == "__main__":
    main()
