//! A clock that can run faster than real time, for the demo's `--speed`.

use precinct_domain::Timestamp;
use precinct_storage::Clock;
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

#[cfg(test)]
mod tests {
    use super::*;

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
