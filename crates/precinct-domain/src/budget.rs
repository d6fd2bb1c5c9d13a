//! Work that may be stopped: long checks (a station package's shapes, a
//! spreadsheet's cells) ask a [`Budget`] now and then whether to go on, and
//! stop early when it is spent. Whoever set the budget (the API: a deadline,
//! and the client still waiting) then refuses the whole answer, so work cut
//! short is never taken for a finished check.

/// Asked between steps of long work: true when it should stop.
pub trait Budget: Sync {
    fn exhausted(&self) -> bool;
}

/// A budget that is never spent (the CLI, tests, the demo).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl Budget for Unlimited {
    fn exhausted(&self) -> bool {
        false
    }
}
