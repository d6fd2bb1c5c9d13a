//! Disputes (矛盾纠纷) and their mediation across agencies: who takes part,
//! the one table of legal lifecycle changes, how risky a case is and why,
//! and when to visit after an agreement (回访).
//!
//! Storage and the API build on these types; nothing here does I/O.

use crate::Timestamp;
use crate::category::{Category, CategoryFamily, DefaultCategory};
use crate::error::{DomainError, Entity};
pub use crate::ground::OrganisationKind;
use crate::ids::{CommunityId, DisputeId, IncidentId, OrganisationId, UserId};
use crate::incident::PhoneNumber;
use crate::text::string_enum;
use precinct_geo::Coordinates;
use serde::{Deserialize, Serialize};

string_enum! {
    pub enum DisputeCategory {
        NeighbourNoise = "neighbour_noise",
        FamilyMarital = "family_marital",
        CommercialDebt = "commercial_debt",
        Labour = "labour",
        PropertyManagement = "property_management",
        Consumer = "consumer",
        Land = "land",
        Other = "other",
    }
}

impl DisputeCategory {
    /// The dispute category an incident referred to mediation starts with.
    /// A station's own codes map by their family.
    pub fn from_incident(category: &Category) -> DisputeCategory {
        match category.shipped() {
            Some(DefaultCategory::NeighbourNoiseDispute) => DisputeCategory::NeighbourNoise,
            Some(DefaultCategory::FamilyDispute | DefaultCategory::DomesticViolence) => {
                DisputeCategory::FamilyMarital
            }
            Some(DefaultCategory::CommercialDebtDispute) => DisputeCategory::CommercialDebt,
            _ if category.family() == CategoryFamily::DomesticViolence => {
                DisputeCategory::FamilyMarital
            }
            _ => DisputeCategory::Other,
        }
    }
}

string_enum! {
    /// How a dispute came in.
    pub enum DisputeSource {
        /// An incident closed as referred to mediation.
        Incident = "incident",
        /// Screening (排查) by community police, grid workers or property companies.
        Screening = "screening",
        WalkIn = "walk_in",
    }
}

string_enum! {
    pub enum DisputeStatus {
        Registered = "registered",
        Accepted = "accepted",
        InMediation = "in_mediation",
        AgreementReached = "agreement_reached",
        MediationFailed = "mediation_failed",
        /// Failed mediation passed to the court, the petition office or arbitration.
        Referred = "referred",
        FollowUp = "follow_up",
        Closed = "closed",
    }
}

/// Every legal dispute status change. Anything not listed is illegal.
pub const DISPUTE_TRANSITIONS: &[(DisputeStatus, DisputeStatus)] = {
    use DisputeStatus::*;
    &[
        (Registered, Accepted),
        // Not a matter for mediation (withdrawn, out of scope).
        (Registered, Closed),
        (Accepted, InMediation),
        (InMediation, AgreementReached),
        (InMediation, MediationFailed),
        // Another round after a failed session.
        (MediationFailed, InMediation),
        (MediationFailed, Referred),
        (Referred, Closed),
        (AgreementReached, FollowUp),
        (FollowUp, Closed),
        // A relapse found at a follow-up visit reopens the case.
        (FollowUp, InMediation),
    ]
};

impl DisputeStatus {
    pub fn can_become(self, to: DisputeStatus) -> bool {
        DISPUTE_TRANSITIONS.contains(&(self, to))
    }

    pub fn transition(self, to: DisputeStatus) -> Result<DisputeStatus, DomainError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(DomainError::IllegalTransition {
                entity: Entity::Dispute,
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    /// Counts as resolved for the resolution rate (化解率).
    pub fn is_resolved(self) -> bool {
        matches!(
            self,
            DisputeStatus::AgreementReached | DisputeStatus::FollowUp
        )
    }
}

string_enum! {
    /// Where failed mediation goes next.
    pub enum Referral {
        Court = "court",
        PetitionOffice = "petition_office",
        Arbitration = "arbitration",
    }
}

string_enum! {
    pub enum Venue {
        MediationRoom = "mediation_room",
        LegalServiceStation = "legal_service_station",
        OnSite = "on_site",
    }
}

string_enum! {
    pub enum FollowUpOutcome {
        Stable = "stable",
        Relapsed = "relapsed",
    }
}

/// A party to a dispute: a person (personal data: masked and audited like
/// callers) or an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub phone: Option<PhoneNumber>,
    /// Elderly, minor, disabled, pregnant … (raises the risk).
    pub vulnerable: bool,
    /// Set when the party is an organisation rather than a person.
    pub organisation: Option<OrganisationKind>,
}

impl Party {
    /// A person's phone shown as `138****8000`; organisations' are public.
    pub fn masked_phone(&self) -> Option<String> {
        self.phone.as_ref().map(|p| {
            if self.organisation.is_some() {
                p.as_str().to_owned()
            } else {
                p.masked()
            }
        })
    }
}

string_enum! {
    pub enum RiskLevel {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

string_enum! {
    /// Why a case is risky.
    pub enum RiskReason {
        ViolenceInIncident = "violence_in_incident",
        RepeatAtAddress = "repeat_at_address",
        RepeatBetweenParties = "repeat_between_parties",
        ManyParties = "many_parties",
        VulnerableParty = "vulnerable_party",
    }
}

/// A dispute counts as a repeat when another one at the same address or
/// between the same parties is open or was opened within this many days.
pub const REPEAT_WINDOW_DAYS: i64 = 90;
/// This many parties or more make a dispute risky.
pub const MANY_PARTIES: usize = 5;

/// What risk assessment looks at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RiskFacts {
    /// The incident(s) the dispute came from, by family.
    pub incident_families: Vec<CategoryFamily>,
    pub repeat_at_address: bool,
    pub repeat_between_parties: bool,
    pub parties: usize,
    pub any_vulnerable_party: bool,
}

/// The risk level and every reason for it. Violence makes a case high risk
/// on its own; otherwise one reason makes it medium and two or more high.
pub fn assess_risk(facts: &RiskFacts) -> (RiskLevel, Vec<RiskReason>) {
    let violent = facts.incident_families.iter().any(|f| {
        matches!(
            f,
            CategoryFamily::Criminal | CategoryFamily::DomesticViolence
        )
    });
    let mut reasons = Vec::new();
    if violent {
        reasons.push(RiskReason::ViolenceInIncident);
    }
    if facts.repeat_at_address {
        reasons.push(RiskReason::RepeatAtAddress);
    }
    if facts.repeat_between_parties {
        reasons.push(RiskReason::RepeatBetweenParties);
    }
    if facts.parties >= MANY_PARTIES {
        reasons.push(RiskReason::ManyParties);
    }
    if facts.any_vulnerable_party {
        reasons.push(RiskReason::VulnerableParty);
    }
    let level = match (violent, reasons.len()) {
        (true, _) => RiskLevel::High,
        (false, 0) => RiskLevel::Low,
        (false, 1) => RiskLevel::Medium,
        (false, _) => RiskLevel::High,
    };
    (level, reasons)
}

string_enum! {
    /// How a mediation session ended.
    pub enum SessionOutcome {
        /// The parties agreed; the agreement is written next.
        Agreement = "agreement",
        /// No agreement; another round may follow, or a referral.
        Failed = "failed",
        /// Adjourned: another session is needed.
        Continued = "continued",
    }
}

/// Someone at a mediation session, from whichever organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    pub name: String,
    /// 社区干部, 物业经理, 业委会主任, 律师 … as said at the session.
    pub role: String,
    pub organisation_id: Option<OrganisationId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediationSession {
    pub at: Timestamp,
    pub venue: Venue,
    pub participants: Vec<Participant>,
    pub notes: String,
    pub outcome: SessionOutcome,
    pub recorded_by: String,
}

/// A session arranged ahead: when, where, and which organisations come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSession {
    pub at: Timestamp,
    pub venue: Venue,
    pub organisations: Vec<OrganisationId>,
    pub notes: String,
    pub planned_by: String,
}

/// A party's signature on the agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub party: String,
    pub signed_at: Timestamp,
}

