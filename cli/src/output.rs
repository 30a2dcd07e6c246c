//! Everything the commands print, as pure functions from server JSON to text.
//!
//! Each renderer takes a [`Mode`]:
//! * v2 commands print by `--format`: `table` (the default) lays key/value rows or a table out
//!   the way Hydra's CLI does (Go's `text/tabwriter` with tab padding, see [`tabwrite`]),
//!   `json` / `json-pretty` print the server's JSON, and `-q` prints the first column (the ID);
//! * v1 commands print in [`Mode::V1`]: Hydra v1's fixed lines (`OAuth 2.0 Client ID: ...`)
//!   where it printed them, pretty JSON elsewhere.
//!
//! Clients are read through core's [`Client`], the type the server writes them from.
//!
//! JSON is re-indented from the raw text ([`format_json`]) rather than re-serialised, so
//! fields keep the order the server sent them in.

use std::io::Write as _;

use chrono::{DateTime, SecondsFormat};
use latch_core::client::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{CliError, Result};

/// Placeholder for empty cells in v2 tables.
pub const EMPTY: &str = "<empty>";

/// Output format of the v2 commands (`--format`, Hydra's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Human-readable rows (`table`, or Hydra's `default`).
    #[default]
    Table,
    /// The server's JSON on one line.
    Json,
    /// The server's JSON, indented.
    JsonPretty,
    /// The server's JSON as YAML.
    Yaml,
    /// `jsonpath=<path>`: the value at a GJSON path (Hydra's syntax), indented JSON.
    JsonPath(&'static str),
    /// `jsonpointer=<pointer>`: the value at an RFC 6901 JSON pointer, indented JSON.
    JsonPointer(&'static str),
    /// Hydra v1's output (the `clients`, `token` and `keys` commands): its fixed lines where
    /// it printed them, the JSON indented elsewhere. Not a `--format` value.
    V1,
}

/// The `--format` values, for help and errors.
pub const FORMATS: &str = "table (or default), json, json-pretty, yaml, jsonpath=<path>, jsonpointer=<pointer>";

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Format, String> {
        // The expression lives as long as the process: leaked once, from one flag, so
        // `Format` (and the `Mode` every command passes around) stays `Copy`.
        let leak = |e: &str| -> &'static str { Box::leak(e.to_owned().into_boxed_str()) };
        Ok(match s {
            "table" | "default" => Format::Table,
            "json" => Format::Json,
            "json-pretty" => Format::JsonPretty,
            "yaml" => Format::Yaml,
            _ => match s.split_once('=') {
                Some(("jsonpath", path)) if !path.is_empty() => Format::JsonPath(leak(path)),
                Some(("jsonpointer", ptr)) if ptr.is_empty() || ptr.starts_with('/') => Format::JsonPointer(leak(ptr)),
                _ if s.starts_with("jsonpath") => {
                    return Err("jsonpath needs a path, e.g. --format jsonpath=client_id (GJSON syntax)".into())
                }
                _ if s.starts_with("jsonpointer") => {
                    return Err(
                        "jsonpointer needs a JSON pointer, e.g. --format jsonpointer=/client_id (RFC 6901)".into()
                    )
                }
                _ => return Err(format!("unknown format '{s}': one of {FORMATS}")),
            },
        })
    }
}

/// How a command prints: v2's `--format` plus `-q`, or [`Mode::V1`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode {
    /// `--format`.
    pub format: Format,
    /// `-q`: print only the ID column; overrides the format.
    pub quiet: bool,
}

impl Mode {
    /// How the Hydra v1 commands print.
    pub const V1: Mode = Mode { format: Format::V1, quiet: false };
    /// `--format json-pretty`.
    pub const JSON_PRETTY: Mode = Mode { format: Format::JsonPretty, quiet: false };
}

/// Writes to stdout. A closed pipe (`latch ... | head -1`) is not an error.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Io(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Writes a warning line to stderr; failures to do so are ignored (there is nowhere left to
/// report them).
pub fn warn(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

// ------------------------------------------------------------------------------------------
// Layout

/// Lays out tab-terminated cells like Go's `tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)`, which
/// Hydra's CLI uses for its tables: each column is as wide as its widest cell plus one,
/// rounded up to a multiple of 8, and cells are padded to it with tabs. Every cell, including
/// the last of each line, is followed by its padding; each line ends with `\n`.
pub fn tabwrite(lines: &[Vec<String>]) -> String {
    const TAB_WIDTH: usize = 8;
    let width = |s: &str| s.chars().count();
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let w = lines.iter().filter_map(|l| l.get(c)).map(|cell| width(cell) + 1).max().unwrap_or(0);
            w.div_ceil(TAB_WIDTH) * TAB_WIDTH
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        for (cell, &col) in line.iter().zip(&widths) {
            out.push_str(cell);
            let pad = col.saturating_sub(width(cell)).div_ceil(TAB_WIDTH);
            out.extend(std::iter::repeat_n('\t', pad.max(1)));
        }
        out.push('\n');
    }
    out
}

