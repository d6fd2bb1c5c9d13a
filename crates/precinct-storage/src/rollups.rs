//! The figures' rollups: per day and per block of 32 days, for each value
//! of a dimension (category, family, zone, community, grid cell, hour of
//! week), the sums an incident contributes (`Measures`).
//!
//! New incidents add their sums in the transaction that writes them, once
//! per touched row of `figure_rollups` per batch: the writers sum what
//! their intakes and imports add ([`Accumulator`]) and [`add`] it before
//! they commit (PostgreSQL's intake function does the same in SQL).
//! Changes to stored incidents (dispatch, arrival, closing, merging) move
//! their rollups by database triggers on `incidents` (SQLite: row triggers;
//! PostgreSQL: statement triggers over the transition tables), so every
//! change, from any write path, moves them in the same transaction. The
//! rule an incident contributes by is written here ([`contribution`]) and in
//! each backend's SQL; the story suite checks all three agree, and
//! [`rebuild`] recomputes the table (after `migrate-data`).
//!
//! A period is read exactly ([`pieces`]): the whole blocks inside it from
//! block rows, the whole days around them from day rows, and the two
//! partial days at its ends from raw incidents by an aggregate over the
//! `reported_at` index, so any period costs at most two days of raw rows.

use crate::StoreResult;
use crate::disputes::{SqlExec, SqlValue};
use crate::rows::ms;
use precinct_domain::Timestamp;
use precinct_domain::incident::{Disposition, Incident, IncidentStatus};
use std::collections::{BTreeMap, HashMap};

pub const DAY_MS: i64 = 86_400_000;
/// Days in one block, the coarse span.
pub const BLOCK_DAYS: i64 = 32;
/// The spans rollups are kept at, in days.
pub const SPANS: [i64; 2] = [1, BLOCK_DAYS];

/// What a rollup is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RollupDim {
    Category,
    Family,
    Zone,
    Community,
    GridCell,
    /// Hour of the week in UTC: Monday 00:00 UTC is 0, Sunday 23:00 is 167.
    HourOfWeek,
}

impl RollupDim {
    pub const ALL: [RollupDim; 6] = [
        RollupDim::Category,
        RollupDim::Family,
        RollupDim::Zone,
        RollupDim::Community,
        RollupDim::GridCell,
        RollupDim::HourOfWeek,
    ];

    /// The stored spelling (`figure_rollups.dim`).
    pub fn as_str(self) -> &'static str {
        match self {
            RollupDim::Category => "category",
            RollupDim::Family => "family",
            RollupDim::Zone => "zone",
            RollupDim::Community => "community",
            RollupDim::GridCell => "grid_cell",
            RollupDim::HourOfWeek => "hour_of_week",
        }
    }

    /// The dimension's value of an incident row, as SQL over its columns.
    pub fn sql_key(self) -> &'static str {
        match self {
            RollupDim::Category => "category",
            RollupDim::Family => "family",
            RollupDim::Zone => "COALESCE(CAST(zone_id AS TEXT), '')",
            RollupDim::Community => "COALESCE(CAST(community_id AS TEXT), '')",
            RollupDim::GridCell => "COALESCE(CAST(grid_cell_id AS TEXT), '')",
            // Shifted by whole weeks so that times back to 1900 divide as
            // positives (SQL's `/` truncates toward zero).
            RollupDim::HourOfWeek => {
                "CAST((((reported_at + 2213568000000) / 3600000) + 72) % 168 AS TEXT)"
            }
        }
    }

    /// The dimension's value of an incident.
    pub fn key_of(self, i: &Incident) -> String {
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let r = &i.resolution;
        match self {
            RollupDim::Category => i.category.as_str().to_owned(),
            RollupDim::Family => i.category.family().as_str().to_owned(),
            RollupDim::Zone => id(r.zone_id.map(|z| z.0)),
            RollupDim::Community => id(r.community_id.map(|c| c.0)),
            RollupDim::GridCell => id(r.grid_cell_id.map(|g| g.0)),
            RollupDim::HourOfWeek => hour_of_week_utc(ms(i.reported_at)).to_string(),
        }
    }
}

/// Monday 00:00 UTC is 0 (1 January 1970 was a Thursday). `sql_key`
/// shifts by 3,660 weeks (2,213,568,000,000 ms) to stay positive.
pub fn hour_of_week_utc(at_ms: i64) -> i64 {
    (at_ms.div_euclid(3_600_000) + 72).rem_euclid(168)
}

