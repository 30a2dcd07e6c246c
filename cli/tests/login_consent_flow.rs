//! The second half of Hydra's 5-minute tutorial with the real binaries: `latch serve all
//! --dev` sends users to `latch example login-consent`, and `latch perform
//! authorization-code` is the client. A scripted browser (reqwest, one cookie jar, redirects
//! followed by hand) clicks through: authorize link, login form, consent form, callback.
//! Then a second round shows the remembered login and consent being skipped.

use std::collections::HashMap;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use latch_tests::process::{free_port, Proc};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

const LATCH: &str = env!("CARGO_BIN_EXE_latch");

fn latch(args: &[&str]) -> Command {
    let mut cmd = Command::new(LATCH);
    cmd.args(args).env_remove("LATCH_ADMIN_URL").env_remove("LATCH_URL").env_remove("ORY_SDK_URL");
    cmd
}

async fn wait_until_up(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(url).await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A browser for 127.0.0.1: every service runs there, and cookies ignore ports.
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, jar: HashMap::new() }
    }

    /// Sends one request with the jar, stores cookies; returns status, Location and body.
    async fn send(&mut self, req: reqwest::RequestBuilder) -> (StatusCode, Option<String>, String) {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let res = req.header(COOKIE, cookies.join("; ")).send().await.expect("an answer");
        for set in res.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            let expired = set.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            if expired {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
        (res.status(), location, res.text().await.unwrap())
    }

    /// Sends a request and follows redirects; returns the final URL, status and body.
    async fn follow(&mut self, first: reqwest::RequestBuilder, mut url: String) -> (String, StatusCode, String) {
        let (mut status, mut location, mut body) = self.send(first).await;
        for _ in 0..10 {
            let Some(to) = location.take() else { return (url, status, body) };
            url = reqwest::Url::parse(&url).unwrap().join(&to).unwrap().to_string();
            (status, location, body) = self.send(self.http.get(&url)).await;
        }
        panic!("too many redirects, at {url}");
    }

    async fn get(&mut self, url: &str) -> (String, StatusCode, String) {
        self.follow(self.http.get(url), url.to_owned()).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (String, StatusCode, String) {
        self.follow(self.http.post(url).form(form), url.to_owned()).await
    }
}

/// The value of `<input name="NAME" value="...">`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().replace("&amp;", "&")
}

fn authorize_link(home: &str) -> String {
    let marker = "id=\"authorize\" href=\"";
    let start = home.find(marker).expect("an authorize link") + marker.len();
    home[start..].split('"').next().unwrap().replace("&amp;", "&")
}

