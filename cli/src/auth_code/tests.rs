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
        Ok(Cli { command: Command::Perform(PerformCmd::AuthorizationCode(a)) }) => a,
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
