//! Scope and audience checks.

/// Whether `requested` is allowed by one of the client's scopes (Hydra's default
/// "wildcard" strategy): an exact match, or a client scope whose `*` segments each
/// match one dot-separated segment of the requested scope (`photos.*` allows
/// `photos.read`).
///
/// RFC 6749 §3.3: the server may fully or partially ignore the requested scope; Latch
/// refuses a scope the client may not ask for with `invalid_scope`.
pub fn scope_allowed<'a>(client_scopes: impl IntoIterator<Item = &'a str>, requested: &str) -> bool {
    client_scopes.into_iter().any(|allowed| {
        if allowed == requested {
            return true;
        }
        if !allowed.contains('*') {
            return false;
        }
        let a: Vec<&str> = allowed.split('.').collect();
        let r: Vec<&str> = requested.split('.').collect();
        a.len() == r.len() && a.iter().zip(&r).all(|(x, y)| *x == "*" || x == y)
    })
}

/// The audience a request asks for, each allowed to `client` (Hydra's `audience`
/// whitelist): its `audience` values and its `resource`s (RFC 8707 §2: absolute URIs
/// without a fragment; both may be repeated). An audience the client may not have is
/// `invalid_request` (as Hydra answers); a resource, `invalid_target` (RFC 8707 §2).
pub fn requested_audience(
    allowed: &[String],
    params: &crate::http::Params,
) -> Result<Vec<String>, crate::error::Error> {
    use crate::error::{Error, ErrorCode};
    let mut audience = params.list("audience");
    if let Some(a) = audience.iter().find(|a| !audience_allowed(allowed, a)) {
        return Err(Error::invalid_request(format!(
            "Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."
        )));
    }
    for resource in params.list("resource") {
        let absolute = url::Url::parse(&resource).is_ok_and(|u| u.fragment().is_none() && !u.cannot_be_a_base());
        if !absolute {
            return Err(Error::new(ErrorCode::InvalidTarget)
                .with_hint("The 'resource' parameter must be an absolute URI without a fragment."));
        }
        if !audience_allowed(allowed, &resource) {
            return Err(Error::new(ErrorCode::InvalidTarget)
                .with_hint(format!("The OAuth 2.0 Client may not have tokens for resource '{resource}'.")));
        }
        if !audience.contains(&resource) {
            audience.push(resource);
        }
    }
    Ok(audience)
}

/// Whether `requested` is an audience the client registered (Hydra's default audience
/// matching): an exact match, or for URLs, the same scheme and host with the allowed
/// path as a path prefix (`https://api.example/v1` allows `https://api.example/v1/users`).
pub fn audience_allowed(client_audience: &[String], requested: &str) -> bool {
    client_audience.iter().any(|allowed| {
        if allowed == requested {
            return true;
        }
        match (url::Url::parse(allowed), url::Url::parse(requested)) {
            (Ok(a), Ok(r)) => {
                let ap = a.path().trim_end_matches('/');
                a.scheme() == r.scheme()
                    && a.host_str() == r.host_str()
                    && a.port() == r.port()
                    && (r.path() == ap || r.path().starts_with(&format!("{ap}/")))
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_matching_table() {
        let client = ["openid", "offline", "photos.*", "a.*.c"];
        for (req, ok) in [
            ("openid", true),
            ("photos.read", true),
            ("photos", false),
            ("photos.read.all", false),
            ("a.b.c", true),
            ("a.b.d", false),
            ("email", false),
        ] {
            assert_eq!(scope_allowed(client, req), ok, "{req}");
        }
    }

    #[test]
    fn audience_matching_table() {
        let aud = vec!["https://api.example/v1".to_string(), "urn:my:aud".to_string()];
        for (req, ok) in [
            ("https://api.example/v1", true),
            ("https://api.example/v1/users", true),
            ("https://api.example/v10", false),
            ("http://api.example/v1", false),
            ("https://evil.example/v1", false),
            ("urn:my:aud", true),
            ("urn:my:aud:x", false),
        ] {
            assert_eq!(audience_allowed(&aud, req), ok, "{req}");
        }
    }
}
