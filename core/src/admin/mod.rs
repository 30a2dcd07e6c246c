//! The admin API (Hydra v2 shapes, served under `/admin` and at v1's un-prefixed
//! paths).

pub mod clients;
pub mod flows;
pub mod keys;
pub mod tokens;
pub mod trust;

use crate::error::Error;
use crate::http::Params;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;

/// Default page size of the admin API's lists (Hydra's).
pub const DEFAULT_PAGE_SIZE: u32 = 250;
/// The largest page answered (Hydra's); a larger `page_size` is answered at this size.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A list request's page (Hydra v2's keyset pagination): `page_size` (capped at
/// [`MAX_PAGE_SIZE`], as Hydra caps it) and `page_token`, which names the last item of
/// the previous page.
pub struct Page {
    /// How many items to answer.
    pub size: u32,
    /// The id after which the page starts.
    pub after: Option<String>,
}

impl Page {
    /// Reads `page_size` and `page_token`.
    pub fn of(q: &Params) -> Result<Page, Error> {
        let size = match q.get("page_size") {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => {
                s.parse::<u64>().ok().filter(|n| *n >= 1).map(|n| n.min(MAX_PAGE_SIZE.into()) as u32).ok_or_else(
                    || {
                        Error::invalid_request(format!(
                            "'page_size' must be a positive integer (at most {MAX_PAGE_SIZE} are answered)."
                        ))
                    },
                )?
            }
        };
        let after = match q.get("page_token") {
            None => None,
            Some(t) => Some(
                B64.decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| Error::invalid_request("'page_token' is not a token this server issued."))?,
            ),
        };
        Ok(Page { size, after })
    }

    /// The `Link` header of a page at `path` (whose query, if any, is kept) ending at
    /// `last` when more follow (RFC 8288; Hydra's `rel="first"` and `rel="next"`).
    pub fn link(&self, path: &str, last: Option<&str>) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut links = vec![format!("<{path}{sep}page_size={}>; rel=\"first\"", self.size)];
        if let Some(last) = last {
            links.push(format!("<{path}{sep}page_size={}&page_token={}>; rel=\"next\"", self.size, B64.encode(last)));
        }
        links.join(",")
    }
}
