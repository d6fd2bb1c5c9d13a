//! The PostgreSQL schema and its migrations. Instances starting together
//! migrate under an advisory lock, so exactly one applies each step.

use tokio_postgres::Client;

/// Advisory lock key held while migrating ("PRCTMIGR").
const MIGRATION_LOCK: i64 = 0x5052_4354_4d49_4752;

/// Each entry upgrades the schema by one version. Never edit a released
/// entry: add a new one. Times are Unix milliseconds (BIGINT), as in the
/// SQLite backend, so data moves between them unchanged.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE ground (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
CREATE TABLE units (
    id BIGSERIAL PRIMARY KEY,
    call_sign TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    home_post_id BIGINT,
    zone_id BIGINT,
    capabilities TEXT NOT NULL,
    status TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    position_at BIGINT,
    incident_id BIGINT,
    member_count BIGINT NOT NULL,
    property_company_id BIGINT
);
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    unit_id BIGINT REFERENCES units(id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL
);
CREATE TABLE incidents (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT,
    category TEXT NOT NULL,
    family TEXT NOT NULL,
    priority BIGINT NOT NULL,
    status TEXT NOT NULL,
    disposition TEXT,
    closing_remark TEXT,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    cell BIGINT NOT NULL,
    zone_id BIGINT,
    community_id BIGINT,
    grid_cell_id BIGINT,
    address TEXT NOT NULL,
    caller_name TEXT,
    caller_phone TEXT,
    summary TEXT NOT NULL,
    reported_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    dispatched_at BIGINT,
    first_on_scene_at BIGINT,
    first_police_on_scene_at BIGINT,
    first_helper_on_scene_at BIGINT,
    closed_at BIGINT,
    duplicate_of BIGINT REFERENCES incidents(id),
    merged_into BIGINT REFERENCES incidents(id)
);
CREATE UNIQUE INDEX incidents_external_id ON incidents (source, external_id) WHERE external_id IS NOT NULL;
-- Duplicate candidates: the nine cells around a point are the seek keys
-- (cell first), and the index covers every column the search reads.
CREATE INDEX incidents_primary_reports ON incidents (cell, family, reported_at) INCLUDE (lat, lon, category)
    WHERE merged_into IS NULL AND duplicate_of IS NULL;
CREATE INDEX incidents_merged_into ON incidents (merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE assignments (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    police BOOLEAN NOT NULL,
    assigned_at BIGINT NOT NULL,
    arrived_at BIGINT,
    released_at BIGINT
);
CREATE INDEX assignments_incident ON assignments (incident_id);
CREATE INDEX assignments_unit ON assignments (unit_id);
-- Ids are taken under the writers' advisory lock, so they increase in commit order.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_user_id BIGINT,
    actor_name TEXT NOT NULL,
    incident_id BIGINT,
    unit_id BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_incident ON events (incident_id) WHERE incident_id IS NOT NULL;
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id BIGINT,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE roads (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE assignments ADD COLUMN accepted_at BIGINT;
ALTER TABLE assignments ADD COLUMN handed_over_at BIGINT;
"#,
    r#"
CREATE TABLE road_closures (
    segment BIGINT PRIMARY KEY,
    closed_at BIGINT NOT NULL,
    closed_by TEXT NOT NULL,
    reason TEXT
);
"#,
    r#"
ALTER TABLE users ADD COLUMN organisation_id BIGINT;
CREATE TABLE disputes (
    id BIGSERIAL PRIMARY KEY,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX disputes_opened ON disputes (opened_at);
"#,
];

/// Brings the database up to the latest schema, one transaction per step.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

async fn apply(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS precinct_schema (version BIGINT NOT NULL)")
        .await?;
    let current: i64 = client
        .query_opt("SELECT version FROM precinct_schema", &[])
        .await?
        .map_or(0, |row| row.get(0));
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        let version = index as i64 + 1;
        tx.execute("DELETE FROM precinct_schema", &[]).await?;
        tx.execute(
            "INSERT INTO precinct_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
