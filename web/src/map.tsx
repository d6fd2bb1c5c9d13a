// The map: drawn from the station's own data only (the base map's vector
// tiles that Precinct builds from its road import: roads, water, parks,
// buildings; zones, communities, grid cells, posts, places), with units,
// incidents and road closures live. No tiles, fonts or sprites from
// anywhere: the style names no glyph server, so MapLibre draws every label
// with the browser's own fonts (TinySDF), and a unit's kind is a character
// on its status-coloured dot rather than a sprite. A legend says what each
// mark means and switches layers on and off.

import * as maplibregl from "maplibre-gl";
import type {
  ExpressionSpecification,
  GeoJSONSource,
  MapLayerMouseEvent,
  MapMouseEvent,
  SymbolLayerSpecification,
} from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
// The worker ships as one of our own assets (never fetched from elsewhere).
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { PMTiles, Protocol, TileType } from "pmtiles";
import { useEffect, useRef, useState } from "preact/hooks";
import { http, ok, type Closure, type Incident, type Jurisdiction, type Point, type Unit } from "./api";
import { currentLang, label, t } from "./i18n";

type Feature = GeoJSON.Feature<GeoJSON.Geometry, Record<string, unknown>>;
const collection = (features: Feature[]): GeoJSON.FeatureCollection => ({
  type: "FeatureCollection",
  features,
});
const point = (p: Point, properties: Record<string, unknown>): Feature => ({
  type: "Feature",
  properties,
  geometry: { type: "Point", coordinates: [p.lon, p.lat] },
});
const ring = (points: Point[]): number[][] => {
  const coordinates = points.map((p) => [p.lon, p.lat]);
  if (coordinates.length > 0) coordinates.push(coordinates[0]);
  return coordinates;
};
/** An area as stored: one ring of points, or several (holes, parts) read by the even-odd rule. */
const rings = (boundary: unknown): Point[][] => {
  const list = boundary as unknown[];
  return Array.isArray(list[0]) ? (list as Point[][]) : [list as Point[]];
};
const polygon = (boundary: unknown, properties: Record<string, unknown>): Feature => ({
  type: "Feature",
  properties,
  geometry: { type: "Polygon", coordinates: rings(boundary).map(ring) },
});

/** Where an area's name goes: the area-weighted centroid of its largest
 * ring (one point per area: a polygon label would repeat on every tile). */
const labelPoint = (boundary: unknown, properties: Record<string, unknown>): Feature | null => {
  let best: { area: number; lat: number; lon: number } | null = null;
  for (const r of rings(boundary)) {
    let area = 0;
    let lat = 0;
    let lon = 0;
    for (let k = 0; k < r.length; k++) {
      const a = r[k];
      const b = r[(k + 1) % r.length];
      const cross = a.lon * b.lat - b.lon * a.lat;
      area += cross;
      lon += (a.lon + b.lon) * cross;
      lat += (a.lat + b.lat) * cross;
    }
    if (area === 0) continue;
    const centre = { area: Math.abs(area), lat: lat / (3 * area), lon: lon / (3 * area) };
    if (!best || centre.area > best.area) best = centre;
  }
  return best ? point({ lat: best.lat, lon: best.lon }, properties) : null;
};
const labelPoints = (areas: { boundary: unknown; name: string }[]): Feature[] =>
  areas.map((a) => labelPoint(a.boundary, { name: a.name })).filter((f): f is Feature => f !== null);

maplibregl.setWorkerUrl(workerUrl);
const pmtiles = new Protocol();
maplibregl.addProtocol("pmtiles", pmtiles.tile);

/**
 * The admin's PMTiles file of the city (served by Precinct itself), under the
 * station's own layers: raster tiles as they are; vector tiles drawn plainly,
 * one fill or line layer per layer the archive declares.
 */
