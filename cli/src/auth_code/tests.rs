//! The command's server end to end against a fake authorization server: a tiny axum app whose
//! `/oauth2/auth` remembers the PKCE challenge and redirects back with a code, and whose
//! `/oauth2/token` only answers when the `code_verifier` matches that challenge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use clap::Parser as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use url::Url;

use super::*;
use crate::args::{Cli, Command, Formatted, PerformCmd};
use crate::token_cmds::TokenCmd;

const CODE: &str = "ory_ac_the-code";

/// What the fake authorization server saw and how it behaves.
#[derive(Debug, Default)]
struct Fake {
    /// Query of the authorization request.
    authorize: HashMap<String, String>,
    /// Form and `Authorization` header of each token request.
    token_requests: Vec<(HashMap<String, String>, Option<String>)>,
    /// Put this nonce in the ID token instead of the one received.
    nonce_override: Option<String>,
}

type Shared = Arc<Mutex<Fake>>;

async fn authorize(State(fake): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut back = match q.get("redirect_uri").map(|r| Url::parse(r)) {
        Some(Ok(url)) => url,
        _ => return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response(),
    };
    back.query_pairs_mut().append_pair("code", CODE).append_pair("state", q.get("state").map_or("", |s| s));
    fake.lock().unwrap().authorize = q;
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

/// An unsigned JWT: this tool decodes ID tokens but does not verify them.
fn id_token(nonce: &str) -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let header = part(json!({"alg": "RS256", "kid": "test-key", "typ": "JWT"}));
    let claims = part(json!({"iss": "http://fake", "sub": "foo@bar.com", "aud": ["my-client"], "nonce": nonce}));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

async fn token(State(fake): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut fake = fake.lock().unwrap();
    fake.token_requests.push((form.clone(), auth));
    let seen = &fake.authorize;
    let field = |m: &HashMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    // RFC 7636 §4.6, computed here independently of the code under test.
    let s256 = URL_SAFE_NO_PAD.encode(Sha256::digest(field(&form, "code_verifier").as_bytes()));
    let problem = if field(&form, "grant_type") != "authorization_code" {
        Some("unsupported_grant_type")
    } else if field(&form, "code") != CODE || field(&form, "redirect_uri") != field(seen, "redirect_uri") {
        Some("invalid_grant")
    } else if field(seen, "code_challenge_method") != "S256" || s256 != field(seen, "code_challenge") {
        Some("invalid_grant: PKCE")
    } else {
        None
    };
    if let Some(error) = problem {
        let body = json!({"error": error, "error_description": "The provided authorization grant is invalid"});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let nonce = fake.nonce_override.clone().unwrap_or_else(|| field(&fake.authorize, "nonce"));
    Json(json!({
        "access_token": "ory_at_access",
        "refresh_token": "ory_rt_refresh",
        "id_token": id_token(&nonce),
        "expires_in": 3600,
        "scope": "offline openid",
        "token_type": "bearer",
    }))
    .into_response()
}

async fn start_fake(fake: Shared) -> String {
    let router =
        Router::new().route("/oauth2/auth", get(authorize)).route("/oauth2/token", post(token)).with_state(fake);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/")
}

fn parse_v2(args: &[&str]) -> Formatted<AuthCodeArgs> {
    let argv = [&["latch", "perform", "authorization-code"], args].concat();
    match Cli::try_parse_from(argv) {
        Ok(Cli { command: Command::Perform(PerformCmd::AuthorizationCode(a)) }) => *a,
        Ok(other) => panic!("wrong command {other:?}"),
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// What a run of the command produced.
struct Run {
    result: Result<()>,
    out: String,
    info: String,
    /// The page the callback rendered, and its status.
    callback: (StatusCode, String),
    /// The authorization URL the home page linked to.
    auth_link: Url,
}

/// The `href` of the home page's authorization link, unescaped.
fn auth_link(home_html: &str) -> Url {
    let marker = "id=\"authorize\" href=\"";
    let start = home_html.find(marker).expect("an authorize link") + marker.len();
    let href = home_html[start..].split('"').next().unwrap_or_default().replace("&amp;", "&");
    Url::parse(&href).expect("an absolute link")
}

/// Runs the command with `args` (endpoint: the fake) on a free port, and drives it like a
/// browser: home page, authorization link, then `callback` decides the callback URL from the
/// redirect the fake answered with.
async fn run_flow(fake: &Shared, args: &[&str], callback: impl FnOnce(Url) -> Url) -> Run {
    let endpoint = start_fake(fake.clone()).await;
    let all = [&["--endpoint", endpoint.as_str()], args].concat();
    let a = parse_v2(&all);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cfg, api) = configure(&a.args, &no_env, port).unwrap();
    let (mut out, mut info) = (Vec::new(), Vec::new());
    let console = Console { out: &mut out, info: &mut info };

    let browser = async {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let home = http.get(format!("http://127.0.0.1:{port}/")).send().await.unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let link = auth_link(&home.text().await.unwrap());
        let to_callback = http.get(link.clone()).send().await.unwrap();
        assert_eq!(to_callback.status(), StatusCode::FOUND);
        let location = to_callback.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let page = http.get(callback(Url::parse(&location).unwrap())).send().await.unwrap();
        ((page.status(), page.text().await.unwrap()), link)
    };
    let (result, (page, link)) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(serve(listener, cfg, api, a.output.mode(), console), browser)
    })
    .await
    .expect("the flow finishes");
    Run {
        result,
        out: String::from_utf8(out).unwrap(),
        info: String::from_utf8(info).unwrap(),
        callback: page,
        auth_link: link,
    }
}

fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test]
async fn confidential_client_end_to_end() {
    let fake = Shared::default();
    let before = now_unix();
    let run = run_flow(&fake, &["--client-id", "my-client", "--client-secret", "secret"], |u| u).await;
    assert_eq!(run.result, Ok(()));

    // The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3).
    let port = run.auth_link.query_pairs().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned());
    let redirect_uri = port.expect("redirect_uri");
    assert!(redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback"), "{redirect_uri}");
    let q = query_of(&run.auth_link);
    assert_eq!(run.auth_link.path(), "/oauth2/auth");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "my-client");
    assert_eq!(q["scope"], "offline openid");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 22 && q["nonce"].len() >= 22, "{q:?}");
    assert_ne!(q["state"], q["nonce"]);
    for absent in ["prompt", "max_age", "audience"] {
        assert!(!q.contains_key(absent), "{absent} sent: {q:?}");
    }

    // The token request: HTTP Basic, verifier checked by the fake, no client_id in the body.
    let fake = fake.lock().unwrap();
    let [(form, auth)] = fake.token_requests.as_slice() else { panic!("{:?}", fake.token_requests) };
    assert_eq!(auth.as_deref(), Some(format!("Basic {}", STANDARD.encode("my-client:secret")).as_str()));
    assert_eq!(form["redirect_uri"], redirect_uri);
    assert!(!form.contains_key("client_id"), "{form:?}");

    // The page.
    let (status, page) = &run.callback;
    assert_eq!(*status, StatusCode::OK, "{page}");
    assert!(page.contains("<pre>ory_at_access</pre>") && page.contains("<pre>ory_rt_refresh</pre>"), "{page}");
    assert!(page.contains(&format!("<pre>{}</pre>", id_token(&q["nonce"]))), "{page}");
    assert!(page.contains("&quot;sub&quot;: &quot;foo@bar.com&quot;"), "{page}");
    assert!(page.contains("&quot;kid&quot;: &quot;test-key&quot;"), "{page}");
    assert!(!page.contains("Warning"), "{page}");

    // The terminal: Hydra's layout with an RFC 3339 expiry about an hour from now.
    let lines: Vec<&str> = run.out.lines().collect();
    let [a, at, r, rt, e, exp, i, it] = lines.as_slice() else { panic!("{}", run.out) };
    assert_eq!(
        [*a, *at, *r, *rt, *e, *i],
        ["Access Token:", "\tory_at_access", "Refresh Token:", "\tory_rt_refresh", "Expires in:", "ID Token:"]
    );
    assert_eq!(*it, format!("\t{}", id_token(&q["nonce"])));
    let expiry = chrono::DateTime::parse_from_rfc3339(exp.trim_start_matches('\t')).expect("RFC 3339").timestamp();
    assert!((before + 3600..=now_unix() + 3600).contains(&expiry), "{exp}");
    assert!(
        run.info.contains(&format!("Setting up home route on http://127.0.0.1:{}/\n", run_port(&redirect_uri))),
        "{}",
        run.info
    );
    assert!(run.info.contains(&format!("Setting up callback listener on {redirect_uri}\n")), "{}", run.info);
}