/// Runs `perform authorization-code` on `port` and clicks through; returns the command's
/// stdout and the URLs the browser passed through.
async fn round(
    browser: &mut Browser,
    public: &str,
    port: u16,
    login_and_consent: bool,
    response_mode: Option<&str>,
) -> (Value, Vec<String>) {
    let port_s = port.to_string();
    let mut args = vec![
        "perform",
        "authorization-code",
        "--endpoint",
        public,
        "--client-id",
        "auth-code-client",
        "--client-secret",
        "secret",
        "--port",
        &port_s,
        "--scope",
        "openid,offline,email",
        "--format",
        "json",
    ];
    if let Some(mode) = response_mode {
        args.extend(["--response-mode", mode]);
    }
    let mut client = Proc(latch(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("starts"));
    let home_url = format!("http://127.0.0.1:{port}/");
    wait_until_up(&home_url).await;
    let mut seen = Vec::new();

    let (_, _, home) = browser.get(&home_url).await;
    let (mut url, mut status, mut page) = browser.get(&authorize_link(&home)).await;
    seen.push(url.clone());
    if login_and_consent {
        assert!(url.contains("/login?login_challenge="), "{url}");
        let form = [
            ("_csrf", field(&page, "_csrf")),
            ("challenge", field(&page, "challenge")),
            ("email", "foo@bar.com".into()),
            ("password", "foobar".into()),
            ("remember", "1".into()),
            ("submit", "login".into()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let login_post = url.split("/login").next().unwrap().to_owned() + "/login";
        let login_status;
        (url, login_status, page) = browser.post(&login_post, &form).await;
        seen.push(url.clone());
        assert_eq!(login_status, StatusCode::OK, "{page}");
        assert!(url.contains("/consent?consent_challenge="), "{url}: {page}");
        let form = [
            ("_csrf", field(&page, "_csrf")),
            ("challenge", field(&page, "challenge")),
            ("grant_scope", "openid".into()),
            ("grant_scope", "offline".into()),
            ("grant_scope", "email".into()),
            ("remember", "1".into()),
            ("submit", "allow".into()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let consent_post = url.split("/consent").next().unwrap().to_owned() + "/consent";
        (url, status, page) = browser.post(&consent_post, &form).await;
        seen.push(url.clone());
    }
    if response_mode == Some("form_post") {
        // OAuth 2.0 Form Post Response Mode: a page that POSTs the code to the callback.
        assert!(page.contains("<form method=\"post\""), "{url}: {page}");
        let action = page.split("action=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        assert_eq!(action, format!("{home_url}callback"));
        let form = [("code", field(&page, "code")), ("state", field(&page, "state"))];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        (url, status, page) = browser.post(&action, &form).await;
        seen.push(url.clone());
        assert_eq!(url, format!("{home_url}callback"));
    } else {
        assert!(url.starts_with(&format!("{home_url}callback?code=")), "{url}");
    }
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Tokens received") && !page.contains("Warning"), "{page}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = client.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "perform authorization-code did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let mut out = String::new();
    client.0.stdout.take().expect("stdout").read_to_string(&mut out).unwrap();
    (serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}")), seen)
}

fn claims(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `latch serve all --dev` on memory, pointed at `latch example login-consent` (login,
/// consent, logout and device pages), with `env` added; both up.
struct Stack {
    public: String,
    admin: String,
    ui: u16,
    _procs: [Proc; 2],
}

impl Stack {
    async fn start(env: &[(&str, &str)]) -> Stack {
        let (p, a, ui) = (free_port(), free_port(), free_port());
        let (public, admin) = (format!("http://127.0.0.1:{p}/"), format!("http://127.0.0.1:{a}/"));
        let ui_url = |path: &str| format!("http://127.0.0.1:{ui}/{path}");
        let mut serve = latch(&["serve", "all", "--dev", "--dsn", "memory"]);
        serve
            .env("SERVE_PUBLIC_PORT", p.to_string())
            .env("SERVE_ADMIN_PORT", a.to_string())
            .env("URLS_LOGIN", ui_url("login"))
            .env("URLS_CONSENT", ui_url("consent"))
            .env("URLS_LOGOUT", ui_url("logout"))
            .env("URLS_DEVICE_VERIFICATION", ui_url("device"))
            .env("URLS_DEVICE_SUCCESS", ui_url("device/done"))
            .env("LOG_LEVEL", "warn")
            .env("OAUTH2_HASHERS_PBKDF2_ITERATIONS", "1000")
            .envs(env.iter().copied())
            .stdout(Stdio::null());
        let server = Proc(serve.spawn().expect("latch serve starts"));
        let app = Proc(
            latch(&["example", "login-consent", "--port", &ui.to_string()])
                .env("HYDRA_ADMIN_URL", &admin)
                .stdout(Stdio::null())
                .spawn()
                .expect("the example app starts"),
        );
        wait_until_up(&format!("{admin}health/ready")).await;
        wait_until_up(&ui_url("")).await;
        Stack { public, admin, ui, _procs: [server, app] }
    }

    fn ui_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.ui)
    }
}

#[tokio::test]
async fn authorization_code_flow_through_the_example_app() {
    let stack = Stack::start(&[]).await;
    let (public, admin) = (stack.public.clone(), stack.admin.clone());

    // The tutorial's client, with our callback port.
    let cb = free_port();
    let callback = format!("http://127.0.0.1:{cb}/callback");
    let created = latch(&[
        "create",
        "client",
        "--endpoint",
        &admin,
        "--id",
        "auth-code-client",
        "--secret",
        "secret",
        "--grant-type",
        "authorization_code,refresh_token",
        "--response-type",
        "code,id_token",
        "--scope",
        "openid,offline,email",
        "--redirect-uri",
        &callback,
    ])
    .output()
    .expect("runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let mut browser = Browser::new();
    let (token, seen) = round(&mut browser, &public, cb, true, None).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    let access = token["access_token"].as_str().expect("an access token");
    assert!(token["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "{token}");
    let id = claims(token["id_token"].as_str().expect("an ID token"));
    assert_eq!(id["sub"], "foo@bar.com");
    assert_eq!(id["email"], "foo@bar.com", "the consent app's session claims: {id}");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["acr"], "0");

    // The token is what the consent granted.
    let out = latch(&["introspect", "token", "--endpoint", &admin, "--format", "json", access]).output().unwrap();
    let introspection: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["sub"], "foo@bar.com");
    assert_eq!(introspection["scope"], "openid offline email");

    // Second round in the same browser: login and consent were remembered, so the browser
    // goes straight from the authorization endpoint back to the callback.
    let (token, seen) = round(&mut browser, &public, cb, false, None).await;
    assert!(seen.iter().all(|u| !u.contains("/login") && !u.contains("/consent")), "{seen:?}");
    assert_eq!(claims(token["id_token"].as_str().expect("an ID token"))["sub"], "foo@bar.com");

    // Hydra's `--response-mode form_post`: the code arrives in a POSTed form.
    let (token, _) = round(&mut browser, &public, cb, false, Some("form_post")).await;
    assert_eq!(claims(token["id_token"].as_str().expect("an ID token"))["sub"], "foo@bar.com");
}

/// RFC 8628 with the real binaries: `latch perform device-code` is the device, the example
/// app's `/device` page takes the user code, then its login and consent pages; the command
/// prints the tokens.
#[tokio::test]
async fn device_flow_through_the_example_app() {
    use std::io::BufRead as _;
    let stack = Stack::start(&[("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL", "1s")]).await;
    let (public, admin) = (stack.public.clone(), stack.admin.clone());
    let ui_url = |path: &str| stack.ui_url(path);
    let created = latch(&[
        "create",
        "client",
        "--endpoint",
        &admin,
        "--id",
        "tv",
        "--grant-type",
        "urn:ietf:params:oauth:grant-type:device_code,refresh_token",
        "--token-endpoint-auth-method",
        "none",
        "--scope",
        "openid,offline",
    ])
    .output()
    .expect("runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let mut device = Proc(
        latch(&["perform", "device-code", "--endpoint", &public, "--client-id", "tv", "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts"),
    );
    // Hydra's instructions on stderr: "To login please go to:", then the URL.
    let stderr = device.0.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let go_to = loop {
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no instructions: {lines:?}"));
        if lines.last().is_some_and(|l: &String| l == "To login please go to:") {
            break line.trim().to_owned();
        }
        lines.push(line);
    };
    assert!(go_to.starts_with(&format!("{public}oauth2/device/verify?user_code=")), "{go_to}");

    let mut browser = Browser::new();
    let (url, status, page) = browser.get(&go_to).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(url.starts_with(&ui_url("device?device_challenge=")), "{url}");
    let code = field(&page, "user_code");
    assert!(go_to.ends_with(&code), "the page has the device's code pre-filled");
    let form = [("_csrf", field(&page, "_csrf")), ("challenge", field(&page, "challenge")), ("user_code", code)];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (url, _, page) = browser.post(&ui_url("device"), &form).await;
    assert!(url.contains("/login?login_challenge="), "{url}: {page}");
    let form = [
        ("_csrf", field(&page, "_csrf")),
        ("challenge", field(&page, "challenge")),
        ("email", "foo@bar.com".into()),
        ("password", "foobar".into()),
        ("submit", "login".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (url, _, page) = browser.post(&ui_url("login"), &form).await;
    assert!(url.contains("/consent?consent_challenge="), "{url}: {page}");
    let form = [
        ("_csrf", field(&page, "_csrf")),
        ("challenge", field(&page, "challenge")),
        ("grant_scope", "openid".into()),
        ("grant_scope", "offline".into()),
        ("submit", "allow".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (url, status, page) = browser.post(&ui_url("consent"), &form).await;
    assert_eq!((url.as_str(), status), (ui_url("device/done?client_id=tv").as_str(), StatusCode::OK), "{page}");
    assert!(page.contains("Your device is signed in"), "{page}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = device.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "perform device-code did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let mut out = String::new();
    device.0.stdout.take().expect("stdout").read_to_string(&mut out).unwrap();
    let token: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert!(token["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "{token}");
    assert_eq!(claims(token["id_token"].as_str().expect("an ID token"))["sub"], "foo@bar.com");
    assert!(rx.recv_timeout(Duration::from_secs(5)).is_ok_and(|l| l == "Successfully signed in!"));
}
