//! The lean HTTP/1.1 path under `User`: one keep-alive connection per user, opened at its first
//! request and again once the server closed it or a request failed on it; the request head is
//! written in one piece and the response parsed with httparse (hyper's parser), its header values
//! sharing the bytes read. No pool, no spawned task, no channel, no URL parsing per request, and
//! an idle connection holds no buffer (hyper's held three of about 8 KiB each). `User` sends
//! through it the requests to an `http://` base URL whose path is plain and whose body is in
//! memory; everything else goes through reqwest.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    pub(crate) fn target(&self, base: &str, path: &str) -> Option<String> {
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
        Some(target)
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

/// A user's keep-alive connection. Idle, it holds only its socket: the read buffer lives
/// while a response is read and is freed with it.
pub(crate) struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet taken (the rest of a response being read).
    buf: BytesMut,
    /// A request started on it and has not finished cleanly (cancelled by the iteration's
    /// timeout, or failed), or the server asked to close: it is never reused.
    busy: bool,
    /// When its last request started.
    used: Instant,
    /// The size of the last response (head and announced body): what the next one's first
    /// read asks for.
    expected: usize,
}

/// How recently a connection must have been used to be taken without a probe.
const FRESH: Duration = Duration::from_millis(1);

/// The head of a response and how its body is framed.
#[derive(Debug)]
pub(crate) struct Head {
    /// The status code.
    pub(crate) status: u16,
    /// The headers, their values sharing the bytes read.
    pub(crate) headers: HeaderMap,
    /// How the body ends.
    pub(crate) framing: Framing,
    /// Whether the connection may take another request after this response.
    pub(crate) keep_alive: bool,
    /// The bytes of the head and of the body when its length is announced (else a guess).
    pub(crate) size: usize,
}

/// How a response body ends (RFC 9112, section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (a HEAD request, a 1xx, 204 or 304 response).
    None,
    /// `content-length` bytes.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

impl Framing {
    /// The body's length when the head announces it.
    pub(crate) fn exact(self) -> Option<u64> {
        match self {
            Framing::None => Some(0),
            Framing::Length(n) => Some(n),
            Framing::Chunked | Framing::Close => None,
        }
    }
}

/// The most bytes a response head may take, as hyper's default limit.
const MAX_HEAD_BYTES: usize = 64 << 10;

/// The most headers a response may have (hyper's default).
const MAX_HEADERS: usize = 100;

/// How much one read asks for: small first (most heads and bodies fit), more for a long body.
const FIRST_READ: usize = 4 << 10;

