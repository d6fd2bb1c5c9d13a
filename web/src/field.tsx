// The field view, phone-sized: my current task with its first-response
// instruction, a small map of the way there with its ETA and a button that
// opens the phone's own navigation, accept/decline, status buttons, notes,
// position sharing from the browser's geolocation, and a report of what I
// see (义警上报: category, note, photo, my position).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  ApiError,
  http,
  ok,
  postForm,
  postTo,
  type FieldReport,
  type PostBody,
  type PostWithId,
  type Incident,
  type Point,
  type Task,
  type Unit,
  type UnitRoute,
  type User,
} from "./api";
import { LangSwitch } from "./header";
import { useLang, useNow, useObservable, Observable } from "./hooks";
import { EnumSelect } from "./ui";
import { currentLang, errorText, formatDuration, formatTime, label, t } from "./i18n";
import { LiveStream, type LiveState } from "./live";

/** Report at most this often while the position changes. */
const POSITION_EVERY_MS = 10_000;

export function Field({ user, onLogout }: { user: User; onLogout: () => void }) {
  useLang();
  const [unit, setUnit] = useState<Unit | null>(null);
  const [task, setTask] = useState<Task | null>(null);
  const [incident, setIncident] = useState<Incident | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [note, setNote] = useState("");
  const [reason, setReason] = useState("");
  const [sharing, setSharing] = useState(false);
  const [lastShared, setLastShared] = useState<string | null>(null);
  const [route, setRoute] = useState<UnitRoute | null>(null);
  const liveState = useMemo(() => new Observable<LiveState>("connecting"), []);
  const live = useObservable(liveState);
  const loading = useRef(false);
  const again = useRef(false);
  const unitId = user.unit_id;

  // One load at a time; a load asked for meanwhile runs right after, so the
  // page never settles on data read before the latest change.
  const load = async (): Promise<void> => {
    if (unitId === null) return;
    if (loading.current) {
      again.current = true;
      return;
    }
    loading.current = true;
    try {
      const units = await ok(http.GET("/api/units"));
      const mine = units.find((u) => u.id === unitId) ?? null;
      setUnit(mine);
      if (mine && !mine.police) {
        try {
          const t = await ok(http.GET("/api/units/{id}/task", { params: { path: { id: unitId } } }));
          setTask(t);
          setIncident(t.incident);
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) {
            setTask(null);
            setIncident(null);
          } else throw e;
        }
      } else if (mine && mine.incident_id !== null) {
        setIncident(await ok(http.GET("/api/incidents/{id}", { params: { path: { id: mine.incident_id } } })));
      } else {
        setIncident(null);
      }
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, "unknown", String(e), String(e)));
    } finally {
      loading.current = false;
      if (again.current) {
        again.current = false;
        void load();
      }
    }
  };

  useEffect(() => {
    void load();
    let timer: number | undefined;
    const stream = new LiveStream({
      onEvent: () => {
        window.clearTimeout(timer);
        timer = window.setTimeout(load, 100);
      },
      onState: (s) => liveState.set(s),
      onResumed: () => void load(),
    });
    stream.start();
    return () => stream.stop();
  }, []);

  useEffect(() => {
    if (!sharing || unitId === null) return;
    if (!("geolocation" in navigator)) {
      setError(new ApiError(0, "no_geolocation", "this browser cannot share its position", "浏览器不支持定位"));
      setSharing(false);
      return;
    }
    let last = 0;
    const watch = navigator.geolocation.watchPosition(
      async (p) => {
        const now = Date.now();
        if (now - last < POSITION_EVERY_MS) return;
        last = now;
        try {
          await ok(http.POST("/api/units/{id}/position", { params: { path: { id: unitId } }, body: { lat: p.coords.latitude, lon: p.coords.longitude } }));
          setLastShared(new Date().toISOString());
        } catch (e) {
          if (e instanceof ApiError) setError(e);
        }
      },
      (e) => setError(new ApiError(0, "geolocation", e.message, "定位失败：" + e.message)),
      { enableHighAccuracy: true, maximumAge: 5000 },
    );
    return () => navigator.geolocation.clearWatch(watch);
  }, [sharing]);

  // The way to the incident while dispatched or en route, read again as
  // the unit reports where it is.
  const going = unit !== null && incident !== null && (unit.status === "dispatched" || unit.status === "en_route");
  useEffect(() => {
    if (!going || unitId === null) {
      setRoute(null);
      return;
    }
    let live = true;
    void ok(http.GET("/api/units/{id}/route", { params: { path: { id: unitId } } }))
      .then((r) => live && setRoute({ ...r, computed_at: new Date().toISOString() }))
      .catch(() => live && setRoute(null));
    return () => {
      live = false;
    };
  }, [going, unit?.position_at, incident?.id]);

  const act = async <P extends PostWithId>(path: P, id: number, body: PostBody<P>) => {
    try {
      await postTo(path, id, body);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError) setError(e);
    }
    await load();
  };
  const status = (to: PostBody<"/api/units/{id}/status">["status"]) => unitId !== null && act("/api/units/{id}/status", unitId, { status: to });

  if (unitId === null) {
    return (
      <div class="field">
        <p>{t("not_for_role")}</p>
        <a href="/">{t("go_console")}</a>
      </div>
    );
  }
  const s = unit?.status;
  // What the unit may report next is the server's transition table.
  const can = (to: Unit["status"]) => unit?.next_statuses.includes(to) ?? false;
  const onIncident = unit?.incident_id != null;
  return (
    <div class="field" data-testid="field-view" data-unit-status={s ?? ""}>
      <header class="top">
        <h1>{t("field_title")}</h1>
        <span class={`live ${live}`} data-testid="live-state" data-state={live}>
          ●
        </span>
        <LangSwitch />
        <button type="button" onClick={onLogout}>
          {t("logout")}
        </button>
      </header>
      <p class="meta">
        {t("my_unit")}: <b>{unit?.call_sign ?? "…"}</b> {user.display_name}{" "}
        {s && (
          <span class={`badge status-${s}`} data-testid="my-status">
            {label("unit_status", s)}
          </span>
        )}
      </p>
      {error && (
        <p class="error" role="alert" data-testid="error" data-code={error.code}>
          {errorText(error)}
        </p>
      )}
      {!incident && <p class="hint big" data-testid="no-task">{t("no_task")}</p>}
      {incident && (
        <section class="task" data-testid="task" data-incident-id={incident.id}>
          <h2>
            <span class={`badge priority p${incident.priority}`}>P{incident.priority}</span>{" "}
            {label("category", incident.category)}
          </h2>
          <p class="address">{incident.address}</p>
          {route && <RouteCard route={route} incident={incident} />}
          <p>{incident.summary}</p>
          <p class="meta">
            {t("received_at")} {formatTime(incident.received_at)}
          </p>
          {task && (
            <div class="instruction" data-testid="instruction">
              <h3>{t("instruction")}</h3>
              <p>{currentLang() === "zh" ? task.instruction_zh : task.instruction_en}</p>
              <p class={task.police_on_scene ? "ok" : "hint"}>
                {task.police_on_scene ? t("police_on_scene") : t("police_not_yet")}
              </p>
            </div>
          )}
          {task?.arrived_at && (
            <p class="meta">
              {t("arrived")} {formatTime(task.arrived_at)} ({formatDuration((Date.parse(task.arrived_at) - Date.parse(task.assigned_at)) / 1000)})
            </p>
          )}
          <div class="buttons">
            {task && !task.accepted_at && s === "dispatched" && (
              <>
                <button type="button" class="primary big" data-testid="accept" onClick={() => act("/api/units/{id}/task/accept", unitId, {})}>
                  {t("accept")}
                </button>
                <input value={reason} placeholder={t("decline_reason")} onInput={(e) => setReason(e.currentTarget.value)} />
                <button
                  type="button"
                  class="big"
                  data-testid="decline"
                  onClick={() => act("/api/units/{id}/task/decline", unitId, { reason: reason.trim() || undefined })}
                >
                  {t("decline")}
                </button>
              </>
            )}
            {!task && onIncident && can("en_route") && (
              <button type="button" class="primary big" data-testid="en-route" onClick={() => status("en_route")}>
                {t("en_route")}
              </button>
            )}
            {onIncident && can("on_scene") && (task === null || task.accepted_at) && (
              <button type="button" class="primary big" data-testid="on-scene" onClick={() => status("on_scene")}>
                {t("on_scene")}
              </button>
            )}
            {task && s === "on_scene" && (
              <button
                type="button"
                class="primary big"
                data-testid="hand-over"
                disabled={!task.police_on_scene}
                onClick={() => act("/api/units/{id}/task/handover", unitId, {})}
              >
                {t("handed_over")}
              </button>
            )}
            {!task && onIncident && can("on_patrol") && !can("on_scene") && (
              <button type="button" class="big" data-testid="clear" onClick={() => status("on_patrol")}>
                {t("clear")}
              </button>
            )}
          </div>
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (note.trim()) void act("/api/incidents/{id}/notes", incident.id, { text: note.trim() }).then(() => setNote(""));
            }}
          >
            <input value={note} placeholder={t("note")} onInput={(e) => setNote(e.currentTarget.value)} data-testid="note-input" />
            <button type="submit">{t("add_note")}</button>
          </form>
        </section>
      )}
      <section class="share">
        <button
          type="button"
          class={sharing ? "on big" : "big"}
          data-testid="share-position"
          onClick={() => setSharing(!sharing)}
        >
          {sharing ? t("sharing_position") : t("share_position")}
        </button>
        {lastShared && (
          <small data-testid="position-shared">
            {t("position_shared")} {formatTime(lastShared)}
          </small>
        )}
      </section>
      <FieldReportForm />
    </div>
  );
}

