//! Precinct's domain: the station's ground, its units, incidents, users and
//! the events that record every change, with the one table of legal
//! transitions for each lifecycle.
//!
//! Architecture invariant: this crate does no I/O and depends on no database,
//! HTTP or async crate. Everything here is a value or a pure function, so it
//! cannot fail for any reason but the rules themselves.

mod text;

pub mod address;
pub mod budget;
pub mod category;
pub mod dispute;
pub mod duty;
pub mod error;
pub mod event;
pub mod figures;
pub mod ground;
pub mod history;
pub mod ids;
pub mod incident;
pub mod personal;
pub mod photo;
pub mod plan;
pub mod policy;
pub mod recommend;
pub mod station;
pub mod unit;
pub mod user;

pub use error::DomainError;
pub use precinct_geo::{Coordinates, Datum, Polygon};

/// Time in UTC; the station's own zone is applied only when showing it.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
