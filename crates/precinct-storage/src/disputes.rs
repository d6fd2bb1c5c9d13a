//! How a dispute case is stored, written once for both SQL backends: a row
//! of columns in `disputes` and child tables for its lists (incidents,
//! organisations, mediators, parties, planned and held sessions with their
//! participants, the agreement with its terms and signatures, follow-ups).
//! Its history is not stored with it: each change is an event
//! (`EventKind::DisputeChanged`), linked to the case by `dispute_events`, and
//! read back from the event log.
//!
//! Statements are written with `$1`-style placeholders and run through
//! [`SqlExec`], which each backend implements on its connection (SQLite
//! rewrites `$n` to `?n`). Ids in filters are inlined integers, never text.

use crate::rows::{SqlRow, coordinates, ms, opt_id, opt_phone, opt_ts, text_enum, ts, unreadable};
use crate::{StoreError, StoreResult};
use precinct_domain::Timestamp;
use precinct_domain::dispute::*;
use precinct_domain::event::EventKind;
use precinct_domain::ids::{CommunityId, DisputeId, IncidentId, OrganisationId, UserId};
use std::collections::BTreeMap;

/// A statement parameter. Nulls are typed, as PostgreSQL wants them.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(bool),
    /// A binary value (a photo's bytes): BLOB in SQLite, BYTEA in PostgreSQL.
    Bytes(Option<Vec<u8>>),
}

fn int(v: i64) -> SqlValue {
    SqlValue::Int(Some(v))
}

fn text(v: impl Into<String>) -> SqlValue {
    SqlValue::Text(Some(v.into()))
}

fn opt_text(v: Option<impl Into<String>>) -> SqlValue {
    SqlValue::Text(v.map(Into::into))
}

fn opt_time(v: Option<Timestamp>) -> SqlValue {
    SqlValue::Int(v.map(ms))
}

/// Runs statements on a backend's connection (inside its write
/// transaction, or on a reader). Both complete before they return on SQLite.
#[allow(async_fn_in_trait)]
pub trait SqlExec {
    /// Runs a statement; returns the rows it changed.
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StoreResult<u64>;
    /// Runs a query and hands each row to `visit`, in order.
    async fn query(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()>;
}

/// Which cases to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Which {
    One(DisputeId),
    All,
    /// Still open, or opened at or after this time.
    Recent(Timestamp),
    /// A page of the list, newest first: the cases below `before` (from the
    /// newest when None) whose status `status` admits, at most `limit`.
    Page {
        before: Option<DisputeId>,
        status: StatusFilter,
        limit: u32,
    },
    /// Among the recent ones, those a case at `address` between `parties`
    /// may repeat: the same address, or a person of the same name or phone
    /// (the domain's `repeat_facts` then decides exactly).
    MayRepeat {
        since: Timestamp,
        address: String,
        parties: Vec<Party>,
    },
}

/// Which statuses a list admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every case not closed.
    Open,
    All,
    Only(precinct_domain::dispute::DisputeStatus),
}

