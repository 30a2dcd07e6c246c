//! JSON Web Key commands against the admin API (`/admin/keys/{set}`).
//!
//! * v1: `keys create|get|delete|import`, printing JSON ([`Mode::V1`]).
//! * v2: `create|get|delete|import jwk`, printing by `--format`.
//!
//! Both styles take the same flags and run the same code.
//!
//! `create` asks the server to generate a key (`POST /admin/keys/{set}` with
//! `{"alg","use","kid"}`) and add it to the set; the private key never leaves the server
//! unless the server returns it, and `--public` strips private members before printing.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use crate::args::{ConnectionArgs, Formatted};
use crate::endpoint::{ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::Api;
use crate::output::{self, emit, Done, Mode};

/// `latch keys ...` (Hydra v1).
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Generate a key and add it to a set; prints the set as JSON.
    Create(CreateJwkArgs),
    /// Print a key set as JSON.
    Get(KeySetArgs),
    /// Delete a key set, or one key of it.
    Delete(KeyDeleteArgs),
    /// Import private keys into a set from JSON files (a JWK or a JWK set each); prints
    /// JSON (`--format` is accepted and, as ever, ignored).
    Import(Formatted<ImportJwkArgs>),
}

/// Key generation parameters shared by v1 and v2.
#[derive(Debug, Clone, Args)]
pub struct KeyGenArgs {
    /// Signing algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or
    /// EdDSA.
    #[arg(short = 'a', long, default_value = "RS256", value_name = "ALG")]
    pub alg: String,

    /// What the key is for: sig or enc.
    #[arg(short = 'u', long = "use", default_value = "sig", value_name = "USE")]
    pub key_use: String,
}

/// Arguments of `latch create jwk <set> [<kid>]` (v2) and `latch keys create` (v1).
#[derive(Debug, Clone, Args)]
pub struct CreateJwkArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub key: KeyGenArgs,

    /// The key set to add the key to.
    pub set: String,

    /// Key ID; the server picks one when absent.
    #[arg(value_name = "KID", conflicts_with = "kid")]
    pub kid_arg: Option<String>,

    /// Key ID (same as the second argument).
    #[arg(long)]
    pub kid: Option<String>,

    /// Print only the public part of the keys.
    #[arg(long)]
    pub public: bool,
}

impl CreateJwkArgs {
    /// The key ID, from the argument or `--kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid_arg.as_deref().or(self.kid.as_deref())
    }
}

/// Arguments of `latch get jwk <set>` (v2) and `latch keys get <set>` (v1).
#[derive(Debug, Clone, Args)]
pub struct KeySetArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// The key sets (Hydra v2's `get jwk <set-1> [<set-2> ...]`: their keys in one set).
    #[arg(required = true, value_name = "SET")]
    pub sets: Vec<String>,

    /// Print only the public part of the keys.
    #[arg(long)]
    pub public: bool,
}

/// Arguments of `latch delete jwk <set-1> [<set-2> ...]` (v2): whole sets, as Hydra's.
#[derive(Debug, Clone, Args)]
pub struct KeySetsDeleteArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// The key sets to delete.
    #[arg(required = true, value_name = "SET")]
    pub sets: Vec<String>,
}

/// Arguments of `latch keys delete <set> [<kid>]` (v1).
#[derive(Debug, Clone, Args)]
pub struct KeyDeleteArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// The key set.
    pub set: String,

    /// Delete only this key of the set.
    pub kid: Option<String>,
}

/// Arguments of `latch import jwk <set> <file>...` (Hydra v2) and `latch keys import`
/// (v1): each file holds a private JWK or a JWK set (`-` reads standard input).
#[derive(Debug, Clone, Args)]
pub struct ImportJwkArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// The key set to import into.
    pub set: String,

    /// Files, each a JWK or a `{"keys": [...]}` set (JSON), or a private key in PEM or
    /// DER (PKCS#8, PKCS#1, SEC1); `-` is standard input. A JWK's `x5c` is kept, and so
    /// are certificates after a PEM key (leaf first): they become its `x5c`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,

    /// The algorithm of PEM and DER keys (default: the key type's: RS256, ES256, ES384,
    /// ES512 or EdDSA).
    #[arg(long, value_name = "ALG")]
    pub alg: Option<String>,

    /// The use of PEM and DER keys: `sig` (a key set holds signing keys).
    #[arg(long = "use", value_name = "USE", default_value = "sig")]
    pub use_: String,

    /// Print only the public part of the keys.
    #[arg(long)]
    pub public: bool,
}

