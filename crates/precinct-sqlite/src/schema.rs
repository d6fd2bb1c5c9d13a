//! The SQLite schema and its migrations, applied in order by `user_version`.

use rusqlite::Connection;

/// Each entry upgrades the schema by one version. Never edit a released
/// entry: add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE ground (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    call_sign TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    home_post_id INTEGER,
    zone_id INTEGER,
    capabilities TEXT NOT NULL,
    status TEXT NOT NULL,
    lat REAL,
    lon REAL,
    position_at INTEGER,
    incident_id INTEGER,
    member_count INTEGER NOT NULL,
    property_company_id INTEGER
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    unit_id INTEGER REFERENCES units(id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
);
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT,
    category TEXT NOT NULL,
    family TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    disposition TEXT,
    closing_remark TEXT,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    -- precinct_geo::cell_key of (lat, lon): finds nearby incidents by index.
    cell INTEGER NOT NULL,
    zone_id INTEGER,
    community_id INTEGER,
    grid_cell_id INTEGER,
    address TEXT NOT NULL,
    caller_name TEXT,
    caller_phone TEXT,
    summary TEXT NOT NULL,
    reported_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    dispatched_at INTEGER,
    first_on_scene_at INTEGER,
    first_police_on_scene_at INTEGER,
    first_helper_on_scene_at INTEGER,
    closed_at INTEGER,
    duplicate_of INTEGER REFERENCES incidents(id),
    merged_into INTEGER REFERENCES incidents(id)
);
CREATE UNIQUE INDEX incidents_external_id ON incidents (source, external_id) WHERE external_id IS NOT NULL;
-- Duplicate detection reads only this index (it covers every column it needs).
CREATE INDEX incidents_primary_reports ON incidents (family, cell, reported_at, lat, lon, category)
    WHERE merged_into IS NULL AND duplicate_of IS NULL;
