//! The demo: a generated district that resembles the station's ground, and a
//! live simulator that plays the callers and the field units.
//!
//! Both are deterministic for a seed: the same seed gives the same streets,
//! units and incident stream (given the same clock).

pub mod clock;
pub mod disputes;
pub mod district;
pub mod history;
pub mod simulator;

pub use clock::{DemoClock, ScaledClock};
pub use district::{DemoAccount, District, generate};
pub use simulator::{Simulator, SimulatorConfig};