/// The mediation agreement (调解协议).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub facts: String,
    pub terms: Vec<String>,
    pub drafted_at: Timestamp,
    pub signatures: Vec<Signature>,
    /// When the last party signed: the agreement is in force.
    pub signed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    pub due_at: Timestamp,
    pub visited_at: Option<Timestamp>,
    pub visited_by: Option<String>,
    pub outcome: Option<FollowUpOutcome>,
    pub notes: Option<String>,
}

/// What one change did to a case: a typed line of its history, stored as
/// an event (`EventKind::DisputeChanged`) in the transaction that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DisputeChangeKind {
    Registered {
        source: DisputeSource,
        category: DisputeCategory,
        risk: RiskLevel,
        risk_reasons: Vec<RiskReason>,
    },
    /// A later incident recurs the case (same address or people).
    IncidentLinked {
        incident_id: IncidentId,
    },
    Accepted {
        mediators: Vec<UserId>,
    },
    /// Not a matter for mediation.
    Dismissed {
        reason: String,
    },
    SessionPlanned {
        at: Timestamp,
        venue: Venue,
    },
    SessionRecorded {
        at: Timestamp,
        venue: Venue,
        outcome: SessionOutcome,
    },
    AgreementDrafted {
        terms: usize,
    },
    /// A party signed; `complete` when every party has.
    Signed {
        party: String,
        complete: bool,
    },
    Referred {
        to: Referral,
    },
    ClosedAfterReferral,
    /// A follow-up visit: a relapse reopens the case, the last stable visit closes it.
    FollowUpRecorded {
        outcome: FollowUpOutcome,
        closed: bool,
    },
    /// A line of a case's history from before histories were typed that
    /// could not be read as one of the kinds above.
    Noted {
        text: String,
    },
}

fn millis(at: Timestamp) -> Timestamp {
    Timestamp::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

impl DisputeOp {
    /// The same change with its times cut to whole milliseconds, the
    /// precision they are stored with, so the case it makes is the case
    /// read back.
    pub fn to_millis(self) -> DisputeOp {
        match self {
            DisputeOp::PlanSession(mut planned) => {
                planned.at = millis(planned.at);
                DisputeOp::PlanSession(planned)
            }
            DisputeOp::RecordSession(mut session) => {
                session.at = millis(session.at);
                DisputeOp::RecordSession(session)
            }
            other => other,
        }
    }
}

impl DisputeChangeKind {
    /// A stable name for the kind (the serde tag).
    pub fn name(&self) -> &'static str {
        match self {
            DisputeChangeKind::Registered { .. } => "registered",
            DisputeChangeKind::IncidentLinked { .. } => "incident_linked",
            DisputeChangeKind::Accepted { .. } => "accepted",
            DisputeChangeKind::Dismissed { .. } => "dismissed",
            DisputeChangeKind::SessionPlanned { .. } => "session_planned",
            DisputeChangeKind::SessionRecorded { .. } => "session_recorded",
            DisputeChangeKind::AgreementDrafted { .. } => "agreement_drafted",
            DisputeChangeKind::Signed { .. } => "signed",
            DisputeChangeKind::Referred { .. } => "referred",
            DisputeChangeKind::ClosedAfterReferral => "closed_after_referral",
            DisputeChangeKind::FollowUpRecorded { .. } => "follow_up_recorded",
            DisputeChangeKind::Noted { .. } => "noted",
        }
    }

    /// The same change with parties' names masked (`Signed`), for readers
    /// who see a case's people masked.
    pub fn masked(&self) -> DisputeChangeKind {
        match self {
            DisputeChangeKind::Signed { party, complete } => DisputeChangeKind::Signed {
                party: crate::incident::mask_name(party),
                complete: *complete,
            },
            other => other.clone(),
        }
    }
}

/// One line of a dispute's history: what changed, who did it, when, and the
/// status it left the case in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputeChange {
    pub at: Timestamp,
    pub actor: String,
    pub status: DisputeStatus,
    pub change: DisputeChangeKind,
}

