// The one HTTP client of the pages: same origin, session cookie, and the
// server's stable error body `{ code, message, message_zh }`.

export interface Point {
  lat: number;
  lon: number;
}

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: string;
  unit_id: number | null;
}

export interface Assignment {
  unit_id: number;
  police: boolean;
  assigned_at: string;
  arrived_at: string | null;
  released_at: string | null;
}

export interface Incident {
  id: number;
  source: string;
  external_id: string | null;
  category: string;
  family: string;
  priority: number;
  status: string;
  disposition: string | null;
  closing_remark: string | null;
  location: Point;
  zone_id: number | null;
  zone_name: string | null;
  community_name: string | null;
  grid_cell_code: string | null;
  outside_ground: boolean;
  address: string;
  caller: { name: string | null; phone: string | null; masked: boolean };
  summary: string;
  reported_at: string;
  received_at: string;
  dispatched_at: string | null;
  first_on_scene_at: string | null;
  closed_at: string | null;
  police_response_seconds: number | null;
  first_response_seconds: number | null;
  duplicate_of: number | null;
  merged_into: number | null;
  assignments: Assignment[];
}

export interface TimelineEvent {
  id: number;
  at: string;
  actor_name: string;
  incident_id: number | null;
  unit_id: number | null;
  type: string;
  data: Record<string, unknown>;
}

export interface IncidentDetail extends Incident {
  timeline: TimelineEvent[];
  recurrent_dispute_ids: number[];
}

export interface Unit {
  id: number;
  call_sign: string;
  name: string;
  kind: string;
  police: boolean;
  home_post_id: number | null;
  zone_id: number | null;
  status: string;
  position: Point | null;
  position_at: string | null;
  incident_id: number | null;
  member_count: number;
}

export interface Candidate {
  unit_id: number;
  call_sign: string;
  kind: string;
  eta_seconds: number;
  road_distance_m: number;
  travel: string;
  estimated: boolean;
  stale_minutes: number | null;
  diversion_from: number | null;
  other_zone: boolean;
  proposed: boolean;
  reason: string;
  reason_zh: string;
}

export interface Recommendation {
  incident_id: number;
  plan: string;
  coordinated: boolean;
  forces: { role: string; count: number; travel: string; shortfall: string | null; candidates: Candidate[] }[];
  proposed_unit_ids: number[];
}

export interface Task {
  unit_id: number;
  incident: Incident;
  instruction_zh: string;
  instruction_en: string;
  assigned_at: string;
  accepted_at: string | null;
  arrived_at: string | null;
  police_on_scene: boolean;
}

export interface Place {
  id: number;
  kind: string;
  name: string;
  address: string;
  location: Point;
}

export interface Polygon {
  points?: Point[];
}

export interface Jurisdiction {
  station_name: string;
  zones: { id: number; code: string; name: string; boundary: unknown }[];
  communities: { id: number; zone_id: number; name: string; boundary: unknown }[];
  grid_cells: { id: number; community_id: number; code: string; boundary: unknown }[];
  posts: { id: number; zone_id: number; kind: string; name: string; location: Point }[];
  places: Place[];
}

export interface Closure {
  segment_id: number;
  line: Point[];
  reason: string | null;
}

export interface ConsoleConfig {
  station_name: string;
  time_zone: string;
  dispatch_target_seconds: number;
  on_scene_target_seconds: number;
  basemap_url: string | null;
  now: string;
  clock_speed: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly message_zh: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "network error, please retry", "网络错误，请重试");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const e = (json ?? {}) as { code?: string; message?: string; message_zh?: string };
    throw new ApiError(
      response.status,
      e.code ?? "http_" + response.status,
      e.message ?? response.statusText,
      e.message_zh ?? e.message ?? response.statusText,
    );
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => api<T>("POST", path, body);