fn run_port(redirect_uri: &str) -> u16 {
    Url::parse(redirect_uri).ok().and_then(|u| u.port()).expect("a port")
}

#[tokio::test]
async fn public_client_with_json_output() {
    let fake = Shared::default();
    let args = ["--client-id", "spa", "--scope", "openid", "--audience", "https://api", "--prompt", "login,consent"];
    let run = run_flow(&fake, &[&args[..], &["--max-age", "60", "--format", "json"]].concat(), |u| u).await;
    assert_eq!(run.result, Ok(()));
    let q = query_of(&run.auth_link);
    assert_eq!((q["scope"].as_str(), q["audience"].as_str()), ("openid", "https://api"));
    assert_eq!((q["prompt"].as_str(), q["max_age"].as_str()), ("login consent", "60"));

    let fake = fake.lock().unwrap();
    let [(form, auth)] = fake.token_requests.as_slice() else { panic!("{:?}", fake.token_requests) };
    assert_eq!(auth, &None);
    assert_eq!(form.get("client_id").map(String::as_str), Some("spa"));
    assert!(!form.contains_key("client_secret"));

    // stdout is the raw token response alone; the progress lines went to the other stream.
    assert_eq!(run.out.lines().count(), 1, "{}", run.out);
    let token: Value = serde_json::from_str(&run.out).expect("JSON on stdout");
    assert_eq!(token["access_token"], "ory_at_access");
    assert!(run.info.contains("Setting up home route"), "{}", run.info);
}

