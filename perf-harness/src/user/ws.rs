//! WebSocket virtual users: `user.ws(path).connect()` opens a socket (tokio-tungstenite) whose
//! connect, exchanges, pings and session are timed into the worker's by-name rows under k6's
//! metric names, and whose failures are counted by kind and fail the iteration.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use perf_schema::grammar::k6::{WS_CONNECTING, WS_PING, WS_SESSION_DURATION};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::metrics::{ErrorKind, Metrics, RequestOutcome};
use super::{closed_by_the_server, fail, User};

/// How long `connect()` waits for the upgrade unless [`WsConnect::timeout`] says otherwise
/// (the HTTP client's connect timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Each socket's read buffer. tungstenite's default (128 KiB) is zero-filled before every read
/// and held by every idle socket: a fifth of a pinned core went to that `memset` in the
/// exchanges/s benchmark (scripts/ws-throughput.sh). Larger frames still grow it as they need.
pub const READ_BUFFER_BYTES: usize = 8 << 10;

/// An upgrade request's headers besides its URL (host, upgrade, connection, key, version).
const UPGRADE_REQUEST_BYTES: usize = 160;

/// An answer's usual size (a 101's status line, upgrade, connection and accept key).
const UPGRADE_ANSWER_BYTES: u64 = 130;

/// How long `close()` waits for the server's close frame.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages that arrived while the test waited for another, kept for [`WebSocket::recv`]; past
/// this many the oldest is dropped (a broadcast the test never reads cannot grow without bound).
pub const MAX_PENDING: usize = 256;

impl<S> User<S> {
    /// A WebSocket to `path` on the service (`http://` becomes `ws://`, `https://` `wss://`;
    /// `ws://...` URLs are kept as they are), opened by `.connect().await`.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use perf_harness::{perf_test, User};
    ///
    /// #[perf_test(users = 20, duration = "30s",
    ///             thresholds = ["ws_msg_latency{name:echo}: p(95) < 50ms", "ws_connecting: p(95) < 100ms"])]
    /// async fn chat(user: &mut User) -> Result<(), perf_harness::WsError> {
    ///     let mut ws = user.ws("/ws/echo").connect().await?;
    ///     for i in 0..10 {
    ///         let id = format!("{}-{i}", user.index());
    ///         ws.request("echo", id.clone(), Duration::from_secs(1), |m| m.text() == Some(id.as_str()))
    ///             .await?;
    ///     }
    ///     ws.close().await
    /// }
    /// # fn main() {}
    /// ```
    pub fn ws(&mut self, path: &str) -> WsConnect<'_, S> {
        let url = if path.starts_with("ws://") || path.starts_with("wss://") {
            path.to_string()
        } else {
            ws_url(&self.url(path))
        };
        WsConnect {
            path: path.split('?').next().unwrap_or(path).to_string(),
            user: self,
            url,
            name: None,
            headers: Vec::new(),
            timeout: CONNECT_TIMEOUT,
        }
    }
}

/// `http(s)://` → `ws(s)://`.
fn ws_url(http: &str) -> String {
    if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        http.to_string()
    }
}

/// A WebSocket being opened: name, headers and timeout, then `connect().await`.
pub struct WsConnect<'u, S = ()> {
    user: &'u mut User<S>,
    url: String,
    path: String,
    name: Option<Cow<'static, str>>,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

