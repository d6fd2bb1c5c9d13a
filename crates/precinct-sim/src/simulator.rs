//! The live incident simulator: it plays the callers (incidents arrive at
//! realistic times and places: night fights on the food street, daytime
//! disputes in the markets, morning noise in the compounds, thefts) and the
//! field units (they move, arrive, and clear). It dispatches an incident
//! itself only when no human dispatcher has done so within a grace period,
//! so people using the console stay in charge.
//!
//! Everything goes through the [`Store`](precinct_storage::Store), exactly
//! like the API, so the simulator's changes are events on the live stream.

use crate::clock::DemoClock;
use chrono::{FixedOffset, Timelike};
use precinct_domain::event::Actor;
use precinct_domain::ground::{Jurisdiction, Place, PlaceKind};
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::{
    Caller, DefaultCategory, Disposition, Incident, IncidentStatus, Intake, IntakeSource,
    PhoneNumber, Priority,
};
use precinct_domain::plan::Plans;
use precinct_domain::recommend::{RecommendContext, Why, recommend};
use precinct_domain::unit::{Unit, UnitKind, UnitStatus};
use precinct_domain::{Coordinates, Timestamp};
use precinct_geo::roads::{Closures, RoadNetwork, SearchScratch};
use precinct_storage::{Clock, IncidentFilter, SharedStore, StoreResult};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub seed: u64,
    /// Real time between two steps.
    pub tick: Duration,
    /// Simulated seconds a received incident waits for a human dispatcher
    /// before the simulator dispatches it.
    pub auto_dispatch_after_s: i64,
    /// Multiplies every incident rate (1.0 ≈ a busy station's day).
    pub intensity: f64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            seed: 42,
            tick: Duration::from_secs(1),
            auto_dispatch_after_s: 90,
            intensity: 1.0,
        }
    }
}

/// Simulated seconds per step while a demo warms up (see
/// [`Simulator::warm_up`]): coarse enough to play hours in seconds, fine
/// enough that units still arrive and incidents wait for dispatch as live.
pub const WARM_UP_STEP_S: i64 = 30;

/// Where a scenario's incidents happen.
#[derive(Debug, Clone, Copy)]
enum Setting {
    FoodStreet,
    Market,
    Compound,
    Anywhere,
}

/// A kind of incident the simulator produces, and when.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    /// The demo's district uses the shipped code table.
    category: DefaultCategory,
    priority: u8,
    setting: Setting,
    /// Expected incidents per hour, by hour of day (station time).
    rate: fn(u32) -> f64,
    summary: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        category: DefaultCategory::FightAssault,
        priority: 1,
        setting: Setting::FoodStreet,
        rate: |h| if !(2..20).contains(&h) { 0.6 } else { 0.03 },
        summary: "美食街夜宵店有人酒后打架",
    },
    Scenario {
        category: DefaultCategory::CommercialDebtDispute,
        priority: 2,
        setting: Setting::Market,
        rate: |h| if (9..17).contains(&h) { 0.7 } else { 0.02 },
        summary: "市场门店因索要货款发生争执",
    },
    Scenario {
        category: DefaultCategory::NeighbourNoiseDispute,
        priority: 3,
        setting: Setting::Compound,
        rate: |h| match h {
            6..=8 => 0.5,
            19..=21 => 0.25,
            _ => 0.03,
        },
        summary: "小区楼下广场舞噪音扰民,居民发生争吵",
    },
    Scenario {
        category: DefaultCategory::Theft,
        priority: 2,
        setting: Setting::Market,
        rate: |h| if (9..19).contains(&h) { 0.35 } else { 0.05 },
        summary: "市场内顾客手机被盗",
    },
    Scenario {
        category: DefaultCategory::Burglary,
        priority: 2,
        setting: Setting::Compound,
        rate: |h| if h < 6 { 0.1 } else { 0.02 },
        summary: "小区住户反映家中被盗",
    },
    Scenario {
        category: DefaultCategory::HelpRequest,
        priority: 3,
        setting: Setting::Anywhere,
        rate: |h| if (7..22).contains(&h) { 0.3 } else { 0.05 },
        summary: "群众求助:老人走失",
    },
    Scenario {
        category: DefaultCategory::DomesticViolence,
        priority: 1,
        setting: Setting::Compound,
        rate: |h| if (19..24).contains(&h) { 0.08 } else { 0.01 },
        summary: "小区住户报称遭家暴",
    },
    Scenario {
        category: DefaultCategory::TrafficAccident,
        priority: 3,
        setting: Setting::Anywhere,
        rate: |h| if (7..20).contains(&h) { 0.2 } else { 0.03 },
        summary: "路口两车剐蹭发生纠纷",
    },
];

