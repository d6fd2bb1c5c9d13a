//! Recurrence checks: whether a new incident recurs an open or recent
//! dispute (the same address, or the caller is a party, within 90 days),
//! checked after its intake was acknowledged, off the intake path. A
//! recurring incident is flagged and listed with each case it recurs, in one
//! write transaction (`apply::flag_recurrence`).

use crate::SharedStore;
use crate::apply::repeat_window_start;
use precinct_domain::dispute::{Dispute, recurred_by};
use precinct_domain::event::Actor;
use precinct_domain::incident::Incident;
use tokio::sync::mpsc;

/// Starts the checks and returns where new incidents go. Incidents that
/// arrive while a check runs wait and are checked together against one read
/// of the disputes, so under load the checks cost one read per batch, not
/// one per intake. The task ends when the last sender is dropped.
pub fn spawn_recurrence_checks(store: SharedStore) -> mpsc::UnboundedSender<Incident> {
    let (sender, mut incidents) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while incidents.recv_many(&mut batch, 1024).await > 0 {
            check(&store, std::mem::take(&mut batch)).await;
        }
    });
    sender
}

/// Checks a batch of new incidents. Failures are logged.
async fn check(store: &SharedStore, incidents: Vec<Incident>) {
    let Some(since) = incidents
        .iter()
        .map(|i| repeat_window_start(i.received_at))
        .min()
    else {
        return;
    };
    let disputes: Vec<Dispute> = match store.recent_disputes(since).await {
        Ok(disputes) => disputes,
        Err(error) => {
            tracing::warn!(%error, count = incidents.len(), "recurrence check failed");
            return;
        }
    };
    if disputes.is_empty() {
        return;
    }
    for incident in incidents {
        let ids = recurred_by(&incident, &disputes);
        if ids.is_empty() {
            continue;
        }
        if let Err(error) = store
            .flag_recurrence(incident.id, ids, Actor::system("recurrence check"))
            .await
        {
            tracing::warn!(%error, incident = %incident.id, "recurrence check failed");
        }
    }
}