async function addBasemap(m: maplibregl.Map, url: string, beforeId: string): Promise<void> {
  const archive = new PMTiles(url);
  pmtiles.add(archive);
  const header = await archive.getHeader();
  const source = `pmtiles://${archive.source.getKey()}`;
  if (header.tileType === TileType.Mvt) {
    m.addSource("basemap", { type: "vector", url: source });
    const metadata = (await archive.getMetadata()) as { vector_layers?: { id: string }[] };
    for (const layer of metadata.vector_layers ?? []) {
      m.addLayer(
        {
          id: `basemap-${layer.id}-fill`,
          type: "fill",
          source: "basemap",
          "source-layer": layer.id,
          filter: ["==", ["geometry-type"], "Polygon"],
          paint: { "fill-color": "#e4e7eb", "fill-opacity": 0.6 },
        },
        beforeId,
      );
      m.addLayer(
        {
          id: `basemap-${layer.id}-line`,
          type: "line",
          source: "basemap",
          "source-layer": layer.id,
          filter: ["==", ["geometry-type"], "LineString"],
          paint: { "line-color": "#c9ced6", "line-width": 1 },
        },
        beforeId,
      );
    }
  } else {
    m.addSource("basemap", { type: "raster", url: source, tileSize: 256 });
    m.addLayer({ id: "basemap-raster", type: "raster", source: "basemap", paint: { "raster-opacity": 0.8 } }, beforeId);
  }
}

const PRIORITY = ["#d7191c", "#f28c28", "#e6c229", "#4a90d9"];
const PRIORITY_COLOURS = ["match", ["get", "priority"], 1, PRIORITY[0], 2, PRIORITY[1], 3, PRIORITY[2], PRIORITY[3]];

/** A unit's dot, by status. */
const STATUS_COLOUR: Record<string, string> = {
  on_patrol: "#2e9e5b",
  at_post: "#1e8449",
  dispatched: "#f39c12",
  en_route: "#e67e22",
  on_scene: "#c0392b",
  clearing: "#8e44ad",
  off_duty: "#95a5a6",
};
const STATUS_COLOURS = ["match", ["get", "status"], ...Object.entries(STATUS_COLOUR).flat(), "#2e9e5b"];

/** The character on a unit's dot: its kind, in the reader's language. */
const KIND_MARK: Record<string, [string, string]> = {
  patrol_car: ["车", "C"],
  foot_patrol: ["步", "F"],
  post_team: ["岗", "P"],
  community_police_team: ["社", "CP"],
  volunteer_police_team: ["义", "V"],
  security_force_team: ["保", "S"],
  grid_worker: ["网", "G"],
  property_staff: ["物", "Pr"],
};
const kindMark = (kind: string) => KIND_MARK[kind]?.[currentLang() === "zh" ? 0 : 1] ?? "?";

/** The label layers, whose rendered names the container lists (`data-rendered-labels`). */
const LABEL_LAYERS = [
  "zones-label",
  "communities-label",
  "cells-label",
  "roads-label",
  "water-label",
  "waterways-label",
  "parks-label",
  "posts-label",
  "places-label",
  "units-label",
];
/** A label drawn with the browser's fonts, haloed so it reads on any background. */
const text = (
  size: number,
  colour: string,
  field: ExpressionSpecification = ["get", "name"],
): { layout: NonNullable<SymbolLayerSpecification["layout"]>; paint: NonNullable<SymbolLayerSpecification["paint"]> } => ({
  layout: { "text-field": field, "text-size": size, "text-font": ["sans-serif"] },
  paint: { "text-color": colour, "text-halo-color": "#ffffff", "text-halo-width": 1.5 },
});

/** What the layer switcher turns on and off, each a set of layers. */
const GROUPS: Record<string, string[]> = {
  ground: ["zones-label", "communities-label", "cells-label", "cells-line", "posts-label", "places-label", "places-circle"],
  incidents: ["incidents-circle", "incidents-label"],
  hotspots: ["hotspots-fill", "hotspots-emerging"],
  density: ["density-fill"],
};

