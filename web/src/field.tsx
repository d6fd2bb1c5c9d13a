// The field view, phone-sized: my current task with its first-response
// instruction, accept/decline, status buttons, notes, and position sharing
// from the browser's geolocation.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, http, ok, postTo, type PostBody, type PostWithId, type Incident, type Task, type Unit, type User } from "./api";
import { LangSwitch } from "./header";
import { useLang, useObservable, Observable } from "./hooks";
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
    </div>
  );
}
