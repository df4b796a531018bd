//! The lean HTTP/1.1 path under `User`: one keep-alive connection per user, opened at its first
//! request and again once the server closed it or a request failed on it, driven inline by the
//! request that uses it (hyper's `client::conn::http1`: no pool, no spawned task, no per-request
//! URL parsing, no client clone). `User` sends through it the requests to an `http://` base URL
//! whose path is plain and whose body is in memory; everything else goes through reqwest.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use tokio::net::TcpStream;

use super::metrics::ErrorKind;

/// How long a user waits for a TCP connection (reqwest's `connect_timeout` before).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An `http://` base URL cut into its parts once per user: what to connect to and the `Host`
/// header. Offsets index the base URL itself, so the user keeps no copy of it.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// `Host`: the authority, without the default port (as reqwest sends it).
    host_header: HeaderValue,
    /// The host to connect to is `base[host.0..host.1]` (an IPv6 address without brackets).
    host: (usize, usize),
    /// The port to connect to.
    port: u16,
    /// The base URL's own path (`""`, or `/api` for `http://host/api`) starts here.
    path_start: usize,
}

impl Origin {
    /// The parts of `base`, or `None` when it is not a plain `http://host[:port][/path]` URL
    /// (https, user info, a query, non-ASCII or upper-case host: reqwest takes those).
    pub(crate) fn parse(base: &str) -> Option<Origin> {
        let rest = base.strip_prefix("http://")?;
        let authority_len = rest.find('/').unwrap_or(rest.len());
        let path_start = "http://".len() + authority_len;
        let authority = &rest[..authority_len];
        if authority.is_empty() || !plain_path(&base[path_start..]) || base.contains('?') {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']')?;
            let after = &v6[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => 80,
                None => return None,
            };
            v6[..close].parse::<std::net::Ipv6Addr>().ok()?;
            ((8, 8 + close), port)
        } else {
            let (name, port) = match authority.rsplit_once(':') {
                Some((name, p)) => (name, p.parse().ok()?),
                None => (authority, 80),
            };
            let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b);
            if name.is_empty() || !name.bytes().all(plain) {
                return None;
            }
            ((7, 7 + name.len()), port)
        };
        let shown = if port == 80 {
            authority.strip_suffix(":80").unwrap_or(authority)
        } else {
            authority
        };
        Some(Origin {
            host_header: HeaderValue::from_str(shown).ok()?,
            host,
            port,
            path_start,
        })
    }

    /// The request target (origin form) of `path` under `base`, as `User::url` joins them, or
    /// `None` when the path is one reqwest's URL parser would rewrite (dot segments, characters
    /// it percent-encodes): such requests go through reqwest, so the bytes sent never differ.
    pub(crate) fn target(&self, base: &str, path: &str) -> Option<hyper::http::uri::PathAndQuery> {
        let prefix = &base[self.path_start..];
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        if !plain_path(path_part) || !query.is_none_or(plain_query) {
            return None;
        }
        let slash = !path.starts_with('/');
        let mut target = String::with_capacity(prefix.len() + usize::from(slash) + path.len());
        target.push_str(prefix);
        if slash {
            target.push('/');
        }
        target.push_str(path);
        hyper::http::uri::PathAndQuery::from_maybe_shared(Bytes::from(target)).ok()
    }

    /// The `Host` header.
    pub(crate) fn host_header(&self) -> &HeaderValue {
        &self.host_header
    }
}

/// Whether reqwest's URL parser keeps this path as it is: unreserved and sub-delimiter
/// characters, `:`, `@`, `/` and `%` only, and no `.` or `..` segment (literal or encoded).
fn plain_path(path: &str) -> bool {
    path.bytes().all(plain_byte)
        && !path.contains("/.")
        && !path.contains("%2e")
        && !path.contains("%2E")
        && !path.starts_with('.')
}

/// Whether reqwest's URL parser keeps this query as it is (it encodes `'` in a query).
fn plain_query(query: &str) -> bool {
    query.bytes().all(|b| plain_byte(b) || b == b'?')
}

fn plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/%".contains(&b)
}