CREATE INDEX incidents_merged_into ON incidents (merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE assignments (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    police INTEGER NOT NULL,
    assigned_at INTEGER NOT NULL,
    arrived_at INTEGER,
    released_at INTEGER
);
CREATE INDEX assignments_incident ON assignments (incident_id);
CREATE INDEX assignments_unit ON assignments (unit_id);
-- Events are never deleted, so a plain rowid key never reuses an id and
-- ids increase in commit order (no AUTOINCREMENT bookkeeping needed).
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_user_id INTEGER,
    actor_name TEXT NOT NULL,
    incident_id INTEGER,
    unit_id INTEGER,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_incident ON events (incident_id) WHERE incident_id IS NOT NULL;
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    user_id INTEGER,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE roads (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE assignments ADD COLUMN accepted_at INTEGER;
ALTER TABLE assignments ADD COLUMN handed_over_at INTEGER;
"#,
    r#"
CREATE TABLE road_closures (
    segment INTEGER PRIMARY KEY,
    closed_at INTEGER NOT NULL,
    closed_by TEXT NOT NULL,
    reason TEXT
);
"#,
    r#"
ALTER TABLE users ADD COLUMN organisation_id INTEGER;
CREATE TABLE disputes (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX disputes_opened ON disputes (opened_at);
"#,
    // Station packages: units and accounts carry a phone, and what a package
    // no longer lists is retired (units) or disabled (accounts), never deleted.
    r#"
ALTER TABLE units ADD COLUMN phone TEXT;
ALTER TABLE units ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
"#,
    // Readiness probes write here. Events and audit entries are chained by
    // hash (precinct_storage::chain): a trigger seals each new row with the
    // previous row's hash, computed by the precinct_chain function every
    // connection registers; rows already there are sealed by `seal_existing`.
    r#"
CREATE TABLE readiness (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TRIGGER events_chain AFTER INSERT ON events WHEN NEW.hash IS NULL
BEGIN
    UPDATE events SET prev_hash = p.h,
        hash = precinct_chain(p.h, NEW.id, NEW.at, NEW.actor_user_id, NEW.actor_name,
            NEW.incident_id, NEW.unit_id, NEW.kind, NEW.data)
    FROM (SELECT coalesce((SELECT hash FROM events WHERE id < NEW.id ORDER BY id DESC LIMIT 1), '') AS h) AS p
    WHERE events.id = NEW.id;
END;
CREATE TRIGGER audit_chain AFTER INSERT ON audit_log WHEN NEW.hash IS NULL
BEGIN
    UPDATE audit_log SET prev_hash = p.h,
        hash = precinct_chain(p.h, NEW.id, NEW.at, NEW.user_id, NEW.username, NEW.action, NEW.subject)
    FROM (SELECT coalesce((SELECT hash FROM audit_log WHERE id < NEW.id ORDER BY id DESC LIMIT 1), '') AS h) AS p
    WHERE audit_log.id = NEW.id;
END;
"#,
    // Second factors (TOTP) and sessions that can be listed and expire when idle.
    r#"
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
ALTER TABLE users ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sessions ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN address TEXT;
"#,
    // Disputes in columns and child tables; their history is the event log
    // (dispute_events links each event to its case). The JSON bodies move to
    // legacy_disputes, converted by the store on opening
    // (precinct_storage::apply::convert_legacy_disputes).
    r#"
ALTER TABLE disputes RENAME TO legacy_disputes;
DROP INDEX disputes_opened;
CREATE TABLE disputes (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    address TEXT NOT NULL,
    lat REAL,
    lon REAL,
    community_id INTEGER,
    risk TEXT NOT NULL,
    risk_reasons TEXT NOT NULL,
    responsible_org INTEGER NOT NULL,
    referral TEXT,
    opened_at INTEGER NOT NULL,
    resolved_at INTEGER,
    closed_at INTEGER,
    -- precinct_domain::dispute::address_key(address): how repeats are found.
    address_key TEXT NOT NULL
);
CREATE INDEX disputes_opened ON disputes (opened_at);
CREATE INDEX disputes_address ON disputes (address_key);
CREATE INDEX disputes_open ON disputes (status) WHERE status <> 'closed';
CREATE TABLE dispute_incidents (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    incident_id INTEGER NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_organisations (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_mediators (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_parties (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    vulnerable INTEGER NOT NULL,
    organisation_kind TEXT,
    PRIMARY KEY (dispute_id, position)
);
CREATE INDEX dispute_parties_name ON dispute_parties (name);
CREATE INDEX dispute_parties_phone ON dispute_parties (phone) WHERE phone IS NOT NULL;
CREATE TABLE dispute_planned_sessions (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    at INTEGER NOT NULL,
    venue TEXT NOT NULL,
    organisations TEXT NOT NULL,
    notes TEXT NOT NULL,
    planned_by TEXT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_sessions (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    at INTEGER NOT NULL,
    venue TEXT NOT NULL,
    notes TEXT NOT NULL,
    outcome TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_session_participants (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    session INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id INTEGER,
    PRIMARY KEY (dispute_id, session, position)
);
CREATE TABLE dispute_agreements (
    dispute_id INTEGER PRIMARY KEY REFERENCES disputes (id),
    facts TEXT NOT NULL,
    drafted_at INTEGER NOT NULL,
    signed_at INTEGER
);
CREATE TABLE dispute_agreement_terms (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_signatures (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    party TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_follow_ups (
    dispute_id INTEGER NOT NULL REFERENCES disputes (id),
    position INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    visited_at INTEGER,
    visited_by TEXT,
    outcome TEXT,
    notes TEXT,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_events (
    event_id INTEGER PRIMARY KEY REFERENCES events (id),
    dispute_id INTEGER NOT NULL REFERENCES disputes (id)
);
CREATE INDEX dispute_events_case ON dispute_events (dispute_id, event_id);
"#,
    // The figures' rollups (precinct_storage::rollups): per day and per
    // block of 32 days, for each value of a dimension, what the incidents
    // reported then add up to. The triggers keep them current in the same
    // transaction as each change; `rollups_suspended` holds a row only
    // inside a bulk write that adds its own rows (a history import).
    r#"
CREATE INDEX incidents_reported_at ON incidents (reported_at);
CREATE TABLE figure_rollups (
    dim TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    dispatched INTEGER NOT NULL,
    police_n INTEGER NOT NULL,
    police_seconds INTEGER NOT NULL,
    helper_n INTEGER NOT NULL,
    helper_seconds INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    on_scene INTEGER NOT NULL,
    PRIMARY KEY (dim, span, bucket, key)
) WITHOUT ROWID;
CREATE TABLE rollups_suspended (one INTEGER PRIMARY KEY);
CREATE TRIGGER incidents_rollup_insert AFTER INSERT ON incidents
WHEN NOT EXISTS (SELECT 1 FROM rollups_suspended)
BEGIN
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, (NEW.reported_at / 86400000) / s.span, d.key,
           (1),
           (NEW.dispatched_at IS NOT NULL),
           (NEW.first_police_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_police_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.first_helper_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_helper_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.status = 'closed'),
           (NEW.status = 'closed' AND NEW.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, NEW.category AS key
          UNION ALL SELECT 'family', NEW.family
          UNION ALL SELECT 'zone', COALESCE(CAST(NEW.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(NEW.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(NEW.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST(((NEW.reported_at / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE NEW.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
END;
CREATE TRIGGER incidents_rollup_update AFTER UPDATE OF category, family, zone_id, community_id, grid_cell_id, reported_at, dispatched_at, first_police_on_scene_at, first_helper_on_scene_at, status, disposition, merged_into ON incidents
BEGIN
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, (OLD.reported_at / 86400000) / s.span, d.key,
           -(1),
           -(OLD.dispatched_at IS NOT NULL),
           -(OLD.first_police_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_police_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.first_helper_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_helper_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.status = 'closed'),
           -(OLD.status = 'closed' AND OLD.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, OLD.category AS key
          UNION ALL SELECT 'family', OLD.family
          UNION ALL SELECT 'zone', COALESCE(CAST(OLD.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(OLD.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(OLD.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST(((OLD.reported_at / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE OLD.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, (NEW.reported_at / 86400000) / s.span, d.key,
           (1),
           (NEW.dispatched_at IS NOT NULL),
           (NEW.first_police_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_police_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.first_helper_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_helper_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.status = 'closed'),
           (NEW.status = 'closed' AND NEW.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, NEW.category AS key
          UNION ALL SELECT 'family', NEW.family
          UNION ALL SELECT 'zone', COALESCE(CAST(NEW.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(NEW.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(NEW.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST(((NEW.reported_at / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE NEW.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
END;
CREATE TRIGGER incidents_rollup_delete AFTER DELETE ON incidents
BEGIN
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, (OLD.reported_at / 86400000) / s.span, d.key,
           -(1),
           -(OLD.dispatched_at IS NOT NULL),
           -(OLD.first_police_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_police_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.first_helper_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_helper_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.status = 'closed'),
           -(OLD.status = 'closed' AND OLD.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, OLD.category AS key
          UNION ALL SELECT 'family', OLD.family
          UNION ALL SELECT 'zone', COALESCE(CAST(OLD.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(OLD.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(OLD.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST(((OLD.reported_at / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE OLD.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
END;
INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
SELECT d.dim, s.span, (i.reported_at / 86400000) / s.span AS bucket,
       CASE d.dim WHEN 'category' THEN i.category WHEN 'family' THEN i.family
           WHEN 'zone' THEN COALESCE(CAST(i.zone_id AS TEXT), '')
           WHEN 'community' THEN COALESCE(CAST(i.community_id AS TEXT), '')
           WHEN 'grid_cell' THEN COALESCE(CAST(i.grid_cell_id AS TEXT), '')
           ELSE CAST(((i.reported_at / 3600000) + 72) % 168 AS TEXT) END AS key,
       sum(1),
       sum(i.dispatched_at IS NOT NULL),
       sum(i.first_police_on_scene_at IS NOT NULL),
       sum(COALESCE((i.first_police_on_scene_at - i.reported_at) / 1000, 0)),
       sum(i.first_helper_on_scene_at IS NOT NULL),
       sum(COALESCE((i.first_helper_on_scene_at - i.reported_at) / 1000, 0)),
       sum(i.status = 'closed'),
       sum(i.status = 'closed' AND i.disposition IS 'resolved_on_scene')
FROM incidents AS i,
     (SELECT 'category' AS dim UNION ALL SELECT 'family' UNION ALL SELECT 'zone'
      UNION ALL SELECT 'community' UNION ALL SELECT 'grid_cell' UNION ALL SELECT 'hour_of_week') AS d,
     (SELECT 1 AS span UNION ALL SELECT 32) AS s
WHERE i.merged_into IS NULL
GROUP BY d.dim, s.span, bucket, key;
"#,
    // Assignments get an explicit id (their rowid until now), so reads
    // written once for both backends order them by `id`.
    r#"
CREATE TABLE assignments_keyed (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    police INTEGER NOT NULL,
    assigned_at INTEGER NOT NULL,
    arrived_at INTEGER,
    released_at INTEGER,
    accepted_at INTEGER,
    handed_over_at INTEGER
);
INSERT INTO assignments_keyed (id, incident_id, unit_id, police, assigned_at, arrived_at, released_at, accepted_at, handed_over_at)
SELECT rowid, incident_id, unit_id, police, assigned_at, arrived_at, released_at, accepted_at, handed_over_at
FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_keyed RENAME TO assignments;
CREATE INDEX assignments_incident ON assignments (incident_id);
CREATE INDEX assignments_unit ON assignments (unit_id);
"#,
    // Position reports are read as units' tracks, by unit and time.
    r#"
CREATE INDEX events_unit_positions ON events (unit_id, at) WHERE kind = 'unit_position_reported';
"#,
    // Requests' idempotency keys (`Idempotency-Key`) and their answers, a day.
    r#"
CREATE TABLE request_keys (
    user_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX request_keys_created ON request_keys (created_at);
"#,
    // What the road network's extract knows of addresses (house numbers,
    // named places), replaced with the roads.
    r#"
CREATE TABLE road_addresses (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"#,
    // Photos of a scene, attached to an incident (field reports, tasks).
    r#"
CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    unit_id INTEGER,
    taken_by TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX photos_incident ON photos (incident_id, id);
"#,
    // The rollups' `closed` counts incidents closed with a disposition (a
    // past record without one says nothing of how it ended), and days and
    // hours before 1970 bucket as floor division: the triggers again, and
    // the rollups recomputed.
    r#"
DROP TRIGGER incidents_rollup_insert;
DROP TRIGGER incidents_rollup_update;
DROP TRIGGER incidents_rollup_delete;
DELETE FROM figure_rollups;
CREATE TRIGGER incidents_rollup_insert AFTER INSERT ON incidents
WHEN NOT EXISTS (SELECT 1 FROM rollups_suspended)
BEGIN
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, ((NEW.reported_at + 2225664000000) / 86400000) / s.span - 25760 / s.span, d.key,
           (1),
           (NEW.dispatched_at IS NOT NULL),
           (NEW.first_police_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_police_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.first_helper_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_helper_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.status = 'closed' AND NEW.disposition IS NOT NULL),
           (NEW.status = 'closed' AND NEW.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, NEW.category AS key
          UNION ALL SELECT 'family', NEW.family
          UNION ALL SELECT 'zone', COALESCE(CAST(NEW.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(NEW.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(NEW.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST((((NEW.reported_at + 2225664000000) / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE NEW.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
END;
CREATE TRIGGER incidents_rollup_update AFTER UPDATE OF category, family, zone_id, community_id, grid_cell_id, reported_at, dispatched_at, first_police_on_scene_at, first_helper_on_scene_at, status, disposition, merged_into ON incidents
BEGIN
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, ((OLD.reported_at + 2225664000000) / 86400000) / s.span - 25760 / s.span, d.key,
           -(1),
           -(OLD.dispatched_at IS NOT NULL),
           -(OLD.first_police_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_police_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.first_helper_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_helper_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.status = 'closed' AND OLD.disposition IS NOT NULL),
           -(OLD.status = 'closed' AND OLD.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, OLD.category AS key
          UNION ALL SELECT 'family', OLD.family
          UNION ALL SELECT 'zone', COALESCE(CAST(OLD.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(OLD.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(OLD.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST((((OLD.reported_at + 2225664000000) / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE OLD.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, ((NEW.reported_at + 2225664000000) / 86400000) / s.span - 25760 / s.span, d.key,
           (1),
           (NEW.dispatched_at IS NOT NULL),
           (NEW.first_police_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_police_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.first_helper_on_scene_at IS NOT NULL),
           (COALESCE((NEW.first_helper_on_scene_at - NEW.reported_at) / 1000, 0)),
           (NEW.status = 'closed' AND NEW.disposition IS NOT NULL),
           (NEW.status = 'closed' AND NEW.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, NEW.category AS key
          UNION ALL SELECT 'family', NEW.family
          UNION ALL SELECT 'zone', COALESCE(CAST(NEW.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(NEW.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(NEW.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST((((NEW.reported_at + 2225664000000) / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE NEW.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
END;
CREATE TRIGGER incidents_rollup_delete AFTER DELETE ON incidents
BEGIN
    INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
    SELECT d.dim, s.span, ((OLD.reported_at + 2225664000000) / 86400000) / s.span - 25760 / s.span, d.key,
           -(1),
           -(OLD.dispatched_at IS NOT NULL),
           -(OLD.first_police_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_police_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.first_helper_on_scene_at IS NOT NULL),
           -(COALESCE((OLD.first_helper_on_scene_at - OLD.reported_at) / 1000, 0)),
           -(OLD.status = 'closed' AND OLD.disposition IS NOT NULL),
           -(OLD.status = 'closed' AND OLD.disposition IS 'resolved_on_scene')
    FROM (SELECT 'category' AS dim, OLD.category AS key
          UNION ALL SELECT 'family', OLD.family
          UNION ALL SELECT 'zone', COALESCE(CAST(OLD.zone_id AS TEXT), '')
          UNION ALL SELECT 'community', COALESCE(CAST(OLD.community_id AS TEXT), '')
          UNION ALL SELECT 'grid_cell', COALESCE(CAST(OLD.grid_cell_id AS TEXT), '')
          UNION ALL SELECT 'hour_of_week', CAST((((OLD.reported_at + 2225664000000) / 3600000) + 72) % 168 AS TEXT)) AS d,
         (SELECT 1 AS span UNION ALL SELECT 32) AS s
    WHERE OLD.merged_into IS NULL
    ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
    n = n + excluded.n,
    dispatched = dispatched + excluded.dispatched,
    police_n = police_n + excluded.police_n,
    police_seconds = police_seconds + excluded.police_seconds,
    helper_n = helper_n + excluded.helper_n,
    helper_seconds = helper_seconds + excluded.helper_seconds,
    closed = closed + excluded.closed,
    on_scene = on_scene + excluded.on_scene;
END;
INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
SELECT d.dim, s.span, ((i.reported_at + 2225664000000) / 86400000) / s.span - 25760 / s.span AS bucket,
       CASE d.dim WHEN 'category' THEN i.category WHEN 'family' THEN i.family
           WHEN 'zone' THEN COALESCE(CAST(i.zone_id AS TEXT), '')
           WHEN 'community' THEN COALESCE(CAST(i.community_id AS TEXT), '')
           WHEN 'grid_cell' THEN COALESCE(CAST(i.grid_cell_id AS TEXT), '')
           ELSE CAST((((i.reported_at + 2225664000000) / 3600000) + 72) % 168 AS TEXT) END AS key,
       sum(1),
       sum(i.dispatched_at IS NOT NULL),
       sum(i.first_police_on_scene_at IS NOT NULL),
       sum(COALESCE((i.first_police_on_scene_at - i.reported_at) / 1000, 0)),
       sum(i.first_helper_on_scene_at IS NOT NULL),
       sum(COALESCE((i.first_helper_on_scene_at - i.reported_at) / 1000, 0)),
       sum(i.status = 'closed' AND i.disposition IS NOT NULL),
       sum(i.status = 'closed' AND i.disposition IS 'resolved_on_scene')
FROM incidents AS i,
     (SELECT 'category' AS dim UNION ALL SELECT 'family' UNION ALL SELECT 'zone'
      UNION ALL SELECT 'community' UNION ALL SELECT 'grid_cell' UNION ALL SELECT 'hour_of_week') AS d,
     (SELECT 1 AS span UNION ALL SELECT 32) AS s
WHERE i.merged_into IS NULL
GROUP BY d.dim, s.span, bucket, key;
"#,
    // The base map's water, parks and buildings from the road import.
    r#"
CREATE TABLE road_areas (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"#,
    // Rows are sealed and new incidents rolled up by the writer as it
    // builds them (precinct_storage::chain and rollups), so no row is
    // written twice: the chain triggers and the insert rollup trigger go.
    r#"
DROP TRIGGER events_chain;
DROP TRIGGER audit_chain;
DROP TRIGGER incidents_rollup_insert;
"#,
    // Positions have a lean path of their own: a small row per report (the
    // unit's track), no event. Reports stored as events move here.
    r#"
CREATE TABLE unit_positions (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    reported_by INTEGER
);
CREATE INDEX unit_positions_unit ON unit_positions (unit_id, at);
INSERT INTO unit_positions (unit_id, at, lat, lon, reported_by)
SELECT unit_id, at, json_extract(data, '$.position.lat'), json_extract(data, '$.position.lon'), actor_user_id
FROM events WHERE kind = 'unit_position_reported' AND unit_id IS NOT NULL ORDER BY id;
"#,
];

/// Registers `precinct_chain(prev, column…)`, the hash the chain triggers
/// compute (see `precinct_storage::chain::link`).
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        "precinct_chain",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text = |i: usize| -> rusqlite::Result<Option<String>> {
                Ok(match ctx.get_raw(i) {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(x) => Some(x.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                })
            };
            let prev = text(0)?.unwrap_or_default();
            let parts = (1..ctx.len())
                .map(text)
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(precinct_storage::chain::link(
                &prev,
                parts.iter().map(|p| p.as_deref()),
            ))
        },
    )
}

/// Seals the rows written before the chain existed, in id order.
fn seal_existing(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    for (table, columns) in [
        (
            "events",
            "id, at, actor_user_id, actor_name, incident_id, unit_id, kind, data",
        ),
        ("audit_log", "id, at, user_id, username, action, subject"),
    ] {
        let ids: Vec<i64> = tx
            .prepare(&format!("SELECT id FROM {table} ORDER BY id"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut prev = String::new();
        let mut seal = tx.prepare(&format!(
            "UPDATE {table} SET prev_hash = ?1, hash = precinct_chain(?1, {columns}) WHERE id = ?2 RETURNING hash"
        ))?;
        for id in ids {
            prev = seal.query_row(rusqlite::params![prev, id], |r| r.get(0))?;
        }
    }
    Ok(())
}

/// The last schema version that stored disputes as JSON bodies.
#[cfg(test)]
pub(crate) fn json_disputes_version() -> usize {
    MIGRATIONS
        .iter()
        .position(|m| m.contains("RENAME TO legacy_disputes"))
        .expect("the migration to dispute columns")
}

/// The schema version that gave assignments an explicit id.
#[cfg(test)]
pub(crate) fn assignment_ids_version() -> usize {
    1 + MIGRATIONS
        .iter()
        .position(|m| m.contains("CREATE TABLE assignments_keyed"))
        .expect("the migration to assignment ids")
}

/// Brings the database up to the latest schema, one transaction per step.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_until(conn, MIGRATIONS.len())
}

/// Brings the database up to schema `version` (tests build old databases).
pub(crate) fn migrate_until(conn: &mut Connection, version: usize) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().take(version).skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if sql.contains("CREATE TRIGGER events_chain") {
            seal_existing(&tx)?;
        }
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}