/// The keys of one imported document: a JWK set's `keys`, or the JWK itself.
pub fn keys_of(doc: Value) -> Vec<Value> {
    match doc {
        Value::Object(mut o) if o.contains_key("keys") => match o.remove("keys") {
            Some(Value::Array(keys)) => keys,
            _ => Vec::new(),
        },
        other => vec![other],
    }
}

/// Body of `POST /admin/keys/{set}`. An empty `kid` lets the server choose one, as Hydra's
/// own CLI sends it.
pub fn key_request_body(key: &KeyGenArgs, kid: Option<&str>) -> Value {
    json!({
        "alg": key.alg,
        "use": key.key_use,
        "kid": kid.unwrap_or(""),
    })
}

/// Private JWK members (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Removes private members from every key of a `{"keys": [...]}` set.
pub fn strip_private(jwks: &mut Value) {
    if let Some(keys) = jwks.get_mut("keys").and_then(Value::as_array_mut) {
        for key in keys.iter_mut().filter_map(Value::as_object_mut) {
            for member in PRIVATE_MEMBERS {
                key.remove(member);
            }
        }
    }
}

/// The raw set, or its public part re-serialised when `public` is set.
fn maybe_public(raw: String, public: bool) -> Result<String> {
    if !public {
        return Ok(raw);
    }
    let mut jwks: Value =
        serde_json::from_str(&raw).map_err(|e| CliError::BadResponse(format!("invalid JSON Web Key Set: {e}")))?;
    strip_private(&mut jwks);
    Ok(jwks.to_string())
}

async fn create_key(api: &Api, set: &str, key: &KeyGenArgs, kid: Option<&str>) -> Result<String> {
    let url = api.url(&["admin", "keys", set])?;
    let req = api.request(Method::POST, url).json(&key_request_body(key, kid));
    Ok(api.send(req).await?.body)
}

async fn get_set(api: &Api, set: &str) -> Result<String> {
    let url = api.url(&["admin", "keys", set])?;
    Ok(api.send(api.request(Method::GET, url)).await?.body)
}

/// Imports each key with `PUT /admin/keys/{set}/{kid}`: it joins the set (or replaces
/// the key with its kid) and the set's other keys stay, as Hydra's `import jwk` adds.
/// The last key imported is the newest, so it signs. Returns the set as imported.
async fn import_keys(api: &Api, args: &ImportJwkArgs) -> Result<String> {
    let (set, files) = (&args.set, &args.files);
    let alg = match args.alg.as_deref() {
        None => None,
        Some(a) => Some(latch_core::keys::Alg::parse(a).ok_or_else(|| {
            CliError::Usage(format!("--alg: '{a}' is not one of {}", latch_core::keys::Alg::names()))
        })?),
    };
    if args.use_ != "sig" {
        return Err(CliError::Usage(format!("--use: '{}': a key set holds signing keys ('sig')", args.use_)));
    }
    let mut keys = Vec::new();
    for file in files {
        let bytes = if file.as_os_str() == "-" {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map(|_| b)
        } else {
            std::fs::read(file)
        }
        .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
        let doc = match serde_json::from_slice::<Value>(&bytes) {
            Ok(doc) => doc,
            // Not JSON: a PEM or DER private key, under a new kid.
            Err(_) => {
                let kid = new_kid();
                let key = latch_core::keys::SigningKey::from_private_key(&bytes, alg, &kid)
                    .map_err(|e| CliError::Usage(format!("{}: {}", file.display(), e.hint.unwrap_or_default())))?;
                key.private_jwk()
            }
        };
        let found = keys_of(doc);
        if found.is_empty() {
            return Err(CliError::Usage(format!("{}: no JSON Web Key in it", file.display())));
        }
        keys.extend(found);
    }
    let mut stored = Vec::new();
    for key in &keys {
        let kid = key
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| CliError::Usage("every imported JSON Web Key needs a 'kid'".into()))?;
        let url = api.url(&["admin", "keys", set, kid])?;
        let body = api.send(api.request(Method::PUT, url).json(key)).await?.body;
        stored.push(
            serde_json::from_str::<Value>(&body)
                .map_err(|e| CliError::BadResponse(format!("invalid JSON Web Key: {e}")))?,
        );
    }
    Ok(json!({ "keys": stored }).to_string())
}

