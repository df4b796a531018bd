//! `User`: one virtual user of a load test: its own HTTP client (connection pool and cookie
//! store), the base URL, its index and iteration number, and the state its test's `setup`
//! shares between all users (`User<S>`); requests sent through it are timed and tagged by name,
//! status and error kind.

pub mod metrics;
#[cfg(feature = "ws")]
pub mod ws;

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;

use self::metrics::{ErrorKind, Metrics, RequestOutcome};

/// A virtual user: what a load test's `async fn` receives by `&mut`.
///
/// ```no_run
/// use perf_harness::{perf_test, User};
///
/// // The service's address comes from `cargo perf --base-url URL`, or from a `setup`
/// // that starts it (see `Target`).
/// #[perf_test(users = 20, duration = "30s", p95 = "1s")]
/// async fn browse_media(user: &mut User) {
///     let list = user.get("/api/v1/media").name("media list").send().await;
///     user.check("media list is 200", list.status() == 200);
/// }
/// # fn main() {}
/// ```
///
/// With a type parameter, the users share what `setup` returns instead of an HTTP service:
/// a database pool under contention, a client of some other protocol. The users of a test
/// run on one generator thread, so the state is shared by `Rc` and needs neither `Send` nor
/// `Sync`.
///
/// ```ignore
/// #[perf_test(users = 10, duration = "20s", p99 = "250ms", setup = pg_pool)]
/// async fn concurrent_search(user: &mut perf_harness::User<PgPool>) -> Result<(), PostgresError> {
///     let db = user.state().get().await?;
///     db.query("SELECT ...", &[]).await?;
///     Ok(())
/// }
/// ```
pub struct User<S = ()> {
    client: reqwest::Client,
    base: Rc<str>,
    index: u64,
    iteration: u64,
    metrics: Rc<RefCell<Metrics>>,
    lag_ns: u64,
    /// The iteration's first failure; shared with the user's open WebSockets, which outlive a
    /// borrow of the user.
    failure: Rc<Cell<Option<ErrorKind>>>,
    state: Rc<S>,
}

impl<S> User<S> {
    /// A user with its own client; `metrics` is its worker's store, `state` the test's shared
    /// setup value.
    pub(crate) fn new(
        index: u64,
        base: Rc<str>,
        metrics: Rc<RefCell<Metrics>>,
        state: Rc<S>,
    ) -> Result<User<S>, reqwest::Error> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .no_proxy()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            // Bounds a request that no `timeout` covers: a stalled server cannot hang the run.
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(User {
            client,
            base,
            index,
            iteration: 0,
            metrics,
            lag_ns: 0,
            failure: Rc::default(),
            state,
        })
    }

    /// What the test's `setup` returned, shared by every user of the test.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The shared state by `Rc`, to keep it in a future that outlives a borrow of the user.
    pub fn shared_state(&self) -> Rc<S> {
        Rc::clone(&self.state)
    }

    /// This user's number, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// This user's iteration number, from 0.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// The service's base URL, without a trailing slash (`http://127.0.0.1:8080`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `path` joined to the base URL; absolute URLs (`http://...`) are kept as they are.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            format!("{}/{path}", self.base)
        }
    }

    /// The user's own reqwest client: requests sent with it directly work but are not timed
    /// or broken down by name.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A `GET` request to `path`, timed and tagged when sent.
    pub fn get(&mut self, path: &str) -> Request<'_, S> {
        self.request(Method::GET, path)
    }

    /// A `POST` request to `path`.
    pub fn post(&mut self, path: &str) -> Request<'_, S> {
        self.request(Method::POST, path)
    }

    /// A `PUT` request to `path`.
    pub fn put(&mut self, path: &str) -> Request<'_, S> {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request to `path`.
    pub fn patch(&mut self, path: &str) -> Request<'_, S> {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request to `path`.
    pub fn delete(&mut self, path: &str) -> Request<'_, S> {
        self.request(Method::DELETE, path)
    }

    /// A `HEAD` request to `path`.
    pub fn head(&mut self, path: &str) -> Request<'_, S> {
        self.request(Method::HEAD, path)
    }

    /// A request with any method; its default name is the method and the path without query.
    pub fn request(&mut self, method: Method, path: &str) -> Request<'_, S> {
        let builder = self.client.request(method.clone(), self.url(path));
        Request {
            user: self,
            builder,
            name: None,
            method,
            path: path.split('?').next().unwrap_or(path).to_string(),
            thresholds: Vec::new(),
            keep_body_bytes: KEEP_BODY_BYTES,
        }
    }

    /// Records a named check; a failed check fails the iteration. Returns `passed`.
    pub fn check(&mut self, name: &str, passed: bool) -> bool {
        let mut metrics = self.metrics.borrow_mut();
        metrics.record_check(name, passed);
        if !passed {
            metrics.note(|| format!("check `{name}` failed"));
            drop(metrics);
            self.fail(ErrorKind::Check);
        }
        passed
    }

    pub(crate) fn begin_iteration(&mut self, lag_ns: u64) {
        self.lag_ns = lag_ns;
        self.failure.set(None);
    }

    /// Ends an iteration: the first failure a request or check reported, if any.
    pub(crate) fn end_iteration(&mut self) -> Option<ErrorKind> {
        self.iteration += 1;
        self.failure.take()
    }

    fn fail(&mut self, kind: ErrorKind) {
        fail(&self.failure, kind);
    }
}