impl<S> WsConnect<'_, S> {
    /// Names the upgrade request in the report (default `WS /path`), so
    /// `ws_connecting{name:..}` can hold it to a threshold.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a header to the upgrade request (a token, a cookie, a subprotocol).
    pub fn header(mut self, key: &str, value: &str) -> Self {
        self.headers.push((key.to_string(), value.to_string()));
        self
    }

    /// How long to wait for the upgrade (default [`CONNECT_TIMEOUT`], 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Opens the socket: the upgrade is timed as a request of its name and as `ws_connecting`.
    /// A refused upgrade (`ws_upgrade`), a refused connection (`connect`) or no answer in time
    /// (`ws_timeout`) is counted, fails the iteration and is returned.
    pub async fn connect(self) -> Result<WebSocket, WsError> {
        let WsConnect {
            user,
            url,
            path,
            name,
            headers,
            timeout,
        } = self;
        let name: Rc<str> = match name {
            Some(n) => Rc::from(n.as_ref()),
            None => Rc::from(format!("WS {path}")),
        };
        user.metrics.borrow_mut().ws_counts().connects += 1;
        let start = Instant::now();
        let opened = open(&url, &headers, timeout).await;
        let took_ns = start.elapsed().as_nanos() as u64;
        let mut metrics = user.metrics.borrow_mut();
        let status = opened.as_ref().map_or_else(|e| e.status, |_| 101);
        let outcome = RequestOutcome {
            status,
            error: opened.as_ref().err().map(|e| e.kind),
            service_ns: took_ns,
            lag_ns: user.lag_ns,
            // The upgrade request's and the 101 answer's usual sizes (tungstenite does not
            // report them).
            bytes_sent: (url.len() + UPGRADE_REQUEST_BYTES) as u64,
            bytes_received: if status != 0 { UPGRADE_ANSWER_BYTES } else { 0 },
        };
        metrics.record_request(&name, outcome);
        match opened {
            Ok(stream) => {
                metrics.record_named(WS_CONNECTING, took_ns, user.lag_ns, false);
                metrics.ws_counts().sessions += 1;
                drop(metrics);
                Ok(WebSocket {
                    stream,
                    metrics: Rc::clone(&user.metrics),
                    failure: Rc::clone(&user.failure),
                    name,
                    lag_ns: user.lag_ns,
                    opened: Instant::now(),
                    pending: VecDeque::new(),
                    closed_by_server: None,
                    session_recorded: false,
                    pings: 0,
                })
            }
            Err(e) => {
                metrics.note(|| format!("{name}: {}: {}", e.kind.as_str(), e.message));
                drop(metrics);
                fail(&user.failure, e.kind);
                Err(e)
            }
        }
    }
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects and upgrades, each failure mapped to its kind with a message that says what to do.
async fn open(
    url: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<Stream, WsError> {
    let mut request = url.into_client_request().map_err(|e| {
        WsError::new(
            ErrorKind::Request,
            format!("`{url}` is not a WebSocket URL: {e}"),
        )
    })?;
    for (key, value) in headers {
        let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(WsError::new(
                ErrorKind::Request,
                format!("header `{key}: {value}` is not a valid HTTP header"),
            ));
        };
        request.headers_mut().append(k, v);
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(WsError::new(
            ErrorKind::WsTimeout,
            format!(
                "no answer to the upgrade of {url} within {}",
                crate::spec::format_ns(timeout.as_nanos() as f64)
            ),
        )),
        Ok(Ok((stream, _response))) => Ok(stream),
        Ok(Err(e)) => Err(connect_error(url, e)),
    }
}

fn connect_error(url: &str, e: tungstenite::Error) -> WsError {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(b)
                        .trim()
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .filter(|b| !b.is_empty())
                .map_or_else(String::new, |b| format!(", body: {b:?}"));
            let mut error = WsError::new(
                ErrorKind::WsUpgrade,
                format!(
                    "the server answered the upgrade with {status} instead of 101{body}: \
                     {url} is not a WebSocket endpoint, or it refused this client"
                ),
            );
            error.status = status;
            error
        }
        tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            WsError::new(
                ErrorKind::Connect,
                format!("{url}: connection refused: is the service running on that port?"),
            )
        }
        tungstenite::Error::Io(io) if closed_by_the_server(&io) => WsError::new(
            ErrorKind::Closed,
            format!("{url}: the server closed the connection during the upgrade: {io}"),
        ),
        tungstenite::Error::Url(u) => WsError::new(
            ErrorKind::Request,
            format!(
                "`{url}`: {u} (ws:// URLs only: this build has no TLS for wss://, as the HTTP \
                 client has none for https://)"
            ),
        ),
        other => WsError::new(ErrorKind::Request, format!("{url}: {other}")),
    }
}

/// A failed WebSocket operation: its kind (as counted in the report's errors) and what
/// happened. Already counted and the iteration already failed when the test sees it.
#[derive(Debug, Clone)]
pub struct WsError {
    kind: ErrorKind,
    status: u16,
    message: String,
}

impl WsError {
    fn new(kind: ErrorKind, message: String) -> WsError {
        WsError {
            kind,
            status: 0,
            message,
        }
    }

