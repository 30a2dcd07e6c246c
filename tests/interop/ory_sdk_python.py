#!/usr/bin/env python3
"""Interop: Ory's own Python SDK for Hydra (`ory-hydra-client` from PyPI, unchanged)
drives every admin and public operation Latch implements against the real `latch`
binary: metadata, clients (create, get, list with pagination, replace, patch, lifespans,
delete), JSON Web Keys, discovery and JWKS, the code flow's login and consent requests
(get, accept, reject), the token endpoint, userinfo, introspection, revocation, consent
and login sessions, logout requests and token deletion.

The SDK validates every response against Hydra's OpenAPI models (pydantic, strict
types), so a field Hydra's schema requires and Latch omits, or a value of the wrong
type, fails here.

Usage: ory_sdk_python.py PATH/TO/latch
Starts `latch serve all --dev` on free loopback ports over a fresh SQLite file; a
requests session plays the browser, the SDK plays the login and consent app.
"""
import sys
from urllib.parse import parse_qs, urlencode, urlparse

import requests
import ory_hydra_client as ory
from ory_hydra_client.exceptions import ApiException
from latch_server import check, serving

UI = "http://127.0.0.1:9/ui"  # never fetched: the browser stops at the UI redirects
CALLBACK = "http://127.0.0.1:9/callback"


