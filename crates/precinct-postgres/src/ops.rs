//! The write operations, run by the writer task inside one savepoint each,
//! and the loaders they and the readers share. Same rules as the SQLite
//! backend's `ops.rs`: read current state, ask the domain, write the change
//! and its events.

use crate::rows::store_error;
use deadpool_postgres::ClientWrapper;
use precinct_storage::StoreResult;
use tokio_postgres::types::ToSql;

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) async fn query(
    client: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Vec<tokio_postgres::Row>> {
    let statement = client.prepare_cached(sql).await.map_err(store_error)?;
    client.query(&statement, params).await.map_err(store_error)
}

pub(crate) async fn execute(
    client: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<u64> {
    let statement = client.prepare_cached(sql).await.map_err(store_error)?;
    client
        .execute(&statement, params)
        .await
        .map_err(store_error)
}
