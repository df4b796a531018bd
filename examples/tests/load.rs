//! Load tests of mediashelf's HTTP API, one per load shape. Each `setup` starts the API
//! in-process on 127.0.0.1; `cargo perf --base-url http://host:port` points them at a running
//! service instead.

use std::time::{Duration, Instant};

use mediashelf::{api, fixtures};
use perf_harness::{perf_test, User, WsError};

/// Searches a visitor types, from popular to rare.
const QUERIES: [&str; 6] = ["night", "storm", "kind:movie", "harbor", "year:2001", "red"];

/// The API over a 5 000-item catalogue, on an ephemeral port.
fn start() -> std::net::SocketAddr {
    api::spawn(fixtures::catalogue(5_000, 7)).expect("bind an ephemeral port on 127.0.0.1")
}

fn query(user: &User) -> &'static str {
    QUERIES[((user.index() + user.iteration()) % QUERIES.len() as u64) as usize]
}

/// Closed model: 8 users browse (a search page, then an item) with a pause between iterations.
#[perf_test(
    users = 8,
    duration = "4s",
    think = "10ms",
    p95 = "100ms",
    max_error_rate = 0.01,
    thresholds = ["http_req_duration{name:media list}: p(99) < 200ms", "http_req_failed{name:media item}: rate < 0.01"],
    setup = start
)]
async fn browse_media(user: &mut User) {
    let q = query(user);
    let list = user
        .get(&format!("/api/v1/media?q={q}&limit=20"))
        .name("media list")
        .send()
        .await;
    user.check("media list is 200", list.status() == 200);
    let first = list
        .json::<serde_json::Value>()
        .ok()
        .and_then(|v| v["hits"][0]["id"].as_u64());
    if let Some(id) = first {
        let item = user
            .get(&format!("/api/v1/media/{id}"))
            .name("media item")
            .threshold("p(95) < 100ms")
            .send()
            .await;
        user.check("media item is 200", item.ok());
    }
}

/// Open model: searches arrive at 200/s whatever the latency; late starts count against p99.
#[perf_test(
    rate = "200/s",
    max_users = 50,
    duration = "4s",
    p99 = "100ms",
    min_throughput = "180/s",
    max_error_rate = 0.01,
    setup = start
)]
async fn search_at_rate(user: &mut User) {
    let q = query(user);
    let reply = user.get(&format!("/api/v1/media?q={q}")).send().await;
    user.check("search is 200", reply.status() == 200);
}

/// A spike: users ramp 0 → 20 in a second, hold, and leave.
#[perf_test(stages = "1s:0..20, 2s:20, 1s:20..0", p95 = "200ms", max_error_rate = 0.01, setup = start)]
async fn spike(user: &mut User) {
    let reply = user
        .get("/api/v1/media?q=night")
        .name("media list")
        .send()
        .await;
    user.check("media list is 200", reply.ok());
}

/// Arrivals ramp from 20/s to 200/s, then hold: an open-model stress profile.
#[perf_test(stages = "2s:20..200/s, 2s:200/s", max_users = 40, p99 = "200ms", setup = start)]
async fn ramping_arrivals(user: &mut User) {
    let reply = user.get("/health").send().await;
    user.check("healthy", reply.ok());
}

/// A fixed amount of work: 300 media requests, 75 by each of 4 users, as fast as the API
/// takes them.
#[perf_test(users = 4, iterations_per_user = 75, p95 = "50ms", max_error_rate = 0.0, setup = start)]
async fn submit_requests(user: &mut User) -> Result<(), String> {
    let media = 1 + (user.index() * 1_000 + user.iteration()) % 5_000;
    let body = serde_json::json!({ "user": format!("user{}", user.index()), "media": media });
    let reply = user
        .post("/api/v1/requests")
        .json(&body)
        .name("submit request")
        .send()
        .await;
    if !reply.ok() {
        return Err(format!(
            "submit answered {}: {}",
            reply.status(),
            reply.text()
        ));
    }
    Ok(())
}

/// Real-time notifications: each user keeps its notification WebSocket open, submits five
/// media requests over HTTP and waits for the notification of each; the time from submitting
/// to being notified is `request notified` (`ws_msg_latency{name:request notified}`).
#[perf_test(
    users = 8,
    duration = "3s",
    max_error_rate = 0.0,
    thresholds = ["ws_msg_latency{name:request notified}: p(95) < 50ms", "ws_connecting: p(95) < 100ms"],
    setup = start
)]
async fn notified_of_requests(user: &mut User) -> Result<(), WsError> {
    let who = format!("user{}", user.index());
    let mut feed = user
        .ws(&format!("/api/v1/notifications?user={who}"))
        .name("notification feed")
        .connect()
        .await?;
    for _ in 0..5 {
        let media = 1 + (user.index() * 1_000 + user.iteration() * 5) % 5_000;
        let since = Instant::now();
        let reply = user
            .post("/api/v1/requests")
            .json(&serde_json::json!({ "user": who, "media": media }))
            .name("submit request")
            .send()
            .await;
        let Some(id) = reply
            .json::<serde_json::Value>()
            .ok()
            .and_then(|v| v["id"].as_u64())
        else {
            user.check("submit answers an id", false);
            return Ok(());
        };
        feed.wait_for("request notified", since, Duration::from_secs(2), |m| {
            m.json::<serde_json::Value>()
                .is_ok_and(|v| v["event"] == "queued" && v["id"] == id)
        })
        .await?;
    }
    feed.close().await
}
