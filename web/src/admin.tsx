// The administrator's station pages (站点管理): upload a station package
// and read its validation report and diff, apply it, hand out one-time
// passwords; the ground on the map with every layer; units and people as
// searchable tables (edit one record, disable an account, reset a
// password or a second factor); open sessions, each revocable; download
// the template and the current station.

import { useEffect, useMemo, useState } from "preact/hooks";
import {
  ApiError,
  http,
  ok,
  upload,
  type Jurisdiction,
  type OneTimePassword,
  type StationReport,
  type Unit,
} from "./api";
import { useLang } from "./hooks";
import { currentLang, errorText, formatTime, label, t } from "./i18n";
import { MapView } from "./map";
import { ErrorLine, asApiError, useResource } from "./ui";

type Tab = "package" | "ground" | "units" | "people" | "sessions";

export function StationAdmin(props: { onImported: () => void }) {
  useLang();
  const [tab, setTab] = useState<Tab>("package");
  // Bumped by every import, so the other tabs read the station again.
  const [version, setVersion] = useState(0);
  return (
    <main class="admin" data-testid="station-admin">
      <nav class="tabs">
        {(["package", "ground", "units", "people", "sessions"] as const).map((v) => (
          <button type="button" class={tab === v ? "on" : ""} data-testid={`admin-tab-${v}`} onClick={() => setTab(v)}>
            {t(`admin_${v}`)}
          </button>
        ))}
      </nav>
      {tab === "package" && (
        <PackagePanel
          onImported={() => {
            setVersion(version + 1);
            props.onImported();
          }}
        />
      )}
      {tab === "ground" && <GroundPanel key={version} />}
      {tab === "units" && <UnitsPanel key={version} />}
      {tab === "people" && <PeoplePanel key={version} />}
      {tab === "sessions" && <SessionsPanel />}
    </main>
  );
}