const SURNAMES: [&str; 12] = [
    "李", "王", "张", "刘", "陈", "杨", "周", "汪", "颜", "谢", "黄", "赵",
];

/// Station time: Asia/Shanghai, UTC+8 all year.
fn station_hour(t: Timestamp) -> u32 {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"))
        .hour()
}

/// Metres per second a unit moves at.
fn speed_m_s(kind: UnitKind) -> f64 {
    match kind {
        UnitKind::PatrolCar | UnitKind::PostTeam => 8.0,
        UnitKind::CommunityPoliceTeam => 4.0,
        _ => 1.4,
    }
}

/// Minutes on scene before the simulated officers close an incident,
/// fixed per incident so it does not need remembering.
fn handling_minutes(incident: &Incident) -> i64 {
    let base = match incident.category.family() {
        precinct_domain::incident::CategoryFamily::Dispute => 30,
        precinct_domain::incident::CategoryFamily::Criminal => 25,
        _ => 15,
    };
    base + incident.id.0 % 15
}

fn closing_disposition(incident: &Incident) -> Disposition {
    let coin = incident.id.0 % 2 == 0;
    match incident.category.shipped() {
        Some(DefaultCategory::FightAssault | DefaultCategory::DomesticViolence) => {
            if coin {
                Disposition::ReferredToMediation
            } else {
                Disposition::PublicOrderCaseOpened
            }
        }
        Some(
            DefaultCategory::Theft
            | DefaultCategory::Burglary
            | DefaultCategory::Robbery
            | DefaultCategory::Fraud,
        ) => Disposition::CriminalCaseOpened,
        Some(DefaultCategory::TrafficAccident) => {
            if coin {
                Disposition::ResolvedOnScene
            } else {
                Disposition::TransferredToAgency
            }
        }
        _ if incident.category.family() == precinct_domain::incident::CategoryFamily::Dispute => {
            if coin {
                Disposition::ResolvedOnScene
            } else {
                Disposition::ReferredToMediation
            }
        }
        _ => Disposition::ResolvedOnScene,
    }
}

#[derive(Debug)]
pub struct Simulator {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    ground: Arc<Jurisdiction>,
    rng: ChaCha8Rng,
    config: SimulatorConfig,
    reported: u64,
    patrol_waypoints: HashMap<UnitId, Coordinates>,
    roads: Arc<RoadNetwork>,
    plans: Arc<Plans>,
    scratch: SearchScratch,
}