export interface MapProps {
  ground: Jurisdiction;
  incidents: Incident[];
  units: Unit[];
  closures: Closure[];
  selected: number | null;
  picked: Point | null;
  onSelectIncident: (id: number) => void;
  onPick?: (p: Point) => void;
  /** The city's PMTiles base map, when the admin configured one. */
  basemapUrl?: string | null;
  /** The base map built from the road import (`get_base_tile`), when there are roads. */
  tilesUrl?: string | null;
  /** The analyst's layers: hotspot cells (Gi*) and the density surface. */
  overlay?: Overlay;
  /** Where the selected incident's units went (their position reports). */
  tracks?: Track[];
  /** Dispatched units' road routes to the incident (`unit_route`). */
  routes?: Track[];
  /** A hotspot cell clicked: its box (west, south, east, north). */
  onCellClick?: (box: [number, number, number, number]) => void;
}

/** The base map's tile URL template for every map of the session. */
let baseTiles: string | null = null;
export function setBaseTiles(url: string | null | undefined): void {
  baseTiles = url ?? null;
}

/** A unit's track: its call sign and the points it reported, oldest first. */
export interface Track {
  unit_id: number;
  call_sign: string;
  points: Point[];
}

/** Cells as polygons: hotspots carry `z`, `hot` (a significant hotspot), `cold`
 * and `emerging`; density cells carry `d` (0–1 of the peak). */
export interface Overlay {
  hotspots: GeoJSON.FeatureCollection;
  density: GeoJSON.FeatureCollection;
}

