import type { User } from "./api";
import { useLang } from "./hooks";
import { currentLang, label, setLang, t } from "./i18n";
import type { LiveState } from "./live";

export function LangSwitch() {
  useLang();
  return (
    <button
      type="button"
      class="lang"
      data-testid="lang-switch"
      onClick={() => setLang(currentLang() === "zh" ? "en" : "zh")}
    >
      {t("language")}
    </button>
  );
}

export type View = "command" | "disputes" | "intel" | "station";

export function Header(props: {
  user: User;
  title: string;
  live?: LiveState;
  onLogout: () => void;
  view?: View;
  onView?: (view: View) => void;
}) {
  // The pages this user's role may use (the server's `allowed_actions`).
  const may = (action: User["allowed_actions"][number]) => props.user.allowed_actions.includes(action);
  const views: View[] = [
    ...(may("dispatch_units") ? (["command"] as const) : []),
    ...(may("list_disputes") ? (["disputes"] as const) : []),
    ...(may("view_figures") ? (["intel"] as const) : []),
    ...(may("manage_station") ? (["station"] as const) : []),
  ];
  return (
    <header class="top">
      <h1>{props.title}</h1>
      {props.onView && (
        <nav class="views">
          {views.map((v) => (
            <button type="button" class={props.view === v ? "on" : ""} data-testid={`view-${v}`} onClick={() => props.onView!(v)}>
              {t(`view_${v}`)}
            </button>
          ))}
        </nav>
      )}
      {props.live && (
        <span class={`live ${props.live}`} data-testid="live-state" data-state={props.live}>
          ● {props.live === "live" ? t("live") : t("reconnecting")}
        </span>
      )}
      <span class="who">
        {props.user.display_name} <small>{label("role", props.user.role)}</small>
      </span>
      <LangSwitch />
      <button type="button" onClick={props.onLogout} data-testid="logout">
        {t("logout")}
      </button>
    </header>
  );
}
