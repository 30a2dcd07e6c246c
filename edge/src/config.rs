//! Settings from the Worker's `vars` and secrets, with the same names as the native
//! server's environment (Hydra's keys: `URLS_SELF_ISSUER`, `SECRETS_SYSTEM`,
//! `TTL_ACCESS_TOKEN`, `URLS_LOGIN`, …). Listener, log and DSN settings have no meaning
//! on a Worker and are not read; `LATCH_ADMIN_TOKEN` (a secret) guards the admin API,
//! and `CF_ACCESS_TEAM_DOMAIN` with `CF_ACCESS_AUD` let Cloudflare Access open it too.
//!
//! This mirrors `latch_native::config::from_env` for the keys both hosts share (the
//! native reader cannot be linked here: it lives in a crate built on tokio and sqlx).
//! Bad values fail with a message naming the key, never quoting a secret.

use crate::access::AccessConfig;
use latch_core::config::Config;

/// The least length of the admin token: that of a system secret.
pub const MIN_SECRET_LEN: usize = latch_core::config::MIN_SYSTEM_SECRET_LEN;

/// What the Worker needs besides the core's settings.
#[derive(Clone, Debug)]
pub struct EdgeSettings {
    /// The protocol's settings.
    pub core: Config,
    /// The bearer token the admin API requires (`LATCH_ADMIN_TOKEN`); `None` disables
    /// the admin API (every admin request gets 401) unless Cloudflare Access is set.
    pub admin_token: Option<String>,
    /// The Cloudflare Access application whose JWT also opens the admin API
    /// (`CF_ACCESS_TEAM_DOMAIN`, `CF_ACCESS_AUD`).
    pub access: Option<AccessConfig>,
    /// One line for each of Hydra's keys that is set but has no effect in Latch
    /// ([`latch_core::settings::check`]), logged when an isolate builds its server.
    pub warnings: Vec<String>,
}