/// One record as `KEY<tabs>value` lines (Hydra's `PrintRow` in table format).
pub fn kv_table(header: &[&str], columns: &[String]) -> String {
    let lines: Vec<Vec<String>> = header.iter().zip(columns).map(|(h, c)| vec![(*h).to_owned(), c.clone()]).collect();
    tabwrite(&lines)
}

/// Several records as a header line plus one line each (Hydra's `PrintTable`).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut lines = Vec::with_capacity(rows.len() + 1);
    lines.push(header.iter().map(|h| (*h).to_owned()).collect());
    lines.extend(rows.iter().cloned());
    tabwrite(&lines)
}

/// Re-indents raw JSON without reordering it: compact on one line, or pretty with two
/// spaces per level, `"key": value`, and `{}` / `[]` for empty containers. The input is
/// validated first.
pub fn format_json(raw: &str, pretty: bool) -> Result<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(raw)
        .map_err(|e| CliError::BadResponse(format!("invalid JSON: {e}")))?;
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|n| n.is_ascii_whitespace()) {
                    chars.next();
                }
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    if pretty {
                        newline(&mut out, depth);
                    }
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if pretty {
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(c);
                if pretty {
                    newline(&mut out, depth);
                }
            }
            ':' => out.push_str(if pretty { ": " } else { ":" }),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Formats a Unix time the way Go's `time.Time.String()` does for UTC:
/// `2006-01-02 15:04:05 +0000 UTC`. `None` is Go's zero time.
pub fn go_time(unix: Option<i64>) -> String {
    const ZERO: &str = "0001-01-01 00:00:00 +0000 UTC";
    unix.and_then(|s| DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_else(|| ZERO.to_owned())
}

/// The raw JSON as the JSON formats print it (v1 prints it indented); `None` for `table`.
fn json_text(format: Format, raw: &str) -> Result<Option<String>> {
    let value = || serde_json::from_str::<Value>(raw).map_err(|e| CliError::BadResponse(format!("invalid JSON: {e}")));
    let pretty = |v: &Value| serde_json::to_string_pretty(v).map(|s| s + "\n").unwrap_or_default();
    Ok(match format {
        Format::Table => None,
        Format::Json => Some(format_json(raw, false)? + "\n"),
        Format::JsonPretty | Format::V1 => Some(format_json(raw, true)? + "\n"),
        Format::Yaml => Some(
            serde_norway::to_string(&value()?)
                .map_err(|e| CliError::BadResponse(format!("cannot print as YAML: {e}")))?,
        ),
        Format::JsonPointer(ptr) => Some(pretty(value()?.pointer(ptr).unwrap_or(&Value::Null))),
        Format::JsonPath(path) => {
            format_json(raw, false)?;
            let found = gjson::get(raw, path);
            let v =
                if found.exists() { serde_json::from_str(found.json()).unwrap_or(Value::Null) } else { Value::Null };
            Some(pretty(&v))
        }
    })
}

/// The first cell of each row, one a line (`-q`).
fn first_cells(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| format!("{}\n", r.first().map(String::as_str).unwrap_or(""))).collect()
}

/// Prints one record by mode: key/value rows, raw JSON, or the first column.
pub fn render_row(mode: Mode, raw: &str, header: &[&str], columns: &[String]) -> Result<String> {
    if mode.quiet {
        return Ok(first_cells(&[columns.to_vec()]));
    }
    Ok(json_text(mode.format, raw)?.unwrap_or_else(|| kv_table(header, columns)))
}

/// Prints several records by mode: a table, raw JSON, or the first column of each.
pub fn render_rows(mode: Mode, raw: &str, header: &[&str], rows: &[Vec<String>]) -> Result<String> {
    if mode.quiet {
        return Ok(first_cells(rows));
    }
    Ok(json_text(mode.format, raw)?.unwrap_or_else(|| table(header, rows)))
}

fn parse<T: DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| CliError::BadResponse(format!("invalid JSON: {e}")))
}

