//! Database perf tests on SQLite: the media-requests schema (users, media, requests) seeded with
//! skewed data in an on-disk database, and the queries a request page runs.
//!
//! `cargo perf -p mediashelf database` measures them with statement counts and the slowest
//! statements; `--features n-plus-one-demo` adds a deliberately N+1 listing that `max_queries`
//! and `n_plus_one` catch (that run exits 1, on purpose).

use mediashelf::fixtures::{self, XorShift64};
use perf_harness::db::sqlite::SqliteError;
use perf_harness::db::{Scale, Sqlite, SqlitePool};
use perf_harness::{perf_test, User};

/// Rows at full scale. Debug builds (`cargo test` smoke runs) seed a tenth: the smoke run only
/// shows the bodies work.
const USERS: usize = 5_000;
const MEDIA: usize = 20_000;
const REQUESTS: usize = 100_000;

fn rows(n: usize, scale: Scale) -> usize {
    let n = if cfg!(debug_assertions) { n / 10 } else { n };
    scale.of(n)
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE media (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL COLLATE NOCASE,
        kind TEXT NOT NULL,
        year INTEGER NOT NULL,
        requested INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id),
        media_id INTEGER NOT NULL REFERENCES media (id),
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'available', 'declined')),
        priority INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX media_title ON media (title);
    CREATE INDEX requests_recent ON requests (created_at DESC, id DESC);
    CREATE INDEX requests_by_user ON requests (user_id, created_at DESC);
    CREATE INDEX requests_by_media ON requests (media_id);
";

/// An on-disk database with the schema and `scale` of the rows, plus a cursor for the tests.
struct Shelf {
    db: Sqlite,
    users: i64,
    media: i64,
    next: i64,
    clock: i64,
}

