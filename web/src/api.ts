// The one HTTP client of the pages: same origin, session cookie, and the
// server's stable error body `{ code, message, message_zh }`.

import type { components } from "./generated/api";

/** The API's named schemas, generated from `web/openapi.json` (`npm run types`). */
export type Schemas = components["schemas"];

/** Generated from the OpenAPI document. */
export type Point = Schemas["Point"];

/** The logged-in account (generated from the OpenAPI document). */
export type User = Schemas["UserDto"];

/** A new TOTP secret to add to an authenticator app (generated from the OpenAPI document). */
export type Enrolment = Schemas["EnrolmentDto"];

/** A session, as the administrator sees it (generated from the OpenAPI document). */
export type SessionInfo = Schemas["SessionDto"];

/** An account as the administrator sees it (generated from the OpenAPI document). */
export type Account = Schemas["AccountDto"];

/** A one-time password, shown once (generated from the OpenAPI document). */
export type OneTimePassword = Schemas["OneTimePasswordDto"];

/** Generated from the OpenAPI document. */
export type PackageProblem = Schemas["ProblemDto"];

/** Generated from the OpenAPI document. */
export type LayerChanges = Schemas["LayerChangesDto"];

/** Generated from the OpenAPI document. */
export type StationReport = Schemas["StationReport"];

/** Generated from the OpenAPI document. */
export type Assignment = Schemas["AssignmentDto"];

/** Generated from the OpenAPI document. */
export type Incident = Schemas["IncidentDto"];

/** Generated from the OpenAPI document. */
export type TimelineEvent = Schemas["EventDto"];

export interface IncidentDetail extends Incident {
  timeline: TimelineEvent[];
  recurrent_dispute_ids: number[];
}

/** Generated from the OpenAPI document. */
export type Unit = Schemas["UnitDto"];

/** Generated from the OpenAPI document. */
export type Candidate = Schemas["CandidateDto"];

/** Generated from the OpenAPI document. */
export type Recommendation = Schemas["RecommendationDto"];

/** Generated from the OpenAPI document. */
export type Task = Schemas["TaskDto"];

/** Generated from the OpenAPI document. */
export type Place = Schemas["Place"];


/** Generated from the OpenAPI document. */
export type Jurisdiction = Schemas["Ground"];

/** Generated from the OpenAPI document. */
export type CategoryDef = Schemas["CategoryDef"];

/** Generated from the OpenAPI document. */
export type Closure = Schemas["ClosureDto"];

/** Generated from the OpenAPI document. */
export type ConsoleConfig = Schemas["ConsoleConfig"];

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
