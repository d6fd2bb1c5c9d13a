//! A year of the demo district's dispute cases, played through the store's
//! own operations at their times (the demo clock set to each): registered
//! from screening or walk-ins, accepted, a session planned and held, an
//! agreement drafted and signed, the 7- and 30-day visits; a few sessions
//! fail and go to the court, a few agreements relapse. The cases of the
//! last weeks are still under way, so the mediation pages have work.

use crate::clock::DemoClock;
use crate::district::District;
use chrono::{DateTime, Duration, Utc};
use precinct_domain::dispute::*;
use precinct_domain::event::Actor;
use precinct_domain::ground::OrganisationKind;
use precinct_domain::ids::{DisputeId, OrganisationId};
use precinct_domain::incident::PhoneNumber;
use precinct_domain::user::{User, Username};
use precinct_storage::{SharedStore, StoreError, StoreResult};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SURNAMES: [&str; 12] = [
    "张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];

/// (category, summary, address suffix, agreement terms)
const KINDS: [(DisputeCategory, &str, &str); 6] = [
    (
        DisputeCategory::NeighbourNoise,
        "楼下广场舞噪音扰民",
        "晚七点至九点跳舞,音量不超过60分贝",
    ),
    (
        DisputeCategory::CommercialDebt,
        "商户间货款纠纷",
        "欠款分三期于三个月内付清",
    ),
    (
        DisputeCategory::FamilyMarital,
        "家庭赡养费纠纷",
        "子女按月分担赡养费",
    ),
    (
        DisputeCategory::PropertyManagement,
        "物业费与漏水维修纠纷",
        "物业十日内修复漏水,业主补缴物业费",
    ),
    (
        DisputeCategory::Consumer,
        "皮具质量退换纠纷",
        "商户退还货款,顾客退回商品",
    ),
    (
        DisputeCategory::Labour,
        "店员工资拖欠纠纷",
        "店主于月底前结清工资",
    ),
];

/// One step of one case, at its time.
enum Step {
    Open(NewDispute),
    Op(DisputeOp),
}

fn person(rng: &mut ChaCha8Rng) -> Party {
    let name = format!(
        "{}某{}",
        SURNAMES[rng.random_range(0..12)],
        rng.random_range(1..99)
    );
    let phone = format!("139{:08}", rng.random_range(0..100_000_000u32));
    Party {
        name,
        phone: PhoneNumber::parse(&phone).ok(),
        vulnerable: rng.random::<f64>() < 0.1,
        organisation: None,
    }
}

/// Plays about a case every other day over [from, until); returns how
/// many cases were opened. `clock` must be warming up (it is set to each
/// step's time, and left at `until`).
pub async fn play_disputes(
    store: &SharedStore,
    district: &District,
    clock: &DemoClock,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    seed: u64,
) -> StoreResult<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4449_5350);
    let user = |name: &str| {
        let store = store.clone();
        let name = name.to_owned();
        async move {
            let username = Username::parse(&name).map_err(|e| StoreError::Other(e.to_string()))?;
            store
                .credentials(&username)
                .await?
                .map(|c| c.user)
                .ok_or_else(|| StoreError::Other(format!("no demo account {name}")))
        }
    };
    let police: User = user("dispatcher").await?;
    let mediator: User = user("mediator").await?;
    let org = |kind: OrganisationKind| {
        district
            .ground
            .organisations
            .iter()
            .find(|o| o.kind == kind)
            .map(|o| o.id)
    };
    let station = org(OrganisationKind::PoliceStation).unwrap_or(OrganisationId(1));
    let judicial = org(OrganisationKind::JudicialOffice);
    let committee = org(OrganisationKind::ResidentsCommittee);
    let places: Vec<_> = district.ground.places.iter().collect();

    let mut steps: Vec<(DateTime<Utc>, usize, Step)> = Vec::new();
    let days = (until - from).num_days().max(1);
    let cases = (days / 2) as usize;
    for case in 0..cases {
        let opened = from
            + Duration::days(rng.random_range(0..days))
            + Duration::hours(rng.random_range(1..9));
        let (category, summary, term) = KINDS[rng.random_range(0..KINDS.len())];
        let place = places[rng.random_range(0..places.len())];
        let first = person(&mut rng);
        let mut second = person(&mut rng);
        while second.name == first.name {
            second = person(&mut rng);
        }
        let parties = vec![first, second];
        let names: Vec<String> = parties.iter().map(|p| p.name.clone()).collect();
        let mut participating: Vec<OrganisationId> =
            [judicial, committee].into_iter().flatten().collect();
        participating.retain(|o| *o != station);
        steps.push((
            opened,
            case,
            Step::Open(NewDispute {
                source: if rng.random::<f64>() < 0.6 {
                    DisputeSource::Screening
                } else {
                    DisputeSource::WalkIn
                },
                category,
                summary: summary.into(),
                address: place.address.clone(),
                location: Some(place.location),
                community_id: place.community_id,
                incident_ids: Vec::new(),
                parties,
                responsible_org: station,
                participating_orgs: participating.clone(),
            }),
        ));
        let day = |d: f64| opened + Duration::minutes((d * 24.0 * 60.0) as i64);
        let session_at = day(4.0);
        steps.push((
            day(1.0),
            case,
            Step::Op(DisputeOp::Accept {
                mediators: vec![mediator.id],
            }),
        ));
        steps.push((
            day(2.0),
            case,
            Step::Op(DisputeOp::PlanSession(PlannedSession {
                at: session_at,
                venue: Venue::MediationRoom,
                organisations: participating.clone(),
                notes: "通知双方当事人到场".into(),
                planned_by: mediator.display_name.clone(),
            })),
        ));
        let agreed = rng.random::<f64>() < 0.97;
        steps.push((
            session_at,
            case,
            Step::Op(DisputeOp::RecordSession(MediationSession {
                at: session_at,
                venue: Venue::MediationRoom,
                participants: vec![Participant {
                    name: mediator.display_name.clone(),
                    role: "调解员".into(),
                    organisation_id: participating.first().copied(),
                }],
                notes: if agreed {
                    "双方达成一致".into()
                } else {
                    "双方分歧较大,未能达成一致".into()
                },
                outcome: if agreed {
                    SessionOutcome::Agreement
                } else {
                    SessionOutcome::Failed
                },
                recorded_by: mediator.display_name.clone(),
            })),
        ));
        if agreed {
            steps.push((
                session_at + Duration::hours(1),
                case,
                Step::Op(DisputeOp::DraftAgreement {
                    facts: summary.into(),
                    terms: vec![term.into()],
                }),
            ));
            for (k, name) in names.iter().enumerate() {
                steps.push((
                    session_at + Duration::hours(2) + Duration::minutes(k as i64),
                    case,
                    Step::Op(DisputeOp::Sign {
                        party: name.clone(),
                    }),
                ));
            }
            let signed = session_at + Duration::hours(2);
            let relapse = rng.random::<f64>() < 0.015;
            steps.push((
                signed + Duration::days(7),
                case,
                Step::Op(DisputeOp::RecordFollowUp {
                    outcome: if relapse {
                        FollowUpOutcome::Relapsed
                    } else {
                        FollowUpOutcome::Stable
                    },
                    notes: None,
                }),
            ));
            if !relapse {
                steps.push((
                    signed + Duration::days(30),
                    case,
                    Step::Op(DisputeOp::RecordFollowUp {
                        outcome: FollowUpOutcome::Stable,
                        notes: Some("回访无反复".into()),
                    }),
                ));
            }
        } else {
            steps.push((day(5.0), case, Step::Op(DisputeOp::Refer(Referral::Court))));
            steps.push((day(6.0), case, Step::Op(DisputeOp::Close { reason: None })));
        }
    }
    steps.retain(|(at, _, _)| *at < until);
    steps.sort_by_key(|(at, case, _)| (*at, *case));
    let mut ids: Vec<Option<DisputeId>> = vec![None; cases];
    let actor = |u: &User| Actor {
        user_id: Some(u.id),
        name: u.display_name.clone(),
    };
    for (at, case, step) in steps {
        clock.set(at);
        match step {
            Step::Open(new) => {
                let view = store
                    .open_dispute(new, None, police.clone(), actor(&police))
                    .await?;
                ids[case] = Some(view.dispute.id);
            }
            Step::Op(op) => {
                let Some(id) = ids[case] else { continue };
                store
                    .change_dispute(id, None, op, police.clone(), actor(&mediator))
                    .await?;
            }
        }
    }
    clock.set(until);
    Ok(ids.iter().flatten().count())
}
