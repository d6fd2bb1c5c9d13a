// The intelligence page loads its charts (ECharts) only when opened, so the
// command room's first paint does not wait for them.

import { useEffect, useState } from "preact/hooks";
import type { Jurisdiction } from "./api";

type IntelProps = { ground: Jurisdiction; timeZone: string };
type IntelComponent = (props: IntelProps) => preact.JSX.Element;

export function LazyIntel(props: IntelProps) {
  const [View, setView] = useState<IntelComponent | null>(null);
  useEffect(() => {
    void import("./intel").then((m) => setView(() => m.IntelView));
  }, []);
  return View ? <View {...props} /> : <p class="hint">…</p>;
}
