// Small shared hooks: re-render on language change, on a ticking clock, and
// on a store's change.

import { useEffect, useState } from "preact/hooks";
import { onLangChange } from "./i18n";

export function useLang(): void {
  const [, setN] = useState(0);
  useEffect(() => onLangChange(() => setN((n) => n + 1)), []);
}

/** The current time, refreshed every `ms` milliseconds. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}

/** A value holder whose readers re-render on change. */
export class Observable<T> {
  private readonly listeners = new Set<() => void>();
  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  set(next: T): void {
    this.current = next;
    this.listeners.forEach((l) => l());
  }

  update(change: (value: T) => T): void {
    this.set(change(this.current));
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useObservable<T>(observable: Observable<T>): T {
  const [, setN] = useState(0);
  useEffect(() => observable.subscribe(() => setN((n) => n + 1)), [observable]);
  return observable.value;
}
