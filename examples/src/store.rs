//! The request store on SQLite as the service keeps it: its own rusqlite connection and the
//! repository queries of the recent-requests page (each request with its requester's name and
//! its title).

use rusqlite::{params, Connection};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS media (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        media_id INTEGER NOT NULL REFERENCES media(id),
        created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS requests_recent ON requests(created_at DESC, id DESC);
";

/// The store over a connection the service opened and owns.
pub struct Store {
    conn: Connection,
}

/// One row of the recent-requests page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecentRequest {
    /// The request.
    pub id: i64,
    /// Its requester's name.
    pub user: String,
    /// The requested title.
    pub title: String,
}

impl Store {
    /// The store on `conn`, its tables created when missing.
    pub fn new(conn: Connection) -> rusqlite::Result<Store> {
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn })
    }

    /// Adds `users` users, `media` titles and `requests` requests, the same ones every time.
    pub fn seed(&mut self, users: i64, media: i64, requests: i64) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut user = tx.prepare("INSERT INTO users (id, name) VALUES (?1, ?2)")?;
            for id in 1..=users {
                user.execute(params![id, format!("user{id}")])?;
            }
            let mut title = tx.prepare("INSERT INTO media (id, title) VALUES (?1, ?2)")?;
            for id in 1..=media {
                title.execute(params![id, format!("title {id}")])?;
            }
            let mut request = tx.prepare(
                "INSERT INTO requests (id, user_id, media_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for id in 1..=requests {
                request.execute(params![id, id * 7 % users + 1, id * 13 % media + 1, id])?;
            }
        }
        tx.commit()
    }

    /// The `limit` most recent requests with their requester and title: one statement.
    pub fn recent(&self, limit: i64) -> rusqlite::Result<Vec<RecentRequest>> {
        let mut page = self.conn.prepare_cached(
            "SELECT r.id, u.name, m.title FROM requests r JOIN users u ON u.id = r.user_id \
             JOIN media m ON m.id = r.media_id ORDER BY r.created_at DESC, r.id DESC LIMIT ?1",
        )?;
        let rows = page.query_map([limit], |row| {
            Ok(RecentRequest {
                id: row.get(0)?,
                user: row.get(1)?,
                title: row.get(2)?,
            })
        })?;
        rows.collect()
    }

    /// The same page written the naive way: the page, then each row's requester and title, one
    /// lookup each (1 + 2 × `limit` statements).
    pub fn recent_one_by_one(&self, limit: i64) -> rusqlite::Result<Vec<RecentRequest>> {
        let mut page = self.conn.prepare_cached(
            "SELECT id, user_id, media_id FROM requests ORDER BY created_at DESC, id DESC \
             LIMIT ?1",
        )?;
        let ids: Vec<(i64, i64, i64)> = page
            .query_map([limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .map(|(id, user_id, media_id)| {
                let user = self.conn.query_row(
                    "SELECT name FROM users WHERE id = ?1",
                    [user_id],
                    |r| r.get(0),
                )?;
                let title = self.conn.query_row(
                    "SELECT title FROM media WHERE id = ?1",
                    [media_id],
                    |r| r.get(0),
                )?;
                Ok(RecentRequest { id, user, title })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_give_the_same_page() {
        let mut store = Store::new(Connection::open_in_memory().expect("opens")).expect("schema");
        store.seed(10, 50, 200).expect("seeds");
        let page = store.recent(20).expect("page");
        assert_eq!(page.len(), 20);
        assert_eq!(page[0].id, 200);
        // Request 200 is user 200 × 7 mod 10 + 1 = 1's.
        assert_eq!(page[0].user, "user1");
        assert_eq!(store.recent_one_by_one(20).expect("page"), page);
    }
}