/// Users and media requested with Zipf-like skew: a few heavy users and hit titles dominate,
/// as in a real request queue; timestamps increase with ids, with a long tail of old rows.
fn seeded_at(scale: Scale) -> Result<Shelf, SqliteError> {
    let mut db = Sqlite::temporary()?;
    db.execute_batch(SCHEMA)?;
    let (users, media, requests) = (
        rows(USERS, scale),
        rows(MEDIA, scale),
        rows(REQUESTS, scale),
    );
    let mut rng = XorShift64::new(2024);
    let tx = db.transaction()?;
    {
        let fail =
            |e| perf_harness::db::sqlite::statement_error("seeding users, media, requests", e);
        let mut insert = tx
            .prepare("INSERT INTO users (id, name, email, created_at) VALUES (?1, ?2, ?3, ?4)")
            .map_err(fail)?;
        for id in 1..=users as i64 {
            insert
                .execute((id, format!("user {id}"), format!("u{id}@example.test"), id))
                .map_err(fail)?;
        }
        let mut insert = tx
            .prepare("INSERT INTO media (id, title, kind, year) VALUES (?1, ?2, ?3, ?4)")
            .map_err(fail)?;
        for m in fixtures::media(media, 7) {
            insert
                .execute((i64::from(m.id), m.title, m.kind.as_str(), m.year))
                .map_err(fail)?;
        }
        let mut insert = tx
            .prepare(
                "INSERT INTO requests (user_id, media_id, status, priority, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(fail)?;
        const STATUS: [&str; 4] = ["pending", "approved", "available", "declined"];
        for i in 0..requests as i64 {
            let user = rng.skewed(users) as i64 + 1;
            let item = rng.skewed(media) as i64 + 1;
            let status = STATUS[rng.skewed(STATUS.len())];
            insert
                .execute((user, item, status, rng.below(4) as i64, i * 60))
                .map_err(fail)?;
        }
        tx.execute_batch(
            "UPDATE media SET requested =
                 (SELECT count(*) FROM requests WHERE requests.media_id = media.id);
             ANALYZE;",
        )
        .map_err(fail)?;
    }
    tx.commit()
        .map_err(|e| perf_harness::db::sqlite::statement_error("COMMIT", e))?;
    Ok(Shelf {
        db,
        users: users as i64,
        media: media as i64,
        next: 0,
        clock: requests as i64 * 60,
    })
}

/// The fixture every test here starts from (setup runs once per test, untimed).
fn seeded() -> Shelf {
    seeded_at(Scale::FULL).unwrap_or_else(|e| panic!("cannot seed the database: {e}"))
}

/// `n_plus_one` tests build the fixture at the size they are asked for.
fn seeded_scaled(scale: Scale) -> Shelf {
    seeded_at(scale).unwrap_or_else(|e| panic!("cannot seed the database: {e}"))
}

/// A user with many requests (ids are picked with skew toward 1), but not the very busiest.
const ACTIVE_USER: i64 = 20;

const RECENT_PAGE: &str = "
    SELECT r.id, r.status, r.created_at, u.name, m.title
    FROM requests r
    JOIN users u ON u.id = r.user_id
    JOIN media m ON m.id = r.media_id
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT 20 OFFSET ?1";

/// The admin page: 20 most recent requests with requester and title, pages 1 to 10.
#[perf_test(samples = 300, warmup = 20, setup = seeded, p95 = "5ms", max_queries = 1)]
fn recent_requests_page(s: &mut Shelf) -> Result<(), SqliteError> {
    let offset = (s.next % 10) * 20;
    s.next += 1;
    let rows = s.db.query(RECENT_PAGE, [offset])?;
    assert_eq!(rows.len(), 20);
    Ok(())
}

/// Title search as the user types: a prefix on an indexed, case-insensitive column.
#[perf_test(samples = 300, warmup = 20, setup = seeded, p95 = "20ms", max_queries = 1)]
fn search_titles_by_prefix(s: &mut Shelf) -> Result<(), SqliteError> {
    const PREFIXES: [&str; 8] = ["the", "mid", "sh", "night", "a", "red", "lan", "st"];
    let prefix = PREFIXES[(s.next % 8) as usize];
    s.next += 1;
    let hits = s.db.query_map(
        "SELECT id, title, year FROM media WHERE title LIKE ?1 || '%'
         ORDER BY requested DESC, id LIMIT 20",
        [prefix],
        |row| row.get::<_, String>(1),
    )?;
    std::hint::black_box(hits);
    Ok(())
}

/// Submitting a request: in one transaction, merge with a pending duplicate or insert, and
/// bump the title's request count. WAL mode, synchronous = NORMAL, on disk.
#[perf_test(samples = 300, warmup = 20, setup = seeded, p95 = "10ms", max_queries = 5)]
fn submit_request_in_a_transaction(s: &mut Shelf) -> Result<(), SqliteError> {
    let user = (s.next * 7919) % s.users + 1;
    let item = (s.next * 104_729) % s.media + 1;
    s.next += 1;
    s.clock += 1;
    let fail = |e| perf_harness::db::sqlite::statement_error("submit", e);
    let tx = s.db.transaction()?;
    let pending: i64 = tx
        .query_row(
            "SELECT count(*) FROM requests
             WHERE user_id = ?1 AND media_id = ?2 AND status = 'pending'",
            [user, item],
            |r| r.get(0),
        )
        .map_err(fail)?;
    if pending == 0 {
        tx.execute(
            "INSERT INTO requests (user_id, media_id, status, priority, created_at)
             VALUES (?1, ?2, 'pending', 1, ?3)",
            [user, item, s.clock],
        )
        .map_err(fail)?;
    }
    tx.execute(
        "UPDATE media SET requested = requested + 1 WHERE id = ?1",
        [item],
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)?;
    Ok(())
}

/// One user's whole history with titles, in one join: the statement count stays at 1 however
/// many requests the user has, which `n_plus_one = "deny"` checks at two fixture sizes.
#[perf_test(samples = 100, setup = seeded_scaled, n_plus_one = "deny", max_queries = 1, p95 = "20ms")]
fn user_history_joined(s: &mut Shelf) -> Result<(), SqliteError> {
    // Skewed picks favour low ids: user 20 has hundreds of requests at full scale.
    let titles = s.db.query_map(
        "SELECT m.title FROM requests r JOIN media m ON m.id = r.media_id
         WHERE r.user_id = ?1 ORDER BY r.created_at DESC",
        [ACTIVE_USER],
        |row| row.get::<_, String>(0),
    )?;
    assert!(!titles.is_empty());
    Ok(())
}

/// The seeded database behind four connections, shared by the users of a load test.
struct SharedShelf {
    pool: SqlitePool,
    users: i64,
    media: i64,
}

fn shared_shelf() -> Result<SharedShelf, SqliteError> {
    let Shelf {
        db, users, media, ..
    } = seeded_at(Scale::FULL)?;
    Ok(SharedShelf {
        pool: SqlitePool::new(db, 4)?,
        users,
        media,
    })
}

/// Contention: eight users on four connections to one WAL database, each iteration a title
/// search, and every fourth a request submission whose write lock the others wait for. Each
/// statement shows in the breakdown as a named request (`sql: ...`), with `pool wait`.
#[perf_test(users = 8, duration = "5s", p99 = "50ms", max_error_rate = 0.0, setup = shared_shelf)]
async fn concurrent_search_and_submit(user: &mut User<SharedShelf>) -> Result<(), SqliteError> {
    const PREFIXES: [&str; 8] = ["the", "mid", "sh", "night", "a", "red", "lan", "st"];
    let n = (user.index() * 1_000_003 + user.iteration()) as i64;
    let (users, media) = (user.state().users, user.state().media);
    user.state()
        .pool
        .run(move |db| {
            let prefix = PREFIXES[(n % 8) as usize];
            db.query(
                "SELECT id, title, year FROM media WHERE title LIKE ?1 || '%'
                 ORDER BY requested DESC, id LIMIT 20",
                [prefix],
            )?;
            if n % 4 == 0 {
                let (who, item) = (n * 7919 % users + 1, n * 104_729 % media + 1);
                let tx = db.transaction()?;
                let fail = |e| perf_harness::db::sqlite::statement_error("submit", e);
                tx.execute(
                    "INSERT INTO requests (user_id, media_id, status, priority, created_at)
                     VALUES (?1, ?2, 'pending', 1, ?3)",
                    [who, item, 1_000_000_000 + n],
                )
                .map_err(fail)?;
                tx.commit().map_err(fail)?;
            }
            Ok(())
        })
        .await
}

/// The service's own store on its own rusqlite connection: `capture` counts its statements
/// while the store keeps the connection.
fn app_store() -> mediashelf::store::Store {
    let conn = perf_harness::db::sqlite::rusqlite::Connection::open_in_memory()
        .unwrap_or_else(|e| panic!("cannot open SQLite in memory: {e}"));
    perf_harness::db::sqlite::capture(&conn);
    let mut store = mediashelf::store::Store::new(conn)
        .unwrap_or_else(|e| panic!("cannot create the store's tables: {e}"));
    let n = |n: usize| rows(n, Scale::FULL) as i64;
    store
        .seed(n(USERS), n(MEDIA), n(REQUESTS))
        .unwrap_or_else(|e| panic!("cannot seed the store: {e}"));
    store
}

/// The recent-requests page through the service's own repository: one statement.
#[perf_test(p95 = "50ms", samples = 50, setup = app_store, max_queries = 1)]
fn app_store_recent_page(store: &mut mediashelf::store::Store) -> rusqlite::Result<()> {
    assert_eq!(store.recent(20)?.len(), 20);
    Ok(())
}

/// The deliberate mistakes: built only with `--features n-plus-one-demo`.
#[cfg(feature = "n-plus-one-demo")]
mod n_plus_one_demo {
    use super::*;

    /// The recent-requests page written the naive way: one query for the page, then one per
    /// row for the requester and one for the title. `max_queries = 3` catches the 41.
    #[perf_test(samples = 50, setup = seeded, max_queries = 3)]
    fn recent_requests_n_plus_one(s: &mut Shelf) -> Result<(), SqliteError> {
        let page = s.db.query(
            "SELECT id, user_id, media_id FROM requests ORDER BY created_at DESC, id DESC LIMIT 20",
            [],
        )?;
        for row in &page {
            s.db.query("SELECT name FROM users WHERE id = ?1", [&row[1]])?;
            s.db.query("SELECT title FROM media WHERE id = ?1", [&row[2]])?;
        }
        Ok(())
    }

    /// The service's own repository, the page written one lookup at a time: `max_queries = 3`
    /// catches its 41 statements on the application's own connection.
    #[perf_test(samples = 50, setup = app_store, max_queries = 3)]
    fn app_store_recent_one_by_one(store: &mut mediashelf::store::Store) -> rusqlite::Result<()> {
        assert_eq!(store.recent_one_by_one(20)?.len(), 20);
        Ok(())
    }

    /// A user's history, one title lookup per request: grows with the data, which
    /// `n_plus_one = "deny"` catches.
    #[perf_test(samples = 20, setup = seeded_scaled, n_plus_one = "deny")]
    fn user_history_n_plus_one(s: &mut Shelf) -> Result<(), SqliteError> {
        let items = s.db.query_map(
            "SELECT media_id FROM requests WHERE user_id = ?1",
            [ACTIVE_USER],
            |row| row.get::<_, i64>(0),
        )?;
        for item in items {
            s.db.query("SELECT title FROM media WHERE id = ?1", [item])?;
        }
        Ok(())
    }
}

#[test]
fn the_seed_is_skewed_like_a_real_request_queue() {
    let s = seeded_at(Scale::HALF).expect("seeds");
    let count = |sql: &str| -> i64 {
        s.db.conn()
            .query_row(sql, [], |r| r.get(0))
            .expect("count query")
    };
    let requests = count("SELECT count(*) FROM requests");
    assert_eq!(requests as usize, rows(REQUESTS, Scale::HALF));
    // The busiest user alone has far more than an even share.
    let top_user =
        count("SELECT max(n) FROM (SELECT count(*) AS n FROM requests GROUP BY user_id)");
    let even = requests / s.users;
    assert!(
        top_user > 20 * even,
        "top user {top_user}, even share {even}"
    );
    assert!(s.db.path().exists(), "the database is a file on disk");
}
