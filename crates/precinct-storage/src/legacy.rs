//! Cases stored before disputes had columns: one JSON body per case (the
//! domain struct as serde wrote it) with a history of English sentences.
//! The schema migration moves those rows to `legacy_disputes`; each store
//! converts them on opening ([`crate::apply::convert_legacy_disputes`]),
//! reading each sentence back as the typed change that wrote it.

use crate::StoreResult;
use crate::rows::unreadable;
use precinct_domain::Timestamp;
use precinct_domain::dispute::*;
use precinct_domain::ids::IncidentId;
use serde::Deserialize;

/// Cases in the old form, as the release before typed histories stored them
/// (every state a case can be in), for the migration tests.
#[cfg(any(test, feature = "testing"))]
pub const FIXTURE: &str = include_str!("testdata/legacy-disputes.json");

#[derive(Deserialize)]
struct LegacyChange {
    at: Timestamp,
    actor: String,
    status: DisputeStatus,
    what: String,
}

/// A stored JSON body as the case it was, its history typed.
pub fn from_body(body: &str) -> StoreResult<Dispute> {
    let mut value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| unreadable(format!("legacy dispute: {e}")))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| unreadable("legacy dispute is not an object".into()))?;
    let history = object
        .insert("history".into(), serde_json::Value::Array(Vec::new()))
        .unwrap_or_default();
    // `planned_sessions` came in after the first cases were stored.
    object
        .entry("planned_sessions")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    let mut dispute: Dispute =
        serde_json::from_value(value).map_err(|e| unreadable(format!("legacy dispute: {e}")))?;
    let lines: Vec<LegacyChange> = serde_json::from_value(history)
        .map_err(|e| unreadable(format!("legacy dispute history: {e}")))?;
    dispute.history = lines
        .into_iter()
        .map(|line| DisputeChange {
            change: typed(&dispute, &line),
            at: line.at,
            actor: line.actor,
            status: line.status,
        })
        .collect();
    Ok(dispute)
}

/// The typed change an old history sentence stands for.
fn typed(case: &Dispute, line: &LegacyChange) -> DisputeChangeKind {
    let what = line.what.as_str();
    let parse = || -> Option<DisputeChangeKind> {
        Some(match what {
            "registered" => DisputeChangeKind::Registered {
                source: case.source,
                category: case.category,
                risk: case.risk,
                risk_reasons: case.risk_reasons.clone(),
            },
            "accepted" => DisputeChangeKind::Accepted {
                mediators: case.mediators.clone(),
            },
            "agreement drafted" => DisputeChangeKind::AgreementDrafted {
                terms: case.agreement.as_ref().map_or(0, |a| a.terms.len()),
            },
            "closed after referral" => DisputeChangeKind::ClosedAfterReferral,
            "relapse found at follow-up: reopened" => DisputeChangeKind::FollowUpRecorded {
                outcome: FollowUpOutcome::Relapsed,
                closed: false,
            },
            "follow-up: stable; closed" => DisputeChangeKind::FollowUpRecorded {
                outcome: FollowUpOutcome::Stable,
                closed: true,
            },
            "follow-up: stable" => DisputeChangeKind::FollowUpRecorded {
                outcome: FollowUpOutcome::Stable,
                closed: false,
            },
            _ => {
                if let Some(id) = what.strip_prefix("recurred: incident ") {
                    DisputeChangeKind::IncidentLinked {
                        incident_id: IncidentId(id.parse().ok()?),
                    }
                } else if let Some(reason) = what.strip_prefix("dismissed: ") {
                    DisputeChangeKind::Dismissed {
                        reason: reason.to_owned(),
                    }
                } else if let Some(party) = what.strip_prefix("signed by ") {
                    DisputeChangeKind::Signed {
                        party: party.to_owned(),
                        complete: line.status == DisputeStatus::FollowUp,
                    }
                } else if let Some(to) = what.strip_prefix("referred to ") {
                    DisputeChangeKind::Referred {
                        to: Referral::parse(to)?,
                    }
                } else if let Some(rest) = what.strip_prefix("session planned (") {
                    let (venue, at) = rest.split_once(") for ")?;
                    DisputeChangeKind::SessionPlanned {
                        at: chrono::DateTime::parse_from_rfc3339(at).ok()?.to_utc(),
                        venue: Venue::parse(venue)?,
                    }
                } else if let Some(rest) = what.strip_prefix("session (") {
                    let (venue, outcome) = rest.split_once("): ")?;
                    DisputeChangeKind::SessionRecorded {
                        at: line.at,
                        venue: Venue::parse(venue)?,
                        outcome: SessionOutcome::parse(outcome)?,
                    }
                } else {
                    return None;
                }
            }
        })
    };
    parse().unwrap_or_else(|| DisputeChangeKind::Noted {
        text: what.to_owned(),
    })
}

