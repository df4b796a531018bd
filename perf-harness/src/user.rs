//! `User`: one virtual user of a load test: its own keep-alive connection and cookie jar, the
//! base URL, its index and iteration number, and the state its test's `setup` shares between
//! all users (`User<S>`); requests sent through it are timed and tagged by name, status and
//! error kind. Requests to an `http://` service go over the user's own HTTP/1.1 connection
//! (`http1`); the rest (https, streaming bodies, unusual URLs, the hops after a redirect) through
//! a reqwest client made at its first use.

mod http1;
pub mod metrics;
#[cfg(feature = "ws")]
pub mod ws;

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use reqwest::Method;

use self::http1::{Connection, LeanError, Origin};
use self::metrics::{ErrorKind, Metrics, RequestOutcome};

/// How long a request may take, from connecting to its body's last byte, unless it sets its own
/// [`Request::timeout`]: a stalled server cannot hang the run.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// The reqwest client, made at its first use (`client()`, or a request the lean path does
    /// not take): a user that never needs it does not pay its memory.
    client: OnceCell<reqwest::Client>,
    /// The cookie jar, made when a response sets a cookie (or with the reqwest client, which
    /// shares it).
    jar: OnceCell<Arc<Jar>>,
    /// The base URL's parts when the lean path can take its requests (`http://`).
    origin: Option<Origin>,
    /// The user's keep-alive connection, opened at its first lean request.
    connection: Option<Connection>,
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
    /// A user; `metrics` is its worker's store, `state` the test's shared setup value. Nothing
    /// is connected or allocated for HTTP until the first request; the `Result` is kept for the
    /// engine, which reports a client that cannot be made.
    pub(crate) fn new(
        index: u64,
        base: Rc<str>,
        metrics: Rc<RefCell<Metrics>>,
        state: Rc<S>,
    ) -> Result<User<S>, reqwest::Error> {
        Ok(User {
            client: OnceCell::new(),
            jar: OnceCell::new(),
            origin: Origin::parse(&base),
            connection: None,
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

    /// The user's own reqwest client (made at the first call; it shares the user's cookies):
    /// requests sent with it directly work but are not timed or broken down by name.
    ///
    /// # Panics
    ///
    /// If reqwest cannot make a client (its TLS backend failed to start), which a client
    /// without TLS never does.
    pub fn client(&self) -> &reqwest::Client {
        match self.try_client() {
            Ok(client) => client,
            Err(e) => panic!(
                "cannot build an HTTP client for virtual user {}: {e}",
                self.index
            ),
        }
    }

    /// The reqwest client, made at the first call: cookies in the user's jar, no proxy,
    /// `TCP_NODELAY`, a 10 s connect timeout and a 60 s timeout by default.
    fn try_client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(self.jar()))
            .no_proxy()
            .tcp_nodelay(true)
            .connect_timeout(http1::CONNECT_TIMEOUT)
            .timeout(DEFAULT_TIMEOUT)
            .build()?;
        Ok(self.client.get_or_init(|| client))
    }

    /// The cookie jar, made at the first call.
    fn jar(&self) -> &Arc<Jar> {
        self.jar.get_or_init(Arc::default)
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
        Request {
            user: self,
            method,
            target: path.to_string(),
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            invalid: None,
            name: None,
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
    method: Method,
    /// The path as the test gave it (joined to the base URL when sent), with the query
    /// `.query(..)` added, or an absolute URL.
    target: String,
    headers: HeaderMap,
    body: Option<reqwest::Body>,
    timeout: Option<Duration>,
    /// Why the request cannot be sent (a bad header, a body or query that does not
    /// serialize), in reqwest's words: the first such mistake, as its builder keeps it.
    invalid: Option<String>,
    name: Option<Cow<'static, str>>,
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
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(key), Ok(value)) => {
                self.headers.append(key, value);
            }
            (Err(e), _) => self.invalid(&e),
            (_, Err(e)) => self.invalid(&e),
        }
        self
    }

    /// Sends `value` as a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.headers
                    .entry(reqwest::header::CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                self.body = Some(body.into());
            }
            Err(e) => self.invalid(&e),
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Adds query parameters.
    pub fn query<T: serde::Serialize + ?Sized>(mut self, query: &T) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(pairs) => add_query(&mut self.target, &pairs),
            Err(e) => self.invalid(&e),
        }
        self
    }

    /// A timeout for this request alone (the default is 60 s), from connecting to the body's
    /// last byte.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Keeps up to `bytes` of the response body in the `Reply` (default [`KEEP_BODY_BYTES`],
    /// 1 MiB): the whole body is always read and timed, the rest is dropped as it arrives, so a
    /// huge response cannot exhaust the generator's memory ([`Reply::body_truncated`]).
    pub fn keep_body_bytes(mut self, bytes: usize) -> Self {
        self.keep_body_bytes = bytes;
        self
    }

    /// Keeps the first mistake in building the request, as reqwest's builder does.
    fn invalid(&mut self, e: &dyn std::fmt::Display) {
        if self.invalid.is_none() {
            self.invalid = Some(format!("builder error: {e}"));
        }
    }

    /// Sends the request and reads the whole body; never panics: failures are in the `Reply`.
    pub async fn send(self) -> Reply {
        let Request {
            user,
            method,
            target,
            headers,
            body,
            timeout,
            invalid,
            name,
            thresholds,
            keep_body_bytes,
        } = self;
        let path = target.split('?').next().unwrap_or(&target);
        let name: Cow<'_, str> = match &name {
            Some(n) => Cow::Borrowed(n.as_ref()),
            None => {
                let mut n = String::with_capacity(method.as_str().len() + 1 + path.len());
                n.push_str(method.as_str());
                n.push(' ');
                n.push_str(path);
                Cow::Owned(n)
            }
        };
        let mut outcome = RequestOutcome {
            lag_ns: user.lag_ns,
            ..RequestOutcome::default()
        };
        let mut reply = Reply::default();
        let start = Instant::now();
        let exchange = Exchange {
            start,
            method: method.clone(),
            target: &target,
            headers,
            body,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
            keep_body_bytes,
        };
        if let Some(message) = invalid {
            outcome.error = Some(ErrorKind::Request);
            reply.error = Some(message);
        } else {
            user.exchange(exchange, &mut outcome, &mut reply).await;
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

/// Appends `pairs` (already form-encoded) to `target`'s query, before any fragment, as reqwest's
/// `.query(..)` does: `?` or `&` as needed, and an empty query dropped.
fn add_query(target: &mut String, pairs: &str) {
    let at = target.find('#').unwrap_or(target.len());
    let (before, fragment) = target.split_at(at);
    let mut joined = String::with_capacity(target.len() + pairs.len() + 1);
    joined.push_str(before);
    match before.find('?') {
        _ if pairs.is_empty() => {
            if joined.ends_with('?') {
                joined.pop();
            }
        }
        None => joined.push('?'),
        Some(q) if q + 1 < before.len() => joined.push('&'),
        Some(_) => {}
    }
    joined.push_str(pairs);
    joined.push_str(fragment);
    *target = joined;
}

/// What `send` hands to the user's HTTP paths.
struct Exchange<'r> {
    /// When `send` started (the request's clock and deadline).
    start: Instant,
    method: Method,
    /// The path (or absolute URL) with its query.
    target: &'r str,
    headers: HeaderMap,
    body: Option<reqwest::Body>,
    timeout: Duration,
    keep_body_bytes: usize,
}

