// The command-room console: live queue, intake, incident detail with the
// recommended plan, units board, map.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  ApiError,
  http,
  ok,
  postTo,
  type PostBody,
  type PostWithId,
  type Schemas,
  type ConsoleConfig,
  type Incident,
  type IncidentDetail,
  type Jurisdiction,
  type Address,
  type Point,
  type Recommendation,
  type Unit,
  type UnitRoute,
  type User,
} from "./api";
import { useNow, useObservable } from "./hooks";
import { errorText, formatDuration, formatTime, label, labelKeys, setCategories, stationNow, t, currentLang } from "./i18n";
import { MapView, type Track } from "./map";
import { ConsoleModel } from "./model";
import { Header, type View } from "./header";
import { StationAdmin } from "./admin";
import { LazyIntel as IntelView } from "./intel-lazy";
import { DisputesView, type FromIncident } from "./disputes";
import { EnumSelect, ErrorLine, asApiError, useResource } from "./ui";

declare global {
  interface Window {
    __precinct?: { model?: ConsoleModel; firstRender?: number };
  }
}

/** Statuses a unit may be dispatched from (the server's transition table, from the console config). */
let dispatchable = new Set<string>();

/** How late an incident is against the station's targets, if it is. */
function lateness(i: Incident, now: number, config: ConsoleConfig): string | null {
  const age = (now - Date.parse(i.received_at)) / 1000;
  if (i.status === "received" && age > config.dispatch_target_seconds) return t("not_dispatched_in_time");
  if (i.status === "dispatched" && !i.first_on_scene_at && age > config.on_scene_target_seconds)
    return t("not_on_scene_in_time");
  return null;
}