/// A change to an existing case, as a mediator (or the recurrence check)
/// asks for it. [`Dispute::apply`] checks it against the case and the table.
/// Times are kept to the millisecond, as stored ([`DisputeOp::to_millis`]).
#[derive(Debug, Clone, PartialEq)]
pub enum DisputeOp {
    LinkIncident(IncidentId),
    Accept {
        mediators: Vec<UserId>,
    },
    PlanSession(PlannedSession),
    RecordSession(MediationSession),
    DraftAgreement {
        facts: String,
        terms: Vec<String>,
    },
    Sign {
        party: String,
    },
    Refer(Referral),
    /// Dismisses a registered case (a reason is required) or closes a
    /// referred one.
    Close {
        reason: Option<String>,
    },
    RecordFollowUp {
        outcome: FollowUpOutcome,
        notes: Option<String>,
    },
}

string_enum! {
    /// A change a case's status admits now, named as the API's operation.
    pub enum Step {
        Accept = "accept_dispute",
        PlanSession = "plan_session",
        RecordSession = "record_session",
        DraftAgreement = "record_agreement",
        Sign = "sign_agreement",
        RecordFollowUp = "record_follow_up",
        Refer = "refer_dispute",
        Close = "close_dispute",
    }
}

/// A dispute case file. Every change is a [`DisputeOp`] applied inside the
/// writer's transaction with a version check, so two mediators changing one
/// case cannot overwrite each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispute {
    /// 0 until stored.
    pub id: DisputeId,
    /// Raised by every save; a save expecting another version is refused.
    pub version: i64,
    pub source: DisputeSource,
    pub category: DisputeCategory,
    pub status: DisputeStatus,
    pub summary: String,
    pub address: String,
    pub location: Option<Coordinates>,
    pub community_id: Option<CommunityId>,
    pub incident_ids: Vec<IncidentId>,
    pub parties: Vec<Party>,
    pub risk: RiskLevel,
    pub risk_reasons: Vec<RiskReason>,
    /// The organisation that leads the case.
    pub responsible_org: OrganisationId,
    /// Every other organisation taking part (三所一庭, companies …).
    pub participating_orgs: Vec<OrganisationId>,
    pub mediators: Vec<UserId>,
    /// Sessions arranged ahead, earliest first; recording a session takes
    /// the one it fulfils off the list.
    pub planned_sessions: Vec<PlannedSession>,
    pub sessions: Vec<MediationSession>,
    pub agreement: Option<Agreement>,
    pub follow_ups: Vec<FollowUp>,
    pub referral: Option<Referral>,
    pub history: Vec<DisputeChange>,
    pub opened_at: Timestamp,
    /// When an agreement was reached (for time to resolution).
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

/// What opening a dispute needs; the rest is decided by [`Dispute::open`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewDispute {
    pub source: DisputeSource,
    pub category: DisputeCategory,
    pub summary: String,
    pub address: String,
    pub location: Option<Coordinates>,
    pub community_id: Option<CommunityId>,
    pub incident_ids: Vec<IncidentId>,
    pub parties: Vec<Party>,
    pub responsible_org: OrganisationId,
    pub participating_orgs: Vec<OrganisationId>,
}

/// Fills a case opened from an incident: the incident must be closed as
/// referred to mediation; its summary, address, place and community fill
/// what the opener left out, its category gives the dispute's (unless
/// chosen), and its family counts for the risk.
pub fn fill_from_incident(
    new: &mut NewDispute,
    incident: &crate::incident::Incident,
    facts: &mut RiskFacts,
) -> Result<(), DomainError> {
    use crate::incident::{Disposition, IncidentStatus};
    if incident.status != IncidentStatus::Closed
        || incident.disposition != Some(Disposition::ReferredToMediation)
    {
        return Err(DomainError::NotReferred {
            incident: incident.id.0,
        });
    }
    facts.incident_families.push(incident.category.family());
    if new.summary.trim().is_empty() {
        new.summary = incident.summary.clone();
    }
    if new.address.trim().is_empty() {
        new.address = incident.address.clone();
    }
    new.location.get_or_insert(incident.location);
    new.community_id = new.community_id.or(incident.resolution.community_id);
    if new.category == DisputeCategory::Other {
        new.category = DisputeCategory::from_incident(&incident.category);
    }
    if !new.incident_ids.contains(&incident.id) {
        new.incident_ids.push(incident.id);
    }
    Ok(())
}

