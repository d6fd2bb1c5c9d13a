//! The names every instance agrees on: the writers' advisory lock and the
//! notification channel. A leaf: the writer, the intake and the publisher
//! all use it.

/// Advisory lock key every writer holds while its batch commits ("PRCTWRIT").
pub(crate) const WRITE_LOCK: i64 = 0x5052_4354_5752_4954;
/// The notification channel carrying the newest committed event id.
pub(crate) const EVENTS_CHANNEL: &str = "precinct_events";
/// The notification channel carrying committed positions (see
/// `publisher::positions_payloads`).
pub(crate) const POSITIONS_CHANNEL: &str = "precinct_positions";