impl Exchange<'_> {
    /// When the request must be done: its start plus its timeout.
    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start) + self.timeout
    }
}

impl<S> User<S> {
    /// Sends `x` on the lean path when it can take it, else through reqwest; fills the outcome
    /// (status, error, bytes) and the reply.
    async fn exchange(
        &mut self,
        mut x: Exchange<'_>,
        outcome: &mut RequestOutcome,
        reply: &mut Reply,
    ) {
        let lean = self.origin.as_ref().and_then(|origin| {
            let absolute = x.target.starts_with("http://") || x.target.starts_with("https://");
            // A test that frames its own body: reqwest (hyper) writes it as the test says.
            if absolute || x.headers.contains_key(reqwest::header::TRANSFER_ENCODING) {
                return None;
            }
            let body = match x.body.take() {
                None => bytes::Bytes::new(),
                Some(body) => match in_memory(body) {
                    Ok(bytes) => bytes,
                    Err(streaming) => {
                        x.body = Some(streaming);
                        return None;
                    }
                },
            };
            match origin.target(&self.base, x.target) {
                Some(target) => Some((target, body)),
                None => {
                    x.body = Some(body.into());
                    None
                }
            }
        });
        match lean {
            Some((target, body)) => self.send_lean(x, target, body, outcome, reply).await,
            None => {
                let url = self.url(x.target);
                // Boxed: reqwest's future is large, and every request's future would be as
                // large as it (a user's in-flight request is part of its memory).
                Box::pin(self.send_reqwest(x, url, outcome, reply)).await;
            }
        }
    }

