//! `DELETE /admin/oauth2/tokens?client_id=`: deletes every access token of a client.

use crate::error::Error;
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;

/// Deletes a client's access tokens; 204 whether or not there were any.
pub async fn delete_client_tokens<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
) -> Result<Response, Error> {
    let q = req.query_params()?;
    let client_id = q.require("client_id")?;
    latch.store.delete_client_access_tokens(client_id).await?;
    Ok(Response::empty(204))
}