/// Lowercased, without spaces: how addresses are compared for repeats.
pub fn address_key(address: &str) -> String {
    address
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Dispute {
    /// A registered case. `facts` carries what the store knows of the
    /// incidents and of earlier disputes (see [`repeat_facts`]).
    pub fn open(
        new: NewDispute,
        mut facts: RiskFacts,
        at: Timestamp,
        actor: &str,
    ) -> Result<Dispute, DomainError> {
        if new.summary.trim().is_empty() {
            return Err(DomainError::invalid(
                "summary",
                "say what the dispute is about",
            ));
        }
        if new.parties.is_empty() {
            return Err(DomainError::invalid(
                "parties",
                "a dispute has at least one party",
            ));
        }
        if new.parties.iter().any(|p| p.name.trim().is_empty()) {
            return Err(DomainError::invalid("parties", "every party has a name"));
        }
        facts.parties = new.parties.len();
        facts.any_vulnerable_party = new.parties.iter().any(|p| p.vulnerable);
        let (risk, risk_reasons) = assess_risk(&facts);
        let mut participating = new.participating_orgs;
        participating.retain(|o| *o != new.responsible_org);
        participating.sort();
        participating.dedup();
        Ok(Dispute {
            id: DisputeId(0),
            version: 0,
            source: new.source,
            category: new.category,
            status: DisputeStatus::Registered,
            summary: new.summary.trim().to_owned(),
            address: new.address.trim().to_owned(),
            location: new.location,
            community_id: new.community_id,
            incident_ids: new.incident_ids,
            parties: new.parties,
            risk,
            risk_reasons: risk_reasons.clone(),
            responsible_org: new.responsible_org,
            participating_orgs: participating,
            mediators: Vec::new(),
            planned_sessions: Vec::new(),
            sessions: Vec::new(),
            agreement: None,
            follow_ups: Vec::new(),
            referral: None,
            history: vec![DisputeChange {
                at,
                actor: actor.to_owned(),
                status: DisputeStatus::Registered,
                change: DisputeChangeKind::Registered {
                    source: new.source,
                    category: new.category,
                    risk,
                    risk_reasons,
                },
            }],
            opened_at: at,
            resolved_at: None,
            closed_at: None,
        })
    }

    /// The changes the case admits now (each still checked when applied).
    pub fn steps(&self) -> Vec<Step> {
        use DisputeStatus as S;
        let agreement_open = self
            .agreement
            .as_ref()
            .is_some_and(|a| a.signed_at.is_none());
        match self.status {
            S::Registered => vec![Step::Accept, Step::Close],
            S::Accepted | S::InMediation => vec![Step::PlanSession, Step::RecordSession],
            S::MediationFailed => vec![Step::PlanSession, Step::RecordSession, Step::Refer],
            S::AgreementReached if agreement_open => {
                let unsigned = self
                    .agreement
                    .as_ref()
                    .is_some_and(|a| a.signatures.is_empty());
                if unsigned {
                    vec![Step::DraftAgreement, Step::Sign]
                } else {
                    vec![Step::Sign]
                }
            }
            S::AgreementReached => vec![Step::DraftAgreement],
            S::FollowUp => vec![Step::RecordFollowUp],
            S::Referred => vec![Step::Close],
            S::Closed => vec![],
        }
    }

    /// Every organisation taking part, the responsible one first.
    pub fn organisations(&self) -> impl Iterator<Item = OrganisationId> + '_ {
        std::iter::once(self.responsible_org).chain(self.participating_orgs.iter().copied())
    }

    /// Open, or opened within the repeat window before `at`.
    pub fn is_recent(&self, at: Timestamp) -> bool {
        self.status != DisputeStatus::Closed
            || at - self.opened_at <= chrono::Duration::days(REPEAT_WINDOW_DAYS)
    }

    fn note(&mut self, at: Timestamp, actor: &str, change: DisputeChangeKind) {
        self.history.push(DisputeChange {
            at,
            actor: actor.to_owned(),
            status: self.status,
            change,
        });
    }

    /// Applies one change at `at` by `actor`: checked against the case and
    /// the transition table, then recorded in the history.
    pub fn apply(&mut self, op: DisputeOp, at: Timestamp, actor: &str) -> Result<(), DomainError> {
        match op {
            DisputeOp::LinkIncident(incident) => {
                self.link_incident(incident, at, actor);
                Ok(())
            }
            DisputeOp::Accept { mediators } => self.accept(mediators, at, actor),
            DisputeOp::PlanSession(planned) => self.plan_session(planned, at),
            DisputeOp::RecordSession(session) => self.record_session(session, actor),
            DisputeOp::DraftAgreement { facts, terms } => {
                self.draft_agreement(facts, terms, at, actor)
            }
            DisputeOp::Sign { party } => self.sign(party.trim(), at, actor),
            DisputeOp::Refer(to) => self.refer(to, at, actor),
            DisputeOp::Close { reason } => {
                if self.status == DisputeStatus::Referred {
                    return self.close_referred(at, actor);
                }
                let reason = reason.as_deref().map(str::trim).unwrap_or("");
                if reason.is_empty() {
                    return Err(DomainError::invalid(
                        "reason",
                        "say why the case is not for mediation",
                    ));
                }
                self.dismiss(reason, at, actor)
            }
            DisputeOp::RecordFollowUp { outcome, notes } => {
                self.record_follow_up(outcome, notes, at, actor)
            }
        }
    }

    fn become_(&mut self, to: DisputeStatus, at: Timestamp) -> Result<(), DomainError> {
        self.status = self.status.transition(to)?;
        match to {
            DisputeStatus::AgreementReached => self.resolved_at = Some(at),
            DisputeStatus::Closed => self.closed_at = Some(at),
            DisputeStatus::InMediation => {
                self.resolved_at = None;
                self.closed_at = None;
            }
            _ => {}
        }
        Ok(())
    }

    /// A later incident recurs this dispute: it is listed with the case.
    pub fn link_incident(&mut self, incident: IncidentId, at: Timestamp, actor: &str) {
        if !self.incident_ids.contains(&incident) {
            self.incident_ids.push(incident);
            self.note(
                at,
                actor,
                DisputeChangeKind::IncidentLinked {
                    incident_id: incident,
                },
            );
        }
    }

    /// The responsible organisation takes the case on, with its mediators.
    pub fn accept(
        &mut self,
        mediators: Vec<UserId>,
        at: Timestamp,
        actor: &str,
    ) -> Result<(), DomainError> {
        self.become_(DisputeStatus::Accepted, at)?;
        self.mediators = mediators.clone();
        self.note(at, actor, DisputeChangeKind::Accepted { mediators });
        Ok(())
    }

    /// Not a matter for mediation (withdrawn, out of scope).
    pub fn dismiss(&mut self, reason: &str, at: Timestamp, actor: &str) -> Result<(), DomainError> {
        self.become_(DisputeStatus::Closed, at)?;
        self.note(
            at,
            actor,
            DisputeChangeKind::Dismissed {
                reason: reason.to_owned(),
            },
        );
        Ok(())
    }

    /// Arranges a session ahead (the case must be accepted and not settled).
    pub fn plan_session(
        &mut self,
        planned: PlannedSession,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        if !matches!(
            self.status,
            DisputeStatus::Accepted | DisputeStatus::InMediation | DisputeStatus::MediationFailed
        ) {
            return Err(DomainError::invalid(
                "status",
                "sessions are arranged for an accepted case still being mediated",
            ));
        }
        if planned.at < now {
            return Err(DomainError::invalid(
                "at",
                "a session is arranged for a time to come",
            ));
        }
        let what = DisputeChangeKind::SessionPlanned {
            at: planned.at,
            venue: planned.venue,
        };
        let actor = planned.planned_by.clone();
        let at = planned.at;
        let index = self.planned_sessions.partition_point(|p| p.at <= at);
        self.planned_sessions.insert(index, planned);
        self.note(now, &actor, what);
        Ok(())
    }

    /// A mediation session took place. Its outcome moves the case on.
    pub fn record_session(
        &mut self,
        session: MediationSession,
        actor: &str,
    ) -> Result<(), DomainError> {
        if session.participants.is_empty() {
            return Err(DomainError::invalid(
                "participants",
                "a session has participants",
            ));
        }
        let at = session.at;
        if self.status != DisputeStatus::InMediation {
            self.become_(DisputeStatus::InMediation, at)?;
        }
        match session.outcome {
            SessionOutcome::Agreement => self.become_(DisputeStatus::AgreementReached, at)?,
            SessionOutcome::Failed => self.become_(DisputeStatus::MediationFailed, at)?,
            SessionOutcome::Continued => {}
        }
        let what = DisputeChangeKind::SessionRecorded {
            at,
            venue: session.venue,
            outcome: session.outcome,
        };
        // It fulfils the earliest planned session due by then (a day's grace).
        if let Some(first) = self.planned_sessions.first()
            && first.at <= at + chrono::Duration::days(1)
        {
            self.planned_sessions.remove(0);
        }
        self.sessions.push(session);
        self.note(at, actor, what);
        Ok(())
    }

    /// Writes the agreement the parties reached (not yet signed).
    pub fn draft_agreement(
        &mut self,
        facts: String,
        terms: Vec<String>,
        at: Timestamp,
        actor: &str,
    ) -> Result<(), DomainError> {
        if self.status != DisputeStatus::AgreementReached {
            return Err(DomainError::invalid(
                "status",
                "an agreement is written once the parties agreed at a session",
            ));
        }
        // An agreement signed before a relapse is replaced by the new one:
        // the status (agreement reached) is what makes drafting legal.
        let terms: Vec<String> = terms
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if terms.is_empty() || facts.trim().is_empty() {
            return Err(DomainError::invalid(
                "agreement",
                "an agreement states the facts and at least one term",
            ));
        }
        let count = terms.len();
        self.agreement = Some(Agreement {
            facts: facts.trim().to_owned(),
            terms,
            drafted_at: at,
            signatures: Vec::new(),
            signed_at: None,
        });
        self.note(
            at,
            actor,
            DisputeChangeKind::AgreementDrafted { terms: count },
        );
        Ok(())
    }

    /// Records a party's signature. When every party has signed, the
    /// agreement is in force and the follow-up visits are scheduled.
    pub fn sign(&mut self, party: &str, at: Timestamp, actor: &str) -> Result<(), DomainError> {
        let names: Vec<String> = self.parties.iter().map(|p| p.name.clone()).collect();
        let agreement = self
            .agreement
            .as_mut()
            .ok_or_else(|| DomainError::invalid("agreement", "there is no agreement to sign"))?;
        if agreement.signed_at.is_some() {
            return Err(DomainError::invalid(
                "agreement",
                "the agreement is already signed by every party",
            ));
        }
        if !names.iter().any(|n| n == party) {
            return Err(DomainError::invalid(
                "party",
                format!("{party} is not a party to this dispute"),
            ));
        }
        if agreement.signatures.iter().any(|s| s.party == party) {
            return Err(DomainError::invalid(
                "party",
                format!("{party} has already signed"),
            ));
        }
        agreement.signatures.push(Signature {
            party: party.to_owned(),
            signed_at: at,
        });
        let complete = names
            .iter()
            .all(|n| agreement.signatures.iter().any(|s| &s.party == n));
        if complete {
            agreement.signed_at = Some(at);
            self.follow_ups = follow_up_schedule(at)
                .into_iter()
                .map(|due_at| FollowUp {
                    due_at,
                    visited_at: None,
                    visited_by: None,
                    outcome: None,
                    notes: None,
                })
                .collect();
            self.become_(DisputeStatus::FollowUp, at)?;
        }
        self.note(
            at,
            actor,
            DisputeChangeKind::Signed {
                party: party.to_owned(),
                complete,
            },
        );
        Ok(())
    }

    /// Failed mediation goes to the court, the petition office or arbitration.
    pub fn refer(
        &mut self,
        referral: Referral,
        at: Timestamp,
        actor: &str,
    ) -> Result<(), DomainError> {
        self.become_(DisputeStatus::Referred, at)?;
        self.referral = Some(referral);
        self.note(at, actor, DisputeChangeKind::Referred { to: referral });
        Ok(())
    }

    /// A referred case is closed once handed on.
    pub fn close_referred(&mut self, at: Timestamp, actor: &str) -> Result<(), DomainError> {
        if self.status != DisputeStatus::Referred {
            return Err(DomainError::invalid(
                "status",
                "only a referred case is closed this way",
            ));
        }
        self.become_(DisputeStatus::Closed, at)?;
        self.note(at, actor, DisputeChangeKind::ClosedAfterReferral);
        Ok(())
    }

    /// The next follow-up visit not yet made, by index.
    pub fn next_follow_up(&self) -> Option<usize> {
        self.follow_ups.iter().position(|f| f.visited_at.is_none())
    }

    /// Records the next due visit. A relapse reopens the case; the last
    /// stable visit closes it.
    pub fn record_follow_up(
        &mut self,
        outcome: FollowUpOutcome,
        notes: Option<String>,
        at: Timestamp,
        visitor: &str,
    ) -> Result<(), DomainError> {
        if self.status != DisputeStatus::FollowUp {
            return Err(DomainError::invalid("status", "no follow-up visit is due"));
        }
        let next = self
            .next_follow_up()
            .ok_or_else(|| DomainError::invalid("follow_up", "every visit is already recorded"))?;
        let visit = &mut self.follow_ups[next];
        visit.visited_at = Some(at);
        visit.visited_by = Some(visitor.to_owned());
        visit.outcome = Some(outcome);
        visit.notes = notes;
        match outcome {
            FollowUpOutcome::Relapsed => {
                // The remaining visits are moot: the case is open again.
                self.follow_ups.retain(|f| f.visited_at.is_some());
                self.become_(DisputeStatus::InMediation, at)?;
                self.note(
                    at,
                    visitor,
                    DisputeChangeKind::FollowUpRecorded {
                        outcome,
                        closed: false,
                    },
                );
            }
            FollowUpOutcome::Stable if self.next_follow_up().is_none() => {
                self.become_(DisputeStatus::Closed, at)?;
                self.note(
                    at,
                    visitor,
                    DisputeChangeKind::FollowUpRecorded {
                        outcome,
                        closed: true,
                    },
                );
            }
            FollowUpOutcome::Stable => self.note(
                at,
                visitor,
                DisputeChangeKind::FollowUpRecorded {
                    outcome,
                    closed: false,
                },
            ),
        }
        Ok(())
    }
}

