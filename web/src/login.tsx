import { useState } from "preact/hooks";
import { ApiError, http, ok, type Schemas, type Enrolment, type User } from "./api";
import { LangSwitch } from "./header";
import { errorText, t } from "./i18n";

export function Login({ onLogin }: { onLogin: (user: User) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // Offered after a refused login: the server answers a missing code as it
  // answers a wrong password (so it confirms no password), and an account
  // with an authenticator app needs its code too.
  const [needsCode, setNeedsCode] = useState(false);
  const [code, setCode] = useState("");
  const [useRecovery, setUseRecovery] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: Schemas["LoginRequest"] = { username, password };
    if (needsCode && code.trim()) body[useRecovery ? "recovery_code" : "totp_code"] = code.trim();
    try {
      const response = await ok(http.POST("/api/auth/login", { body }));
      onLogin(response.user);
    } catch (err) {
      const apiError = err instanceof ApiError ? err : new ApiError(0, "unknown", String(err), String(err));
      if (apiError.code === "invalid_credentials") setNeedsCode(true);
      setError(apiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-page">
      <form class="login" onSubmit={submit} data-testid="login-form">
        <h1>{t("app_title")}</h1>
        <label>
          {t("username")}
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          {t("password")}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {needsCode && (
          <label>
            {useRecovery ? t("recovery_code") : t("totp_code")}
            <input
              name="code"
              data-testid="login-code"
              autocomplete="one-time-code"
              inputMode={useRecovery ? "text" : "numeric"}
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <button type="button" class="link" onClick={() => setUseRecovery(!useRecovery)}>
              {useRecovery ? t("use_totp_code") : t("use_recovery_code")}
            </button>
          </label>
        )}
        {error && (
          <p class="error" role="alert" data-testid="login-error" data-code={error.code}>
            {errorText(error)}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy} data-testid="login-submit">
          {busy ? t("logging_in") : t("login")}
        </button>
        <LangSwitch />
      </form>
    </div>
  );
}

/** First login with a one-time password: the user sets their own before anything else. */
export function ChangePassword({ user, onChanged, onLogout }: { user: User; onChanged: () => void; onLogout: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== again) {
      setError(new ApiError(0, "passwords_differ", t("passwords_differ"), t("passwords_differ")));
      return;
    }
    try {
      await ok(http.POST("/api/auth/password", { body: { current_password: current, new_password: next } }));
      onChanged();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "unknown", String(err), String(err)));
    }
  };
  return (
    <div class="login-page">
      <form class="login" onSubmit={submit} data-testid="change-password-form">
        <h1>{t("change_password_title")}</h1>
        <p>{user.display_name}</p>
        <label>
          {t("current_password")}
          <input name="current" type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </label>
        <label>
          {t("new_password")}
          <input name="new" type="password" autocomplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </label>
        <label>
          {t("new_password_again")}
          <input name="again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="change-password-error" data-code={error.code}>
            {errorText(error)}
          </p>
        )}
        <button type="submit" class="primary" data-testid="change-password-submit">
          {t("change_password")}
        </button>
        <button type="button" onClick={onLogout}>
          {t("logout")}
        </button>
      </form>
    </div>
  );
}

/** A command role's first login where the station requires a second factor:
 * scan the QR code with an authenticator app, confirm with a code, keep the
 * recovery codes. */
export function EnrolSecondFactor({ user, onEnrolled, onLogout }: { user: User; onEnrolled: () => void; onLogout: () => void }) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const fail = (err: unknown) => setError(err instanceof ApiError ? err : new ApiError(0, "unknown", String(err), String(err)));
  const begin = async () => {
    setError(null);
    try {
      setEnrolment(await ok(http.POST("/api/auth/totp/enrol")));
    } catch (err) {
      fail(err);
    }
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const answer = await ok(http.POST("/api/auth/totp/confirm", { body: { code: code.trim() } }));
      setRecovery(answer.recovery_codes);
    } catch (err) {
      fail(err);
    }
  };
  return (
    <div class="login-page">
      <form class="login enrol" onSubmit={confirm} data-testid="enrol-form">
        <h1>{t("enrol_title")}</h1>
        <p>{user.display_name}</p>
        {recovery ? (
          <div data-testid="recovery-codes">
            <p>{t("recovery_codes_hint")}</p>
            <ul class="codes">
              {recovery.map((c) => (
                <li>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
            <button type="button" class="primary" data-testid="enrol-done" onClick={onEnrolled}>
              {t("enrol_done")}
            </button>
          </div>
        ) : enrolment ? (
          <>
            <p>{t("enrol_scan")}</p>
            {/* The SVG is drawn by the server from the secret; nothing is fetched. */}
            <div class="qr" data-testid="enrol-qr" dangerouslySetInnerHTML={{ __html: enrolment.qr_svg }} />
            <p class="hint">
              {t("enrol_secret")} <code data-testid="enrol-secret">{enrolment.secret}</code>
            </p>
            <label>
              {t("totp_code")}
              <input name="code" data-testid="enrol-code" autocomplete="one-time-code" inputMode="numeric" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            </label>
            <button type="submit" class="primary" data-testid="enrol-confirm">
              {t("enrol_confirm")}
            </button>
          </>
        ) : (
          <>
            <p>{t("enrol_why")}</p>
            <button type="button" class="primary" data-testid="enrol-begin" onClick={() => void begin()}>
              {t("enrol_begin")}
            </button>
          </>
        )}
        {error && (
          <p class="error" role="alert" data-testid="enrol-error" data-code={error.code}>
            {errorText(error)}
          </p>
        )}
        <button type="button" onClick={onLogout}>
          {t("logout")}
        </button>
      </form>
    </div>
  );
}