fn string_field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn or_empty(s: String) -> String {
    if s.is_empty() {
        EMPTY.to_owned()
    } else {
        s
    }
}

// ------------------------------------------------------------------------------------------
// OAuth 2.0 clients

/// Rows of the v2 client table.
pub const CLIENT_HEADER: [&str; 7] =
    ["CLIENT ID", "CLIENT SECRET", "GRANT TYPES", "RESPONSE TYPES", "SCOPE", "AUDIENCE", "REDIRECT URIS"];

/// The client's cells for [`CLIENT_HEADER`]: lists joined with `, `, `<empty>` when empty.
pub fn client_columns(client: &Client) -> Vec<String> {
    vec![
        or_empty(client.client_id.clone()),
        or_empty(client.client_secret.clone().unwrap_or_default()),
        or_empty(client.grant_types.join(", ")),
        or_empty(client.response_types.join(", ")),
        or_empty(client.scope.clone()),
        or_empty(client.audience.join(", ")),
        or_empty(client.redirect_uris.join(", ")),
    ]
}

/// One client (`create`, `get`, `update`). In [`Mode::V1`], Hydra v1's `clients create`
/// lines: the ID, then the secret or a note that there is none.
pub fn render_client(mode: Mode, raw: &str) -> Result<String> {
    let client: Client = parse(raw)?;
    if mode == Mode::V1 {
        let id = &client.client_id;
        return Ok(match client.client_secret.as_deref().filter(|s| !s.is_empty()) {
            Some(secret) => format!("OAuth 2.0 Client ID: {id}\nOAuth 2.0 Client Secret: {secret}\n"),
            None => format!("OAuth 2.0 Client ID: {id}\nThis OAuth 2.0 Client has no secret\n"),
        });
    }
    render_row(mode, raw, &CLIENT_HEADER, &client_columns(&client))
}

/// A JSON array of clients (`list`, `get` with several IDs).
pub fn render_clients(mode: Mode, raw: &str) -> Result<String> {
    let clients: Vec<Client> = serde_json::from_str(raw)
        .map_err(|e| CliError::BadResponse(format!("expected a JSON array of clients: {e}")))?;
    let rows: Vec<Vec<String>> = clients.iter().map(client_columns).collect();
    render_rows(mode, raw, &CLIENT_HEADER, &rows)
}

// ------------------------------------------------------------------------------------------
// Tokens

/// Rows of the v2 token table.
pub const TOKEN_HEADER: [&str; 4] = ["ACCESS TOKEN", "REFRESH TOKEN", "ID TOKEN", "EXPIRY"];

/// A token response's positive `expires_in` (RFC 6749 §5.1: seconds; some servers send it
/// as a string).
fn expires_in(token: &Value) -> Option<i64> {
    match token.get("expires_in") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|&s| s > 0)
}

/// The token response's cells for [`TOKEN_HEADER`]; `EXPIRY` is `now + expires_in`.
pub fn token_columns(token: &Value, now_unix: i64) -> Vec<String> {
    let expires_in = expires_in(token);
    vec![
        string_field(token, "access_token"),
        or_empty(string_field(token, "refresh_token")),
        or_empty(string_field(token, "id_token")),
        go_time(expires_in.map(|s| now_unix.saturating_add(s))),
    ]
}

/// A token endpoint response (`perform client-credentials`); in [`Mode::V1`] the access
/// token alone (Hydra v1's `token client`).
pub fn render_token(mode: Mode, raw: &str, now_unix: i64) -> Result<String> {
    let token = parse(raw)?;
    if mode == Mode::V1 {
        return Ok(format!("{}\n", access_token(&token)?));
    }
    render_row(mode, raw, &TOKEN_HEADER, &token_columns(&token, now_unix))
}

/// The access token of a token response (RFC 6749 §5.1: required); an answer without one
/// is an error.
pub fn access_token(token: &Value) -> Result<&str> {
    match token.get("access_token").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(CliError::BadResponse("the token endpoint answered without an access_token".into())),
    }
}