/// Whether `new` repeats an earlier dispute: at the same address, or between
/// the same parties (a shared name or phone), among those open or opened
/// within [`REPEAT_WINDOW_DAYS`] before `at`. Returns the facts and the ids.
pub fn repeat_facts(
    address: &str,
    parties: &[Party],
    earlier: &[Dispute],
    at: Timestamp,
) -> (bool, bool, Vec<DisputeId>) {
    let key = address_key(address);
    let mut at_address = false;
    let mut between_parties = false;
    let mut ids = Vec::new();
    for d in earlier.iter().filter(|d| d.is_recent(at)) {
        let same_address = !key.is_empty() && address_key(&d.address) == key;
        let same_party = parties
            .iter()
            .filter(|p| p.organisation.is_none())
            .any(|p| {
                d.parties.iter().any(|q| {
                    q.organisation.is_none()
                        && (q.name == p.name || (p.phone.is_some() && q.phone == p.phone))
                })
            });
        at_address |= same_address;
        between_parties |= same_party;
        if same_address || same_party {
            ids.push(d.id);
        }
    }
    (at_address, between_parties, ids)
}

/// The earlier cases `case` repeats (same address or people within the
/// window), among `others` as far as `visible` admits them: a repeat must
/// not reveal a case its reader may not see.
pub fn repeats_of(
    case: &Dispute,
    others: &[Dispute],
    visible: impl Fn(&Dispute) -> bool,
) -> Vec<DisputeId> {
    let earlier: Vec<Dispute> = others
        .iter()
        .filter(|o| o.id < case.id && visible(o))
        .cloned()
        .collect();
    repeat_facts(&case.address, &case.parties, &earlier, case.opened_at).2
}