export function MapView(props: MapProps) {
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<maplibregl.Map | null>(null);
  const ready = useRef(false);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const m = new maplibregl.Map({
      container: container.current!,
      style: {
        version: 8,
        sources: {},
        layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }],
      },
      attributionControl: false,
      center: [113.0, 28.1],
      zoom: 13,
    });
    map.current = m;
    // For the browser tests: the map behind the element (never read by the app).
    Object.assign(container.current!, { __map: m });
    m.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    m.on("load", async () => {
      const g = latest.current.ground;
      m.addSource("zones", {
        type: "geojson",
        data: collection(g.zones.map((z) => polygon(z.boundary, { name: z.name }))),
      });
      m.addSource("communities", {
        type: "geojson",
        data: collection(g.communities.map((c) => polygon(c.boundary, { name: c.name }))),
      });
      m.addSource("cells", {
        type: "geojson",
        data: collection(g.grid_cells.map((c) => polygon(c.boundary, { name: c.code }))),
      });
      m.addSource("zone-names", { type: "geojson", data: collection(labelPoints(g.zones)) });
      m.addSource("community-names", { type: "geojson", data: collection(labelPoints(g.communities)) });
      m.addSource("cell-names", {
        type: "geojson",
        data: collection(labelPoints(g.grid_cells.map((c) => ({ boundary: c.boundary, name: c.code })))),
      });
      const tiles = latest.current.tilesUrl ?? baseTiles;
      if (tiles) m.addSource("roads", { type: "vector", tiles: [location.origin + tiles], minzoom: 10, maxzoom: 16 });
      else m.addSource("roads", { type: "geojson", data: collection([]) });
      const roadLayer = tiles ? { "source-layer": "roads" } : {};
      m.addSource("closures", { type: "geojson", data: collection([]) });
      m.addSource("posts", {
        type: "geojson",
        data: collection(g.posts.map((p) => point(p.location, { name: p.name }))),
      });
      m.addSource("places", {
        type: "geojson",
        data: collection(g.places.map((p) => point(p.location, { name: p.name, address: p.address }))),
      });
      m.addSource("cameras", {
        type: "geojson",
        data: collection((g.cameras ?? []).map((c) => point(c.location, { name: c.name, detail: c.code ?? "" }))),
      });
      m.addSource("tracks", { type: "geojson", data: collection([]) });
      m.addSource("routes", { type: "geojson", data: collection([]) });
      m.addSource("units", { type: "geojson", data: collection([]) });
      m.addSource("incidents", { type: "geojson", data: collection([]) });
      m.addSource("picked", { type: "geojson", data: collection([]) });
      m.addSource("density", { type: "geojson", data: collection([]) });
      m.addSource("hotspots", { type: "geojson", data: collection([]) });

      m.addLayer({ id: "zones-fill", type: "fill", source: "zones", paint: { "fill-color": "#dfe8f1", "fill-opacity": 0.6 } });
      if (tiles) {
        m.addLayer({ id: "water-fill", type: "fill", source: "roads", "source-layer": "water", paint: { "fill-color": "#aad3df" } });
        m.addLayer({ id: "waterways-line", type: "line", source: "roads", "source-layer": "waterways", paint: { "line-color": "#aad3df", "line-width": 2 } });
        m.addLayer({ id: "parks-fill", type: "fill", source: "roads", "source-layer": "parks", paint: { "fill-color": "#cdebb0", "fill-opacity": 0.8 } });
        m.addLayer({
          id: "buildings-fill",
          type: "fill",
          source: "roads",
          "source-layer": "buildings",
          minzoom: 15,
          paint: { "fill-color": "#d9d0c9", "fill-opacity": 0.7, "fill-outline-color": "#c4b8ae" },
        });
      }
      m.addLayer({ id: "cells-line", type: "line", source: "cells", minzoom: 14, paint: { "line-color": "#c3ccd6", "line-width": 0.5 } });
      m.addLayer({
        id: "roads-line",
        type: "line",
        source: "roads",
        ...roadLayer,
        paint: {
          "line-color": "#ffffff",
          "line-width": ["match", ["get", "class"], ["motorway", "trunk", "primary"], 4, ["secondary", "tertiary"], 3, 1.5],
        },
      });
      m.addLayer({ id: "communities-line", type: "line", source: "communities", paint: { "line-color": "#7f93a8", "line-width": 1, "line-dasharray": [3, 2] } });
      m.addLayer({ id: "zones-line", type: "line", source: "zones", paint: { "line-color": "#2d4a6b", "line-width": 2.5 } });
      m.addLayer({ id: "closures-line", type: "line", source: "closures", paint: { "line-color": "#c0392b", "line-width": 5, "line-dasharray": [1, 1] } });
      m.addLayer({
        id: "density-fill",
        type: "fill",
        source: "density",
        paint: {
          "fill-color": ["interpolate", ["linear"], ["get", "d"], 0, "#fff7bc", 0.5, "#fe9929", 1, "#cc4c02"],
          "fill-opacity": ["interpolate", ["linear"], ["get", "d"], 0, 0.1, 1, 0.65],
        },
      });
      m.addLayer({
        id: "hotspots-fill",
        type: "fill",
        source: "hotspots",
        paint: {
          "fill-color": ["case", ["get", "hot"], "#d7301f", ["get", "cold"], "#3182bd", "#999999"],
          "fill-opacity": ["case", ["any", ["get", "hot"], ["get", "cold"]], 0.55, 0.08],
        },
      });
      m.addLayer({
        id: "hotspots-emerging",
        type: "line",
        source: "hotspots",
        filter: ["get", "emerging"],
        paint: { "line-color": "#7b1fa2", "line-width": 2.5 },
      });
      m.addLayer({ id: "places-circle", type: "circle", source: "places", paint: { "circle-radius": 3, "circle-color": "#8e7cc3" } });
      m.addLayer({ id: "cameras-circle", type: "circle", source: "cameras", minzoom: 14, paint: { "circle-radius": 2.5, "circle-color": "#5f6b7a" } });
      m.addLayer({ id: "posts-circle", type: "circle", source: "posts", paint: { "circle-radius": 7, "circle-color": "#1f4e8c", "circle-stroke-width": 2, "circle-stroke-color": "#fff" } });
      m.addLayer({
        id: "tracks-line",
        type: "line",
        source: "tracks",
        layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": "#1f618d", "line-width": 3, "line-opacity": 0.75, "line-dasharray": [2, 1] },
      });
      m.addLayer({
        id: "routes-line",
        type: "line",
        source: "routes",
        layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": "#e67e22", "line-width": 4, "line-opacity": 0.85 },
      });
      m.addLayer({
        id: "units-circle",
        type: "circle",
        source: "units",
        paint: {
          // Small from afar, big enough for the kind's character close in.
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, ["case", ["get", "busy"], 5, 3.5], 14, 8, 16, 10],
          "circle-color": STATUS_COLOURS as never,
          // Police units ringed dark, helpers white.
          "circle-stroke-width": ["case", ["get", "police"], 2, 1],
          "circle-stroke-color": ["case", ["get", "police"], "#1b2631", "#ffffff"],
          "circle-opacity": ["case", ["get", "off"], 0.35, 0.95],
        },
      });
      m.addLayer({
        id: "incidents-circle",
        type: "circle",
        source: "incidents",
        paint: {
          "circle-radius": ["case", ["get", "selected"], 13, 9],
          "circle-color": PRIORITY_COLOURS as never,
          "circle-stroke-width": 3,
          "circle-stroke-color": ["match", ["get", "status"], "received", "#000000", "dispatched", "#ffffff", "on_scene", "#2e9e5b", "#999999"],
        },
      });
      m.addLayer({ id: "picked-circle", type: "circle", source: "picked", paint: { "circle-radius": 8, "circle-color": "#000", "circle-stroke-width": 3, "circle-stroke-color": "#fff" } });
      // Labels: places of the ground by zoom, streets along their lines,
      // units' kinds on their dots and call signs close in.
      const zh = currentLang() === "zh";
      m.addLayer({ id: "zones-label", type: "symbol", source: "zone-names", ...text(16, "#2d4a6b") });
      m.addLayer({ id: "communities-label", type: "symbol", source: "community-names", minzoom: 13.5, ...text(13, "#5d6d7e") });
      m.addLayer({ id: "cells-label", type: "symbol", source: "cell-names", minzoom: 16, ...text(10, "#8592a3") });
      const road = text(11, "#4d5660");
      m.addLayer({
        id: "roads-label",
        type: "symbol",
        source: "roads",
        ...roadLayer,
        minzoom: 14.5,
        filter: ["has", "name"],
        layout: { ...road.layout, "symbol-placement": "line", "text-max-angle": 30 },
        paint: road.paint,
      }, "zones-line");
      if (tiles) {
        const water = text(11, "#4a7fa0");
        for (const layer of ["water", "waterways", "parks"]) {
          m.addLayer(
            {
              id: `${layer}-label`,
              type: "symbol",
              source: "roads",
              "source-layer": layer,
              minzoom: 14,
              filter: ["has", "name"],
              layout: { ...water.layout, ...(layer === "waterways" ? { "symbol-placement": "line" as const } : {}) },
              paint: layer === "parks" ? { ...water.paint, "text-color": "#4f7a3a" } : water.paint,
            },
            "zones-line",
          );
        }
      }
      const post = text(12, "#1f4e8c");
      m.addLayer({ id: "posts-label", type: "symbol", source: "posts", minzoom: 12.5, layout: { ...post.layout, "text-offset": [0, 1.3], "text-anchor": "top" }, paint: post.paint });
      const place = text(10.5, "#6c5ca8");
      m.addLayer({ id: "places-label", type: "symbol", source: "places", minzoom: 16, layout: { ...place.layout, "text-offset": [0, 0.8], "text-anchor": "top" }, paint: place.paint });
      m.addLayer({
        id: "units-kind",
        type: "symbol",
        source: "units",
        minzoom: 13,
        layout: { "text-field": ["get", "mark"], "text-size": zh ? 10 : 9, "text-font": ["sans-serif"], "text-allow-overlap": true, "text-ignore-placement": true },
        paint: { "text-color": "#ffffff" },
      });
      const unit = text(11, "#1b2631");
      m.addLayer({ id: "units-label", type: "symbol", source: "units", minzoom: 15.5, layout: { ...unit.layout, "text-offset": [0, 1.2], "text-anchor": "top" }, paint: unit.paint });
      const incident = text(11, "#7b241c", ["get", "title"]);
      m.addLayer({ id: "incidents-label", type: "symbol", source: "incidents", minzoom: 14, layout: { ...incident.layout, "text-offset": [0, 1.4], "text-anchor": "top" }, paint: incident.paint });
      m.on("idle", () => {
        // Which labels are drawn now (tests read them; MapLibre places them).
        const names = new Set<string>();
        for (const f of m.queryRenderedFeatures({ layers: LABEL_LAYERS.filter((l) => m.getLayer(l)) })) {
          const name = f.properties?.["name"];
          if (typeof name === "string" && names.size < 300) names.add(name);
        }
        container.current?.setAttribute("data-rendered-labels", JSON.stringify([...names]));
      });

      const bounds = new maplibregl.LngLatBounds();
      for (const z of g.zones) for (const r of rings(z.boundary)) for (const p of r) bounds.extend([p.lon, p.lat]);
      if (!bounds.isEmpty()) m.fitBounds(bounds, { padding: 20, duration: 0 });

      m.on("click", "incidents-circle", (e: MapLayerMouseEvent) => {
        const id = Number(e.features?.[0]?.properties?.["id"]);
        if (id) latest.current.onSelectIncident(id);
      });
      m.on("click", "hotspots-fill", (e: MapLayerMouseEvent) => {
        const p = e.features?.[0]?.properties ?? {};
        const text = `${String(p["label"] ?? "")}`;
        if (text) new maplibregl.Popup({ closeButton: false }).setLngLat(e.lngLat).setText(text).addTo(m);
        const ring = (e.features?.[0]?.geometry as GeoJSON.Polygon | undefined)?.coordinates?.[0];
        if (ring && latest.current.onCellClick) {
          const lons = ring.map((c) => c[0]);
          const lats = ring.map((c) => c[1]);
          latest.current.onCellClick([Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)]);
        }
      });
      m.on("mouseenter", "hotspots-fill", () => (m.getCanvas().style.cursor = "pointer"));
      m.on("mouseleave", "hotspots-fill", () => (m.getCanvas().style.cursor = ""));
      for (const layer of ["units-circle", "posts-circle", "places-circle", "cameras-circle"]) {
        m.on("click", layer, (e: MapLayerMouseEvent) => {
          const p = e.features?.[0]?.properties ?? {};
          const text = [p["name"], p["detail"] ?? p["address"]].filter(Boolean).join(" · ");
          new maplibregl.Popup({ closeButton: false }).setLngLat(e.lngLat).setText(String(text)).addTo(m);
        });
        m.on("mouseenter", layer, () => (m.getCanvas().style.cursor = "pointer"));
        m.on("mouseleave", layer, () => (m.getCanvas().style.cursor = ""));
      }
      m.on("click", (e: MapMouseEvent) => {
        const onPick = latest.current.onPick;
        if (onPick) onPick({ lat: e.lngLat.lat, lon: e.lngLat.lng });
      });
      ready.current = true;
      draw(m, latest.current);
      const basemap = latest.current.basemapUrl;
      if (basemap) {
        try {
          await addBasemap(m, new URL(basemap, location.href).href, "zones-fill");
          container.current?.setAttribute("data-basemap", "true");
        } catch (error) {
          console.warn("the base map could not be read", error);
        }
      }
      if (!tiles) {
        try {
          (m.getSource("roads") as GeoJSONSource).setData((await ok(http.GET("/api/map/roads"))) as GeoJSON.FeatureCollection);
        } catch (error) {
          console.warn("no road layer", error);
        }
      }
      container.current?.setAttribute("data-map-ready", "true");
    });
    return () => {
      ready.current = false;
      m.remove();
    };
  }, []);

  useEffect(() => {
    if (map.current && ready.current) draw(map.current, props);
  }, [props.incidents, props.units, props.closures, props.selected, props.picked, props.overlay, props.tracks, props.routes]);

  return (
    <div class="map-frame">
      <div ref={container} class="map" data-testid="map" />
      <Legend map={map} units={props.units} overlay={props.overlay !== undefined} />
    </div>
  );
}

