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
    // One statement takes in a batch of reports: the writers' lock, the
    // dual-reception lookup, the duplicate candidates, both inserts and the
    // notification, on the server, in one round trip and one commit, with a
    // fixed number of set-based statements whatever the batch's size.
    //
    // What the caller works out beforehand, with the domain's own rules: which
    // report repeats an earlier instruction of the batch (`p_same_as`), and
    // which earlier reports of the batch each report likely duplicates, with
    // their distances (`p_pair_*`, sorted by report, distance, earlier report).
    // Stored candidates are chosen here as `likely_duplicate` does (same family,
    // within the window and radius, primary reports only, nearest then lowest
    // id); the shared storage suite checks the outcome against that rule.
    r#"
CREATE FUNCTION precinct_intake(
    p_lock_key BIGINT, p_channel TEXT, p_now BIGINT, p_window_ms BIGINT, p_radius_m DOUBLE PRECISION,
    p_source TEXT[], p_external_id TEXT[], p_category TEXT[], p_family TEXT[], p_priority BIGINT[],
    p_lat DOUBLE PRECISION[], p_lon DOUBLE PRECISION[], p_cell BIGINT[], p_probe_cells BIGINT[],
    p_zone_id BIGINT[], p_community_id BIGINT[], p_grid_cell_id BIGINT[], p_address TEXT[],
    p_caller_name TEXT[], p_caller_phone TEXT[], p_summary TEXT[], p_reported_at BIGINT[],
    p_actor_user_id BIGINT[], p_actor_name TEXT[], p_received_data TEXT[], p_same_as INT[],
    p_pair_report INT[], p_pair_earlier INT[], p_pair_distance DOUBLE PRECISION[],
    OUT incident_id BIGINT[], OUT created BOOLEAN[], OUT duplicate_of BIGINT[],
    OUT distance DOUBLE PRECISION[], OUT received_event BIGINT[], OUT linked_event BIGINT[])
LANGUAGE plpgsql
-- Its statements are planned once per connection, not at every call, and
-- the plan must stay right as the tables grow from empty: every lookup is
-- by index.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    n INT := coalesce(cardinality(p_source), 0);
    per_report INT := cardinality(p_probe_cells) / greatest(n, 1);
    pairs INT := coalesce(cardinality(p_pair_report), 0);
    existing BIGINT[];
    stored_id BIGINT[];
    stored_distance DOUBLE PRECISION[];
    primary_report BOOLEAN[] := array_fill(false, ARRAY[n]);
    earlier_dup INT[] := array_fill(NULL::INT, ARRAY[n]);
    last_event BIGINT;
    k INT;
    p INT := 1;
    j INT;
    best_j INT;
    best_d DOUBLE PRECISION;
    new_count INT := 0;