/// Keeps `kind` as the iteration's failure unless an earlier one is kept.
fn fail(failure: &Cell<Option<ErrorKind>>, kind: ErrorKind) {
    if failure.get().is_none() {
        failure.set(Some(kind));
    }
}

/// A request being built; `send().await` times it and records it under its name.
///
/// Requests with the same name share one histogram and their own thresholds; without a name,
/// a request is named by its method and path.
///
/// ```no_run
/// use perf_harness::{perf_test, User};
///
/// #[perf_test(users = 5, duration = "20s")]
/// async fn log_in(user: &mut User) {
///     user.post("/login")
///         .name("login")
///         .threshold("p(95) < 300ms")
///         .json(&serde_json::json!({ "user": "ada", "password": "secret" }))
///         .send()
///         .await;
/// }
/// # fn main() {}
/// ```
pub struct Request<'u, S = ()> {
    user: &'u mut User<S>,
    builder: reqwest::RequestBuilder,
    name: Option<Cow<'static, str>>,
    method: Method,
    path: String,
    thresholds: Vec<Cow<'static, str>>,
    keep_body_bytes: usize,
}

/// How much of a response body a `Reply` keeps unless the request says otherwise
/// ([`Request::keep_body_bytes`]): the rest is read and timed, not held.
pub const KEEP_BODY_BYTES: usize = 1 << 20;

