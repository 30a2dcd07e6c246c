//! The JWT-bearer grant's trust relationships (`/admin/trust/grants/jwt-bearer/issuers`):
//! `latch create|get|list|delete jwt-bearer-trust`. Hydra's CLI has no verbs for them
//! (its users call the admin API); these follow the v2 commands' flags and `--format`.

use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};

use crate::args::ConnectionArgs;
use crate::endpoint::{ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::Api;
use crate::output::{self, emit, Mode};

const PATH: [&str; 5] = ["admin", "trust", "grants", "jwt-bearer", "issuers"];

/// The columns of a trust relationship.
const HEADER: [&str; 6] = ["ID", "ISSUER", "SUBJECT", "SCOPE", "KEY ID", "EXPIRES AT"];

/// Arguments of `latch create jwt-bearer-trust`.
#[derive(Debug, Clone, Args)]
pub struct CreateTrustArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// The issuer (`iss`) whose JWTs are trusted.
    #[arg(long)]
    pub issuer: String,
    /// The subject (`sub`) the issuer may assert; or --allow-any-subject.
    #[arg(long, required_unless_present = "allow_any_subject", conflicts_with = "allow_any_subject")]
    pub subject: Option<String>,
    /// The issuer may assert any subject.
    #[arg(long)]
    pub allow_any_subject: bool,
    /// A scope its JWTs may be granted; repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub scope: Vec<String>,
    /// A file holding the issuer's public JWK (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub jwk: String,
    /// Until when (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub expires_at: String,
}

/// Arguments of `latch get|delete jwt-bearer-trust <id>...`.
#[derive(Debug, Clone, Args)]
pub struct TrustIdsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// The relationships' ids.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// Arguments of `latch list jwt-bearer-trusts`.
#[derive(Debug, Clone, Args)]
pub struct ListTrustsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Only the relationships of this issuer.
    #[arg(long)]
    pub issuer: Option<String>,
}

fn columns(t: &Value) -> Vec<String> {
    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let subject = if t["allow_any_subject"].as_bool() == Some(true) { "*".to_string() } else { s("subject") };
    let scope = t["scope"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "));
    let kid = t["public_key"]["kid"].as_str().unwrap_or_default().to_string();
    vec![s("id"), s("issuer"), subject, scope.unwrap_or_default(), kid, s("expires_at")]
}

fn parsed(raw: &str) -> Result<Value> {
    serde_json::from_str(raw).map_err(|e| CliError::BadResponse(format!("invalid JSON: {e}")))
}

fn read_jwk(path: &str) -> Result<Value> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| CliError::Usage(format!("--jwk -: {e}")))?
    } else {
        std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("--jwk {path}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("--jwk {path}: not JSON: {e}")))
}

/// `latch create jwt-bearer-trust`: prints the relationship.
pub async fn create(args: CreateTrustArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut body = json!({
        "issuer": args.issuer,
        "scope": args.scope,
        "jwk": read_jwk(&args.jwk)?,
        "expires_at": args.expires_at,
    });
    match &args.subject {
        Some(s) => body["subject"] = json!(s),
        None => body["allow_any_subject"] = json!(true),
    }
    let reply = api.send(api.request(Method::POST, api.url(&PATH)?).json(&body)).await?;
    emit(&output::render_row(mode, &reply.body, &HEADER, &columns(&parsed(&reply.body)?))?)
}

fn url_of(api: &Api, id: &str) -> Result<reqwest::Url> {
    let mut segments = PATH.to_vec();
    segments.push(id);
    api.url(&segments)
}

/// `latch get jwt-bearer-trust <id>...`.
pub async fn get(args: TrustIdsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut found = Vec::new();
    for id in &args.ids {
        found.push(parsed(&api.send(api.request(Method::GET, url_of(&api, id)?)).await?.body)?);
    }
    let raw = match found.as_slice() {
        [one] => one.to_string(),
        many => Value::from(many.to_vec()).to_string(),
    };
    if let [one] = found.as_slice() {
        return emit(&output::render_row(mode, &raw, &HEADER, &columns(one))?);
    }
    emit(&output::render_rows(mode, &raw, &HEADER, &found.iter().map(columns).collect::<Vec<_>>())?)
}

/// `latch list jwt-bearer-trusts`: every page.
pub async fn list(args: ListTrustsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = api.url(&PATH)?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(i) = &args.issuer {
                q.append_pair("issuer", i);
            }
            if let Some(t) = &token {
                q.append_pair("page_token", t);
            }
        }
        let reply = api.send(api.request(Method::GET, url)).await?;
        match parsed(&reply.body)? {
            Value::Array(page) => all.extend(page),
            _ => return Err(CliError::BadResponse("expected a JSON array of trust relationships".into())),
        }
        match crate::http::next_page_token(&reply.links) {
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            _ => break,
        }
    }
    let raw = Value::from(all.clone()).to_string();
    emit(&output::render_rows(mode, &raw, &HEADER, &all.iter().map(columns).collect::<Vec<_>>())?)
}

/// `latch delete jwt-bearer-trust <id>...`: prints the deleted ids.
pub async fn delete(args: TrustIdsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    for id in &args.ids {
        api.send(api.request(Method::DELETE, url_of(&api, id)?)).await?;
    }
    emit(&output::render_ids(mode, output::Done::TrustDeleted, &args.ids))
}