/** A photo scaled down to at most 1600 px on its longer side, as JPEG. */
async function scaled(file: File): Promise<Blob> {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d")?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.82));
    return blob ?? file;
  } catch {
    return file;
  }
}

/** Where the phone is now (one fix), or an error in the user's language. */
function here(): Promise<Point> {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) {
      reject(new ApiError(0, "no_geolocation", "this browser cannot share its position", "浏览器不支持定位"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      (e) => reject(new ApiError(0, "geolocation", e.message, "定位失败：" + e.message)),
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 },
    );
  });
}

/** 义警上报: what a volunteer or grid worker sees, sent with their position. */
function FieldReportForm() {
  const [open, setOpen] = useState(false);
  const [category, setCategory] = useState("public_disturbance");
  const [note, setNote] = useState("");
  const [photo, setPhoto] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [sent, setSent] = useState<FieldReport | null>(null);
  const send = async () => {
    setBusy(true);
    setError(null);
    try {
      const at = await here();
      const form = new FormData();
      form.append("category", category);
      form.append("note", note.trim());
      form.append("lat", String(at.lat));
      form.append("lon", String(at.lon));
      if (photo) form.append("photo", await scaled(photo), "scene.jpg");
      setSent(await postForm<FieldReport>("/api/field-reports", form));
      setNote("");
      setPhoto(null);
      setOpen(false);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, "unknown", String(e), String(e)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="report" data-testid="field-report">
      {!open && (
        <button type="button" class="big" data-testid="open-report" onClick={() => setOpen(true)}>
          {t("field_report")}
        </button>
      )}
      {sent && !open && (
        <p class="ok" data-testid="report-sent" data-incident-id={sent.incident.id}>
          {t("report_sent")} · #{sent.incident.id} {sent.incident.address}
        </p>
      )}
      {open && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <h2>{t("field_report")}</h2>
          <p class="hint">{t("field_report_hint")}</p>
          <label>
            {t("category")} <EnumSelect kind="category" name="category" value={category} onChange={setCategory} />
          </label>
          <textarea
            data-testid="report-note"
            value={note}
            maxLength={500}
            placeholder={t("report_what")}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
          <label>
            {t("report_photo")}{" "}
            <input
              type="file"
              accept="image/*"
              capture="environment"
              data-testid="report-photo"
              onChange={(e) => setPhoto(e.currentTarget.files?.[0] ?? null)}
            />
          </label>
          {error && (
            <p class="error" role="alert" data-testid="report-error" data-code={error.code}>
              {errorText(error)}
            </p>
          )}
          <div class="buttons">
            <button type="submit" class="primary big" disabled={busy} data-testid="send-report">
              {busy ? t("locating") : t("report_send")}
            </button>
            <button type="button" class="big" onClick={() => setOpen(false)}>
              {t("cancel")}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

/** The way to the task: a small drawing of the route (no tiles needed),
 * the ETA counting down, and the phone's own navigation app. */
function RouteCard({ route, incident }: { route: UnitRoute; incident: Incident }) {
  const now = useNow(1000);
  const left = route.eta_seconds - (now - Date.parse(route.computed_at)) / 1000;
  const [w, h, pad] = [320, 160, 12];
  const lats = route.path.map((p) => p.lat);
  const lons = route.path.map((p) => p.lon);
  const [s, n, west, e] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const k = Math.cos(((s + n) / 2) * (Math.PI / 180));
  const span = Math.max((e - west) * k, n - s, 1e-5);
  const scale = Math.min((w - 2 * pad) / span, (h - 2 * pad) / span);
  const xy = (p: Point): [number, number] => [pad + (p.lon - west) * k * scale, h - pad - (p.lat - s) * scale];
  const line = route.path.map((p) => xy(p).join(",")).join(" ");
  const [sx, sy] = xy(route.path[0]);
  const [ex, ey] = xy(route.path[route.path.length - 1]);
  const dest = incident.location;
  const geo = `geo:${dest.lat},${dest.lon}?q=${dest.lat},${dest.lon}(${encodeURIComponent(incident.address || `#${incident.id}`)})`;
  return (
    <div class="route-card" data-testid="route-card" data-route-points={route.path.length}>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={t("route_map")} class="route-map">
        <rect width={w} height={h} fill="#eef2f6" rx="6" />
        <polyline points={line} fill="none" stroke="#e67e22" stroke-width="4" stroke-linejoin="round" stroke-linecap="round" />
        <circle cx={sx} cy={sy} r="6" fill="#1f618d" stroke="#fff" stroke-width="2" />
        <circle cx={ex} cy={ey} r="7" fill="#c0392b" stroke="#fff" stroke-width="2" />
      </svg>
      <p class="meta" data-testid="route-eta">
        {Math.round(route.distance_m)} m · {left > 0 ? `${t("eta_left")} ${formatDuration(left)}` : t("eta_due")}
        {route.estimated ? ` ${t("eta_estimated")}` : ""}
      </p>
      <a class="button big" href={geo} data-testid="navigate">
        {t("navigate")}
      </a>
    </div>
  );
}