impl Which {
    /// The `WHERE` condition on `disputes` and its parameters (`$1` …):
    /// ids and times are inlined integers, texts are parameters.
    fn condition(&self) -> (String, Vec<SqlValue>) {
        let recent =
            |since: &Timestamp| format!("(status <> 'closed' OR opened_at >= {})", ms(*since));
        match self {
            Which::One(id) => (format!("id = {}", id.0), Vec::new()),
            Which::All => ("TRUE".into(), Vec::new()),
            Which::Recent(since) => (recent(since), Vec::new()),
            Which::Page {
                before,
                status,
                limit,
            } => {
                let before = before.map_or_else(|| "TRUE".to_owned(), |b| format!("id < {}", b.0));
                // Status codes are the domain's own (no text from outside).
                let status = match status {
                    StatusFilter::Open => "status <> 'closed'".to_owned(),
                    StatusFilter::All => "TRUE".to_owned(),
                    StatusFilter::Only(status) => format!("status = '{}'", status.as_str()),
                };
                (
                    format!(
                        "id IN (SELECT id FROM disputes WHERE {before} AND {status} \
                         ORDER BY id DESC LIMIT {limit})"
                    ),
                    Vec::new(),
                )
            }
            Which::MayRepeat {
                since,
                address,
                parties,
            } => {
                let mut params = vec![text(address_key(address))];
                let mut people = Vec::new();
                for p in parties.iter().filter(|p| p.organisation.is_none()) {
                    params.push(text(&p.name));
                    people.push(format!("name = ${}", params.len()));
                    if let Some(phone) = &p.phone {
                        params.push(text(phone.as_str()));
                        people.push(format!("phone = ${}", params.len()));
                    }
                }
                let by_people = if people.is_empty() {
                    String::new()
                } else {
                    format!(
                        " OR id IN (SELECT dispute_id FROM dispute_parties \
                         WHERE organisation_kind IS NULL AND ({}))",
                        people.join(" OR ")
                    )
                };
                (
                    format!(
                        "{} AND ((address_key = $1 AND address_key <> ''){by_people})",
                        recent(since)
                    ),
                    params,
                )
            }
        }
    }
}

const CASE_COLUMNS: &str = "id, version, source, category, status, summary, address, lat, lon, \
     community_id, risk, risk_reasons, responsible_org, referral, opened_at, resolved_at, closed_at, \
     address_key";

fn codes<T: Copy>(items: &[T], code: fn(T) -> &'static str) -> String {
    items.iter().map(|&i| code(i)).collect::<Vec<_>>().join(",")
}

fn parse_codes<T>(text: &str, parse: fn(&str) -> Option<T>) -> StoreResult<Vec<T>> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| parse(c).ok_or_else(|| unreadable(format!("unknown code {c:?}"))))
        .collect()
}

fn ids_text(ids: &[OrganisationId]) -> String {
    ids.iter()
        .map(|i| i.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_ids(text: &str) -> StoreResult<Vec<OrganisationId>> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse()
                .map(OrganisationId)
                .map_err(|_| unreadable(format!("bad id {c:?}")))
        })
        .collect()
}

fn case_params(d: &Dispute) -> Vec<SqlValue> {
    vec![
        int(d.id.0),
        int(d.version),
        text(d.source.as_str()),
        text(d.category.as_str()),
        text(d.status.as_str()),
        text(&d.summary),
        text(&d.address),
        SqlValue::Real(d.location.map(|l| l.lat())),
        SqlValue::Real(d.location.map(|l| l.lon())),
        SqlValue::Int(d.community_id.map(|c| c.0)),
        text(d.risk.as_str()),
        text(codes(&d.risk_reasons, RiskReason::as_str)),
        int(d.responsible_org.0),
        opt_text(d.referral.map(|r| r.as_str())),
        int(ms(d.opened_at)),
        opt_time(d.resolved_at),
        opt_time(d.closed_at),
        text(address_key(&d.address)),
    ]
}

/// The next free case id (cases are numbered by the writer, under its lock).
pub async fn next_id(exec: &mut impl SqlExec) -> StoreResult<DisputeId> {
    let mut next = 1;
    exec.query(
        "SELECT coalesce(max(id), 0) + 1 AS next FROM disputes",
        &[],
        &mut |row| {
            next = row.i64("next")?;
            Ok(())
        },
    )
    .await?;
    Ok(DisputeId(next))
}

