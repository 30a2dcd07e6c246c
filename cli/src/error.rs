//! The one error type of the `latch` command.
//!
//! Every command returns `Result<(), CliError>`; `main` prints the error to stderr
//! (prefixed with `Error: `) and exits with status 1. The variants only exist so the
//! messages read well: nothing matches on them except tests.

use std::fmt;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Bad input from the command line, the environment or an input file.
    Usage(String),
    /// The server answered with a status outside 2xx.
    Server {
        /// HTTP status code.
        status: u16,
        /// What the server said, from its `error` / `error_description` fields when it sent JSON.
        detail: String,
    },
    /// The request got no answer (connection refused, TLS failure, timeout, ...).
    Transport {
        /// The URL that was requested.
        url: String,
        /// The underlying error chain.
        detail: String,
    },
    /// The server answered 2xx with a body this command cannot use.
    BadResponse(String),
    /// Reading a local file or stdin, or writing stdout, failed.
    Io(String),
    /// The embedded server or the migrations failed.
    Native(String),
    /// Some of several operations failed (each failure was already printed to stderr).
    Partial(String),
    /// The interactive authorization code flow ended in an error (an error from the
    /// authorization server, a state mismatch, a failed code exchange).
    Flow(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Io(m) | CliError::Native(m) | CliError::Partial(m) | CliError::Flow(m) => {
                f.write_str(m)
            }
            CliError::Server { status, detail } => {
                let reason =
                    reqwest::StatusCode::from_u16(*status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
                write!(f, "the server answered {status}")?;
                if !reason.is_empty() {
                    write!(f, " {reason}")?;
                }
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            CliError::Transport { url, detail } => write!(f, "could not reach {url}: {detail}"),
            CliError::BadResponse(m) => write!(f, "unexpected answer from the server: {m}"),
        }
    }
}

impl std::error::Error for CliError {}

/// Shorthand used by every command module.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Renders an error and all its sources as `outer: inner: innermost`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        // Some libraries repeat their source's message in their own; skip exact repeats.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = inner.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_names_status_and_detail() {
        let e = CliError::Server { status: 401, detail: "invalid_client: Client authentication failed".into() };
        assert_eq!(e.to_string(), "the server answered 401 Unauthorized: invalid_client: Client authentication failed");
    }

    #[test]
    fn server_error_without_detail() {
        let e = CliError::Server { status: 500, detail: String::new() };
        assert_eq!(e.to_string(), "the server answered 500 Internal Server Error");
    }

    #[test]
    fn chain_joins_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("request failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(error_chain(&e), "request failed: connection refused");
    }
}