impl Simulator {
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        ground: Arc<Jurisdiction>,
        roads: Arc<RoadNetwork>,
        plans: Arc<Plans>,
        config: SimulatorConfig,
    ) -> Simulator {
        Simulator {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5151_5151),
            store,
            clock,
            ground,
            config,
            reported: 0,
            patrol_waypoints: HashMap::new(),
            roads,
            plans,
            scratch: SearchScratch::default(),
        }
    }

    /// Steps every `tick` until `stop` turns true.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last = self.clock.now();
        let mut interval = tokio::time::interval(self.config.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            let now = self.clock.now();
            let simulated = (now - last).num_milliseconds() as f64 / 1000.0;
            last = now;
            if let Err(error) = self.step(simulated).await {
                tracing::warn!(%error, "simulator step failed");
            }
        }
    }

    /// Plays the station's time from `from` to `to` as fast as the store
    /// takes it, in steps of [`WARM_UP_STEP_S`], with `clock` set to each
    /// step's time, so everything written is stamped with that past time.
    /// `clock` must be the clock this simulator and its store were given.
    /// A new demo runs this before it opens, so it opens on a station in
    /// the middle of its day (incidents reported, dispatched, handled and
    /// closed, with figures to show) rather than an empty one. Returns how
    /// many reports it made.
    pub async fn warm_up(
        &mut self,
        clock: &DemoClock,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<u64> {
        let reported_before = self.reported;
        let mut at = from;
        while at < to {
            clock.set(at);
            self.step(WARM_UP_STEP_S as f64).await?;
            at += chrono::Duration::seconds(WARM_UP_STEP_S);
        }
        clock.set(to);
        Ok(self.reported - reported_before)
    }

    fn actor(name: &str) -> Actor {
        Actor::system(name)
    }

    /// One step covering `simulated_s` seconds of station time.
    pub async fn step(&mut self, simulated_s: f64) -> StoreResult<()> {
        let now = self.clock.now();
        self.report_new_incidents(now, simulated_s).await?;
        let open = self
            .store
            .list_incidents(IncidentFilter {
                open_only: true,
                limit: 1000,
                ..IncidentFilter::default()
            })
            .await?;
        let units = self.store.list_units().await?;
        self.auto_dispatch(now, &open, &units).await;
        self.move_engaged_units(&open, &units, simulated_s).await;
        self.close_handled(now, &open).await;
        self.patrol(&units, simulated_s).await;
        self.keep_reporting(now, &units).await;
        Ok(())
    }

    /// Units on duty that stand still (post teams at their post, helpers
    /// waiting for a task) report where they are every quarter of an hour
    /// or so, as their phones do, so their positions stay fresh.
    async fn keep_reporting(&mut self, now: Timestamp, units: &[Unit]) {
        let mut reports = tokio::task::JoinSet::new();
        for unit in units.iter().filter(|u| {
            let patrolling = u.status == UnitStatus::OnPatrol
                && matches!(u.kind, UnitKind::PatrolCar | UnitKind::FootPatrol);
            matches!(u.status, UnitStatus::OnPatrol | UnitStatus::AtPost) && !patrolling
        }) {
            let Some(position) = unit.position else {
                continue;
            };
            let every = chrono::Duration::minutes(15 + unit.id.0.rem_euclid(10));
            if unit.position_at.is_some_and(|at| now - at < every) {
                continue;
            }
            let here = position.offset_m(
                self.rng.random_range(-5.0..5.0),
                self.rng.random_range(-5.0..5.0),
            );
            let (store, id, actor) = (self.store.clone(), unit.id, Self::actor(&unit.call_sign));
            reports.spawn(async move { store.report_unit_position(id, here, actor).await });
        }
        while let Some(done) = reports.join_next().await {
            if let Ok(Err(error)) = done {
                tracing::debug!(%error, "a simulated position report failed");
            }
        }
    }

    fn pick_place(&mut self, setting: Setting) -> Option<Place> {
        let matches: Vec<&Place> = self
            .ground
            .places
            .iter()
            .filter(|p| match setting {
                Setting::FoodStreet => p.kind == PlaceKind::Shop && p.address.contains("美食七街"),
                Setting::Market => {
                    matches!(
                        p.kind,
                        PlaceKind::Market | PlaceKind::WholesaleMarket | PlaceKind::Shop
                    ) && !p.address.contains("美食七街")
                }
                Setting::Compound => p.kind == PlaceKind::ResidentialCompound,
                Setting::Anywhere => true,
            })
            .collect();
        if matches.is_empty() {
            return None;
        }
        let index = self.rng.random_range(0..matches.len());
        Some(matches[index].clone())
    }

    async fn report_new_incidents(&mut self, now: Timestamp, simulated_s: f64) -> StoreResult<()> {
        let hour = station_hour(now);
        for scenario in SCENARIOS {
            let expected = (scenario.rate)(hour) * self.config.intensity * simulated_s / 3600.0;
            let mut count = expected.floor() as u32;
            if self
                .rng
                .random_bool((expected - expected.floor()).clamp(0.0, 1.0))
            {
                count += 1;
            }
            for _ in 0..count.min(3) {
                let Some(place) = self.pick_place(scenario.setting) else {
                    continue;
                };
                let location = place.location.offset_m(
                    self.rng.random_range(-25.0..25.0),
                    self.rng.random_range(-25.0..25.0),
                );
                self.reported += 1;
                let from_110 = self.rng.random_bool(0.7);
                let surname = SURNAMES[self.rng.random_range(0..SURNAMES.len())];
                let phone = format!("13{:09}", self.rng.random_range(0..1_000_000_000u64));
                let intake = Intake {
                    source: if from_110 {
                        IntakeSource::Instruction110
                    } else {
                        IntakeSource::Phone
                    },
                    external_id: from_110
                        .then(|| format!("SIM{}-{:06}", self.config.seed, self.reported)),
                    category: scenario.category.into(),
                    priority: Priority::new(i64::from(scenario.priority)).expect("valid"),
                    location,
                    resolution: self.ground.resolve(location),
                    address: place.address.clone(),
                    caller: Caller {
                        name: Some(format!(
                            "{surname}{}",
                            if self.rng.random_bool(0.5) {
                                "先生"
                            } else {
                                "女士"
                            }
                        )),
                        phone: PhoneNumber::parse(&phone).ok(),
                    },
                    summary: format!("{}({})", scenario.summary, place.name),
                    reported_at: now,
                };
                let actor = if from_110 {
                    "市110指挥中心(模拟)"
                } else {
                    "报警人电话(模拟)"
                };
                self.store.intake(intake, Self::actor(actor)).await?;
            }
        }
        Ok(())
    }

    /// Dispatches incidents no human has dispatched in time: the nearest free
    /// police unit, plus a nearby first-response team for incidents where
    /// separating people or calming things down matters.
    async fn auto_dispatch(&mut self, now: Timestamp, open: &[Incident], units: &[Unit]) {
        // The command room's own method: the incident's response plan,
        // filled by the recommendation over the roads, dispatched in one go.
        let open_priorities: HashMap<IncidentId, Priority> =
            open.iter().map(|i| (i.id, i.priority)).collect();
        let mut closures = Closures::default();
        if let Ok(closed) = self.store.road_closures().await {
            closed.iter().for_each(|c| closures.close(c.segment));
        }
        let mut taken: Vec<UnitId> = Vec::new();
        for incident in open.iter().filter(|i| i.status == IncidentStatus::Received) {
            if (now - incident.received_at).num_seconds() < self.config.auto_dispatch_after_s {
                continue;
            }
            let Some(plan) = self.plans.plan_for(&incident.category, incident.priority) else {
                continue;
            };
            let free: Vec<Unit> = units
                .iter()
                .filter(|u| !taken.contains(&u.id))
                .cloned()
                .collect();
            let context = RecommendContext {
                ground: &self.ground,
                network: &self.roads,
                closures: &closures,
                now,
                stale_after: &precinct_domain::unit::StaleLimits::uniform(30),
                open_priorities: &open_priorities,
            };
            let recommendation = recommend(incident, plan, &free, &context, &mut self.scratch);
            let chosen: Vec<UnitId> = recommendation
                .forces
                .iter()
                .flat_map(|force| {
                    force
                        .proposed()
                        .filter(|c| c.why == Why::Available)
                        .map(|c| c.unit_id)
                })
                .collect();
            if chosen.is_empty() {
                continue;
            }
            match self
                .store
                .dispatch(incident.id, chosen.clone(), Self::actor("指挥室(模拟)"))
                .await
            {
                Ok(_) => taken.extend(chosen),
                Err(error) => {
                    tracing::debug!(%error, incident = %incident.id, "simulated dispatch lost a race")
                }
            }
        }
    }

    async fn move_engaged_units(&mut self, open: &[Incident], units: &[Unit], simulated_s: f64) {
        let incidents: HashMap<IncidentId, &Incident> = open.iter().map(|i| (i.id, i)).collect();
        for unit in units.iter().filter(|u| u.status.is_engaged()) {
            let Some(incident) = unit.incident_id.and_then(|id| incidents.get(&id)) else {
                continue;
            };
            let actor = Self::actor(&unit.call_sign);
            let result = match unit.status {
                // Helpers accept their first-response task; police just set off.
                UnitStatus::Dispatched if !unit.kind.is_police() => {
                    self.store.accept_task(unit.id, actor).await.map(drop)
                }
                UnitStatus::Dispatched => self
                    .store
                    .update_unit_status(unit.id, UnitStatus::EnRoute, actor)
                    .await
                    .map(drop),
                // Helpers hand over once police are on scene.
                UnitStatus::OnScene
                    if !unit.kind.is_police() && incident.first_police_on_scene_at.is_some() =>
                {
                    self.store.hand_over(unit.id, actor).await.map(drop)
                }
                UnitStatus::EnRoute => {
                    let from = unit.position.unwrap_or(incident.location);
                    let next =
                        from.step_towards(incident.location, speed_m_s(unit.kind) * simulated_s);
                    let moved = self
                        .store
                        .report_unit_position(unit.id, next, actor.clone())
                        .await
                        .map(drop);
                    if moved.is_ok() && next.distance_m(incident.location) < 15.0 {
                        self.store
                            .update_unit_status(unit.id, UnitStatus::OnScene, actor)
                            .await
                            .map(drop)
                    } else {
                        moved
                    }
                }
                _ => Ok(()),
            };
            if let Err(error) = result {
                tracing::debug!(%error, unit = %unit.call_sign, "simulated unit move failed");
            }
        }
    }

    async fn close_handled(&mut self, now: Timestamp, open: &[Incident]) {
        for incident in open.iter().filter(|i| i.status == IncidentStatus::OnScene) {
            let minutes = handling_minutes(incident);
            let police_done = incident
                .first_police_on_scene_at
                .is_some_and(|t| (now - t).num_minutes() >= minutes);
            let helpers_done = incident
                .first_on_scene_at
                .is_some_and(|t| (now - t).num_minutes() >= 2 * minutes);
            if !(police_done || helpers_done) {
                continue;
            }
            let result = self
                .store
                .close_incident(
                    incident.id,
                    closing_disposition(incident),
                    Some("现场处置完毕(模拟)".into()),
                    Self::actor("现场民警(模拟)"),
                )
                .await;
            if let Err(error) = result {
                tracing::debug!(%error, incident = %incident.id, "simulated close failed");
            }
        }
    }

    /// Police patrols walk or drive between random waypoints in their zone (有警出警、无警巡逻).
    async fn patrol(&mut self, units: &[Unit], simulated_s: f64) {
        for unit in units.iter().filter(|u| {
            u.status == UnitStatus::OnPatrol
                && matches!(u.kind, UnitKind::PatrolCar | UnitKind::FootPatrol)
        }) {
            let Some(position) = unit.position else {
                continue;
            };
            let zone = unit.zone_id.and_then(|z| self.ground.zone(z)).cloned();
            let waypoint = match self.patrol_waypoints.get(&unit.id) {
                Some(w) if w.distance_m(position) > 10.0 => *w,
                _ => {
                    let centre = zone.as_ref().map_or(position, |z| z.boundary.centroid());
                    let w = centre.offset_m(
                        self.rng.random_range(-1500.0..1500.0),
                        self.rng.random_range(-600.0..600.0),
                    );
                    self.patrol_waypoints.insert(unit.id, w);
                    w
                }
            };
            let next = position.step_towards(waypoint, speed_m_s(unit.kind) * simulated_s * 0.5);
            if let Err(error) = self
                .store
                .report_unit_position(unit.id, next, Self::actor(&unit.call_sign))
                .await
            {
                tracing::debug!(%error, unit = %unit.call_sign, "simulated patrol move failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn station_hours_are_shanghai_time() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 10, 30, 14, 23, 0)
            .unwrap();
        assert_eq!(station_hour(t), 22);
    }

    #[test]
    fn night_fights_happen_at_night() {
        let fight = SCENARIOS
            .iter()
            .find(|s| s.category == DefaultCategory::FightAssault)
            .unwrap();
        assert!((fight.rate)(22) > 10.0 * (fight.rate)(15));
        let noise = SCENARIOS
            .iter()
            .find(|s| s.category == DefaultCategory::NeighbourNoiseDispute)
            .unwrap();
        assert!((noise.rate)(7) > (noise.rate)(14));
    }
}