#[tokio::test]
async fn error_response_fails_the_command() {
    let fake = Shared::default();
    let run = run_flow(&fake, &["--client-id", "c", "--client-secret", "s"], |mut u| {
        let state = query_of(&u)["state"].clone();
        u.set_query(None);
        u.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The resource owner denied the request")
            .append_pair("error_hint", "The user said no.")
            .append_pair("state", &state);
        u
    })
    .await;
    assert_eq!(
        run.result,
        Err(CliError::Flow(
            "the authorization server answered with an error: access_denied: The resource owner denied the request \
             (The user said no.)"
                .into()
        ))
    );
    let (status, page) = &run.callback;
    assert_eq!(*status, StatusCode::BAD_REQUEST);
    assert!(page.contains("access_denied") && page.contains("The user said no."), "{page}");
    assert!(fake.lock().unwrap().token_requests.is_empty());
    assert_eq!(run.out, "");
}

#[tokio::test]
async fn state_mismatch_fails_without_exchanging_the_code() {
    let fake = Shared::default();
    let run = run_flow(&fake, &["--client-id", "c", "--client-secret", "s", "--state", "fixed-state-123"], |mut u| {
        u.set_query(Some(&format!("code={CODE}&state=forged")));
        u
    })
    .await;
    assert_eq!(query_of(&run.auth_link)["state"], "fixed-state-123");
    let Err(CliError::Flow(message)) = &run.result else { panic!("{:?}", run.result) };
    assert!(message.contains("states do not match") && message.contains("forged"), "{message}");
    assert_eq!(run.callback.0, StatusCode::BAD_REQUEST);
    assert!(run.callback.1.contains("States do not match"), "{}", run.callback.1);
    assert!(fake.lock().unwrap().token_requests.is_empty());
}

