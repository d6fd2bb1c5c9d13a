// The live event stream (SSE). It resumes after the last event it saw, so a
// dropped connection loses nothing: the server replays what was missed.

import type { TimelineEvent, UnitPositionsDto } from "./api";

export const EVENT_TYPES = [
  "incident_received",
  "duplicate_linked",
  "units_dispatched",
  "unit_status_changed",
  "unit_position_reported",
  "first_response_accepted",
  "first_response_declined",
  "handed_over",
  "roads_closed",
  "roads_reopened",
  "incident_status_changed",
  "note_added",
  "incident_closed",
  "incidents_merged",
  "dispute_recurrence",
  "dispute_changed",
  "station_imported",
  "history_imported",
  "roads_replaced",
  "account_created",
  "photo_attached",
] as const satisfies readonly TimelineEvent["type"][];

// Listening for every type the server sends: a type added to the server's
// document and not here fails the build (EventSource hears named events only).
type Unheard = Exclude<TimelineEvent["type"], (typeof EVENT_TYPES)[number]>;
export const EVERY_TYPE_HEARD: [Unheard] extends [never] ? true : Unheard = true;

export type LiveState = "connecting" | "live" | "reconnecting";

export interface LiveHandlers {
  onEvent: (event: TimelineEvent) => void;
  /** Units' committed positions, each one's newest, a few times a second
   * (not events of the record: no id). */
  onPositions?: (positions: UnitPositionsDto) => void;
  onState: (state: LiveState) => void;
  /** After a reconnect: the replay is done being requested; refresh summaries if wanted. */
  onResumed?: () => void;
}

export class LiveStream {
  private source: EventSource | null = null;
  private lastId: number | null = null;
  private retryTimer: number | undefined;
  private retries = 0;
  private closed = false;
  private everLive = false;
  /** Every event id received, for the console's own gap check (and the tests'). */
  readonly received: number[] = [];

  constructor(private readonly handlers: LiveHandlers) {}

  start(): void {
    this.closed = false;
    this.open();
  }

  stop(): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = null;
  }

  get lastEventId(): number | null {
    return this.lastId;
  }

  private open(): void {
    this.handlers.onState(this.everLive ? "reconnecting" : "connecting");
    const query = this.lastId === null ? "" : `?after=${this.lastId}`;
    const source = new EventSource(`/api/events/stream${query}`, { withCredentials: true });
    this.source = source;
    source.addEventListener("ready", () => {
      this.retries = 0;
      const resumed = this.everLive;
      this.everLive = true;
      this.handlers.onState("live");
      if (resumed) this.handlers.onResumed?.();
    });
    const onEvent = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as TimelineEvent;
      if (this.lastId !== null && event.id <= this.lastId) return;
      this.lastId = event.id;
      this.received.push(event.id);
      this.handlers.onEvent(event);
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
    source.addEventListener("unit_positions", ((message: MessageEvent<string>) => {
      this.handlers.onPositions?.(JSON.parse(message.data) as UnitPositionsDto);
    }) as EventListener);
    source.onerror = () => {
      // We reconnect ourselves, with `after`, rather than rely on the
      // browser's retry (which gives up on HTTP errors).
      source.close();
      if (this.source !== source || this.closed) return;
      this.source = null;
      this.handlers.onState("reconnecting");
      const delay = Math.min(5000, 250 * 2 ** this.retries++);
      this.retryTimer = window.setTimeout(() => this.open(), delay);
    };
  }
}
