// The administrator sets the station up from its files, in a real headless
// Chromium (Debian's `chromium`, driven by playwright-core): uploads a
// station package with two errors, reads them with their file and rows,
// uploads the fixed package, reads the diff, imports it, and sees the new
// units on the map; a new account's first login must set its own password.
//
// Run by `cargo test` (crates/precinct/tests/browser.rs), which starts a demo
// server and passes:
//   PRECINCT_URL        the server
//   PRECINCT_PASSWORD   the demo accounts' password
//   PRECINCT_BROKEN     a package (.zip) with two errors
//   PRECINCT_FIXED      the same package fixed
//   PRECINCT_E2E_OUT    where screenshots go
//   PRECINCT_CHROMIUM   the browser (default /usr/bin/chromium)

import { chromium } from "playwright-core";
import { check, loginIn, required } from "./lib.mjs";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const BASE = required("PRECINCT_URL").replace(/\/$/, "");
const PASSWORD = required("PRECINCT_PASSWORD");
const BROKEN = required("PRECINCT_BROKEN");
const FIXED = required("PRECINCT_FIXED");
const OUT = process.env.PRECINCT_E2E_OUT ?? "e2e-output";
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.PRECINCT_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run"],
});
const foreign = [];
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN" });
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith("data:") && !url.startsWith("blob:") && new URL(url).origin !== new URL(BASE).origin) foreign.push(url);
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(BASE + "/");
  await loginIn(page, "admin", PASSWORD);
  await page.click("[data-testid=view-station]");
  await page.locator("[data-testid=station-admin]").waitFor();

  // The broken package: every problem with its file and row, and no import.
  await page.setInputFiles("[data-testid=package-file]", BROKEN);
  await page.click("[data-testid=validate-package]");
  await page.locator("[data-testid=problems]").waitFor();
  const problems = page.locator("[data-testid=problem]");
  check((await problems.count()) === 2, `two problems, got ${await problems.count()}`);
  const rows = [];
  for (let i = 0; i < 2; i++) {
    rows.push([await problems.nth(i).getAttribute("data-file"), await problems.nth(i).getAttribute("data-row")]);
  }
  rows.sort();
  check(JSON.stringify(rows) === JSON.stringify([["units-new.csv", "2"], ["units-new.csv", "3"]]), `rows ${JSON.stringify(rows)}`);
  const text = await page.locator("[data-testid=problems]").textContent();
  check(text.includes("P-ZZ") && text.includes("tank"), `the problems name the values: ${text}`);
  check(await page.locator("[data-testid=import-package]").isDisabled(), "a package with problems cannot be imported");
  const warnings = await page.locator("[data-testid=warnings]").textContent();
  check(warnings.includes("说明.txt") && warnings.includes("不是数据包中的文件"), `the unknown file is named, in Chinese: ${warnings}`);
  await page.screenshot({ path: join(OUT, "admin-problems.png") });

  // The fixed package: its diff, then the import.
  await page.setInputFiles("[data-testid=package-file]", FIXED);
  await page.click("[data-testid=validate-package]");
  await page.locator("[data-testid=change-units][data-added='2']").waitFor();
  await page.click("[data-testid=import-package]");
  await page.locator("[data-testid=import-result]").waitFor();
  await page.locator("[data-testid=one-time-passwords]").waitFor();
  const password = (await page.locator("[data-testid=one-time-passwords] code").first().textContent()).trim();
  check(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(password), `a one-time password: ${password}`);
  // The passwords can be handed out as a sheet that Excel opens.
  const [sheet] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download-passwords]")]);
  const csv = readFileSync(await sheet.path(), "utf8");
  check(csv.startsWith("\ufeff") && csv.includes(password) && csv.includes("一次性密码"), `the sheet holds the passwords: ${csv.slice(0, 120)}`);
  await page.screenshot({ path: join(OUT, "admin-imported.png") });

  // The new units on the map.
  await page.click("[data-testid=admin-tab-ground]");
  const map = page.locator("[data-testid=station-admin] [data-testid=map][data-map-ready=true]");
  await map.waitFor({ timeout: 20000 });
  const callSigns = (await map.getAttribute("data-unit-call-signs")).split(",");
  check(callSigns.includes("新巡1") && callSigns.includes("新巡2"), "the new units are on the map");
  await page.screenshot({ path: join(OUT, "admin-ground.png") });

  // And in the units table.
  await page.click("[data-testid=admin-tab-units]");
  await page.fill("[data-testid=units-search]", "新巡");
  await page.locator("[data-testid=unit-row][data-call-sign='新巡2']").waitFor();

  // The new account logs in with its one-time password and must set its own.
  const other = await (await browser.newContext({ locale: "zh-CN" })).newPage();
  await other.goto(BASE + "/");
  await loginIn(other, "xin.xun", password);
  await other.locator("[data-testid=change-password-form]").waitFor();
  await other.fill("input[name=current]", password);
  await other.fill("input[name=new]", "a long new password");
  await other.fill("input[name=again]", "a long new password");
  await other.click("[data-testid=change-password-submit]");
  await other.locator("[data-testid=change-password-form]").waitFor({ state: "detached" });

  // The administrator sees the new account's session and ends it.
  await page.click("[data-testid=admin-tab-sessions]");
  const theirs = page.locator("[data-testid=session-row][data-username='xin.xun']");
  await theirs.waitFor();
  await theirs.locator("[data-testid=revoke-session]").click();
  await theirs.waitFor({ state: "detached" });
  const me = await other.evaluate(async () => (await fetch("/api/me")).status);
  check(me === 401, `a revoked session answers 401, got ${me}`);
  await page.screenshot({ path: join(OUT, "admin-sessions.png") });
  check(foreign.length === 0, `requests to other hosts: ${foreign}`);
  console.log("admin e2e: passed");
} finally {
  await browser.close();
}
