//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3).
//!
//! Supported: `client_secret_basic` (§2.3.1, HTTP Basic), `client_secret_post`
//! (§2.3.1, credentials in the body) and `none` (public clients, RFC 7591 §2:
//! `client_id` only). `private_key_jwt` (RFC 7523 §2.2) is recognised and answered
//! with a clear error until it is built: the `client_assertion` branch below is where
//! it goes.

use crate::client::Client;
use crate::error::Error;
use crate::http::{Params, Request};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;

/// The credentials a request presented.
enum Presented {
    Basic(String, String),
    Post(String, String),
    None(String),
    Assertion,
}

/// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in
/// each request."
fn presented(req: &Request, params: &Params) -> Result<Presented, Error> {
    let basic = req.basic_auth()?;
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some();
    let methods = basic.is_some() as u8 + post_secret.is_some() as u8 + assertion as u8;
    if methods > 1 {
        return Err(Error::invalid_request("The client used more than one authentication method in one request."));
    }
    if let Some((id, secret)) = basic {
        if let Some(body_id) = params.get("client_id") {
            if body_id != id {
                return Err(Error::invalid_request(
                    "The 'client_id' parameter does not match the authenticated client.",
                ));
            }
        }
        return Ok(Presented::Basic(id, secret));
    }
    if assertion {
        return Ok(Presented::Assertion);
    }
    let id = params.get("client_id").ok_or_else(|| {
        Error::invalid_client(
            "The client did not authenticate: send HTTP Basic credentials or 'client_id' (and 'client_secret').",
        )
    })?;
    Ok(match post_secret {
        Some(s) => Presented::Post(id.to_string(), s.to_string()),
        None => Presented::None(id.to_string()),
    })
}

/// Authenticates the client of a token or revocation request.
pub async fn authenticate<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    params: &Params,
) -> Result<std::sync::Arc<Client>, Error> {
    let presented = presented(req, params)?;
    let (id, secret, method) = match &presented {
        Presented::Basic(id, s) => (id.as_str(), Some(s.as_str()), "client_secret_basic"),
        Presented::Post(id, s) => (id.as_str(), Some(s.as_str()), "client_secret_post"),
        Presented::None(id) => (id.as_str(), None, "none"),
        Presented::Assertion => {
            return Err(Error::invalid_client("The 'private_key_jwt' authentication method is not supported yet."))
        }
    };
    let unknown =
        || Error::invalid_client("The requested OAuth 2.0 Client does not exist or the credentials are wrong.");
    let client = latch.client(id).await?.ok_or_else(unknown)?;
    if client.token_endpoint_auth_method != method {
        return Err(Error::invalid_client(format!(
            "The OAuth 2.0 Client supports client authentication method '{}', but method '{method}' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '{method}'.",
            client.token_endpoint_auth_method
        )));
    }
    if let Some(secret) = secret {
        let stored = client.secret_hash.as_deref().ok_or_else(unknown)?;
        if !latch.secrets.verify(&latch.platform, &client.client_id, stored, secret).await {
            return Err(unknown());
        }
    }
    Ok(client)
}
