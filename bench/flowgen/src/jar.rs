//! A browser's cookie jar for one flow: cookies are keyed by
//! name and path, ignore hosts and ports (the flow talks to one host), and are sent to the
//! paths they match. Max-Age <= 0 or an Expires in the past deletes one.

use std::time::SystemTime;

use hyper::header::{COOKIE, SET_COOKIE};
use hyper::Method;

use crate::flow::FlowError;
use crate::http::{Client, Response, Target};

struct Cookie {
    name: String,
    value: String,
    path: String,
}

#[derive(Default)]
pub struct Jar {
    /// In the order they were first set (a JavaScript Map's order).
    cookies: Vec<Cookie>,
}

impl Jar {
    /// Takes the answer's Set-Cookie headers.
    pub fn take(&mut self, res: &Response) {
        for line in res.headers.get_all(SET_COOKIE) {
            self.set(&String::from_utf8_lossy(line.as_bytes()));
        }
    }

    fn set(&mut self, line: &str) {
        let mut parts = line.split(';');
        let pair = parts.next().unwrap_or("");
        let Some(eq) = pair.find('=').filter(|&eq| eq > 0) else {
            return;
        };
        let name = pair[..eq].trim();
        let value = pair[eq + 1..].trim();
        let mut path = "/";
        let mut gone = false;
        for attr in parts {
            let mut kv = attr.split('=');
            let key = kv.next().unwrap_or("").trim();
            let v = kv.next().unwrap_or("").trim();
            if key.eq_ignore_ascii_case("path") {
                path = if v.is_empty() { "/" } else { v };
            } else if key.eq_ignore_ascii_case("max-age") {
                gone |= max_age_expired(v);
            } else if key.eq_ignore_ascii_case("expires") {
                gone |= date_passed(v);
            }
        }
        let at = self.cookies.iter().position(|c| c.name == name && c.path == path);
        match (at, gone) {
            (Some(i), true) => {
                self.cookies.remove(i);
            }
            (Some(i), false) => self.cookies[i].value = value.to_owned(),
            (None, true) => {}
            (None, false) => {
                self.cookies.push(Cookie { name: name.to_owned(), value: value.to_owned(), path: path.to_owned() })
            }
        }
    }

    /// The Cookie header for a request to `pathname` ("" when no cookie matches).
    pub fn header(&self, pathname: &str) -> String {
        let mut out = String::new();
        for c in self.cookies.iter().filter(|c| path_matches(pathname, &c.path)) {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.value);
        }
        out
    }

    /// A browser's GET: the jar's cookies go with it, the answer's come back into it.
    pub async fn get(&mut self, http: &mut Client, target: &Target<'_>) -> Result<Response, FlowError> {
        self.send(http, Method::GET, target, None).await
    }

    /// A browser's request with the jar's cookies; the answer's cookies are taken.
    pub async fn send(
        &mut self,
        http: &mut Client,
        method: Method,
        target: &Target<'_>,
        body: Option<bytes::Bytes>,
    ) -> Result<Response, FlowError> {
        let cookie = self.header(target.pathname());
        let headers = [(COOKIE, cookie.as_str())];
        let headers = if cookie.is_empty() { &[][..] } else { &headers[..] };
        let res = http.request(method, target, headers, body).await?;
        self.take(&res);
        Ok(res)
    }
}

/// `Number(v) <= 0` in JavaScript: "" counts as 0, anything unparsable as NaN (kept).
fn max_age_expired(v: &str) -> bool {
    v.is_empty() || v.parse::<f64>().is_ok_and(|n| n <= 0.0)
}

/// An HTTP date at or before now; an unparsable one keeps the cookie (as NaN does).
fn date_passed(v: &str) -> bool {
    httpdate::parse_http_date(v).is_ok_and(|t| t <= SystemTime::now())
}

/// RFC 6265's path-match.
fn path_matches(p: &str, cookie_path: &str) -> bool {
    p == cookie_path
        || (p.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || p.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(lines: &[&str]) -> Jar {
        let mut j = Jar::default();
        for l in lines {
            j.set(l);
        }
        j
    }

    fn header(j: &Jar, url: &str) -> String {
        j.header(url)
    }

    #[test]
    fn paths_and_deletion() {
        let mut j = jar(&["a=1; Path=/; HttpOnly", "b=2; path=/auth", "c=3; Path=/interaction/x"]);
        assert_eq!(header(&j, "/auth/xyz"), "a=1; b=2");
        assert_eq!(header(&j, "/authz"), "a=1");
        assert_eq!(header(&j, "/interaction/x"), "a=1; c=3");
        j.set("a=9; Path=/");
        assert_eq!(header(&j, "/"), "a=9");
        j.set("a=; Max-Age=0; Path=/");
        j.set("b=; path=/auth; expires=Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(header(&j, "/auth/xyz"), "");
        j.set("=x");
        j.set("noequals");
        assert_eq!(header(&j, "/interaction/x/y"), "c=3");
    }
}
