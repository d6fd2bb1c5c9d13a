// Boot: who is logged in (session cookie), then the console (`/`) or the
// field view (`/field`), whichever the user's role needs.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, http, ok, type ConsoleConfig, type Jurisdiction, type User } from "./api";
import { Console } from "./console";
import { Field } from "./field";
import { setBaseTiles } from "./map";
import { useLang } from "./hooks";
import { errorText, setCategories, setLang, currentLang, setStationClock, setTimeZone, t } from "./i18n";
import { ChangePassword, EnrolSecondFactor, Login } from "./login";
import { DisputesView } from "./disputes";
import { LazyIntel as IntelView } from "./intel-lazy";
import { Header } from "./header";
import "./styles.css";

/** Whether the policy lets this user's role do `action` (the server says: `allowed_actions`). */
const can = (user: User, action: User["allowed_actions"][number]) => user.allowed_actions.includes(action);

interface Session {
  user: User;
  config: ConsoleConfig;
  ground: Jurisdiction | null;
}

async function loadSession(user: User): Promise<Session> {
  const config = await ok(http.GET("/api/console/config"));
  setTimeZone(config.time_zone);
  setStationClock(config.now, config.clock_speed);
  setBaseTiles(config.tiles_url);
  const ground = can(user, "dispatch_units") || can(user, "view_figures") ? await ok(http.GET("/api/jurisdiction")) : null;
  setCategories(ground?.categories);
  return { user, config, ground };
}

function App() {
  useLang();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [mustChange, setMustChange] = useState<User | null>(null);
  const [mustEnrol, setMustEnrol] = useState<User | null>(null);

  const enter = async (user: User) => {
    if (user.must_change_password) {
      setMustChange(user);
      setSession(null);
      return;
    }
    setMustChange(null);
    if (user.second_factor_enrolment_required) {
      setMustEnrol(user);
      setSession(null);
      return;
    }
    setMustEnrol(null);
    try {
      setSession(await loadSession(user));
    } catch (e) {
      setError(e as ApiError);
    }
  };
  useEffect(() => {
    ok(http.GET("/api/me"))
      .then(enter)
      .catch(() => setSession(null));
  }, []);

  const logout = async () => {
    try {
      await ok(http.POST("/api/auth/logout"));
    } finally {
      setSession(null);
    }
  };

  if (error) return <p class="error">{errorText(error)}</p>;
  if (mustChange)
    return (
      <ChangePassword
        user={mustChange}
        onChanged={() => void ok(http.GET("/api/me")).then(enter)}
        onLogout={() => {
          setMustChange(null);
          void logout();
        }}
      />
    );
  if (mustEnrol)
    return (
      <EnrolSecondFactor
        user={mustEnrol}
        onEnrolled={() => void ok(http.GET("/api/me")).then(enter)}
        onLogout={() => {
          setMustEnrol(null);
          void logout();
        }}
      />
    );
  if (session === undefined) return <p class="hint">…</p>;
  if (session === null) return <Login onLogin={enter} />;
  const field = location.pathname.startsWith("/field");
  if (field || !can(session.user, "dispatch_units")) {
    if (session.user.unit_id !== null) return <Field user={session.user} onLogout={logout} />;
    if (can(session.user, "view_figures") && session.ground)
      // The analyst's console: intelligence only.
      return (
        <div class="console">
          <Header user={session.user} title={session.config.station_name} onLogout={logout} view="intel" onView={() => undefined} />
          <IntelView ground={session.ground} timeZone={session.config.time_zone} />
        </div>
      );
    if (can(session.user, "list_disputes"))
      // A mediator's (or company's) own view: the cases their organisation takes part in.
      return (
        <div class="console">
          <Header user={session.user} title={session.config.station_name} onLogout={logout} />
          <DisputesView />
        </div>
      );
    return (
      <div class="field">
        <p>{t("not_for_role")}</p>
        <button type="button" onClick={logout}>
          {t("logout")}
        </button>
      </div>
    );
  }
  return <Console user={session.user} config={session.config} ground={session.ground!} onLogout={logout} />;
}

setLang(currentLang());
render(<App />, document.getElementById("app")!);
