//! [`SqlRow`] for SQLite rows, query helpers, and the incident and unit
//! loaders both the writer and the readers use.

use precinct_domain::Coordinates;
use precinct_domain::incident::DuplicateCandidate;
use precinct_storage::disputes::{SqlExec, SqlValue};
use precinct_storage::rows::{
    CANDIDATE_COLUMNS, SEARCH_CELLS, SqlRow, candidate_from_row, unreadable,
};
use precinct_storage::{StoreError, StoreResult};
use rusqlite::{Connection, Params, Row};

pub(crate) use precinct_storage::rows::ms;

/// A borrowed SQLite row.
pub(crate) struct LiteRow<'a, 'b>(pub &'a Row<'b>);

impl LiteRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, column: &str) -> StoreResult<T> {
        self.0
            .get(column)
            .map_err(|e| unreadable(format!("{column}: {e}")))
    }
}

impl SqlRow for LiteRow<'_, '_> {
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
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::AlreadyExists("already exists".into())
        }
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DiskFull => {
            StoreError::StorageFull(e.to_string())
        }
        _ => StoreError::driver("SQLite", e),
    }
}

/// Runs a cached query and maps every row.
pub(crate) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&dyn SqlRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
    let mut rows = stmt.query(params).map_err(store_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        out.push(map(&LiteRow(row))?);
    }
    Ok(out)
}

/// Primary reports (not merged, not themselves duplicates) of a family in a
/// time window and in the given spatial cells. Served from the partial
/// covering index `incidents_primary_reports`.
pub(crate) fn duplicate_candidates(
    conn: &Connection,
    family: &str,
    from_ms: i64,
    to_ms: i64,
    near: Coordinates,
    cells: &[i64; SEARCH_CELLS],
) -> StoreResult<Vec<DuplicateCandidate>> {
    // The cells find the index ranges; the bounding box (a little wider than
    // the radius) drops, inside the index, the rows that cannot be close
    // enough, so only plausible candidates are read out. The domain's rule
    // then decides exactly.
    let (south_west, north_east) =
        near.bounding_box_m(precinct_domain::incident::DUPLICATE_RADIUS_M);
    let (west, east) = if south_west.lon() > north_east.lon() {
        (-180.0, 180.0) // the box crosses the antimeridian: no longitude filter
    } else {
        (south_west.lon(), north_east.lon())
    };
    let sql = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM incidents WHERE family = ?1 \
         AND cell IN (?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
         AND reported_at BETWEEN ?2 AND ?3 \
         AND lat BETWEEN ?16 AND ?17 AND lon BETWEEN ?18 AND ?19 \
         AND merged_into IS NULL AND duplicate_of IS NULL"
    );
    let c = cells;
    query_all(
        conn,
        &sql,
        rusqlite::params![
            family,
            from_ms,
            to_ms,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
            c[11],
            south_west.lat(),
            north_east.lat(),
            west,
            east
        ],
        candidate_from_row,
    )
}

/// SQLite's form of a shared statement: `$n` placeholders become `?n`.
fn lite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn lite_params(params: &[SqlValue]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    params
        .iter()
        .map(|p| match p {
            SqlValue::Int(v) => v.map_or(Value::Null, Value::Integer),
            SqlValue::Real(v) => v.map_or(Value::Null, Value::Real),
            SqlValue::Text(v) => v.clone().map_or(Value::Null, Value::Text),
            SqlValue::Bool(b) => Value::Integer(i64::from(*b)),
            SqlValue::Bytes(v) => v.clone().map_or(Value::Null, Value::Blob),
        })
        .collect()
}

/// Runs a shared statement (`precinct_storage::disputes`).
pub(crate) fn execute_shared(
    conn: &Connection,
    sql: &str,
    params: &[SqlValue],
) -> StoreResult<u64> {
    let mut stmt = conn.prepare_cached(&lite_sql(sql)).map_err(store_error)?;
    stmt.execute(rusqlite::params_from_iter(lite_params(params)))
        .map(|n| n as u64)
        .map_err(store_error)
}

/// Runs a shared query, handing each row to `visit`.
pub(crate) fn query_shared(
    conn: &Connection,
    sql: &str,
    params: &[SqlValue],
    visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(&lite_sql(sql)).map_err(store_error)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(lite_params(params)))
        .map_err(store_error)?;
    while let Some(row) = rows.next().map_err(store_error)? {
        visit(&LiteRow(row))?;
    }
    Ok(())
}

/// A reader connection running shared queries.
pub(crate) struct Reader<'c>(pub &'c Connection);

impl SqlExec for Reader<'_> {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StoreResult<u64> {
        execute_shared(self.0, sql, params)
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        query_shared(self.0, sql, params, visit)
    }
}