/**
 * What each mark means, with switches: the ground's labels, each kind of
 * unit shown, incidents, and the analyst's layers when there are any.
 */
function Legend(props: { map: { current: maplibregl.Map | null }; units: Unit[]; overlay: boolean }) {
  const [open, setOpen] = useState(() => window.innerWidth > 700);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const kinds = [...new Set(props.units.filter((u) => u.position).map((u) => u.kind))].sort(
    (a, b) => Object.keys(KIND_MARK).indexOf(a) - Object.keys(KIND_MARK).indexOf(b),
  );
  const statuses = Object.keys(STATUS_COLOUR).filter((s) => props.units.some((u) => u.position && u.status === s));
  const toggle = (key: string) => {
    const next = new Set(hidden);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setHidden(next);
    const m = props.map.current;
    if (!m) return;
    for (const [group, layers] of Object.entries(GROUPS)) {
      for (const layer of layers) if (m.getLayer(layer)) m.setLayoutProperty(layer, "visibility", next.has(group) ? "none" : "visible");
    }
    const shownKinds = kinds.filter((k) => !next.has(`kind:${k}`));
    for (const layer of ["units-circle", "units-kind", "units-label"]) {
      if (m.getLayer(layer)) m.setFilter(layer, ["in", ["get", "kind"], ["literal", shownKinds]]);
    }
  };
  const check = (key: string, children: preact.ComponentChildren) => (
    <label class="legend-row" key={key}>
      <input type="checkbox" checked={!hidden.has(key)} onChange={() => toggle(key)} data-layer={key} />
      {children}
    </label>
  );
  if (!open) {
    return (
      <button type="button" class="legend-open" data-testid="legend-open" onClick={() => setOpen(true)}>
        {t("legend")}
      </button>
    );
  }
  return (
    <div class="legend" data-testid="legend" data-kinds={kinds.join(",")}>
      <div class="legend-head">
        <b>{t("legend")}</b>
        <button type="button" class="legend-close" onClick={() => setOpen(false)} aria-label={t("close_legend")}>
          ×
        </button>
      </div>
      {check("ground", <span>{t("legend_ground")}</span>)}
      {check(
        "incidents",
        <span>
          {t("legend_incidents")}{" "}
          {PRIORITY.map((c, k) => (
            <span class="swatch dot" style={{ background: c }} title={`P${k + 1}`}>
              {k + 1}
            </span>
          ))}
        </span>,
      )}
      {kinds.map((k) =>
        check(
          `kind:${k}`,
          <span data-kind={k}>
            <span class="swatch dot unit">{kindMark(k)}</span> {label("unit_kind", k)}
          </span>,
        ),
      )}
      <div class="legend-row statuses">
        {statuses.map((s) => (
          <span key={s}>
            <span class="swatch dot" style={{ background: STATUS_COLOUR[s] }} /> {label("unit_status", s)}
          </span>
        ))}
      </div>
      <div class="legend-row muted">
        <span class="swatch ring" /> {t("legend_police_ring")} <span class="swatch dot post" /> {t("legend_post")}
        <span class="swatch line closure" /> {t("legend_closure")}
        <span class="swatch line route" /> {t("legend_route")}
        {baseTiles && (
          <>
            {" "}
            <span class="swatch" style={{ background: "#aad3df" }} /> {t("legend_water")} <span class="swatch" style={{ background: "#cdebb0" }} />{" "}
            {t("legend_park")} <span class="swatch" style={{ background: "#d9d0c9" }} /> {t("legend_building")}
          </>
        )}
      </div>
      {props.overlay && (
        <>
          {check(
            "hotspots",
            <span>
              <span class="swatch" style={{ background: "#d7301f" }} /> {t("legend_hot")} <span class="swatch" style={{ background: "#3182bd" }} /> {t("legend_cold")}{" "}
              <span class="swatch outline" /> {t("layer_emerging")}
            </span>,
          )}
          {check(
            "density",
            <span>
              <span class="swatch" style={{ background: "linear-gradient(90deg,#fff7bc,#fe9929,#cc4c02)" }} /> {t("layer_density")}
            </span>,
          )}
        </>
      )}
    </div>
  );
}