#[tokio::test]
async fn rejected_exchange_fails_the_command() {
    let fake = Shared::default();
    // The code is not the one issued: the fake refuses it.
    let run = run_flow(&fake, &["--client-id", "c", "--client-secret", "s"], |u| {
        let state = query_of(&u)["state"].clone();
        let mut u = u;
        u.set_query(Some(&format!("code=wrong&state={state}")));
        u
    })
    .await;
    let Err(CliError::Flow(message)) = &run.result else { panic!("{:?}", run.result) };
    assert!(message.contains("unable to exchange") && message.contains("invalid_grant"), "{message}");
    assert_eq!(run.callback.0, StatusCode::BAD_GATEWAY);
    assert_eq!(fake.lock().unwrap().token_requests.len(), 1);
}

#[tokio::test]
async fn nonce_mismatch_is_a_warning() {
    let fake = Shared::default();
    fake.lock().unwrap().nonce_override = Some("someone-elses-nonce".into());
    let run = run_flow(&fake, &["--client-id", "c", "--client-secret", "s"], |u| u).await;
    assert_eq!(run.result, Ok(()));
    let (status, page) = &run.callback;
    assert_eq!(*status, StatusCode::OK);
    assert!(page.contains("<strong>Warning:</strong> the ID token&#39;s nonce"), "{page}");
    assert!(run.info.contains("Warning: the ID token's nonce \"someone-elses-nonce\""), "{}", run.info);
    assert!(run.out.starts_with("Access Token:\n\tory_at_access\n"), "{}", run.out);
}

#[test]
fn flags_defaults_and_aliases() {
    let a = parse_v2(&["--client-id", "c"]);
    assert_eq!(a.args.port, 4446);
    assert_eq!(a.args.scope, ["offline", "openid"]);
    assert_eq!(a.args.max_age, None);
    let a = parse_v2(&["--client-id", "c", "-p", "5555", "--scope", "openid", "--scope", "offline", "--max-age", "-1"]);
    assert_eq!((a.args.port, a.args.max_age), (5555, Some(-1)));
    assert_eq!(a.args.scope, ["openid", "offline"]);

    // Hydra v1's `token user` takes the same flags.
    let cli = Cli::try_parse_from([
        "latch",
        "token",
        "user",
        "--client-id",
        "auth-code-client",
        "--client-secret",
        "secret",
        "--endpoint",
        "http://127.0.0.1:4444/",
        "--port",
        "5555",
        "--scope",
        "openid,offline",
        "--no-open",
    ])
    .unwrap();
    let Command::Token(TokenCmd::User(a)) = cli.command else { panic!("wrong command") };
    assert_eq!((a.port, a.no_open), (5555, true));
    assert_eq!(a.scope, ["openid", "offline"]);
}