/// Stores a new case under its id (and version), with every child row.
pub async fn insert(exec: &mut impl SqlExec, d: &Dispute) -> StoreResult<()> {
    exec.execute(
        &format!(
            "INSERT INTO disputes ({CASE_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ),
        &case_params(d),
    )
    .await?;
    insert_children(exec, d).await
}

/// Saves a changed case if the stored one is still at `expected` (else
/// `Stale`), raising its version; the child rows are written anew.
pub async fn update(exec: &mut impl SqlExec, d: &Dispute, expected: i64) -> StoreResult<()> {
    let mut params = case_params(d);
    params.push(int(expected));
    let changed = exec
        .execute(
            "UPDATE disputes SET version = $2, source = $3, category = $4, status = $5, summary = $6, \
             address = $7, lat = $8, lon = $9, community_id = $10, risk = $11, risk_reasons = $12, \
             responsible_org = $13, referral = $14, opened_at = $15, resolved_at = $16, closed_at = $17, \
             address_key = $18 WHERE id = $1 AND version = $19",
            &params,
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::Stale(format!(
            "dispute {} was changed by someone else; reload it and try again",
            d.id
        )));
    }
    for table in CHILD_TABLES {
        exec.execute(
            &format!("DELETE FROM {table} WHERE dispute_id = $1"),
            &[int(d.id.0)],
        )
        .await?;
    }
    insert_children(exec, d).await
}

/// The child tables, each keyed by `dispute_id`.
pub const CHILD_TABLES: [&str; 11] = [
    "dispute_incidents",
    "dispute_organisations",
    "dispute_mediators",
    "dispute_parties",
    "dispute_planned_sessions",
    "dispute_sessions",
    "dispute_session_participants",
    "dispute_agreements",
    "dispute_agreement_terms",
    "dispute_signatures",
    "dispute_follow_ups",
];

/// Inserts `rows` into `table` in one statement (none when empty).
async fn insert_rows(
    exec: &mut impl SqlExec,
    table: &str,
    columns: &str,
    rows: Vec<Vec<SqlValue>>,
) -> StoreResult<()> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let groups: Vec<String> = (0..rows.len())
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({columns}) VALUES {}",
        groups.join(", ")
    );
    let params: Vec<SqlValue> = rows.into_iter().flatten().collect();
    exec.execute(&sql, &params).await.map(drop)
}

async fn insert_children(exec: &mut impl SqlExec, d: &Dispute) -> StoreResult<()> {
    let id = || int(d.id.0);
    let at = |i: usize| int(i as i64);
    insert_rows(
        exec,
        "dispute_incidents",
        "dispute_id, position, incident_id",
        d.incident_ids
            .iter()
            .enumerate()
            .map(|(i, x)| vec![id(), at(i), int(x.0)])
            .collect(),
    )
    .await?;
    insert_rows(
        exec,
        "dispute_organisations",
        "dispute_id, position, organisation_id",
        d.participating_orgs
            .iter()
            .enumerate()
            .map(|(i, x)| vec![id(), at(i), int(x.0)])
            .collect(),
    )
    .await?;
    insert_rows(
        exec,
        "dispute_mediators",
        "dispute_id, position, user_id",
        d.mediators
            .iter()
            .enumerate()
            .map(|(i, x)| vec![id(), at(i), int(x.0)])
            .collect(),
    )
    .await?;
    insert_rows(
        exec,
        "dispute_parties",
        "dispute_id, position, name, phone, vulnerable, organisation_kind",
        d.parties
            .iter()
            .enumerate()
            .map(|(i, p)| {
                vec![
                    id(),
                    at(i),
                    text(&p.name),
                    opt_text(p.phone.as_ref().map(|n| n.as_str())),
                    SqlValue::Bool(p.vulnerable),
                    opt_text(p.organisation.map(|k| k.as_str())),
                ]
            })
            .collect(),
    )
    .await?;
    insert_rows(
        exec,
        "dispute_planned_sessions",
        "dispute_id, position, at, venue, organisations, notes, planned_by",
        d.planned_sessions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    id(),
                    at(i),
                    int(ms(s.at)),
                    text(s.venue.as_str()),
                    text(ids_text(&s.organisations)),
                    text(&s.notes),
                    text(&s.planned_by),
                ]
            })
            .collect(),
    )
    .await?;
    insert_rows(
        exec,
        "dispute_sessions",
        "dispute_id, position, at, venue, notes, outcome, recorded_by",
        d.sessions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    id(),
                    at(i),
                    int(ms(s.at)),
                    text(s.venue.as_str()),
                    text(&s.notes),
                    text(s.outcome.as_str()),
                    text(&s.recorded_by),
                ]
            })
            .collect(),
    )
    .await?;
    insert_rows(
        exec,
        "dispute_session_participants",
        "dispute_id, session, position, name, role, organisation_id",
        d.sessions
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.participants.iter().enumerate().map(move |(j, p)| {
                    vec![
                        int(d.id.0),
                        at(i),
                        at(j),
                        text(&p.name),
                        text(&p.role),
                        SqlValue::Int(p.organisation_id.map(|o| o.0)),
                    ]
                })
            })
            .collect(),
    )
    .await?;
    if let Some(a) = &d.agreement {
        insert_rows(
            exec,
            "dispute_agreements",
            "dispute_id, facts, drafted_at, signed_at",
            vec![vec![
                id(),
                text(&a.facts),
                int(ms(a.drafted_at)),
                opt_time(a.signed_at),
            ]],
        )
        .await?;
        insert_rows(
            exec,
            "dispute_agreement_terms",
            "dispute_id, position, term",
            a.terms
                .iter()
                .enumerate()
                .map(|(i, t)| vec![id(), at(i), text(t)])
                .collect(),
        )
        .await?;
        insert_rows(
            exec,
            "dispute_signatures",
            "dispute_id, position, party, signed_at",
            a.signatures
                .iter()
                .enumerate()
                .map(|(i, x)| vec![id(), at(i), text(&x.party), int(ms(x.signed_at))])
                .collect(),
        )
        .await?;
    }
    insert_rows(
        exec,
        "dispute_follow_ups",
        "dispute_id, position, due_at, visited_at, visited_by, outcome, notes",
        d.follow_ups
            .iter()
            .enumerate()
            .map(|(i, f)| {
                vec![
                    id(),
                    at(i),
                    int(ms(f.due_at)),
                    opt_time(f.visited_at),
                    opt_text(f.visited_by.clone()),
                    opt_text(f.outcome.map(|o| o.as_str())),
                    opt_text(f.notes.clone()),
                ]
            })
            .collect(),
    )
    .await
}

