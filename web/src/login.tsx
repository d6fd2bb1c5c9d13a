import { useState } from "preact/hooks";
import { ApiError, post, type User } from "./api";
import { LangSwitch } from "./header";
import { errorText, t } from "./i18n";

export function Login({ onLogin }: { onLogin: (user: User) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const response = await post<{ user: User }>("/api/auth/login", { username, password });
      onLogin(response.user);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "unknown", String(err), String(err)));
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
      await post("/api/auth/password", { current_password: current, new_password: next });
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