/// When the access token expires, `now + expires_in`, as RFC 3339 in UTC
/// (`2026-07-24T10:00:00Z`); empty when the server sent no `expires_in`.
pub fn token_expiry_rfc3339(token: &Value, now_unix: i64) -> String {
    expires_in(token)
        .and_then(|s| DateTime::from_timestamp(now_unix.saturating_add(s), 0))
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// What `token user` and `perform authorization-code` print when the flow succeeds, in
/// Hydra's layout (label line, then the value indented by a tab; absent values are empty),
/// with the expiry as RFC 3339.
pub fn render_tokens_terminal(token: &Value, now_unix: i64) -> String {
    format!(
        "Access Token:\n\t{}\nRefresh Token:\n\t{}\nExpires in:\n\t{}\nID Token:\n\t{}\n",
        string_field(token, "access_token"),
        string_field(token, "refresh_token"),
        token_expiry_rfc3339(token, now_unix),
        string_field(token, "id_token"),
    )
}

/// A successful authorization code flow by mode: the terminal layout of
/// [`render_tokens_terminal`] for `table`, the raw token response for `json` / `json-pretty`,
/// the access token alone for `-q`.
pub fn render_authorization_code(mode: Mode, raw: &str, now_unix: i64) -> Result<String> {
    let token = parse(raw)?;
    if mode.quiet {
        return Ok(format!("{}\n", string_field(&token, "access_token")));
    }
    // `token user` (v1) prints the terminal layout too.
    let format = if mode.format == Format::V1 { Format::Table } else { mode.format };
    Ok(json_text(format, raw)?.unwrap_or_else(|| render_tokens_terminal(&token, now_unix)))
}

/// Rows of the v2 introspection table.
pub const INTROSPECTION_HEADER: [&str; 6] = ["ACTIVE", "SUBJECT", "CLIENT ID", "SCOPE", "EXPIRY", "TOKEN USE"];

/// The introspection response's cells for [`INTROSPECTION_HEADER`]. Missing fields are
/// empty and a missing `exp` is the Unix epoch, as in Hydra.
pub fn introspection_columns(v: &Value) -> Vec<String> {
    let active = v.get("active").and_then(Value::as_bool).unwrap_or(false);
    let exp = v.get("exp").and_then(Value::as_i64).unwrap_or(0);
    vec![
        active.to_string(),
        string_field(v, "sub"),
        string_field(v, "client_id"),
        string_field(v, "scope"),
        go_time(Some(exp)),
        string_field(v, "token_use"),
    ]
}

/// An introspection response (v2 `introspect token`).
pub fn render_introspection(mode: Mode, raw: &str) -> Result<String> {
    let v = parse(raw)?;
    render_row(mode, raw, &INTROSPECTION_HEADER, &introspection_columns(&v))
}

// ------------------------------------------------------------------------------------------
// JSON Web Keys

/// Columns of the v2 JWK table.
pub const JWK_HEADER: [&str; 4] = ["SET ID", "KEY ID", "ALGORITHM", "USE"];

/// One row per key of a `{"keys": [...]}` set.
pub fn jwk_rows(set: &str, jwks: &Value) -> Vec<Vec<String>> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .map(|k| vec![set.to_owned(), string_field(k, "kid"), string_field(k, "alg"), string_field(k, "use")])
                .collect()
        })
        .unwrap_or_default()
}

/// A key set (v2 `create jwk`, `get jwk`); `-q` prints the key IDs.
pub fn render_jwks(mode: Mode, set: &str, raw: &str) -> Result<String> {
    let jwks = parse(raw)?;
    let rows: Vec<Vec<String>> = jwk_rows(set, &jwks)
        .into_iter()
        .map(|mut r| {
            if mode.quiet {
                r.remove(0);
            }
            r
        })
        .collect();
    render_rows(mode, raw, &JWK_HEADER, &rows)
}

/// Several key sets (v2 `get jwk a b`): their keys in one `{"keys": [...]}` as JSON, one
/// table row per key naming its set.
pub fn render_jwk_sets(mode: Mode, sets: &[(&str, String)]) -> Result<String> {
    let mut keys = Vec::new();
    let mut rows = Vec::new();
    for (set, raw) in sets {
        let jwks: Value = parse(raw)?;
        rows.extend(jwk_rows(set, &jwks).into_iter().map(|mut r| {
            if mode.quiet {
                r.remove(0);
            }
            r
        }));
        keys.extend(jwks.get("keys").and_then(Value::as_array).cloned().unwrap_or_default());
    }
    let raw = serde_json::json!({ "keys": keys }).to_string();
    render_rows(mode, &raw, &JWK_HEADER, &rows)
}

// ------------------------------------------------------------------------------------------
// Bare identifiers

