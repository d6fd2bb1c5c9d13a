//! Duty (有警出警，无警巡逻): who is on shift, and the rules a rota must
//! keep. A shift is one unit's span of duty, at a post or not; a rota is a
//! station's shifts over a period. The rules are data: [`check_rota`] lists
//! every problem of a rota (a span that ends before it starts or is too
//! long, a unit on two shifts at once, an hour a post is left uncovered)
//! and [`on_duty`] and [`next_shift`] answer who works when.

use crate::Timestamp;
use crate::ids::{PostId, UnitId};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// The longest one shift may be (a day and a night).
pub const MAX_SHIFT_HOURS: i64 = 24;

/// One unit's span of duty, [starts_at, ends_at).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub unit_id: UnitId,
    /// The post it works from, if any (patrols start there).
    pub post_id: Option<PostId>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// What the rota calls it ("白班", "夜市周末"), free text.
    pub label: String,
}

impl Shift {
    /// Whether `at` falls inside the shift.
    pub fn covers(&self, at: Timestamp) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    fn overlaps(&self, other: &Shift) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }
}

/// What is wrong with a rota, each naming the shifts by their index in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RotaProblem {
    /// The shift ends at or before it starts.
    EmptySpan { shift: usize },
    /// Longer than [`MAX_SHIFT_HOURS`].
    TooLong { shift: usize, hours: i64 },
    /// One unit on two shifts at the same time.
    Overlap {
        unit_id: UnitId,
        first: usize,
        second: usize,
    },
    /// A post with no one on shift over [from, until) inside the period
    /// the rota is checked over.
    Uncovered {
        post_id: PostId,
        from: Timestamp,
        until: Timestamp,
    },
}

/// Every problem of `shifts` (spans, overlaps), and, for each post in
/// `posts`, the stretches of [from, until) no shift at it covers. Problems
/// come in a stable order: spans, then overlaps, then gaps, each by shift
/// index or post.
pub fn check_rota(
    shifts: &[Shift],
    posts: &[PostId],
    from: Timestamp,
    until: Timestamp,
) -> Vec<RotaProblem> {
    let mut problems = Vec::new();
    for (k, s) in shifts.iter().enumerate() {
        if s.ends_at <= s.starts_at {
            problems.push(RotaProblem::EmptySpan { shift: k });
        } else if s.ends_at - s.starts_at > TimeDelta::hours(MAX_SHIFT_HOURS) {
            problems.push(RotaProblem::TooLong {
                shift: k,
                hours: (s.ends_at - s.starts_at).num_hours(),
            });
        }
    }
    // Overlaps: each unit's shifts in time order, each against the ones
    // after it that start before it ends.
    let mut order: Vec<usize> = (0..shifts.len())
        .filter(|&k| shifts[k].starts_at < shifts[k].ends_at)
        .collect();
    order.sort_by_key(|&k| (shifts[k].unit_id, shifts[k].starts_at, k));
    for (i, &a) in order.iter().enumerate() {
        for &b in &order[i + 1..] {
            if shifts[b].unit_id != shifts[a].unit_id || shifts[b].starts_at >= shifts[a].ends_at {
                break;
            }
            if shifts[a].overlaps(&shifts[b]) {
                let (first, second) = (a.min(b), a.max(b));
                problems.push(RotaProblem::Overlap {
                    unit_id: shifts[a].unit_id,
                    first,
                    second,
                });
            }
        }
    }
    problems.sort_by_key(|p| match p {
        RotaProblem::EmptySpan { shift } | RotaProblem::TooLong { shift, .. } => (0, *shift, 0),
        RotaProblem::Overlap { first, second, .. } => (1, *first, *second),
        RotaProblem::Uncovered { .. } => (2, 0, 0),
    });
    // Gaps: per post, the covered spans merged, and what of the period is left.
    for &post in posts {
        let mut spans: Vec<(Timestamp, Timestamp)> = shifts
            .iter()
            .filter(|s| s.post_id == Some(post) && s.starts_at < s.ends_at)
            .map(|s| (s.starts_at.max(from), s.ends_at.min(until)))
            .filter(|(a, b)| a < b)
            .collect();
        spans.sort();
        let mut cursor = from;
        for (a, b) in spans {
            if a > cursor {
                problems.push(RotaProblem::Uncovered {
                    post_id: post,
                    from: cursor,
                    until: a,
                });
            }
            cursor = cursor.max(b);
        }
        if cursor < until {
            problems.push(RotaProblem::Uncovered {
                post_id: post,
                from: cursor,
                until,
            });
        }
    }
    problems
}

