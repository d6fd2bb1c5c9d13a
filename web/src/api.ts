// The one HTTP client of the pages: same origin, session cookie, and the
// server's stable error body `{ code, message, message_zh }`.

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

/** The API's named schemas, generated from `web/openapi.json` (`npm run types`). */
export type Schemas = components["schemas"];

/** Generated from the OpenAPI document. */
export type Point = Schemas["Point"];

/** The logged-in account (generated from the OpenAPI document). */
export type User = Schemas["UserDto"];

/** A new TOTP secret to add to an authenticator app (generated from the OpenAPI document). */
export type Enrolment = Schemas["EnrolmentDto"];

/** An account as the administrator sees it (generated from the OpenAPI document). */
export type Account = Schemas["AccountDto"];

/** A one-time password, shown once (generated from the OpenAPI document). */
export type OneTimePassword = Schemas["OneTimePasswordDto"];

/** Generated from the OpenAPI document. */
export type StationReport = Schemas["StationReport"];

/** Generated from the OpenAPI document. */
export type Incident = Schemas["IncidentDto"];

/** Generated from the OpenAPI document. */
export type TimelineEvent = Schemas["EventDto"];
/** Committed positions on the live stream (`unit_positions`). */
export type UnitPositionsDto = Schemas["UnitPositionsDto"];

/** An incident with its timeline (generated from the OpenAPI document). */
export type IncidentDetail = Schemas["IncidentDetail"];

/** Generated from the OpenAPI document. */
export type Unit = Schemas["UnitDto"];

/** Generated from the OpenAPI document. */
export type Recommendation = Schemas["RecommendationDto"];

/** Generated from the OpenAPI document. */
export type Task = Schemas["TaskDto"];

/** What a field report made. */
export type FieldReport = Schemas["FieldReportResponse"];

/** A dispatched unit's road route to its incident, with its ETA. */
export type UnitRoute = Schemas["RouteDto"];

/** Generated from the OpenAPI document. */
export type Place = Schemas["Place"];

/** A place, street or intersection found by address search (generated from the OpenAPI document). */
export type Address = Schemas["AddressDto"];


/** Generated from the OpenAPI document. */
export type Jurisdiction = Schemas["Ground"];

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

/** The typed client: every path, parameter, body and answer is checked
 * against the OpenAPI document the server serves (`npm run types`). */
export const http = createClient<paths>({ credentials: "same-origin" });

/** What the client answers: the body, or the error body, and the response. */
type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful answer (undefined for 204); otherwise an
 * `ApiError` carrying the server's stable error body, or `network`. */
export async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch {
    throw networkError();
  }
  if (answer.response.ok) return answer.data as T;
  return Promise.reject(errorOf(answer.response, answer.error ?? null));
}

function networkError(): ApiError {
  return new ApiError(0, "network", "network error, please retry", "网络错误，请重试");
}

function errorOf(response: Response, json: unknown): ApiError {
  const e = (json && typeof json === "object" ? json : {}) as { code?: string; message?: string; message_zh?: string };
  return new ApiError(
    response.status,
    e.code ?? "http_" + response.status,
    e.message ?? response.statusText,
    e.message_zh ?? e.message ?? response.statusText,
    json,
  );
}

/** The JSON body an operation takes (never when it takes none). */
type JsonBody<Op> = Op extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;

/** The POST routes of one resource, named by the `{id}` in their path. */
export type PostWithId = {
  [P in keyof paths]: paths[P] extends { post: { parameters: { path: { id: number } } } } ? P : never;
}[keyof paths];

/** What a POST route takes as its body (`{}` when it takes none). */
export type PostBody<P extends keyof paths> = paths[P] extends { post: infer Op }
  ? [JsonBody<Op>] extends [never]
    ? Record<string, never>
    : JsonBody<Op>
  : never;

/** POSTs `body` to the route `path` of the resource `id`; both are checked
 * against the document by the signature. */
export function postTo<P extends PostWithId>(path: P, id: number, body: PostBody<P>): Promise<unknown> {
  // The signature is the check: openapi-fetch cannot narrow a generic path.
  const init = { params: { path: { id } }, body } as never;
  return ok(http.POST(path as "/api/incidents/{id}/notes", init));
}

/** The upload routes (multipart, field `package`). */
type UploadPath = "/api/station/validate" | "/api/station/import" | "/api/history/import";

/** Uploads a file as multipart/form-data (field `package`). */
export async function upload<T>(path: UploadPath, file: File): Promise<T> {
  const form = new FormData();
  form.append("package", file, file.name);
  return postForm<T>(path, form);
}

/** The multipart routes: uploads, field reports, photos. */
type FormPath = UploadPath | "/api/field-reports" | `/api/incidents/${number}/photos`;

/** Posts a multipart form; the answer's JSON, or its error. */
export async function postForm<T>(path: FormPath, form: FormData): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { method: "POST", credentials: "same-origin", body: form });
  } catch {
    throw networkError();
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) throw errorOf(response, json);
  return json as T;
}