#[test]
fn configuration_from_flags() {
    let a = parse_v2(&["--client-id", "c", "--max-age", "-1", "--redirect", "http://localhost:9000/cb"]);
    let env = |name: &str| (name == "ORY_SDK_URL").then(|| "http://idp.example:4444/base".to_owned());
    let (cfg, _) = configure(&a.args, &env, 1234).unwrap();
    assert_eq!(cfg.auth_url.as_str(), "http://idp.example:4444/base/oauth2/auth");
    assert_eq!(cfg.token_url.as_str(), "http://idp.example:4444/base/oauth2/token");
    assert_eq!(cfg.request.max_age, None, "a negative max-age sends none");
    assert_eq!(cfg.request.redirect_uri, "http://localhost:9000/cb");
    assert_eq!(cfg.callback_path, "/cb");
    assert_eq!(cfg.home, "http://127.0.0.1:1234/");

    let a = parse_v2(&[
        "--client-id",
        "c",
        "--auth-url",
        "https://a.example/authorize",
        "--token-url",
        "https://t.example/token",
    ]);
    let (cfg, _) = configure(&a.args, &no_env, 1).unwrap();
    assert_eq!(cfg.auth_url.as_str(), "https://a.example/authorize");
    assert_eq!(cfg.token_url.as_str(), "https://t.example/token");
    assert_eq!(cfg.request.redirect_uri, "http://127.0.0.1:1/callback");
    assert_eq!(cfg.callback_path, "/callback");

    let odd = parse_v2(&["--client-id", "c", "--endpoint", "http://x/", "--redirect", "http://127.0.0.1:1/a*b"]);
    assert!(configure(&odd.args, &no_env, 1).unwrap_err().to_string().contains("cannot serve the path"));

    // No endpoint anywhere: a usage error naming the variables.
    let err = configure(&parse_v2(&["--client-id", "c"]).args, &no_env, 1).unwrap_err();
    assert!(err.to_string().contains("LATCH_URL"), "{err}");
}

#[tokio::test]
async fn https_and_missing_client_id_are_refused() {
    let a = parse_v2(&["--client-id", "c", "--https", "--port", "0", "--endpoint", "http://127.0.0.1:1/"]);
    let err = run(a.args, Mode::default(), &no_env).await.unwrap_err();
    assert!(matches!(&err, CliError::Usage(m) if m.contains("--https is not supported")), "{err}");
    let a = parse_v2(&["--port", "0", "--endpoint", "http://127.0.0.1:1/"]);
    let err = run(a.args, Mode::default(), &no_env).await.unwrap_err();
    assert!(err.to_string().contains("OAUTH2_CLIENT_ID"), "{err}");
}

#[tokio::test]
async fn skip_needs_an_admin_api_and_the_callback_keeps_off_the_pages() {
    // A port already taken: a check made after binding would fail with "cannot listen".
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let base = ["--client-id", "c", "--port", port.as_str(), "--endpoint", "http://127.0.0.1:1/"];
    let usage = |err: CliError| match err {
        CliError::Usage(message) => message,
        other => panic!("not a usage error: {other:?}"),
    };

    let a = parse_v2(&[&base[..], &["--skip"]].concat());
    let message = usage(run(a.args, Mode::default(), &no_env).await.unwrap_err());
    assert!(message.contains("--skip") && message.contains("--admin-endpoint"), "{message}");
    assert!(message.contains("LATCH_ADMIN_URL, HYDRA_ADMIN_URL"), "{message}");
    assert!(!message.contains("ORY_SDK_URL"), "ORY_SDK_URL names the public API here: {message}");
    // `token user` shares the flags and the check.
    let cli = Cli::try_parse_from([&["latch", "token", "user"][..], &base[..], &["--skip"]].concat()).unwrap();
    let Command::Token(TokenCmd::User(a)) = cli.command else { panic!("wrong command") };
    assert!(usage(run(*a, Mode::default(), &no_env).await.unwrap_err()).contains("--admin-endpoint"));

    let admin = ["--admin-endpoint", "http://127.0.0.1:1/"];
    for path in ["login", "consent"] {
        let redirect = format!("http://127.0.0.1:{port}/{path}");
        for extra in [&[][..], &admin[..]] {
            let a = parse_v2(&[&base[..], extra, &["--redirect", redirect.as_str()]].concat());
            let message = usage(run(a.args, Mode::default(), &no_env).await.unwrap_err());
            assert!(message.contains(&format!("the path /{path} is this server's {path} page")), "{message}");
        }
    }
    let a = parse_v2(&[&base[..], &["--skip", "--admin-endpoint", "127.0.0.1:4445"]].concat());
    let message = usage(run(a.args, Mode::default(), &no_env).await.unwrap_err());
    assert!(
        message.contains("--admin-endpoint") && message.contains("did you mean http://127.0.0.1:4445"),
        "{message}"
    );

    // With an admin API known, from the flag or the example app's variables, --skip is fine.
    let a = parse_v2(&[&base[..], &["--skip"]].concat());
    let env = |name: &str| (name == "HYDRA_ADMIN_URL").then(|| "http://127.0.0.1:4445/".to_owned());
    let (cfg, _) = configure(&a.args, &env, 1).unwrap();
    assert!(cfg.login_consent.is_some() && cfg.skip);
    let (cfg, _) = configure(&parse_v2(&[&base[..], &admin[..]].concat()).args, &no_env, 1).unwrap();
    assert!(cfg.login_consent.is_some() && !cfg.skip);
    let (cfg, _) = configure(&parse_v2(&base).args, &no_env, 1).unwrap();
    assert!(cfg.login_consent.is_none());
    drop(taken);
}

