#!/usr/bin/env python3
"""Interop: Authlib's client side of the device authorization grant (RFC 8628) against the
real `latch` binary. Authlib's OAuth2Session authenticates a confidential client at the
device authorization endpoint (its client_secret_basic auth) and polls the token endpoint
with the device code (fetch_token with DEVICE_CODE_GRANT_TYPE), reading
`authorization_pending`, `slow_down` and `access_denied` as Authlib's OAuthError, while a
browser session (requests, cookies kept, redirects followed by hand) and the admin API
approve the user code: verification page, device UI, login, consent.

Usage: authlib_device_flow.py PATH/TO/latch
"""
import os
import sys
import threading
import time
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from latch_server import check, serving

UI = "https://ui.example"


def param(url, name):
    return parse_qs(urlparse(url).query).get(name, [None])[0]


def approve(admin, verification_uri_complete, user_code, deny=False):
    """The user's side, in one browser: returns where the browser ends."""
    browser = requests.Session()

    def get(url):
        r = browser.get(url, allow_redirects=False, timeout=5)
        return urljoin(url, r.headers.get("location", ""))

    def put(path, body):
        r = requests.put(f"{admin}{path}", json=body, timeout=5)
        r.raise_for_status()
        return r.json()["redirect_to"]

    ui = get(verification_uri_complete)
    check(ui.startswith(f"{UI}/device?") and param(ui, "user_code") == user_code,
          "the verification URI sends the browser to the device UI with the user code")
    to = put(f"/admin/oauth2/auth/requests/device/accept?device_challenge={param(ui, 'device_challenge')}",
             {"user_code": user_code})
    login = get(to)
    to = put(f"/admin/oauth2/auth/requests/login/accept?login_challenge={param(login, 'login_challenge')}",
             {"subject": "device-user"})
    consent = get(to)
    verb, body = ("reject", {"error": "access_denied"}) if deny else ("accept", {"grant_scope": ["openid", "offline"]})
    to = put(f"/admin/oauth2/auth/requests/consent/{verb}?consent_challenge={param(consent, 'consent_challenge')}", body)
    return get(to)


def poll(session, token_url, device_code, interval, seen):
    """Authlib's token request with the device code, until it gives tokens or another error."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return session.fetch_token(token_url, grant_type=DEVICE_CODE_GRANT_TYPE, device_code=device_code)
        except OAuthError as e:
            seen.append(e.error)
            if e.error == "authorization_pending":
                time.sleep(interval)
            elif e.error == "slow_down":
                interval += 5
                time.sleep(interval)
            else:
                return e
    raise SystemExit("the device was never approved")


def main():
    latch = os.path.abspath(sys.argv[1])
    env = {"URLS_LOGIN": f"{UI}/login", "URLS_CONSENT": f"{UI}/consent", "URLS_DEVICE_VERIFICATION": f"{UI}/device",
           "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL": "3s"}
    with serving(latch, env) as (public, admin, _work):
        meta = requests.get(f"{public}/.well-known/openid-configuration", timeout=5).json()
        token_url, device_url = meta["token_endpoint"], meta["device_authorization_endpoint"]
        check(DEVICE_CODE_GRANT_TYPE in meta["grant_types_supported"] and device_url == f"{public}/oauth2/device/auth",
              "discovery offers the device grant and its endpoint")
        r = requests.post(f"{admin}/admin/clients", timeout=5, json={
            "client_id": "tv", "client_secret": "tv-secret", "scope": "openid offline",
            "grant_types": [DEVICE_CODE_GRANT_TYPE, "refresh_token"]})
        check(r.status_code == 201, "a confidential device client is created")
        session = OAuth2Session("tv", "tv-secret", scope="openid offline",
                                token_endpoint_auth_method="client_secret_basic")

        def authorize(scope):
            auth = session.client_auth(session.token_endpoint_auth_method)
            r = session.post(device_url, data={"scope": scope}, auth=auth, withhold_token=True, timeout=5)
            check(r.status_code == 200, f"Authlib's session authenticates at the device endpoint ({r.status_code})")
            return r.json()

        da = authorize("openid offline")
        check(len(da["user_code"]) == 8 and da["verification_uri"] == f"{public}/oauth2/device/verify"
              and da["interval"] == 3 and da["expires_in"] == 600, "a device code, an 8-character user code")
        seen = []
        # Polling before approval: pending; again at once, within the 3 s interval: slow_down.
        try:
            session.fetch_token(token_url, grant_type=DEVICE_CODE_GRANT_TYPE, device_code=da["device_code"])
            check(False, "a pending device gets no tokens")
        except OAuthError as e:
            check(e.error == "authorization_pending", f"before approval: authorization_pending ({e.error})")
        try:
            session.fetch_token(token_url, grant_type=DEVICE_CODE_GRANT_TYPE, device_code=da["device_code"])
            check(False, "a poll within the interval gets no tokens")
        except OAuthError as e:
            check(e.error == "slow_down", f"polling within the interval: slow_down ({e.error})")
        out = {}
        poller = threading.Thread(target=lambda: out.update(
            tokens=poll(session, token_url, da["device_code"], da["interval"], seen)))
        poller.start()
        end = approve(admin, da["verification_uri_complete"], da["user_code"])
        check(end == f"{public}/oauth2/fallbacks/device/done?client_id=tv", f"the browser ends at success ({end})")
        poller.join(70)
        tokens = out.get("tokens")
        check(isinstance(tokens, dict) and tokens.get("access_token") and tokens.get("refresh_token")
              and tokens.get("id_token"), "Authlib's poll gets access, refresh and ID tokens once approved")
        intro = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": tokens["access_token"]},
                              timeout=5).json()
        check(intro["active"] and intro["sub"] == "device-user" and intro["client_id"] == "tv",
              "the device's token is the user's")
        refreshed = session.refresh_token(token_url, refresh_token=tokens["refresh_token"])
        check(bool(refreshed.get("access_token")), "Authlib refreshes the device's tokens")
        try:
            session.fetch_token(token_url, grant_type=DEVICE_CODE_GRANT_TYPE, device_code=da["device_code"])
            check(False, "a device code is exchanged once")
        except OAuthError as e:
            check(e.error == "invalid_grant", f"the device code a second time: invalid_grant ({e.error})")
        gone = requests.post(f"{admin}/admin/oauth2/introspect", data={"token": refreshed["access_token"]},
                             timeout=5).json()
        check(gone == {"active": False}, "a replayed device code revokes what it gave, as a replayed code")

        denied = authorize("openid")
        poller = threading.Thread(target=lambda: out.update(
            denied=poll(session, token_url, denied["device_code"], denied["interval"], [])))
        poller.start()
        approve(admin, denied["verification_uri_complete"], denied["user_code"], deny=True)
        poller.join(70)
        outcome = out.get("denied")
        check(isinstance(outcome, OAuthError) and outcome.error == "access_denied",
              f"a rejected consent reaches Authlib as access_denied ({outcome!r})")
        try:
            OAuth2Session("tv", "wrong").fetch_token(token_url, grant_type=DEVICE_CODE_GRANT_TYPE,
                                                     device_code=denied["device_code"])
            check(False, "another secret is refused")
        except OAuthError as e:
            check(e.error == "invalid_client", f"a wrong client secret: invalid_client ({e.error})")


if __name__ == "__main__":
    main()