/// A random key id for a key imported from PEM or DER (which carries none): a UUID v4.
fn new_kid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex_of(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn delete_keys(api: &Api, set: &str, kid: Option<&str>) -> Result<()> {
    let url = match kid {
        Some(kid) => api.url(&["admin", "keys", set, kid])?,
        None => api.url(&["admin", "keys", set])?,
    };
    api.send(api.request(Method::DELETE, url)).await.map(drop)
}

/// Runs `latch keys ...` (v1).
pub async fn run_v1(cmd: KeysCmd, env: Env<'_>) -> Result<()> {
    match cmd {
        KeysCmd::Create(args) => create(args, Mode::V1, env).await,
        KeysCmd::Get(args) => get(args, Mode::V1, env).await,
        KeysCmd::Delete(args) => delete(args, Mode::V1, env).await,
        KeysCmd::Import(args) => import(args.args, Mode::V1, env).await,
    }
}

/// `latch create jwk` (v2) and `latch keys create` (v1).
pub async fn create(args: CreateJwkArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let body = create_key(&api, &args.set, &args.key, args.kid()).await?;
    let body = maybe_public(body, args.public)?;
    emit(&output::render_jwks(mode, &args.set, &body)?)
}

/// `latch get jwk` (v2) and `latch keys get` (v1): one set as the API answers it, or
/// the keys of several in one `{"keys": [...]}`, as Hydra v2 prints them.
pub async fn get(args: KeySetArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut sets = Vec::new();
    for set in &args.sets {
        sets.push((set.as_str(), maybe_public(get_set(&api, set).await?, args.public)?));
    }
    if let [(set, body)] = sets.as_slice() {
        return emit(&output::render_jwks(mode, set, body)?);
    }
    emit(&output::render_jwk_sets(mode, &sets)?)
}

/// `latch import jwk` (v2) and `latch keys import` (v1): prints the imported keys as `get
/// jwk` prints a set.
pub async fn import(args: ImportJwkArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let body = maybe_public(import_keys(&api, &args).await?, args.public)?;
    emit(&output::render_jwks(mode, &args.set, &body)?)
}

/// `latch delete jwk <set>...` (v2): deletes each set, printing its ID.
pub async fn delete_sets(args: KeySetsDeleteArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    for set in &args.sets {
        delete_keys(&api, set, None).await?;
    }
    emit(&output::render_ids(mode, Done::SetDeleted, &args.sets))
}

/// `latch keys delete` (v1): prints the set (or key) ID.
pub async fn delete(args: KeyDeleteArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    delete_keys(&api, &args.set, args.kid.as_deref()).await?;
    let done = match args.kid {
        Some(_) => Done::KeyDeleted { set: &args.set },
        None => Done::SetDeleted,
    };
    let id = args.kid.clone().unwrap_or_else(|| args.set.clone());
    emit(&output::render_ids(mode, done, &[id]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Cli, Command, CreateCmd, DeleteCmd, GetCmd, ImportCmd};
    use clap::Parser;

    #[test]
    fn v1_keys_create() {
        let Command::Keys(KeysCmd::Create(a)) =
            parse(&["latch", "keys", "create", "my-set", "-a", "ES256", "-u", "sig", "--kid", "k1"])
        else {
            panic!("wrong command")
        };
        assert_eq!(a.set, "my-set");
        assert_eq!(key_request_body(&a.key, a.kid()), json!({"alg": "ES256", "use": "sig", "kid": "k1"}));
        assert!(Cli::try_parse_from(["latch", "keys", "create", "s", "k", "--kid", "k"]).is_err());
    }

    #[test]
    fn v1_keys_defaults_and_positional_kid() {
        let Command::Keys(KeysCmd::Create(a)) = parse(&["latch", "keys", "create", "s", "k2"]) else {
            panic!("wrong command")
        };
        assert_eq!(key_request_body(&a.key, a.kid()), json!({"alg": "RS256", "use": "sig", "kid": "k2"}));
        assert!(matches!(parse(&["latch", "keys", "get", "s"]), Command::Keys(KeysCmd::Get(_))));
        let Command::Keys(KeysCmd::Delete(a)) = parse(&["latch", "keys", "delete", "s", "k"]) else {
            panic!("wrong command")
        };
        assert_eq!(a.kid.as_deref(), Some("k"));
    }

    #[test]
    fn v2_jwk_commands() {
        let Command::Create(CreateCmd::Jwk(a)) =
            parse(&["latch", "create", "jwk", "s", "k", "--alg", "EdDSA", "--use", "sig", "--public"])
        else {
            panic!("wrong command")
        };
        assert!(a.args.public);
        assert_eq!(key_request_body(&a.args.key, a.args.kid()), json!({"alg": "EdDSA", "use": "sig", "kid": "k"}));
        let Command::Create(CreateCmd::Jwk(a)) = parse(&["latch", "create", "jwks", "s"]) else {
            panic!("wrong command")
        };
        assert_eq!(key_request_body(&a.args.key, a.args.kid()), json!({"alg": "RS256", "use": "sig", "kid": ""}));
        assert!(matches!(parse(&["latch", "get", "jwk", "s", "--format", "json"]), Command::Get(GetCmd::Jwk(_))));
        assert!(matches!(parse(&["latch", "delete", "jwk", "s"]), Command::Delete(DeleteCmd::Jwk(_))));
        // Several sets, as Hydra v2: `delete jwk a b` deletes sets a and b (not key b of a).
        let Command::Delete(DeleteCmd::Jwk(a)) = parse(&["latch", "delete", "jwk", "a", "b"]) else {
            panic!("wrong command")
        };
        assert_eq!(a.args.sets, ["a", "b"]);
        let Command::Get(GetCmd::Jwk(a)) = parse(&["latch", "get", "jwk", "a", "b"]) else { panic!("wrong command") };
        assert_eq!(a.args.sets, ["a", "b"]);
        assert!(Cli::try_parse_from(["latch", "get", "jwk"]).is_err(), "a set is required");
    }

    #[test]
    fn import_parses_files_and_sets() {
        let Command::Import(ImportCmd::Jwk(a)) = parse(&["latch", "import", "jwk", "s", "a.json", "-"]) else {
            panic!("wrong command")
        };
        assert_eq!((a.args.set.as_str(), a.args.files.len()), ("s", 2));
        assert!(matches!(parse(&["latch", "keys", "import", "s", "a.json"]), Command::Keys(KeysCmd::Import(_))));
        assert!(Cli::try_parse_from(["latch", "import", "jwk", "s"]).is_err(), "a file is required");
        assert_eq!(keys_of(json!({"keys": [{"kid": "a"}, {"kid": "b"}]})).len(), 2);
        assert_eq!(keys_of(json!({"kid": "a", "kty": "OKP"})), [json!({"kid": "a", "kty": "OKP"})]);
        assert!(keys_of(json!({"keys": "nope"})).is_empty());
    }

    #[test]
    fn public_strips_private_members() {
        let raw = r#"{"keys":[{"kty":"RSA","kid":"k","n":"N","e":"AQAB","d":"D","p":"P","q":"Q","dp":"1","dq":"2","qi":"3"},{"kty":"oct","k":"K","kid":"h"}]}"#;
        let out: Value = serde_json::from_str(&maybe_public(raw.into(), true).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"keys": [{"kty": "RSA", "kid": "k", "n": "N", "e": "AQAB"}, {"kty": "oct", "kid": "h"}]})
        );
        assert_eq!(maybe_public(raw.into(), false).unwrap(), raw);
        assert!(maybe_public("nope".into(), true).is_err());
    }
}