    /// The error kind as the report counts it: `ws_upgrade`, `ws_closed`, `ws_timeout`,
    /// `connect`, `closed` or `request`.
    pub fn kind(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The HTTP status of a refused upgrade, else 0.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether nothing came in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::WsTimeout
    }

    /// Whether the server closed or reset the socket.
    pub fn is_closed(&self) -> bool {
        matches!(self.kind, ErrorKind::WsClosed | ErrorKind::Closed)
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WsError {}

/// A data message received: text or binary. Holds the frame's bytes without copying them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsMessage(Payload);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Payload {
    Text(Utf8Bytes),
    Binary(bytes::Bytes),
}

impl WsMessage {
    /// The text of a text message; `None` for a binary one.
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Payload::Text(t) => Some(t.as_str()),
            Payload::Binary(_) => None,
        }
    }

    /// The message's bytes (a text message's UTF-8).
    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            Payload::Text(t) => t.as_ref(),
            Payload::Binary(b) => b,
        }
    }

    /// Whether it is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self.0, Payload::Binary(_))
    }

    /// The message parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.bytes())
    }

    fn len(&self) -> usize {
        self.bytes().len()
    }
}

/// What a socket waits for, named in its timeout's message.
#[derive(Clone, Copy)]
enum Waiting<'a> {
    Message,
    Reply(&'a str),
    Pong,
}

impl fmt::Display for Waiting<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Waiting::Message => f.write_str("message"),
            Waiting::Reply(name) => write!(f, "reply to `{name}`"),
            Waiting::Pong => f.write_str("pong"),
        }
    }
}

/// What the socket delivered: a data message or the pong of a ping.
enum Event {
    Data(WsMessage),
    Pong(bytes::Bytes),
}

/// An open WebSocket of one virtual user.
///
/// Every data message sent and received is counted (`ws_msgs_sent`, `ws_msgs_received`); an
/// exchange timed with [`request`](Self::request) or [`wait_for`](Self::wait_for) is a row of
/// its name (`ws_msg_latency{name:..}` in thresholds); [`ping`](Self::ping) is timed as
/// `ws_ping`; the session, from the upgrade to `close()` or drop, as `ws_session_duration`.
/// Pings from the server are answered by the socket. Every failure is counted by kind and fails
/// the iteration before it is returned.
pub struct WebSocket {
    stream: Stream,
    metrics: Rc<RefCell<Metrics>>,
    failure: Rc<Cell<Option<ErrorKind>>>,
    name: Rc<str>,
    lag_ns: u64,
    opened: Instant,
    pending: VecDeque<WsMessage>,
    /// How the server ended the session, once it did.
    closed_by_server: Option<String>,
    session_recorded: bool,
    pings: u64,
}

impl WebSocket {
    /// Sends a text message.
    pub async fn send(&mut self, text: impl Into<String>) -> Result<(), WsError> {
        let text: String = text.into();
        let bytes = text.len();
        self.send_data(Message::text(text), bytes).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: impl Into<bytes::Bytes>) -> Result<(), WsError> {
        let data: bytes::Bytes = data.into();
        let bytes = data.len();
        self.send_data(Message::Binary(data), bytes).await
    }

    /// The next data message (first those that arrived while the test waited for another);
    /// none within `timeout` is a `ws_timeout`, a closed socket a `ws_closed`.
    pub async fn recv(&mut self, timeout: Duration) -> Result<WsMessage, WsError> {
        if let Some(message) = self.pending.pop_front() {
            return Ok(message);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_event(deadline, Waiting::Message, timeout).await? {
                Event::Data(message) => return Ok(message),
                Event::Pong(_) => continue,
            }
        }
    }

    /// Sends `text` and waits for the reply `matches` recognises (by a correlation the test
    /// put in the message): the time from sending to that reply is a row named `name`
    /// (`ws_msg_latency{name:..}`), a reply not within `timeout` a failed one. Other
    /// messages that arrive meanwhile are kept for `recv`.
    pub async fn request(
        &mut self,
        name: &str,
        text: impl Into<String>,
        timeout: Duration,
        matches: impl FnMut(&WsMessage) -> bool,
    ) -> Result<WsMessage, WsError> {
        let since = Instant::now();
        if let Err(e) = self.send(text).await {
            self.record_exchange(name, since, true);
            return Err(e);
        }
        self.wait_for(name, since, timeout, matches).await
    }