function PackagePanel(props: { onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [report, setReport] = useState<StationReport | null>(null);
  const [imported, setImported] = useState<StationReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const run = async (path: "/api/station/validate" | "/api/station/import") => {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await upload<StationReport>(path, file);
      if (path.endsWith("/import")) {
        setImported(answer);
        setReport(null);
        props.onImported();
      } else {
        setReport(answer);
        setImported(null);
      }
    } catch (e) {
      const failure = asApiError(e);
      // A refused import lists its problems like a validation does.
      const problems = (failure.body as { problems?: StationReport["problems"] } | null)?.problems;
      const body = failure.body as { problems?: StationReport["problems"]; warnings?: StationReport["warnings"] } | null;
      if (problems) setReport({ valid: false, problems, warnings: body?.warnings ?? [], changes: [], accounts: [] });
      else setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel">
      <h2>{t("station_package")}</h2>
      <p class="hint">{t("station_package_hint")}</p>
      <p class="actions">
        <a href="/api/station/template" download data-testid="download-template">
          {t("download_template")}
        </a>{" "}
        <a href="/api/station/export" download data-testid="export-station">
          {t("export_station")}
        </a>
      </p>
      <label>
        {t("package_file")}
        <input
          type="file"
          accept=".zip,application/zip"
          data-testid="package-file"
          onChange={(e) => {
            setFile(e.currentTarget.files?.[0] ?? null);
            setReport(null);
            setImported(null);
          }}
        />
      </label>
      <p class="actions">
        <button type="button" disabled={!file || busy} data-testid="validate-package" onClick={() => run("/api/station/validate")}>
          {t("validate_package")}
        </button>
        <button
          type="button"
          class="primary"
          disabled={!file || busy || !report?.valid}
          data-testid="import-package"
          onClick={() => run("/api/station/import")}
        >
          {t("import_package")}
        </button>
      </p>
      <ErrorLine error={error} />
      {report && !report.valid && <Problems problems={report.problems} title={t("package_problems")} testid="problems" />}
      {report?.valid && <Changes report={report} title={t("package_valid")} />}
      {report && report.warnings.length > 0 && (
        <Problems problems={report.warnings} title={t("package_warnings")} testid="warnings" />
      )}
      {imported && (
        <div data-testid="import-result">
          <Changes report={imported} title={t("package_imported")} />
          {imported.warnings.length > 0 && (
            <Problems problems={imported.warnings} title={t("package_warnings")} testid="warnings" />
          )}
          {imported.accounts.length > 0 && <Passwords accounts={imported.accounts} />}
        </div>
      )}
    </section>
  );
}

// Problems (nothing can be imported) or warnings (ignored), by file, sheet, row and column.
function Problems({ problems, title, testid }: { problems: StationReport["problems"]; title: string; testid: string }) {
  return (
    <div data-testid={testid}>
      <p class={testid === "warnings" ? "hint" : "error"}>
        {title} {problems.length}
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th>{t("file")}</th>
            <th>{t("sheet")}</th>
            <th>{t("row")}</th>
            <th>{t("column")}</th>
            <th>{t("problem")}</th>
          </tr>
        </thead>
        <tbody>
          {problems.map((p) => (
            <tr data-testid={testid === "warnings" ? "warning" : "problem"} data-file={p.file} data-row={p.row ?? p.feature ?? ""}>
              <td>{p.file}</td>
              <td>{p.sheet ?? ""}</td>
              <td>{p.row ?? (p.feature !== null ? `#${p.feature}` : "")}</td>
              <td>{p.column ?? ""}</td>
              <td>{errorText(p)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Changes({ report, title }: { report: StationReport; title: string }) {
  return (
    <div data-testid="changes">
      <p class="ok">{title}</p>
      <table class="grid">
        <thead>
          <tr>
            <th />
            <th>{t("added")}</th>
            <th>{t("changed")}</th>
            <th>{t("retired")}</th>
            <th>{t("unchanged")}</th>
          </tr>
        </thead>
        <tbody>
          {report.changes.map((c) => (
            <tr data-testid={`change-${c.layer}`} data-added={c.added}>
              <td>{currentLang() === "en" ? c.layer : c.layer_zh}</td>
              <td>{c.added}</td>
              <td>{c.changed}</td>
              <td>{c.retired}</td>
              <td>{c.unchanged}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The one-time passwords as a CSV sheet (UTF-8 with a byte-order mark,
 * so Excel opens the Chinese names right), made in the browser. */
function passwordSheet(accounts: OneTimePassword[]): string {
  const cell = (v: string) => `"${v.replace(/"/g, '""')}"`;
  const rows = [[t("username"), t("display_name"), t("one_time_password")], ...accounts.map((a) => [a.username, a.display_name, a.one_time_password])];
  return "\ufeff" + rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

function Passwords({ accounts }: { accounts: OneTimePassword[] }) {
  const download = () => {
    const url = URL.createObjectURL(new Blob([passwordSheet(accounts)], { type: "text/csv;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "one-time-passwords.csv";
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <div data-testid="one-time-passwords" class="printable">
      <p class="warning">{t("one_time_passwords_hint")}</p>
      <p class="actions no-print">
        <button type="button" data-testid="download-passwords" onClick={download}>
          {t("download_passwords")}
        </button>{" "}
        <button
          type="button"
          onClick={() => {
            document.body.classList.add("print-passwords");
            window.print();
            document.body.classList.remove("print-passwords");
          }}
        >
          {t("print_passwords")}
        </button>
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th>{t("username")}</th>
            <th>{t("display_name")}</th>
            <th>{t("one_time_password")}</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr>
              <td>{a.username}</td>
              <td>{a.display_name}</td>
              <td>
                <code>{a.one_time_password}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Layer = "zones" | "communities" | "grid_cells" | "posts" | "places" | "cameras" | "organisations";

/** One row of a ground layer as the table shows it. */
interface GroundRow {
  id: number;
  code: string;
  name: string;
  detail: string;
}

function groundRows(ground: Jurisdiction, layer: Layer): GroundRow[] {
  const community = (id: number | null | undefined) => ground.communities.find((c) => c.id === id)?.name ?? "";
  const zone = (id: number | null | undefined) => ground.zones.find((z) => z.id === id)?.name ?? "";
  switch (layer) {
    case "zones":
      return ground.zones.map((z) => ({ id: z.id, code: z.code, name: z.name, detail: "" }));
    case "communities":
      return ground.communities.map((c) => ({ id: c.id, code: c.code ?? "", name: c.name, detail: zone(c.zone_id) }));
    case "grid_cells":
      return ground.grid_cells.map((g) => ({ id: g.id, code: g.code, name: g.name ?? "", detail: community(g.community_id) }));
    case "posts":
      return ground.posts.map((p) => ({
        id: p.id,
        code: p.code ?? "",
        name: p.name,
        detail: `${label("post_kind", p.kind)} · ${zone(p.zone_id)}`,
      }));
    case "places":
      return ground.places.map((p) => ({
        id: p.id,
        code: p.code ?? "",
        name: p.name,
        detail: [p.address, community(p.community_id), ...(p.aliases ?? [])].filter(Boolean).join(" · "),
      }));
    case "cameras":
      return (ground.cameras ?? []).map((c) => ({
        id: c.id,
        code: c.code ?? "",
        name: c.name,
        detail: [community(c.community_id), c.stream_url].filter(Boolean).join(" · "),
      }));
    case "organisations":
      return (ground.organisations ?? []).map((o) => ({ id: o.id, code: o.code ?? "", name: o.name, detail: label("organisation_kind", o.kind) }));
  }
}

function GroundPanel() {
  const [ground, setGround] = useState<Jurisdiction | null>(null);
  const [units, setUnits] = useState<Unit[]>([]);
  const [layer, setLayer] = useState<Layer>("communities");
  const [query, setQuery] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    Promise.all([ok(http.GET("/api/jurisdiction")), ok(http.GET("/api/units"))])
      .then(([g, u]) => {
        setGround(g);
        setUnits(u);
      })
      .catch((e) => setError(asApiError(e)));
  }, []);
  const rows = useMemo(() => (ground ? groundRows(ground, layer) : []), [ground, layer]);
  const shown = rows.filter((r) => !query || `${r.code} ${r.name} ${r.detail}`.includes(query));
  if (error) return <ErrorLine error={error} />;
  if (!ground) return <p class="hint">…</p>;
  return (
    <div class="admin-ground">
      <section class="center">
        <MapView
          ground={ground}
          incidents={[]}
          units={units}
          closures={[]}
          selected={null}
          picked={null}
          onSelectIncident={() => undefined}
        />
      </section>
      <section class="panel">
        <nav class="tabs">
          {(["zones", "communities", "grid_cells", "posts", "places", "cameras", "organisations"] as const).map((l) => (
            <button type="button" class={layer === l ? "on" : ""} data-testid={`layer-${l}`} onClick={() => setLayer(l)}>
              {label("layer", l)}
            </button>
          ))}
        </nav>
        <input placeholder={t("search")} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <table class="grid" data-testid="ground-table">
          <thead>
            <tr>
              <th>{t("code")}</th>
              <th>{t("name")}</th>
              <th>{t("details")}</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, 500).map((r) => (
              <tr>
                <td>{r.code}</td>
                <td>{r.name}</td>
                <td>{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="hint">
          {shown.length} / {rows.length}
        </p>
      </section>
    </div>
  );
}

function UnitsPanel() {
  const { value: units, error, load } = useResource(() => ok(http.GET("/api/units")));
  const [query, setQuery] = useState("");
  const [editing, setEditing] = useState<number | null>(null);
  useEffect(() => void load(), []);
  if (!units) return <ErrorLine error={error} />;
  const shown = units.filter((u) => !query || `${u.call_sign} ${u.name} ${u.kind} ${u.phone ?? ""}`.includes(query));
  return (
    <section class="panel">
      <input placeholder={t("search")} value={query} data-testid="units-search" onInput={(e) => setQuery(e.currentTarget.value)} />
      <ErrorLine error={error} />
      <table class="grid" data-testid="units-table">
        <thead>
          <tr>
            <th>{t("call_sign")}</th>
            <th>{t("name")}</th>
            <th>{t("kind")}</th>
            <th>{t("status")}</th>
            <th>{t("phone")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, 500).map((u) =>
            editing === u.id ? (
              <EditRow
                key={u.id}
                fields={{ name: u.name, phone: u.phone ?? "" }}
                onCancel={() => setEditing(null)}
                onSave={async (fields) => {
                  await ok(http.POST("/api/admin/units/{id}", { params: { path: { id: u.id } }, body: fields }));
                  setEditing(null);
                  await load();
                }}
              />
            ) : (
              <tr data-testid="unit-row" data-call-sign={u.call_sign}>
                <td>{u.call_sign}</td>
                <td>{u.name}</td>
                <td>{label("unit_kind", u.kind)}</td>
                <td>{label("unit_status", u.status)}</td>
                <td>{u.phone ?? ""}</td>
                <td>
                  <button type="button" onClick={() => setEditing(u.id)}>
                    {t("edit")}
                  </button>
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      <p class="hint">
        {shown.length} / {units.length}
      </p>
    </section>
  );
}

/** An inline form for a record's text fields. */
function EditRow(props: {
  fields: Record<string, string>;
  onSave: (fields: Record<string, string>) => Promise<void>;
  onCancel: () => void;
}) {
  const [fields, setFields] = useState(props.fields);
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <tr class="editing">
      <td colSpan={6}>
        {Object.entries(fields).map(([key, value]) => (
          <label>
            {t(key as "name")}
            <input name={key} value={value} onInput={(e) => setFields({ ...fields, [key]: e.currentTarget.value })} />
          </label>
        ))}
        <button
          type="button"
          class="primary"
          data-testid="save-record"
          onClick={async () => {
            try {
              await props.onSave(fields);
            } catch (e) {
              setError(asApiError(e));
            }
          }}
        >
          {t("save")}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("cancel")}
        </button>
        <ErrorLine error={error} />
      </td>
    </tr>
  );
}

function PeoplePanel() {
  const { value: accounts, error, setError, load } = useResource(() => ok(http.GET("/api/admin/users")));
  const [query, setQuery] = useState("");
  const [editing, setEditing] = useState<number | null>(null);
  const [reset, setReset] = useState<OneTimePassword | null>(null);
  useEffect(() => void load(), []);
  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      await load();
    } catch (e) {
      setError(asApiError(e));
    }
  };
  if (!accounts) return <ErrorLine error={error} />;
  const shown = accounts.filter(
    (a) => !query || `${a.username} ${a.display_name} ${a.role} ${a.unit_call_sign ?? ""} ${a.phone ?? ""}`.includes(query),
  );
  return (
    <section class="panel">
      <input placeholder={t("search")} value={query} data-testid="people-search" onInput={(e) => setQuery(e.currentTarget.value)} />
      <ErrorLine error={error} />
      {reset && (
        <div data-testid="reset-password">
          <Passwords accounts={[reset]} />
        </div>
      )}
      <table class="grid" data-testid="people-table">
        <thead>
          <tr>
            <th>{t("username")}</th>
            <th>{t("display_name")}</th>
            <th>{t("role")}</th>
            <th>{t("unit")}</th>
            <th>{t("phone")}</th>
            <th>{t("status")}</th>
            <th>{t("second_factor")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, 500).map((a) =>
            editing === a.id ? (
              <EditRow
                key={a.id}
                fields={{ display_name: a.display_name, role: a.role, unit_call_sign: a.unit_call_sign ?? "", phone: a.phone ?? "" }}
                onCancel={() => setEditing(null)}
                onSave={async (fields) => {
                  await ok(http.POST("/api/admin/users/{id}", { params: { path: { id: a.id } }, body: fields }));
                  setEditing(null);
                  await load();
                }}
              />
            ) : (
              <tr data-testid="person-row" data-username={a.username} data-disabled={String(a.disabled)}>
                <td>{a.username}</td>
                <td>{a.display_name}</td>
                <td>{label("role", a.role)}</td>
                <td>{a.unit_call_sign ?? a.organisation_name ?? ""}</td>
                <td>{a.phone ?? ""}</td>
                <td>{a.disabled ? t("account_disabled") : a.must_change_password ? t("must_change_password") : t("account_active")}</td>
                <td data-testid="second-factor">{a.second_factor ? "✓" : ""}</td>
                <td>
                  <button type="button" onClick={() => setEditing(a.id)}>
                    {t("edit")}
                  </button>
                  {a.can_be_disabled && (
                    <button type="button" data-testid="toggle-account" onClick={() => act(() => ok(http.POST("/api/admin/users/{id}", { params: { path: { id: a.id } }, body: { disabled: !a.disabled } })))}>
                      {a.disabled ? t("enable_account") : t("disable_account")}
                    </button>
                  )}
                  <button
                    type="button"
                    data-testid="reset-password-button"
                    onClick={() => act(async () => setReset(await ok(http.POST("/api/admin/users/{id}/reset-password", { params: { path: { id: a.id } } }))))}
                  >
                    {t("reset_password")}
                  </button>
                  {a.second_factor && (
                    <button
                      type="button"
                      data-testid="reset-second-factor"
                      onClick={() => act(() => ok(http.POST("/api/admin/users/{id}/reset-second-factor", { params: { path: { id: a.id } } })))}
                    >
                      {t("reset_second_factor")}
                    </button>
                  )}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      <p class="hint">
        {shown.length} / {accounts.length}
      </p>
    </section>
  );
}

/** Every open session: who, from where, since when; the administrator ends one. */
function SessionsPanel() {
  const { value: sessions, error, setError, load } = useResource(() => ok(http.GET("/api/admin/sessions")));
  useEffect(() => void load(), []);
  const revoke = async (id: string) => {
    setError(null);
    try {
      await ok(http.POST("/api/admin/sessions/{id}/revoke", { params: { path: { id } } }));
      await load();
    } catch (e) {
      setError(asApiError(e));
    }
  };
  if (!sessions) return <ErrorLine error={error} />;
  return (
    <section class="panel">
      <ErrorLine error={error} />
      <table class="grid" data-testid="sessions-table">
        <thead>
          <tr>
            <th>{t("session_user")}</th>
            <th>{t("role")}</th>
            <th>{t("session_address")}</th>
            <th>{t("session_started")}</th>
            <th>{t("session_last_seen")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr data-testid="session-row" data-username={s.username}>
              <td>
                {s.username} {s.current ? t("session_current") : ""}
              </td>
              <td>{label("role", s.role)}</td>
              <td>{s.address ?? ""}</td>
              <td>{formatTime(s.created_at, true)}</td>
              <td>{formatTime(s.last_seen_at, true)}</td>
              <td>
                {!s.current && (
                  <button type="button" data-testid="revoke-session" onClick={() => void revoke(s.id)}>
                    {t("revoke_session")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