function draw(m: maplibregl.Map, props: MapProps): void {
  const set = (id: string, features: Feature[]) => (m.getSource(id) as GeoJSONSource | undefined)?.setData(collection(features));
  if (props.overlay) {
    (m.getSource("hotspots") as GeoJSONSource | undefined)?.setData(props.overlay.hotspots);
    (m.getSource("density") as GeoJSONSource | undefined)?.setData(props.overlay.density);
    const hot = props.overlay.hotspots.features.filter((f) => f.properties?.["hot"]).length;
    m.getContainer().setAttribute("data-hotspot-cells", String(hot));
    m.getContainer().setAttribute("data-density-cells", String(props.overlay.density.features.length));
  }
  // What is drawn, for tests and for a glance in the inspector.
  m.getContainer().setAttribute("data-units", String(props.units.filter((u) => u.position).length));
  m.getContainer().setAttribute("data-unit-call-signs", props.units.filter((u) => u.position).map((u) => u.call_sign).join(","));
  set(
    "incidents",
    props.incidents.map((i) =>
      point(i.location, {
        id: i.id,
        priority: i.priority,
        status: i.status,
        selected: i.id === props.selected,
        title: label("category", i.category),
      }),
    ),
  );
  set(
    "units",
    props.units
      .filter((u) => u.position)
      .map((u) =>
        point(u.position!, {
          id: u.id,
          name: u.call_sign,
          detail: `${label("unit_kind", u.kind)} · ${label("unit_status", u.status)}`,
          kind: u.kind,
          mark: kindMark(u.kind),
          status: u.status,
          police: u.police,
          busy: u.incident_id !== null,
          off: u.status === "off_duty",
        }),
      ),
  );
  set(
    "closures",
    props.closures
      .filter((c) => c.line.length === 2)
      .map((c) => ({
        type: "Feature",
        properties: { reason: c.reason },
        geometry: { type: "LineString", coordinates: c.line.map((p) => [p.lon, p.lat]) },
      })),
  );
  set("picked", props.picked ? [point(props.picked, {})] : []);
  const all = props.tracks ?? [];
  const tracks = all.filter((t) => t.points.length >= 2);
  set(
    "tracks",
    tracks.map((t) => ({
      type: "Feature",
      properties: { name: t.call_sign },
      geometry: { type: "LineString", coordinates: t.points.map((p) => [p.lon, p.lat]) },
    })),
  );
  m.getContainer().setAttribute("data-track-points", String(all.reduce((n, t) => n + t.points.length, 0)));
  const routes = (props.routes ?? []).filter((r) => r.points.length >= 2);
  set(
    "routes",
    routes.map((r) => ({
      type: "Feature",
      properties: { name: r.call_sign },
      geometry: { type: "LineString", coordinates: r.points.map((p) => [p.lon, p.lat]) },
    })),
  );
  m.getContainer().setAttribute("data-routes", String(routes.length));
}
