//! Where the HTTP commands send their requests.
//!
//! Admin commands (clients, keys, introspection, token deletion) talk to the admin API;
//! token commands (issue, revoke) to the public API. `--endpoint` wins; otherwise the first
//! non-empty variable of [`ApiKind::env_vars`] is used, so scripts written for Hydra
//! (`HYDRA_ADMIN_URL`, `HYDRA_URL`, `ORY_SDK_URL`) keep working.
//!
//! The environment is passed in as an [`Env`] lookup function rather than read here, so the
//! resolution can be tested without touching the process environment.

use url::Url;

use crate::error::{CliError, Result};

/// Looks a variable up in the environment; `None` when unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset (as Hydra's CLI does).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Which of the server's two listeners a command talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// The admin API (Hydra's port 4445).
    Admin,
    /// The public API (Hydra's port 4444).
    Public,
}

impl ApiKind {
    /// Environment variables consulted, in order, when `--endpoint` is absent.
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            ApiKind::Admin => &["LATCH_ADMIN_URL", "ORY_SDK_URL", "HYDRA_ADMIN_URL"],
            ApiKind::Public => &["LATCH_URL", "ORY_SDK_URL", "HYDRA_URL"],
        }
    }
}

/// Picks the base URL of the API: the `--endpoint` flag, else the environment.
pub fn resolve_endpoint(flag: Option<&str>, kind: ApiKind, env: Env<'_>) -> Result<Url> {
    let (api, port) = match kind {
        ApiKind::Admin => ("admin", 4445),
        ApiKind::Public => ("public", 4444),
    };
    resolve_endpoint_from(flag, kind.env_vars(), api, port, env)
}

/// Like [`resolve_endpoint`] with an explicit list of variables: the flag, else the first
/// non-empty variable of `vars`. `api` and `example_port` only word the error message.
pub fn resolve_endpoint_from(
    flag: Option<&str>,
    vars: &[&str],
    api: &str,
    example_port: u16,
    env: Env<'_>,
) -> Result<Url> {
    if let Some(raw) = flag.filter(|s| !s.trim().is_empty()) {
        return parse_endpoint(raw, "--endpoint");
    }
    for var in vars {
        if let Some(raw) = env(var).filter(|s| !s.trim().is_empty()) {
            return parse_endpoint(&raw, &format!("${var}"));
        }
    }
    Err(CliError::Usage(format!(
        "no {api} API endpoint given: pass --endpoint (for example --endpoint http://127.0.0.1:{example_port}/) \
         or set one of {}",
        vars.join(", ")
    )))
}

/// Parses an endpoint (or any URL flag: `source` names it in errors) and checks it is an
/// absolute http(s) URL.
pub fn parse_endpoint(raw: &str, source: &str) -> Result<Url> {
    let raw = raw.trim();
    let hint = if raw.contains("://") { String::new() } else { format!(" (did you mean http://{raw}?)") };
    let url =
        Url::parse(raw).map_err(|e| CliError::Usage(format!("{source}: {raw:?} is not a valid URL: {e}{hint}")))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err(CliError::Usage(format!("{source}: {raw:?} must be an http:// or https:// URL with a host{hint}"))),
    }
}

