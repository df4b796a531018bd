//! A catalogue on a sqlx `SqlitePool`, as an application writes it: the page in one statement,
//! and the same page one lookup at a time.

use sqlx::SqlitePool;

/// The application's repository over its pool.
pub struct Catalogue {
    pool: SqlitePool,
}

impl Catalogue {
    /// The repository over `pool`.
    pub fn new(pool: SqlitePool) -> Catalogue {
        Catalogue { pool }
    }

    /// Creates and fills the table with `n` items.
    pub async fn seed(&self, n: i64) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS media (id INTEGER PRIMARY KEY, title TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        for id in 1..=n {
            sqlx::query("INSERT OR IGNORE INTO media (id, title) VALUES (?, ?)")
                .bind(id)
                .bind(format!("title {id}"))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// The titles of `ids` in one statement.
    pub async fn titles(&self, ids: &[i64]) -> Result<Vec<String>, sqlx::Error> {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sqlx::query_scalar(&format!(
            "SELECT title FROM media WHERE id IN ({list}) ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// The same titles one lookup at a time: the N+1.
    pub async fn titles_one_by_one(&self, ids: &[i64]) -> Result<Vec<String>, sqlx::Error> {
        let mut titles = Vec::with_capacity(ids.len());
        for id in ids {
            let title: String = sqlx::query_scalar("SELECT title FROM media WHERE id = ?")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
            titles.push(title);
        }
        Ok(titles)
    }
}