    /// Waits until `since + timeout` for the message `matches` recognises (a notification the
    /// test caused at `since`, e.g. by an HTTP request) and times it from `since` as a row
    /// named `name`. Other messages that arrive meanwhile are kept for `recv`.
    pub async fn wait_for(
        &mut self,
        name: &str,
        since: Instant,
        timeout: Duration,
        mut matches: impl FnMut(&WsMessage) -> bool,
    ) -> Result<WsMessage, WsError> {
        if let Some(at) = self.pending.iter().position(&mut matches) {
            self.record_exchange(name, since, false);
            return Ok(self.pending.remove(at).expect("position is in range"));
        }
        let deadline = since + timeout;
        loop {
            match self
                .next_event(deadline, Waiting::Reply(name), timeout)
                .await
            {
                Ok(Event::Data(message)) if matches(&message) => {
                    self.record_exchange(name, since, false);
                    return Ok(message);
                }
                Ok(Event::Data(other)) => self.keep(other),
                Ok(Event::Pong(_)) => {}
                Err(e) => {
                    self.record_exchange(name, since, true);
                    return Err(e);
                }
            }
        }
    }

    /// Sends a ping and waits for its pong: the round trip is timed as `ws_ping`.
    pub async fn ping(&mut self, timeout: Duration) -> Result<Duration, WsError> {
        self.pings += 1;
        let payload = bytes::Bytes::copy_from_slice(&self.pings.to_be_bytes());
        let start = Instant::now();
        self.usable()?;
        if let Err(e) = self.stream.send(Message::Ping(payload.clone())).await {
            let error = self.transport_error(e);
            return Err(self.failed(error));
        }
        let deadline = start + timeout;
        loop {
            match self.next_event(deadline, Waiting::Pong, timeout).await {
                Ok(Event::Pong(p)) if p == payload => {
                    let took = start.elapsed();
                    self.metrics.borrow_mut().record_named(
                        WS_PING,
                        took.as_nanos() as u64,
                        0,
                        false,
                    );
                    return Ok(took);
                }
                Ok(Event::Pong(_)) => {}
                Ok(Event::Data(other)) => self.keep(other),
                Err(e) => {
                    self.metrics.borrow_mut().record_named(
                        WS_PING,
                        start.elapsed().as_nanos() as u64,
                        0,
                        true,
                    );
                    return Err(e);
                }
            }
        }
    }