impl<S> Request<'_, S> {
    /// A threshold on every request of this request's name, in k6's grammar:
    /// `"p(95) < 300ms"`, `"avg < 50ms"`, `"max <= 1s"`, or `"rate < 0.01"` (share failed).
    /// Judged with the attribute's thresholds; a text that does not parse fails the test
    /// with the reason. Parsed once per name, however many iterations repeat it.
    pub fn threshold(mut self, expression: impl Into<Cow<'static, str>>) -> Self {
        self.thresholds.push(expression.into());
        self
    }

    /// Names the request in the report (default: method and path, e.g. `GET /api/v1/media`).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: &str, value: &str) -> Self {
        self.builder = self.builder.header(key, value);
        self
    }

    /// Sends `value` as a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.builder = self.builder.json(value);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.body(body);
        self
    }

    /// Adds query parameters.
    pub fn query<T: serde::Serialize + ?Sized>(mut self, query: &T) -> Self {
        self.builder = self.builder.query(query);
        self
    }

    /// A timeout for this request alone (the client's default is 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.builder = self.builder.timeout(timeout);
        self
    }

    /// Keeps up to `bytes` of the response body in the `Reply` (default [`KEEP_BODY_BYTES`],
    /// 1 MiB): the whole body is always read and timed, the rest is dropped as it arrives, so a
    /// huge response cannot exhaust the generator's memory ([`Reply::body_truncated`]).
    pub fn keep_body_bytes(mut self, bytes: usize) -> Self {
        self.keep_body_bytes = bytes;
        self
    }

    /// Sends the request and reads the whole body; never panics: failures are in the `Reply`.
    pub async fn send(self) -> Reply {
        let Request {
            user,
            builder,
            name,
            method,
            path,
            thresholds,
            keep_body_bytes,
        } = self;
        let name: Cow<'_, str> = match &name {
            Some(n) => Cow::Borrowed(n.as_ref()),
            None => Cow::Owned(format!("{method} {path}")),
        };
        let mut outcome = RequestOutcome {
            lag_ns: user.lag_ns,
            ..RequestOutcome::default()
        };
        let mut reply = Reply::default();
        let start = Instant::now();
        match builder.build() {
            Err(e) => {
                outcome.error = Some(ErrorKind::Request);
                reply.error = Some(e.to_string());
            }
            Ok(request) => {
                outcome.bytes_sent = request_size(&request);
                match user.client.execute(request).await {
                    Err(e) => {
                        outcome.error = Some(classify(&e));
                        reply.error = Some(describe(&e));
                    }
                    Ok(mut response) => {
                        let status = response.status().as_u16();
                        outcome.status = status;
                        reply.status = status;
                        let head = head_size(response.headers());
                        // Moved, not cloned: the body is read without them.
                        reply.headers = std::mem::take(response.headers_mut());
                        let mut body = KeptBody::new(keep_body_bytes);
                        let read = body.read(response).await;
                        outcome.bytes_received = head + body.received_bytes;
                        reply.body_received_bytes = body.received_bytes;
                        reply.body_truncated = body.truncated;
                        reply.body = body.into_bytes();
                        match read {
                            Ok(()) => outcome.error = ErrorKind::of_status(status),
                            Err(e) => {
                                outcome.error = Some(ErrorKind::Body);
                                reply.error = Some(describe(&e));
                            }
                        }
                    }
                }
            }
        }
        let took = start.elapsed();
        outcome.service_ns = took.as_nanos() as u64;
        reply.elapsed = took;
        if let Some(kind) = outcome.error {
            user.fail(kind);
            user.metrics.borrow_mut().note(|| {
                let request = format!("{method} {path}");
                let label = if name == request {
                    request
                } else {
                    format!("{name} ({request})")
                };
                let detail = match &reply.error {
                    Some(message) => message.clone(),
                    None => format!(
                        "status {}{}{}",
                        reply.status,
                        retry_after(&reply.headers),
                        body_excerpt(&reply.body)
                    ),
                };
                format!("{label}: {}: {detail}", kind.as_str())
            });
        }
        let mut metrics = user.metrics.borrow_mut();
        for t in &thresholds {
            metrics.declare_threshold(&name, t);
        }
        metrics.record_request(&name, outcome);
        drop(metrics);
        reply
    }
}

/// A finished request: status, headers and body, or what went wrong.
///
/// Sending never panics: a connection error is a `Reply` with status 0 and an `error()`, and
/// counts as a failed request.
///
/// ```no_run
/// use perf_harness::{perf_test, User};
///
/// #[perf_test(users = 10, duration = "30s", p95 = "500ms")]
/// async fn open_first_item(user: &mut User) {
///     let list = user.get("/api/v1/media").send().await;
///     let ids: Vec<u64> = list.json().unwrap_or_default();
///     if let Some(id) = ids.first() {
///         let item = user.get(&format!("/api/v1/media/{id}")).name("media item").send().await;
///         user.check("item is 200", item.status() == 200);
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Default)]
pub struct Reply {
    status: u16,
    headers: HeaderMap,
    body: bytes::Bytes,
    body_received_bytes: u64,
    body_truncated: bool,
    error: Option<String>,
    elapsed: Duration,
}

