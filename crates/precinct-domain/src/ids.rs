//! Typed identifiers, so a unit id can never be passed where an incident id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    ZoneId,
    CommunityId,
    GridCellId,
    PostId,
    PlaceId,
    PropertyCompanyId,
    CameraId,
    UnitId,
    IncidentId,
    UserId,
    EventId,
    OrganisationId,
    DisputeId,
);
