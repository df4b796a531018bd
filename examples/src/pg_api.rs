//! The recent-requests page over PostgreSQL with sqlx, as a service holds it: a `PgPool` in
//! axum's state and repository functions over it (feature `postgres`).
//!
//! - `GET /api/v1/requests/recent?limit=20` → the most recent requests with requester and
//!   title, as JSON

use std::net::SocketAddr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use sqlx::{PgPool, Row};

use crate::store::RecentRequest;

/// Creates the tables and fills them: `users`, `media` and `requests` rows.
pub async fn seed(pool: &PgPool, users: i64, media: i64, requests: i64) -> sqlx::Result<()> {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS requests; DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS media;
         CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE media (id BIGINT PRIMARY KEY, title TEXT NOT NULL);
         CREATE TABLE requests (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users,
                                media_id BIGINT NOT NULL REFERENCES media, created_at BIGINT NOT NULL);",
    )
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO users SELECT g, 'user' || g FROM generate_series(1, $1::bigint) g")
        .bind(users)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO media SELECT g, 'title ' || g FROM generate_series(1, $1::bigint) g")
        .bind(media)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO requests SELECT g, g * 7 % $2 + 1, g * 13 % $3 + 1, g \
         FROM generate_series(1, $1::bigint) g",
    )
    .bind(requests)
    .bind(users)
    .bind(media)
    .execute(pool)
    .await?;
    // ANALYZE of these tables only: a bare ANALYZE takes every table of the database, and
    // deadlocked against another process seeding its own schema at the same time.
    sqlx::raw_sql(
        "CREATE INDEX requests_recent ON requests (created_at DESC, id DESC);
         ANALYZE users; ANALYZE media; ANALYZE requests;",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The `limit` most recent requests with requester and title: one statement.
pub async fn recent(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<RecentRequest>> {
    let rows = sqlx::query(
        "SELECT r.id, u.name, m.title FROM requests r JOIN users u ON u.id = r.user_id \
         JOIN media m ON m.id = r.media_id ORDER BY r.created_at DESC, r.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RecentRequest {
                id: r.try_get(0)?,
                user: r.try_get(1)?,
                title: r.try_get(2)?,
            })
        })
        .collect()
}

/// The same page written the naive way: the page, then each row's requester and title (1 + 2 ×
/// `limit` statements).
pub async fn recent_one_by_one(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<RecentRequest>> {
    let page = sqlx::query(
        "SELECT id, user_id, media_id FROM requests ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(page.len());
    for row in page {
        let (id, user_id, media_id): (i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let user = sqlx::query("SELECT name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        let title = sqlx::query("SELECT title FROM media WHERE id = $1")
            .bind(media_id)
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        out.push(RecentRequest { id, user, title });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<i64>,
}

impl Limit {
    /// The page size asked for: 20 by default, 1 to 100.
    fn rows(&self) -> i64 {
        self.limit.unwrap_or(20).clamp(1, 100)
    }
}

/// A page as JSON, or the database's error as a 500.
type PageResponse = Result<Json<Vec<RecentRequest>>, (StatusCode, String)>;

fn page(rows: sqlx::Result<Vec<RecentRequest>>) -> PageResponse {
    rows.map(Json)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn recent_page(State(pool): State<PgPool>, Query(q): Query<Limit>) -> PageResponse {
    page(recent(&pool, q.rows()).await)
}

/// The same page with one lookup per row (`recent_one_by_one`): the N+1 the load test's
/// statement count catches (`--features n-plus-one-demo`).
async fn recent_page_one_by_one(
    State(pool): State<PgPool>,
    Query(q): Query<Limit>,
) -> PageResponse {
    page(recent_one_by_one(&pool, q.rows()).await)
}

/// The routes over `pool`, kept in axum's state.
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/api/v1/requests/recent", get(recent_page))
        .route(
            "/api/v1/requests/recent/one-by-one",
            get(recent_page_one_by_one),
        )
        .with_state(pool)
}

/// Serves the routes on 127.0.0.1 (an ephemeral port) on the current tokio runtime; returns the
/// address. Call it inside a runtime (a load test's `setup` is).
pub fn spawn(pool: PgPool) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(pool)).await;
    });
    Ok(addr)
}
