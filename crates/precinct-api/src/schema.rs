//! Schemas of wire fields whose values come from a fixed set: the OpenAPI
//! document lists them as enums, read from the domain's own lists (each
//! `string_enum!`'s `ALL`), so a value added in the domain appears in the
//! document by itself. Used with `#[schema(schema_with = …)]`.

use precinct_domain::dispute::{
    DisputeCategory, DisputeSource, DisputeStatus, FollowUpOutcome, OrganisationKind, Referral,
    RiskLevel, RiskReason, SessionOutcome, Step, Venue,
};
use precinct_domain::incident::{CategoryFamily, Disposition, IncidentStatus, IntakeSource};
use precinct_domain::policy::Action;
use precinct_domain::unit::{Capability, UnitKind, UnitStatus};
use precinct_domain::user::Role;
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Array, Object};

pub(crate) fn one_of(values: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

/// The same, or null.
pub(crate) fn one_of_or_null(values: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            values
                .into_iter()
                .map(Value::from)
                .chain(std::iter::once(Value::Null)),
        ))
        .build()
}

pub(crate) fn list_of(values: impl IntoIterator<Item = &'static str>) -> Array {
    ArrayBuilder::new().items(one_of(values)).build()
}

macro_rules! enum_schemas {
    ($($name:ident, $or_null:ident, $list:ident => $values:expr;)*) => {
        $(
            #[allow(dead_code)]
            pub(crate) fn $name() -> utoipa::openapi::Object {
                $crate::schema::one_of($values)
            }
            #[allow(dead_code)]
            pub(crate) fn $or_null() -> utoipa::openapi::Object {
                $crate::schema::one_of_or_null($values)
            }
            #[allow(dead_code)]
            pub(crate) fn $list() -> utoipa::openapi::Array {
                $crate::schema::list_of($values)
            }
        )*
    };
}
pub(crate) use enum_schemas;

enum_schemas! {
    role, role_or_null, roles => Role::ALL.iter().map(|v| v.as_str());
    incident_source, incident_source_or_null, incident_sources => IntakeSource::ALL.iter().map(|v| v.as_str());
    incident_status, incident_status_or_null, incident_statuses => IncidentStatus::ALL.iter().map(|v| v.as_str());
    disposition, disposition_or_null, dispositions => Disposition::ALL.iter().map(|v| v.as_str());
    family, family_or_null, families => CategoryFamily::ALL.iter().map(|v| v.as_str());
    unit_kind, unit_kind_or_null, unit_kinds => UnitKind::ALL.iter().map(|v| v.as_str());
    unit_status, unit_status_or_null, unit_statuses => UnitStatus::ALL.iter().map(|v| v.as_str());
    capability, capability_or_null, capabilities => Capability::ALL.iter().map(|v| v.as_str());
    datum, datum_or_null, datums => ["wgs84", "gcj02"];
    organisation_kind, organisation_kind_or_null, organisation_kinds => OrganisationKind::ALL.iter().map(|v| v.as_str());
    dispute_category, dispute_category_or_null, dispute_categories => DisputeCategory::ALL.iter().map(|v| v.as_str());
    dispute_source, dispute_source_or_null, dispute_sources => DisputeSource::ALL.iter().map(|v| v.as_str());
    dispute_status, dispute_status_or_null, dispute_statuses => DisputeStatus::ALL.iter().map(|v| v.as_str());
    referral, referral_or_null, referrals => Referral::ALL.iter().map(|v| v.as_str());
    venue, venue_or_null, venues => Venue::ALL.iter().map(|v| v.as_str());
    follow_up_outcome, follow_up_outcome_or_null, follow_up_outcomes => FollowUpOutcome::ALL.iter().map(|v| v.as_str());
    risk_level, risk_level_or_null, risk_levels => RiskLevel::ALL.iter().map(|v| v.as_str());
    risk_reason, risk_reason_or_null, risk_reasons => RiskReason::ALL.iter().map(|v| v.as_str());
    session_outcome, session_outcome_or_null, session_outcomes => SessionOutcome::ALL.iter().map(|v| v.as_str());
    action, action_or_null, actions => Action::ALL.iter().map(|v| v.as_str());
    contiguity, contiguity_or_null, contiguities => ["queen", "rook", "distance_band"];
    kernel, kernel_or_null, kernels => ["quartic", "gaussian"];
    station_figure_key, station_figure_key_or_null, station_figure_keys => precinct_domain::figures::StationFigureKey::ALL.iter().map(|v| v.as_str());
    figure_unit, figure_unit_or_null, figure_units => ["count", "seconds", "rate"];
}

/// Each value once, in order.
fn distinct(values: impl IntoIterator<Item = &'static str>) -> Vec<&'static str> {
    let mut seen = Vec::new();
    for value in values {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

/// A status filter of incidents: `open`, `closed`, `all` or one status.
pub(crate) fn incident_status_filter() -> Object {
    one_of(distinct(
        ["open", "closed", "all"]
            .into_iter()
            .chain(IncidentStatus::ALL.iter().map(|v| v.as_str())),
    ))
}

/// A status filter of disputes: `open`, `all` or one status.
pub(crate) fn dispute_status_filter() -> Object {
    one_of(distinct(
        ["open", "all"]
            .into_iter()
            .chain(DisputeStatus::ALL.iter().map(|v| v.as_str())),
    ))
}

/// What a user may do on a case, by operation id.
pub(crate) fn case_actions() -> Array {
    list_of(
        ["get_dispute"]
            .into_iter()
            .chain(Step::ALL.iter().map(|s| s.as_str()))
            .chain(["print_agreement"]),
    )
}

/// A list of capabilities, or null (left as it is).
pub(crate) fn capabilities_or_null() -> Array {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(one_of(Capability::ALL.iter().map(|v| v.as_str())))
        .build()
}
