// The console's live picture of the station: open incidents, units, road
// closures. Loaded once, then kept current by the event stream.

import { http, ok, type Closure, type Incident, type TimelineEvent, type Unit, type UnitPositionsDto } from "./api";
import { Observable } from "./hooks";
import { LiveStream, type LiveState } from "./live";

/** The open incidents the console keeps (the newest 500). */
const OPEN = { status: "open", limit: 500 } as const;

/** Runs `work` at most once per `ms`, trailing (the last call always lands). */
function throttle(ms: number, work: () => Promise<void>): () => void {
  let timer: number | undefined;
  let running = false;
  let again = false;
  const run = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await work();
    } catch (error) {
      console.warn("refresh failed", error);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer === undefined) timer = window.setTimeout(run, ms);
  };
  return schedule;
}

export class ConsoleModel {
  readonly incidents = new Observable<Incident[]>([]);
  readonly units = new Observable<Map<number, Unit>>(new Map());
  readonly closures = new Observable<Closure[]>([]);
  readonly live = new Observable<LiveState>("connecting");
  /** Bumped by every event that touches an incident, with its id. */
  readonly touched = new Observable<{ id: number; n: number }>({ id: 0, n: 0 });
  /** Bumped by every station package imported (the ground and units changed). */
  readonly stationImports = new Observable<number>(0);
  readonly stream: LiveStream;
  /** When the first queue was shown (ms since navigation start). */
  firstRender: number | null = null;

  readonly refreshIncidents = throttle(150, async () => {
    this.touchedIds.clear();
    this.incidents.set(await ok(http.GET("/api/incidents", { params: { query: OPEN } })));
  });
  /** Incidents events touched since the last fetch of them. */
  private readonly touchedIds = new Set<number>();
  /** Fetches only the incidents events touched, and puts them in the list
   *  (or takes them out, once closed, merged or no longer visible). */
  readonly refreshTouched = throttle(100, async () => {
    const ids = [...this.touchedIds].slice(0, 100);
    for (const id of ids) this.touchedIds.delete(id);
    if (ids.length === 0) return;
    const fresh = await ok(http.GET("/api/incidents", { params: { query: { status: "open", limit: 100, ids: ids.join(",") } } }));
    const kept = this.incidents.value.filter((i) => !ids.includes(i.id));
    // Newest first, as the server lists them.
    this.incidents.set([...kept, ...fresh].sort((a, b) => b.id - a.id));
    if (this.touchedIds.size > 0) this.refreshTouched();
  });
  readonly refreshUnits = throttle(1000, async () => {
    const units = await ok(http.GET("/api/units"));
    this.units.set(new Map(units.map((u) => [u.id, u])));
  });
  readonly refreshClosures = throttle(200, async () => {
    this.closures.set(await ok(http.GET("/api/roads/closures")));
  });

  constructor() {
    this.stream = new LiveStream({
      onEvent: (event) => this.apply(event),
      onPositions: (positions) => this.moved(positions),
      onState: (state) => this.live.set(state),
      onResumed: () => {
        this.refreshIncidents();
        this.refreshUnits();
      },
    });
  }

  async start(): Promise<void> {
    // Subscribe first, so nothing committed while loading is missed.
    this.stream.start();
    const [incidents, units, closures] = await Promise.all([
      ok(http.GET("/api/incidents", { params: { query: OPEN } })),
      ok(http.GET("/api/units")),
      ok(http.GET("/api/roads/closures")),
    ]);
    this.incidents.set(incidents);
    this.units.set(new Map(units.map((u) => [u.id, u])));
    this.closures.set(closures);
  }

  stop(): void {
    this.stream.stop();
  }

  /** Units moved: each to its newest report (a late one, e.g. from
   * another instance, never moves a unit back). */
  private moved({ positions }: UnitPositionsDto): void {
    const units = new Map(this.units.value);
    let unknown = false;
    for (const p of positions) {
      const unit = units.get(p.unit_id);
      if (!unit) {
        unknown = true;
        continue;
      }
      if (unit.position_at && Date.parse(unit.position_at) > Date.parse(p.at)) continue;
      units.set(unit.id, { ...unit, position: { lat: p.lat, lon: p.lon }, position_at: p.at });
    }
    this.units.set(units);
    if (unknown) this.refreshUnits();
  }

  private apply(event: TimelineEvent): void {
    // An incident event updates that incident, not the list; a position
    // report changes only its unit.
    if (event.incident_id !== null && event.type !== "unit_position_reported") {
      this.touchedIds.add(event.incident_id);
      this.refreshTouched();
      this.touched.set({ id: event.incident_id, n: this.touched.value.n + 1 });
    }
    if (event.type === "incidents_merged") {
      for (const id of [event.data.duplicate_id, event.data.into_id]) this.touchedIds.add(id);
      this.refreshTouched();
      this.touched.set({ id: event.data.into_id, n: this.touched.value.n + 1 });
    }
    if (event.type === "units_dispatched") this.refreshUnits();
    if (event.type === "station_imported") {
      this.refreshUnits();
      this.stationImports.set(this.stationImports.value + 1);
    }
    if (event.type === "roads_closed" || event.type === "roads_reopened" || event.type === "roads_replaced") {
      this.refreshClosures();
    }
    if (event.unit_id !== null) {
      const unit = this.units.value.get(event.unit_id);
      if (!unit) {
        this.refreshUnits();
        return;
      }
      const next = { ...unit };
      if (event.type === "unit_status_changed") {
        next.status = event.data.to;
        if (next.status === "on_patrol" || next.status === "at_post" || next.status === "off_duty") {
          next.incident_id = null;
        }
      } else if (event.type === "unit_position_reported") {
        next.position = event.data.position;
        next.position_at = event.at;
      } else {
        // Dispatch, accept, decline, hand-over: the unit's row says it best.
        this.refreshUnits();
        return;
      }
      const units = new Map(this.units.value);
      units.set(next.id, next);
      this.units.set(units);
    }
  }
}
