// The analyst's console (情报研判) in a real headless Chromium: the figures
// with 同比/环比, a change of period, the hotspot and density layers on the
// map, the Excel export and the monthly briefing downloaded.
//
// Run by `cargo test` (crates/precinct/tests/browser.rs), which starts a demo
// server (with its two years of history) and passes:
//   PRECINCT_URL        the server
//   PRECINCT_PASSWORD   the demo accounts' password
//   PRECINCT_E2E_OUT    where screenshots and downloads go
//   PRECINCT_CHROMIUM   the browser (default /usr/bin/chromium)
// It writes intel.json (the numbers it saw), figures.xlsx and briefing.pdf
// into PRECINCT_E2E_OUT; the Rust test reads them back.

import { chromium } from "playwright-core";
import { check, checkChinese, loginIn, required } from "./lib.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const BASE = required("PRECINCT_URL").replace(/\/$/, "");
const PASSWORD = required("PRECINCT_PASSWORD");
const OUT = process.env.PRECINCT_E2E_OUT ?? "e2e-output";
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.PRECINCT_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run"],
});
const foreign = [];
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: "zh-CN", acceptDownloads: true });
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith("data:") && !url.startsWith("blob:") && new URL(url).origin !== new URL(BASE).origin) foreign.push(url);
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(BASE + "/");
  await loginIn(page, "analyst", PASSWORD);

  // The analyst lands on the intelligence page (no longer "not for your role").
  await page.locator("[data-testid=intel]").waitFor();
  const card = (key) => page.locator(`[data-testid=figure-${key}]`);
  await card("incidents").waitFor();
  const value = async (key) => Number(await card(key).getAttribute("data-value"));
  const yearIncidents = await value("incidents");
  check(yearIncidents > 1000, `this year's incidents: ${yearIncidents}`);
  const yoy = Number(await card("incidents").locator("[data-testid=yoy]").getAttribute("data-value"));
  check(yoy < 0 && yoy > -0.2, `incidents fall year on year, near the station's −6.68%: ${yoy}`);
  check((await card("incidents").textContent()).includes("同比"), "同比 shown");
  check((await card("theft").textContent()).includes("环比"), "环比 shown");
  await page.locator("[data-testid=series-chart] svg").first().waitFor();
  await page.locator("[data-testid=hour-chart] svg").first().waitFor();
  check((await page.locator("[data-testid=breakdown-table] tbody tr").count()) > 5, "categories listed");

  // The hotspot layer over the year: the markets and the food street stand out.
  const map = page.locator("[data-testid=map]");
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=map]")?.getAttribute("data-hotspot-cells") ?? 0) > 0, null, { timeout: 30_000 });
  const hot = Number(await map.getAttribute("data-hotspot-cells"));
  // A click on the hottest cell lists the incidents it counts.
  const spot = await page.evaluate(() => {
    const m = document.querySelector("[data-testid=map]").__map;
    const cells = m.queryRenderedFeatures({ layers: ["hotspots-fill"] }).filter((f) => f.properties.hot);
    cells.sort((a, b) => b.properties.z - a.properties.z);
    if (cells.length === 0) return null;
    const ring = cells[0].geometry.coordinates[0];
    const lon = (Math.min(...ring.map((c) => c[0])) + Math.max(...ring.map((c) => c[0]))) / 2;
    const lat = (Math.min(...ring.map((c) => c[1])) + Math.max(...ring.map((c) => c[1]))) / 2;
    const p = m.project([lon, lat]);
    const box = m.getCanvas().getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  });
  check(spot !== null, "a significant hot cell is drawn");
  await page.mouse.click(spot.x, spot.y);
  const list = page.locator("[data-testid=cell-incidents]");
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=cell-incidents]")?.getAttribute("data-count") || 0) > 0, null, {
    timeout: 15_000,
  });
  check((await list.locator("li").count()) > 0, "the cell's incidents listed");
  await page.screenshot({ path: join(OUT, "intel-cell.png") });
  await list.locator(".legend-close").click();
  await page.click("[data-testid=layer-density]");
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=map]")?.getAttribute("data-density-cells") ?? 0) > 0);
  await page.screenshot({ path: join(OUT, "intel-year.png") });
  await checkChinese(page, "the analyst's page");

  // Another period: last month. The cards change with it.
  const fromBefore = await page.locator("[data-testid=figure-cards]").getAttribute("data-from");
  await page.click("[data-testid=preset_last_month]");
  await page.waitForFunction(
    (before) => {
      const cards = document.querySelector("[data-testid=figure-cards]");
      return cards && cards.getAttribute("data-from") !== before && document.querySelector("[data-testid=intel]")?.getAttribute("data-loading") === "false";
    },
    fromBefore,
  );
  const monthIncidents = await value("incidents");
  const monthTheft = await value("theft");
  check(monthIncidents > 0 && monthIncidents < yearIncidents, `last month's incidents: ${monthIncidents}`);
  const from = await page.locator("[data-testid=figure-cards]").getAttribute("data-from");
  const until = await page.locator("[data-testid=figure-cards]").getAttribute("data-until");

  // A period typed in: the cards follow.
  const lastMonth = await page.locator("[data-testid=period-from]").inputValue();
  await page.fill("[data-testid=period-from]", lastMonth.slice(0, 8) + "10");
  await page.click("[data-testid=period-apply]");
  await page.waitForFunction((before) => document.querySelector("[data-testid=figure-cards]")?.getAttribute("data-from") !== before, from);
  const partIncidents = await value("incidents");
  check(partIncidents < monthIncidents, `fewer from the 10th: ${partIncidents} < ${monthIncidents}`);
  await page.click("[data-testid=preset_last_month]");
  await page.waitForFunction((want) => document.querySelector("[data-testid=figure-cards]")?.getAttribute("data-from") === want, from);

  // Excel: every table, holding the numbers shown.
  const [xlsx] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-xlsx]")]);
  await xlsx.saveAs(join(OUT, "figures.xlsx"));
  // The briefing of that month, as a PDF.
  const [pdf] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=briefing-pdf]")]);
  await pdf.saveAs(join(OUT, "briefing.pdf"));
  check(pdf.suggestedFilename().startsWith("briefing-"), pdf.suggestedFilename());
  await page.screenshot({ path: join(OUT, "intel-month.png") });

  // English too.
  await page.click("[data-testid=lang-switch]");
  check((await card("incidents").textContent()).includes("YoY"), "English labels");

  writeFileSync(
    join(OUT, "intel.json"),
    JSON.stringify({ year_incidents: yearIncidents, hot_cells: hot, month_incidents: monthIncidents, month_theft: monthTheft, from, until, foreign_requests: foreign.length }),
  );
  check(foreign.length === 0, `no request leaves the server: ${foreign.join(", ")}`);
  console.log("intel e2e passed");
} finally {
  await browser.close();
}