/// The least a response's first read asks for: a buffer this small comes from the allocator's
/// per-thread cache (glibc's serves up to 1 032 bytes), a larger one from its slower bins.
const SMALL_READ: usize = 1000;
const BODY_READ: usize = 64 << 10;

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
        Ok(Connection {
            stream,
            buf: BytesMut::new(),
            busy: false,
            used: Instant::now(),
            expected: FIRST_READ,
        })
    }

    /// Whether this connection can take a request at `now`: not left busy, and not closed by
    /// the server while idle. A connection used within [`FRESH`] is taken as it is (a server
    /// closes an idle connection after seconds, and says so when it closes after a response);
    /// an older one is probed: a read that would block (one system call).
    pub(crate) fn reusable(&mut self, now: Instant) -> bool {
        if self.busy || !self.buf.is_empty() {
            return false;
        }
        if now.saturating_duration_since(self.used) < FRESH {
            return true;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Writes a request started at `now`: its serialized head and its body.
    pub(crate) async fn send(
        &mut self,
        head: &[u8],
        body: &[u8],
        now: Instant,
    ) -> Result<(), LeanError> {
        self.busy = true;
        self.used = now;
        let written = async {
            self.stream.write_all(head).await?;
            if !body.is_empty() {
                self.stream.write_all(body).await?;
            }
            Ok(())
        };
        written.await.map_err(LeanError::Write)
    }

    /// Reads the response head (skipping 1xx interim responses) to a request of `method`.
    pub(crate) async fn read_head(&mut self, method: &Method) -> Result<Head, LeanError> {
        loop {
            let head = loop {
                if !self.buf.is_empty() {
                    if let Some(head) = parse_head(&mut self.buf, method)? {
                        break head;
                    }
                }
                if self.buf.len() >= MAX_HEAD_BYTES {
                    return Err(LeanError::Invalid(format!(
                        "the response head is over {} KiB",
                        MAX_HEAD_BYTES >> 10
                    )));
                }
                let received = self.buf.len();
                match self.fill(self.expected.clamp(SMALL_READ, BODY_READ)).await {
                    Ok(0) => return Err(LeanError::ClosedBeforeResponse { received }),
                    Ok(_) => {}
                    Err(e) => return Err(LeanError::Read(e)),
                }
            };
            // The next response's first read asks for about this one's size.
            self.expected = head.size;
            // 100 Continue, 103 Early Hints: the final response follows (101 ends here).
            if (100..200).contains(&head.status) && head.status != 101 {
                continue;
            }
            if !head.keep_alive {
                // Read to its end, then never reused.
                self.busy = true;
            }
            return Ok(head);
        }
    }

    /// Reads the body framed by `head` to its end, handing each piece to `push`; the
    /// connection is reusable after a whole body unless the response said otherwise.
    pub(crate) async fn read_body(
        &mut self,
        framing: Framing,
        keep_alive: bool,
        mut push: impl FnMut(Bytes),
    ) -> Result<(), BodyError> {
        match framing {
            Framing::None => {}
            Framing::Length(mut left) => {
                while left > 0 {
                    if self.buf.is_empty() && self.fill(read_size(left)).await? == 0 {
                        return Err(BodyError::Incomplete { left });
                    }
                    let n = (self.buf.len() as u64).min(left) as usize;
                    push(self.buf.split_to(n).freeze());
                    left -= n as u64;
                }
            }
            Framing::Chunked => self.read_chunked(&mut push).await?,
            Framing::Close => loop {
                if !self.buf.is_empty() {
                    push(self.buf.split().freeze());
                }
                if self.fill(BODY_READ).await? == 0 {
                    break;
                }
            },
        }
        if keep_alive && framing != Framing::Close && self.buf.is_empty() {
            self.busy = false;
            // Idle, the connection holds no buffer.
            self.buf = BytesMut::new();
        }
        Ok(())
    }

    /// A chunked body: `size[;ext]\r\n data \r\n` until a zero size, then trailers.
    async fn read_chunked(&mut self, push: &mut impl FnMut(Bytes)) -> Result<(), BodyError> {
        loop {
            let line = self.line().await?;
            let size = chunk_size(&line).ok_or(BodyError::InvalidChunk)?;
            if size == 0 {
                // Trailers, each a line, end with an empty one.
                while !self.line().await?.is_empty() {}
                return Ok(());
            }
            let mut left = size;
            while left > 0 {
                if self.buf.is_empty() && self.fill(read_size(left)).await? == 0 {
                    return Err(BodyError::Incomplete { left });
                }
                let n = (self.buf.len() as u64).min(left) as usize;
                push(self.buf.split_to(n).freeze());
                left -= n as u64;
            }
            if !self.line().await?.is_empty() {
                return Err(BodyError::InvalidChunk);
            }
        }
    }

    /// The next line of a chunked body, without its line end.
    async fn line(&mut self) -> Result<BytesMut, BodyError> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(end + 1);
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                return Err(BodyError::InvalidChunk);
            }
            if self.fill(FIRST_READ).await? == 0 {
                return Err(BodyError::Incomplete { left: 0 });
            }
        }
    }

    /// Reads what the socket has (at least one byte, or 0 at its end) after the bytes kept.
    async fn fill(&mut self, at_most: usize) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < at_most / 2 {
            self.buf.reserve(at_most);
        }
        self.stream.read_buf(&mut self.buf).await
    }
}

/// How much to read for `left` bytes of body.
fn read_size(left: u64) -> usize {
    if left > FIRST_READ as u64 {
        BODY_READ
    } else {
        FIRST_READ
    }
}

/// The size of a chunk from its line (`1a`, `1A;name=value`).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let digits = std::str::from_utf8(&line[..end])
        .ok()?
        .trim_matches([' ', '\t']);
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Parses a response head at the start of `buf` and takes it out; `None` while incomplete.
fn parse_head(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, LeanError> {
    let len = {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Response::new(&mut slots).parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(LeanError::Invalid(format!("invalid response head: {e}"))),
        }
    };
    // Parsed again from the head's own bytes, which the header values then share (as hyper's
    // do): no copy of a value, no list of offsets.
    let bytes = buf.split_to(len).freeze();
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    if let Err(e) = response.parse(&bytes) {
        return Err(LeanError::Invalid(format!("invalid response head: {e}")));
    }
    let status = response.code.unwrap_or(0);
    let http10 = response.version == Some(0);
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|e| LeanError::Invalid(format!("invalid response header name: {e}")))?;
        let value = HeaderValue::from_maybe_shared(bytes.slice_ref(h.value))
            .map_err(|e| LeanError::Invalid(format!("invalid response header value: {e}")))?;
        headers.append(name, value);
    }
    let framing = framing(status, method, &headers)?;
    let connection = |token: &str| {
        headers
            .get_all(reqwest::header::CONNECTION)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            })
    };
    let keep_alive = if http10 {
        connection("keep-alive")
    } else {
        !connection("close")
    };
    let size = len.saturating_add(
        framing
            .exact()
            .map_or(FIRST_READ, |n| n.min(1 << 20) as usize),
    );
    Ok(Some(Head {
        size,
        status,
        headers,
        framing,
        // After a 101 the connection speaks another protocol.
        keep_alive: keep_alive && framing != Framing::Close && status != 101,
    }))
}

