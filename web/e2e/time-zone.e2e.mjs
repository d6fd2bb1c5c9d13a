// A station whose package says America/Toronto: the console shows Toronto
// times whatever the browser's zone (here Asia/Shanghai) and the header's
// zone is Toronto's.
//
// Environment:
//   PRECINCT_URL        the server's address
//   PRECINCT_PASSWORD   the administrator's password
//   PRECINCT_CHROMIUM   the browser
//   PRECINCT_E2E_OUT    where screenshots go

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { check, loginIn, required } from "./lib.mjs";

const BASE = required("PRECINCT_URL").replace(/\/$/, "");
const PASSWORD = required("PRECINCT_PASSWORD");
const OUT = required("PRECINCT_E2E_OUT");
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({ executablePath: required("PRECINCT_CHROMIUM"), args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  await page.goto(BASE + "/");
  await loginIn(page, "admin", PASSWORD);
  await page.locator("[data-testid=map][data-map-ready=true]").waitFor({ timeout: 20_000 });
  // An incident reported at 16:30 UTC on 1 July: 12:30 in Toronto (EDT),
  // 00:30 the next day in Shanghai.
  const made = await page.evaluate(async () => {
    const ground = await (await fetch("/api/jurisdiction", { credentials: "same-origin" })).json();
    const at = ground.places[0]?.location ?? ground.posts[0].location;
    const response = await fetch("/api/incidents", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        source: "phone",
        category: ground.categories[0].code,
        location: at,
        address: "Toronto time test",
        summary: "多伦多时间",
        reported_at: "2026-07-01T16:30:00Z",
      }),
    });
    return { status: response.status, body: await response.json() };
  });
  check(made.status === 201, `created: ${JSON.stringify(made)}`);
  const id = made.body.incident.id;
  await page.click(`[data-testid=queue-row][data-incident-id="${id}"]`);
  const detail = page.locator(`[data-testid=incident-detail][data-incident-id="${id}"]`);
  await detail.waitFor();
  const text = await detail.innerText();
  check(text.includes("2026/07/01 12:30:00"), `reported at 12:30 Toronto time: ${text}`);
  check(!text.includes("00:30:00"), `not Shanghai's (or the browser's) 00:30: ${text}`);
  await page.screenshot({ path: join(OUT, "time-zone-toronto.png") });
  console.log("time zone: ok");
} finally {
  await browser.close();
}