/// What incidents reported in a bucket add up to. Merged duplicates add
/// nothing (one event counts once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures {
    /// Incidents reported.
    pub n: i64,
    /// Of them, dispatched.
    pub dispatched: i64,
    /// Reached by a police unit, and the seconds from report to arrival summed.
    pub police_n: i64,
    pub police_seconds: i64,
    /// Reached by a helper (volunteer, security force, property team).
    pub helper_n: i64,
    pub helper_seconds: i64,
    /// Closed with a disposition, and closed as resolved on scene.
    pub closed: i64,
    pub on_scene: i64,
}

/// The columns of `figure_rollups` that hold [`Measures`], in order.
pub const MEASURE_COLUMNS: [&str; 8] = [
    "n",
    "dispatched",
    "police_n",
    "police_seconds",
    "helper_n",
    "helper_seconds",
    "closed",
    "on_scene",
];

impl Measures {
    pub fn add(&mut self, o: &Measures) {
        self.n += o.n;
        self.dispatched += o.dispatched;
        self.police_n += o.police_n;
        self.police_seconds += o.police_seconds;
        self.helper_n += o.helper_n;
        self.helper_seconds += o.helper_seconds;
        self.closed += o.closed;
        self.on_scene += o.on_scene;
    }

    pub fn is_zero(&self) -> bool {
        *self == Measures::default()
    }

    fn read(row: &dyn crate::rows::SqlRow) -> StoreResult<Measures> {
        Ok(Measures {
            n: row.i64("n")?,
            dispatched: row.i64("dispatched")?,
            police_n: row.i64("police_n")?,
            police_seconds: row.i64("police_seconds")?,
            helper_n: row.i64("helper_n")?,
            helper_seconds: row.i64("helper_seconds")?,
            closed: row.i64("closed")?,
            on_scene: row.i64("on_scene")?,
        })
    }
}

/// What one incident adds to its buckets: nothing if merged into another.
/// The backends' triggers compute the same, column by column.
pub fn contribution(i: &Incident) -> Option<Measures> {
    if i.merged_into.is_some() {
        return None;
    }
    // Closed with a disposition: a past record without one says nothing of
    // how it ended, so it is left out of the on-scene rate's denominator.
    let closed = i.status == IncidentStatus::Closed && i.disposition.is_some();
    let police = i.police_response_seconds();
    let helper = i.first_response_seconds();
    Some(Measures {
        n: 1,
        dispatched: i64::from(i.dispatched_at.is_some()),
        police_n: i64::from(police.is_some()),
        police_seconds: police.unwrap_or(0),
        helper_n: i64::from(helper.is_some()),
        helper_seconds: helper.unwrap_or(0),
        closed: i64::from(closed),
        on_scene: i64::from(closed && i.disposition == Some(Disposition::ResolvedOnScene)),
    })
}

/// One stored rollup row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RollupKey {
    pub dim: String,
    pub span: i64,
    pub bucket: i64,
    pub key: String,
}

/// The rollup table as it should be for these incidents (zero rows left out).
pub fn recompute(incidents: &[Incident]) -> BTreeMap<RollupKey, Measures> {
    let mut sums = Accumulator::default();
    for i in incidents {
        sums.add(i);
    }
    sums.table()
}

/// Sums incidents' contributions under every dimension and span, fast
/// enough for a bulk import: keys are interned once, entries are small.
#[derive(Debug, Default)]
pub struct Accumulator {
    keys: Vec<String>,
    index: HashMap<String, u32, Fx>,
    sums: HashMap<(u8, i64, i64, u32), Measures, Fx>,
    buffer: String,
}

impl Accumulator {
    fn key_id(&mut self) -> u32 {
        if let Some(&id) = self.index.get(self.buffer.as_str()) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(self.buffer.clone());
        self.index.insert(self.buffer.clone(), id);
        id
    }