    /// Closes the session (a close frame, then the server's, within [`CLOSE_TIMEOUT`]) and
    /// records its duration. A session the server already closed is just recorded.
    pub async fn close(mut self) -> Result<(), WsError> {
        self.record_session();
        if self.closed_by_server.is_some() {
            return Ok(());
        }
        if let Err(e) = self.stream.close(None).await {
            let error = self.transport_error(e);
            return Err(self.failed(error));
        }
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline.into(), self.stream.next()).await {
                Err(_) => {
                    return Err(self.failed(WsError::new(
                        ErrorKind::WsTimeout,
                        format!(
                            "{}: the server did not answer the close within {}",
                            self.name,
                            crate::spec::format_ns(CLOSE_TIMEOUT.as_nanos() as f64)
                        ),
                    )))
                }
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Ok(()),
                Ok(Some(Ok(Message::Text(_) | Message::Binary(_)))) => {
                    self.metrics.borrow_mut().ws_counts().msgs_received += 1;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Messages received and not yet returned by `recv`.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    async fn send_data(&mut self, message: Message, bytes: usize) -> Result<(), WsError> {
        self.usable()?;
        match self.stream.send(message).await {
            Ok(()) => {
                let mut metrics = self.metrics.borrow_mut();
                metrics.ws_counts().msgs_sent += 1;
                metrics.bytes_sent += bytes as u64;
                Ok(())
            }
            Err(e) => {
                let error = self.transport_error(e);
                Err(self.failed(error))
            }
        }
    }

    /// The next data message or pong before `deadline`; pings are answered by the socket.
    async fn next_event(
        &mut self,
        deadline: Instant,
        waiting_for: Waiting<'_>,
        timeout: Duration,
    ) -> Result<Event, WsError> {
        self.usable()?;
        loop {
            let next = tokio::time::timeout_at(deadline.into(), self.stream.next()).await;
            let message = match next {
                Err(_) => {
                    let error = WsError::new(
                        ErrorKind::WsTimeout,
                        format!(
                            "{}: no {waiting_for} within {}",
                            self.name,
                            crate::spec::format_ns(timeout.as_nanos() as f64)
                        ),
                    );
                    return Err(self.failed(error));
                }
                Ok(None) => {
                    self.closed_by_server = Some("the connection ended".into());
                    return Err(self.failed(self.closed_error()));
                }
                Ok(Some(Err(e))) => {
                    let error = self.transport_error(e);
                    return Err(self.failed(error));
                }
                Ok(Some(Ok(message))) => message,
            };
            let data = match message {
                Message::Text(text) => WsMessage(Payload::Text(text)),
                Message::Binary(data) => WsMessage(Payload::Binary(data)),
                Message::Pong(payload) => return Ok(Event::Pong(payload)),
                Message::Close(frame) => {
                    self.closed_by_server = Some(match frame {
                        Some(f) => {
                            format!("close code {} {:?}", u16::from(f.code), f.reason.as_str())
                        }
                        None => "a close frame".into(),
                    });
                    return Err(self.failed(self.closed_error()));
                }
                Message::Ping(_) | Message::Frame(_) => continue,
            };
            let mut metrics = self.metrics.borrow_mut();
            metrics.ws_counts().msgs_received += 1;
            metrics.bytes_received += data.len() as u64;
            return Ok(Event::Data(data));
        }
    }

    /// An error if the server already closed the session.
    fn usable(&mut self) -> Result<(), WsError> {
        match self.closed_by_server {
            Some(_) => Err(self.failed(self.closed_error())),
            None => Ok(()),
        }
    }

    fn closed_error(&self) -> WsError {
        let how = self
            .closed_by_server
            .as_deref()
            .unwrap_or("the connection ended");
        WsError::new(
            ErrorKind::WsClosed,
            format!(
                "{}: the server closed the session while the test still used it ({how})",
                self.name
            ),
        )
    }

    fn transport_error(&mut self, e: tungstenite::Error) -> WsError {
        let closed = match &e {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => true,
            tungstenite::Error::Protocol(p) => matches!(
                p,
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake
                    | tungstenite::error::ProtocolError::SendAfterClosing
            ),
            tungstenite::Error::Io(io) => closed_by_the_server(io),
            _ => false,
        };
        if closed {
            self.closed_by_server.get_or_insert_with(|| e.to_string());
            return self.closed_error();
        }
        WsError::new(ErrorKind::Request, format!("{}: {e}", self.name))
    }

    /// Counts `error`, keeps its message, fails the iteration; returns it.
    fn failed(&self, error: WsError) -> WsError {
        self.metrics.borrow_mut().record_error(error.kind, || {
            format!("{}: {}", error.kind.as_str(), error.message)
        });
        fail(&self.failure, error.kind);
        error
    }

    fn keep(&mut self, message: WsMessage) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(message);
    }

    fn record_exchange(&self, name: &str, since: Instant, failed: bool) {
        self.metrics.borrow_mut().record_named(
            name,
            since.elapsed().as_nanos() as u64,
            self.lag_ns,
            failed,
        );
    }

    fn record_session(&mut self) {
        if !self.session_recorded {
            self.session_recorded = true;
            let ns = self.opened.elapsed().as_nanos() as u64;
            self.metrics
                .borrow_mut()
                .record_named(WS_SESSION_DURATION, ns, 0, false);
        }
    }
}

impl Drop for WebSocket {
    /// A socket dropped without `close()` (the iteration ended or timed out) still has its
    /// session recorded; its connection is simply dropped.
    fn drop(&mut self) {
        self.record_session();
    }
}

#[cfg(test)]
mod tests {
    use super::ws_url;

    #[test]
    fn http_urls_become_ws_urls() {
        assert_eq!(ws_url("http://127.0.0.1:8080/ws"), "ws://127.0.0.1:8080/ws");
        assert_eq!(
            ws_url("https://example.test/x?a=1"),
            "wss://example.test/x?a=1"
        );
        assert_eq!(ws_url("ws://h/x"), "ws://h/x");
    }
}
