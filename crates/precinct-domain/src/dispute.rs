//! Disputes (矛盾纠纷) and their mediation across agencies: who takes part,
//! the one table of legal lifecycle changes, how risky a case is and why,
//! and when to visit after an agreement (回访).
//!
//! Storage and the API build on these types; nothing here does I/O.

use crate::Timestamp;
use crate::error::{DomainError, Entity};
use crate::incident::{Category, CategoryFamily, PhoneNumber};
use crate::text::string_enum;

string_enum! {
    /// Bodies that take part in mediation (三所一庭, the property council, …).
    pub enum OrganisationKind {
        PoliceStation = "police_station",
        JudicialOffice = "judicial_office",
        LawFirm = "law_firm",
        Court = "court",
        ResidentsCommittee = "residents_committee",
        PetitionOffice = "petition_office",
        PropertyCompany = "property_company",
        MarketManagement = "market_management",
        OwnersCommittee = "owners_committee",
        Other = "other",
    }
}

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
    pub fn from_incident(category: Category) -> DisputeCategory {
        match category {
            Category::NeighbourNoiseDispute => DisputeCategory::NeighbourNoise,
            Category::FamilyDispute | Category::DomesticViolence => DisputeCategory::FamilyMarital,
            Category::CommercialDebtDispute => DisputeCategory::CommercialDebt,
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
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    pub name: String,
    pub phone: Option<PhoneNumber>,
    /// Elderly, minor, disabled, pregnant … (raises the risk).
    pub vulnerable: bool,
    /// Set when the party is an organisation rather than a person.
    pub organisation: Option<OrganisationKind>,
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

/// Days after an agreement at which follow-up visits are due.
pub const FOLLOW_UP_DAYS: [i64; 2] = [7, 30];

/// When follow-up visits are due after an agreement signed at `signed_at`.
pub fn follow_up_schedule(signed_at: Timestamp) -> Vec<Timestamp> {
    FOLLOW_UP_DAYS
        .iter()
        .map(|&d| signed_at + chrono::Duration::days(d))
        .collect()
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
        let cases = [
            (
                Category::NeighbourNoiseDispute,
                DisputeCategory::NeighbourNoise,
            ),
            (
                Category::CommercialDebtDispute,
                DisputeCategory::CommercialDebt,
            ),
            (Category::FamilyDispute, DisputeCategory::FamilyMarital),
            (Category::FightAssault, DisputeCategory::Other),
        ];
        for (incident, dispute) in cases {
            assert_eq!(DisputeCategory::from_incident(incident), dispute);
        }
    }
}