/// A user's keep-alive connection: hyper's two halves, polled by whoever sends on it.
pub(crate) struct Connection {
    sender: http1::SendRequest<reqwest::Body>,
    conn: http1::Connection<TokioIo<TcpStream>, reqwest::Body>,
    /// The connection future finished: the server closed it, or it failed.
    closed: bool,
    /// A request started on it and has not finished cleanly (cancelled by the iteration's
    /// timeout, or failed): what is left on the wire is unknown, so it is never reused.
    busy: bool,
}

impl Connection {
    /// Opens a connection to `origin` within [`CONNECT_TIMEOUT`], with `TCP_NODELAY`.
    pub(crate) async fn open(origin: &Origin, base: &str) -> Result<Connection, LeanError> {
        let host = &base[origin.host.0..origin.host.1];
        let stream =
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, origin.port)))
                .await
            {
                Err(_) => return Err(LeanError::ConnectTimeout),
                Ok(Err(e)) => return Err(LeanError::Connect(e)),
                Ok(Ok(stream)) => stream,
            };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(LeanError::Handshake)?;
        Ok(Connection {
            sender,
            conn,
            closed: false,
            busy: false,
        })
    }

    /// Whether this connection can take a request now: not closed by the server (which it
    /// learns by being polled), not left busy, and ready.
    pub(crate) async fn reusable(&mut self) -> bool {
        if self.busy {
            return false;
        }
        poll_fn(|cx| {
            self.poll_conn(cx);
            if self.closed {
                return Poll::Ready(false);
            }
            self.sender.poll_ready(cx).map(|ready| ready.is_ok())
        })
        .await
    }

    fn poll_conn(&mut self, cx: &mut std::task::Context<'_>) {
        if !self.closed && Pin::new(&mut self.conn).poll(cx).is_ready() {
            self.closed = true;
        }
    }

    /// Polls `fut` to its end while driving the connection (its reads and writes happen in
    /// the connection future, which no task of its own polls).
    async fn drive<F: Future>(&mut self, fut: F) -> F::Output {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            self.poll_conn(cx);
            fut.as_mut().poll(cx)
        })
        .await
    }

    /// Sends `request` and waits for the response head. A request the connection refused
    /// before writing it (closed under it) comes back in `Retry`.
    pub(crate) async fn send(
        &mut self,
        request: hyper::Request<reqwest::Body>,
    ) -> Result<hyper::Response<Incoming>, SendFailure> {
        self.busy = true;
        let sent = self.sender.try_send_request(request);
        match self.drive(sent).await {
            Ok(response) => Ok(response),
            Err(mut e) => match e.take_message() {
                Some(request) => Err(SendFailure::Retry(Box::new(request))),
                None => Err(SendFailure::Failed(LeanError::Send(e.into_error()))),
            },
        }
    }

    /// Reads `body` to its end, handing each data chunk to `push`; the connection is reusable
    /// after a whole body.
    pub(crate) async fn read_body(
        &mut self,
        body: &mut Incoming,
        mut push: impl FnMut(Bytes),
    ) -> Result<(), hyper::Error> {
        loop {
            let frame = self
                .drive(poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)))
                .await;
            match frame {
                None => break,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        push(data);
                    }
                }
                Some(Err(e)) => return Err(e),
            }
        }
        self.busy = false;
        Ok(())
    }
}

/// Why `Connection::send` did not get a response head.
pub(crate) enum SendFailure {
    /// The connection closed before the request was written: it may be sent again on a new one.
    Retry(Box<hyper::Request<reqwest::Body>>),
    /// Anything else.
    Failed(LeanError),
}

/// A failure of the lean path, with the message a test's report shows.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LeanError {
    /// The TCP connect failed (refused, unreachable, out of descriptors).
    #[error("error connecting")]
    Connect(#[source] std::io::Error),
    /// The TCP connect took longer than [`CONNECT_TIMEOUT`].
    #[error("connecting timed out after {}s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout,
    /// hyper refused the new connection.
    #[error("error starting the HTTP/1.1 connection")]
    Handshake(#[source] hyper::Error),
    /// No response head within the request's timeout.
    #[error("operation timed out: no response within {0:?}")]
    Timeout(Duration),
    /// Writing the request or reading the response head failed.
    #[error("error sending request")]
    Send(#[source] hyper::Error),
    /// The server closed the connection before the request was written, twice in a row (a
    /// reused connection, then a new one).
    #[error("error sending request: the server closed the connection before it was written")]
    ClosedBeforeSending,
}

impl LeanError {
    /// The error kind of this failure, as `classify` gives for reqwest's errors.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            LeanError::Connect(_) | LeanError::Handshake(_) => ErrorKind::Connect,
            LeanError::ConnectTimeout | LeanError::Timeout(_) => ErrorKind::Timeout,
            LeanError::ClosedBeforeSending => ErrorKind::Closed,
            LeanError::Send(e) => {
                if super::closed_by_the_server(e) {
                    ErrorKind::Closed
                } else {
                    ErrorKind::Request
                }
            }
        }
    }
}