/// How the body of a response to `method` with `status` and `headers` ends.
fn framing(status: u16, method: &Method, headers: &HeaderMap) -> Result<Framing, LeanError> {
    use reqwest::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    if *method == Method::HEAD || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    if let Some(last) = headers.get_all(TRANSFER_ENCODING).iter().next_back() {
        let chunked = last
            .to_str()
            .ok()
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        return Ok(if chunked {
            Framing::Chunked
        } else {
            Framing::Close
        });
    }
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.to_str().unwrap_or("x").split(',') {
            let n: u64 = part
                .trim()
                .parse()
                .map_err(|_| LeanError::Invalid(format!("invalid content-length: {value:?}")))?;
            if length.is_some_and(|l| l != n) {
                return Err(LeanError::Invalid(
                    "conflicting content-length headers".into(),
                ));
            }
            length = Some(n);
        }
    }
    Ok(length.map_or(Framing::Close, Framing::Length))
}

/// Writes a request head: the request line, the test's headers, then `Host`, `Accept: */*`,
/// the jar's `cookie` and `content-length` unless the test set them (what reqwest and hyper
/// add), in lower case as hyper writes them.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    host: &HeaderValue,
    cookie: Option<&HeaderValue>,
    body_len: usize,
) {
    use reqwest::header::{ACCEPT, CONTENT_LENGTH, COOKIE, HOST};
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut line = |name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    for (name, value) in headers {
        line(name.as_str().as_bytes(), value.as_bytes());
    }
    if !headers.contains_key(HOST) {
        line(b"host", host.as_bytes());
    }
    if !headers.contains_key(ACCEPT) {
        line(b"accept", b"*/*");
    }
    if let Some(cookie) = cookie.filter(|_| !headers.contains_key(COOKIE)) {
        line(b"cookie", cookie.as_bytes());
    }
    if body_len > 0 && !headers.contains_key(CONTENT_LENGTH) {
        line(b"content-length", body_len.to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// A failure of the lean path before a response head, with the message a test's report shows.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LeanError {
    /// The TCP connect failed (refused, unreachable, out of descriptors).
    #[error("error connecting")]
    Connect(#[source] std::io::Error),
    /// The TCP connect took longer than [`CONNECT_TIMEOUT`].
    #[error("connecting timed out after {}s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout,
    /// No response head within the request's timeout.
    #[error("operation timed out: no response within {0:?}")]
    Timeout(Duration),
    /// Writing the request failed.
    #[error("error sending request")]
    Write(#[source] std::io::Error),
    /// Reading the response head failed.
    #[error("error sending request")]
    Read(#[source] std::io::Error),
    /// The server closed the connection before a whole response head.
    #[error(
        "error sending request: connection closed before message completed ({received} bytes \
         of a response head received)"
    )]
    ClosedBeforeResponse {
        /// Bytes of the head that did arrive.
        received: usize,
    },
    /// The response is not HTTP/1.1 the client can read.
    #[error("error reading the response: {0}")]
    Invalid(String),
}

impl LeanError {
    /// The error kind of this failure, as `classify` gives for reqwest's errors.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            LeanError::Connect(_) => ErrorKind::Connect,
            LeanError::ConnectTimeout | LeanError::Timeout(_) => ErrorKind::Timeout,
            LeanError::ClosedBeforeResponse { .. } => ErrorKind::Closed,
            LeanError::Write(e) | LeanError::Read(e) => {
                if super::closed_by_the_server(e) {
                    ErrorKind::Closed
                } else {
                    ErrorKind::Request
                }
            }
            LeanError::Invalid(_) => ErrorKind::Request,
        }
    }
}

/// A failure while reading a response body (always [`ErrorKind::Body`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server closed the connection before the whole body.
    #[error("connection closed before message completed ({left} bytes of the body missing)")]
    Incomplete {
        /// Bytes announced and not received (0 when unknown).
        left: u64,
    },
    /// A chunked body that is not.
    #[error("invalid chunk in a chunked body")]
    InvalidChunk,
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
    use super::{
        chunk_size, parse_head, plain_path, redirect, referer, remove_credentials, write_head,
        Framing, Origin,
    };
    use bytes::BytesMut;
    use reqwest::header::{HeaderMap, HeaderValue};
    use reqwest::Method;

    fn head(text: &str, method: &Method) -> Result<Option<super::Head>, String> {
        let mut buf = BytesMut::from(text.as_bytes());
        parse_head(&mut buf, method).map_err(|e| e.to_string())
    }

    fn framing(text: &str) -> Framing {
        head(text, &Method::GET)
            .expect("valid")
            .expect("complete")
            .framing
    }

    #[test]
    fn a_request_head_is_what_reqwest_and_hyper_send() {
        let mut out = Vec::new();
        let host = HeaderValue::from_static("127.0.0.1:8080");
        write_head(
            &mut out,
            &Method::GET,
            "/a?b=1",
            &HeaderMap::new(),
            &host,
            None,
            0,
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: */*\r\n\r\n"
        );

        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("accept", HeaderValue::from_static("text/plain"));
        let cookie = HeaderValue::from_static("sid=42");
        let mut out = Vec::new();
        write_head(
            &mut out,
            &Method::POST,
            "/x",
            &headers,
            &host,
            Some(&cookie),
            7,
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "POST /x HTTP/1.1\r\ncontent-type: application/json\r\naccept: text/plain\r\n\
             host: 127.0.0.1:8080\r\ncookie: sid=42\r\ncontent-length: 7\r\n\r\n"
        );

        headers.insert("cookie", HeaderValue::from_static("mine=1"));
        let mut out = Vec::new();
        write_head(
            &mut out,
            &Method::POST,
            "/x",
            &headers,
            &host,
            Some(&cookie),
            0,
        );
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains("cookie: mine=1\r\n") && !text.contains("sid=42"),
            "{text}"
        );
        assert!(
            !text.contains("content-length"),
            "no length for an empty body, as hyper"
        );
    }

    #[test]
    fn a_response_head_is_parsed_and_taken_out() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\nx-a: c\r\n\r\nokNEXT";
        let mut buf = BytesMut::from(text.as_bytes());
        let h = parse_head(&mut buf, &Method::GET)
            .expect("valid")
            .expect("complete");
        assert_eq!(h.status, 200);
        assert_eq!(h.framing, Framing::Length(2));
        assert!(h.keep_alive);
        assert_eq!(h.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(&buf[..], b"okNEXT", "the body stays in the buffer");

        assert!(head("HTTP/1.1 200 OK\r\ncontent-le", &Method::GET)
            .expect("valid")
            .is_none());
        assert!(head("NOT HTTP\r\n\r\n", &Method::GET)
            .expect_err("invalid")
            .contains("invalid response head"));
        let closing = head(
            "HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n",
            &Method::GET,
        )
        .expect("valid")
        .expect("complete");
        assert!(!closing.keep_alive);
        let old = head("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", &Method::GET)
            .expect("valid")
            .expect("complete");
        assert!(!old.keep_alive, "HTTP/1.0 closes unless it says keep-alive");
    }

    #[test]
    fn bodies_are_framed_as_hyper_frames_them() {
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(
            framing(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\ncontent-length: 5\r\n\r\n"
            ),
            Framing::Chunked
        );
        assert_eq!(framing("HTTP/1.1 200 OK\r\n\r\n"), Framing::Close);
        assert_eq!(framing("HTTP/1.1 204 No Content\r\n\r\n"), Framing::None);
        assert_eq!(
            framing("HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n"),
            Framing::None
        );
        let to_head = head(
            "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n",
            &Method::HEAD,
        )
        .expect("valid")
        .expect("complete");
        assert_eq!(to_head.framing, Framing::None);
        assert!(head(
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            &Method::GET
        )
        .expect_err("conflict")
        .contains("conflicting"));
        assert!(
            !head("HTTP/1.1 200 OK\r\n\r\n", &Method::GET)
                .expect("valid")
                .expect("complete")
                .keep_alive,
            "a body to the end of the connection ends it"
        );
    }

    #[test]
    fn chunk_sizes_are_hex_with_extensions() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"1A;name=value"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b""), None);
        assert_eq!(chunk_size(b"xyz"), None);
        assert_eq!(chunk_size(b"ffffffffffffffffff"), None);
    }

    fn target(base: &str, path: &str) -> Option<String> {
        Origin::parse(base)?.target(base, path)
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
