// Dispute mediation (矛盾纠纷调解): the case list with follow-ups due, a case
// with its sessions, agreement, signatures, printed agreement and visits,
// and registering a case (also straight from an incident referred to
// mediation). Mediators get this as their whole console; the command room
// reaches it from the header.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, http, ok, postTo, type PostBody, type PostWithId, type Schemas } from "./api";
import { formatTime, label, stationNow, stationTimeToIso, t } from "./i18n";
import { LiveStream } from "./live";
import { EnumSelect, ErrorLine, asApiError, useResource } from "./ui";

type Org = Schemas["OrganisationDto"];
type Case = Schemas["DisputeDto"];
/** The changes a case takes, each a route `/api/disputes/{id}/<action>`. */
type CaseRoute = PostWithId extends infer P ? (P extends `/api/disputes/{id}/${infer A}` ? A : never) : never;
type Change = Schemas["DisputeChangeKindDto"];
/** An operation of the API a case may allow (its `allowed_actions`). */
type CaseAction = Case["allowed_actions"][number];

/** What to prefill when opening a case from an incident. */
export interface FromIncident {
  incident_id: number;
  category: string;
  summary: string;
  address: string;
  caller: string | null;
}


/** Lines of "name rest" into pairs. */
function lines(text: string): [string, string][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [first, ...rest] = l.split(/\s+/);
      return [first, rest.join(" ")];
    });
}

/** A history line in the reader's language, from its kind and fields. */
function changeText(change: Change): string {
  switch (change.kind) {
    case "registered":
      return `${label("dispute_status", "registered")} · ${t("risk")} ${label("risk", change.risk)}`;
    case "accepted":
      return label("dispute_status", "accepted");
    case "dismissed":
      return `${t("dismiss")}：${change.reason}`;
    case "session_planned":
      return `${t("plan_session")}：${label("venue", change.venue)} ${formatTime(change.at, true)}`;
    case "session_recorded":
      return `${t("record_session")}（${label("venue", change.venue)}）：${label("session_outcome", change.outcome)}`;
    case "agreement_drafted":
      return `${t("agreement")} ✓`;
    case "signed":
      return `${t("sign_for")}${change.party}${change.complete ? ` · ${label("dispute_status", "follow_up")}` : ""}`;
    case "incident_linked":
      return `${t("recurrence")}：#${change.incident_id}`;
    case "referred":
      return `${t("refer_to")}${label("referral", change.to)}`;
    case "closed_after_referral":
      return label("dispute_status", "closed");
    case "follow_up_recorded":
      if (change.outcome === "relapsed") return `${t("record_relapse")} · ${label("dispute_status", "in_mediation")}`;
      return change.closed ? `${t("record_stable")} · ${label("dispute_status", "closed")}` : t("record_stable");
    case "noted":
      return change.text;
  }
}

