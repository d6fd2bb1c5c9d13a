//! The station's response figures, with their definitions. Computed from
//! incidents alone, so any period, zone or community is a filter away.

use crate::incident::{Disposition, Incident, IncidentStatus};

/// Summary statistics of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Durations {
    /// Nearest-rank percentiles over the given seconds.
    pub fn of(mut seconds: Vec<i64>) -> Durations {
        seconds.sort_unstable();
        let count = seconds.len();
        let rank = |p: f64| {
            seconds
                .get(((p * count as f64).ceil() as usize).clamp(1, count.max(1)) - 1)
                .map(|&s| s as f64)
        };
        Durations {
            count,
            mean: (count > 0).then(|| seconds.iter().sum::<i64>() as f64 / count as f64),
            median: rank(0.5),
            p90: rank(0.9),
        }
    }
}

/// Response figures over a set of incidents.
///
/// Definitions:
/// - `incidents`: reported in the period, merged duplicates excluded (one
///   event counts once, 双接警).
/// - `police_response`: for incidents a police unit reached, seconds from
///   the report (the 110 instruction) to the first police unit on scene
///   (出警速度).
/// - `first_response`: for incidents a helper reached, seconds from the
///   report to the first volunteer, security-force or property team on
///   scene (先期处置).
/// - `on_scene_resolution_rate`: among closed incidents, the share closed as
///   resolved on scene (现场警情处置率); None when none is closed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFigures {
    pub incidents: usize,
    pub dispatched: usize,
    pub closed: usize,
    pub police_response: Durations,
    pub first_response: Durations,
    pub on_scene_resolution_rate: Option<f64>,
}

impl ResponseFigures {
    pub fn of(incidents: &[Incident]) -> ResponseFigures {
        let counted: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.merged_into.is_none())
            .collect();
        let closed: Vec<&&Incident> = counted
            .iter()
            .filter(|i| i.status == IncidentStatus::Closed)
            .collect();
        let resolved = closed
            .iter()
            .filter(|i| i.disposition == Some(Disposition::ResolvedOnScene))
            .count();
        ResponseFigures {
            incidents: counted.len(),
            dispatched: counted.iter().filter(|i| i.dispatched_at.is_some()).count(),
            closed: closed.len(),
            police_response: Durations::of(
                counted
                    .iter()
                    .filter_map(|i| i.police_response_seconds())
                    .collect(),
            ),
            first_response: Durations::of(
                counted
                    .iter()
                    .filter_map(|i| i.first_response_seconds())
                    .collect(),
            ),
            on_scene_resolution_rate: (!closed.is_empty())
                .then(|| resolved as f64 / closed.len() as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (count, mean, median, p90)
    type Expected = (usize, Option<f64>, Option<f64>, Option<f64>);

    /// Durations as data: (seconds, expected).
    #[test]
    fn durations_table() {
        let cases: Vec<(Vec<i64>, Expected)> = vec![
            (vec![], (0, None, None, None)),
            (vec![300], (1, Some(300.0), Some(300.0), Some(300.0))),
            (
                vec![600, 180, 360],
                (3, Some(380.0), Some(360.0), Some(600.0)),
            ),
            (
                (1..=10).map(|m| m * 60).collect(),
                (10, Some(330.0), Some(300.0), Some(540.0)),
            ),
        ];
        for (seconds, expected) in cases {
            let d = Durations::of(seconds.clone());
            assert_eq!((d.count, d.mean, d.median, d.p90), expected, "{seconds:?}");
        }
    }
}