/// Links an event (already written in this transaction) to its case.
pub async fn link_event(
    exec: &mut impl SqlExec,
    event: precinct_domain::ids::EventId,
    dispute: DisputeId,
) -> StoreResult<()> {
    exec.execute(
        "INSERT INTO dispute_events (event_id, dispute_id) VALUES ($1, $2)",
        &[int(event.0), int(dispute.0)],
    )
    .await
    .map(drop)
}

fn case_from_row(row: &dyn SqlRow) -> StoreResult<Dispute> {
    let location = match (row.opt_f64("lat")?, row.opt_f64("lon")?) {
        (Some(lat), Some(lon)) => Some(coordinates(lat, lon)?),
        _ => None,
    };
    Ok(Dispute {
        id: DisputeId(row.i64("id")?),
        version: row.i64("version")?,
        source: text_enum(row, "source", DisputeSource::parse)?,
        category: text_enum(row, "category", DisputeCategory::parse)?,
        status: text_enum(row, "status", DisputeStatus::parse)?,
        summary: row.text("summary")?,
        address: row.text("address")?,
        location,
        community_id: opt_id(row, "community_id", CommunityId)?,
        incident_ids: Vec::new(),
        parties: Vec::new(),
        risk: text_enum(row, "risk", RiskLevel::parse)?,
        risk_reasons: parse_codes(&row.text("risk_reasons")?, RiskReason::parse)?,
        responsible_org: OrganisationId(row.i64("responsible_org")?),
        participating_orgs: Vec::new(),
        mediators: Vec::new(),
        planned_sessions: Vec::new(),
        sessions: Vec::new(),
        agreement: None,
        follow_ups: Vec::new(),
        referral: row
            .opt_text("referral")?
            .map(|r| Referral::parse(&r).ok_or_else(|| unreadable(format!("referral {r:?}"))))
            .transpose()?,
        history: Vec::new(),
        opened_at: ts(row.i64("opened_at")?)?,
        resolved_at: opt_ts(row, "resolved_at")?,
        closed_at: opt_ts(row, "closed_at")?,
    })
}

