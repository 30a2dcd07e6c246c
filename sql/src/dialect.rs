//! The three SQL dialects: which one a DSN names, and the one place where their query
//! texts differ mechanically (placeholders).

use latch_core::error::StoreError;

/// The SQL database a store runs on (D1 is SQLite's dialect).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite (a file, or in process memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Dialect {
    /// The dialect a DSN names: `sqlite:…` or `memory`, `postgres://` or
    /// `postgresql://`, `mysql://` or `mariadb://`.
    pub fn from_dsn(dsn: &str) -> Result<Dialect, StoreError> {
        let scheme = dsn.split_once(':').map_or(dsn, |(scheme, _)| scheme);
        match scheme.to_ascii_lowercase().as_str() {
            "memory" | "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::MySql),
            // Only the scheme: the rest of a DSN may hold a password.
            other => Err(StoreError::Backend(format!(
                "unsupported DSN scheme {other:?}: expected sqlite:, memory, postgres:, postgresql:, mysql: or mariadb:"
            ))),
        }
    }

    /// The dialect's name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }

    /// Rewrites a query written with `?` placeholders for this dialect: PostgreSQL
    /// numbers them (`$1`, `$2`, …); SQLite and MySQL take `?` as is. Question marks
    /// inside quoted literals or identifiers are left alone.
    pub fn translate(self, sql: &str) -> String {
        if self != Dialect::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        let mut quote: Option<char> = None;
        for c in sql.chars() {
            match quote {
                None if c == '?' => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                    continue;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ => {}
            }
            out.push(c);
        }
        out
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_schemes() {
        assert_eq!(Dialect::from_dsn("memory").ok(), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_dsn("sqlite::memory:").ok(), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_dsn("sqlite://data/latch.db").ok(), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_dsn("postgres://u@h/db").ok(), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_dsn("postgresql://u@h/db").ok(), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_dsn("mysql://u@h/db").ok(), Some(Dialect::MySql));
        assert_eq!(Dialect::from_dsn("mariadb://u@h/db").ok(), Some(Dialect::MySql));
        let err = Dialect::from_dsn("oracle://scott:tiger@h/db").unwrap_err();
        assert!(!err.to_string().contains("tiger"), "{err}");
    }

    #[test]
    fn postgres_placeholders_are_numbered_outside_quotes() {
        let sql = "SELECT '?', \"a?\" FROM t WHERE a = ? AND b = 'it''s ?' AND c = ?";
        assert_eq!(
            Dialect::Postgres.translate(sql),
            "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = 'it''s ?' AND c = $2"
        );
        assert_eq!(Dialect::MySql.translate(sql), sql);
        assert_eq!(Dialect::Sqlite.translate(sql), sql);
    }
}
