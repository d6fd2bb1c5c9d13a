//! [`SqlRow`] for PostgreSQL rows, and the driver's error mapping.

use precinct_storage::rows::{SqlRow, unreadable};
use precinct_storage::{StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

/// A borrowed PostgreSQL row.
pub(crate) struct PgRow<'a>(pub &'a Row);

impl PgRow<'_> {
    fn get<'r, T: tokio_postgres::types::FromSql<'r>>(&'r self, column: &str) -> StoreResult<T> {
        self.0
            .try_get(column)
            .map_err(|e| unreadable(format!("{column}: {e}")))
    }
}

impl SqlRow for PgRow<'_> {
    fn opt_i64(&self, column: &str) -> StoreResult<Option<i64>> {
        self.get(column)
    }

    fn opt_f64(&self, column: &str) -> StoreResult<Option<f64>> {
        self.get(column)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get(column)
    }

    fn boolean(&self, column: &str) -> StoreResult<bool> {
        self.get(column)
    }

    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        self.get(column)
    }
}

/// Maps a driver error to the storage error clients may see.
pub(crate) fn store_error(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::AlreadyExists("already exists".into())
    } else if e.code() == Some(&SqlState::DISK_FULL) {
        StoreError::StorageFull(e.to_string())
    } else {
        // The driver's Display says only "db error"; keep the server's words for the logs.
        let context = match e.as_db_error() {
            Some(db) => format!("PostgreSQL {}: {}", db.code().code(), db.message()),
            None => "PostgreSQL".to_owned(),
        };
        StoreError::driver(context, e)
    }
}