/// How much of each case to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Everything: every list and the history.
    Whole,
    /// What repeats and recurrences are decided on: the case's columns, its
    /// parties and its organisations (the other lists and the history are
    /// left empty).
    ForRepeats,
}

/// The cases `which` names, newest first, whole.
pub async fn load(exec: &mut impl SqlExec, which: Which) -> StoreResult<Vec<Dispute>> {
    load_to(exec, which, Depth::Whole).await
}

/// The cases `which` names, newest first, to `depth`.
pub async fn load_to(
    exec: &mut impl SqlExec,
    which: Which,
    depth: Depth,
) -> StoreResult<Vec<Dispute>> {
    let (condition, params) = which.condition();
    let params = params.as_slice();
    let mut cases: BTreeMap<i64, Dispute> = BTreeMap::new();
    exec.query(
        &format!("SELECT {CASE_COLUMNS} FROM disputes WHERE {condition}"),
        params,
        &mut |row| {
            let case = case_from_row(row)?;
            cases.insert(case.id.0, case);
            Ok(())
        },
    )
    .await?;
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let of = |table: &str, columns: &str, order: &str| {
        format!(
            "SELECT dispute_id, {columns} FROM {table} WHERE dispute_id IN \
             (SELECT id FROM disputes WHERE {condition}) ORDER BY dispute_id, {order}"
        )
    };
    each_child(
        exec,
        &mut cases,
        &of("dispute_incidents", "incident_id", "position"),
        params,
        |d, row| {
            d.incident_ids.push(IncidentId(row.i64("incident_id")?));
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of("dispute_organisations", "organisation_id", "position"),
        params,
        |d, row| {
            d.participating_orgs
                .push(OrganisationId(row.i64("organisation_id")?));
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of("dispute_mediators", "user_id", "position"),
        params,
        |d, row| {
            d.mediators.push(UserId(row.i64("user_id")?));
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of(
            "dispute_parties",
            "name, phone, vulnerable, organisation_kind",
            "position",
        ),
        params,
        |d, row| {
            d.parties.push(Party {
                name: row.text("name")?,
                phone: opt_phone(row, "phone")?,
                vulnerable: row.boolean("vulnerable")?,
                organisation: row
                    .opt_text("organisation_kind")?
                    .map(|k| {
                        OrganisationKind::parse(&k)
                            .ok_or_else(|| unreadable(format!("organisation kind {k:?}")))
                    })
                    .transpose()?,
            });
            Ok(())
        },
    )
    .await?;
    if depth == Depth::ForRepeats {
        return Ok(cases.into_values().rev().collect());
    }
    each_child(
        exec,
        &mut cases,
        &of(
            "dispute_planned_sessions",
            "at, venue, organisations, notes, planned_by",
            "position",
        ),
        params,
        |d, row| {
            d.planned_sessions.push(PlannedSession {
                at: ts(row.i64("at")?)?,
                venue: text_enum(row, "venue", Venue::parse)?,
                organisations: parse_ids(&row.text("organisations")?)?,
                notes: row.text("notes")?,
                planned_by: row.text("planned_by")?,
            });
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of(
            "dispute_sessions",
            "at, venue, notes, outcome, recorded_by",
            "position",
        ),
        params,
        |d, row| {
            d.sessions.push(MediationSession {
                at: ts(row.i64("at")?)?,
                venue: text_enum(row, "venue", Venue::parse)?,
                participants: Vec::new(),
                notes: row.text("notes")?,
                outcome: text_enum(row, "outcome", SessionOutcome::parse)?,
                recorded_by: row.text("recorded_by")?,
            });
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of(
            "dispute_session_participants",
            "session, name, role, organisation_id",
            "session, position",
        ),
        params,
        |d, row| {
            let index =
                usize::try_from(row.i64("session")?).map_err(|e| unreadable(e.to_string()))?;
            let session = d
                .sessions
                .get_mut(index)
                .ok_or_else(|| unreadable(format!("participant of no session {index}")))?;
            session.participants.push(Participant {
                name: row.text("name")?,
                role: row.text("role")?,
                organisation_id: opt_id(row, "organisation_id", OrganisationId)?,
            });
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of(
            "dispute_agreements",
            "facts, drafted_at, signed_at",
            "dispute_id",
        ),
        params,
        |d, row| {
            d.agreement = Some(Agreement {
                facts: row.text("facts")?,
                terms: Vec::new(),
                drafted_at: ts(row.i64("drafted_at")?)?,
                signatures: Vec::new(),
                signed_at: opt_ts(row, "signed_at")?,
            });
            Ok(())
        },
    )
    .await?;
    fn agreement(d: &mut Dispute) -> StoreResult<&mut Agreement> {
        let id = d.id;
        d.agreement
            .as_mut()
            .ok_or_else(|| unreadable(format!("terms of dispute {id} without agreement")))
    }
    each_child(
        exec,
        &mut cases,
        &of("dispute_agreement_terms", "term", "position"),
        params,
        |d, row| {
            agreement(d)?.terms.push(row.text("term")?);
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of("dispute_signatures", "party, signed_at", "position"),
        params,
        |d, row| {
            let signed_at = ts(row.i64("signed_at")?)?;
            agreement(d)?.signatures.push(Signature {
                party: row.text("party")?,
                signed_at,
            });
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &of(
            "dispute_follow_ups",
            "due_at, visited_at, visited_by, outcome, notes",
            "position",
        ),
        params,
        |d, row| {
            d.follow_ups.push(FollowUp {
                due_at: ts(row.i64("due_at")?)?,
                visited_at: opt_ts(row, "visited_at")?,
                visited_by: row.opt_text("visited_by")?,
                outcome: row
                    .opt_text("outcome")?
                    .map(|o| {
                        FollowUpOutcome::parse(&o)
                            .ok_or_else(|| unreadable(format!("follow-up outcome {o:?}")))
                    })
                    .transpose()?,
                notes: row.opt_text("notes")?,
            });
            Ok(())
        },
    )
    .await?;
    each_child(
        exec,
        &mut cases,
        &format!(
            "SELECT l.dispute_id, e.at, e.actor_name, e.data FROM dispute_events l \
             JOIN events e ON e.id = l.event_id WHERE l.dispute_id IN \
             (SELECT id FROM disputes WHERE {condition}) ORDER BY l.dispute_id, l.event_id"
        ),
        params,
        |d, row| {
            let kind: EventKind = serde_json::from_str(&row.text("data")?)
                .map_err(|e| unreadable(format!("event data: {e}")))?;
            if let EventKind::DisputeChanged { status, change, .. } = kind {
                d.history.push(DisputeChange {
                    at: ts(row.i64("at")?)?,
                    actor: row.text("actor_name")?,
                    status,
                    change,
                });
            }
            Ok(())
        },
    )
    .await?;
    Ok(cases.into_values().rev().collect())
}

/// Runs a query of a child table and hands each row to `add` with its case.
/// A row of a case written after the first query (on a reader without a
/// snapshot) is left out, not half read.
async fn each_child(
    exec: &mut impl SqlExec,
    cases: &mut BTreeMap<i64, Dispute>,
    sql: &str,
    params: &[SqlValue],
    mut add: impl FnMut(&mut Dispute, &dyn SqlRow) -> StoreResult<()> + Send,
) -> StoreResult<()> {
    exec.query(sql, params, &mut |row| {
        if let Some(d) = cases.get_mut(&row.i64("dispute_id")?) {
            add(d, row)?;
        }
        Ok(())
    })
    .await
}

/// One case, or `NotFound`.
pub async fn load_one(exec: &mut impl SqlExec, id: DisputeId) -> StoreResult<Dispute> {
    load(exec, Which::One(id))
        .await?
        .pop()
        .ok_or_else(|| StoreError::not_found("dispute", id))
}