function OpenCase(props: { orgs: Org[]; from: FromIncident | null; onOpened: (id: number) => void; onCancel: () => void }) {
  const from = props.from;
  const [source, setSource] = useState<Schemas["OpenDisputeRequest"]["source"]>(from ? "incident" : "screening");
  // From an incident, the server takes the category from it unless one is chosen.
  const [category, setCategory] = useState(from ? "" : "neighbour_noise");
  const [summary, setSummary] = useState(from?.summary ?? "");
  const [address, setAddress] = useState(from?.address ?? "");
  const [parties, setParties] = useState(from?.caller ? `${from.caller}\n` : "");
  const [responsible, setResponsible] = useState(String(props.orgs.find((o) => o.kind === "judicial_office")?.id ?? ""));
  const [taking, setTaking] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Schemas["OpenDisputeRequest"] = {
      source,
      category: (category || undefined) as Schemas["OpenDisputeRequest"]["category"],
      summary,
      address,
      parties: lines(parties).map(([name, phone]) => ({ name, phone: phone || undefined })),
      responsible_org_id: Number(responsible),
      participating_org_ids: taking.map(Number),
    };
    if (from && source === "incident") body.incident_id = from.incident_id;
    try {
      const opened = await ok(http.POST("/api/disputes", { body }));
      props.onOpened(opened.id);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form class="panel" data-testid="open-case" onSubmit={submit}>
      <h2>{t("new_case")}</h2>
      {from && (
        <p class="meta">
          {t("linked_incidents")}: #{from.incident_id}
        </p>
      )}
      <label>
        {t("source")}
        <EnumSelect kind="dispute_source" name="source" value={source} onChange={setSource} only={(k) => k !== "incident" || from !== null} />
      </label>
      <label>
        {t("category")}
        <EnumSelect kind="dispute_category" name="category" value={category} onChange={setCategory} blank={from ? t("from_incident") : undefined} />
      </label>
      <label>
        {t("summary")}
        <textarea name="summary" value={summary} onInput={(e) => setSummary(e.currentTarget.value)} />
      </label>
      <label>
        {t("address")}
        <input name="address" value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
      </label>
      <label>
        {t("parties")} <small>{t("parties_hint")}</small>
        <textarea name="parties" value={parties} onInput={(e) => setParties(e.currentTarget.value)} />
      </label>
      <label>
        {t("responsible_org")}
        <select name="responsible" value={responsible} onChange={(e) => setResponsible(e.currentTarget.value)}>
          {props.orgs.map((o) => (
            <option value={o.id}>{o.name}</option>
          ))}
        </select>
      </label>
      <label>
        {t("participating_orgs")}
        <select
          name="participating"
          multiple
          size={6}
          onChange={(e) => setTaking([...e.currentTarget.selectedOptions].map((o) => o.value))}
        >
          {props.orgs.map((o) => (
            <option value={o.id} selected={taking.includes(String(o.id))}>
              {o.name}
            </option>
          ))}
        </select>
      </label>
      <ErrorLine error={error} />
      <div class="actions">
        <button type="submit" class="primary" data-testid="submit-case">
          {t("submit")}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("cancel")}
        </button>
      </div>
    </form>
  );
}

