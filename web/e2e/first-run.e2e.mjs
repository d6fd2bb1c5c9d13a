// A new station's administrator: the console shows the first steps (the
// package, the roads, the accounts) in Chinese, and opens the station pages.
//
// Environment:
//   PRECINCT_URL        the server's address
//   PRECINCT_PASSWORD   the administrator's password
//   PRECINCT_CHROMIUM   the browser
//   PRECINCT_E2E_OUT    where screenshots go

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { check, checkChinese, loginIn, required } from "./lib.mjs";

const BASE = required("PRECINCT_URL").replace(/\/$/, "");
const PASSWORD = required("PRECINCT_PASSWORD");
const OUT = required("PRECINCT_E2E_OUT");
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({ executablePath: required("PRECINCT_CHROMIUM"), args: ["--no-sandbox"] });
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN" })).newPage();
  await page.goto(BASE + "/");
  await loginIn(page, "admin", PASSWORD);
  const steps = page.locator("[data-testid=first-run]");
  await steps.waitFor();
  const text = await steps.innerText();
  for (const step of ["导入站点数据包", "导入路网", "发放账号"]) check(text.includes(step), `the first steps name ${step}: ${text}`);
  check((await steps.locator("li[data-done=true]").count()) === 0, "nothing is done yet on a new station");
  await checkChinese(page, "a new station's console");
  await page.screenshot({ path: join(OUT, "first-run.png") });
  await page.click("[data-testid=open-station]");
  await page.locator("[data-testid=station-admin]").waitFor();
  console.log("first run: ok");
} finally {
  await browser.close();
}