/// The open or recent cases a new incident recurs: at the same address, or
/// its caller (by name or phone) is a party, within the repeat window.
pub fn recurred_by(incident: &crate::incident::Incident, disputes: &[Dispute]) -> Vec<DisputeId> {
    let caller: Vec<Party> = match (&incident.caller.name, &incident.caller.phone) {
        (None, None) => Vec::new(),
        (name, phone) => vec![Party {
            name: name.clone().unwrap_or_default(),
            phone: phone.clone(),
            vulnerable: false,
            organisation: None,
        }],
    };
    repeat_facts(&incident.address, &caller, disputes, incident.received_at).2
}

/// Days after an agreement at which follow-up visits are due.
pub const FOLLOW_UP_DAYS: [i64; 2] = [7, 30];

/// When follow-up visits are due after an agreement signed at `signed_at`.
pub fn follow_up_schedule(signed_at: Timestamp) -> Vec<Timestamp> {
    FOLLOW_UP_DAYS
        .iter()
        .map(|&d| signed_at + chrono::Duration::days(d))
        .collect()
}

/// Longest texts and longest lists a case takes, field by field: a case is
/// read whole by every list, so no field may grow it without bound.
pub mod limits {
    pub const SUMMARY: usize = 2_000;
    pub const ADDRESS: usize = 200;
    pub const NAME: usize = 100;
    pub const PHONE: usize = 30;
    pub const NOTES: usize = 5_000;
    pub const FACTS: usize = 5_000;
    pub const TERM: usize = 1_000;
    pub const REASON: usize = 500;
    pub const PARTIES: usize = 50;
    pub const PARTICIPANTS: usize = 100;
    pub const TERMS: usize = 50;
    pub const ORGANISATIONS: usize = 50;
    pub const MEDIATORS: usize = 20;
}

/// `invalid_field` naming a text over its limit.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), crate::DomainError> {
    let length = text.chars().count();
    if length > max {
        return Err(crate::DomainError::InvalidRecord {
            field: field.to_owned(),
            message: format!("{length} characters, at most {max}"),
            message_zh: format!("{field} 过长：{length} 个字符，最多 {max} 个"),
        });
    }
    Ok(())
}