function CaseDetail(props: { id: number; orgs: Org[]; onChanged: () => void; live: { id: number; n: number } | null }) {
  const resource = useResource(() => ok(http.GET("/api/disputes/{id}", { params: { path: { id: props.id } } })));
  const { value: c, error, setError, load } = resource;
  const [venue, setVenue] = useState<PostBody<"/api/disputes/{id}/sessions">["venue"]>("mediation_room");
  const [people, setPeople] = useState("");
  const [peopleOrgs, setPeopleOrgs] = useState("");
  const [notes, setNotes] = useState("");
  const [outcome, setOutcome] = useState<PostBody<"/api/disputes/{id}/sessions">["outcome"]>("agreement");
  const [facts, setFacts] = useState("");
  const [terms, setTerms] = useState("");
  const [reason, setReason] = useState("");
  const [referral, setReferral] = useState<PostBody<"/api/disputes/{id}/refer">["to"]>("court");
  const [planAt, setPlanAt] = useState("");
  const [planVenue, setPlanVenue] = useState<PostBody<"/api/disputes/{id}/planned-sessions">["venue"]>("legal_service_station");
  const [planOrgs, setPlanOrgs] = useState<string[]>([]);
  useEffect(() => {
    resource.reset();
    void load();
  }, [props.id]);
  // Another mediator changed this case: show it afresh.
  useEffect(() => {
    if (props.live?.id === props.id) void load();
  }, [props.live]);

  // Each change names the version it was decided on: a case changed
  // meanwhile (another mediator) answers 409 and is shown afresh.
  const act = async <A extends CaseRoute>(action: A, body: Omit<PostBody<`/api/disputes/{id}/${A}`>, "version">) => {
    try {
      const route = `/api/disputes/{id}/${action}` as `/api/disputes/{id}/${A}` & PostWithId;
      await postTo(route, props.id, { ...body, version: c?.version } as unknown as PostBody<typeof route>);
      setError(null);
      props.onChanged();
    } catch (e) {
      setError(asApiError(e));
    }
    await load();
  };

  if (!c) return <div class="panel">{error ? <ErrorLine error={error} /> : "…"}</div>;
  const orgIds = peopleOrgs.split(",").map((s) => s.trim());
  const s = c.status;
  const may = (action: CaseAction) => c.allowed_actions.includes(action);
  return (
    <div class="panel detail" data-testid="case-detail" data-case-id={c.id} data-status={s}>
      <h2>
        #{c.id} {label("dispute_category", c.category)}{" "}
        <span class={`badge case-${s}`} data-testid="case-status">
          {label("dispute_status", s)}
        </span>{" "}
        <span class={`badge risk-${c.risk}`}>
          {t("risk")} {label("risk", c.risk)}
        </span>
      </h2>
      {c.risk_reasons.length > 0 && <p class="meta">{c.risk_reasons.map((r) => label("risk", r)).join("；")}</p>}
      <p class="address">{c.address}</p>
      <p>{c.summary}</p>
      <p class="meta">
        {label("dispute_source", c.source)} · {formatTime(c.opened_at, true)}
        {c.incident_ids.length > 0 && ` · ${t("linked_incidents")} ${c.incident_ids.map((i) => `#${i}`).join(" ")}`}
        {c.repeats.length > 0 && ` · ${t("recurrence")} ${c.repeats.map((i) => `#${i}`).join(" ")}`}
      </p>
      <h3>{t("parties")}</h3>
      <ul>
        {c.parties.map((p) => (
          <li key={p.name}>
            {p.name} {p.phone ?? ""}
          </li>
        ))}
      </ul>
      <p class="meta">
        {t("responsible_org")}: {c.responsible_org.name}
        <br />
        {t("participating_orgs")}: {c.participating_orgs.map((o) => o.name).join("、") || "—"}
      </p>
      <ErrorLine error={error} />
      {s === "registered" && (may("accept_dispute") || may("close_dispute")) && (
        <div class="actions">
          {may("accept_dispute") && (
            <button type="button" class="primary" data-testid="accept-case" onClick={() => act("accept", {})}>
              {t("accept_case")}
            </button>
          )}
          {may("close_dispute") && (
            <>
              <input value={reason} placeholder={t("reason")} onInput={(e) => setReason(e.currentTarget.value)} />
              <button type="button" onClick={() => act("close", { reason })}>
                {t("dismiss")}
              </button>
            </>
          )}
        </div>
      )}
      {c.planned_sessions.length > 0 && (
        <section data-testid="planned-sessions">
          <h3>{t("planned_sessions")}</h3>
          <ul>
            {c.planned_sessions.map((p) => (
              <li>
                {formatTime(p.at, true)} {label("venue", p.venue)} ·{" "}
                {p.organisations.map((o) => props.orgs.find((x) => x.id === o)?.name ?? `#${o}`).join("、")} {p.notes}
              </li>
            ))}
          </ul>
        </section>
      )}
      {may("plan_session") && (
        <form
          class="session"
          data-testid="plan-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!planAt) return;
            void act("planned-sessions", {
              at: stationTimeToIso(planAt),
              venue: planVenue,
              organisation_ids: planOrgs.map(Number),
            });
          }}
        >
          <h4>{t("plan_session")}</h4>
          <label>
            {t("when")}
            <input type="datetime-local" name="at" value={planAt} onInput={(e) => setPlanAt(e.currentTarget.value)} />
          </label>
          <label>
            {t("venue")}
            <EnumSelect kind="venue" name="venue" value={planVenue} onChange={setPlanVenue} />
          </label>
          <label>
            {t("participating_orgs")}
            <select
              name="organisations"
              multiple
              size={4}
              onChange={(e) => setPlanOrgs([...e.currentTarget.selectedOptions].map((o) => o.value))}
            >
              {[c.responsible_org, ...c.participating_orgs].map((o) => (
                <option value={o.id}>{o.name}</option>
              ))}
            </select>
          </label>
          <button type="submit" data-testid="submit-plan">
            {t("plan_session")}
          </button>
        </form>
      )}
      <h3>{t("sessions")}</h3>
      <ol>
        {c.sessions.map((x) => (
          <li>
            {formatTime(x.at, true)} {label("venue", x.venue)} · {label("session_outcome", x.outcome)} ·{" "}
            {x.participants.map((p) => `${p.name}(${p.role})`).join("、")} {x.notes}
          </li>
        ))}
      </ol>
      {may("record_session") && (
        <form
          class="session"
          data-testid="session-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act("sessions", {
              venue,
              outcome,
              notes,
              participants: lines(people).map(([name, role], k) => ({
                name,
                role: role || "—",
                organisation_id: orgIds[k] ? Number(orgIds[k]) : undefined,
              })),
            });
          }}
        >
          <h4>{t("record_session")}</h4>
          <label>
            {t("venue")}
            <EnumSelect kind="venue" name="venue" value={venue} onChange={setVenue} />
          </label>
          <label>
            {t("participants")} <small>{t("participants_hint")}</small>
            <textarea name="participants" value={people} onInput={(e) => setPeople(e.currentTarget.value)} />
          </label>
          <label>
            {t("participant_org")}
            <input name="participant_orgs" value={peopleOrgs} placeholder="2,3,21" onInput={(e) => setPeopleOrgs(e.currentTarget.value)} />
          </label>
          <label>
            {t("notes")}
            <input name="notes" value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
          </label>
          <label>
            {t("outcome")}
            <EnumSelect kind="session_outcome" name="outcome" value={outcome} onChange={setOutcome} />
          </label>
          <button type="submit" class="primary" data-testid="submit-session">
            {t("record_session")}
          </button>
        </form>
      )}
      {may("refer_dispute") && (
        <div class="actions">
          <EnumSelect kind="referral" value={referral} onChange={setReferral} />
          <button type="button" onClick={() => act("refer", { to: referral })}>
            {t("refer_to")}
          </button>
        </div>
      )}
      {s === "referred" && may("close_dispute") && (
        <button type="button" onClick={() => act("close", {})}>
          {t("close_case")}
        </button>
      )}
      <h3>{t("agreement")}</h3>
      {c.agreement && (
        <div class="agreement" data-testid="agreement">
          <p>{c.agreement.facts}</p>
          <ol>
            {c.agreement.terms.map((term) => (
              <li>{term}</li>
            ))}
          </ol>
          <ul>
            {c.parties.map((p) => {
              const signature = c.agreement!.signatures.find((x) => x.party === p.name);
              return (
                <li key={p.name}>
                  {p.name}:{" "}
                  {signature ? (
                    `${t("signed")} ${formatTime(signature.signed_at, true)}`
                  ) : !may("sign_agreement") ? (
                    "—"
                  ) : (
                    <button type="button" data-testid="sign" data-party={p.name} onClick={() => act("signatures", { party: p.name })}>
                      {t("sign_for")}
                      {p.name}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
          {may("print_agreement") && (
            <a href={`/api/disputes/${c.id}/agreement.pdf`} target="_blank" rel="noopener" data-testid="print-pdf">
              {t("print_pdf")}
            </a>
          )}
        </div>
      )}
      {may("record_agreement") && (
        <form
          data-testid="agreement-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act("agreement", { facts, terms: terms.split("\n").filter((x) => x.trim()) });
          }}
        >
          <label>
            {t("facts")}
            <textarea name="facts" value={facts} onInput={(e) => setFacts(e.currentTarget.value)} />
          </label>
          <label>
            {t("terms")}
            <textarea name="terms" value={terms} onInput={(e) => setTerms(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary" data-testid="submit-agreement">
            {t("save_agreement")}
          </button>
        </form>
      )}
      {c.follow_ups.length > 0 && (
        <section>
          <h3>{t("follow_ups")}</h3>
          <ul>
            {c.follow_ups.map((f) => (
              <li>
                {t("due")} {formatTime(f.due_at, true)}{" "}
                {f.visited_at ? `· ${t("visited")} ${formatTime(f.visited_at, true)} ${f.outcome ?? ""}` : ""}
              </li>
            ))}
          </ul>
          {may("record_follow_up") && (
            <div class="actions">
              <button type="button" data-testid="visit-stable" onClick={() => act("follow-ups", { outcome: "stable" })}>
                {t("record_stable")}
              </button>
              <button type="button" onClick={() => act("follow-ups", { outcome: "relapsed" })}>
                {t("record_relapse")}
              </button>
            </div>
          )}
        </section>
      )}
      <h3>{t("history")}</h3>
      <ol class="timeline">
        {c.history.map((h) => (
          <li>
            <time>{formatTime(h.at, true)}</time> <span data-kind={h.change.kind}>{changeText(h.change)}</span> <small>{h.actor}</small>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** The newest cases listed (the list says so when there are more). */
const CASES_SHOWN = 500;

export function DisputesView(props: { from?: FromIncident | null; onFromUsed?: () => void }) {
  const [orgs, setOrgs] = useState<Org[]>([]);
  const [cases, setCases] = useState<Case[]>([]);
  const [filter, setFilter] = useState<"open" | "all" | "due">("open");
  const [selected, setSelected] = useState<number | null>(null);
  const [opening, setOpening] = useState<boolean>(Boolean(props.from));
  const [error, setError] = useState<ApiError | null>(null);
  // The last case a dispute event named (n counts events, so each one tells).
  const [live, setLive] = useState<{ id: number; n: number } | null>(null);
  const filterNow = useRef(filter);
  filterNow.current = filter;

  const refresh = async () => {
    try {
      const status = filterNow.current === "all" ? "all" : "open";
      setCases(await ok(http.GET("/api/disputes", { params: { query: { status, limit: CASES_SHOWN } } })));
    } catch (e) {
      setError(asApiError(e));
    }
  };
  // Cases change under other hands (another mediator, a recurrence): the
  // live stream carries their changes to those who may see the case.
  useEffect(() => {
    let timer: number | undefined;
    const stream = new LiveStream({
      onEvent: (event) => {
        if (event.type !== "dispute_changed") return;
        setLive((last) => ({ id: event.data.dispute_id, n: (last?.n ?? 0) + 1 }));
        window.clearTimeout(timer);
        timer = window.setTimeout(() => void refresh(), 100);
      },
      onState: () => {},
      onResumed: () => void refresh(),
    });
    stream.start();
    return () => {
      window.clearTimeout(timer);
      stream.stop();
    };
  }, []);
  useEffect(() => {
    ok(http.GET("/api/organisations")).then(setOrgs, (e) => setError(asApiError(e)));
  }, []);
  useEffect(() => {
    void refresh();
  }, [filter]);
  useEffect(() => {
    if (props.from) setOpening(true);
  }, [props.from]);

  const soon = stationNow() + 24 * 3600 * 1000;
  const due = (c: Case) => c.status === "follow_up" && c.follow_ups.some((f) => !f.visited_at && Date.parse(f.due_at) <= soon);
  const shown = filter === "due" ? cases.filter(due) : cases;
  return (
    <main class="disputes" data-testid="disputes-view">
      <aside class="left">
        <nav class="tabs">
          {(["open", "all", "due"] as const).map((f) => (
            <button type="button" class={filter === f ? "on" : ""} onClick={() => setFilter(f)} data-testid={`cases-${f}`}>
              {f === "open" ? t("open_cases") : f === "all" ? t("all_cases") : t("follow_ups_due")}
            </button>
          ))}
          <button type="button" class="primary" data-testid="new-case" onClick={() => setOpening(true)}>
            + {t("new_case")}
          </button>
        </nav>
        <ErrorLine error={error} />
        <ul class="queue" data-testid="cases">
          {shown.length === 0 && <li class="empty">{t("no_cases")}</li>}
          {cases.length >= CASES_SHOWN && <li class="empty">{t("newest_cases_only").replace("{n}", String(CASES_SHOWN))}</li>}
          {shown.map((c) => (
            <li
              key={c.id}
              class={`queue-row ${c.id === selected ? "selected" : ""} ${due(c) ? "late" : ""}`}
              data-testid="case-row"
              data-case-id={c.id}
              onClick={() => {
                setOpening(false);
                setSelected(c.id);
              }}
            >
              <span class={`badge risk-${c.risk}`}>{label("risk", c.risk)}</span>
              <span class="what">
                <b>{label("dispute_category", c.category)}</b> {c.address}
                <small>
                  #{c.id} · {label("dispute_status", c.status)} · {c.parties.map((p) => p.name).join("、")}
                  {c.planned_sessions.length > 0 && ` · ${t("next_session")} ${formatTime(c.planned_sessions[0].at, true)}`}
                </small>
              </span>
              <span class="age">{formatTime(c.opened_at, true).slice(0, 10)}</span>
            </li>
          ))}
        </ul>
      </aside>
      <section class="right wide">
        {opening && orgs.length > 0 ? (
          <OpenCase
            orgs={orgs}
            from={props.from ?? null}
            onOpened={(id) => {
              setOpening(false);
              props.onFromUsed?.();
              setSelected(id);
              void refresh();
            }}
            onCancel={() => {
              setOpening(false);
              props.onFromUsed?.();
            }}
          />
        ) : selected !== null ? (
          <CaseDetail id={selected} orgs={orgs} onChanged={refresh} live={live} />
        ) : (
          <p class="panel hint">{t("no_cases")}</p>
        )}
      </section>
    </main>
  );
}
