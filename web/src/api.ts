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
  /** Logged in with a one-time password: it must be changed first. */
  must_change_password: boolean;
  /** A second factor (TOTP) is enrolled. */
  second_factor: boolean;
  /** This role must enrol a second factor before anything else. */
  second_factor_enrolment_required: boolean;
}

/** A new TOTP secret to add to an authenticator app. */
export interface Enrolment {
  secret: string;
  otpauth_url: string;
  /** An SVG document drawn by the server. */
  qr_svg: string;
}

/** A session, as the administrator sees it. */
export interface SessionInfo {
  id: string;
  user_id: number;
  username: string;
  role: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  address: string | null;
  current: boolean;
}

/** An account as the administrator sees it. */
export interface Account {
  id: number;
  username: string;
  display_name: string;
  role: string;
  unit_id: number | null;
  unit_call_sign: string | null;
  organisation_id: number | null;
  organisation_name: string | null;
  phone: string | null;
  disabled: boolean;
  must_change_password: boolean;
  second_factor: boolean;
}

export interface OneTimePassword {
  username: string;
  display_name: string;
  one_time_password: string;
}

export interface PackageProblem {
  file: string;
  sheet: string | null;
  row: number | null;
  feature: number | null;
  column: string | null;
  message: string;
  message_zh: string;
}

export interface LayerChanges {
  layer: string;
  layer_zh: string;
  added: number;
  changed: number;
  retired: number;
  unchanged: number;
  summary: string;
}

export interface StationReport {
  valid: boolean;
  problems: PackageProblem[];
  changes: LayerChanges[];
  accounts: OneTimePassword[];
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
  phone: string | null;
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
  code?: string;
  kind: string;
  name: string;
  address: string;
  aliases?: string[];
  community_id?: number | null;
  location: Point;
}

export interface Polygon {
  points?: Point[];
}

export interface Jurisdiction {
  station_name: string;
  zones: { id: number; code: string; name: string; boundary: unknown }[];
  communities: { id: number; code?: string; zone_id: number; name: string; boundary: unknown }[];
  grid_cells: { id: number; community_id: number; code: string; name?: string; boundary: unknown }[];
  posts: { id: number; code?: string; zone_id: number; kind: string; name: string; location: Point }[];
  places: Place[];
  cameras?: { id: number; code?: string; name: string; community_id?: number | null; stream_url?: string | null; location: Point }[];
  organisations?: { id: number; code?: string; kind: string; name: string }[];
  /** The station's incident code table in force. */
  categories?: CategoryDef[];
}

export interface CategoryDef {
  code: string;
  name_zh: string;
  name_en: string;
  family: string;
  default_priority: number;
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
    /** The whole error body (e.g. a refused package's `problems`). */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return request<T>(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, init);
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
      json,
    );
  }
  return json as T;
}

/** Uploads a file as multipart/form-data (field `package`). */
export async function upload<T>(path: string, file: File): Promise<T> {
  const form = new FormData();
  form.append("package", file, file.name);
  return request<T>(path, { method: "POST", credentials: "same-origin", body: form });
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => api<T>("POST", path, body);