    /// The lean path: the user's own connection, within the request's timeout; a redirect's
    /// next hop goes to reqwest.
    async fn send_lean(
        &mut self,
        x: Exchange<'_>,
        target: String,
        body: bytes::Bytes,
        outcome: &mut RequestOutcome,
        reply: &mut Reply,
    ) {
        let Some(origin) = &self.origin else {
            // `exchange` takes this path only with an origin.
            outcome.error = Some(ErrorKind::Request);
            reply.error = Some("no http:// base URL for the request".into());
            return;
        };
        outcome.bytes_sent = request_bytes(&x.method, self.lean_url_len(&target), &x.headers, None)
            + body.len() as u64;
        let head = self.lean_head_bytes(origin, &x, &target, &body);
        // A small body went with the head, in its write.
        let body_apart = if body.len() > BODY_INLINE {
            &body[..]
        } else {
            &[][..]
        };
        let deadline = x.deadline();
        let exchange = lean_head(
            &mut self.connection,
            origin,
            &self.base,
            &head,
            body_apart,
            &x.method,
            x.start,
        );
        let response = match tokio::time::timeout_at(deadline, exchange).await {
            Ok(Ok(response)) => response,
            failed => {
                self.connection = None;
                let e = match failed {
                    Ok(Err(e)) => e,
                    _ => LeanError::Timeout(x.timeout),
                };
                outcome.error = Some(e.kind());
                reply.error = Some(self.lean_message(&e, &target));
                return;
            }
        };
        drop(head);
        let status = response.status;
        let Some(location) = self
            .read_lean_response(&x, response, &target, outcome, reply)
            .await
        else {
            return;
        };
        let again = Redirected {
            method: x.method,
            headers: x.headers,
            body: (!body.is_empty()).then(|| body.into()),
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        // Boxed, as the reqwest path is: it is rare and its future is large.
        Box::pin(self.follow(
            status,
            &location,
            &target,
            again,
            left,
            x.keep_body_bytes,
            outcome,
            reply,
        ))
        .await;
    }

    /// The bytes a lean request writes first: its head, with the jar's cookies, and its body
    /// when that is small.
    fn lean_head_bytes(
        &self,
        origin: &Origin,
        x: &Exchange<'_>,
        target: &str,
        body: &[u8],
    ) -> Vec<u8> {
        let cookie = self.jar.get().and_then(|jar| {
            if x.headers.contains_key(reqwest::header::COOKIE) {
                return None;
            }
            jar.cookies(&self.lean_url(target)?)
        });
        let mut head = Vec::with_capacity(HEAD_CAPACITY + body.len().min(BODY_INLINE));
        http1::write_head(
            &mut head,
            &x.method,
            target,
            &x.headers,
            origin.host_header(),
            cookie.as_ref(),
            body.len(),
        );
        if body.len() <= BODY_INLINE {
            head.extend_from_slice(body);
        }
        head
    }

    /// Takes a lean response into the outcome and the reply: status, cookies, headers, and the
    /// body read to its end within the request's deadline. Returns where a redirect points
    /// when the response was whole.
    async fn read_lean_response(
        &mut self,
        x: &Exchange<'_>,
        head: http1::Head,
        target: &str,
        outcome: &mut RequestOutcome,
        reply: &mut Reply,
    ) -> Option<String> {
        let http1::Head {
            status,
            headers,
            framing,
            keep_alive,
            ..
        } = head;
        outcome.status = status;
        reply.status = status;
        let head_bytes = head_size(&headers);
        if headers.contains_key(SET_COOKIE) {
            if let Some(url) = self.lean_url(target) {
                let mut cookies = headers.get_all(SET_COOKIE).iter();
                self.jar().set_cookies(&mut cookies, &url);
            }
        }
        let location = match headers.get(reqwest::header::LOCATION) {
            Some(location) if (300..400).contains(&status) => {
                location.to_str().ok().map(str::to_string)
            }
            _ => None,
        };
        reply.headers = headers;
        let mut kept = KeptBody::new(x.keep_body_bytes);
        let expected = framing.exact();
        let read = match self.connection.as_mut() {
            Some(connection) => {
                let body = connection.read_body(framing, keep_alive, |chunk| {
                    kept.push(chunk, expected);
                });
                tokio::time::timeout_at(x.deadline(), body)
                    .await
                    .map_err(|_| format!("operation timed out after {:?}", x.timeout))
                    .and_then(|read| read.map_err(|e| describe(&e)))
            }
            None => Ok(()),
        };
        outcome.bytes_received = head_bytes + kept.received_bytes;
        reply.body_received_bytes = kept.received_bytes;
        reply.body_truncated = kept.truncated;
        reply.body = kept.into_bytes();
        if let Err(cause) = read {
            self.connection = None;
            outcome.error = Some(ErrorKind::Body);
            reply.error = Some(format!(
                "error reading the response body for url ({}): {cause}",
                self.lean_url_text(target)
            ));
            return None;
        }
        outcome.error = ErrorKind::of_status(status);
        location
    }

    /// Follows a redirect the lean path received: its next hop, as reqwest would send it,
    /// goes through reqwest (which follows any further ones); the bytes of both count.
    #[allow(clippy::too_many_arguments)]
    async fn follow(
        &self,
        status: u16,
        location: &str,
        target: &str,
        mut next: Redirected,
        left: Duration,
        keep_body_bytes: usize,
        outcome: &mut RequestOutcome,
        reply: &mut Reply,
    ) {
        let Some(method) = http1::redirect(status, &next.method, &mut next.headers, &mut next.body)
        else {
            return;
        };
        let Some(previous) = self.lean_url(target) else {
            return;
        };
        let Ok(url) = previous.join(location) else {
            return;
        };
        if url.scheme() != "http" && url.scheme() != "https" {
            return;
        }
        http1::remove_credentials(&mut next.headers, &url, &previous);
        if let Some(referer) = http1::referer(&url, &previous) {
            next.headers.insert(reqwest::header::REFERER, referer);
        }
        let (sent, received) = (outcome.bytes_sent, outcome.bytes_received);
        *outcome = RequestOutcome {
            lag_ns: outcome.lag_ns,
            ..RequestOutcome::default()
        };
        *reply = Reply::default();
        let hop = Exchange {
            start: Instant::now(),
            method,
            target: "",
            headers: next.headers,
            body: next.body,
            timeout: left,
            keep_body_bytes,
        };
        self.send_reqwest(hop, url.to_string(), outcome, reply)
            .await;
        outcome.bytes_sent += sent;
        outcome.bytes_received += received;
    }

    /// The full URL of a lean request's target: the base URL's scheme and authority, then the
    /// target (which starts with the base URL's own path).
    fn lean_url_text(&self, target: &str) -> String {
        format!("{}{target}", self.lean_authority())
    }

    /// The length of [`Self::lean_url_text`], without making it.
    fn lean_url_len(&self, target: &str) -> usize {
        self.lean_authority().len() + target.len()
    }

    /// `http://host:port` of the base URL.
    fn lean_authority(&self) -> &str {
        let authority_end = self.base["http://".len()..]
            .find('/')
            .map_or(self.base.len(), |i| i + "http://".len());
        &self.base[..authority_end]
    }

    /// The full URL of a lean request's target, parsed (for the cookie jar and redirects).
    fn lean_url(&self, target: &str) -> Option<reqwest::Url> {
        reqwest::Url::parse(&self.lean_url_text(target)).ok()
    }

    /// A lean failure's message as reqwest words its own: what failed, the URL, the causes.
    fn lean_message(&self, e: &LeanError, target: &str) -> String {
        let what = e.to_string();
        let all = describe(e);
        let causes = all.get(what.len()..).unwrap_or_default();
        format!("{what} for url ({}){causes}", self.lean_url_text(target))
    }

    /// The reqwest path: the user's reqwest client, made at its first use.
    async fn send_reqwest(
        &self,
        x: Exchange<'_>,
        url: String,
        outcome: &mut RequestOutcome,
        reply: &mut Reply,
    ) {
        let client = match self.try_client() {
            Ok(client) => client,
            Err(e) => {
                outcome.error = Some(ErrorKind::Request);
                reply.error = Some(describe(&e));
                return;
            }
        };
        let mut builder = client
            .request(x.method, url)
            .headers(x.headers)
            .timeout(x.timeout);
        if let Some(body) = x.body {
            builder = builder.body(body);
        }
        let request = match builder.build() {
            Ok(request) => request,
            Err(e) => {
                outcome.error = Some(ErrorKind::Request);
                reply.error = Some(e.to_string());
                return;
            }
        };
        outcome.bytes_sent = request_bytes(
            request.method(),
            request.url().as_str().len(),
            request.headers(),
            request.body(),
        );
        match client.execute(request).await {
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
                let mut body = KeptBody::new(x.keep_body_bytes);
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

/// Writes a request on the user's connection (opened, or opened again, as needed) and reads
/// the response head.
async fn lean_head(
    connection: &mut Option<Connection>,
    origin: &Origin,
    base: &str,
    head: &[u8],
    body: &[u8],
    method: &Method,
    now: Instant,
) -> Result<http1::Head, LeanError> {
    if !connection.as_mut().is_some_and(|c| c.reusable(now)) {
        *connection = None;
    }
    let open = match connection {
        Some(open) => open,
        // Boxed: connecting (name resolution, its own timer) happens once per connection and
        // its future would otherwise make every request's larger.
        None => connection.insert(Box::pin(Connection::open(origin, base)).await?),
    };
    open.send(head, body, now).await?;
    open.read_head(method).await
}

/// Bytes reserved for a request head (most fit).
const HEAD_CAPACITY: usize = 256;

/// A body up to this size is written with the head, in one system call.
const BODY_INLINE: usize = 16 << 10;

/// The bytes of an in-memory body, taken out of it without a copy (reqwest's body gives its
/// bytes as its one frame); a streaming body comes back as it was.
fn in_memory(body: reqwest::Body) -> Result<bytes::Bytes, reqwest::Body> {
    use hyper::body::Body as _;
    use std::task::{Context, Poll, Waker};
    if body.as_bytes().is_none() {
        return Err(body);
    }
    let mut body = body;
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => Ok(frame.into_data().unwrap_or_default()),
        _ => Ok(bytes::Bytes::new()),
    }
}

/// The request a redirect sends next, before reqwest's changes.
struct Redirected {
    method: Method,
    headers: HeaderMap,
    body: Option<reqwest::Body>,
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

/// Bytes of a request as sent (approximate: the request line with the whole URL, the test's
/// headers and an in-memory body).
fn request_bytes(
    method: &Method,
    url_len: usize,
    headers: &HeaderMap,
    body: Option<&reqwest::Body>,
) -> u64 {
    let line = method.as_str().len() + url_len + 11;
    let body = body.and_then(|b| b.as_bytes()).map_or(0, <[u8]>::len);
    (line + head_size(headers) as usize + body) as u64
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
    use super::{add_query, body_excerpt, closed_by_the_server, retry_after, KeptBody};
    use bytes::Bytes;

    #[test]
    fn queries_are_added_as_reqwest_adds_them() {
        let added = |target: &str, pairs: &str| {
            let mut t = target.to_string();
            add_query(&mut t, pairs);
            t
        };
        assert_eq!(added("/a", "x=1"), "/a?x=1");
        assert_eq!(added("/a?x=1", "y=2"), "/a?x=1&y=2");
        assert_eq!(added("/a?", "y=2"), "/a?y=2");
        assert_eq!(added("/a#top", "y=2"), "/a?y=2#top");
        assert_eq!(added("/a?", ""), "/a");
        assert_eq!(added("/a?x=1", ""), "/a?x=1");
    }

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

/// The lean path end to end, against a raw HTTP/1.1 server on 127.0.0.1 that records what it
/// receives.
#[cfg(test)]
mod lean_tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::metrics::{ErrorKind, Metrics};
    use super::User;

    /// What the server saw: each request's head and body, and the connections it accepted.
    #[derive(Default)]
    struct Seen {
        requests: Mutex<Vec<String>>,
        connections: AtomicUsize,
    }

    impl Seen {
        fn request(&self, i: usize) -> String {
            self.requests.lock().expect("lock")[i].clone()
        }
    }

    async fn server() -> (String, Arc<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Seen::default());
        let shared = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, Arc::clone(&shared)));
            }
        });
        (base, seen)
    }

    async fn serve(mut socket: TcpStream, seen: Arc<Seen>) {
        let mut buf = Vec::new();
        loop {
            let end = loop {
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                let mut chunk = [0u8; 4096];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().expect("length"));
            while buf.len() < end + length {
                let mut chunk = [0u8; 4096];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let request = String::from_utf8_lossy(&buf[..end + length]).to_string();
            buf.drain(..end + length);
            seen.requests.lock().expect("lock").push(request);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let answer: &[u8] = match path.as_str() {
                "/close" => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                "/close-quietly" => {
                    // Answers as if it kept the connection, then closes it (an idle timeout).
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                    return;
                }
                "/reset" => {
                    let _ = socket.set_zero_linger();
                    return;
                }
                "/hang" => std::future::pending().await,
                "/half-close" => {
                    let _ = socket.shutdown().await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return;
                }
                "/reset-mid-body" => {
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nten bytes!")
                        .await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = socket.set_zero_linger();
                    return;
                }
                "/continue" => b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                "/trailers" => b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;x=y\r\nab\r\n0\r\nx-sum: 1\r\n\r\n",
                "/login" => b"HTTP/1.1 200 OK\r\nset-cookie: sid=42; Path=/\r\ncontent-length: 0\r\n\r\n",
                "/form" => b"HTTP/1.1 303 See Other\r\nlocation: /done\r\ncontent-length: 4\r\n\r\nmove",
                "/chunked" => b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                "/missing" => b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope",
                // The head a GET would get, without its body, as an answer to HEAD must be.
                "/head" => b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
                _ => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-server: raw\r\n\r\nok",
            };
            if socket.write_all(answer).await.is_err() || path == "/close" {
                return;
            }
        }
    }

    fn user(base: &str) -> User {
        User::new(
            0,
            Rc::from(base),
            Rc::new(RefCell::new(Metrics::default())),
            Rc::new(()),
        )
        .expect("user")
    }

    #[tokio::test]
    async fn a_lean_request_carries_host_accept_query_headers_and_body() {
        let (base, seen) = server().await;
        let mut user = user(&base);
        assert!(user.origin.is_some(), "an http:// base takes the lean path");
        let reply = user
            .post("/echo?x=1")
            .query(&[("y", "a b")])
            .header("x-test", "yes")
            .json(&serde_json::json!({"k": 1}))
            .send()
            .await;
        assert_eq!(reply.status(), 200, "{:?}", reply.error());
        assert_eq!(reply.text(), "ok");
        assert_eq!(reply.header("x-server"), Some("raw"));
        let request = seen.request(0);
        let host = base.trim_start_matches("http://");
        assert!(
            request.starts_with("POST /echo?x=1&y=a+b HTTP/1.1\r\n"),
            "{request}"
        );
        for line in [
            "x-test: yes",
            "content-type: application/json",
            &format!("host: {host}"),
            "accept: */*",
            "content-length: 7",
        ] {
            assert!(
                request.contains(&format!("{line}\r\n")),
                "{line} in {request}"
            );
        }
        assert!(request.ends_with("\r\n\r\n{\"k\":1}"), "{request}");

        let again = user.get("/again").send().await;
        assert_eq!(again.status(), 200);
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1, "kept alive");
        let metrics = user.metrics.borrow();
        assert_eq!(metrics.requests, 2);
        assert_eq!(metrics.failed_requests, 0);
        assert!(metrics.bytes_sent > 0 && metrics.bytes_received > 0);
        assert!(
            metrics.names.contains_key("POST /echo"),
            "named without the query"
        );
    }

    #[tokio::test]
    async fn bodies_are_kept_truncated_and_chunked_as_before() {
        let (base, _) = server().await;
        let mut user = user(&base);
        let reply = user.get("/chunked").send().await;
        assert_eq!(reply.text(), "abcde");
        assert!(!reply.body_truncated());
        let cut = user.get("/chunked").keep_body_bytes(2).send().await;
        assert_eq!(cut.bytes(), b"ab");
        assert!(cut.body_truncated());
        assert_eq!(cut.body_received_bytes(), 5);
        let missing = user.get("/missing").send().await;
        assert_eq!(missing.status(), 404);
        assert!(!missing.ok() && missing.error().is_none());
        let metrics = user.metrics.borrow();
        assert_eq!(metrics.errors.get(&ErrorKind::Status4xx), Some(&1));
    }

    #[test]
    fn a_request_in_flight_stays_small() {
        let mut user = user("http://127.0.0.1:1");
        let size = std::mem::size_of_val(&user.get("/").send());
        // The lean path's future without reqwest's (about 2.5 KiB unoptimized): part of every
        // busy user's memory.
        assert!(size < 4096, "{size} bytes");
    }

    #[tokio::test]
    async fn faults_have_the_kinds_reqwest_gave_them() {
        let (base, _) = server().await;
        let mut user = user(&base);
        let half = user.get("/half-close").send().await;
        assert!(half.error().is_some(), "{half:?}");
        let cut = user.get("/reset-mid-body").send().await;
        assert_eq!(cut.status(), 200);
        assert_eq!(cut.body_received_bytes(), 10);
        assert!(
            cut.error().is_some_and(|e| e.contains("response body")),
            "{cut:?}"
        );
        assert_eq!(
            user.get("/continue").send().await.text(),
            "ok",
            "1xx skipped"
        );
        assert_eq!(user.get("/trailers").send().await.text(), "ab");
        assert_eq!(
            user.get("/ok").send().await.status(),
            200,
            "reused after trailers"
        );
        assert_errors(&user, &[(ErrorKind::Closed, 1), (ErrorKind::Body, 1)], 2);
    }

    /// The user counted exactly these failures by kind, and `failed` failed requests.
    fn assert_errors(user: &User, kinds: &[(ErrorKind, u64)], failed: u64) {
        let metrics = user.metrics.borrow();
        for (kind, n) in kinds {
            assert_eq!(metrics.errors.get(kind), Some(n), "{:?}", metrics.errors);
        }
        assert_eq!(metrics.failed_requests, failed);
    }

    #[tokio::test]
    async fn a_large_body_and_a_head_request_keep_the_connection_in_step() {
        let (base, seen) = server().await;
        let mut user = user(&base);
        let big = "b".repeat(40 << 10);
        let sent = user.put("/upload").body(big.clone()).send().await;
        assert_eq!(sent.status(), 200, "{:?}", sent.error());
        let request = seen.request(0);
        assert!(
            request.contains("content-length: 40960\r\n"),
            "{}",
            &request[..200]
        );
        assert!(
            request.ends_with(&big),
            "the body written apart arrives whole"
        );
        let head = user.head("/head").send().await;
        assert_eq!(head.status(), 200);
        assert_eq!(head.header("content-length"), Some("5"));
        assert!(
            head.bytes().is_empty(),
            "no body after HEAD, whatever its length says"
        );
        assert_eq!(user.get("/ok").send().await.text(), "ok", "still in step");
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn cookies_a_response_sets_are_sent_back() {
        let (base, seen) = server().await;
        let mut user = user(&base);
        assert!(user.jar.get().is_none(), "no jar before a cookie");
        user.get("/login").send().await;
        user.get("/me").send().await;
        assert!(!seen.request(0).contains("cookie:"));
        assert!(
            seen.request(1).contains("cookie: sid=42\r\n"),
            "{}",
            seen.request(1)
        );
        // The reqwest client, made now, shares the jar.
        let url = format!("{base}/client");
        let sent = user.client().get(&url).send().await.expect("reqwest");
        assert_eq!(sent.status(), 200);
        assert!(
            seen.request(2).contains("cookie: sid=42\r\n"),
            "{}",
            seen.request(2)
        );
    }

    #[tokio::test]
    async fn a_see_other_after_a_post_is_followed_with_a_get() {
        let (base, seen) = server().await;
        let mut user = user(&base);
        let reply = user.post("/form").body("a=1").send().await;
        assert_eq!(reply.status(), 200, "{:?}", reply.error());
        assert_eq!(reply.text(), "ok");
        assert!(seen.request(0).starts_with("POST /form "));
        let next = seen.request(1);
        assert!(next.starts_with("GET /done "), "{next}");
        assert!(
            next.contains(&format!("referer: {base}/form\r\n")),
            "{next}"
        );
        assert!(
            !next.contains("content-length"),
            "the body is dropped: {next}"
        );
        assert_eq!(
            user.metrics.borrow().requests,
            1,
            "one request, redirect included"
        );
    }

    #[tokio::test]
    async fn a_closed_or_reset_connection_is_opened_again() {
        let (base, seen) = server().await;
        let mut user = user(&base);
        assert_eq!(user.get("/close").send().await.status(), 200);
        assert_eq!(user.get("/ok").send().await.status(), 200);
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);

        // Closed while idle, without saying so: seen before the next request, which goes on a
        // new connection instead of failing.
        assert_eq!(user.get("/close-quietly").send().await.status(), 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(user.get("/ok").send().await.status(), 200);
        assert_eq!(seen.connections.load(Ordering::SeqCst), 3);

        let reset = user.get("/reset").send().await;
        assert_eq!(reset.status(), 0);
        let message = reset.error().expect("an error");
        assert!(
            message.contains("error sending request for url"),
            "{message}"
        );
        assert_eq!(user.get("/ok").send().await.status(), 200);
        assert_errors(&user, &[(ErrorKind::Closed, 1)], 1);
    }

    #[tokio::test]
    async fn a_late_answer_times_out_and_nothing_listening_is_a_connect_error() {
        let (base, _) = server().await;
        let mut user = user(&base);
        let late = user
            .get("/hang")
            .timeout(Duration::from_millis(50))
            .send()
            .await;
        assert!(
            late.error().is_some_and(|e| e.contains("timed out")),
            "{late:?}"
        );
        assert_eq!(
            user.get("/ok").send().await.status(),
            200,
            "a new connection"
        );

        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let nobody = format!("http://{}", free.local_addr().expect("addr"));
        drop(free);
        let mut alone = self::user(&nobody);
        let refused = alone.get("/").send().await;
        assert!(
            refused
                .error()
                .is_some_and(|e| e.contains("error connecting for url")),
            "{refused:?}"
        );
        assert_eq!(
            user.metrics.borrow().errors.get(&ErrorKind::Timeout),
            Some(&1)
        );
        assert_eq!(
            alone.metrics.borrow().errors.get(&ErrorKind::Connect),
            Some(&1)
        );
    }

    #[tokio::test]
    async fn what_the_lean_path_does_not_take_goes_through_reqwest() {
        let (base, seen) = server().await;
        let mut user = user(&base);
        // A path reqwest would rewrite, and an absolute URL.
        assert_eq!(user.get("/a/../b").send().await.status(), 200);
        assert!(
            seen.request(0).starts_with("GET /b "),
            "{}",
            seen.request(0)
        );
        assert!(user.client.get().is_some(), "reqwest took it");
        let absolute = format!("{base}/abs");
        assert_eq!(user.get(&absolute).send().await.status(), 200);
        let bad = user.get("/x").header("bad header", "v").send().await;
        assert!(
            bad.error().is_some_and(|e| e.starts_with("builder error")),
            "{bad:?}"
        );
    }
}
