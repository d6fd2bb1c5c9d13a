// Intelligence (情报研判): the station's figures with 同比/环比, incidents over
// time, breakdowns, hotspot and density layers on the map, the Excel export
// and the monthly briefing. Charts by Apache ECharts, bundled and
// tree-shaken (only the charts and components used here), so nothing is
// fetched from elsewhere.

import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { http, ok, type Jurisdiction, type Schemas } from "./api";
import { useLang } from "./hooks";
import { currentLang, formatDuration, formatTime, label, stationNow, stationTimeToIso, t } from "./i18n";
import { MapView, type Overlay } from "./map";
import { ErrorLine, asApiError } from "./ui";
import type { ApiError } from "./api";

echarts.use([LineChart, BarChart, HeatmapChart, GridComponent, TooltipComponent, LegendComponent, VisualMapComponent, SVGRenderer]);

type Figures = Schemas["StationFiguresDto"];
type Figure = Schemas["StationFigureDto"];
type Breakdown = Schemas["FiguresBreakdownDto"];
type Series = Schemas["FiguresSeriesDto"];
type Hotspots = Schemas["HotspotsDto"];
type CellIncidents = Schemas["CellIncidentsDto"];
type By = "category" | "zone" | "community" | "grid_cell";

/** A station-local date ("2026-11-30") of a moment. */
function localDate(ms: number, zone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));
  return parts;
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** [from, until] as local dates, until inclusive. */
interface Period {
  from: string;
  until: string;
}

/** Which points of a series cover less than a whole interval: cut short by
 * the period's end, or not over yet. */
function partialPoints(series: Series): boolean[] {
  const full = { day: 1, week: 7, month: 28 }[series.interval] * 86_400_000;
  const now = stationNow();
  // An hour's slack for a day of daylight-saving change.
  return series.points.map((p) => Date.parse(p.end) - Date.parse(p.start) < full - 3_600_000 || Date.parse(p.end) > now);
}

function presets(zone: string): Record<string, Period> {
  const today = localDate(stationNow(), zone);
  const [y, m] = today.split("-");
  const monthStart = `${y}-${m}-01`;
  const lastMonthEnd = addDays(monthStart, -1);
  return {
    preset_year: { from: `${y}-01-01`, until: today },
    preset_month: { from: monthStart, until: today },
    preset_last_month: { from: `${lastMonthEnd.slice(0, 7)}-01`, until: lastMonthEnd },
    preset_30d: { from: addDays(today, -29), until: today },
  };
}

function query(p: Period): { from: string; until: string } {
  return { from: stationTimeToIso(`${p.from}T00:00`), until: stationTimeToIso(`${addDays(p.until, 1)}T00:00`) };
}

function valueText(f: Figure, v: number | null): string {
  if (v === null) return t("no_data");
  if (f.unit === "seconds") return formatDuration(v);
  if (f.unit === "rate") return `${(v * 100).toFixed(2)}%`;
  return String(Math.round(v));
}

function Change(props: { change: number | null; higherIsBetter: boolean; kind: "yoy" | "pop" }) {
  const c = props.change;
  if (c === null) return <span class="change">{t(props.kind)} —</span>;
  const good = c === 0 ? null : c > 0 === props.higherIsBetter;
  return (
    <span class={`change ${good === null ? "" : good ? "good" : "bad"}`} data-testid={props.kind} data-value={c.toFixed(4)}>
      {t(props.kind)} {c > 0 ? "▲" : c < 0 ? "▼" : "■"} {(Math.abs(c) * 100).toFixed(2)}%
    </span>
  );
}

function FigureCard({ f }: { f: Figure }) {
  return (
    <div class="figure-card" data-testid={`figure-${f.key}`} data-value={f.value ?? ""} title={f.definition}>
      <div class="figure-label">{currentLang() === "zh" ? f.label_zh : f.label_en}</div>
      <div class="figure-value">{valueText(f, f.value)}</div>
      <Change change={f.yoy_change} higherIsBetter={f.higher_is_better} kind="yoy" />
      <Change change={f.pop_change} higherIsBetter={f.higher_is_better} kind="pop" />
      <div class="figure-base">
        {t("last_year_value")} {valueText(f, f.last_year)} · {t("previous_value")} {valueText(f, f.previous)}
      </div>
    </div>
  );
}

/** An ECharts chart in a div, redrawn when its option changes. */
function Chart(props: { option: echarts.EChartsCoreOption; testid: string; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    chart.current = echarts.init(box.current!, undefined, { renderer: "svg" });
    const resize = () => chart.current?.resize();
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.current?.dispose();
    };
  }, []);
  useEffect(() => {
    // No animation: the figures are read, not watched arriving.
    chart.current?.setOption({ animation: false, ...props.option }, true);
  }, [props.option]);
  return <div ref={box} class="chart" style={{ height: `${props.height ?? 240}px` }} data-testid={props.testid} />;
}