    /// Adds what the incident contributes (nothing when merged).
    pub fn add(&mut self, i: &Incident) {
        use std::fmt::Write;
        let Some(m) = contribution(i) else { return };
        let at = ms(i.reported_at);
        let day = at.div_euclid(DAY_MS);
        let r = &i.resolution;
        for (d, dim) in RollupDim::ALL.iter().enumerate() {
            self.buffer.clear();
            let id = |v: Option<i64>, b: &mut String| {
                if let Some(v) = v {
                    let _ = write!(b, "{v}");
                }
            };
            match dim {
                RollupDim::Category => self.buffer.push_str(i.category.as_str()),
                RollupDim::Family => self.buffer.push_str(i.category.family().as_str()),
                RollupDim::Zone => id(r.zone_id.map(|z| z.0), &mut self.buffer),
                RollupDim::Community => id(r.community_id.map(|c| c.0), &mut self.buffer),
                RollupDim::GridCell => id(r.grid_cell_id.map(|g| g.0), &mut self.buffer),
                RollupDim::HourOfWeek => {
                    let _ = write!(self.buffer, "{}", hour_of_week_utc(at));
                }
            }
            let key = self.key_id();
            for span in SPANS {
                self.sums
                    .entry((d as u8, span, day.div_euclid(span), key))
                    .or_default()
                    .add(&m);
            }
        }
    }