#[tokio::test]
async fn without_an_admin_api_the_pages_say_what_to_pass() {
    let fake = Shared::default();
    let endpoint = start_fake(fake.clone()).await;
    let a = parse_v2(&["--endpoint", endpoint.as_str(), "--client-id", "c", "--client-secret", "s"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cfg, api) = configure(&a.args, &no_env, port).unwrap();
    let (mut out, mut info) = (Vec::new(), Vec::new());
    let console = Console { out: &mut out, info: &mut info };
    let browser = async {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for page in ["/login?login_challenge=x", "/consent?consent_challenge=x"] {
            let res = http.get(format!("{base}{page}")).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{page}");
            let body = res.text().await.unwrap();
            assert!(body.contains("need the admin API") && body.contains("--admin-endpoint"), "{body}");
        }
        let res = http.post(format!("{base}/login")).form(&[("challenge", "x")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        // Then the flow, so that the command ends.
        let home = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
        let to_callback = http.get(auth_link(&home)).send().await.unwrap();
        let location = to_callback.headers()[header::LOCATION].to_str().unwrap().to_owned();
        http.get(location).send().await.unwrap().status()
    };
    let (result, status) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(serve(listener, cfg, api, Mode::default(), console), browser)
    })
    .await
    .expect("the flow finishes");
    assert_eq!((result, status), (Ok(()), StatusCode::OK));
    let info = String::from_utf8(info).unwrap();
    assert!(!info.contains("Login and consent pages"), "{info}");
}

// ------------------------------------------------------------------------------------------
// The built-in login and consent pages with a real Latch (in process), whose urls.login and
// urls.consent point at them.

/// A browser for 127.0.0.1, where every server runs: one cookie jar (cookies ignore ports),
/// redirects followed by hand.
struct Browser {
    http: reqwest::Client,
    jar: Vec<(String, String)>,
}

/// One answer the browser got.
#[derive(Debug)]
struct Hop {
    url: Url,
    status: StatusCode,
    body: String,
}

impl Browser {
    fn new() -> Self {
        // No idle connections kept: each round runs a new command server on the same port.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Browser { http, jar: Vec::new() }
    }

    /// Sends `req` (to `url`) with the jar, then follows redirects; every answer, in order.
    async fn follow(&mut self, mut req: reqwest::RequestBuilder, mut url: Url) -> Vec<Hop> {
        let mut hops = Vec::new();
        for _ in 0..12 {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let res = req.header(header::COOKIE, cookies.join("; ")).send().await.expect("an answer");
            for set in res.headers().get_all(header::SET_COOKIE) {
                let set = set.to_str().unwrap();
                let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
                self.jar.retain(|(k, _)| k != name);
                if !value.is_empty() && !set.to_ascii_lowercase().contains("max-age=0") {
                    self.jar.push((name.to_owned(), value.to_owned()));
                }
            }
            let location = res.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_owned());
            hops.push(Hop { url: url.clone(), status: res.status(), body: res.text().await.unwrap() });
            let Some(to) = location else { return hops };
            url = url.join(&to).unwrap();
            req = self.http.get(url.clone());
        }
        panic!("too many redirects: {hops:?}");
    }

    async fn get(&mut self, url: &str) -> Vec<Hop> {
        let url = Url::parse(url).unwrap();
        self.follow(self.http.get(url.clone()), url).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Vec<Hop> {
        let url = Url::parse(url).unwrap();
        self.follow(self.http.post(url.clone()).form(form), url).await
    }
}

/// The value of `<input name="NAME" value="...">`.
fn input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap_or_default().replace("&amp;", "&")
}

