//! The application's sqlx SQLite pool measured unchanged: `perf_harness::db::sqlx::capture()`
//! in setup, and every statement the pool runs counts.

use fixture_sqlx_sqlite::Catalogue;
use perf_harness::perf_test;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// The application's repository on a database file of this process, which `teardown` removes.
struct Db {
    catalogue: Catalogue,
    path: std::path::PathBuf,
}

fn remove(db: Db) {
    drop(db.catalogue);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.path.display()));
    }
}

/// A seeded database file of this process in the temporary directory.
fn catalogue() -> Db {
    perf_harness::db::sqlx::capture().expect("the capture installs");
    let path = std::env::temp_dir().join(format!("fixture-sqlx-sqlite-{}.db", std::process::id()));
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = tokio::runtime::Handle::current()
        .block_on(
            SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options),
        )
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let catalogue = Catalogue::new(pool);
    tokio::runtime::Handle::current()
        .block_on(catalogue.seed(1_000))
        .unwrap_or_else(|e| panic!("cannot seed {}: {e}", path.display()));
    Db { catalogue, path }
}

const IDS: [i64; 20] = [
    3, 14, 15, 92, 65, 35, 89, 79, 323, 846, 264, 338, 327, 950, 288, 419, 716, 939, 937, 510,
];

/// One statement for the page.
#[perf_test(p95 = "1s", samples = 20, setup = catalogue, teardown = remove, max_queries = 1)]
async fn sqlx_sqlite_titles_in_one_statement(db: &mut Db) -> Result<(), sqlx::Error> {
    assert_eq!(db.catalogue.titles(&IDS).await?.len(), 20);
    Ok(())
}

/// The naive page: 20 lookups, which `max_queries = 3` catches.
#[perf_test(p95 = "1s", samples = 20, setup = catalogue, teardown = remove, max_queries = 3)]
async fn sqlx_sqlite_titles_one_by_one(db: &mut Db) -> Result<(), sqlx::Error> {
    assert_eq!(db.catalogue.titles_one_by_one(&IDS).await?.len(), 20);
    Ok(())
}