function Queue(props: {
  incidents: Incident[];
  config: ConsoleConfig;
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  useNow(1000);
  const now = stationNow();
  const rows = [...props.incidents].sort(
    (a, b) =>
      Number(b.status === "received") - Number(a.status === "received") ||
      a.priority - b.priority ||
      Date.parse(b.received_at) - Date.parse(a.received_at),
  );
  return (
    <ul class="queue" data-testid="queue">
      {rows.length === 0 && <li class="empty">—</li>}
      {rows.map((i) => {
        const late = lateness(i, now, props.config);
        return (
          <li
            key={i.id}
            class={`queue-row p${i.priority} ${late ? "late" : ""} ${i.id === props.selected ? "selected" : ""}`}
            data-testid="queue-row"
            data-incident-id={i.id}
            data-status={i.status}
            onClick={() => props.onSelect(i.id)}
          >
            <span class="badge priority">P{i.priority}</span>
            <span class="what">
              <b>{label("category", i.category)}</b> {i.address}
              <small>
                #{i.id} · {label("incident_status", i.status)}
                {i.duplicate_of && !i.merged_into ? ` · ${t("likely_duplicate_of")}#${i.duplicate_of}` : ""}
              </small>
            </span>
            <span class="age" title={formatTime(i.received_at, true)}>
              {formatDuration((now - Date.parse(i.received_at)) / 1000)}
              {late && <em class="late-text">{late}</em>}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

function UnitsBoard({ units, ground }: { units: Unit[]; ground: Jurisdiction }) {
  const groups = useMemo(() => {
    const byZone = new Map<number | null, Map<number | null, Unit[]>>();
    for (const u of units) {
      const zone = byZone.get(u.zone_id) ?? new Map<number | null, Unit[]>();
      byZone.set(u.zone_id, zone);
      const list = zone.get(u.home_post_id) ?? [];
      list.push(u);
      zone.set(u.home_post_id, list);
    }
    return byZone;
  }, [units]);
  const zoneName = (id: number | null) => ground.zones.find((z) => z.id === id)?.name ?? "—";
  const postName = (id: number | null) => ground.posts.find((p) => p.id === id)?.name ?? t("unassigned_post");
  return (
    <div class="board" data-testid="units-board">
      {[...groups.entries()].map(([zone, posts]) => (
        <section key={String(zone)}>
          <h3>{zoneName(zone)}</h3>
          {[...posts.entries()].map(([postId, list]) => {
            const busy = list.filter((u) => u.incident_id !== null).length;
            return (
              <details key={String(postId)} open={busy > 0}>
                <summary>
                  {postName(postId)} <small>{list.length - busy} {t("units_free")} · {busy} {t("units_busy")}</small>
                </summary>
                <ul>
                  {list.map((u) => (
                    <li key={u.id} data-testid="unit-row" data-unit-id={u.id} data-status={u.status}>
                      <span class={`dot ${u.police ? "police" : "helper"}`} />
                      {u.call_sign} <small>{label("unit_kind", u.kind)}</small>
                      <span class={`badge status-${u.status}`}>{label("unit_status", u.status)}</span>
                      {u.incident_id !== null && <small> #{u.incident_id}</small>}
                    </li>
                  ))}
                </ul>
              </details>
            );
          })}
        </section>
      ))}
    </div>
  );
}

function IntakeForm(props: {
  picked: Point | null;
  onPicking: (on: boolean) => void;
  onCreated: (id: number) => void;
  onCancel: () => void;
}) {
  const [source, setSource] = useState<Schemas["CreateIncidentRequest"]["source"]>("phone");
  // The station's table may not have the shipped codes.
  const [category, setCategory] = useState(() =>
    labelKeys("category").includes("fight_assault") ? "fight_assault" : labelKeys("category")[0],
  );
  const [priority, setPriority] = useState(2);
  const [query, setQuery] = useState("");
  const [places, setPlaces] = useState<Address[]>([]);
  const [place, setPlace] = useState<Address | null>(null);
  const [address, setAddress] = useState("");
  const [callerName, setCallerName] = useState("");
  const [callerPhone, setCallerPhone] = useState("");
  const [summary, setSummary] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    props.onPicking(true);
    return () => props.onPicking(false);
  }, []);
  useEffect(() => {
    const at = props.picked;
    if (!at) return;
    setPlace(null);
    // A click on the map is named: the place there, or the street.
    let live = true;
    void ok(http.GET("/api/addresses/reverse", { params: { query: { lat: at.lat, lon: at.lon } } }))
      .then((r) => {
        if (live && r.address) setAddress(r.address.address);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [props.picked]);
  useEffect(() => {
    const q = query.trim();
    if (!q || (place && q === place.name)) {
      setPlaces([]);
      return;
    }
    const timer = window.setTimeout(async () => {
      try {
        setPlaces(await ok(http.GET("/api/addresses", { params: { query: { q, limit: 8 } } })));
      } catch (e) {
        setError(asApiError(e));
      }
    }, 150);
    return () => window.clearTimeout(timer);
  }, [query]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: Schemas["CreateIncidentRequest"] = { source, category, priority, summary };
    if (place?.place_id != null) body.place_id = place.place_id;
    else if (place) body.location = place.location;
    else if (props.picked) body.location = { lat: props.picked.lat, lon: props.picked.lon };
    if (address.trim()) body.address = address.trim();
    if (callerName.trim()) body.caller_name = callerName.trim();
    if (callerPhone.trim()) body.caller_phone = callerPhone.trim();
    try {
      const created = await ok(http.POST("/api/incidents", { body }));
      props.onCreated(created.incident.id);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel intake" data-testid="intake-form" onSubmit={submit}>
      <h2>{t("new_incident")}</h2>
      <label>
        {t("source")}
        <EnumSelect kind="source" name="source" value={source} onChange={setSource} />
      </label>
      <label>
        {t("category")}
        <EnumSelect kind="category" name="category" value={category} onChange={setCategory} />
      </label>
      <label>
        {t("priority")}
        <select value={priority} onChange={(e) => setPriority(Number(e.currentTarget.value))} name="priority">
          {[1, 2, 3, 4].map((p) => (
            <option value={p}>P{p}</option>
          ))}
        </select>
      </label>
      <label>
        {t("location")}
        <input
          name="place"
          value={query}
          placeholder={t("search_place")}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setPlace(null);
          }}
          autocomplete="off"
        />
      </label>
      {places.length > 0 && (
        <ul class="suggestions" data-testid="place-suggestions">
          {places.map((p) => (
            <li
              key={`${p.kind}:${p.place_id ?? p.name}`}
              data-kind={p.kind}
              onClick={() => {
                setPlace(p);
                setQuery(p.name);
                setPlaces([]);
                if (p.place_id == null && !address.trim()) setAddress(p.address);
              }}
            >
              <b>{p.name}</b> <small>{p.kind === "place" ? p.address : label("address_kind", p.kind)}</small>
            </li>
          ))}
        </ul>
      )}
      <p class="hint">
        {place
          ? `✓ ${place.address}`
          : props.picked
            ? `✓ ${t("picked_on_map")} ${props.picked.lat.toFixed(5)}, ${props.picked.lon.toFixed(5)}`
            : t("or_click_map")}
      </p>
      <label>
        {t("address")}
        <input name="address" value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
      </label>
      <label>
        {t("caller_name")}
        <input name="caller_name" value={callerName} onInput={(e) => setCallerName(e.currentTarget.value)} />
      </label>
      <label>
        {t("caller_phone")}
        <input name="caller_phone" value={callerPhone} onInput={(e) => setCallerPhone(e.currentTarget.value)} />
      </label>
      <label>
        {t("summary")}
        <textarea name="summary" value={summary} onInput={(e) => setSummary(e.currentTarget.value)} />
      </label>
      <ErrorLine error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} data-testid="submit-incident">
          {t("submit_incident")}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("cancel")}
        </button>
      </div>
    </form>
  );
}

function eventDetail(e: IncidentDetail["timeline"][number], units: Map<number, Unit>): string {
  const unit = (id: number | null) => (id === null ? "" : (units.get(id)?.call_sign ?? `#${id}`));
  switch (e.type) {
    case "units_dispatched":
      return e.data.unit_ids.map(unit).join("、");
    case "unit_status_changed":
      return `${unit(e.unit_id)}: ${label("unit_status", e.data.from)} → ${label("unit_status", e.data.to)}`;
    case "incident_status_changed":
      return `${label("incident_status", e.data.from)} → ${label("incident_status", e.data.to)}`;
    case "incident_closed":
      return `${label("disposition", e.data.disposition)}${e.data.remark ? ` · ${e.data.remark}` : ""}`;
    case "note_added":
      return e.data.text;
    case "photo_attached":
      return unit(e.unit_id);
    case "incident_received":
      return `${label("source", e.data.source)} · ${e.data.summary}`;
    case "first_response_accepted":
    case "handed_over":
      return unit(e.unit_id);
    case "first_response_declined":
      return `${unit(e.unit_id)}${e.data.reason ? ` · ${e.data.reason}` : ""}`;
    case "duplicate_linked":
      return `#${e.data.duplicate_of}`;
    case "incidents_merged":
      return `#${e.data.duplicate_id} → #${e.data.into_id}`;
    default:
      return "";
  }
}

/** Where the selected incident's units went while they worked it: each
 * assignment's position reports, from its dispatch until its release (or
 * now), read again when the incident changes. */
function useTracks(selected: number | null, incidents: Incident[]): Track[] {
  const [tracks, setTracks] = useState<Track[]>([]);
  const incident = incidents.find((i) => i.id === selected) ?? null;
  const key = incident ? `${incident.id}:${incident.assignments.map((a) => `${a.unit_id}-${a.released_at ?? ""}`).join(",")}:${incident.status}` : "";
  useEffect(() => {
    if (!incident || incident.assignments.length === 0) {
      setTracks([]);
      return;
    }
    let live = true;
    const week = 7 * 86_400_000;
    const until = new Date(stationNow() + 60_000);
    void Promise.all(
      incident.assignments.map(async (a) => {
        const end = a.released_at ? new Date(Date.parse(a.released_at) + 1000) : until;
        const from = new Date(Math.max(Date.parse(a.assigned_at), end.getTime() - week + 1000));
        try {
          const track = await ok(
            http.GET("/api/units/{id}/track", {
              params: { path: { id: a.unit_id }, query: { from: from.toISOString(), until: end.toISOString(), limit: 5000 } },
            }),
          );
          return { unit_id: a.unit_id, call_sign: "", points: track.points.map((p) => ({ lat: p.lat, lon: p.lon })) };
        } catch {
          return null;
        }
      }),
    ).then((found) => {
      if (live) setTracks(found.filter((t): t is Track => t !== null));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return tracks;
}

/**
 * The road routes of the units on their way to the selected incident
 * (dispatched or en route), read again when they report a new position.
 */
function useRoutes(selected: number | null, incidents: Incident[], units: Map<number, Unit>): Map<number, UnitRoute> {
  const [routes, setRoutes] = useState<Map<number, UnitRoute>>(new Map());
  const incident = incidents.find((i) => i.id === selected) ?? null;
  const going = (incident?.assignments ?? [])
    .filter((a) => a.released_at === null)
    .map((a) => units.get(a.unit_id))
    .filter((u): u is Unit => u !== undefined && (u.status === "dispatched" || u.status === "en_route"));
  const key = going.map((u) => `${u.id}:${u.status}:${u.position_at ?? ""}`).join(",");
  useEffect(() => {
    if (going.length === 0) {
      setRoutes(new Map());
      return;
    }
    let live = true;
    void Promise.all(
      going.map((u) =>
        ok(http.GET("/api/units/{id}/route", { params: { path: { id: u.id } } })).catch(() => null),
      ),
    ).then((found) => {
      // Counted down from when it arrived here, whatever this browser's clock says.
      const arrived = new Date().toISOString();
      if (live) setRoutes(new Map(found.filter((r): r is UnitRoute => r !== null).map((r) => [r.unit_id, { ...r, computed_at: arrived }])));
    });
    return () => {
      live = false;
    };
  }, [selected, key]);
  return routes;
}

/** Seconds until `arriveBy`, ticking every second. */
function EtaCountdown({ route }: { route: UnitRoute }) {
  const now = useNow(1000);
  const left = route.eta_seconds - (now - Date.parse(route.computed_at)) / 1000;
  return (
    <small class="eta" data-testid="eta" data-eta-seconds={Math.round(left)}>
      {" · "}
      {left > 0 ? `${t("eta_left")} ${formatDuration(left)}` : t("eta_due")}
      {route.estimated ? ` ${t("eta_estimated")}` : ""}
    </small>
  );
}

/**
 * A new station's first steps, shown to its administrator until the
 * station has its ground: the package (zones, posts, units, people), the
 * road network, the accounts.
 */
function FirstRun(props: { units: number; onOpenStation: () => void }) {
  const [roads, setRoads] = useState<number | null>(null);
  useEffect(() => {
    void ok(http.GET("/api/map/roads"))
      .then((r) => setRoads(r.features.length))
      .catch(() => setRoads(null));
  }, []);
  const step = (done: boolean, title: string, detail: preact.ComponentChildren) => (
    <li class={done ? "done" : ""} data-done={done ? "true" : "false"}>
      <b>
        {done ? "✓ " : ""}
        {title}
      </b>
      <p class="hint">{detail}</p>
    </li>
  );
  return (
    <section class="panel first-run" data-testid="first-run">
      <h2>{t("first_run_title")}</h2>
      <ol>
        {step(
          false,
          t("first_run_package"),
          <>
            {t("first_run_package_hint")}{" "}
            <button type="button" class="primary" data-testid="open-station" onClick={props.onOpenStation}>
              {t("open_station_admin")}
            </button>
          </>,
        )}
        {step((roads ?? 0) > 0, t("first_run_roads"), (
          <>
            {t("first_run_roads_hint")} <code>precinct import-roads city.osm.pbf --database …</code>
          </>
        ))}
        {step(props.units > 0, t("first_run_accounts"), t("first_run_accounts_hint"))}
      </ol>
    </section>
  );
}

/** Metres between two points (the haversine; for ranking the unit picker). */
function metresBetween(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h));
}

function formatDistance(metres: number): string {
  return metres < 1000 ? `${Math.round(metres / 10) * 10}${t("metres")}` : `${(metres / 1000).toFixed(1)}${t("kilometres")}`;
}

/** Free units whose call sign, name or kind matches `query`, nearest first. */
function matching(free: Unit[], query: string, at: { lat: number; lon: number }): { unit: Unit; metres: number | null }[] {
  const words = query.trim().toLowerCase().split(/\s+/);
  return free
    .filter((u) => {
      const text = `${u.call_sign} ${u.name} ${label("unit_kind", u.kind)} ${u.kind}`.toLowerCase();
      return words.every((w) => text.includes(w));
    })
    .map((unit) => ({ unit, metres: unit.position ? metresBetween(unit.position, at) : null }))
    .sort((a, b) => (a.metres ?? Infinity) - (b.metres ?? Infinity))
    .slice(0, 8);
}

function Recommend(props: { incident: IncidentDetail; units: Map<number, Unit>; onDone: () => void }) {
  const { incident } = props;
  const [plan, setPlan] = useState<Recommendation | null>(null);
  const [chosen, setChosen] = useState<number[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [extra, setExtra] = useState("");
  const [skipped, setSkipped] = useState<number[]>([]);

  const latest = useRef(0);
  const load = async () => {
    const ticket = ++latest.current;
    try {
      const r = await ok(http.GET("/api/incidents/{id}/recommendation", { params: { path: { id: incident.id } } }));
      if (ticket !== latest.current) return;
      setPlan(r);
      setChosen(r.proposed_unit_ids);
      setError(null);
    } catch (e) {
      if (ticket !== latest.current) return;
      setPlan(null);
      setError(asApiError(e));
    }
  };
  useEffect(() => {
    void load();
  }, [incident.id, incident.status, incident.assignments.length]);

  const toggle = (id: number) =>
    setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]));

  const dispatch = async () => {
    if (!plan || chosen.length === 0) return;
    setBusy(true);
    try {
      const same =
        chosen.length === plan.proposed_unit_ids.length && chosen.every((u, k) => u === plan.proposed_unit_ids[k]);
      const send = (body: PostBody<"/api/incidents/{id}/dispatch-plan">) =>
        ok(http.POST("/api/incidents/{id}/dispatch-plan", { params: { path: { id: incident.id } }, body }));
      let sent;
      try {
        sent = await send(same ? {} : { unit_ids: chosen });
      } catch (e) {
        // A unit that declined or withdrew is sent again only when confirmed.
        const refused = asApiError(e);
        if (refused.code !== "confirm_resend" || !window.confirm(errorText(refused))) throw e;
        sent = await send({ unit_ids: chosen, confirm_resend: true });
      }
      setSkipped(sent.skipped_unit_ids);
      setError(null);
      props.onDone();
    } catch (e) {
      setError(asApiError(e));
      void load();
    } finally {
      setBusy(false);
    }
  };

  const free = [...props.units.values()].filter(
    (u) => dispatchable.has(u.status) && u.incident_id === null && !chosen.includes(u.id),
  );
  return (
    <section class="recommendation" data-testid="recommendation">
      <h3>
        {t("recommendation")} {plan?.coordinated && <span class="badge coordinated">{t("coordinated")}</span>}
      </h3>
      {plan?.forces.map((force) => (
        <div class="force" key={force.role}>
          <h4>
            {label("force", force.role)} ×{force.count} <small>{label("travel", force.travel)}</small>
          </h4>
          {force.already_unit_ids.length > 0 && (
            <p class="hint" data-testid="already-sent">
              {t("already_sent")}
              {force.already_unit_ids.map((id) => props.units.get(id)?.call_sign ?? `#${id}`).join("、")}
            </p>
          )}
          {force.shortfall ? (
            <p class="hint" data-testid="shortfall">
              {label("shortfall", force.shortfall)}
            </p>
          ) : (
            force.candidates.length === 0 && <p class="hint">{t("no_candidates")}</p>
          )}
          <ul>
            {force.candidates.slice(0, Math.max(force.count + 2, 3)).map((c) => (
              <li key={c.unit_id} data-testid="candidate" data-unit-id={c.unit_id}>
                <label>
                  <input type="checkbox" checked={chosen.includes(c.unit_id)} onChange={() => toggle(c.unit_id)} />
                  <b>{c.call_sign}</b> <span class="eta">{t("eta")} {formatDuration(c.eta_seconds)}</span>
                  <small>
                    {currentLang() === "zh" ? c.reason_zh : c.reason}
                    {c.stale_minutes !== null && ` · ${t("stale")}`}
                    {c.other_zone && ` · ${t("other_zone")}`}
                    {c.diversion_from !== null && ` · ${t("diversion")} #${c.diversion_from}`}
                  </small>
                </label>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {chosen
        .filter((id) => !plan?.forces.some((f) => f.candidates.some((c) => c.unit_id === id)))
        .map((id) => (
          <p key={id} class="extra-unit">
            + {props.units.get(id)?.call_sign ?? `#${id}`}{" "}
            <button type="button" onClick={() => toggle(id)}>
              {t("remove")}
            </button>
          </p>
        ))}
      <div class="add-unit">
        <label>
          {t("add_unit")}
          <input
            type="search"
            value={extra}
            placeholder={t("add_unit_hint")}
            data-testid="unit-search"
            onInput={(e) => setExtra(e.currentTarget.value)}
          />
        </label>
        {extra.trim() !== "" && (
          <ul class="unit-options">
            {matching(free, extra, incident.location).map(({ unit: u, metres }) => (
              <li key={u.id}>
                <button
                  type="button"
                  data-testid="unit-option"
                  data-unit-id={u.id}
                  onClick={() => {
                    setChosen((c) => [...c, u.id]);
                    setExtra("");
                  }}
                >
                  <b>{u.call_sign}</b> {label("unit_kind", u.kind)} · {label("unit_status", u.status)}
                  {metres !== null && ` · ${t("straight_distance")}${formatDistance(metres)}`}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      <ErrorLine error={error} />
      {skipped.length > 0 && (
        <p class="hint" data-testid="skipped">
          {t("skipped_units")}
          {skipped.map((id) => props.units.get(id)?.call_sign ?? `#${id}`).join("、")}
        </p>
      )}
      {plan && plan.proposed_unit_ids.length === 0 && plan.forces.some((f) => f.already_unit_ids.length > 0) && (
        <p class="hint" data-testid="plan-filled">
          {t("plan_filled")}
        </p>
      )}
      <button
        type="button"
        class="primary big"
        data-testid="dispatch-plan"
        disabled={busy || chosen.length === 0}
        onClick={dispatch}
      >
        {t("dispatch_plan")} ({chosen.length})
      </button>
    </section>
  );
}

function IncidentPanel(props: {
  id: number;
  model: ConsoleModel;
  units: Map<number, Unit>;
  routes: Map<number, UnitRoute>;
  onOpenCase: (from: FromIncident) => void;
}) {
  const touched = useObservable(props.model.touched);
  const resource = useResource(() => ok(http.GET("/api/incidents/{id}", { params: { path: { id: props.id } } })));
  const { value: detail, error, setError, load } = resource;
  const [disposition, setDisposition] = useState<Schemas["CloseRequest"]["disposition"]>("resolved_on_scene");
  const [remark, setRemark] = useState("");
  const [note, setNote] = useState("");

  useEffect(() => {
    resource.reset();
    void load();
  }, [props.id]);
  useEffect(() => {
    if (touched.id === props.id) void load();
  }, [touched]);

  const act = async <P extends PostWithId>(path: P, id: number, body: PostBody<P>) => {
    try {
      await postTo(path, id, body);
      setError(null);
      await load();
    } catch (e) {
      setError(asApiError(e));
    }
  };

  if (!detail) return <div class="panel">{error ? <ErrorLine error={error} /> : "…"}</div>;
  const i = detail;
  const open = i.status !== "closed";
  return (
    <div class="panel detail" data-testid="incident-detail" data-incident-id={i.id} data-status={i.status}>
      <h2>
        <span class={`badge priority p${i.priority}`}>P{i.priority}</span> {label("category", i.category)}{" "}
        <span class={`badge status-${i.status}`} data-testid="incident-status">
          {label("incident_status", i.status)}
        </span>
      </h2>
      <p class="address">
        {i.address}{" "}
        <small>
          {i.outside_ground ? t("outside_ground") : `${i.zone_name ?? ""} · ${i.community_name ?? ""} · ${i.grid_cell_code ?? ""}`}
        </small>
      </p>
      <p>{i.summary}</p>
      <p class="meta">
        {label("source", i.source)} · {t("reported_at")} {formatTime(i.reported_at, true)} · {t("caller_name")}{" "}
        {i.caller.name ?? "—"} {i.caller.phone ?? ""}
      </p>
      {(i.first_response_seconds !== null || i.police_response_seconds !== null) && (
        <p class="meta">
          {i.first_response_seconds !== null && `${t("first_response")} ${formatDuration(i.first_response_seconds)} `}
          {i.police_response_seconds !== null && `· ${t("police_response")} ${formatDuration(i.police_response_seconds)}`}
        </p>
      )}
      {i.disposition && (
        <p class="meta">
          {t("disposition")}: {label("disposition", i.disposition)} {i.closing_remark ?? ""}
        </p>
      )}
      {open && i.duplicate_of !== null && i.merged_into === null && (
        <p class="duplicate">
          {t("likely_duplicate_of")}#{i.duplicate_of}{" "}
          <button type="button" data-testid="merge" onClick={() => i.duplicate_of !== null && act("/api/incidents/{id}/merge", i.id, { into: i.duplicate_of })}>
            {t("merge_into")}
          </button>
        </p>
      )}
      <ErrorLine error={error} />
      {i.assignments.length > 0 && (
        <section>
          <h3>{t("assigned_units")}</h3>
          <ul class="assignments">
            {i.assignments.map((a) => {
              const u = props.units.get(a.unit_id);
              return (
                <li key={`${a.unit_id}-${a.assigned_at}`} data-testid="assignment" data-unit-id={a.unit_id}>
                  <span class={`dot ${a.police ? "police" : "helper"}`} />
                  {u?.call_sign ?? `#${a.unit_id}`} <small>{a.police ? t("police") : t("helper")}</small>{" "}
                  {u && !a.released_at && <span class={`badge status-${u.status}`}>{label("unit_status", u.status)}</span>}
                  {a.arrived_at && <small> · {t("arrived")} {formatTime(a.arrived_at)}</small>}
                  {!a.arrived_at && !a.released_at && props.routes.has(a.unit_id) && <EtaCountdown route={props.routes.get(a.unit_id)!} />}
                  {a.released_at && <small> · {t("released")}</small>}
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {i.photos.length > 0 && (
        <section>
          <h3>{t("photos")}</h3>
          <div class="photos" data-testid="photos">
            {i.photos.map((p) => (
              <a key={p.id} href={p.url} target="_blank" rel="noopener" title={`${p.taken_by} · ${formatTime(p.at)}`}>
                <img src={p.url} alt={t("photo_of_scene")} loading="lazy" data-photo-id={p.id} />
              </a>
            ))}
          </div>
        </section>
      )}
      {i.recurrent_dispute_ids.length > 0 && (
        <p data-testid="recurrence">
          <span class="badge recurrence">
            {t("recurrence")} {i.recurrent_dispute_ids.map((d) => `#${d}`).join(" ")}
          </span>
        </p>
      )}
      {i.disposition === "referred_to_mediation" && (
        <button
          type="button"
          class="primary"
          data-testid="open-case-from-incident"
          onClick={() =>
            props.onOpenCase({
              incident_id: i.id,
              category: i.category,
              summary: i.summary,
              address: i.address,
              caller: i.caller.name && i.caller.phone ? `${i.caller.name} ${i.caller.phone}` : i.caller.name,
            })
          }
        >
          {t("open_case_from_incident")}
        </button>
      )}
      {open && <Recommend incident={i} units={props.units} onDone={load} />}
      {open && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            if (note.trim()) void act("/api/incidents/{id}/notes", i.id, { text: note.trim() }).then(() => setNote(""));
          }}
        >
          <input value={note} placeholder={t("note")} onInput={(e) => setNote(e.currentTarget.value)} />
          <button type="submit">{t("add_note")}</button>
        </form>
      )}
      {open && (
        <form
          class="inline close"
          data-testid="close-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act("/api/incidents/{id}/close", i.id, { disposition, remark: remark.trim() || undefined });
          }}
        >
          <EnumSelect kind="disposition" name="disposition" value={disposition} onChange={setDisposition} only={(d) => d !== "merged_as_duplicate"} />
          <input value={remark} placeholder={t("remark")} onInput={(e) => setRemark(e.currentTarget.value)} />
          <button type="submit" data-testid="close-incident">
            {t("close_incident")}
          </button>
        </form>
      )}
      <section>
        <h3>{t("timeline")}</h3>
        <ol class="timeline" data-testid="timeline">
          {i.timeline.map((e) => (
            <li key={e.id} data-type={e.type}>
              <time>{formatTime(e.at)}</time> <b>{label("event", e.type)}</b> {eventDetail(e, props.units)}{" "}
              <small>{label("system_actor", e.actor_name)}</small>
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

export function Console(props: { user: User; config: ConsoleConfig; ground: Jurisdiction; onLogout: () => void }) {
  dispatchable = new Set(props.config.dispatchable_statuses);
  const model = useMemo(() => new ConsoleModel(), []);
  const incidents = useObservable(model.incidents);
  const units = useObservable(model.units);
  const closures = useObservable(model.closures);
  const live = useObservable(model.live);
  const [selected, setSelected] = useState<number | null>(null);
  const tracks = useTracks(selected, incidents);
  const routes = useRoutes(selected, incidents, units);
  const routeLines = useMemo(
    () => [...routes.values()].map((r) => ({ unit_id: r.unit_id, call_sign: units.get(r.unit_id)?.call_sign ?? "", points: r.path })),
    [routes],
  );
  const [tab, setTab] = useState<"queue" | "units">("queue");
  const [intake, setIntake] = useState(false);
  const [picking, setPicking] = useState(false);
  const [picked, setPicked] = useState<Point | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [view, setView] = useState<View>("command");
  // The ground as last read: an imported station package replaces it.
  const [ground, setGround] = useState(props.ground);
  const stationImports = useObservable(model.stationImports);
  useEffect(() => {
    if (stationImports > 0)
      void ok(http.GET("/api/jurisdiction")).then((fresh) => {
        setCategories(fresh.categories);
        setGround(fresh);
      });
  }, [stationImports]);
  const [fromIncident, setFromIncident] = useState<FromIncident | null>(null);

  useEffect(() => {
    window.__precinct = { model };
    void model.start().then(() => setLoaded(true));
    return () => model.stop();
  }, []);
  useEffect(() => {
    if (loaded && window.__precinct && window.__precinct.firstRender === undefined) {
      window.__precinct.firstRender = performance.now();
    }
  }, [loaded]);

  const unitList = useMemo(() => [...units.values()], [units]);
  return (
    <div class="console">
      <Header
        user={props.user}
        title={props.config.station_name}
        live={live}
        onLogout={props.onLogout}
        view={view}
        onView={setView}
      />
      {view === "disputes" && <DisputesView from={fromIncident} onFromUsed={() => setFromIncident(null)} />}
      {view === "station" && <StationAdmin onImported={() => model.refreshUnits()} />}
      {view === "intel" && <IntelView ground={ground} timeZone={props.config.time_zone} />}
      <main class="console-main" hidden={view !== "command"}>
        <aside class="left">
          <nav class="tabs">
            <button type="button" class={tab === "queue" ? "on" : ""} onClick={() => setTab("queue")} data-testid="tab-queue">
              {t("queue")} <span class="count">{incidents.length}</span>
            </button>
            <button type="button" class={tab === "units" ? "on" : ""} onClick={() => setTab("units")} data-testid="tab-units">
              {t("units_board")}
            </button>
            <button
              type="button"
              class="primary"
              data-testid="new-incident"
              onClick={() => {
                setPicked(null);
                setIntake(true);
              }}
            >
              + {t("new_incident")}
            </button>
          </nav>
          {loaded && tab === "queue" && (
            <Queue
              incidents={incidents}
              config={props.config}
              selected={selected}
              onSelect={(id) => {
                setIntake(false);
                setSelected(id);
              }}
            />
          )}
          {loaded && tab === "units" && <UnitsBoard units={unitList} ground={ground} />}
        </aside>
        <section class="center">
          <MapView
            key={stationImports}
            ground={ground}
            incidents={incidents}
            units={unitList}
            closures={closures}
            selected={selected}
            picked={intake ? picked : null}
            onSelectIncident={(id) => {
              setIntake(false);
              setSelected(id);
            }}
            onPick={picking ? setPicked : undefined}
            basemapUrl={props.config.basemap_url}
            tilesUrl={props.config.tiles_url}
            tracks={tracks}
            routes={routeLines}
          />
        </section>
        <aside class="right">
          {intake ? (
            <IntakeForm
              picked={picked}
              onPicking={setPicking}
              onCreated={(id) => {
                setIntake(false);
                setSelected(id);
              }}
              onCancel={() => setIntake(false)}
            />
          ) : selected !== null ? (
            <IncidentPanel
              id={selected}
              model={model}
              units={units}
              routes={routes}
              onOpenCase={(from) => {
                setFromIncident(from);
                setView("disputes");
              }}
            />
          ) : props.user.allowed_actions.includes("manage_station") && ground.zones.length === 0 ? (
            <FirstRun units={unitList.length} onOpenStation={() => setView("station")} />
          ) : (
            <p class="panel hint">{t("select_incident")}</p>
          )}
        </aside>
      </main>
    </div>
  );
}