/// Whether Latch says the login or consent request behind `page` (a form) is remembered.
async fn remembered(latch: &latch_tests::http::Harness, kind: &str, page: &Hop) -> bool {
    let challenge = input(&page.body, "challenge");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(&format!("{kind}_challenge"), &challenge)
        .finish();
    let request = latch.admin_get(&format!("/admin/oauth2/auth/requests/{kind}?{query}")).await;
    assert_eq!(request.status, 200, "{}", request.text);
    request.json()["skip"] == json!(true)
}

/// One run of the command (endpoint and admin API: `latch`'s) on `listener` with `extra`
/// flags, while `browser` runs; the command's result, its stdout and info, and `browser`'s.
async fn perform_with_latch<T>(
    latch: &latch_tests::http::Harness,
    listener: TcpListener,
    extra: &[&str],
    browser: impl std::future::Future<Output = T>,
) -> (Result<()>, String, String, T) {
    let port = listener.local_addr().unwrap().port();
    let (public, admin) = (latch.public.as_str(), latch.admin.as_str());
    let flags = ["--endpoint", public, "--admin-endpoint", admin, "--client-id", "auth-code-client"];
    let a = parse_v2(&[&flags[..], &["--client-secret", "secret", "--format", "json"], extra].concat());
    let (cfg, api) = configure(&a.args, &no_env, port).unwrap();
    let (mut out, mut info) = (Vec::new(), Vec::new());
    let console = Console { out: &mut out, info: &mut info };
    let (result, t) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(serve(listener, cfg, api, a.output.mode(), console), browser)
    })
    .await
    .expect("the flow finishes");
    (result, String::from_utf8(out).unwrap(), String::from_utf8(info).unwrap(), t)
}

/// Posts the login form of `page` as the demo user.
async fn log_in(browser: &mut Browser, page: &Hop) -> Vec<Hop> {
    let (csrf, challenge) = (input(&page.body, "_csrf"), input(&page.body, "challenge"));
    let form = [
        ("_csrf", csrf.as_str()),
        ("challenge", &challenge),
        ("email", "foo@bar.com"),
        ("password", "foobar"),
        ("remember", "1"),
        ("submit", "login"),
    ];
    browser.post(page.url.join("/login").unwrap().as_str(), &form).await
}

/// Posts the consent form of `page`, granting openid and offline.
async fn consent(browser: &mut Browser, page: &Hop) -> Vec<Hop> {
    let (csrf, challenge) = (input(&page.body, "_csrf"), input(&page.body, "challenge"));
    let form = [
        ("_csrf", csrf.as_str()),
        ("challenge", &challenge),
        ("grant_scope", "openid"),
        ("grant_scope", "offline"),
        ("remember", "1"),
        ("submit", "allow"),
    ];
    browser.post(page.url.join("/consent").unwrap().as_str(), &form).await
}

/// Asserts that the last hop is the page of a login or consent form on the command's server.
fn is_form<'a>(hops: &'a [Hop], path: &str, port: u16) -> &'a Hop {
    let page = hops.last().expect("an answer");
    assert_eq!((page.url.port(), page.url.path()), (Some(port), path), "{hops:?}");
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&format!("<form method=\"post\" action=\"{path}\">")), "{}", page.body);
    page
}