/// Appends path segments to the endpoint, which may or may not end with `/` and may carry a
/// path prefix (for a server behind a reverse proxy). Each segment is percent-encoded, so a
/// client ID containing `/` or `?` stays one segment.
pub fn join(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| CliError::Usage(format!("{base} cannot be used as a base URL")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn flag_wins_over_environment() {
        let env = env_of(&[("LATCH_ADMIN_URL", "http://env:1/")]);
        let url = resolve_endpoint(Some("http://flag:2/"), ApiKind::Admin, &env).unwrap();
        assert_eq!(url.as_str(), "http://flag:2/");
    }

    /// Each API's variables in the order they are read, then one the API ignores: each
    /// wins over those after it, and the other API's variables count for nothing.
    #[test]
    fn environment_order() {
        let cases: [(ApiKind, &[(&str, &str)]); 2] = [
            (
                ApiKind::Admin,
                &[
                    ("LATCH_ADMIN_URL", "http://latch:1"),
                    ("ORY_SDK_URL", "http://ory:2"),
                    ("HYDRA_ADMIN_URL", "http://hydra:3"),
                    ("LATCH_URL", "http://public:4"),
                    ("HYDRA_URL", "http://public:5"),
                ],
            ),
            (
                ApiKind::Public,
                &[
                    ("LATCH_URL", "http://latch:1"),
                    ("ORY_SDK_URL", "http://ory:2"),
                    ("HYDRA_URL", "http://hydra:3"),
                    ("HYDRA_ADMIN_URL", "http://admin:4"),
                ],
            ),
        ];
        for (kind, all) in cases {
            let url = |pairs: &[(&str, &str)]| resolve_endpoint(None, kind, &env_of(pairs)).unwrap().to_string();
            assert_eq!(url(all), "http://latch:1/", "{kind:?}");
            assert_eq!(url(&all[1..]), "http://ory:2/", "{kind:?}");
            assert_eq!(url(&all[2..]), "http://hydra:3/", "{kind:?}");
            assert!(resolve_endpoint(None, kind, &env_of(&all[3..])).is_err(), "{kind:?}: only the other API's");
        }
    }

    #[test]
    fn empty_values_are_skipped() {
        let env = env_of(&[("LATCH_URL", ""), ("HYDRA_URL", "http://hydra:3")]);
        let url = resolve_endpoint(Some(""), ApiKind::Public, &env).unwrap();
        assert_eq!(url.as_str(), "http://hydra:3/");
    }

    #[test]
    fn missing_endpoint_names_flag_and_variables() {
        let err = resolve_endpoint(None, ApiKind::Admin, &env_of(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--endpoint"), "{msg}");
        assert!(msg.contains("LATCH_ADMIN_URL, ORY_SDK_URL, HYDRA_ADMIN_URL"), "{msg}");
        let err = resolve_endpoint(None, ApiKind::Public, &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("LATCH_URL, ORY_SDK_URL, HYDRA_URL"));
    }

    #[test]
    fn rejects_non_http_endpoints() {
        for bad in ["127.0.0.1:4445", "ftp://x/", "not a url", "file:///tmp"] {
            let err = resolve_endpoint(Some(bad), ApiKind::Admin, &env_of(&[]));
            assert!(matches!(err, Err(CliError::Usage(_))), "{bad} was accepted: {err:?}");
        }
    }

    #[test]
    fn schemeless_endpoint_gets_a_hint() {
        let err = resolve_endpoint(Some("127.0.0.1:4445"), ApiKind::Admin, &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("did you mean http://127.0.0.1:4445?"), "{err}");
        let err = resolve_endpoint(Some("localhost:4445"), ApiKind::Admin, &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("did you mean http://localhost:4445?"), "{err}");
    }

    #[test]
    fn join_with_and_without_trailing_slash() {
        for base in ["http://127.0.0.1:4445/", "http://127.0.0.1:4445"] {
            let base = Url::parse(base).unwrap();
            assert_eq!(join(&base, &["admin", "clients"]).unwrap().as_str(), "http://127.0.0.1:4445/admin/clients");
        }
    }

    #[test]
    fn join_keeps_path_prefix() {
        for base in ["https://auth.example/hydra/", "https://auth.example/hydra"] {
            let base = Url::parse(base).unwrap();
            assert_eq!(join(&base, &["oauth2", "token"]).unwrap().as_str(), "https://auth.example/hydra/oauth2/token");
        }
    }

    #[test]
    fn join_encodes_segments_and_drops_query() {
        let base = Url::parse("http://h:4445/?x=1#f").unwrap();
        assert_eq!(
            join(&base, &["admin", "clients", "a/b c?d"]).unwrap().as_str(),
            "http://h:4445/admin/clients/a%2Fb%20c%3Fd"
        );
    }
}
