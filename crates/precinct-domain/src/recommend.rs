//! Recommendation (`recommend_response`): a response plan filled with
//! concrete units, each ranked by travel time over the road network from
//! where it was last seen, and each explaining why it is there.

use crate::Timestamp;
use crate::ground::Jurisdiction;
use crate::ids::{IncidentId, PropertyCompanyId, UnitId};
use crate::incident::{Incident, Priority};
use crate::plan::{ForceRequirement, ForceRole, ResponsePlan, TravelMode};
use crate::unit::{Unit, UnitKind, UnitStatus};
use precinct_geo::roads::{Closures, Profile, RoadNetwork, SearchScratch, WALKING_SPEED_M_S};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Speed assumed to get a car from where it stands onto its snapped road node.
const ONTO_ROAD_DRIVING_M_S: f64 = 4.2;
/// Detour factor for a straight line when there is no road network.
const STRAIGHT_LINE_DETOUR: f64 = 1.3;
/// A managing company counts when one of its places is this close.
const MANAGED_PLACE_RADIUS_M: f64 = 150.0;
/// Alternatives shown beyond what the plan asks for.
const ALTERNATIVES: usize = 3;
/// A unit from another zone ranks as if this many seconds farther: each
/// zone answers for its own ground unless a neighbour is clearly nearer.
pub const OTHER_ZONE_PENALTY_S: f64 = 120.0;

/// What a recommendation needs besides the incident and its plan.
#[derive(Debug)]
pub struct RecommendContext<'a> {
    pub ground: &'a Jurisdiction,
    pub network: &'a RoadNetwork,
    pub closures: &'a Closures,
    pub now: Timestamp,
    /// How old a position may be, by the unit's kind, before it is stale.
    pub stale_after: &'a crate::unit::StaleLimits,
    /// The priority of each open incident, to judge diversions.
    pub open_priorities: &'a HashMap<IncidentId, Priority>,
}

/// Why a unit is proposed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// Free, ranked by travel time.
    Available,
    /// Working a lower-priority incident; proposed because this one is priority 1.
    Diversion {
        from: IncidentId,
        priority: Priority,
    },
}

/// One proposed unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub unit_id: UnitId,
    pub eta_seconds: f64,
    pub road_distance_m: f64,
    pub travel: TravelMode,
    /// Straight-line estimate: the station has no road network, or the unit
    /// or the incident is off it.
    pub estimated: bool,
    /// Minutes since the position was reported, when older than allowed.
    pub stale_minutes: Option<i64>,
    /// The unit belongs to another zone than the incident's.
    pub other_zone: bool,
    pub why: Why,
}

impl Candidate {
    /// What the ranking compares: the ETA, plus the other-zone penalty.
    pub fn ranking_seconds(&self) -> f64 {
        self.eta_seconds
            + if self.other_zone {
                OTHER_ZONE_PENALTY_S
            } else {
                0.0
            }
    }
}

/// One line of the plan, filled.
#[derive(Debug, Clone, PartialEq)]
pub struct FilledForce {
    pub requirement: ForceRequirement,
    /// Units already working the incident that fill this force (sent
    /// earlier): they count toward `requirement.count`.
    pub already: Vec<UnitId>,
    /// Best first; the first `needed()` of them are proposed.
    pub candidates: Vec<Candidate>,
    /// Why fewer than still needed were found, if so.
    pub shortfall: Option<&'static str>,
}

impl FilledForce {
    /// How many more units this force needs.
    pub fn needed(&self) -> usize {
        (self.requirement.count as usize).saturating_sub(self.already.len())
    }