impl Reply {
    /// The HTTP status, or 0 when no response arrived (connect error, timeout, ...).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether a response arrived with a status below 400 and its whole body.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.status != 0 && self.status < 400
    }

    /// The transport error, if the request failed before a whole response arrived.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// A response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body bytes kept (empty on a transport failure; at most the request's
    /// [`Request::keep_body_bytes`]).
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced; only the kept part of a truncated body).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON; a truncated body is an error that says so.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        if self.body_truncated {
            return Err(<serde_json::Error as serde::de::Error>::custom(format!(
                "the body has {} bytes and only the first {} were kept; keep it whole with \
                 `.keep_body_bytes({})` on the request",
                self.body_received_bytes,
                self.body.len(),
                self.body_received_bytes
            )));
        }
        serde_json::from_slice(&self.body)
    }

    /// Whether the body was longer than the request kept ([`Request::keep_body_bytes`]).
    pub fn body_truncated(&self) -> bool {
        self.body_truncated
    }

    /// Bytes of body received, kept or not.
    pub fn body_received_bytes(&self) -> u64 {
        self.body_received_bytes
    }

    /// Time from sending to the end of the body.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// A response body being read: its first `keep_bytes` held, the rest only counted. A body in
/// one chunk is kept as it came; a longer one is copied into one buffer as it arrives, so each
/// chunk of the connection's read buffer is freed at once and a huge body never holds more than
/// `keep_bytes`.
struct KeptBody {
    keep_bytes: usize,
    first: Option<bytes::Bytes>,
    rest: Option<bytes::BytesMut>,
    received_bytes: u64,
    truncated: bool,
}

impl KeptBody {
    fn new(keep_bytes: usize) -> KeptBody {
        KeptBody {
            keep_bytes,
            first: None,
            rest: None,
            received_bytes: 0,
            truncated: false,
        }
    }

    /// Reads `response`'s body to its end (or its first error), keeping what fits.
    async fn read(&mut self, mut response: reqwest::Response) -> Result<(), reqwest::Error> {
        let expected = response.content_length();
        while let Some(chunk) = response.chunk().await? {
            self.push(chunk, expected);
        }
        Ok(())
    }

    fn push(&mut self, chunk: bytes::Bytes, expected: Option<u64>) {
        self.received_bytes += chunk.len() as u64;
        if self.first.is_none() && self.rest.is_none() && chunk.len() <= self.keep_bytes {
            self.first = Some(chunk);
            return;
        }
        let keep_bytes = self.keep_bytes;
        // Sized once from the announced length; a chunked body (no length) grows as it comes,
        // so a small one never reserves the whole `keep_bytes`.
        let buffer = self.rest.get_or_insert_with(|| {
            let wanted = expected.map_or(0, |n| n.min(keep_bytes as u64) as usize);
            bytes::BytesMut::with_capacity(wanted)
        });
        if let Some(first) = self.first.take() {
            buffer.extend_from_slice(&first);
        }
        let room = keep_bytes - buffer.len();
        if chunk.len() > room {
            self.truncated = true;
        }
        buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// The kept bytes.
    fn into_bytes(self) -> bytes::Bytes {
        match (self.first, self.rest) {
            (_, Some(rest)) => rest.freeze(),
            (Some(first), None) => first,
            (None, None) => bytes::Bytes::new(),
        }
    }
}

fn classify(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    let text = describe(e).to_ascii_lowercase();
    if text.contains("tls") || text.contains("certificate") || text.contains("ssl") {
        ErrorKind::Tls
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else if closed_by_the_server(e) {
        ErrorKind::Closed
    } else {
        ErrorKind::Request
    }
}

/// Whether the connection was reset or closed under the request (a reset, an end of stream
/// before the whole message, a broken pipe), as hyper or the socket reported it.
fn closed_by_the_server(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as Io;
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof
            ) {
                return true;
            }
        }
        if s.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// ` (Retry-After: V)` when the server said when to come back (a 429 or 503), else nothing.
fn retry_after(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map_or_else(String::new, |v| format!(" (Retry-After: {v})"))
}

/// The error with its causes: reqwest's own message is often just "error sending request". When
/// the process ran out of file descriptors, what to do about it follows.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    if let Some(hint) = crate::fd_limit::explain(e) {
        text.push_str("; ");
        text.push_str(&hint);
    }
    text
}