/// Reads the settings through `get` (the Worker's `env` in production, a map in tests).
/// `LATCH_DEV=true` is `--dev`: http issuers and redirect URIs, debug detail in errors.
/// Every key of Hydra's schema is checked first, as natively
/// ([`latch_core::settings::check`]): a refused one fails, one without effect warns.
pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<EdgeSettings, String> {
    let warnings = latch_core::settings::check(get)?;
    let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let bad = |k: &str, why: &str| format!("{k}: {why}");
    let flag = |k: &str| -> Result<Option<bool>, String> {
        var(k).map(|v| parse_bool(&v).ok_or_else(|| bad(k, "must be true or false"))).transpose()
    };
    let dev = flag("LATCH_DEV")?.unwrap_or(false);

    let issuer = var("URLS_SELF_ISSUER").ok_or_else(|| bad("URLS_SELF_ISSUER", "must be set (a Worker var)"))?;
    latch_core::config::check_issuer(&issuer, dev, "unless LATCH_DEV=true")?;
    let secrets = var("SECRETS_SYSTEM")
        .ok_or_else(|| bad("SECRETS_SYSTEM", "must be set: `wrangler secret put SECRETS_SYSTEM`"))?;
    let secrets = latch_core::config::parse_system_secrets(&secrets)?;
    let core = Config::for_host(&issuer, secrets, dev, get)?;

    let admin_token = var("LATCH_ADMIN_TOKEN");
    if admin_token.as_ref().is_some_and(|t| t.len() < MIN_SECRET_LEN) {
        return Err(bad("LATCH_ADMIN_TOKEN", "must be at least 16 characters long"));
    }
    let access = AccessConfig::from_vars(var("CF_ACCESS_TEAM_DOMAIN"), var("CF_ACCESS_AUD"))?;
    Ok(EdgeSettings { core, admin_token, access, warnings })
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "0123456789abcdef-system";

    fn load(vars: &[(&str, &str)]) -> Result<EdgeSettings, String> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        from_vars(&|k| m.get(k).cloned())
    }

    #[test]
    fn issuer_and_secret_are_required_and_named() {
        assert!(load(&[("SECRETS_SYSTEM", SECRET)]).unwrap_err().starts_with("URLS_SELF_ISSUER"));
        assert!(load(&[("URLS_SELF_ISSUER", "https://a.example")]).unwrap_err().starts_with("SECRETS_SYSTEM"));
        let e = load(&[("URLS_SELF_ISSUER", "https://a.example"), ("SECRETS_SYSTEM", "short")]).unwrap_err();
        assert!(e.contains("16") && !e.contains("short"), "{e}");
    }

    #[test]
    fn http_issuers_need_dev_or_loopback() {
        let remote = [("URLS_SELF_ISSUER", "http://auth.example"), ("SECRETS_SYSTEM", SECRET)];
        assert!(load(&remote).unwrap_err().contains("https"));
        let dev = [remote[0], remote[1], ("LATCH_DEV", "true")];
        assert!(load(&dev).unwrap().core.dev);
        let s = load(&[("URLS_SELF_ISSUER", "http://127.0.0.1:8787"), ("SECRETS_SYSTEM", SECRET)]).unwrap();
        assert!(!s.core.dev && s.core.cookies.secure);
        assert_eq!(s.admin_token, None);
    }

    #[test]
    fn values_are_applied_with_native_names() {
        let s = load(&[
            ("URLS_SELF_ISSUER", "https://a.example/"),
            ("SECRETS_SYSTEM", "new-secret-0123456789, old-secret-0123456789"),
            ("TTL_ACCESS_TOKEN", "30m"),
            ("STRATEGIES_ACCESS_TOKEN", "jwt"),
            ("URLS_LOGIN", "https://login.example/login"),
            ("OAUTH2_HASHERS_PBKDF2_ITERATIONS", "1000"),
            ("OAUTH2_PKCE_ENFORCED", "true"),
            ("LATCH_ADMIN_TOKEN", "an-admin-token-of-some-length"),
        ])
        .unwrap();
        assert_eq!(s.core.issuer, "https://a.example/");
        assert_eq!(s.core.system_secrets, [b"new-secret-0123456789".to_vec(), b"old-secret-0123456789".to_vec()]);
        assert_eq!(s.core.access_token_ttl, 1800);
        assert_eq!(s.core.access_token_strategy, latch_core::config::AccessTokenStrategy::Jwt);
        assert_eq!(s.core.login_url, "https://login.example/login");
        assert_eq!(s.core.pbkdf2_iterations, 1000);
        assert!(s.core.pkce_enforced);
        assert_eq!(s.admin_token.as_deref(), Some("an-admin-token-of-some-length"));
        assert_eq!(s.access, None);
    }

    #[test]
    fn hydras_keys_without_effect_warn_and_unsupported_ones_fail_as_natively() {
        let base = [("URLS_SELF_ISSUER", "https://a.example"), ("SECRETS_SYSTEM", SECRET)];
        let s = load(&[base[0], base[1], ("SECRETS_COOKIE", "a-cookie-secret-0123"), ("NOT_HYDRAS", "x")]).unwrap();
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].starts_with("SECRETS_COOKIE (secrets.cookie): "), "{:?}", s.warnings);
        assert!(load(&[base[0], base[1], ("OAUTH2_HASHERS_ALGORITHM", "pbkdf2")]).unwrap().warnings.is_empty());
        for (k, v) in [("OAUTH2_HASHERS_ALGORITHM", "bcrypt"), ("STRATEGIES_SCOPE", "exact"), ("HSM_ENABLED", "true")] {
            let e = load(&[base[0], base[1], (k, v)]).unwrap_err();
            assert!(e.starts_with(&format!("{k}: ")) && e.contains("not supported by Latch"), "{e}");
        }
    }

    #[test]
    fn cloudflare_access_is_read_with_both_keys() {
        let base = [("URLS_SELF_ISSUER", "https://a.example"), ("SECRETS_SYSTEM", SECRET)];
        let s = load(&[base[0], base[1], ("CF_ACCESS_TEAM_DOMAIN", "acme"), ("CF_ACCESS_AUD", "tag1,tag2")]).unwrap();
        let a = s.access.unwrap();
        assert_eq!(a.team_domain, "https://acme.cloudflareaccess.com");
        assert_eq!(a.audiences, ["tag1", "tag2"]);
        let e = load(&[base[0], base[1], ("CF_ACCESS_TEAM_DOMAIN", "acme")]).unwrap_err();
        assert!(e.starts_with("CF_ACCESS_AUD"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (k, v) in [
            ("TTL_ACCESS_TOKEN", "forever"),
            ("STRATEGIES_ACCESS_TOKEN", "magic"),
            ("URLS_LOGIN", "not a url"),
            ("LATCH_DEV", "maybe"),
            ("LATCH_ADMIN_TOKEN", "short"),
        ] {
            let e = load(&[("URLS_SELF_ISSUER", "https://a.example"), ("SECRETS_SYSTEM", SECRET), (k, v)]).unwrap_err();
            assert!(e.starts_with(k), "{e}");
        }
    }
}