BEGIN
    incident_id := array_fill(NULL::BIGINT, ARRAY[n]);
    created := array_fill(false, ARRAY[n]);
    duplicate_of := array_fill(NULL::BIGINT, ARRAY[n]);
    distance := array_fill(NULL::DOUBLE PRECISION, ARRAY[n]);
    received_event := array_fill(NULL::BIGINT, ARRAY[n]);
    linked_event := array_fill(NULL::BIGINT, ARRAY[n]);
    PERFORM pg_advisory_xact_lock(p_lock_key);
    IF n = 0 THEN
        RETURN;
    END IF;

    -- For each report: the incident already stored for its instruction, and
    -- its nearest stored primary report, if any is close enough (the
    -- distance is Coordinates::distance_m, operation for operation).
    SELECT array_agg((SELECT x.id FROM incidents x WHERE x.source = u.source
                AND x.external_id = u.external_id AND x.external_id IS NOT NULL) ORDER BY u.k),
           array_agg(b.id ORDER BY u.k), array_agg(b.d ORDER BY u.k)
        INTO existing, stored_id, stored_distance
    FROM unnest(p_source, p_external_id, p_lat, p_lon, p_family, p_reported_at) WITH ORDINALITY
        AS u(source, external_id, lat, lon, family, reported_at, k)
    LEFT JOIN LATERAL (
        SELECT c.id, c.d FROM (
            SELECT i.id, 2.0::FLOAT8 * 6371008.8::FLOAT8 * asin(least(1.0::FLOAT8, sqrt(
                sin((radians(u.lat) - radians(i.lat)) / 2) * sin((radians(u.lat) - radians(i.lat)) / 2)
                + cos(radians(i.lat)) * cos(radians(u.lat))
                  * (sin(radians(u.lon - i.lon) / 2) * sin(radians(u.lon - i.lon) / 2))))) AS d
            FROM incidents i
            WHERE i.cell = ANY (p_probe_cells[(u.k::INT - 1) * per_report + 1 : u.k::INT * per_report])
              AND i.family = u.family
              AND i.reported_at BETWEEN u.reported_at - p_window_ms AND u.reported_at + p_window_ms
              AND i.merged_into IS NULL AND i.duplicate_of IS NULL
        ) c WHERE c.d <= p_radius_m ORDER BY c.d, c.id LIMIT 1
    ) b ON true;

    -- Decisions, in arrival order: a later report sees the earlier ones.
    FOR k IN 1 .. n LOOP
        WHILE p <= pairs AND p_pair_report[p] < k LOOP
            p := p + 1;
        END LOOP;
        CONTINUE WHEN existing[k] IS NOT NULL OR p_same_as[k] IS NOT NULL;
        new_count := new_count + 1;
        best_j := NULL;
        best_d := stored_distance[k];
        -- Earlier reports of the batch have higher ids than any stored one,
        -- so one wins only when strictly nearer; pairs come nearest first.
        WHILE p <= pairs AND p_pair_report[p] = k LOOP
            j := p_pair_earlier[p];
            IF best_j IS NULL AND primary_report[j]
                AND (stored_id[k] IS NULL OR p_pair_distance[p] < stored_distance[k]) THEN
                best_j := j;
                best_d := p_pair_distance[p];
            END IF;
            p := p + 1;
        END LOOP;
        IF best_j IS NOT NULL THEN
            earlier_dup[k] := best_j;
        ELSIF stored_id[k] IS NOT NULL THEN
            duplicate_of[k] := stored_id[k];
        ELSE
            primary_report[k] := true;
        END IF;
        IF NOT primary_report[k] THEN
            distance[k] := floor(best_d + 0.5);
        END IF;
    END LOOP;

    -- Ids, in arrival order, under the writers' lock, so they follow commit
    -- order (nextval as an expression costs no statement).
    FOR k IN 1 .. n LOOP
        IF existing[k] IS NOT NULL THEN
            incident_id[k] := existing[k];
        ELSIF p_same_as[k] IS NOT NULL THEN
            incident_id[k] := incident_id[p_same_as[k]];
        ELSE
            incident_id[k] := nextval('incidents_id_seq');
            created[k] := true;
            IF earlier_dup[k] IS NOT NULL THEN
                duplicate_of[k] := incident_id[earlier_dup[k]];
            END IF;
            received_event[k] := nextval('events_id_seq');
            last_event := received_event[k];
            IF duplicate_of[k] IS NOT NULL THEN
                linked_event[k] := nextval('events_id_seq');
                last_event := linked_event[k];
            END IF;
        END IF;
    END LOOP;

    IF new_count > 0 THEN
        -- Both inserts in one statement (the incidents as a data-modifying
        -- CTE; foreign keys are checked at the statement's end).
        WITH new_incidents AS (
        INSERT INTO incidents (id, source, external_id, category, family, priority, lat, lon, cell, zone_id,
            community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at,
            duplicate_of, status, received_at)
        SELECT u.id, u.source, u.external_id, u.category, u.family, u.priority, u.lat, u.lon, u.cell,
            u.zone_id, u.community_id, u.grid_cell_id, u.address, u.caller_name, u.caller_phone, u.summary,
            u.reported_at, u.duplicate_of, 'received', p_now
        FROM unnest(incident_id, created, p_source, p_external_id, p_category, p_family, p_priority, p_lat,
            p_lon, p_cell, p_zone_id, p_community_id, p_grid_cell_id, p_address, p_caller_name,
            p_caller_phone, p_summary, p_reported_at, duplicate_of)
            AS u(id, created, source, external_id, category, family, priority, lat, lon, cell, zone_id,
                community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at,
                duplicate_of)
        WHERE u.created
        )
        INSERT INTO events (id, at, actor_user_id, actor_name, incident_id, kind, data)
        SELECT u.received_event, p_now, u.actor_user_id, u.actor_name, u.incident_id, 'incident_received', u.data
        FROM unnest(received_event, p_actor_user_id, p_actor_name, incident_id, p_received_data)
            AS u(received_event, actor_user_id, actor_name, incident_id, data)
        WHERE u.received_event IS NOT NULL
        UNION ALL
        SELECT u.linked_event, p_now, u.actor_user_id, u.actor_name, u.incident_id, 'duplicate_linked',
            json_build_object('type', 'duplicate_linked', 'duplicate_of', u.duplicate_of,
                'distance_m', u.distance)::TEXT
        FROM unnest(linked_event, p_actor_user_id, p_actor_name, incident_id, duplicate_of, distance)
            AS u(linked_event, actor_user_id, actor_name, incident_id, duplicate_of, distance)
        WHERE u.linked_event IS NOT NULL;
        PERFORM pg_notify(p_channel, last_event::TEXT);
    END IF;
END
$fn$;
"#,
    // Station packages: units and accounts carry a phone, and what a package
    // no longer lists is retired (units) or disabled (accounts), never deleted.
    r#"
ALTER TABLE units ADD COLUMN phone TEXT;
ALTER TABLE units ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
"#,
    // Readiness probes write here. Events and audit entries are chained by
    // hash (precinct_storage::chain): a statement trigger seals the new rows
    // in id order inside the inserting transaction, which holds the writers'
    // advisory lock, so the chain follows commit order. Rows already there
    // are sealed here.
    r#"
CREATE TABLE readiness (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL
);
ALTER TABLE events ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
-- Where each chain stands: the last sealed row and its hash. A statement
-- trigger seals the rows after it in id order and moves it on; the hash
-- columns are not indexed, so sealing is a HOT update in the page just written.
CREATE TABLE chain_heads (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO chain_heads (name, last_id, last_hash) VALUES ('events', 0, ''), ('audit_log', 0, '');
-- One column's part of a row's content: `<byte length>:<text>;`, or `-;`
-- for NULL (a plain SQL expression, inlined where it is used).
CREATE FUNCTION precinct_part(p TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p IS NULL THEN '-;' ELSE octet_length(p)::text || ':' || p || ';' END
$$;
CREATE FUNCTION precinct_link(prev TEXT, content TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(prev || E'\n' || content, 'UTF8')), 'hex')
$$;
CREATE FUNCTION precinct_seal_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    prev TEXT;
    last BIGINT;
    sealed TEXT;
BEGIN
    SELECT last_id, last_hash INTO last, prev FROM chain_heads WHERE name = 'events' FOR UPDATE;
    -- By the primary key (a LIMIT keeps a generic plan on it).
    FOR r IN SELECT * FROM events WHERE id > last ORDER BY id LIMIT 1000000 LOOP
        IF r.hash IS NOT NULL AND r.prev_hash = prev THEN
            -- Copied in already sealed (migrate-data).
            sealed := r.hash;
        ELSE
            sealed := precinct_link(prev, precinct_part(r.id::text) || precinct_part(r.at::text)
                || precinct_part(r.actor_user_id::text) || precinct_part(r.actor_name)
                || precinct_part(r.incident_id::text) || precinct_part(r.unit_id::text)
                || precinct_part(r.kind) || precinct_part(r.data));
            UPDATE events SET prev_hash = prev, hash = sealed WHERE id = r.id;
        END IF;
        prev := sealed;
        last := r.id;
    END LOOP;
    UPDATE chain_heads SET last_id = last, last_hash = prev WHERE name = 'events';
    RETURN NULL;
END
$$;
CREATE FUNCTION precinct_seal_audit_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    prev TEXT;
    last BIGINT;
    sealed TEXT;
BEGIN
    SELECT last_id, last_hash INTO last, prev FROM chain_heads WHERE name = 'audit_log' FOR UPDATE;
    FOR r IN SELECT * FROM audit_log WHERE id > last ORDER BY id LIMIT 1000000 LOOP
        IF r.hash IS NOT NULL AND r.prev_hash = prev THEN
            sealed := r.hash;
        ELSE
            sealed := precinct_link(prev, precinct_part(r.id::text) || precinct_part(r.at::text)
                || precinct_part(r.user_id::text) || precinct_part(r.username)
                || precinct_part(r.action) || precinct_part(r.subject));
            UPDATE audit_log SET prev_hash = prev, hash = sealed WHERE id = r.id;
        END IF;
        prev := sealed;
        last := r.id;
    END LOOP;
    UPDATE chain_heads SET last_id = last, last_hash = prev WHERE name = 'audit_log';
    RETURN NULL;
END
$$;
CREATE TRIGGER events_chain AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION precinct_seal_events();
CREATE TRIGGER audit_log_chain AFTER INSERT ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION precinct_seal_audit_log();
-- Seal what is already there: an insert of nothing fires the statement triggers.
INSERT INTO events SELECT * FROM events WHERE false;
INSERT INTO audit_log SELECT * FROM audit_log WHERE false;
"#,
    // Second factors (TOTP) and sessions that can be listed and expire when idle.
    r#"
ALTER TABLE users ADD COLUMN totp_secret TEXT, ADD COLUMN totp_pending TEXT,
    ADD COLUMN totp_last_step BIGINT, ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sessions ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0, ADD COLUMN address TEXT;
"#,
    // Disputes in columns and child tables; their history is the event log
    // (dispute_events links each event to its case). The JSON bodies move to
    // legacy_disputes, converted by the store on opening
    // (precinct_storage::apply::convert_legacy_disputes).
    r#"
ALTER TABLE disputes RENAME TO legacy_disputes;
ALTER INDEX disputes_opened RENAME TO legacy_disputes_opened;
CREATE TABLE disputes (
    id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    community_id BIGINT,
    risk TEXT NOT NULL,
    risk_reasons TEXT NOT NULL,
    responsible_org BIGINT NOT NULL,
    referral TEXT,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT,
    closed_at BIGINT,
    -- precinct_domain::dispute::address_key(address): how repeats are found.
    address_key TEXT NOT NULL
);
CREATE INDEX disputes_opened ON disputes (opened_at);
CREATE INDEX disputes_address ON disputes (address_key);
CREATE INDEX disputes_open ON disputes (status) WHERE status <> 'closed';
CREATE TABLE dispute_incidents (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    incident_id BIGINT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_organisations (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    organisation_id BIGINT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_mediators (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_parties (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    vulnerable BOOLEAN NOT NULL,
    organisation_kind TEXT,
    PRIMARY KEY (dispute_id, position)
);
CREATE INDEX dispute_parties_name ON dispute_parties (name);
CREATE INDEX dispute_parties_phone ON dispute_parties (phone) WHERE phone IS NOT NULL;
CREATE TABLE dispute_planned_sessions (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    at BIGINT NOT NULL,
    venue TEXT NOT NULL,
    organisations TEXT NOT NULL,
    notes TEXT NOT NULL,
    planned_by TEXT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_sessions (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    at BIGINT NOT NULL,
    venue TEXT NOT NULL,
    notes TEXT NOT NULL,
    outcome TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_session_participants (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    session BIGINT NOT NULL,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id BIGINT,
    PRIMARY KEY (dispute_id, session, position)
);
CREATE TABLE dispute_agreements (
    dispute_id BIGINT PRIMARY KEY REFERENCES disputes (id),
    facts TEXT NOT NULL,
    drafted_at BIGINT NOT NULL,
    signed_at BIGINT
);
CREATE TABLE dispute_agreement_terms (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_signatures (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    party TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_follow_ups (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    position BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    visited_at BIGINT,
    visited_by TEXT,
    outcome TEXT,
    notes TEXT,
    PRIMARY KEY (dispute_id, position)
);
CREATE TABLE dispute_events (
    event_id BIGINT PRIMARY KEY REFERENCES events (id),
    dispute_id BIGINT NOT NULL REFERENCES disputes (id)
);
CREATE INDEX dispute_events_case ON dispute_events (dispute_id, event_id);
"#,
    // The figures' rollups (precinct_storage::rollups): per day and per
    // block of 32 days, for each value of a dimension, what the incidents
    // reported then add up to. Statement triggers over the transition
    // tables keep them current in the same transaction as each change;
    // `rollups_suspended` holds a row only inside a bulk write that adds
    // its own rows.
    r#"
CREATE INDEX incidents_reported_at ON incidents (reported_at);
CREATE TABLE figure_rollups (
    dim TEXT NOT NULL,
    span BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    dispatched BIGINT NOT NULL,
    police_n BIGINT NOT NULL,
    police_seconds BIGINT NOT NULL,
    helper_n BIGINT NOT NULL,
    helper_seconds BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    on_scene BIGINT NOT NULL,
    PRIMARY KEY (dim, span, bucket, key)
);
CREATE TABLE rollups_suspended (one BIGINT PRIMARY KEY);
-- What one incident row adds to its rollups (nothing when merged), under
-- each dimension and span; weight -1 takes it away again.
CREATE FUNCTION precinct_rollup_rows(
    weight BIGINT, reported_at BIGINT, category TEXT, family TEXT, zone_id BIGINT,
    community_id BIGINT, grid_cell_id BIGINT, dispatched_at BIGINT, police_at BIGINT,
    helper_at BIGINT, status TEXT, disposition TEXT, merged_into BIGINT)
RETURNS TABLE (dim TEXT, span BIGINT, bucket BIGINT, key TEXT, n BIGINT, dispatched BIGINT, police_n BIGINT, police_seconds BIGINT, helper_n BIGINT, helper_seconds BIGINT, closed BIGINT, on_scene BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT d.dim, s.span, ($2 / 86400000) / s.span, d.key,
           $1,
           $1 * ($8 IS NOT NULL)::INT,
           $1 * ($9 IS NOT NULL)::INT,
           $1 * COALESCE(($9 - $2) / 1000, 0),
           $1 * ($10 IS NOT NULL)::INT,
           $1 * COALESCE(($10 - $2) / 1000, 0),
           $1 * ($11 = 'closed')::INT,
           $1 * ($11 = 'closed' AND $12 IS NOT DISTINCT FROM 'resolved_on_scene')::INT
    FROM (VALUES ('category', $3), ('family', $4),
                 ('zone', COALESCE($5::TEXT, '')), ('community', COALESCE($6::TEXT, '')),
                 ('grid_cell', COALESCE($7::TEXT, '')),
                 ('hour_of_week', ((($2 / 3600000) + 72) % 168)::TEXT)) AS d (dim, key),
         (VALUES (1::BIGINT), (32::BIGINT)) AS s (span)
    WHERE $13 IS NULL
$$;
CREATE FUNCTION precinct_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM rollups_suspended) THEN
        INSERT INTO figure_rollups AS f (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
        SELECT r.dim, r.span, r.bucket, r.key, sum(r.n)::BIGINT, sum(r.dispatched)::BIGINT, sum(r.police_n)::BIGINT, sum(r.police_seconds)::BIGINT, sum(r.helper_n)::BIGINT, sum(r.helper_seconds)::BIGINT, sum(r.closed)::BIGINT, sum(r.on_scene)::BIGINT
        FROM (SELECT q.* FROM new_rows AS x, LATERAL precinct_rollup_rows(1, x.reported_at, x.category, x.family, x.zone_id, x.community_id, x.grid_cell_id, x.dispatched_at, x.first_police_on_scene_at, x.first_helper_on_scene_at, x.status, x.disposition, x.merged_into) AS q) AS r
        GROUP BY r.dim, r.span, r.bucket, r.key
        HAVING sum(r.n) <> 0 OR sum(r.dispatched) <> 0 OR sum(r.police_n) <> 0 OR sum(r.police_seconds) <> 0 OR sum(r.helper_n) <> 0 OR sum(r.helper_seconds) <> 0 OR sum(r.closed) <> 0 OR sum(r.on_scene) <> 0
        ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
            n = f.n + excluded.n,
            dispatched = f.dispatched + excluded.dispatched,
            police_n = f.police_n + excluded.police_n,
            police_seconds = f.police_seconds + excluded.police_seconds,
            helper_n = f.helper_n + excluded.helper_n,
            helper_seconds = f.helper_seconds + excluded.helper_seconds,
            closed = f.closed + excluded.closed,
            on_scene = f.on_scene + excluded.on_scene;
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION precinct_rollup_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_rollups AS f (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
        SELECT r.dim, r.span, r.bucket, r.key, sum(r.n)::BIGINT, sum(r.dispatched)::BIGINT, sum(r.police_n)::BIGINT, sum(r.police_seconds)::BIGINT, sum(r.helper_n)::BIGINT, sum(r.helper_seconds)::BIGINT, sum(r.closed)::BIGINT, sum(r.on_scene)::BIGINT
        FROM (SELECT q.* FROM new_rows AS x, LATERAL precinct_rollup_rows(1, x.reported_at, x.category, x.family, x.zone_id, x.community_id, x.grid_cell_id, x.dispatched_at, x.first_police_on_scene_at, x.first_helper_on_scene_at, x.status, x.disposition, x.merged_into) AS q UNION ALL SELECT q.* FROM old_rows AS x, LATERAL precinct_rollup_rows(-1, x.reported_at, x.category, x.family, x.zone_id, x.community_id, x.grid_cell_id, x.dispatched_at, x.first_police_on_scene_at, x.first_helper_on_scene_at, x.status, x.disposition, x.merged_into) AS q) AS r
        GROUP BY r.dim, r.span, r.bucket, r.key
        HAVING sum(r.n) <> 0 OR sum(r.dispatched) <> 0 OR sum(r.police_n) <> 0 OR sum(r.police_seconds) <> 0 OR sum(r.helper_n) <> 0 OR sum(r.helper_seconds) <> 0 OR sum(r.closed) <> 0 OR sum(r.on_scene) <> 0
        ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
            n = f.n + excluded.n,
            dispatched = f.dispatched + excluded.dispatched,
            police_n = f.police_n + excluded.police_n,
            police_seconds = f.police_seconds + excluded.police_seconds,
            helper_n = f.helper_n + excluded.helper_n,
            helper_seconds = f.helper_seconds + excluded.helper_seconds,
            closed = f.closed + excluded.closed,
            on_scene = f.on_scene + excluded.on_scene;
    RETURN NULL;
END
$$;
CREATE FUNCTION precinct_rollup_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO figure_rollups AS f (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
        SELECT r.dim, r.span, r.bucket, r.key, sum(r.n)::BIGINT, sum(r.dispatched)::BIGINT, sum(r.police_n)::BIGINT, sum(r.police_seconds)::BIGINT, sum(r.helper_n)::BIGINT, sum(r.helper_seconds)::BIGINT, sum(r.closed)::BIGINT, sum(r.on_scene)::BIGINT
        FROM (SELECT q.* FROM old_rows AS x, LATERAL precinct_rollup_rows(-1, x.reported_at, x.category, x.family, x.zone_id, x.community_id, x.grid_cell_id, x.dispatched_at, x.first_police_on_scene_at, x.first_helper_on_scene_at, x.status, x.disposition, x.merged_into) AS q) AS r
        GROUP BY r.dim, r.span, r.bucket, r.key
        HAVING sum(r.n) <> 0 OR sum(r.dispatched) <> 0 OR sum(r.police_n) <> 0 OR sum(r.police_seconds) <> 0 OR sum(r.helper_n) <> 0 OR sum(r.helper_seconds) <> 0 OR sum(r.closed) <> 0 OR sum(r.on_scene) <> 0
        ON CONFLICT (dim, span, bucket, key) DO UPDATE SET
            n = f.n + excluded.n,
            dispatched = f.dispatched + excluded.dispatched,
            police_n = f.police_n + excluded.police_n,
            police_seconds = f.police_seconds + excluded.police_seconds,
            helper_n = f.helper_n + excluded.helper_n,
            helper_seconds = f.helper_seconds + excluded.helper_seconds,
            closed = f.closed + excluded.closed,
            on_scene = f.on_scene + excluded.on_scene;
    RETURN NULL;
END
$$;
CREATE TRIGGER incidents_rollup_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION precinct_rollup_insert();
CREATE TRIGGER incidents_rollup_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION precinct_rollup_update();
CREATE TRIGGER incidents_rollup_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION precinct_rollup_delete();
INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
SELECT q.dim, q.span, q.bucket, q.key, sum(q.n)::BIGINT, sum(q.dispatched)::BIGINT, sum(q.police_n)::BIGINT, sum(q.police_seconds)::BIGINT, sum(q.helper_n)::BIGINT, sum(q.helper_seconds)::BIGINT, sum(q.closed)::BIGINT, sum(q.on_scene)::BIGINT
FROM incidents AS x, LATERAL precinct_rollup_rows(1, x.reported_at, x.category, x.family, x.zone_id, x.community_id, x.grid_cell_id, x.dispatched_at, x.first_police_on_scene_at, x.first_helper_on_scene_at, x.status, x.disposition, x.merged_into) AS q
GROUP BY q.dim, q.span, q.bucket, q.key;
"#,
    // Position reports are read as units' tracks, by unit and time.
    r#"
CREATE INDEX events_unit_positions ON events (unit_id, at) WHERE kind = 'unit_position_reported';
"#,
    // Requests' idempotency keys (`Idempotency-Key`) and their answers, a day.
    r#"
CREATE TABLE request_keys (
    user_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX request_keys_created ON request_keys (created_at);
"#,
    // What the road network's extract knows of addresses (house numbers,
    // named places), replaced with the roads.
    r#"
CREATE TABLE road_addresses (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"#,
    // Photos of a scene, attached to an incident (field reports, tasks).
    r#"
CREATE TABLE photos (
    id BIGINT PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    body BYTEA NOT NULL,
    unit_id BIGINT,
    taken_by TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX photos_incident ON photos (incident_id, id);
"#,
    // The rollups' `closed` counts incidents closed with a disposition (a
    // past record without one says nothing of how it ended), and days and
    // hours before 1970 bucket as floor division: the rows function again,
    // and the rollups recomputed.
    r#"
CREATE OR REPLACE FUNCTION precinct_rollup_rows(
    weight BIGINT, reported_at BIGINT, category TEXT, family TEXT, zone_id BIGINT,
    community_id BIGINT, grid_cell_id BIGINT, dispatched_at BIGINT, police_at BIGINT,
    helper_at BIGINT, status TEXT, disposition TEXT, merged_into BIGINT)
RETURNS TABLE (dim TEXT, span BIGINT, bucket BIGINT, key TEXT, n BIGINT, dispatched BIGINT, police_n BIGINT, police_seconds BIGINT, helper_n BIGINT, helper_seconds BIGINT, closed BIGINT, on_scene BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT d.dim, s.span, (($2 + 2225664000000) / 86400000) / s.span - 25760 / s.span, d.key,
           $1,
           $1 * ($8 IS NOT NULL)::INT,
           $1 * ($9 IS NOT NULL)::INT,
           $1 * COALESCE(($9 - $2) / 1000, 0),
           $1 * ($10 IS NOT NULL)::INT,
           $1 * COALESCE(($10 - $2) / 1000, 0),
           $1 * ($11 = 'closed' AND $12 IS NOT NULL)::INT,
           $1 * ($11 = 'closed' AND $12 IS NOT DISTINCT FROM 'resolved_on_scene')::INT
    FROM (VALUES ('category', $3), ('family', $4),
                 ('zone', COALESCE($5::TEXT, '')), ('community', COALESCE($6::TEXT, '')),
                 ('grid_cell', COALESCE($7::TEXT, '')),
                 ('hour_of_week', (((($2 + 2225664000000) / 3600000) + 72) % 168)::TEXT)) AS d (dim, key),
         (VALUES (1::BIGINT), (32::BIGINT)) AS s (span)
    WHERE $13 IS NULL
$$;
DELETE FROM figure_rollups;
INSERT INTO figure_rollups (dim, span, bucket, key, n, dispatched, police_n, police_seconds, helper_n, helper_seconds, closed, on_scene)
SELECT q.dim, q.span, q.bucket, q.key, sum(q.n)::BIGINT, sum(q.dispatched)::BIGINT, sum(q.police_n)::BIGINT, sum(q.police_seconds)::BIGINT, sum(q.helper_n)::BIGINT, sum(q.helper_seconds)::BIGINT, sum(q.closed)::BIGINT, sum(q.on_scene)::BIGINT
FROM incidents AS x, LATERAL precinct_rollup_rows(1, x.reported_at, x.category, x.family, x.zone_id, x.community_id, x.grid_cell_id, x.dispatched_at, x.first_police_on_scene_at, x.first_helper_on_scene_at, x.status, x.disposition, x.merged_into) AS q
GROUP BY q.dim, q.span, q.bucket, q.key;
"#,
    // The base map's water, parks and buildings from the road import.
    r#"
CREATE TABLE road_areas (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"#,
    // Rows are sealed and new incidents rolled up as they are written, so
    // no row is written twice: the writer seals its events and audit
    // entries in Rust (precinct_storage::chain), the intake function seals
    // its events and adds its incidents' rollups itself. The chain triggers,
    // their head table and the insert rollup trigger go; event and audit ids
    // are now given by the sealing writer (the chain's last id + 1).
    r#"
DROP TRIGGER events_chain ON events;
DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION precinct_seal_events();
DROP FUNCTION precinct_seal_audit_log();
DROP TABLE chain_heads;
DROP TRIGGER incidents_rollup_insert ON incidents;
DROP FUNCTION precinct_rollup_insert();
CREATE OR REPLACE FUNCTION precinct_intake(
    p_lock_key BIGINT, p_channel TEXT, p_now BIGINT, p_window_ms BIGINT, p_radius_m DOUBLE PRECISION,
    p_source TEXT[], p_external_id TEXT[], p_category TEXT[], p_family TEXT[], p_priority BIGINT[],
    p_lat DOUBLE PRECISION[], p_lon DOUBLE PRECISION[], p_cell BIGINT[], p_probe_cells BIGINT[],
    p_zone_id BIGINT[], p_community_id BIGINT[], p_grid_cell_id BIGINT[], p_address TEXT[],
    p_caller_name TEXT[], p_caller_phone TEXT[], p_summary TEXT[], p_reported_at BIGINT[],
    p_actor_user_id BIGINT[], p_actor_name TEXT[], p_received_data TEXT[], p_same_as INT[],
    p_pair_report INT[], p_pair_earlier INT[], p_pair_distance DOUBLE PRECISION[],
    OUT incident_id BIGINT[], OUT created BOOLEAN[], OUT duplicate_of BIGINT[],
    OUT distance DOUBLE PRECISION[], OUT received_event BIGINT[], OUT linked_event BIGINT[])
LANGUAGE plpgsql
-- Its statements are planned once per connection, not at every call, and
-- the plan must stay right as the tables grow from empty: every lookup is
-- by index.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    n INT := coalesce(cardinality(p_source), 0);
    per_report INT := cardinality(p_probe_cells) / greatest(n, 1);
    pairs INT := coalesce(cardinality(p_pair_report), 0);
    existing BIGINT[];
    stored_id BIGINT[];
    stored_distance DOUBLE PRECISION[];
    primary_report BOOLEAN[] := array_fill(false, ARRAY[n]);
    earlier_dup INT[] := array_fill(NULL::INT, ARRAY[n]);
    last_event BIGINT;
    head_id BIGINT;
    head_hash TEXT;
    received_prev TEXT[] := array_fill(NULL::TEXT, ARRAY[n]);
    received_hash TEXT[] := array_fill(NULL::TEXT, ARRAY[n]);
    linked_prev TEXT[] := array_fill(NULL::TEXT, ARRAY[n]);
    linked_hash TEXT[] := array_fill(NULL::TEXT, ARRAY[n]);
    linked_data TEXT[] := array_fill(NULL::TEXT, ARRAY[n]);
    k INT;
    p INT := 1;
    j INT;
    best_j INT;
    best_d DOUBLE PRECISION;
    new_count INT := 0;
BEGIN
    incident_id := array_fill(NULL::BIGINT, ARRAY[n]);
    created := array_fill(false, ARRAY[n]);
    duplicate_of := array_fill(NULL::BIGINT, ARRAY[n]);
    distance := array_fill(NULL::DOUBLE PRECISION, ARRAY[n]);
    received_event := array_fill(NULL::BIGINT, ARRAY[n]);
    linked_event := array_fill(NULL::BIGINT, ARRAY[n]);
    PERFORM pg_advisory_xact_lock(p_lock_key);
    IF n = 0 THEN
        RETURN;
    END IF;

    -- For each report: the incident already stored for its instruction, and
    -- its nearest stored primary report, if any is close enough (the
    -- distance is Coordinates::distance_m, operation for operation).
    SELECT array_agg((SELECT x.id FROM incidents x WHERE x.source = u.source
                AND x.external_id = u.external_id AND x.external_id IS NOT NULL) ORDER BY u.k),
           array_agg(b.id ORDER BY u.k), array_agg(b.d ORDER BY u.k)
        INTO existing, stored_id, stored_distance
    FROM unnest(p_source, p_external_id, p_lat, p_lon, p_family, p_reported_at) WITH ORDINALITY
        AS u(source, external_id, lat, lon, family, reported_at, k)
    LEFT JOIN LATERAL (
        SELECT c.id, c.d FROM (
            SELECT i.id, 2.0::FLOAT8 * 6371008.8::FLOAT8 * asin(least(1.0::FLOAT8, sqrt(
                sin((radians(u.lat) - radians(i.lat)) / 2) * sin((radians(u.lat) - radians(i.lat)) / 2)
                + cos(radians(i.lat)) * cos(radians(u.lat))
                  * (sin(radians(u.lon - i.lon) / 2) * sin(radians(u.lon - i.lon) / 2))))) AS d
            FROM unnest(p_probe_cells[(u.k::INT - 1) * per_report + 1 : u.k::INT * per_report]) AS pc(cell),
            -- One range of the primary reports' index per probed cell: a
            -- row comparison only that index (cell, family, reported_at) can
            -- serve, in a subquery kept apart (OFFSET 0) so each probed cell
            -- is its index range; the cached plan never falls back to the
            -- reported_at index (every incident of the window) or to
            -- scanning the whole index.
            LATERAL (
                SELECT r.id, r.lat, r.lon FROM incidents r
                WHERE (r.cell, r.family, r.reported_at) >= (pc.cell, u.family, u.reported_at - p_window_ms)
                  AND (r.cell, r.family, r.reported_at) <= (pc.cell, u.family, u.reported_at + p_window_ms)
                  AND r.merged_into IS NULL AND r.duplicate_of IS NULL
                OFFSET 0
            ) i
        ) c WHERE c.d <= p_radius_m ORDER BY c.d, c.id LIMIT 1
    ) b ON true;

    -- Decisions, in arrival order: a later report sees the earlier ones.
    FOR k IN 1 .. n LOOP
        WHILE p <= pairs AND p_pair_report[p] < k LOOP
            p := p + 1;
        END LOOP;
        CONTINUE WHEN existing[k] IS NOT NULL OR p_same_as[k] IS NOT NULL;
        new_count := new_count + 1;
        best_j := NULL;
        best_d := stored_distance[k];
        -- Earlier reports of the batch have higher ids than any stored one,
        -- so one wins only when strictly nearer; pairs come nearest first.
        WHILE p <= pairs AND p_pair_report[p] = k LOOP
            j := p_pair_earlier[p];
            IF best_j IS NULL AND primary_report[j]
                AND (stored_id[k] IS NULL OR p_pair_distance[p] < stored_distance[k]) THEN
                best_j := j;
                best_d := p_pair_distance[p];
            END IF;
            p := p + 1;
        END LOOP;
        IF best_j IS NOT NULL THEN
            earlier_dup[k] := best_j;
        ELSIF stored_id[k] IS NOT NULL THEN
            duplicate_of[k] := stored_id[k];
        ELSE
            primary_report[k] := true;
        END IF;
        IF NOT primary_report[k] THEN
            distance[k] := floor(best_d + 0.5);
        END IF;
    END LOOP;

    -- Ids, in arrival order, under the writers' lock, so they follow commit
    -- order; each event sealed into the chain as it is built (its id, then
    -- the hash of the row before it and its own, as precinct_storage::chain
    -- computes them), so no row is written twice.
    SELECT e.id, e.hash INTO head_id, head_hash FROM events e ORDER BY e.id DESC LIMIT 1;
    head_id := coalesce(head_id, 0);
    head_hash := coalesce(head_hash, '');
    FOR k IN 1 .. n LOOP
        IF existing[k] IS NOT NULL THEN
            incident_id[k] := existing[k];
        ELSIF p_same_as[k] IS NOT NULL THEN
            incident_id[k] := incident_id[p_same_as[k]];
        ELSE
            incident_id[k] := nextval('incidents_id_seq');
            created[k] := true;
            IF earlier_dup[k] IS NOT NULL THEN
                duplicate_of[k] := incident_id[earlier_dup[k]];
            END IF;
            head_id := head_id + 1;
            received_event[k] := head_id;
            received_prev[k] := head_hash;
            head_hash := precinct_link(head_hash, precinct_part(head_id::text) || precinct_part(p_now::text)
                || precinct_part(p_actor_user_id[k]::text) || precinct_part(p_actor_name[k])
                || precinct_part(incident_id[k]::text) || '-;' || precinct_part('incident_received')
                || precinct_part(p_received_data[k]));
            received_hash[k] := head_hash;
            IF duplicate_of[k] IS NOT NULL THEN
                head_id := head_id + 1;
                linked_event[k] := head_id;
                linked_data[k] := json_build_object('type', 'duplicate_linked', 'duplicate_of', duplicate_of[k],
                    'distance_m', distance[k])::TEXT;
                linked_prev[k] := head_hash;
                head_hash := precinct_link(head_hash, precinct_part(head_id::text) || precinct_part(p_now::text)
                    || precinct_part(p_actor_user_id[k]::text) || precinct_part(p_actor_name[k])
                    || precinct_part(incident_id[k]::text) || '-;' || precinct_part('duplicate_linked')
                    || precinct_part(linked_data[k]));
                linked_hash[k] := head_hash;
            END IF;
            last_event := head_id;
        END IF;
    END LOOP;

    IF new_count > 0 THEN
        -- Both inserts in one statement (the incidents as a data-modifying
        -- CTE; foreign keys are checked at the statement's end).
        WITH new_incidents AS (
        INSERT INTO incidents (id, source, external_id, category, family, priority, lat, lon, cell, zone_id,
            community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at,
            duplicate_of, status, received_at)
        SELECT u.id, u.source, u.external_id, u.category, u.family, u.priority, u.lat, u.lon, u.cell,
            u.zone_id, u.community_id, u.grid_cell_id, u.address, u.caller_name, u.caller_phone, u.summary,
            u.reported_at, u.duplicate_of, 'received', p_now
        FROM unnest(incident_id, created, p_source, p_external_id, p_category, p_family, p_priority, p_lat,
            p_lon, p_cell, p_zone_id, p_community_id, p_grid_cell_id, p_address, p_caller_name,
            p_caller_phone, p_summary, p_reported_at, duplicate_of)
            AS u(id, created, source, external_id, category, family, priority, lat, lon, cell, zone_id,
                community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at,
                duplicate_of)
        WHERE u.created
        )
        INSERT INTO events (id, at, actor_user_id, actor_name, incident_id, kind, data, prev_hash, hash)
        SELECT u.received_event, p_now, u.actor_user_id, u.actor_name, u.incident_id, 'incident_received', u.data,
            u.prev_hash, u.hash
        FROM unnest(received_event, p_actor_user_id, p_actor_name, incident_id, p_received_data, received_prev,
            received_hash)
            AS u(received_event, actor_user_id, actor_name, incident_id, data, prev_hash, hash)
        WHERE u.received_event IS NOT NULL
        UNION ALL
        SELECT u.linked_event, p_now, u.actor_user_id, u.actor_name, u.incident_id, 'duplicate_linked', u.data,
            u.prev_hash, u.hash
        FROM unnest(linked_event, p_actor_user_id, p_actor_name, incident_id, linked_data, linked_prev, linked_hash)
            AS u(linked_event, actor_user_id, actor_name, incident_id, data, prev_hash, hash)
        WHERE u.linked_event IS NOT NULL;
        -- What the new incidents add to the rollups: one upsert per row
        -- touched, for the whole run.
        INSERT INTO figure_rollups AS f (dim, span, bucket, key, n, dispatched, police_n, police_seconds,
            helper_n, helper_seconds, closed, on_scene)
        SELECT r.dim, r.span, r.bucket, r.key, sum(r.n)::BIGINT, 0, 0, 0, 0, 0, 0, 0
        FROM unnest(created, p_reported_at, p_category, p_family, p_zone_id, p_community_id, p_grid_cell_id)
            AS x(created, reported_at, category, family, zone_id, community_id, grid_cell_id),
            LATERAL precinct_rollup_rows(1, x.reported_at, x.category, x.family, x.zone_id, x.community_id,
                x.grid_cell_id, NULL, NULL, NULL, 'received', NULL, NULL) AS r
        WHERE x.created
        GROUP BY r.dim, r.span, r.bucket, r.key
        ON CONFLICT (dim, span, bucket, key) DO UPDATE SET n = f.n + excluded.n;
        PERFORM pg_notify(p_channel, last_event::TEXT);
    END IF;
END
$fn$;
"#,
    // Positions have a lean path of their own: a small row per report (the
    // unit's track), no event. Reports stored as events move here.
    r#"
CREATE TABLE unit_positions (
    id BIGSERIAL PRIMARY KEY,
    unit_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    reported_by BIGINT
);
CREATE INDEX unit_positions_unit ON unit_positions (unit_id, at);
INSERT INTO unit_positions (unit_id, at, lat, lon, reported_by)
SELECT unit_id, at, (data::json -> 'position' ->> 'lat')::FLOAT8, (data::json -> 'position' ->> 'lon')::FLOAT8,
    actor_user_id
FROM events WHERE kind = 'unit_position_reported' AND unit_id IS NOT NULL ORDER BY id;
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

/// The last schema version that stored disputes as JSON bodies.
#[cfg(test)]
pub(crate) fn json_disputes_version() -> usize {
    MIGRATIONS
        .iter()
        .position(|m| m.contains("RENAME TO legacy_disputes"))
        .expect("the migration to dispute columns")
}

async fn apply(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    apply_until(client, MIGRATIONS.len()).await
}

/// Brings the database up to schema `version` (tests build old databases).
pub(crate) async fn apply_until(
    client: &mut Client,
    version: usize,
) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS precinct_schema (version BIGINT NOT NULL)")
        .await?;
    let current: i64 = client
        .query_opt("SELECT version FROM precinct_schema", &[])
        .await?
        .map_or(0, |row| row.get(0));
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(version)
        .skip(current as usize)
    {
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