/// The next request of a redirect, as reqwest (tower-http's `FollowRedirect`) makes it: 301 and
/// 302 turn a POST into a GET without body, 303 turns anything but HEAD into one, 307 and 308
/// keep method and body; the payload headers go with the body, and the credentials when the
/// next URL is on another host. `None` when `status` is not a redirect to follow.
pub(crate) fn redirect(
    status: u16,
    method: &Method,
    headers: &mut HeaderMap,
    body: &mut Option<reqwest::Body>,
) -> Option<Method> {
    use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
    let drop_payload = |headers: &mut HeaderMap, body: &mut Option<reqwest::Body>| {
        *body = None;
        for name in [
            CONTENT_ENCODING,
            CONTENT_LENGTH,
            CONTENT_TYPE,
            TRANSFER_ENCODING,
        ] {
            headers.remove(name);
        }
    };
    match status {
        301 | 302 => {
            if *method == Method::POST {
                drop_payload(headers, body);
                return Some(Method::GET);
            }
            Some(method.clone())
        }
        303 => {
            drop_payload(headers, body);
            Some(if *method == Method::HEAD {
                Method::HEAD
            } else {
                Method::GET
            })
        }
        307 | 308 => Some(method.clone()),
        _ => None,
    }
}

/// Removes what reqwest removes before following a redirect to another host or port.
pub(crate) fn remove_credentials(
    headers: &mut HeaderMap,
    next: &reqwest::Url,
    previous: &reqwest::Url,
) {
    use reqwest::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE};
    if next.host_str() != previous.host_str()
        || next.port_or_known_default() != previous.port_or_known_default()
    {
        for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE] {
            headers.remove(name);
        }
        headers.remove("cookie2");
    }
}

