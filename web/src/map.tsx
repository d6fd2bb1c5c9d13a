// The map: drawn from the station's own data only (roads from its road
// network, zones, communities, grid cells, posts, places), with units,
// incidents and road closures live. No tiles, fonts or sprites from
// anywhere: labels are HTML popups, so no glyph server is needed.

import * as maplibregl from "maplibre-gl";
import type { GeoJSONSource, MapLayerMouseEvent, MapMouseEvent } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
// The worker ships as one of our own assets (never fetched from elsewhere).
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { PMTiles, Protocol, TileType } from "pmtiles";
import { useEffect, useRef } from "preact/hooks";
import { http, ok, type Closure, type Incident, type Jurisdiction, type Point, type Unit } from "./api";
import { label } from "./i18n";

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

const PRIORITY_COLOURS = ["match", ["get", "priority"], 1, "#d7191c", 2, "#f28c28", 3, "#e6c229", "#4a90d9"];

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
  /** The analyst's layers: hotspot cells (Gi*) and the density surface. */
  overlay?: Overlay;
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
      m.addSource("roads", { type: "geojson", data: collection([]) });
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
      m.addSource("units", { type: "geojson", data: collection([]) });
      m.addSource("incidents", { type: "geojson", data: collection([]) });
      m.addSource("picked", { type: "geojson", data: collection([]) });
      m.addSource("density", { type: "geojson", data: collection([]) });
      m.addSource("hotspots", { type: "geojson", data: collection([]) });

      m.addLayer({ id: "zones-fill", type: "fill", source: "zones", paint: { "fill-color": "#dfe8f1", "fill-opacity": 0.6 } });
      m.addLayer({ id: "cells-line", type: "line", source: "cells", minzoom: 14, paint: { "line-color": "#c3ccd6", "line-width": 0.5 } });
      m.addLayer({
        id: "roads-line",
        type: "line",
        source: "roads",
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
        id: "units-circle",
        type: "circle",
        source: "units",
        paint: {
          "circle-radius": ["case", ["get", "busy"], 6, 4],
          "circle-color": ["case", ["get", "police"], "#2266cc", "#2e9e5b"],
          "circle-stroke-width": ["case", ["get", "busy"], 2, 0],
          "circle-stroke-color": "#111",
          "circle-opacity": ["case", ["get", "off"], 0.3, 0.9],
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
      });
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
      try {
        (m.getSource("roads") as GeoJSONSource).setData((await ok(http.GET("/api/map/roads"))) as GeoJSON.FeatureCollection);
      } catch (error) {
        console.warn("no road layer", error);
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
  }, [props.incidents, props.units, props.closures, props.selected, props.picked, props.overlay]);

  return <div ref={container} class="map" data-testid="map" />;
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
      point(i.location, { id: i.id, priority: i.priority, status: i.status, selected: i.id === props.selected }),
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
}