/// Asserts that the last hop is the callback's tokens page and the command printed tokens.
fn got_tokens(hops: &[Hop], port: u16, (result, out): (&Result<()>, &str)) {
    let page = hops.last().expect("an answer");
    assert_eq!((page.url.port(), page.url.path()), (Some(port), "/callback"), "{hops:?}");
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Tokens received") && !page.body.contains("Warning"), "{}", page.body);
    assert_eq!(result, &Ok(()));
    let token: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(token["access_token"].as_str().is_some_and(|t| !t.is_empty()), "{token}");
    assert!(token["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "{token}");
    let claims = flow::decode_jwt_claims(token["id_token"].as_str().unwrap_or_default()).expect("an ID token").claims;
    assert_eq!(claims["sub"], "foo@bar.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_accepts_remembered_login_and_consent_through_the_built_in_pages() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let pages = |path: &str| format!("http://127.0.0.1:{port}/{path}");
    let latch = latch_tests::http::Harness::start(
        "memory",
        &[("URLS_LOGIN", &pages("login")), ("URLS_CONSENT", &pages("consent"))],
    )
    .await;
    latch
        .create_client(json!({
            "client_id": "auth-code-client",
            "client_secret": "secret",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid offline",
            "redirect_uris": [pages("callback")],
        }))
        .await;
    let mut browser = Browser::new();
    let home = pages("");

    // 1. Without --skip, nothing remembered yet: both forms, both remembered when submitted.
    let (result, out, info, hops) = perform_with_latch(&latch, listener, &[], async {
        let home = browser.get(&home).await;
        let hops = browser.get(auth_link(&home[0].body).as_str()).await;
        let login = is_form(&hops, "/login", port);
        assert!(!remembered(&latch, "login", login).await);
        let hops = log_in(&mut browser, login).await;
        consent(&mut browser, is_form(&hops, "/consent", port)).await
    })
    .await;
    got_tokens(&hops, port, (&result, &out));
    assert!(
        info.contains(&format!(
            "Login and consent pages: http://127.0.0.1:{port}/login and /consent (set urls.login and urls.consent to them)\n"
        )),
        "{info}"
    );

    // 2. Without --skip, remembered: the pages still ask (as Hydra's do).
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("the port again");
    let (result, out, _, hops) = perform_with_latch(&latch, listener, &[], async {
        let home = browser.get(&home).await;
        let hops = browser.get(auth_link(&home[0].body).as_str()).await;
        let login = is_form(&hops, "/login", port);
        assert!(remembered(&latch, "login", login).await, "the login is remembered");
        assert_eq!(input(&login.body, "email"), "foo@bar.com", "the remembered user, pre-filled");
        let hops = log_in(&mut browser, login).await;
        let page = is_form(&hops, "/consent", port);
        assert!(remembered(&latch, "consent", page).await, "the consent is remembered");
        consent(&mut browser, page).await
    })
    .await;
    got_tokens(&hops, port, (&result, &out));

    // 3. With --skip: from the authorization endpoint through /login and /consent straight
    // to the callback, with no form.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("the port again");
    let (result, out, _, hops) = perform_with_latch(&latch, listener, &["--skip"], async {
        let home = browser.get(&home).await;
        browser.get(auth_link(&home[0].body).as_str()).await
    })
    .await;
    got_tokens(&hops, port, (&result, &out));
    let on_pages: Vec<(&str, StatusCode)> =
        hops.iter().filter(|h| h.url.port() == Some(port)).map(|h| (h.url.path(), h.status)).collect();
    assert_eq!(
        on_pages,
        [("/login", StatusCode::SEE_OTHER), ("/consent", StatusCode::SEE_OTHER), ("/callback", StatusCode::OK)],
        "{hops:?}"
    );
    assert!(hops.iter().all(|h| !h.body.contains("<form")), "{hops:?}");
}