def fails_with(status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        return e.status == status
    return False


def query_of(location, name):
    return parse_qs(urlparse(location).query).get(name, [None])[0]


def main():
    ui = {"URLS_LOGIN": f"{UI}/login", "URLS_CONSENT": f"{UI}/consent", "URLS_LOGOUT": f"{UI}/logout",
          "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED": "true"}
    with serving(sys.argv[1], lambda public: dict(ui, URLS_SELF_ISSUER=public), "latch-ory-sdk-") as (public, admin, _):
        run(public, admin)


def run(public, admin):
    admin_api = ory.ApiClient(ory.Configuration(host=admin))
    public_api = ory.ApiClient(ory.Configuration(host=public))
    oauth2 = ory.OAuth2Api(admin_api)
    jwk = ory.JwkApi(admin_api)

    # Metadata, on both ports.
    meta = ory.MetadataApi(admin_api)
    check(meta.is_alive().status == "ok", "MetadataApi.is_alive")
    check(meta.is_ready().status == "ok", "MetadataApi.is_ready")
    check(bool(meta.get_version().version), "MetadataApi.get_version")
    check(ory.MetadataApi(public_api).is_alive().status == "ok", "MetadataApi.is_alive on the public port")

    # Discovery and keys, parsed by Hydra's models.
    oidc_public = ory.OidcApi(public_api)
    disco = oidc_public.discover_oidc_configuration()
    check(disco.issuer == public and disco.token_endpoint == f"{public}/oauth2/token",
          "OidcApi.discover_oidc_configuration parses the discovery document")
    keys = ory.WellknownApi(public_api).discover_json_web_keys()
    check(len(keys.keys) >= 1 and all(k.kid and k.kty for k in keys.keys),
          "WellknownApi.discover_json_web_keys")

    # Clients.
    created = oauth2.create_o_auth2_client(ory.OAuth2Client(
        client_id="sdk-app", client_secret="sdk-secret", client_name="SDK app",
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        response_types=["code", "id_token"], scope="openid offline profile",
        redirect_uris=[CALLBACK], post_logout_redirect_uris=[f"{CALLBACK}/logout"],
        audience=["https://api.example"], owner="team-a", metadata={"tier": "gold"}))
    check(created.client_id == "sdk-app" and created.client_secret == "sdk-secret",
          "OAuth2Api.create_o_auth2_client")
    got = oauth2.get_o_auth2_client("sdk-app")
    check(got.client_name == "SDK app" and got.client_secret is None and got.metadata == {"tier": "gold"},
          "OAuth2Api.get_o_auth2_client (no secret in the answer)")
    for i in range(3):
        oauth2.create_o_auth2_client(ory.OAuth2Client(client_id=f"sdk-extra-{i}", owner="team-b",
                                                      grant_types=["client_credentials"]))
    page = oauth2.list_o_auth2_clients_with_http_info(page_size=2)
    link = {k.lower(): v for k, v in (page.headers or {}).items()}.get("link", "")
    check(len(page.data) == 2 and 'rel="next"' in link, "OAuth2Api.list_o_auth2_clients pages with a Link header")
    token = query_of(next(p for p in link.split(",") if 'rel="next"' in p)
                     .split(";")[0].strip().strip("<>"), "page_token")
    rest = oauth2.list_o_auth2_clients(page_size=500, page_token=token)
    check(len(rest) == 2 and not ({c.client_id for c in rest} & {c.client_id for c in page.data}),
          "OAuth2Api.list_o_auth2_clients follows page_token")
    check([c.client_id for c in oauth2.list_o_auth2_clients(owner="team-b")] ==
          [f"sdk-extra-{i}" for i in range(3)], "OAuth2Api.list_o_auth2_clients filters by owner")
    replaced = oauth2.set_o_auth2_client("sdk-extra-0", ory.OAuth2Client(
        client_name="replaced", grant_types=["client_credentials"], scope="read"))
    check(replaced.client_id == "sdk-extra-0" and replaced.client_name == "replaced",
          "OAuth2Api.set_o_auth2_client")
    patched = oauth2.patch_o_auth2_client("sdk-extra-0", [
        ory.JsonPatch(op="replace", path="/client_name", value="patched")])
    check(patched.client_name == "patched", "OAuth2Api.patch_o_auth2_client")
    spans = oauth2.set_o_auth2_client_lifespans("sdk-extra-1", ory.OAuth2ClientTokenLifespans(
        client_credentials_grant_access_token_lifespan="30m"))
    check(spans.client_credentials_grant_access_token_lifespan in ("30m", "30m0s"),
          "OAuth2Api.set_o_auth2_client_lifespans")
    oauth2.delete_o_auth2_client("sdk-extra-2")
    check(fails_with(404, oauth2.get_o_auth2_client, "sdk-extra-2"), "OAuth2Api.delete_o_auth2_client")

    # JSON Web Keys.
    made = jwk.create_json_web_key_set("sdk-set", ory.CreateJsonWebKeySet(alg="ES256", kid="k1", use="sig"))
    check(len(made.keys) == 1 and made.keys[0].kid == "k1" and made.keys[0].d is not None,
          "JwkApi.create_json_web_key_set answers the private key")
    one = jwk.get_json_web_key("sdk-set", "k1")
    check(one.keys[0].kid == "k1", "JwkApi.get_json_web_key")
    key = one.keys[0]
    key.use = "sig"
    check(jwk.set_json_web_key("sdk-set", "k1", key).kid == "k1", "JwkApi.set_json_web_key")
    check(len(jwk.set_json_web_key_set("sdk-set", ory.JsonWebKeySet(keys=[key])).keys) == 1,
          "JwkApi.set_json_web_key_set")
    check(len(jwk.get_json_web_key_set("sdk-set").keys) == 1, "JwkApi.get_json_web_key_set")
    jwk.delete_json_web_key("sdk-set", "k1")
    check(fails_with(404, jwk.get_json_web_key, "sdk-set", "k1"), "JwkApi.delete_json_web_key")
    jwk.create_json_web_key_set("sdk-set-2", ory.CreateJsonWebKeySet(alg="RS256", kid="", use="sig"))
    jwk.delete_json_web_key_set("sdk-set-2")
    check(fails_with(404, jwk.get_json_web_key_set, "sdk-set-2"), "JwkApi.delete_json_web_key_set")

    # Trust relationships of the JWT-bearer grant (the key: the public half of a new one).
    public_key = jwk.create_json_web_key_set("sdk-trust-keys", ory.CreateJsonWebKeySet(alg="ES256", kid="t1", use="sig")).keys[0]
    public_key.d = None
    from datetime import datetime, timezone
    trusted = oauth2.trust_o_auth2_jwt_grant_issuer(ory.TrustOAuth2JwtGrantIssuer(
        issuer="https://sdk-idp.example", subject="alice", scope=["read"], jwk=public_key,
        expires_at=datetime(2099, 1, 1, tzinfo=timezone.utc)))
    check(trusted.issuer == "https://sdk-idp.example" and trusted.public_key.kid == "t1"
          and trusted.public_key.set == "https://sdk-idp.example", "OAuth2Api.trust_o_auth2_jwt_grant_issuer")
    check(oauth2.get_trusted_o_auth2_jwt_grant_issuer(trusted.id).subject == "alice",
          "OAuth2Api.get_trusted_o_auth2_jwt_grant_issuer")
    check([t.id for t in oauth2.list_trusted_o_auth2_jwt_grant_issuers(issuer="https://sdk-idp.example")] == [trusted.id],
          "OAuth2Api.list_trusted_o_auth2_jwt_grant_issuers")
    oauth2.delete_trusted_o_auth2_jwt_grant_issuer(trusted.id)
    check(fails_with(404, oauth2.get_trusted_o_auth2_jwt_grant_issuer, trusted.id),
          "OAuth2Api.delete_trusted_o_auth2_jwt_grant_issuer")

    # Client credentials through the SDK's token call.
    cc = ory.OAuth2Api(ory.ApiClient(ory.Configuration(host=public, username="sdk-app", password="sdk-secret")))
    tok = cc.oauth2_token_exchange("client_credentials")
    check(tok.access_token and tok.token_type.lower() == "bearer", "OAuth2Api.oauth2_token_exchange (client credentials)")
    intro = oauth2.introspect_o_auth2_token(tok.access_token)
    check(intro.active and intro.client_id == "sdk-app" and intro.token_use == "access_token",
          "OAuth2Api.introspect_o_auth2_token")

    # The code flow: a requests session is the browser, the SDK is the login & consent app.
    browser = requests.Session()
    state = "state-0123456789"
    start = f"{public}/oauth2/auth?" + urlencode({
        "client_id": "sdk-app", "response_type": "code", "scope": "openid offline profile",
        "redirect_uri": CALLBACK, "state": state, "nonce": "nonce-0123456789"})

    def follow(url):
        r = browser.get(url, allow_redirects=False)
        check(r.status_code in (302, 303), f"the browser is redirected from {urlparse(url).path}")
        return r.headers["Location"]

    def walk(url):
        """Follows redirects while they stay on Latch's public port: to the UI or the client."""
        url = follow(url)
        while url.startswith(public):
            url = follow(url)
        return url

    login_at = follow(start)
    challenge = query_of(login_at, "login_challenge")
    login = oauth2.get_o_auth2_login_request(challenge)
    check(login.client.client_id == "sdk-app" and login.skip is False and "openid" in login.requested_scope,
          "OAuth2Api.get_o_auth2_login_request")
    done = oauth2.accept_o_auth2_login_request(challenge, ory.AcceptOAuth2LoginRequest(
        subject="user-1", remember=True, remember_for=3600, acr="1", amr=["pwd"]))
    consent_at = walk(done.redirect_to)
    consent_challenge = query_of(consent_at, "consent_challenge")
    consent = oauth2.get_o_auth2_consent_request(consent_challenge)
    check(consent.subject == "user-1" and consent.client.client_id == "sdk-app",
          "OAuth2Api.get_o_auth2_consent_request")
    done = oauth2.accept_o_auth2_consent_request(consent_challenge, ory.AcceptOAuth2ConsentRequest(
        grant_scope=consent.requested_scope, grant_access_token_audience=consent.requested_access_token_audience,
        remember=True, remember_for=3600,
        session=ory.AcceptOAuth2ConsentRequestSession(id_token={"email": "user-1@example.com"},
                                                      access_token={"tier": "gold"})))
    back = walk(done.redirect_to)
    check(back.startswith(CALLBACK) and query_of(back, "state") == state, "the flow returns to the client with its state")
    code = query_of(back, "code")
    app = ory.OAuth2Api(ory.ApiClient(ory.Configuration(host=public, username="sdk-app", password="sdk-secret")))
    tokens = app.oauth2_token_exchange("authorization_code", code=code, redirect_uri=CALLBACK)
    check(tokens.access_token and tokens.refresh_token and tokens.id_token,
          "OAuth2Api.oauth2_token_exchange (authorization code)")
    user = ory.OidcApi(ory.ApiClient(ory.Configuration(host=public, access_token=tokens.access_token)))
    info = user.get_oidc_user_info()
    check(info.sub == "user-1" and info.email == "user-1@example.com", "OidcApi.get_oidc_user_info")
    refreshed = app.oauth2_token_exchange("refresh_token", refresh_token=tokens.refresh_token)
    check(refreshed.access_token != tokens.access_token, "OAuth2Api.oauth2_token_exchange (refresh token)")

    sessions = oauth2.list_o_auth2_consent_sessions("user-1")
    check(len(sessions) == 1 and sessions[0].consent_request.client.client_id == "sdk-app"
          and "openid" in sessions[0].grant_scope, "OAuth2Api.list_o_auth2_consent_sessions")

    # Rejections answer a redirect for the browser.
    login_at = follow(start.replace(state, "state-rejected-01"))
    rejected = oauth2.reject_o_auth2_login_request(query_of(login_at, "login_challenge"),
                                                   ory.RejectOAuth2Request(error="access_denied",
                                                                           error_description="no"))
    check(rejected.redirect_to and "error=access_denied" in walk(rejected.redirect_to),
          "OAuth2Api.reject_o_auth2_login_request")
    login_at = follow(start.replace(state, "state-rejected-02"))  # remembered: login is skipped
    again = oauth2.get_o_auth2_login_request(query_of(login_at, "login_challenge"))
    check(again.skip is True and again.subject == "user-1", "a remembered login is skipped")
    done = oauth2.accept_o_auth2_login_request(again.challenge, ory.AcceptOAuth2LoginRequest(subject="user-1"))
    consent_at = walk(done.redirect_to)
    if consent_at.startswith(CALLBACK):  # a remembered consent goes straight back
        check("code=" in consent_at, "a remembered consent is skipped")
    else:
        rejected = oauth2.reject_o_auth2_consent_request(query_of(consent_at, "consent_challenge"),
                                                         ory.RejectOAuth2Request(error="access_denied"))
        check("error=access_denied" in walk(rejected.redirect_to), "OAuth2Api.reject_o_auth2_consent_request")

    # Revocation (RFC 7009) and token deletion.
    app.revoke_o_auth2_token(refreshed.refresh_token)
    check(not oauth2.introspect_o_auth2_token(refreshed.refresh_token).active, "OAuth2Api.revoke_o_auth2_token")
    oauth2.delete_o_auth2_token("sdk-app")
    check(not oauth2.introspect_o_auth2_token(tok.access_token).active, "OAuth2Api.delete_o_auth2_token")

    # Logout: the browser starts it, the SDK answers it.
    logout_at = follow(f"{public}/oauth2/sessions/logout?" + urlencode({"id_token_hint": tokens.id_token}))
    logout_challenge = query_of(logout_at, "logout_challenge")
    logout = oauth2.get_o_auth2_logout_request(logout_challenge)
    check(logout.subject == "user-1" and logout.rp_initiated, "OAuth2Api.get_o_auth2_logout_request")
    check(bool(oauth2.accept_o_auth2_logout_request(logout_challenge).redirect_to),
          "OAuth2Api.accept_o_auth2_logout_request")
    logout_at = follow(f"{public}/oauth2/sessions/logout")
    oauth2.reject_o_auth2_logout_request(query_of(logout_at, "logout_challenge"))
    check(True, "OAuth2Api.reject_o_auth2_logout_request")

    oauth2.revoke_o_auth2_consent_sessions(subject="user-1", all=True)
    check(oauth2.list_o_auth2_consent_sessions("user-1") == [], "OAuth2Api.revoke_o_auth2_consent_sessions")
    oauth2.revoke_o_auth2_login_sessions(subject="user-1")
    login_at = follow(start.replace(state, "state-after-revoke"))
    check(oauth2.get_o_auth2_login_request(query_of(login_at, "login_challenge")).skip is False,
          "OAuth2Api.revoke_o_auth2_login_sessions")
    oauth2.delete_o_auth2_client("sdk-app")

    # The device flow (RFC 8628): the device asks and polls over plain HTTP (the SDK's
    # token call has no device_code); the SDK parses the answer and is the device UI.
    device_grant = "urn:ietf:params:oauth:grant-type:device_code"
    oauth2.create_o_auth2_client(ory.OAuth2Client(client_id="sdk-tv", token_endpoint_auth_method="none",
                                                  grant_types=[device_grant], scope="openid"))
    answer = requests.post(f"{public}/oauth2/device/auth", data={"client_id": "sdk-tv", "scope": "openid"})
    da = ory.DeviceAuthorization.from_dict(answer.json())
    check(answer.status_code == 200 and da.device_code and da.user_code
          and da.verification_uri == f"{public}/oauth2/device/verify",
          "the device authorization parses as the SDK's DeviceAuthorization")
    device_ui = follow(da.verification_uri_complete)
    accepted = oauth2.accept_user_code_request(query_of(device_ui, "device_challenge"),
                                               ory.AcceptDeviceUserCodeRequest(user_code=da.user_code))
    check(accepted.redirect_to.startswith(f"{public}/oauth2/device/verify?"), "OAuth2Api.accept_user_code_request")
    login_at = walk(accepted.redirect_to)
    done = oauth2.accept_o_auth2_login_request(query_of(login_at, "login_challenge"),
                                               ory.AcceptOAuth2LoginRequest(subject="user-2"))
    consent_at = walk(done.redirect_to)
    done = oauth2.accept_o_auth2_consent_request(query_of(consent_at, "consent_challenge"),
                                                 ory.AcceptOAuth2ConsentRequest(grant_scope=["openid"]))
    check(follow(done.redirect_to) == f"{public}/oauth2/fallbacks/device/done?client_id=sdk-tv",
          "the device flow ends at the success page")
    polled = requests.post(f"{public}/oauth2/token", data={
        "grant_type": device_grant, "device_code": da.device_code, "client_id": "sdk-tv"})
    tokens = ory.OAuth2TokenExchange.from_dict(polled.json())
    check(polled.status_code == 200 and tokens.access_token and tokens.id_token,
          "the device's tokens parse as the SDK's OAuth2TokenExchange")
    check(oauth2.introspect_o_auth2_token(tokens.access_token).sub == "user-2", "the device's token is the user's")

    # Dynamic client registration (RFC 7591 / 7592) through OidcApi.
    reg = oidc_public.create_oidc_dynamic_client(
        ory.OAuth2Client(client_name="sdk-registered", grant_types=["client_credentials"], scope="openid"))
    check(bool(reg.client_id and reg.client_secret) and reg.registration_access_token.startswith("latch_rat_")
          and reg.registration_client_uri == f"{public}/oauth2/register/{reg.client_id}",
          "OidcApi.create_oidc_dynamic_client")

    def as_registrant(token):
        return ory.OidcApi(ory.ApiClient(ory.Configuration(host=public, access_token=token)))

    got = as_registrant(reg.registration_access_token).get_oidc_dynamic_client(reg.client_id)
    check(got.client_name == "sdk-registered" and not got.client_secret, "OidcApi.get_oidc_dynamic_client")
    updated = as_registrant(reg.registration_access_token).set_oidc_dynamic_client(
        reg.client_id, ory.OAuth2Client(client_name="sdk-renamed", grant_types=["client_credentials"], scope="openid"))
    check(updated.client_name == "sdk-renamed" and updated.registration_access_token not in (None, reg.registration_access_token),
          "OidcApi.set_oidc_dynamic_client replaces the registration token")
    as_registrant(updated.registration_access_token).delete_oidc_dynamic_client(reg.client_id)
    try:
        as_registrant(updated.registration_access_token).get_oidc_dynamic_client(reg.client_id)
        check(False, "OidcApi.delete_oidc_dynamic_client")
    except ApiException as e:
        check(e.status == 401, "OidcApi.delete_oidc_dynamic_client: the client is gone")


if __name__ == "__main__":
    main()
