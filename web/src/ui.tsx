// Small pieces the console's pages share.

import { useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { errorText, label, labelKeys, type LabelKind } from "./i18n";

/** Any failure as an ApiError (what the pages show). */
export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, "unknown", String(e), String(e));
}

/** An API error in the reader's language, with its stable code for tests. */
export function ErrorLine({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid="error" data-code={error.code}>
      {errorText(error)}
    </p>
  );
}

/**
 * A resource read from `path` and read again on demand. Responses may come
 * back out of order: only the latest request's answer is kept.
 */
export function useResource<T>(fetch: () => Promise<T>): {
  value: T | null;
  error: ApiError | null;
  setError: (e: ApiError | null) => void;
  load: () => Promise<void>;
  reset: () => void;
} {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const latest = useRef(0);
  const load = async () => {
    const ticket = ++latest.current;
    try {
      const fresh = await fetch();
      if (ticket === latest.current) {
        setValue(fresh);
        setError(null);
      }
    } catch (e) {
      if (ticket === latest.current) setError(asApiError(e));
    }
  };
  return { value, error, setError, load, reset: () => setValue(null) };
}

/** A choice among a label kind's values (categories, venues …), labelled in the reader's language. */
export function EnumSelect<V extends string>(props: {
  kind: LabelKind;
  name?: string;
  value: V;
  onChange: (value: V) => void;
  only?: (value: string) => boolean;
  /** A first option meaning "none chosen" (value ""), with this text. */
  blank?: string;
}) {
  return (
    <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as V)}>
      {props.blank !== undefined && <option value="">{props.blank}</option>}
      {labelKeys(props.kind)
        .filter(props.only ?? (() => true))
        .map((k) => (
          <option value={k}>{label(props.kind, k)}</option>
        ))}
    </select>
  );
}