/// `invalid_field` naming a list over its limit.
pub fn check_count(field: &str, count: usize, max: usize) -> Result<(), crate::DomainError> {
    if count > max {
        return Err(crate::DomainError::InvalidRecord {
            field: field.to_owned(),
            message: format!("{count} items, at most {max}"),
            message_zh: format!("{field} 过多：{count} 项，最多 {max} 项"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisputeStatus::*;

    #[test]
    fn transition_table_every_pair() {
        let legal: &[(DisputeStatus, &[DisputeStatus])] = &[
            (Registered, &[Accepted, Closed]),
            (Accepted, &[InMediation]),
            (InMediation, &[AgreementReached, MediationFailed]),
            (AgreementReached, &[FollowUp]),
            (MediationFailed, &[InMediation, Referred]),
            (Referred, &[Closed]),
            (FollowUp, &[Closed, InMediation]),
            (Closed, &[]),
        ];
        assert_eq!(legal.len(), DisputeStatus::ALL.len());
        for &(from, tos) in legal {
            for &to in DisputeStatus::ALL {
                assert_eq!(from.can_become(to), tos.contains(&to), "{from} -> {to}");
                assert_eq!(from.transition(to).is_ok(), tos.contains(&to));
            }
        }
        let error = Closed.transition(InMediation).unwrap_err();
        assert_eq!(
            error.to_string(),
            "illegal dispute transition from closed to in_mediation"
        );
    }

    /// Risk as data: (facts, level, reasons).
    #[test]
    fn risk_table() {
        let facts = |families: Vec<CategoryFamily>,
                     address: bool,
                     parties_again: bool,
                     parties: usize,
                     vulnerable: bool| RiskFacts {
            incident_families: families,
            repeat_at_address: address,
            repeat_between_parties: parties_again,
            parties,
            any_vulnerable_party: vulnerable,
        };
        use CategoryFamily::*;
        use RiskReason::*;
        let cases = [
            (
                facts(vec![Dispute], false, false, 2, false),
                RiskLevel::Low,
                vec![],
            ),
            (
                facts(vec![Criminal], false, false, 2, false),
                RiskLevel::High,
                vec![ViolenceInIncident],
            ),
            (
                facts(vec![DomesticViolence], false, false, 2, false),
                RiskLevel::High,
                vec![ViolenceInIncident],
            ),
            (
                facts(vec![], true, false, 2, false),
                RiskLevel::Medium,
                vec![RepeatAtAddress],
            ),
            (
                facts(vec![], false, true, 2, true),
                RiskLevel::High,
                vec![RepeatBetweenParties, VulnerableParty],
            ),
            (
                facts(vec![], false, false, 5, false),
                RiskLevel::Medium,
                vec![ManyParties],
            ),
            (
                facts(vec![], false, false, 4, false),
                RiskLevel::Low,
                vec![],
            ),
        ];
        for (facts, level, reasons) in cases {
            assert_eq!(assess_risk(&facts), (level, reasons), "{facts:?}");
        }
    }

    #[test]
    fn follow_ups_at_7_and_30_days() {
        use chrono::TimeZone;
        let signed = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap();
        let due = follow_up_schedule(signed);
        assert_eq!(
            due,
            [
                signed + chrono::Duration::days(7),
                signed + chrono::Duration::days(30)
            ]
        );
    }

    #[test]
    fn incidents_referred_to_mediation_map_to_dispute_categories() {
        use crate::incident::CategoryCode;
        let own = |code: &str, family| Category::new(CategoryCode::parse(code).unwrap(), family);
        let cases: [(Category, DisputeCategory); 6] = [
            (
                DefaultCategory::NeighbourNoiseDispute.into(),
                DisputeCategory::NeighbourNoise,
            ),
            (
                DefaultCategory::CommercialDebtDispute.into(),
                DisputeCategory::CommercialDebt,
            ),
            (
                DefaultCategory::FamilyDispute.into(),
                DisputeCategory::FamilyMarital,
            ),
            (DefaultCategory::FightAssault.into(), DisputeCategory::Other),
            // A station's own codes map by family.
            (
                own("jiabao-2", CategoryFamily::DomesticViolence),
                DisputeCategory::FamilyMarital,
            ),
            (
                own("linli", CategoryFamily::Dispute),
                DisputeCategory::Other,
            ),
        ];
        for (incident, dispute) in cases {
            assert_eq!(DisputeCategory::from_incident(&incident), dispute);
        }
    }

    fn t(hours: i64) -> Timestamp {
        use chrono::TimeZone;
        chrono::Utc.with_ymd_and_hms(2026, 11, 1, 1, 0, 0).unwrap() + chrono::Duration::hours(hours)
    }

    fn person(name: &str, phone: &str) -> Party {
        Party {
            name: name.into(),
            phone: Some(PhoneNumber::parse(phone).unwrap()),
            vulnerable: false,
            organisation: None,
        }
    }

    fn debt_case() -> Dispute {
        let new = NewDispute {
            source: DisputeSource::Incident,
            category: DisputeCategory::CommercialDebt,
            summary: " 供货商上门讨要货款 ".into(),
            address: "高桥皮具饰品城 A12".into(),
            location: None,
            community_id: None,
            incident_ids: vec![IncidentId(9)],
            parties: vec![person("张某", "13800000001"), person("刘某", "13800000002")],
            responsible_org: OrganisationId(2),
            participating_orgs: vec![
                OrganisationId(3),
                OrganisationId(2),
                OrganisationId(20),
                OrganisationId(3),
            ],
        };
        Dispute::open(new, RiskFacts::default(), t(0), "民警").unwrap()
    }

    fn session(outcome: SessionOutcome, at: Timestamp) -> MediationSession {
        MediationSession {
            at,
            venue: Venue::LegalServiceStation,
            participants: vec![Participant {
                name: "李律师".into(),
                role: "律师".into(),
                organisation_id: Some(OrganisationId(3)),
            }],
            notes: "双方陈述".into(),
            outcome,
            recorded_by: "司法所调解员".into(),
        }
    }

    #[test]
    fn opening_checks_and_normalises() {
        let case = debt_case();
        assert_eq!(case.status, Registered);
        assert_eq!(case.summary, "供货商上门讨要货款");
        assert_eq!(
            case.participating_orgs,
            [OrganisationId(3), OrganisationId(20)],
            "deduplicated, without the responsible one"
        );
        assert_eq!(
            case.organisations().collect::<Vec<_>>(),
            [OrganisationId(2), OrganisationId(3), OrganisationId(20)]
        );
        assert_eq!(case.risk, RiskLevel::Low);
        let mut bad = NewDispute {
            parties: vec![],
            ..debt_case_new()
        };
        assert!(Dispute::open(bad.clone(), RiskFacts::default(), t(0), "x").is_err());
        bad.parties = vec![person(" ", "13800000001")];
        assert!(Dispute::open(bad, RiskFacts::default(), t(0), "x").is_err());
    }

    fn debt_case_new() -> NewDispute {
        NewDispute {
            source: DisputeSource::WalkIn,
            category: DisputeCategory::Other,
            summary: "s".into(),
            address: String::new(),
            location: None,
            community_id: None,
            incident_ids: vec![],
            parties: vec![person("甲", "13800000003")],
            responsible_org: OrganisationId(1),
            participating_orgs: vec![],
        }
    }

    #[test]
    fn mediation_to_signed_agreement_to_closed_after_follow_ups() {
        let mut case = debt_case();
        assert!(
            case.draft_agreement("f".into(), vec!["t".into()], t(1), "x")
                .is_err(),
            "no agreement before a session"
        );
        case.accept(vec![UserId(5)], t(1), "司法所").unwrap();
        case.record_session(session(SessionOutcome::Continued, t(2)), "司法所")
            .unwrap();
        assert_eq!(case.status, InMediation);
        case.record_session(session(SessionOutcome::Agreement, t(5)), "司法所")
            .unwrap();
        assert_eq!(
            (case.status, case.resolved_at),
            (AgreementReached, Some(t(5)))
        );
        assert!(
            case.draft_agreement("欠款两万元".into(), vec![" ".into()], t(5), "x")
                .is_err(),
            "a term is needed"
        );
        case.draft_agreement(
            "刘某欠张某货款两万元".into(),
            vec!["十日内分两次付清".into()],
            t(5),
            "司法所",
        )
        .unwrap();
        assert!(case.sign("王某", t(6), "x").is_err(), "not a party");
        case.sign("张某", t(6), "司法所").unwrap();
        assert!(case.sign("张某", t(6), "x").is_err(), "signs once");
        assert_eq!(
            case.status, AgreementReached,
            "in force only when every party signed"
        );
        case.sign("刘某", t(6), "司法所").unwrap();
        assert_eq!(case.status, FollowUp);
        assert_eq!(case.agreement.as_ref().unwrap().signed_at, Some(t(6)));
        let due: Vec<_> = case.follow_ups.iter().map(|f| f.due_at).collect();
        assert_eq!(due, follow_up_schedule(t(6)));
        case.record_follow_up(FollowUpOutcome::Stable, None, t(24 * 7), "社区民警")
            .unwrap();
        assert_eq!(case.status, FollowUp);
        case.record_follow_up(
            FollowUpOutcome::Stable,
            Some("已付清".into()),
            t(24 * 30),
            "社区民警",
        )
        .unwrap();
        assert_eq!((case.status, case.closed_at), (Closed, Some(t(24 * 30))));
        assert!(
            case.record_follow_up(FollowUpOutcome::Stable, None, t(24 * 31), "x")
                .is_err()
        );
        let kinds: Vec<&str> = case.history.iter().map(|h| h.change.name()).collect();
        assert_eq!(kinds.first(), Some(&"registered"));
        assert_eq!(kinds.last(), Some(&"follow_up_recorded"));
        assert!(matches!(
            case.history.last().map(|h| &h.change),
            Some(DisputeChangeKind::FollowUpRecorded { closed: true, .. })
        ));
    }

    #[test]
    fn a_relapse_reopens_and_failure_is_referred() {
        let mut case = debt_case();
        case.accept(vec![], t(1), "x").unwrap();
        case.record_session(session(SessionOutcome::Agreement, t(2)), "x")
            .unwrap();
        case.draft_agreement("f".into(), vec!["t".into()], t(2), "x")
            .unwrap();
        case.sign("张某", t(2), "x").unwrap();
        case.sign("刘某", t(2), "x").unwrap();
        case.record_follow_up(
            FollowUpOutcome::Relapsed,
            Some("又吵起来了".into()),
            t(24 * 7),
            "网格员",
        )
        .unwrap();
        assert_eq!((case.status, case.resolved_at), (InMediation, None));
        assert_eq!(case.follow_ups.len(), 1, "the later visit is dropped");
        case.record_session(session(SessionOutcome::Failed, t(24 * 8)), "x")
            .unwrap();
        assert_eq!(case.status, MediationFailed);
        assert!(case.close_referred(t(24 * 8), "x").is_err());
        case.refer(Referral::Court, t(24 * 9), "x").unwrap();
        case.close_referred(t(24 * 10), "x").unwrap();
        assert_eq!(
            (case.status, case.referral),
            (Closed, Some(Referral::Court))
        );
        let mut other = debt_case();
        other.dismiss("撤回", t(1), "x").unwrap();
        assert!(
            other.accept(vec![], t(2), "x").is_err(),
            "closed stays closed"
        );
    }

    #[test]
    fn repeats_by_address_or_party_within_ninety_days() {
        let mut earlier = debt_case();
        earlier.id = DisputeId(1);
        earlier.dismiss("x", t(1), "x").unwrap();
        let at = |days: i64| t(24 * days);
        let other_party = [person("赵某", "13900000000")];
        // The same address, written with other spacing.
        assert_eq!(
            repeat_facts(
                "高桥皮具饰品城A12",
                &other_party,
                std::slice::from_ref(&earlier),
                at(30)
            ),
            (true, false, vec![DisputeId(1)])
        );
        // The same person by phone, elsewhere.
        let same_phone = [person("张先生", "138 0000 0001")];
        assert_eq!(
            repeat_facts("别处", &same_phone, std::slice::from_ref(&earlier), at(30)),
            (false, true, vec![DisputeId(1)])
        );
        // A closed case older than 90 days is not a repeat; an open one always is.
        assert_eq!(
            repeat_facts(
                "高桥皮具饰品城A12",
                &other_party,
                std::slice::from_ref(&earlier),
                at(91)
            ),
            (false, false, vec![])
        );
        let mut open = debt_case();
        open.id = DisputeId(2);
        assert!(repeat_facts("高桥皮具饰品城A12", &other_party, &[open], at(400)).0);
    }

    #[test]
    fn sessions_are_planned_ahead_and_fulfilled_when_held() {
        let mut case = debt_case();
        let plan = |at| PlannedSession {
            at,
            venue: Venue::LegalServiceStation,
            organisations: vec![OrganisationId(2), OrganisationId(3)],
            notes: "三方到场".into(),
            planned_by: "司法所".into(),
        };
        assert!(case.plan_session(plan(t(3)), t(1)).is_err(), "accept first");
        case.accept(vec![], t(1), "司法所").unwrap();
        assert!(
            case.plan_session(plan(t(0)), t(1)).is_err(),
            "not in the past"
        );
        case.plan_session(plan(t(48)), t(1)).unwrap();
        case.plan_session(plan(t(3)), t(1)).unwrap();
        let times: Vec<_> = case.planned_sessions.iter().map(|p| p.at).collect();
        assert_eq!(times, [t(3), t(48)], "earliest first");
        case.record_session(session(SessionOutcome::Continued, t(4)), "司法所")
            .unwrap();
        let times: Vec<_> = case.planned_sessions.iter().map(|p| p.at).collect();
        assert_eq!(times, [t(48)], "the held session took the first off");
    }
}