/// Whether `unit` is on a shift at `at`.
pub fn on_duty(shifts: &[Shift], unit: UnitId, at: Timestamp) -> bool {
    shifts.iter().any(|s| s.unit_id == unit && s.covers(at))
}

/// The unit's shift going on at `at`, or else its next one.
pub fn next_shift(shifts: &[Shift], unit: UnitId, at: Timestamp) -> Option<&Shift> {
    shifts
        .iter()
        .filter(|s| s.unit_id == unit && s.ends_at > at && s.starts_at < s.ends_at)
        .min_by_key(|s| s.starts_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_796_688_000 + hour * 3600, 0).unwrap()
    }

    fn shift(unit: i64, post: Option<i64>, from: i64, until: i64) -> Shift {
        Shift {
            unit_id: UnitId(unit),
            post_id: post.map(PostId),
            starts_at: at(from),
            ends_at: at(until),
            label: String::new(),
        }
    }

    /// A case: what it shows, the rota, the posts and hours it is checked
    /// over, and exactly the problems it must report.
    type Case = (
        &'static str,
        Vec<Shift>,
        Vec<i64>,
        (i64, i64),
        Vec<RotaProblem>,
    );

    /// Rota rules as data.
    #[test]
    fn rota_rules_as_data() {
        let cases: Vec<Case> = vec![
            (
                "day and night at one post cover the day",
                vec![shift(1, Some(7), 0, 12), shift(2, Some(7), 12, 24)],
                vec![7],
                (0, 24),
                vec![],
            ),
            (
                "a unit on two shifts at once",
                vec![shift(1, Some(7), 0, 12), shift(1, None, 10, 14)],
                vec![],
                (0, 24),
                vec![RotaProblem::Overlap {
                    unit_id: UnitId(1),
                    first: 0,
                    second: 1,
                }],
            ),
            (
                "back to back is no overlap; two units may share an hour",
                vec![
                    shift(1, Some(7), 0, 8),
                    shift(1, Some(7), 8, 16),
                    shift(2, Some(7), 4, 20),
                ],
                vec![],
                (0, 24),
                vec![],
            ),
            (
                "a shift that ends before it starts, and one too long",
                vec![shift(1, None, 10, 8), shift(2, None, 0, 30)],
                vec![],
                (0, 24),
                vec![
                    RotaProblem::EmptySpan { shift: 0 },
                    RotaProblem::TooLong {
                        shift: 1,
                        hours: 30,
                    },
                ],
            ),
            (
                "a post left uncovered at night and at the start",
                vec![shift(1, Some(7), 2, 12), shift(2, Some(7), 11, 20)],
                vec![7],
                (0, 24),
                vec![
                    RotaProblem::Uncovered {
                        post_id: PostId(7),
                        from: at(0),
                        until: at(2),
                    },
                    RotaProblem::Uncovered {
                        post_id: PostId(7),
                        from: at(20),
                        until: at(24),
                    },
                ],
            ),
            (
                "a third overlapping shift is named against each",
                vec![
                    shift(3, None, 0, 10),
                    shift(3, None, 5, 15),
                    shift(3, None, 8, 9),
                ],
                vec![],
                (0, 24),
                vec![
                    RotaProblem::Overlap {
                        unit_id: UnitId(3),
                        first: 0,
                        second: 1,
                    },
                    RotaProblem::Overlap {
                        unit_id: UnitId(3),
                        first: 0,
                        second: 2,
                    },
                    RotaProblem::Overlap {
                        unit_id: UnitId(3),
                        first: 1,
                        second: 2,
                    },
                ],
            ),
        ];
        for (name, shifts, posts, (from, until), expected) in cases {
            let posts: Vec<PostId> = posts.into_iter().map(PostId).collect();
            assert_eq!(
                check_rota(&shifts, &posts, at(from), at(until)),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn who_is_on_duty_now_and_next() {
        let shifts = vec![shift(1, None, 8, 16), shift(1, None, 20, 28)];
        assert!(on_duty(&shifts, UnitId(1), at(8)));
        assert!(
            !on_duty(&shifts, UnitId(1), at(16)),
            "the end is not inside"
        );
        assert!(!on_duty(&shifts, UnitId(2), at(10)));
        assert_eq!(next_shift(&shifts, UnitId(1), at(10)), Some(&shifts[0]));
        assert_eq!(next_shift(&shifts, UnitId(1), at(17)), Some(&shifts[1]));
        assert_eq!(next_shift(&shifts, UnitId(1), at(30)), None);
    }
}