/// The `Referer` reqwest sets on a redirect: the previous URL without credentials or fragment,
/// never from https to http.
pub(crate) fn referer(next: &reqwest::Url, previous: &reqwest::Url) -> Option<HeaderValue> {
    if next.scheme() == "http" && previous.scheme() == "https" {
        return None;
    }
    let mut referer = previous.clone();
    let _ = referer.set_username("");
    let _ = referer.set_password(None);
    referer.set_fragment(None);
    referer.as_str().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{plain_path, redirect, referer, remove_credentials, Origin};
    use reqwest::header::HeaderMap;
    use reqwest::Method;

    fn target(base: &str, path: &str) -> Option<String> {
        Origin::parse(base)?
            .target(base, path)
            .map(|t| t.as_str().to_string())
    }

    #[test]
    fn a_plain_http_base_is_cut_once() {
        let base = "http://127.0.0.1:8080";
        let o = Origin::parse(base).expect("plain");
        assert_eq!(o.host_header(), "127.0.0.1:8080");
        assert_eq!(&base[o.host.0..o.host.1], "127.0.0.1");
        assert_eq!(o.port, 8080);

        let base = "http://localhost/api";
        let o = Origin::parse(base).expect("plain");
        assert_eq!(o.host_header(), "localhost", "port 80 is not shown");
        assert_eq!(o.port, 80);
        assert_eq!(&base[o.path_start..], "/api");

        let base = "http://example.com:80";
        let o = Origin::parse(base).expect("plain");
        assert_eq!(
            o.host_header(),
            "example.com",
            "as reqwest drops the default port"
        );

        let base = "http://[::1]:9000";
        let o = Origin::parse(base).expect("plain");
        assert_eq!(&base[o.host.0..o.host.1], "::1");
        assert_eq!(o.host_header(), "[::1]:9000");
        assert_eq!(o.port, 9000);

        for other in [
            "https://127.0.0.1:8080",
            "http://user:pw@host:1",
            "http://Host:1",
            "http://hóst:1",
            "http://host:99999",
            "http://host:x",
            "http://",
            "http://host/a?b",
            "http://[::1",
        ] {
            assert!(Origin::parse(other).is_none(), "{other} goes to reqwest");
        }
    }

    #[test]
    fn targets_join_as_user_url_does() {
        let base = "http://127.0.0.1:1";
        assert_eq!(
            target(base, "/a/b?x=1&y=2").as_deref(),
            Some("/a/b?x=1&y=2")
        );
        assert_eq!(target(base, "a").as_deref(), Some("/a"));
        assert_eq!(target(base, "").as_deref(), Some("/"));
        assert_eq!(target(base, "/").as_deref(), Some("/"));
        assert_eq!(target("http://h:1/api", "/v1").as_deref(), Some("/api/v1"));
        assert_eq!(
            target("http://h:1/api", "v1?q").as_deref(),
            Some("/api/v1?q")
        );
        assert_eq!(target(base, "/%41%20b").as_deref(), Some("/%41%20b"));
    }

    #[test]
    fn paths_reqwest_would_rewrite_go_to_reqwest() {
        let base = "http://127.0.0.1:1";
        for path in [
            "/a b",
            "/a/../b",
            "/a/./b",
            "/.well-known",
            "/a/%2e%2E/b",
            "/ü",
            "/a#frag",
            "/a\"b",
            "/{x}",
            "/a\\b",
            "/q?it's",
        ] {
            assert_eq!(target(base, path), None, "{path}");
        }
        assert!(plain_path("/a.b/c.d"));
    }

    #[test]
    fn redirects_change_method_and_body_as_reqwest_does() {
        let body = || Some(reqwest::Body::from("x"));
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().expect("value"));
        headers.insert("authorization", "Bearer t".parse().expect("value"));

        let (mut h, mut b) = (headers.clone(), body());
        assert_eq!(
            redirect(302, &Method::POST, &mut h, &mut b),
            Some(Method::GET)
        );
        assert!(b.is_none() && !h.contains_key("content-type") && h.contains_key("authorization"));

        let (mut h, mut b) = (headers.clone(), body());
        assert_eq!(
            redirect(301, &Method::PUT, &mut h, &mut b),
            Some(Method::PUT)
        );
        assert!(b.is_some() && h.contains_key("content-type"));

        let (mut h, mut b) = (headers.clone(), body());
        assert_eq!(
            redirect(303, &Method::PUT, &mut h, &mut b),
            Some(Method::GET)
        );
        assert!(b.is_none() && !h.contains_key("content-type"));
        assert_eq!(
            redirect(303, &Method::HEAD, &mut h, &mut b),
            Some(Method::HEAD)
        );

        let (mut h, mut b) = (headers.clone(), body());
        assert_eq!(
            redirect(307, &Method::POST, &mut h, &mut b),
            Some(Method::POST)
        );
        assert!(b.is_some() && h.contains_key("content-type"));
        assert_eq!(
            redirect(308, &Method::POST, &mut h, &mut b),
            Some(Method::POST)
        );
        assert_eq!(redirect(304, &Method::GET, &mut h, &mut b), None);
        assert_eq!(redirect(200, &Method::GET, &mut h, &mut b), None);
    }

    #[test]
    fn credentials_stay_on_their_host_and_the_referer_is_set() {
        let url = |s: &str| reqwest::Url::parse(s).expect("url");
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer t".parse().expect("value"));
        headers.insert("cookie", "a=b".parse().expect("value"));
        remove_credentials(&mut headers, &url("http://h:1/x"), &url("http://h:1/y"));
        assert_eq!(headers.len(), 2, "same host and port");
        remove_credentials(&mut headers, &url("http://h:2/x"), &url("http://h:1/y"));
        assert!(headers.is_empty(), "another port");

        let previous = url("http://u:p@h:1/login?next=1#top");
        assert_eq!(
            referer(&url("http://h:1/home"), &previous).expect("referer"),
            "http://h:1/login?next=1"
        );
        assert!(referer(&url("http://h/"), &url("https://h/")).is_none());
    }
}
