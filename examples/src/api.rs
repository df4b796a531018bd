//! The HTTP API (axum) over the catalogue and the request queue, served in-process:
//!
//! - `GET /health` → `ok`
//! - `GET /api/v1/media?q=night&after=CURSOR&limit=20` → a page of hits as JSON
//! - `GET /api/v1/media/{id}` → one item, or 404
//! - `POST /api/v1/requests` with `{"user": "ann", "media": 42}` → 201 and the request id
//! - `GET /api/v1/notifications?user=ann` (WebSocket) → a JSON message for each request `ann`
//!   submits, as it is queued: `{"event": "queued", "id": 7, "media": 42}`
//!
//! `spawn` starts it on the current tokio runtime at an ephemeral port of 127.0.0.1: what the
//! load tests' `setup` does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::{Catalogue, Priority, RequestQueue, Submitted, Target};

/// What the handlers share: the catalogue (read-only), the queue (behind a mutex) and the
/// notifications of queued requests.
pub struct AppState {
    /// The searchable catalogue.
    pub catalogue: Catalogue,
    /// Pending media requests.
    pub queue: Mutex<RequestQueue>,
    /// Each queued request as (user, JSON message), for the users' notification sockets.
    pub notifications: broadcast::Sender<(String, String)>,
}

impl AppState {
    /// State over `catalogue` with an empty queue.
    pub fn new(catalogue: Catalogue) -> AppState {
        AppState {
            catalogue,
            queue: Mutex::new(RequestQueue::new()),
            notifications: broadcast::channel(NOTIFICATIONS_BUFFERED).0,
        }
    }
}

/// Notifications a slow socket may fall behind by before it misses some.
const NOTIFICATIONS_BUFFERED: usize = 1024;

/// The API's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/v1/media", get(search))
        .route("/api/v1/media/{id}", get(item))
        .route("/api/v1/requests", post(request))
        .route("/api/v1/notifications", get(notifications))
        .with_state(state)
}

/// Serves the API for `catalogue` on 127.0.0.1 (an ephemeral port) on the current tokio
/// runtime; returns the address. Call it inside a runtime (a load test's `setup` is).
pub fn spawn(catalogue: Catalogue) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = router(Arc::new(AppState::new(catalogue)));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    after: Option<String>,
    limit: Option<usize>,
}

async fn search(State(state): State<Arc<AppState>>, Query(p): Query<SearchParams>) -> Response {
    let limit = p.limit.unwrap_or(20).min(100);
    match state.catalogue.search_page(&p.q, p.after.as_deref(), limit) {
        Ok(page) => Json(json!({
            "total": page.total,
            "next": page.next.map(|c| c.to_string()),
            "hits": page.hits.iter().map(|h| json!({
                "id": h.media.id,
                "title": h.media.title,
                "year": h.media.year,
                "score": h.score,
            })).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn item(State(state): State<Arc<AppState>>, Path(id): Path<u32>) -> Response {
    match state.catalogue.get(id) {
        Some(m) => Json(m.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no media {id}")).into_response(),
    }
}

#[derive(Deserialize)]
struct NewRequest {
    user: String,
    media: u32,
}

async fn request(State(state): State<Arc<AppState>>, Json(r): Json<NewRequest>) -> Response {
    if state.catalogue.get(r.media).is_none() {
        return (StatusCode::NOT_FOUND, format!("no media {}", r.media)).into_response();
    }
    let submitted = match state.queue.lock() {
        Ok(mut q) => q.submit(&r.user, Target::Media(r.media), Priority::Normal),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let (status, id) = match submitted {
        Submitted::New(id) => (StatusCode::CREATED, id),
        Submitted::Merged(id) | Submitted::Repeated(id) => (StatusCode::OK, id),
    };
    let event = json!({ "event": "queued", "id": id.0, "media": r.media }).to_string();
    // No socket listening is not an error: nobody is waiting for the notification.
    let _ = state.notifications.send((r.user, event));
    (status, Json(json!({ "id": id.0 }))).into_response()
}

#[derive(Deserialize)]
struct FeedParams {
    user: String,
}

/// Upgrades to a WebSocket that carries `user`'s notifications until either side closes.
async fn notifications(
    State(state): State<Arc<AppState>>,
    Query(p): Query<FeedParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let feed = state.notifications.subscribe();
    upgrade.on_upgrade(move |socket| notify(socket, p.user, feed))
}

/// Forwards `user`'s notifications to `socket`; answers the client's close.
async fn notify(
    mut socket: WebSocket,
    user: String,
    mut feed: broadcast::Receiver<(String, String)>,
) {
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Ok((to, message)) if to == user => {
                    if socket.send(Message::Text(message.into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