    pub fn proposed(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().take(self.needed())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub plan: String,
    pub coordinated: bool,
    pub forces: Vec<FilledForce>,
}

impl Recommendation {
    /// Every unit the plan proposes, in force order.
    pub fn proposed_units(&self) -> Vec<UnitId> {
        self.forces
            .iter()
            .flat_map(|f| f.proposed().map(|c| c.unit_id))
            .collect()
    }
}

fn role_fits(
    role: ForceRole,
    unit: &Unit,
    incident: &Incident,
    ground: &Jurisdiction,
    company: Option<PropertyCompanyId>,
) -> bool {
    match role {
        ForceRole::Police => unit.kind.is_police(),
        ForceRole::PatrolPolice => matches!(
            unit.kind,
            UnitKind::PatrolCar | UnitKind::FootPatrol | UnitKind::PostTeam
        ),
        ForceRole::CommunityPolice => {
            unit.kind == UnitKind::CommunityPoliceTeam
                && incident.resolution.community_id.is_some()
                && unit
                    .home_post_id
                    .and_then(|p| ground.post(p))
                    .and_then(|p| p.community_id)
                    == incident.resolution.community_id
        }
        ForceRole::FirstResponse => matches!(
            unit.kind,
            UnitKind::VolunteerPoliceTeam | UnitKind::SecurityForceTeam
        ),
        ForceRole::PropertyCompany => {
            unit.kind == UnitKind::PropertyStaff
                && company.is_some()
                && unit.property_company_id == company
        }
    }
}

/// Whether the unit can be sent, and as what.
fn availability(
    unit: &Unit,
    incident: &Incident,
    open: &HashMap<IncidentId, Priority>,
) -> Option<Why> {
    if unit.status.can_be_dispatched() && unit.incident_id.is_none() {
        return Some(Why::Available);
    }
    let working = unit.incident_id?;
    let priority = *open.get(&working)?;
    let divertible = matches!(unit.status, UnitStatus::Dispatched | UnitStatus::EnRoute);
    (incident.priority == Priority::HIGHEST
        && divertible
        && priority > incident.priority
        && working != incident.id)
        .then_some(Why::Diversion {
            from: working,
            priority,
        })
}

/// The company managing the place nearest the incident, if one is close.
fn managing_company(incident: &Incident, ground: &Jurisdiction) -> Option<PropertyCompanyId> {
    ground
        .places
        .iter()
        .filter_map(|p| {
            p.managed_by
                .map(|c| (c, p.location.distance_m(incident.location)))
        })
        .filter(|(_, d)| *d <= MANAGED_PLACE_RADIUS_M)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

fn profile(travel: TravelMode) -> Profile {
    match travel {
        TravelMode::Driving => Profile::Driving,
        TravelMode::Walking => Profile::Walking,
    }
}

fn speed(travel: TravelMode, network_speed_for_line: bool) -> f64 {
    match (travel, network_speed_for_line) {
        (TravelMode::Walking, _) => WALKING_SPEED_M_S,
        (TravelMode::Driving, true) => 30.0 / 3.6,
        (TravelMode::Driving, false) => ONTO_ROAD_DRIVING_M_S,
    }
}

/// A unit's way to its incident: the road path (or a straight line when
/// there is none), its length and the time it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteEstimate {
    pub path: Vec<precinct_geo::Coordinates>,
    pub distance_m: f64,
    pub eta_seconds: f64,
    pub travel: TravelMode,
    /// A straight line, not a road path (no roads, or none that reach).
    pub estimated: bool,
}

/// How a unit travels: police cars and post teams drive, everyone on foot
/// walks (as the plans rank them).
pub fn unit_travel(kind: UnitKind) -> TravelMode {
    if kind.is_police() && kind != UnitKind::FootPatrol {
        TravelMode::Driving
    } else {
        TravelMode::Walking
    }
}

/// The way from `from` to `to` as recommendations reckon it: onto the
/// nearest road, the quickest road path avoiding closures, off the road to
/// the scene; a straight line with a detour factor when no road path joins
/// them.
pub fn route_between(
    from: precinct_geo::Coordinates,
    to: precinct_geo::Coordinates,
    travel: TravelMode,
    network: &RoadNetwork,
    closures: &Closures,
) -> RouteEstimate {
    let profile = profile(travel);
    let by_road = network
        .snap(profile, from)
        .zip(network.snap(profile, to))
        .and_then(|(a, b)| {
            let path = network.path(profile, a.node, b.node, closures)?;
            let mut points = vec![from];
            points.extend(path.nodes.iter().map(|&n| network.coordinates(n)));
            points.push(to);
            Some(RouteEstimate {
                path: points,
                distance_m: a.distance_m + path.metres + b.distance_m,
                eta_seconds: f64::from(path.millis) / 1000.0
                    + (a.distance_m + b.distance_m) / speed(travel, false),
                travel,
                estimated: false,
            })
        });
    by_road.unwrap_or_else(|| {
        let metres = from.distance_m(to) * STRAIGHT_LINE_DETOUR;
        RouteEstimate {
            path: vec![from, to],
            distance_m: metres,
            eta_seconds: metres / speed(travel, true),
            travel,
            estimated: true,
        }
    })
}

/// Fills `plan` for `incident` from `units`.
pub fn recommend(
    incident: &Incident,
    plan: &ResponsePlan,
    units: &[Unit],
    context: &RecommendContext<'_>,
    scratch: &mut SearchScratch,
) -> Recommendation {
    let company = managing_company(incident, context.ground);
    let mut taken: Vec<UnitId> = incident
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
        .map(|a| a.unit_id)
        .collect();
    // Units already working the incident fill the forces they fit, in the
    // plan's order: a plan already sent proposes nothing more.
    let mut working: Vec<&Unit> = units.iter().filter(|u| taken.contains(&u.id)).collect();
    let mut forces = Vec::with_capacity(plan.forces.len());
    for requirement in &plan.forces {
        let mut already = Vec::new();
        working.retain(|u| {
            let fills = already.len() < requirement.count as usize
                && role_fits(requirement.role, u, incident, context.ground, company);
            if fills {
                already.push(u.id);
            }
            !fills
        });
        let needed = (requirement.count as usize).saturating_sub(already.len());
        let travel = requirement.travel();
        let eligible: Vec<(&Unit, Why)> = units
            .iter()
            .filter(|u| !taken.contains(&u.id) && u.position.is_some())
            .filter(|u| role_fits(requirement.role, u, incident, context.ground, company))
            .filter_map(|u| availability(u, incident, context.open_priorities).map(|why| (u, why)))
            .collect();
        let mut candidates = rank(incident, requirement, travel, &eligible, context, scratch);
        // A stale position's travel time is only an estimate.
        for c in &mut candidates {
            c.estimated |= c.stale_minutes.is_some();
        }
        // Fresh free units first, then diversions, then stale positions;
        // each by ETA, a unit of another zone counting as farther.
        candidates.sort_by(|a, b| {
            let key = |c: &Candidate| {
                (
                    c.stale_minutes.is_some(),
                    matches!(c.why, Why::Diversion { .. }),
                )
            };
            key(a)
                .cmp(&key(b))
                .then(a.ranking_seconds().total_cmp(&b.ranking_seconds()))
        });
        candidates.truncate(needed + ALTERNATIVES);
        taken.extend(candidates.iter().take(needed).map(|c| c.unit_id));
        let shortfall = (candidates.len() < needed).then_some(match requirement.role {
            ForceRole::PropertyCompany if company.is_none() => "no_managing_company_nearby",
            _ if requirement.within_m.is_some() => "too_few_within_distance",
            _ => "too_few_available",
        });
        forces.push(FilledForce {
            requirement: requirement.clone(),
            already,
            candidates,
            shortfall,
        });
    }
    Recommendation {
        plan: plan.name.clone(),
        coordinated: plan.coordinated,
        forces,
    }
}

fn other_zone(unit: &Unit, incident: &Incident) -> bool {
    matches!((unit.zone_id, incident.resolution.zone_id), (Some(a), Some(b)) if a != b)
}

fn stale_minutes(unit: &Unit, context: &RecommendContext<'_>) -> Option<i64> {
    let age = unit
        .position_at
        .map_or(chrono::Duration::MAX, |at| context.now - at);
    (age > context.stale_after.limit(unit.kind)).then(|| age.num_minutes())
}

/// Travel times of the eligible units: by one outward search over the
/// roads from the incident, or by straight line when there are no roads.
fn rank(
    incident: &Incident,
    requirement: &ForceRequirement,
    travel: TravelMode,
    eligible: &[(&Unit, Why)],
    context: &RecommendContext<'_>,
    scratch: &mut SearchScratch,
) -> Vec<Candidate> {
    let limit = requirement.within_m.unwrap_or(f64::INFINITY);
    let wanted = requirement.count as usize + ALTERNATIVES;
    let network = context.network;
    let profile = profile(travel);
    let destination = network.snap(profile, incident.location);
    let straight_line = |unit: &Unit, why: Why| {
        let metres = unit
            .position
            .map_or(f64::INFINITY, |p| p.distance_m(incident.location))
            * STRAIGHT_LINE_DETOUR;
        (metres <= limit).then(|| Candidate {
            unit_id: unit.id,
            eta_seconds: metres / speed(travel, true),
            road_distance_m: metres,
            travel,
            estimated: true,
            stale_minutes: stale_minutes(unit, context),
            other_zone: other_zone(unit, incident),
            why,
        })
    };
    let Some(destination) = destination else {
        return eligible
            .iter()
            .filter_map(|&(u, why)| straight_line(u, why))
            .collect();
    };
    // Units waiting at their snapped road node, with the time to get onto it.
    let mut at_node: HashMap<u32, Vec<(usize, f64, f64)>> = HashMap::new();
    let mut off_network = Vec::new();
    for (index, (unit, _)) in eligible.iter().enumerate() {
        match unit.position.and_then(|p| network.snap(profile, p)) {
            Some(snap) => at_node.entry(snap.node).or_default().push((
                index,
                snap.distance_m / speed(travel, false),
                snap.distance_m,
            )),
            None => off_network.push(index),
        }
    }
    let mut found = Vec::new();
    let onto_incident = destination.distance_m / speed(travel, false);
    network.search_towards_with(
        scratch,
        profile,
        destination.node,
        context.closures,
        |reached| {
            if reached.metres > limit {
                return ControlFlow::Break(());
            }
            for &(index, onto_road_s, onto_road_m) in
                at_node.get(&reached.node).into_iter().flatten()
            {
                let (unit, why) = eligible[index];
                found.push(Candidate {
                    unit_id: unit.id,
                    eta_seconds: f64::from(reached.millis) / 1000.0 + onto_road_s + onto_incident,
                    road_distance_m: reached.metres + onto_road_m + destination.distance_m,
                    travel,
                    estimated: false,
                    stale_minutes: stale_minutes(unit, context),
                    other_zone: other_zone(unit, incident),
                    why,
                });
            }
            let fresh_free = found
                .iter()
                .filter(|c| c.stale_minutes.is_none() && c.why == Why::Available)
                .count();
            if fresh_free >= wanted {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    found.extend(
        off_network
            .into_iter()
            .filter_map(|i| straight_line(eligible[i].0, eligible[i].1)),
    );
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ground::{Community, Place, PlaceKind, Post, PostKind, Resolution, Zone};
    use crate::ids::*;
    use crate::incident::{Caller, DefaultCategory, IncidentStatus, IntakeSource};
    use crate::plan::ForceRequirement;
    use chrono::TimeZone;
    use precinct_geo::roads::grid_ways;
    use precinct_geo::{Coordinates, Polygon};

    fn origin() -> Coordinates {
        Coordinates::new(28.15, 113.0).unwrap()
    }

    /// Grid coordinates, 100 m apart.
    fn at(east: f64, north: f64) -> Coordinates {
        origin().offset_m(east * 100.0, north * 100.0)
    }

    fn now() -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 10, 30, 14, 23, 0)
            .unwrap()
    }

    fn ground() -> Jurisdiction {
        let area = Polygon::rectangle(at(-1.0, -1.0), at(10.0, 10.0));
        Jurisdiction {
            station_name: "t".into(),
            zones: vec![Zone {
                id: ZoneId(1),
                code: "N".into(),
                name: "N".into(),
                boundary: area.clone(),
            }],
            communities: vec![Community {
                id: CommunityId(1),
                code: "YD".into(),
                zone_id: ZoneId(1),
                name: "永定".into(),
                boundary: area,
            }],
            posts: vec![
                Post {
                    id: PostId(1),
                    code: "a".into(),
                    zone_id: ZoneId(1),
                    community_id: Some(CommunityId(1)),
                    kind: PostKind::CommunityPoliceOffice,
                    name: "a".into(),
                    location: at(0.0, 0.0),
                },
                Post {
                    id: PostId(2),
                    code: "b".into(),
                    zone_id: ZoneId(1),
                    community_id: Some(CommunityId(2)),
                    kind: PostKind::CommunityPoliceOffice,
                    name: "b".into(),
                    location: at(0.0, 0.0),
                },
            ],
            places: vec![Place {
                id: PlaceId(1),
                code: "YY".into(),
                aliases: Vec::new(),
                kind: PlaceKind::ResidentialCompound,
                name: "怡园小区".into(),
                address: "".into(),
                location: at(5.0, 5.2),
                community_id: Some(CommunityId(1)),
                managed_by: Some(PropertyCompanyId(7)),
                parent_place_id: None,
            }],
            ..Jurisdiction::default()
        }
    }

    fn incident(id: i64, priority: u8) -> Incident {
        let location = at(5.0, 5.0);
        let intake = crate::incident::Intake {
            source: IntakeSource::Instruction110,
            external_id: None,
            category: DefaultCategory::FightAssault.into(),
            priority: Priority::new(i64::from(priority)).unwrap(),
            location,
            resolution: Resolution {
                zone_id: Some(ZoneId(1)),
                community_id: Some(CommunityId(1)),
                grid_cell_id: None,
            },
            address: String::new(),
            caller: Caller::default(),
            summary: "x".into(),
            reported_at: now(),
        };
        let mut incident = intake.into_incident(IncidentId(id), now(), None);
        incident.status = IncidentStatus::Received;
        incident
    }

    fn unit(id: i64, kind: UnitKind, status: UnitStatus, east: f64, north: f64) -> Unit {
        Unit {
            id: UnitId(id),
            call_sign: format!("U{id}"),
            name: format!("U{id}"),
            kind,
            home_post_id: Some(PostId(1)),
            zone_id: Some(ZoneId(1)),
            capabilities: kind.default_capabilities(),
            status,
            position: Some(at(east, north)),
            position_at: Some(now() - chrono::Duration::minutes(1)),
            incident_id: None,
            member_count: 2,
            property_company_id: None,
            phone: None,
            retired: false,
        }
    }

    fn force(role: ForceRole, count: u32, within_m: Option<f64>) -> ForceRequirement {
        ForceRequirement {
            role,
            count,
            travel: None,
            within_m,
        }
    }

    fn plan(forces: Vec<ForceRequirement>) -> ResponsePlan {
        ResponsePlan {
            name: "t".into(),
            categories: vec![],
            priorities: vec![],
            coordinated: false,
            forces,
        }
    }

    struct World {
        ground: Jurisdiction,
        network: RoadNetwork,
        closures: Closures,
        open: HashMap<IncidentId, Priority>,
    }

    impl World {
        fn new() -> World {
            World {
                ground: ground(),
                network: RoadNetwork::build(&grid_ways(origin(), 11, 11, 100.0, 0, 0)),
                closures: Closures::default(),
                open: HashMap::new(),
            }
        }

        fn recommend(
            &self,
            incident: &Incident,
            plan: &ResponsePlan,
            units: &[Unit],
        ) -> Recommendation {
            let context = RecommendContext {
                ground: &self.ground,
                network: &self.network,
                closures: &self.closures,
                now: now(),
                stale_after: &crate::unit::StaleLimits::uniform(10),
                open_priorities: &self.open,
            };
            recommend(
                incident,
                plan,
                units,
                &context,
                &mut SearchScratch::default(),
            )
        }
    }

    fn proposed(r: &Recommendation) -> Vec<i64> {
        r.proposed_units().into_iter().map(|u| u.0).collect()
    }

    #[test]
    fn a_route_follows_the_roads_and_falls_back_to_a_line() {
        let origin = precinct_geo::Coordinates::new(28.15, 113.0).unwrap();
        let network =
            RoadNetwork::build(&precinct_geo::roads::grid_ways(origin, 3, 3, 100.0, 0, 0));
        let from = origin.offset_m(5.0, 3.0);
        let to = origin.offset_m(200.0, 200.0);
        let route = route_between(
            from,
            to,
            TravelMode::Driving,
            &network,
            &Closures::default(),
        );
        assert!(!route.estimated);
        assert!(route.path.len() >= 4, "{:?}", route.path);
        assert!(
            (route.distance_m - 400.0).abs() < 20.0,
            "{}",
            route.distance_m
        );
        assert_eq!(unit_travel(UnitKind::PatrolCar), TravelMode::Driving);
        assert_eq!(unit_travel(UnitKind::GridWorker), TravelMode::Walking);
        let none = RoadNetwork::build(&[]);
        let line = route_between(from, to, TravelMode::Walking, &none, &Closures::default());
        assert!(line.estimated);
        assert_eq!(line.path, vec![from, to]);
    }

    #[test]
    fn police_and_first_response_as_the_fight_plan_asks() {
        let world = World::new();
        let units = vec![
            unit(
                1,
                UnitKind::VolunteerPoliceTeam,
                UnitStatus::OnPatrol,
                5.0,
                6.0,
            ),
            unit(2, UnitKind::PatrolCar, UnitStatus::OnPatrol, 9.0, 9.0),
            unit(3, UnitKind::PostTeam, UnitStatus::AtPost, 2.0, 5.0),
            unit(4, UnitKind::GridWorker, UnitStatus::OnPatrol, 5.0, 5.0),
            unit(
                5,
                UnitKind::SecurityForceTeam,
                UnitStatus::OnPatrol,
                9.0,
                0.0,
            ),
        ];
        let r = world.recommend(
            &incident(1, 1),
            &plan(vec![
                force(ForceRole::Police, 1, None),
                force(ForceRole::FirstResponse, 1, Some(800.0)),
            ]),
            &units,
        );
        assert_eq!(
            proposed(&r),
            [3, 1],
            "nearest police (at its post), then the volunteers 100 m away"
        );
        assert_eq!(
            r.forces[1].candidates.len(),
            1,
            "the security team 900 m away is beyond 800 m; grid workers do not do first response"
        );
        let volunteers = &r.forces[1].candidates[0];
        assert_eq!(volunteers.travel, TravelMode::Walking);
        assert!(
            (volunteers.eta_seconds - 100.0 / WALKING_SPEED_M_S).abs() < 2.0,
            "{}",
            volunteers.eta_seconds
        );
        assert!(!volunteers.estimated);
        let post = &r.forces[0].candidates[0];
        assert_eq!(post.travel, TravelMode::Driving);
        assert!(
            (post.road_distance_m - 300.0).abs() < 1.0,
            "{}",
            post.road_distance_m
        );
    }

    /// Ranking rules as data: (what, units, priority, expected proposal, check).
    #[test]
    fn status_staleness_and_diversion_table() {
        let mut world = World::new();
        world.open.insert(IncidentId(50), Priority::new(3).unwrap());
        let mut en_route = unit(10, UnitKind::PatrolCar, UnitStatus::EnRoute, 5.0, 6.0);
        en_route.incident_id = Some(IncidentId(50));
        let mut stale = unit(11, UnitKind::PatrolCar, UnitStatus::OnPatrol, 5.0, 4.0);
        stale.position_at = Some(now() - chrono::Duration::hours(2));
        let cases: Vec<(&str, Vec<Unit>, u8, Vec<i64>)> = vec![
            (
                "off duty and busy units are not proposed",
                vec![
                    unit(1, UnitKind::PatrolCar, UnitStatus::OffDuty, 5.0, 6.0),
                    unit(2, UnitKind::PatrolCar, UnitStatus::OnScene, 5.0, 4.0),
                    unit(3, UnitKind::PatrolCar, UnitStatus::OnPatrol, 0.0, 0.0),
                ],
                2,
                vec![3],
            ),
            (
                "a stale position ranks after a fresh one",
                vec![
                    stale.clone(),
                    unit(3, UnitKind::PatrolCar, UnitStatus::OnPatrol, 0.0, 0.0),
                ],
                2,
                vec![3],
            ),
            (
                "a stale unit is still proposed when alone",
                vec![stale.clone()],
                2,
                vec![11],
            ),
            (
                "priority 1 may divert a unit from a priority 3 incident",
                vec![en_route.clone()],
                1,
                vec![10],
            ),
            ("priority 2 may not", vec![en_route.clone()], 2, vec![]),
            (
                "a free unit comes before a diversion",
                vec![
                    en_route.clone(),
                    unit(3, UnitKind::PatrolCar, UnitStatus::OnPatrol, 0.0, 0.0),
                ],
                1,
                vec![3],
            ),
        ];
        let plan = plan(vec![force(ForceRole::Police, 1, None)]);
        for (what, units, priority, expected) in cases {
            let r = world.recommend(&incident(1, priority), &plan, &units);
            assert_eq!(proposed(&r), expected, "{what}");
        }
        let r = world.recommend(&incident(1, 1), &plan, &[en_route]);
        assert_eq!(
            r.forces[0].candidates[0].why,
            Why::Diversion {
                from: IncidentId(50),
                priority: Priority::new(3).unwrap()
            }
        );
        let r = world.recommend(&incident(1, 2), &plan, &[stale]);
        assert_eq!(r.forces[0].candidates[0].stale_minutes, Some(120));
        assert_eq!(r.forces[0].shortfall, None);
    }

    #[test]
    fn own_zone_first_unless_the_neighbour_is_clearly_nearer() {
        let world = World::new();
        let plan = plan(vec![force(ForceRole::Police, 1, None)]);
        let mut neighbour = unit(1, UnitKind::PatrolCar, UnitStatus::OnPatrol, 5.0, 6.0);
        neighbour.zone_id = Some(ZoneId(2));
        let own = unit(2, UnitKind::PatrolCar, UnitStatus::OnPatrol, 5.0, 9.0);
        let r = world.recommend(&incident(1, 2), &plan, &[neighbour.clone(), own.clone()]);
        assert_eq!(
            proposed(&r),
            [2],
            "400 m in the own zone beats 100 m from the next zone"
        );
        assert!(r.forces[0].candidates.iter().any(|c| c.other_zone));
        let mut far_own = own;
        far_own.position = Some(at(0.0, 0.0));
        let r = world.recommend(&incident(1, 2), &plan, &[neighbour, far_own]);
        assert_eq!(
            proposed(&r),
            [1],
            "1 km away, the neighbour is clearly nearer"
        );
    }

    #[test]
    fn a_closure_changes_the_ranking() {
        let mut world = World::new();
        let units = vec![
            unit(1, UnitKind::PatrolCar, UnitStatus::OnPatrol, 5.0, 7.0),
            unit(2, UnitKind::PatrolCar, UnitStatus::OnPatrol, 2.0, 5.0),
        ];
        let plan = plan(vec![force(ForceRole::Police, 1, None)]);
        assert_eq!(
            proposed(&world.recommend(&incident(1, 2), &plan, &units)),
            [1],
            "200 m beats 300 m"
        );
        // Close every street around unit 1's corner: it must go round.
        let corner = world
            .network
            .snap(Profile::Driving, at(5.0, 7.0))
            .unwrap()
            .node;
        for segment in world.network.segments_at(Profile::Driving, corner) {
            world.closures.close(segment);
        }
        let r = world.recommend(&incident(1, 2), &plan, &units);
        assert_eq!(proposed(&r), [2], "the closure is respected");
    }

    #[test]
    fn community_police_and_the_managing_company() {
        let world = World::new();
        let mut other_office = unit(
            2,
            UnitKind::CommunityPoliceTeam,
            UnitStatus::AtPost,
            5.0,
            5.0,
        );
        other_office.home_post_id = Some(PostId(2));
        let mut own_staff = unit(3, UnitKind::PropertyStaff, UnitStatus::OnPatrol, 8.0, 8.0);
        own_staff.property_company_id = Some(PropertyCompanyId(7));
        let mut other_staff = unit(4, UnitKind::PropertyStaff, UnitStatus::OnPatrol, 5.0, 5.0);
        other_staff.property_company_id = Some(PropertyCompanyId(8));
        let units = vec![
            unit(
                1,
                UnitKind::CommunityPoliceTeam,
                UnitStatus::AtPost,
                0.0,
                0.0,
            ),
            other_office,
            own_staff,
            other_staff,
        ];
        let plan = plan(vec![
            force(ForceRole::CommunityPolice, 1, None),
            force(ForceRole::PropertyCompany, 1, Some(1500.0)),
        ]);
        let r = world.recommend(&incident(1, 3), &plan, &units);
        assert_eq!(
            proposed(&r),
            [1, 3],
            "the incident community's office, and the company that manages the compound"
        );
        let mut far = incident(2, 3);
        far.location = at(0.0, 9.0);
        let r = world.recommend(&far, &plan, &units);
        assert_eq!(r.forces[1].shortfall, Some("no_managing_company_nearby"));
    }

    #[test]
    fn without_roads_times_are_estimated_in_a_straight_line() {
        let mut world = World::new();
        world.network = RoadNetwork::build(&[]);
        let units = vec![unit(1, UnitKind::PatrolCar, UnitStatus::OnPatrol, 5.0, 8.0)];
        let r = world.recommend(
            &incident(1, 2),
            &plan(vec![force(ForceRole::Police, 1, None)]),
            &units,
        );
        let c = &r.forces[0].candidates[0];
        assert!(c.estimated);
        assert!((c.road_distance_m - 300.0 * STRAIGHT_LINE_DETOUR).abs() < 1.0);
    }
}