/// The sentence the old history wrote for a change (the inverse of the
/// reading above; the migration tests compare them).
pub fn sentence(change: &DisputeChangeKind) -> String {
    match change {
        DisputeChangeKind::Registered { .. } => "registered".into(),
        DisputeChangeKind::IncidentLinked { incident_id } => {
            format!("recurred: incident {incident_id}")
        }
        DisputeChangeKind::Accepted { .. } => "accepted".into(),
        DisputeChangeKind::Dismissed { reason } => format!("dismissed: {reason}"),
        DisputeChangeKind::SessionPlanned { at, venue } => {
            format!("session planned ({venue}) for {}", at.to_rfc3339())
        }
        DisputeChangeKind::SessionRecorded { venue, outcome, .. } => {
            format!("session ({venue}): {outcome}")
        }
        DisputeChangeKind::AgreementDrafted { .. } => "agreement drafted".into(),
        DisputeChangeKind::Signed { party, .. } => format!("signed by {party}"),
        DisputeChangeKind::Referred { to } => format!("referred to {to}"),
        DisputeChangeKind::ClosedAfterReferral => "closed after referral".into(),
        DisputeChangeKind::FollowUpRecorded {
            outcome: FollowUpOutcome::Relapsed,
            ..
        } => "relapse found at follow-up: reopened".into(),
        DisputeChangeKind::FollowUpRecorded { closed: true, .. } => {
            "follow-up: stable; closed".into()
        }
        DisputeChangeKind::FollowUpRecorded { .. } => "follow-up: stable".into(),
        DisputeChangeKind::Noted { text } => text.clone(),
    }
}

#[cfg(any(test, feature = "testing"))]
/// A row of the old `disputes` table: id, status, version, opened_at (ms), body.
pub type LegacyRow = (i64, String, i64, i64, String);

#[cfg(any(test, feature = "testing"))]
/// What a test inserts into the old `disputes` table for the fixture.
pub fn fixture_rows() -> StoreResult<Vec<LegacyRow>> {
    fixture_bodies()?
        .into_iter()
        .map(|body| {
            let case = from_body(&body)?;
            Ok((
                case.id.0,
                case.status.as_str().to_owned(),
                case.version,
                case.opened_at.timestamp_millis(),
                body,
            ))
        })
        .collect()
}

#[cfg(any(test, feature = "testing"))]
/// Checks that a store opened on a database holding the fixture in the old
/// form reads back every case as it was: each field equal, and the history
/// equal line by line (time, actor, status, and the sentence its typed
/// change stands for). Panics naming the difference.
pub async fn assert_fixture_converted(store: &dyn crate::Store) {
    let bodies = fixture_bodies().expect("fixture");
    assert_eq!(store.list_disputes().await.unwrap().len(), bodies.len());
    for body in bodies {
        let old: serde_json::Value = serde_json::from_str(&body).unwrap();
        let id = precinct_domain::ids::DisputeId(old["id"].as_i64().unwrap());
        let read = store.get_dispute(id).await.unwrap();
        assert_eq!(read, from_body(&body).unwrap(), "case {id}");
        // The same case in the old form: the history as sentences.
        let mut again = serde_json::to_value(&read).unwrap();
        again["history"] = read
            .history
            .iter()
            .map(|h| {
                serde_json::json!({
                    "at": h.at, "actor": h.actor, "status": h.status, "what": sentence(&h.change)
                })
            })
            .collect();
        assert_eq!(again, old, "case {id} reads back identical");
    }
}

#[cfg(any(test, feature = "testing"))]
/// The fixture's bodies.
pub fn fixture_bodies() -> StoreResult<Vec<String>> {
    serde_json::from_str(FIXTURE)
        .map_err(|e| crate::StoreError::Other(format!("legacy fixture: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_old_sentence_reads_back_as_a_typed_change() {
        for body in fixture_bodies().unwrap() {
            let old: serde_json::Value = serde_json::from_str(&body).unwrap();
            let case = from_body(&body).unwrap();
            let lines = old["history"].as_array().unwrap();
            assert_eq!(lines.len(), case.history.len());
            for (line, change) in lines.iter().zip(&case.history) {
                assert!(
                    !matches!(change.change, DisputeChangeKind::Noted { .. }),
                    "{line} was not understood"
                );
                assert_eq!(line["what"].as_str().unwrap(), sentence(&change.change));
                assert_eq!(line["actor"].as_str().unwrap(), change.actor);
                assert_eq!(line["status"].as_str().unwrap(), change.status.as_str());
            }
        }
        let case = from_body(&fixture_bodies().unwrap()[0]).unwrap();
        let mut line = LegacyChange {
            at: case.opened_at,
            actor: "x".into(),
            status: case.status,
            what: "something else".into(),
        };
        assert_eq!(
            typed(&case, &line),
            DisputeChangeKind::Noted {
                text: "something else".into()
            }
        );
        line.what = "referred to nowhere".into();
        assert!(matches!(
            typed(&case, &line),
            DisputeChangeKind::Noted { .. }
        ));
    }
}
