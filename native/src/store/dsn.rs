//! DSNs as Hydra users write them, turned into what sqlx takes.
//!
//! Hydra's DSNs carry connection-pool settings in the query (`max_conns`,
//! `max_idle_conns`, `max_conn_lifetime`, `max_conn_idle_time`), MySQL DSNs use the Go
//! driver's `user:pass@tcp(host:port)/db` form, and a few parameters mean something
//! only to Go drivers (`_fk`, `parseTime`). A DSN copied from a Hydra setup works here
//! unchanged: the pool settings are applied, the Go forms translated, the Go-only
//! parameters dropped. Anything else is passed to sqlx as written.

use latch_core::StoreError;
use std::time::Duration;

/// A DSN's URL for sqlx and the pool settings it carried.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dsn {
    /// What sqlx connects to.
    pub url: String,
    /// `max_conns`: the pool's size.
    pub max_conns: Option<u32>,
    /// `max_conn_lifetime`: connections older than this are replaced.
    pub max_conn_lifetime: Option<Duration>,
    /// `max_conn_idle_time`: idle connections older than this are closed.
    pub max_conn_idle_time: Option<Duration>,
}

/// Go-driver parameters with no meaning to sqlx. `_fk`: Latch always enables SQLite
/// foreign keys. `parseTime`: Latch stores times as integers. `max_idle_conns`: sqlx's
/// pool closes idle connections by age (`max_conn_idle_time`), not by count.
const DROPPED: &[&str] = &["_fk", "parseTime", "max_idle_conns"];

/// Splits Hydra's pool parameters off a DSN and translates Go-driver forms.
pub fn parse(dsn: &str) -> Result<Dsn, StoreError> {
    let bad = |key: &str, want: &str| {
        // The parameter is named, never its value nor the DSN: a password containing
        // `?` or `&` would be split into the query, so any value may be part of one
        // (found by fuzz/fuzz_targets/dsn.rs).
        StoreError::Backend(format!("DSN parameter {key}: {want}"))
    };
    let (base, query) = dsn.split_once('?').unwrap_or((dsn, ""));
    let mut out = Dsn::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "max_conns" => {
                out.max_conns =
                    Some(value.parse().ok().filter(|n| *n > 0).ok_or_else(|| bad(key, "a positive number"))?)
            }
            "max_conn_lifetime" | "max_conn_idle_time" => {
                let d = latch_core::duration::parse_seconds(value)
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad(key, "a duration such as 30m"))?;
                let d = Some(Duration::from_secs(d as u64));
                if key == "max_conn_lifetime" {
                    out.max_conn_lifetime = d;
                } else {
                    out.max_conn_idle_time = d;
                }
            }
            k if DROPPED.contains(&k) => {}
            _ => kept.push(pair),
        }
    }
    let base = go_mysql_address(base);
    out.url = if kept.is_empty() { base } else { format!("{base}?{}", kept.join("&")) };
    Ok(out)
}

/// `mysql://user:pass@tcp(host:port)/db` (the Go driver's form, which Hydra documents)
/// to `mysql://user:pass@host:port/db`.
fn go_mysql_address(base: &str) -> String {
    let is_mysql = base.starts_with("mysql://") || base.starts_with("mariadb://");
    match (is_mysql, base.find("@tcp(")) {
        (true, Some(at)) => {
            let rest = &base[at + "@tcp(".len()..];
            match rest.split_once(')') {
                Some((addr, tail)) => format!("{}@{addr}{tail}", &base[..at]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hydra_quickstart_dsns_are_understood() {
        let pg = parse("postgres://hydra:secret@postgresd:5432/hydra?sslmode=disable&max_conns=20&max_idle_conns=4")
            .unwrap();
        assert_eq!(pg.url, "postgres://hydra:secret@postgresd:5432/hydra?sslmode=disable");
        assert_eq!(pg.max_conns, Some(20));
        let my = parse("mysql://root:secret@tcp(mysqld:3306)/mysql?max_conns=20&max_idle_conns=4").unwrap();
        assert_eq!(my.url, "mysql://root:secret@mysqld:3306/mysql");
        let lite = parse("sqlite:///mnt/sqlite/db.sqlite?_fk=true&mode=rwc").unwrap();
        assert_eq!(lite.url, "sqlite:///mnt/sqlite/db.sqlite?mode=rwc");
        assert_eq!(lite.max_conns, None);
        let timed = parse("postgres://h/db?max_conn_lifetime=1h&max_conn_idle_time=30s").unwrap();
        assert_eq!(timed.url, "postgres://h/db");
        assert_eq!(timed.max_conn_lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(timed.max_conn_idle_time, Some(Duration::from_secs(30)));
        assert_eq!(parse("memory").unwrap().url, "memory");
    }

    #[test]
    fn bad_pool_settings_name_the_parameter_not_the_password() {
        let e = parse("postgres://u:hunter2@h/db?max_conns=lots").unwrap_err().to_string();
        assert!(e.contains("max_conns") && !e.contains("hunter2"), "{e}");
        let e = parse("postgres://u:hunter2@h/db?max_conn_lifetime=soon").unwrap_err().to_string();
        assert!(e.contains("max_conn_lifetime") && !e.contains("hunter2"), "{e}");
        assert!(parse("postgres://h/db?max_conns=0").is_err());
        // A password with an unencoded `?` lands in the query: no value is echoed.
        let e = parse("postgres://u:pa?max_conns=ss-word@h/db").unwrap_err().to_string();
        assert!(!e.contains("ss-word"), "{e}");
    }
}
