//! One error type for the whole protocol, mirroring the OAuth 2.0 error table.
//!
//! Every error Latch returns to a client is an [`Error`]: a spec-level [`ErrorCode`]
//! (the `error` field of RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 6750 §3.1 and OIDC Core
//! §3.1.2.6), its HTTP status, the spec's own public description, an optional developer
//! hint (Hydra's `error_hint`) and optional debug detail (Hydra's `error_debug`), which
//! the renderer shows only in dev mode.
//!
//! Two errors are equal when their codes are equal: tests assert on the spec-level
//! code, not on prose.

use std::fmt;

macro_rules! error_table {
    ($( $(#[$doc:meta])* $variant:ident => ($wire:literal, $status:literal, $description:literal), )*) => {
        /// The spec-level error codes Latch can answer with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode { $( $(#[$doc])* $variant, )* }

        impl ErrorCode {
            /// The `error` string on the wire.
            pub fn as_str(self) -> &'static str { match self { $( Self::$variant => $wire, )* } }
            /// The HTTP status the error is sent with.
            pub fn status(self) -> u16 { match self { $( Self::$variant => $status, )* } }
            /// The public description (the spec's own sentence where the spec has one).
            pub fn description(self) -> &'static str { match self { $( Self::$variant => $description, )* } }
        }
    };
}

error_table! {
    /// RFC 6749 §5.2: a required parameter is missing, a parameter is repeated or malformed.
    InvalidRequest => ("invalid_request", 400, "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."),
    /// RFC 6749 §5.2: client authentication failed (unknown client, bad secret, wrong method).
    InvalidClient => ("invalid_client", 401, "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."),
    /// RFC 6749 §5.2: the grant (code, refresh token) is invalid, expired, revoked or was issued to another client.
    InvalidGrant => ("invalid_grant", 400, "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."),
    /// RFC 6749 §5.2: the client may not use this grant type.
    UnauthorizedClient => ("unauthorized_client", 400, "The authenticated client is not authorized to use this authorization grant type."),
    /// RFC 6749 §5.2: the server does not support the grant type.
    UnsupportedGrantType => ("unsupported_grant_type", 400, "The authorization grant type is not supported by the authorization server."),
    /// RFC 6749 §4.1.2.1: the server does not support this response type.
    UnsupportedResponseType => ("unsupported_response_type", 400, "The authorization server does not support obtaining a token using this method."),
    /// RFC 6749 §5.2: the requested scope is invalid, unknown, or exceeds what the client may ask for.
    InvalidScope => ("invalid_scope", 400, "The requested scope is invalid, unknown, or malformed."),
    /// RFC 6749 §4.1.2.1: the resource owner or server denied the request.
    AccessDenied => ("access_denied", 403, "The resource owner or authorization server denied the request."),
    /// OIDC Core §3.1.2.6: `prompt=none`, but the End-User is not authenticated.
    LoginRequired => ("login_required", 400, "The Authorization Server requires End-User authentication."),
    /// OIDC Core §3.1.2.6: `prompt=none`, but the End-User has not consented.
    ConsentRequired => ("consent_required", 400, "The Authorization Server requires End-User consent."),
    /// OIDC Core §3.1.2.6: `prompt=none`, but some interaction is needed.
    InteractionRequired => ("interaction_required", 400, "The Authorization Server requires End-User interaction of some form to proceed."),
    /// OIDC Core §3.1.2.6: `prompt=none`, but the End-User must pick a session.
    AccountSelectionRequired => ("account_selection_required", 400, "The End-User is required to select a session at the Authorization Server."),
    /// OIDC Core §3.1.2.6: the `request_uri` (§6.2) answers an error or invalid data.
    InvalidRequestUri => ("invalid_request_uri", 400, "The request_uri in the Authorization Request returns an error or contains invalid data."),
    /// OIDC Core §3.1.2.6: the `request` parameter holds an invalid Request Object (§6.1).
    InvalidRequestObject => ("invalid_request_object", 400, "The request parameter contains an invalid Request Object."),
    /// OIDC Core §3.1.2.6: the `request` parameter (a request object, §6.1) is not supported.
    RequestNotSupported => ("request_not_supported", 400, "The OP does not support use of the request parameter."),
    /// OIDC Core §3.1.2.6: the `request_uri` parameter (§6.2) is not supported.
    RequestUriNotSupported => ("request_uri_not_supported", 400, "The OP does not support use of the request_uri parameter."),
    /// OIDC Core §3.1.2.6: the `registration` parameter (§7.2.1) is not supported.
    RegistrationNotSupported => ("registration_not_supported", 400, "The OP does not support use of the registration parameter."),
    /// RFC 7591 §3.2.2: a client metadata field is invalid or may not be set.
    InvalidClientMetadata => ("invalid_client_metadata", 400, "The value of one of the Client Metadata fields is invalid and the server has rejected this request."),
    /// The caller sent too many requests of this kind (dynamic registration's limit per address).
    TooManyRequests => ("too_many_requests", 429, "Too many requests were sent; try again later."),
    /// RFC 8628 §3.5: the device authorization request is still pending.
    AuthorizationPending => ("authorization_pending", 400, "The authorization request is still pending as the end user hasn't yet completed the user-interaction steps."),
    /// RFC 8628 §3.5: still pending, and the client must poll less often.
    SlowDown => ("slow_down", 400, "The authorization request is still pending and polling should continue, but the interval must be increased by 5 seconds for this and all subsequent requests."),
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken => ("expired_token", 400, "The device_code has expired, and the device authorization session has concluded."),
    /// RFC 7009 §2.2.1: the server does not support revoking this token type.
    UnsupportedTokenType => ("unsupported_token_type", 400, "The authorization server does not support the revocation of the presented token type."),
    /// RFC 9449 §5, §7.1: the DPoP proof is missing, malformed, replayed or does not fit the request or the token.
    InvalidDpopProof => ("invalid_dpop_proof", 400, "The DPoP proof is missing, malformed, replayed or does not match the request."),
    /// RFC 9449 §8: the proof must carry the nonce the server gives in `DPoP-Nonce`.
    UseDpopNonce => ("use_dpop_nonce", 400, "The authorization server requires a nonce in the DPoP proof."),
    /// RFC 8707 §2, RFC 8693 §2.2.2: the requested resource or audience is not one the client may have a token for.
    InvalidTarget => ("invalid_target", 400, "The requested resource is invalid, missing, unknown, or malformed."),
    /// RFC 6750 §3.1: the access token is expired, revoked, malformed or invalid.
    InvalidToken => ("invalid_token", 401, "The access token provided is expired, revoked, malformed, or invalid for other reasons."),
    /// RFC 6749 §4.1.2.1: an unexpected condition; a bug or a failing backend. Never caused by input alone.
    ServerError => ("server_error", 500, "The authorization server encountered an unexpected condition that prevented it from fulfilling the request."),
    /// RFC 6749 §4.1.2.1: temporary overload or maintenance (e.g. the database is unreachable).
    TemporarilyUnavailable => ("temporarily_unavailable", 503, "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server."),
    /// Admin API: the addressed resource does not exist.
    NotFound => ("not_found", 404, "Unable to locate the resource."),
    /// Admin API: the resource already exists (e.g. a client id taken).
    Conflict => ("conflict", 409, "The resource could not be created because it conflicts with an existing one."),
    /// The HTTP method is not allowed on this path.
    MethodNotAllowed => ("method_not_allowed", 405, "The request method is not supported for this resource."),
    /// The body's media type is not one this endpoint accepts.
    UnsupportedMediaType => ("unsupported_media_type", 415, "The request body's content type is not supported by this endpoint."),
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge => ("request_entity_too_large", 413, "The request body is too large."),
    /// The request's body did not arrive in the time the server allows.
    RequestTimeout => ("request_timeout", 408, "The request was not received in time."),
    /// The admin API requires a credential that was missing or wrong.
    Unauthorized => ("unauthorized", 401, "The request could not be authorized."),
}

/// An error answered to a client: code, public description, developer hint, debug detail.
#[derive(Clone, Debug)]
pub struct Error {
    /// The spec-level code; determines the `error` field and the HTTP status.
    pub code: ErrorCode,
    /// Overrides the code's standard description when set.
    pub description: Option<String>,
    /// A hint for the developer calling the API (Hydra's `error_hint`).
    pub hint: Option<String>,
    /// Detail for debugging (Hydra's `error_debug`); rendered only in dev mode.
    pub debug: Option<String>,
    /// A wire `error` other than the code's own: whatever a login/consent UI's
    /// rejection named (Hydra passes it through). Every code Latch itself answers with
    /// is a row of the table.
    pub wire: Option<String>,
    /// One header the answer carries: a 405's `Allow` (RFC 9110 §15.5.6), or a
    /// `use_dpop_nonce`'s `DPoP-Nonce` (RFC 9449 §8). Boxed: every `Result` in the core
    /// carries an `Error`, so it stays small.
    pub header: Option<Box<(&'static str, String)>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Self {
        Error { code, description: None, hint: None, debug: None, wire: None, header: None }
    }
}

impl Error {
    /// An error with the code's standard description.
    pub fn new(code: ErrorCode) -> Self {
        code.into()
    }
    /// `invalid_request` with a hint.
    pub fn invalid_request(hint: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest).with_hint(hint)
    }
    /// `invalid_client` with a hint.
    pub fn invalid_client(hint: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient).with_hint(hint)
    }
    /// `not_found` with a hint.
    pub fn not_found(hint: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound).with_hint(hint)
    }
    /// `server_error` with debug detail (never shown outside dev mode).
    pub fn server(debug: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServerError).with_debug(debug)
    }
    /// Sends `error` as `wire` instead of the code's own string (status unchanged).
    pub fn into_code(mut self, wire: &str) -> Self {
        self.wire = Some(wire.to_string());
        self
    }
    /// The `error` string on the wire.
    pub fn wire_code(&self) -> &str {
        self.wire.as_deref().unwrap_or(self.code.as_str())
    }
    /// Adds a developer hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Replaces the public description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Names the methods the resource allows (a 405's `Allow` header).
    pub fn with_allow(mut self, methods: impl Into<String>) -> Self {
        self.header = Some(Box::new(("allow", methods.into())));
        self
    }
    /// Adds the one header the answer carries (see [`Error::header`]).
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.header = Some(Box::new((name, value)));
        self
    }
    /// Adds debug detail.
    pub fn with_debug(mut self, debug: impl Into<String>) -> Self {
        self.debug = Some(debug.into());
        self
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    /// The public description: the override or the code's standard sentence.
    pub fn description(&self) -> &str {
        self.description.as_deref().unwrap_or(self.code.description())
    }

    /// The JSON body: `error`, `error_description` (the description followed by the hint,
    /// as Hydra renders it), `error_hint`, `status_code`, and `error_debug` only when
    /// `expose_debug` is set.
    pub fn to_json(&self, expose_debug: bool) -> serde_json::Value {
        let mut description = self.description().to_string();
        if let Some(h) = &self.hint {
            description.push(' ');
            description.push_str(h);
        }
        let mut m = serde_json::Map::new();
        m.insert("error".into(), self.wire_code().into());
        m.insert("error_description".into(), description.into());
        if let Some(h) = &self.hint {
            m.insert("error_hint".into(), h.clone().into());
        }
        m.insert("status_code".into(), self.status().into());
        if expose_debug {
            if let Some(d) = &self.debug {
                m.insert("error_debug".into(), d.clone().into());
            }
        }
        serde_json::Value::Object(m)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.wire_code(), self.description())?;
        if let Some(h) = &self.hint {
            write!(f, " {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Why a storage operation failed. Stores map their backend errors into this.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A row with the same key exists already.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend is unreachable or overloaded; the caller may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Any other backend failure (a bug, a corrupt row).
    #[error("storage error: {0}")]
    Backend(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(d) => Error::new(ErrorCode::Conflict).with_debug(d),
            StoreError::Unavailable(d) => Error::new(ErrorCode::TemporarilyUnavailable).with_debug(d),
            StoreError::Backend(d) => Error::server(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_render_as_rfc6749_json() {
        let cases: &[(ErrorCode, &str, u16)] = &[
            (ErrorCode::InvalidRequest, "invalid_request", 400),
            (ErrorCode::InvalidClient, "invalid_client", 401),
            (ErrorCode::InvalidGrant, "invalid_grant", 400),
            (ErrorCode::UnsupportedGrantType, "unsupported_grant_type", 400),
            (ErrorCode::InvalidScope, "invalid_scope", 400),
            (ErrorCode::NotFound, "not_found", 404),
            (ErrorCode::TemporarilyUnavailable, "temporarily_unavailable", 503),
            (ErrorCode::LoginRequired, "login_required", 400),
            (ErrorCode::ConsentRequired, "consent_required", 400),
            (ErrorCode::AuthorizationPending, "authorization_pending", 400),
            (ErrorCode::SlowDown, "slow_down", 400),
            (ErrorCode::ExpiredToken, "expired_token", 400),
        ];
        for (code, wire, status) in cases {
            let j = Error::new(*code).to_json(false);
            assert_eq!(j["error"], *wire);
            assert_eq!(j["status_code"], *status);
            assert_eq!(j["error_description"], code.description());
        }
    }

    #[test]
    fn debug_only_in_dev_and_hint_appended() {
        let e = Error::invalid_request("The 'token' parameter is missing.").with_debug("secret detail");
        let prod = e.to_json(false);
        assert!(prod.get("error_debug").is_none());
        assert!(prod["error_description"].as_str().unwrap().ends_with("The 'token' parameter is missing."));
        assert_eq!(prod["error_hint"], "The 'token' parameter is missing.");
        assert_eq!(e.to_json(true)["error_debug"], "secret detail");
    }

    #[test]
    fn equality_is_by_code() {
        assert_eq!(Error::invalid_request("a"), Error::invalid_request("b"));
        assert_ne!(Error::invalid_request("a"), Error::new(ErrorCode::InvalidGrant));
    }
}