const WEEKDAYS: Record<string, string[]> = {
  zh: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
  en: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

/** Hotspot and density cells from the lattice the API answers on. */
function overlayOf(h: Hotspots | null, showHot: boolean, showDensity: boolean, showEmerging: boolean): Overlay {
  const empty: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
  if (!h) return { hotspots: empty, density: empty };
  const { south, west, cell_lat, cell_lon, nx } = h.lattice;
  const cell = (i: number, properties: Record<string, unknown>): GeoJSON.Feature => {
    const col = i % nx;
    const row = Math.floor(i / nx);
    const s = south + row * cell_lat;
    const w = west + col * cell_lon;
    return {
      type: "Feature",
      properties,
      geometry: {
        type: "Polygon",
        coordinates: [[[w, s], [w + cell_lon, s], [w + cell_lon, s + cell_lat], [w, s + cell_lat], [w, s]]],
      },
    };
  };
  const hot: GeoJSON.Feature[] = [];
  const density: GeoJSON.Feature[] = [];
  const peak = Math.max(0, ...h.density_per_km2);
  h.counts.forEach((count, i) => {
    const significant = h.significant[i];
    const z = h.z[i];
    const emerging = h.trend[i] === "new" || h.trend[i] === "intensifying";
    if (showHot && (count > 0 || significant || (showEmerging && emerging))) {
      hot.push(
        cell(i, {
          z,
          hot: significant && z > 0,
          cold: significant && z < 0,
          emerging: showEmerging && emerging,
          label: `${count} · Gi* z=${z.toFixed(2)}${significant ? " *" : ""} · ${label("trend", h.trend[i])}`,
        }),
      );
    }
    if (showDensity && peak > 0 && h.density_per_km2[i] > peak * 0.02) density.push(cell(i, { d: h.density_per_km2[i] / peak }));
  });
  return { hotspots: { type: "FeatureCollection", features: hot }, density: { type: "FeatureCollection", features: density } };
}

export function IntelView(props: { ground: Jurisdiction; timeZone: string }) {
  useLang();
  const choices = useMemo(() => presets(props.timeZone), [props.timeZone]);
  const [period, setPeriod] = useState<Period>(choices["preset_year"]);
  const [draft, setDraft] = useState<Period>(period);
  const [by, setBy] = useState<By>("category");
  const [figures, setFigures] = useState<Figures | null>(null);
  const [series, setSeries] = useState<Series | null>(null);
  const [breakdown, setBreakdown] = useState<Breakdown | null>(null);
  const [hours, setHours] = useState<Breakdown | null>(null);
  const [hotspots, setHotspots] = useState<Hotspots | null>(null);
  const [layers, setLayers] = useState({ hot: true, density: false, emerging: true });
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const [cell, setCell] = useState<{ list: CellIncidents | null } | null>(null);
  const q = query(period);
  const openCell = async ([west, south, east, north]: [number, number, number, number]) => {
    setCell({ list: null });
    try {
      const list = await ok(http.GET("/api/analysis/cell-incidents", { params: { query: { ...q, south, west, north, east } } }));
      setCell({ list });
    } catch (e) {
      setCell(null);
      setError(asApiError(e));
    }
  };

  useEffect(() => {
    let live = true;
    setLoading(true);
    const days = (Date.parse(`${period.until}T00:00:00Z`) - Date.parse(`${period.from}T00:00:00Z`)) / 86_400_000 + 1;
    Promise.all([
      ok(http.GET("/api/figures/station", { params: { query: q } })),
      ok(http.GET("/api/figures/series", { params: { query: q } })),
      ok(http.GET("/api/figures/breakdown", { params: { query: { ...q, by: "hour_weekday" } } })),
      // Hotspots read the period's incidents: at most 400 days.
      days <= 400 ? ok(http.GET("/api/analysis/hotspots", { params: { query: { ...q, cell_m: 250 } } })) : Promise.resolve(null),
    ])
      .then(([f, s, h, spots]) => {
        if (!live) return;
        setFigures(f);
        setSeries(s);
        setHours(h);
        setHotspots(spots);
        setError(null);
      })
      .catch((e) => live && setError(asApiError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [q.from, q.until]);

  useEffect(() => {
    let live = true;
    ok(http.GET("/api/figures/breakdown", { params: { query: { ...q, by } } }))
      .then((b) => live && setBreakdown(b))
      .catch((e) => live && setError(asApiError(e)));
    return () => {
      live = false;
    };
  }, [q.from, q.until, by]);

  const lang = currentLang();
  const seriesOption = useMemo(() => {
    if (!series) return {};
    const keys = ["incidents", "criminal", "public_order", "theft", "dispute"] as const;
    const names = figures?.figures ?? [];
    const name = (k: string) => {
      const f = names.find((x) => x.key === k);
      return f ? (lang === "zh" ? f.label_zh : f.label_en) : k;
    };
    const days = series.points.map((p) => localDate(Date.parse(p.start), props.timeZone));
    const partial = partialPoints(series);
    // A partial period (cut by the period's end, or not over yet) is marked,
    // not drawn as if it were a drop.
    const marked = days.filter((_, k) => partial[k]);
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: days },
      yAxis: { type: "value" },
      series: keys.map((k, n) => ({
        name: name(k),
        type: "line",
        symbol: "none",
        data: series.points.map((p, j) =>
          partial[j]
            ? {
                value: p[k],
                symbol: "emptyCircle",
                symbolSize: 8,
                label: { show: n === 0, position: "top", formatter: t("partial_period"), color: "#666" },
              }
            : p[k],
        ),
        ...(n === 0 && marked.length > 0
          ? {
              markArea: {
                silent: true,
                itemStyle: { color: "rgba(150, 150, 150, 0.15)" },
                data: marked.map((d) => {
                  const j = days.indexOf(d);
                  // A band around the point: from the middle of its neighbours.
                  return [{ xAxis: Math.max(0, j - 0.5) }, { xAxis: Math.min(days.length - 1, j + 0.5) }];
                }),
              },
            }
          : {}),
      })),
    };
  }, [series, figures, lang]);
  const partialNote = series && partialPoints(series).some(Boolean);

  const barOption = useMemo(() => {
    if (!breakdown) return {};
    const rows = breakdown.rows.slice(0, 15);
    const name = (r: (typeof rows)[number]) => (by === "category" ? label("category", r.key) : (r.name ?? (r.key || t("outside_ground"))));
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 110, right: 16, top: 28, bottom: 20 },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: rows.map(name) },
      series: [
        { name: t("this_period"), type: "bar", data: rows.map((r) => r.incidents) },
        { name: t("last_year_value"), type: "bar", data: rows.map((r) => r.last_year) },
      ],
    };
  }, [breakdown, lang]);

  const heatOption = useMemo(() => {
    if (!hours) return {};
    const data = hours.rows.map((r) => [r.hour ?? 0, (r.weekday ?? 1) - 1, r.incidents]);
    const max = Math.max(1, ...hours.rows.map((r) => r.incidents));
    return {
      tooltip: {},
      grid: { left: 48, right: 16, top: 10, bottom: 60 },
      xAxis: { type: "category", data: [...Array(24).keys()].map(String) },
      yAxis: { type: "category", data: WEEKDAYS[lang] },
      visualMap: { min: 0, max, orient: "horizontal", left: "center", bottom: 0, calculable: true },
      series: [{ type: "heatmap", data }],
    };
  }, [hours, lang]);

  const overlay = useMemo(() => overlayOf(hotspots, layers.hot, layers.density, layers.emerging), [hotspots, layers]);
  // The briefing of the period's last month, or of the month before when
  // that month is not over (a briefing of a week-old month compares a week
  // with whole months).
  const thisMonth = localDate(stationNow(), props.timeZone).slice(0, 7);
  const month =
    period.until.slice(0, 7) < thisMonth ? period.until.slice(0, 7) : addDays(`${thisMonth}-01`, -1).slice(0, 7);
  const noop = () => undefined;

  return (
    <main class="intel" data-testid="intel" data-loading={loading ? "true" : "false"}>
      <section class="intel-bar">
        <strong>{t("intel_period")}</strong>
        {Object.entries(choices).map(([key, p]) => (
          <button
            type="button"
            data-testid={key}
            class={p.from === period.from && p.until === period.until ? "on" : ""}
            onClick={() => {
              setDraft(p);
              setPeriod(p);
            }}
          >
            {t(key as "preset_year")}
          </button>
        ))}
        <label>
          {t("intel_from")} <input type="date" data-testid="period-from" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
        </label>
        <label>
          {t("intel_until")} <input type="date" data-testid="period-until" value={draft.until} onInput={(e) => setDraft({ ...draft, until: e.currentTarget.value })} />
        </label>
        <button type="button" data-testid="period-apply" disabled={!draft.from || !draft.until || draft.from > draft.until} onClick={() => setPeriod(draft)}>
          {t("intel_apply")}
        </button>
        <span class="spacer" />
        <a class="button" data-testid="export-xlsx" href={`/api/figures/export?${new URLSearchParams(q)}`} download>
          {t("export_xlsx")}
        </a>
        <a class="button" data-testid="briefing-pdf" href={`/api/figures/briefing?month=${month}`} download>
          {t("briefing_pdf")} {month}
        </a>
      </section>
      <ErrorLine error={error} />
      <section class="figure-cards" data-testid="figure-cards" data-from={figures?.from ?? ""} data-until={figures?.until ?? ""}>
        {figures?.figures.map((f) => <FigureCard key={f.key} f={f} />)}
      </section>
      <div class="intel-grid">
        <section class="intel-map">
          <div class="layer-toggles">
            {(["hot", "density", "emerging"] as const).map((k) => (
              <label>
                <input type="checkbox" data-testid={`layer-${k}`} checked={layers[k]} onChange={(e) => setLayers({ ...layers, [k]: e.currentTarget.checked })} />{" "}
                {t(`layer_${k}`)}
              </label>
            ))}
            {hotspots && (
              <span class="hint">
                {t("hotspot_definition")} · {hotspots.incidents}
              </span>
            )}
          </div>
          <div class="center intel-map">
            <MapView
              ground={props.ground}
              incidents={[]}
              units={[]}
              closures={[]}
              selected={null}
              picked={null}
              onSelectIncident={noop}
              overlay={overlay}
              onCellClick={(box) => void openCell(box)}
            />
            {loading && (
              <div class="map-loading" data-testid="hotspots-loading" role="status">
                {t("computing_hotspots")}
              </div>
            )}
            {cell && (
              <div class="cell-list" data-testid="cell-incidents" data-count={cell.list?.count ?? ""}>
                <div class="legend-head">
                  <b>
                    {t("cell_incidents")}
                    {cell.list ? ` · ${cell.list.count}` : ""}
                  </b>
                  <button type="button" class="legend-close" onClick={() => setCell(null)} aria-label={t("close_legend")}>
                    ✕
                  </button>
                </div>
                {!cell.list && <p class="hint">{t("loading")}</p>}
                {cell.list && (
                  <ol>
                    {cell.list.incidents.map((i) => (
                      <li key={i.id} data-incident-id={i.id}>
                        <time>{formatTime(i.reported_at, true)}</time> {label("category", i.category)} · {i.address || `#${i.id}`}
                      </li>
                    ))}
                  </ol>
                )}
              </div>
            )}
          </div>
        </section>
        <section class="intel-charts">
          <h3>{t("series_title")}</h3>
          <Chart option={seriesOption} testid="series-chart" />
          {partialNote && (
            <p class="hint" data-testid="partial-period">
              {t("partial_period_note")}
            </p>
          )}
          <h3>
            {t("breakdown_title")}{" "}
            <select data-testid="breakdown-by" value={by} onChange={(e) => setBy(e.currentTarget.value as By)}>
              {(["category", "zone", "community", "grid_cell"] as const).map((b) => (
                <option value={b}>{t(`by_${b}`)}</option>
              ))}
            </select>
          </h3>
          <Chart option={barOption} testid="breakdown-chart" height={300} />
          <table class="breakdown" data-testid="breakdown-table">
            <thead>
              <tr>
                <th>{t(`by_${by}`)}</th>
                <th>{t("this_period")}</th>
                <th>{t("last_year_value")}</th>
                <th>{t("yoy")}</th>
                <th>{t("police_response")}</th>
              </tr>
            </thead>
            <tbody>
              {breakdown?.rows.map((r) => (
                <tr data-key={r.key}>
                  <td>{by === "category" ? label("category", r.key) : (r.name ?? (r.key || t("outside_ground")))}</td>
                  <td data-testid="row-incidents">{r.incidents}</td>
                  <td>{r.last_year}</td>
                  <td>{r.yoy_change === null ? "—" : `${(r.yoy_change * 100).toFixed(2)}%`}</td>
                  <td>{r.police_response_seconds === null ? "—" : formatDuration(r.police_response_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>{t("heat_title")}</h3>
          <Chart option={heatOption} testid="hour-chart" height={260} />
          {hotspots && hotspots.grid_cells.some((c) => c.significant && c.z > 0) && (
            <>
              <h3>{t("grid_hotspots")}</h3>
              <ol data-testid="grid-hotspots">
                {hotspots.grid_cells
                  .filter((c) => c.significant && c.z > 0)
                  .slice(0, 8)
                  .map((c) => (
                    <li>
                      {c.name || c.code}: {c.incidents} · z={c.z.toFixed(2)}
                    </li>
                  ))}
              </ol>
            </>
          )}
        </section>
      </div>
    </main>
  );
}