fn request_size(r: &reqwest::Request) -> u64 {
    let line = r.method().as_str().len() + r.url().as_str().len() + 11;
    let body = r.body().and_then(|b| b.as_bytes()).map_or(0, <[u8]>::len);
    (line + head_size(r.headers()) as usize + body) as u64
}

fn head_size(h: &HeaderMap) -> u64 {
    h.iter()
        .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
        .sum::<u64>()
        + 17
}

/// At most this many characters of a failed response's body go into its error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// `, body: "…"` with the first characters of a body (control characters as spaces), or nothing
/// for an empty one: what a failed request's message shows of the server's answer.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut excerpt: String = text
        .chars()
        .take(BODY_EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > BODY_EXCERPT_CHARS {
        excerpt.push('…');
    }
    format!(", body: {excerpt:?}")
}

#[cfg(test)]
mod tests {
    use super::{body_excerpt, closed_by_the_server, retry_after, KeptBody};
    use bytes::Bytes;

    #[test]
    fn a_body_in_one_chunk_is_kept_as_it_came() {
        let chunk = Bytes::from_static(b"hello");
        let mut body = KeptBody::new(16);
        body.push(chunk.clone(), Some(5));
        assert!(!body.truncated);
        assert_eq!(body.received_bytes, 5);
        let kept = body.into_bytes();
        assert_eq!(kept, chunk);
        assert_eq!(kept.as_ptr(), chunk.as_ptr(), "not copied");
    }

    #[test]
    fn a_body_in_chunks_is_joined_and_cut_at_the_limit() {
        let mut body = KeptBody::new(8);
        for chunk in [&b"abc"[..], b"def", b"ghij", b"kl"] {
            body.push(Bytes::copy_from_slice(chunk), Some(12));
        }
        assert!(body.truncated);
        assert_eq!(body.received_bytes, 12);
        assert_eq!(&body.into_bytes()[..], b"abcdefgh");

        let mut whole = KeptBody::new(6);
        whole.push(Bytes::from_static(b"abc"), None);
        whole.push(Bytes::from_static(b"def"), None);
        assert!(!whole.truncated, "exactly the limit is whole");
        assert_eq!(&whole.into_bytes()[..], b"abcdef");

        let mut first_too_big = KeptBody::new(2);
        first_too_big.push(Bytes::from_static(b"abc"), Some(3));
        assert!(first_too_big.truncated);
        assert_eq!(&first_too_big.into_bytes()[..], b"ab");

        let empty = KeptBody::new(2);
        assert!(empty.into_bytes().is_empty());
    }

    #[test]
    fn resets_and_early_ends_are_closed_connections() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(closed_by_the_server(&reset));
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(closed_by_the_server(&eof));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!closed_by_the_server(&refused));
        let wrapped = Wrapped(reset);
        assert!(closed_by_the_server(&wrapped), "found through the sources");
    }

    /// An error caused by another, as hyper's are.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection error")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn retry_after_is_named_when_the_server_sends_it() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), "");
        headers.insert("retry-after", "120".parse().expect("value"));
        assert_eq!(retry_after(&headers), " (Retry-After: 120)");
    }

    #[test]
    fn a_failed_body_is_shown_short_and_on_one_line() {
        assert_eq!(body_excerpt(b""), "");
        assert_eq!(body_excerpt(b"  \n"), "");
        assert_eq!(
            body_excerpt(b"no such page: /missing\n"),
            ", body: \"no such page: /missing\""
        );
        assert_eq!(body_excerpt(b"a\tb\nc"), ", body: \"a b c\"");
        let long = "x".repeat(300);
        assert_eq!(
            body_excerpt(long.as_bytes()),
            format!(", body: \"{}…\"", "x".repeat(200))
        );
        assert_eq!(body_excerpt(&[0xff, b'o', b'k']), ", body: \"\u{fffd}ok\"");
    }
}