    /// Adds another accumulator's sums (a job's, into its batch's).
    pub fn merge(&mut self, other: Accumulator) {
        for ((d, span, bucket, key), m) in other.sums {
            self.buffer.clear();
            self.buffer.push_str(&other.keys[key as usize]);
            let key = self.key_id();
            self.sums.entry((d, span, bucket, key)).or_default().add(&m);
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// The sums as table rows (zero rows left out).
    pub fn table(self) -> BTreeMap<RollupKey, Measures> {
        self.sums
            .into_iter()
            .filter(|(_, m)| !m.is_zero())
            .map(|((d, span, bucket, key), m)| {
                (
                    RollupKey {
                        dim: RollupDim::ALL[d as usize].as_str().to_owned(),
                        span,
                        bucket,
                        key: self.keys[key as usize].clone(),
                    },
                    m,
                )
            })
            .collect()
    }
}

/// `INSERT INTO figure_rollups … {rows} ON CONFLICT … DO UPDATE` adding
/// the rows' measures to those stored (bulk writes whose triggers were
/// suspended add their sums with it).
fn upsert_of(rows: &str) -> String {
    let updates = MEASURE_COLUMNS
        .iter()
        .map(|c| format!("{c} = figure_rollups.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO figure_rollups (dim, span, bucket, key, {columns}) {rows} \
         ON CONFLICT (dim, span, bucket, key) DO UPDATE SET {updates}",
        columns = MEASURE_COLUMNS.join(", ")
    )
}

/// From arrays (PostgreSQL's `unnest`): parameters dim, span, bucket and
/// key arrays, then one array per measure, in order.
pub fn upsert_from_arrays_sql() -> String {
    let arrays = (0..MEASURE_COLUMNS.len())
        .map(|i| format!("${}::BIGINT[]", i + 5))
        .collect::<Vec<_>>()
        .join(", ");
    upsert_of(&format!(
        "SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], {arrays})"
    ))
}

/// Adds the sums to `figure_rollups`, one upsert per row touched (in the
/// writer's transaction, before it commits).
pub async fn add(db: &mut impl SqlExec, sums: Accumulator) -> StoreResult<()> {
    upsert_rows(db, sums.table()).await
}

async fn upsert_rows(
    db: &mut impl SqlExec,
    rows: impl IntoIterator<Item = (RollupKey, Measures)>,
) -> StoreResult<()> {
    let sql = upsert_of("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
    for (k, m) in rows {
        let int = |v: i64| SqlValue::Int(Some(v));
        db.execute(
            &sql,
            &[
                SqlValue::Text(Some(k.dim)),
                int(k.span),
                int(k.bucket),
                SqlValue::Text(Some(k.key)),
                int(m.n),
                int(m.dispatched),
                int(m.police_n),
                int(m.police_seconds),
                int(m.helper_n),
                int(m.helper_seconds),
                int(m.closed),
                int(m.on_scene),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Recomputes `figure_rollups` from the incidents (after rows were copied
/// in by `migrate-data`): per dimension, one aggregate by key and day.
pub async fn rebuild(db: &mut impl SqlExec) -> StoreResult<()> {
    db.execute("DELETE FROM figure_rollups", &[]).await?;
    // Days shifted by whole days (25,620 of them) so that times back to 1900
    // divide as positives (SQL's `/` truncates toward zero).
    const DAY: &str = "(reported_at + 2213568000000) / 86400000 - 25620";
    let mut rows: Vec<(RollupKey, Measures)> = Vec::new();
    for dim in RollupDim::ALL {
        let sql = format!(
            "SELECT {key} AS key, {DAY} AS day, {measures} FROM incidents \
             WHERE merged_into IS NULL GROUP BY {key}, {DAY}",
            key = dim.sql_key(),
            measures = raw_measures_sql()
        );
        let mut blocks: BTreeMap<(i64, String), Measures> = BTreeMap::new();
        db.query(&sql, &[], &mut |row| {
            let (day, key) = (row.i64("day")?, row.text("key")?);
            let m = Measures::read(row)?;
            blocks
                .entry((day.div_euclid(BLOCK_DAYS), key.clone()))
                .or_default()
                .add(&m);
            let at = RollupKey {
                dim: dim.as_str().to_owned(),
                span: 1,
                bucket: day,
                key,
            };
            rows.push((at, m));
            Ok(())
        })
        .await?;
        rows.extend(blocks.into_iter().map(|((bucket, key), m)| {
            (
                RollupKey {
                    dim: dim.as_str().to_owned(),
                    span: BLOCK_DAYS,
                    bucket,
                    key,
                },
                m,
            )
        }));
    }
    upsert_rows(db, rows.into_iter().filter(|(_, m)| !m.is_zero())).await
}

/// A fast hasher for the accumulator's small integer keys (FxHash's
/// multiply-rotate); not for untrusted keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Fx = std::hash::BuildHasherDefault<FxHasher>;

/// The stored table, zero rows left out (tests compare it with [`recompute`]).
pub async fn stored(db: &mut impl SqlExec) -> StoreResult<BTreeMap<RollupKey, Measures>> {
    let mut table = BTreeMap::new();
    db.query(
        &format!(
            "SELECT dim, span, bucket, key, {} FROM figure_rollups",
            MEASURE_COLUMNS.join(", ")
        ),
        &[],
        &mut |row| {
            let m = Measures::read(row)?;
            if !m.is_zero() {
                table.insert(
                    RollupKey {
                        dim: row.text("dim")?,
                        span: row.i64("span")?,
                        bucket: row.i64("bucket")?,
                        key: row.text("key")?,
                    },
                    m,
                );
            }
            Ok(())
        },
    )
    .await?;
    Ok(table)
}

/// How finely a period's answer is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// One row per key over the whole period.
    Total,
    /// One row per key and piece the period is read from (its start is the
    /// piece's): callers that place buckets in local time use it.
    Pieces,
    /// One row per key and whole day (days read from day rows, the partial
    /// days at the ends from raw incidents).
    Days,
}

/// A question to the rollups: one dimension over [from, until).
#[derive(Debug, Clone, PartialEq)]
pub struct RollupQuery {
    pub dim: RollupDim,
    pub from: Timestamp,
    pub until: Timestamp,
    pub grain: Grain,
}

/// One answer row.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRow {
    /// Start of the piece (the period's start for `Grain::Total`).
    pub start: Timestamp,
    pub key: String,
    pub measures: Measures,
}

/// Where a part of a period is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Raw incidents reported in [from, until) (milliseconds).
    Raw { from: i64, until: i64 },
    /// Rollup rows of `span` days, buckets [from, until).
    Buckets { span: i64, from: i64, until: i64 },
}

/// Splits [from, until) (milliseconds) into pieces that cover it exactly:
/// raw partial days, whole days, whole blocks (days only when `days_only`).
pub fn pieces(from: i64, until: i64, days_only: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    if from >= until {
        return out;
    }
    let d0 = ceil_div(from, DAY_MS);
    let d1 = until.div_euclid(DAY_MS);
    if d0 >= d1 {
        out.push(Piece::Raw { from, until });
        return out;
    }
    if from < d0 * DAY_MS {
        out.push(Piece::Raw {
            from,
            until: d0 * DAY_MS,
        });
    }
    let b0 = ceil_div(d0, BLOCK_DAYS);
    let b1 = d1.div_euclid(BLOCK_DAYS);
    let days = |out: &mut Vec<Piece>, a: i64, b: i64| {
        if a < b {
            out.push(Piece::Buckets {
                span: 1,
                from: a,
                until: b,
            });
        }
    };
    if !days_only && b0 < b1 {
        days(&mut out, d0, b0 * BLOCK_DAYS);
        out.push(Piece::Buckets {
            span: BLOCK_DAYS,
            from: b0,
            until: b1,
        });
        days(&mut out, b1 * BLOCK_DAYS, d1);
    } else {
        days(&mut out, d0, d1);
    }
    if d1 * DAY_MS < until {
        out.push(Piece::Raw {
            from: d1 * DAY_MS,
            until,
        });
    }
    out
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -(-a).div_euclid(b)
}

/// The SQL that sums raw incidents' measures, as the triggers count them.
fn raw_measures_sql() -> &'static str {
    "CAST(count(*) AS BIGINT) AS n, \
     CAST(sum(CASE WHEN dispatched_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS dispatched, \
     CAST(sum(CASE WHEN first_police_on_scene_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS police_n, \
     CAST(sum(CASE WHEN first_police_on_scene_at IS NOT NULL THEN (first_police_on_scene_at - reported_at) / 1000 ELSE 0 END) AS BIGINT) AS police_seconds, \
     CAST(sum(CASE WHEN first_helper_on_scene_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS helper_n, \
     CAST(sum(CASE WHEN first_helper_on_scene_at IS NOT NULL THEN (first_helper_on_scene_at - reported_at) / 1000 ELSE 0 END) AS BIGINT) AS helper_seconds, \
     CAST(sum(CASE WHEN status = 'closed' AND disposition IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS closed, \
     CAST(sum(CASE WHEN status = 'closed' AND disposition = 'resolved_on_scene' THEN 1 ELSE 0 END) AS BIGINT) AS on_scene"
}

/// The same figure by a plain `GROUP BY` over raw incidents: what the
/// benchmark compares the rollups with, and the raw ends of a period.
pub fn raw_group_by_sql(dim: RollupDim) -> String {
    format!(
        "SELECT {key} AS key, {measures} FROM incidents \
         WHERE reported_at >= $1 AND reported_at < $2 AND merged_into IS NULL GROUP BY {key}",
        key = dim.sql_key(),
        measures = raw_measures_sql()
    )
}

fn from_ms(v: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(v).unwrap_or_default()
}

/// The five slots every query is read through, in order: the raw partial
/// day before, whole days, whole blocks, whole days, the raw partial day
/// after; a slot a period does not need is an empty range.
fn slots(from: i64, until: i64, days_only: bool) -> [Piece; 5] {
    let none = |span: i64| Piece::Buckets {
        span,
        from: 0,
        until: 0,
    };
    let mut out = [
        Piece::Raw { from, until: from },
        none(1),
        none(BLOCK_DAYS),
        none(1),
        Piece::Raw { from: until, until },
    ];
    let mut after_blocks = false;
    for (k, piece) in pieces(from, until, days_only).into_iter().enumerate() {
        match piece {
            Piece::Raw { .. } if k == 0 => out[0] = piece,
            Piece::Raw { .. } => out[4] = piece,
            Piece::Buckets { span, .. } if span == BLOCK_DAYS => {
                out[2] = piece;
                after_blocks = true;
            }
            Piece::Buckets { .. } => out[if after_blocks { 3 } else { 1 }] = piece,
        }
    }
    out
}

/// Queries read per statement (five arms each).
const QUERIES_PER_STATEMENT: usize = 20;

/// Answers the queries from one snapshot (callers open it): each run of up
/// to 20 queries is one statement, a `UNION ALL` of five arms per query,
/// its values parameters, so a page's figures cost one round trip.
pub async fn read(
    db: &mut impl SqlExec,
    queries: &[RollupQuery],
) -> StoreResult<Vec<Vec<RollupRow>>> {
    let summed = MEASURE_COLUMNS
        .iter()
        .map(|c| format!("CAST(sum({c}) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut answers: Vec<Vec<RollupRow>> = vec![Vec::new(); queries.len()];
    for (chunk_index, chunk) in queries.chunks(QUERIES_PER_STATEMENT).enumerate() {
        let mut arms = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        let mut param = |v: i64| {
            params.push(SqlValue::Int(Some(v)));
            format!("${}", params.len())
        };
        for (qi, q) in chunk.iter().enumerate() {
            let split = q.grain != Grain::Total;
            for piece in slots(ms(q.from), ms(q.until), q.grain == Grain::Days) {
                match piece {
                    Piece::Raw { from, until } => {
                        let (a, b) = (param(from), param(until));
                        arms.push(format!(
                            "SELECT CAST({qi} AS BIGINT) AS q, CAST({a} AS BIGINT) AS start, {key} AS key, {measures} \
                             FROM incidents WHERE reported_at >= {a} AND reported_at < {b} AND merged_into IS NULL \
                             GROUP BY {key}",
                            key = q.dim.sql_key(),
                            measures = raw_measures_sql()
                        ));
                    }
                    Piece::Buckets { span, from, until } => {
                        let (a, b) = (param(from), param(until));
                        let (start, by) = if split {
                            (format!("bucket * {}", span * DAY_MS), "bucket, ")
                        } else {
                            (format!("CAST({a} AS BIGINT) * {}", span * DAY_MS), "")
                        };
                        arms.push(format!(
                            "SELECT CAST({qi} AS BIGINT) AS q, {start} AS start, key, {summed} FROM figure_rollups \
                             WHERE dim = '{dim}' AND span = {span} AND bucket >= {a} AND bucket < {b} \
                             GROUP BY {by}key",
                            dim = q.dim.as_str()
                        ));
                    }
                }
            }
        }
        let sql = arms.join(" UNION ALL ");
        let base = chunk_index * QUERIES_PER_STATEMENT;
        db.query(&sql, &params, &mut |row| {
            let q = base + row.i64("q")? as usize;
            let measures = Measures::read(row)?;
            if !measures.is_zero() {
                answers[q].push(RollupRow {
                    start: from_ms(row.i64("start")?),
                    key: row.text("key")?,
                    measures,
                });
            }
            Ok(())
        })
        .await?;
    }
    for (q, rows) in queries.iter().zip(answers.iter_mut()) {
        rows.sort_by_key(|r| r.start);
        if q.grain == Grain::Total {
            let mut total: BTreeMap<String, Measures> = BTreeMap::new();
            for r in rows.drain(..) {
                total.entry(r.key).or_default().add(&r.measures);
            }
            *rows = total
                .into_iter()
                .map(|(key, measures)| RollupRow {
                    start: q.from,
                    key,
                    measures,
                })
                .collect();
        }
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(ps: &[Piece]) -> Vec<(i64, i64)> {
        ps.iter()
            .map(|p| match *p {
                Piece::Raw { from, until } => (from, until),
                Piece::Buckets { span, from, until } => {
                    (from * span * DAY_MS, until * span * DAY_MS)
                }
            })
            .collect()
    }

    #[test]
    fn pieces_cover_the_period_exactly_and_in_order() {
        let cases = [
            (0, 1),
            (5, DAY_MS - 5),
            (DAY_MS - 1, DAY_MS + 1),
            (123_456, 400 * DAY_MS + 77),
            (16 * 3_600_000, 3653 * DAY_MS + 16 * 3_600_000),
            (20_000 * DAY_MS, 20_032 * DAY_MS),
            (20_000 * DAY_MS + 1, 20_100 * DAY_MS),
        ];
        for (from, until) in cases {
            for days_only in [false, true] {
                let c = covered(&pieces(from, until, days_only));
                assert_eq!(c.first().map(|p| p.0), Some(from), "{from}..{until}");
                assert_eq!(c.last().map(|p| p.1), Some(until), "{from}..{until}");
                for w in c.windows(2) {
                    assert_eq!(w[0].1, w[1].0, "gap or overlap in {from}..{until}");
                }
                let raw: i64 = pieces(from, until, days_only)
                    .iter()
                    .map(|p| match p {
                        Piece::Raw { from, until } => until - from,
                        _ => 0,
                    })
                    .sum();
                assert!(raw < 2 * DAY_MS, "at most two partial days read raw");
            }
        }
        assert!(pieces(5, 5, false).is_empty());
        // Every piece lands in its slot, in order, and the slots cover the same.
        for (from, until) in cases {
            for days_only in [false, true] {
                let slotted: Vec<Piece> = slots(from, until, days_only)
                    .into_iter()
                    .filter(|p| match *p {
                        Piece::Raw { from, until } => from < until,
                        Piece::Buckets { from, until, .. } => from < until,
                    })
                    .collect();
                assert_eq!(slotted, pieces(from, until, days_only), "{from}..{until}");
            }
        }
    }

    #[test]
    fn hour_of_week_starts_on_monday_midnight_utc() {
        // 1970-01-05 was a Monday.
        assert_eq!(hour_of_week_utc(4 * DAY_MS), 0);
        assert_eq!(hour_of_week_utc(4 * DAY_MS + 3_600_000 * 25), 25);
        assert_eq!(hour_of_week_utc(0), 72);
        assert_eq!(hour_of_week_utc(4 * DAY_MS - 1), 167);
    }
}