/// What a command did to the IDs it prints, for the line Hydra v1 prints about each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done<'a> {
    /// Deleted OAuth 2.0 clients.
    ClientDeleted,
    /// A revoked token.
    TokenRevoked,
    /// The client whose access tokens were deleted.
    TokensDeleted,
    /// A key deleted from `set`.
    KeyDeleted {
        /// The key's set.
        set: &'a str,
    },
    /// A deleted key set.
    SetDeleted,
    /// A deleted trust relationship of the JWT-bearer grant.
    TrustDeleted,
}

impl Done<'_> {
    /// Hydra v1's line about `id`.
    fn v1_line(self, id: &str) -> String {
        match self {
            Done::ClientDeleted => format!("OAuth 2.0 Client {id} deleted.\n"),
            Done::TokenRevoked => format!("Revoked OAuth 2.0 Access Token: {id}\n"),
            Done::TokensDeleted => format!("Deleted all access tokens of OAuth 2.0 Client {id}.\n"),
            Done::KeyDeleted { set } => format!("JSON Web Key {id} deleted from set {set}.\n"),
            Done::SetDeleted => format!("JSON Web Key Set {id} deleted.\n"),
            Done::TrustDeleted => format!("Trust relationship {id} deleted.\n"),
        }
    }
}

/// IDs of what a command acted on (deleted clients, revoked tokens, ...): an `ID` row or
/// table, a JSON string or array, the bare IDs with `-q`, or in [`Mode::V1`] Hydra v1's line
/// about each.
pub fn render_ids(mode: Mode, done: Done<'_>, ids: &[String]) -> String {
    if mode.quiet {
        return ids.iter().map(|i| format!("{i}\n")).collect();
    }
    let json = |pretty: bool| {
        let v = match ids {
            [one] => Value::String(one.clone()),
            many => Value::from(many.to_vec()),
        };
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
        // Serialising strings cannot fail; fall back to nothing rather than panic.
        text.unwrap_or_default() + "\n"
    };
    match (mode.format, ids) {
        (_, []) => String::new(),
        (Format::V1, _) => ids.iter().map(|id| done.v1_line(id)).collect(),
        (Format::Table, [one]) => kv_table(&["ID"], std::slice::from_ref(one)),
        (Format::Table, many) => table(&["ID"], &many.iter().map(|i| vec![i.clone()]).collect::<Vec<_>>()),
        (Format::Json, _) => json(false),
        (Format::JsonPretty, _) => json(true),
        (format, _) => json_text(format, &json(false)).ok().flatten().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TABLE: Mode = Mode { format: Format::Table, quiet: false };
    const JSON: Mode = Mode { format: Format::Json, quiet: false };
    const PRETTY: Mode = Mode { format: Format::JsonPretty, quiet: false };
    const QUIET: Mode = Mode { format: Format::Table, quiet: true };

    /// Hydra's other formats: YAML, a GJSON path and an RFC 6901 pointer.
    #[test]
    fn yaml_jsonpath_and_jsonpointer() {
        let raw = r#"{"client_id":"a","redirect_uris":["https://x/cb","https://y/cb"],"metadata":{"tier":"gold"}}"#;
        let fmt = |f: &str| json_text(f.parse().unwrap(), raw).unwrap().unwrap();
        assert_eq!(
            fmt("yaml"),
            "client_id: a\nmetadata:\n  tier: gold\nredirect_uris:\n- https://x/cb\n- https://y/cb\n"
        );
        assert_eq!(fmt("jsonpath=client_id"), "\"a\"\n");
        assert_eq!(fmt("jsonpath=redirect_uris.1"), "\"https://y/cb\"\n");
        assert_eq!(fmt("jsonpath=metadata"), "{\n  \"tier\": \"gold\"\n}\n");
        assert_eq!(fmt("jsonpath=nope"), "null\n");
        assert_eq!(fmt("jsonpointer=/redirect_uris/0"), "\"https://x/cb\"\n");
        assert_eq!(fmt("jsonpointer=/metadata/tier"), "\"gold\"\n");
        for bad in ["jsonpath", "jsonpath=", "jsonpointer=client_id", "xml"] {
            assert!(bad.parse::<Format>().is_err(), "{bad}");
        }
        assert_eq!("default".parse::<Format>(), Ok(Format::Table));
    }

    #[test]
    fn tabwrite_pads_with_tabs_to_multiples_of_eight() {
        // Column 0: widest "RESPONSE TYPES" (14) + 1 = 15 -> 16; "ID" needs 2 tabs.
        // Column 1: widest "abcdefgh" (8) + 1 = 9 -> 16; "x" needs 2 tabs, "abcdefgh" 1.
        let lines =
            vec![vec!["ID".to_owned(), "x".to_owned()], vec!["RESPONSE TYPES".to_owned(), "abcdefgh".to_owned()]];
        assert_eq!(tabwrite(&lines), "ID\t\tx\t\t\nRESPONSE TYPES\tabcdefgh\t\n");
    }

    #[test]
    fn tabwrite_counts_characters_not_bytes() {
        let lines = vec![vec!["ééééééé".to_owned()], vec!["a".to_owned()]];
        // 7 chars + 1 = 8 -> one tab stop for both.
        assert_eq!(tabwrite(&lines), "ééééééé\t\na\t\n");
    }

    #[test]
    fn json_compact_and_pretty_keep_order() {
        let raw = "{ \"z\" : 1, \"a\":[ ], \"m\":{}, \"s\":\"x, {y}: \\\"q\\\"\", \"l\":[1,{\"k\":null}] }";
        assert_eq!(format_json(raw, false).unwrap(), r#"{"z":1,"a":[],"m":{},"s":"x, {y}: \"q\"","l":[1,{"k":null}]}"#);
        assert_eq!(
            format_json(raw, true).unwrap(),
            "{\n  \"z\": 1,\n  \"a\": [],\n  \"m\": {},\n  \"s\": \"x, {y}: \\\"q\\\"\",\n  \"l\": [\n    1,\n    {\n      \"k\": null\n    }\n  ]\n}"
        );
    }

    #[test]
    fn json_pretty_matches_serde_for_sorted_input() {
        let v = json!({"a": [1, 2, {"b": "c\\\""}], "d": {"e": []}, "f": true});
        let compact = serde_json::to_string(&v).unwrap();
        assert_eq!(format_json(&compact, true).unwrap(), serde_json::to_string_pretty(&v).unwrap());
    }

    #[test]
    fn json_rejects_invalid_input() {
        assert!(format_json("{\"a\":", true).is_err());
        assert!(format_json("<html>", false).is_err());
    }

    #[test]
    fn go_time_format() {
        assert_eq!(go_time(Some(0)), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time(Some(1_700_000_000)), "2023-11-14 22:13:20 +0000 UTC");
        assert_eq!(go_time(None), "0001-01-01 00:00:00 +0000 UTC");
    }

    fn client() -> String {
        r#"{"client_id":"my-client","client_secret":"secret","grant_types":["client_credentials"],"response_types":["code"],"scope":"","audience":[],"redirect_uris":["http://a/cb","http://b/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#.to_owned()
    }

    #[test]
    fn client_v1() {
        let v1 = |raw: &str| render_client(Mode::V1, raw).unwrap();
        assert_eq!(v1(&client()), "OAuth 2.0 Client ID: my-client\nOAuth 2.0 Client Secret: secret\n");
        let public = r#"{"client_id": "spa", "token_endpoint_auth_method": "none"}"#;
        assert_eq!(v1(public), "OAuth 2.0 Client ID: spa\nThis OAuth 2.0 Client has no secret\n");
        let blank = r#"{"client_id": "spa", "client_secret": ""}"#;
        assert_eq!(v1(blank), "OAuth 2.0 Client ID: spa\nThis OAuth 2.0 Client has no secret\n");
        assert!(render_client(Mode::V1, r#"{"client_id": 1}"#).is_err(), "not a client");
    }

    #[test]
    fn client_v1_deleted() {
        assert_eq!(
            render_ids(Mode::V1, Done::ClientDeleted, &["my-client".into()]),
            "OAuth 2.0 Client my-client deleted.\n"
        );
        assert_eq!(
            render_ids(Mode::V1, Done::ClientDeleted, &["a".into(), "b".into()]),
            "OAuth 2.0 Client a deleted.\nOAuth 2.0 Client b deleted.\n"
        );
    }

    #[test]
    fn client_table() {
        assert_eq!(
            render_client(TABLE, &client()).unwrap(),
            "CLIENT ID\tmy-client\t\t\t\n\
             CLIENT SECRET\tsecret\t\t\t\t\n\
             GRANT TYPES\tclient_credentials\t\t\n\
             RESPONSE TYPES\tcode\t\t\t\t\n\
             SCOPE\t\t<empty>\t\t\t\t\n\
             AUDIENCE\t<empty>\t\t\t\t\n\
             REDIRECT URIS\thttp://a/cb, http://b/cb\t\n"
        );
    }

    #[test]
    fn client_json_quiet() {
        assert_eq!(render_client(JSON, &client()).unwrap(), client() + "\n");
        assert!(render_client(PRETTY, &client())
            .unwrap()
            .starts_with("{\n  \"client_id\": \"my-client\",\n  \"client_secret\": \"secret\",\n"));
        assert_eq!(render_client(QUIET, &client()).unwrap(), "my-client\n");
    }

    #[test]
    fn clients_table() {
        let raw =
            format!("[{},{}]", client(), r#"{"client_id":"b","grant_types":["authorization_code","refresh_token"]}"#);
        assert_eq!(
            render_clients(TABLE, &raw).unwrap(),
            "CLIENT ID\tCLIENT SECRET\tGRANT TYPES\t\t\t\tRESPONSE TYPES\tSCOPE\tAUDIENCE\tREDIRECT URIS\t\t\t\n\
             my-client\tsecret\t\tclient_credentials\t\t\tcode\t\t<empty>\t<empty>\t\thttp://a/cb, http://b/cb\t\n\
             b\t\t<empty>\t\tauthorization_code, refresh_token\t<empty>\t\t<empty>\t<empty>\t\t<empty>\t\t\t\t\n"
        );
        assert_eq!(render_clients(QUIET, &raw).unwrap(), "my-client\nb\n");
        assert!(render_clients(TABLE, "{}").is_err());
    }

    #[test]
    fn token_table() {
        let raw = r#"{"access_token":"ory_at_abc","expires_in":3599,"scope":"","token_type":"bearer"}"#;
        assert_eq!(
            render_token(TABLE, raw, 1_700_000_000).unwrap(),
            "ACCESS TOKEN\tory_at_abc\t\t\t\n\
             REFRESH TOKEN\t<empty>\t\t\t\t\n\
             ID TOKEN\t<empty>\t\t\t\t\n\
             EXPIRY\t\t2023-11-14 23:13:19 +0000 UTC\t\n"
        );
        assert_eq!(render_token(JSON, raw, 0).unwrap(), format!("{raw}\n"));
        assert_eq!(render_token(QUIET, raw, 0).unwrap(), "ory_at_abc\n");
    }

    #[test]
    fn token_columns_without_expiry() {
        let t = json!({"access_token": "a", "refresh_token": "r", "id_token": "i"});
        assert_eq!(token_columns(&t, 5), vec!["a", "r", "i", "0001-01-01 00:00:00 +0000 UTC"]);
    }

    #[test]
    fn tokens_terminal_layout() {
        let t = json!({"access_token": "at", "refresh_token": "rt", "id_token": "a.b.c", "expires_in": 3599});
        assert_eq!(
            render_tokens_terminal(&t, 1_700_000_000),
            "Access Token:\n\tat\nRefresh Token:\n\trt\nExpires in:\n\t2023-11-14T23:13:19Z\nID Token:\n\ta.b.c\n"
        );
        // Without refresh token, ID token and expiry the labels stay, the values are empty.
        assert_eq!(
            render_tokens_terminal(&json!({"access_token": "at"}), 0),
            "Access Token:\n\tat\nRefresh Token:\n\t\nExpires in:\n\t\nID Token:\n\t\n"
        );
        assert_eq!(token_expiry_rfc3339(&json!({"expires_in": "60"}), 0), "1970-01-01T00:01:00Z");
        assert_eq!(token_expiry_rfc3339(&json!({"expires_in": -5}), 0), "");
    }

    #[test]
    fn authorization_code_by_mode() {
        let raw = r#"{"access_token":"at","expires_in":1,"id_token":"i"}"#;
        assert!(render_authorization_code(TABLE, raw, 0).unwrap().starts_with("Access Token:\n\tat\n"));
        assert_eq!(render_authorization_code(JSON, raw, 0).unwrap(), format!("{raw}\n"));
        assert!(render_authorization_code(PRETTY, raw, 0).unwrap().starts_with("{\n  \"access_token\": \"at\","));
        assert_eq!(render_authorization_code(QUIET, raw, 0).unwrap(), "at\n");
        assert!(render_authorization_code(TABLE, "not json", 0).is_err());
    }

    #[test]
    fn access_token_v1() {
        assert_eq!(
            render_token(Mode::V1, r#"{"access_token": "ory_at_x", "expires_in": 1}"#, 0).unwrap(),
            "ory_at_x\n"
        );
        assert!(render_token(Mode::V1, r#"{"error": "x"}"#, 0).is_err());
        assert!(access_token(&json!({"access_token": ""})).is_err());
    }

    #[test]
    fn introspection_table() {
        let raw = r#"{"active":true,"client_id":"my-client","exp":1700000000,"iat":1699996400,"iss":"http://127.0.0.1:4444","sub":"my-client","token_type":"Bearer","token_use":"access_token"}"#;
        assert_eq!(
            render_introspection(TABLE, raw).unwrap(),
            "ACTIVE\t\ttrue\t\t\t\t\n\
             SUBJECT\t\tmy-client\t\t\t\n\
             CLIENT ID\tmy-client\t\t\t\n\
             SCOPE\t\t\t\t\t\t\n\
             EXPIRY\t\t2023-11-14 22:13:20 +0000 UTC\t\n\
             TOKEN USE\taccess_token\t\t\t\n"
        );
        assert_eq!(
            render_introspection(PRETTY, raw).unwrap(),
            "{\n  \"active\": true,\n  \"client_id\": \"my-client\",\n  \"exp\": 1700000000,\n  \"iat\": 1699996400,\n  \"iss\": \"http://127.0.0.1:4444\",\n  \"sub\": \"my-client\",\n  \"token_type\": \"Bearer\",\n  \"token_use\": \"access_token\"\n}\n"
        );
    }

    #[test]
    fn inactive_introspection() {
        assert_eq!(
            introspection_columns(&json!({"active": false})),
            vec!["false", "", "", "", "1970-01-01 00:00:00 +0000 UTC", ""]
        );
    }

    #[test]
    fn v1_lines() {
        let v1 = |done: Done<'_>, id: &str| render_ids(Mode::V1, done, &[id.to_owned()]);
        assert_eq!(v1(Done::TokenRevoked, "ory_at_x"), "Revoked OAuth 2.0 Access Token: ory_at_x\n");
        assert_eq!(v1(Done::TokensDeleted, "c"), "Deleted all access tokens of OAuth 2.0 Client c.\n");
        assert_eq!(v1(Done::SetDeleted, "s"), "JSON Web Key Set s deleted.\n");
        assert_eq!(v1(Done::KeyDeleted { set: "s" }, "k"), "JSON Web Key k deleted from set s.\n");
        // Where Hydra v1 printed JSON, V1 indents the server's JSON.
        let raw = r#"{"keys":[{"kid":"b","alg":"RS256"}]}"#;
        assert_eq!(
            render_jwks(Mode::V1, "s", raw).unwrap(),
            "{\n  \"keys\": [\n    {\n      \"kid\": \"b\",\n      \"alg\": \"RS256\"\n    }\n  ]\n}\n"
        );
        assert_eq!(render_introspection(Mode::V1, r#"{"b":1,"a":[]}"#).unwrap(), "{\n  \"b\": 1,\n  \"a\": []\n}\n");
    }

    #[test]
    fn jwks_table() {
        let raw = r#"{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","n":"x","e":"AQAB"},{"kty":"OKP","kid":"k2","alg":"EdDSA","use":"sig"}]}"#;
        assert_eq!(
            render_jwks(TABLE, "hydra.openid.id-token", raw).unwrap(),
            "SET ID\t\t\tKEY ID\tALGORITHM\tUSE\t\n\
             hydra.openid.id-token\tk1\tRS256\t\tsig\t\n\
             hydra.openid.id-token\tk2\tEdDSA\t\tsig\t\n"
        );
        assert_eq!(render_jwks(QUIET, "s", raw).unwrap(), "k1\nk2\n");
        assert_eq!(render_jwks(JSON, "s", raw).unwrap(), format!("{raw}\n"));
    }

    #[test]
    fn ids() {
        let one = vec!["my-client".to_owned()];
        let two = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(render_ids(TABLE, Done::ClientDeleted, &one), "ID\tmy-client\t\n");
        assert_eq!(render_ids(TABLE, Done::ClientDeleted, &two), "ID\t\na\t\nb\t\n");
        assert_eq!(render_ids(JSON, Done::ClientDeleted, &one), "\"my-client\"\n");
        assert_eq!(render_ids(JSON, Done::ClientDeleted, &two), "[\"a\",\"b\"]\n");
        assert_eq!(render_ids(PRETTY, Done::ClientDeleted, &two), "[\n  \"a\",\n  \"b\"\n]\n");
        assert_eq!(render_ids(QUIET, Done::ClientDeleted, &two), "a\nb\n");
        assert_eq!(render_ids(TABLE, Done::ClientDeleted, &[]), "");
    }
}
