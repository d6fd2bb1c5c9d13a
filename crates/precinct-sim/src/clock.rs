//! Clocks for the demo: one that can run faster than real time (`--speed`),
//! and one that first stands at times a warm-up sets, so the simulator can
//! play the hours before the demo starts.

use precinct_domain::Timestamp;
use precinct_storage::Clock;
use std::sync::RwLock;
use std::time::Instant;

/// Starts at `origin` and advances `speed` simulated seconds per real second.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    origin: Timestamp,
    started: Instant,
    speed: f64,
}

impl ScaledClock {
    pub fn new(origin: Timestamp, speed: f64) -> ScaledClock {
        ScaledClock {
            origin,
            started: Instant::now(),
            speed: speed.max(0.0),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        self.origin + chrono::Duration::microseconds((elapsed * 1e6) as i64)
    }

    fn speed(&self) -> f64 {
        self.speed
    }
}

/// The demo's clock. While the demo warms up it stands at whatever time the
/// warm-up has reached ([`DemoClock::set`]), so everything written meanwhile
/// is stamped with that past time. From [`DemoClock::go_live`] on it runs from
/// the real time of that moment, `speed` simulated seconds per real second,
/// and never goes back.
#[derive(Debug)]
pub struct DemoClock {
    phase: RwLock<Phase>,
    speed: f64,
}

#[derive(Debug)]
enum Phase {
    WarmingUp(Timestamp),
    Live(ScaledClock),
}

impl DemoClock {
    /// A clock standing at `at` until it goes live.
    pub fn warming_up(at: Timestamp, speed: f64) -> DemoClock {
        DemoClock {
            phase: RwLock::new(Phase::WarmingUp(at)),
            speed: speed.max(0.0),
        }
    }

    /// A clock running from now.
    pub fn live(speed: f64) -> DemoClock {
        let clock = DemoClock::warming_up(chrono::Utc::now(), speed);
        clock.go_live();
        clock
    }

    /// Moves a warming-up clock to `at`; a live clock is not moved.
    pub fn set(&self, at: Timestamp) {
        let mut phase = self.phase.write().unwrap_or_else(|e| e.into_inner());
        if let Phase::WarmingUp(_) = *phase {
            *phase = Phase::WarmingUp(at);
        }
    }

    /// Starts running from the real time now (or from where the warm-up
    /// stood, if that is later).
    pub fn go_live(&self) {
        let mut phase = self.phase.write().unwrap_or_else(|e| e.into_inner());
        if let Phase::WarmingUp(at) = *phase {
            *phase = Phase::Live(ScaledClock::new(at.max(chrono::Utc::now()), self.speed));
        }
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Timestamp {
        match &*self.phase.read().unwrap_or_else(|e| e.into_inner()) {
            Phase::WarmingUp(at) => *at,
            Phase::Live(clock) => clock.now(),
        }
    }

    fn speed(&self) -> f64 {
        self.speed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_clock_stands_while_warming_up_then_runs_from_now() {
        let start = chrono::Utc::now() - chrono::Duration::hours(4);
        let clock = DemoClock::warming_up(start, 60.0);
        assert_eq!(clock.now(), start);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(clock.now(), start, "it stands until set");
        let later = start + chrono::Duration::hours(2);
        clock.set(later);
        assert_eq!(clock.now(), later);

        let before = chrono::Utc::now();
        clock.go_live();
        let live = clock.now();
        assert!(live >= before, "live time starts from the real time now");
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            (clock.now() - live).num_milliseconds() >= 3000,
            "50 ms at 60x is at least 3 s"
        );
        clock.set(start);
        assert!(clock.now() >= live, "a live clock is not set back");
        assert_eq!(clock.speed(), 60.0);
    }

    #[test]
    fn runs_faster_than_real_time() {
        let origin = chrono::Utc::now();
        let clock = ScaledClock::new(origin, 60.0);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let simulated = (clock.now() - origin).num_milliseconds();
        assert!(
            simulated >= 3000,
            "50 ms at 60x should be ≥3 s, got {simulated} ms"
        );
        assert_eq!(clock.speed(), 60.0, "the console reads it to age incidents");
    }
}
