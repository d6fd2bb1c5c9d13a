// Two factors for command roles, in a real headless Chromium: on a station
// that requires them, a dispatcher's first login goes to enrolment (a QR
// code drawn by the server), a code from the secret confirms it, the
// recovery codes are shown once; the next login asks for a code, and a
// recovery code works instead.
//
// Run by `cargo test` (crates/precinct/tests/browser.rs), which starts a demo
// server with `--second-factor required` and passes:
//   PRECINCT_URL        the server
//   PRECINCT_PASSWORD   the demo accounts' password
//   PRECINCT_E2E_OUT    where screenshots go
//   PRECINCT_CHROMIUM   the browser (default /usr/bin/chromium)

import { chromium } from "playwright-core";
import { check, loginIn, required } from "./lib.mjs";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const BASE = required("PRECINCT_URL").replace(/\/$/, "");
const PASSWORD = required("PRECINCT_PASSWORD");
const OUT = process.env.PRECINCT_E2E_OUT ?? "e2e-output";
mkdirSync(OUT, { recursive: true });

/** RFC 4648 base32 to bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The 6-digit TOTP code (RFC 6238, SHA-1, 30 s) of `secret` now. */
function totp(secret) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

const browser = await chromium.launch({
  executablePath: process.env.PRECINCT_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
const foreign = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith("data:") && !url.startsWith("blob:") && new URL(url).origin !== new URL(BASE).origin) foreign.push(url);
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(BASE + "/");
  await loginIn(page, "dispatcher", PASSWORD);

  // First login: enrolment, nothing else.
  await page.locator("[data-testid=enrol-form]").waitFor();
  await page.click("[data-testid=enrol-begin]");
  await page.locator("[data-testid=enrol-qr] svg").waitFor();
  const secret = (await page.locator("[data-testid=enrol-secret]").textContent()).trim();
  check(/^[A-Z2-7]{32}$/.test(secret), `a base32 secret: ${secret}`);
  await page.screenshot({ path: join(OUT, "second-factor-enrol.png") });
  await page.fill("[data-testid=enrol-code]", "000000");
  await page.click("[data-testid=enrol-confirm]");
  await page.locator("[data-testid=enrol-error][data-code=invalid_second_factor]").waitFor();
  await page.fill("[data-testid=enrol-code]", totp(secret));
  await page.click("[data-testid=enrol-confirm]");
  await page.locator("[data-testid=recovery-codes]").waitFor();
  const codes = await page.locator("[data-testid=recovery-codes] code").allTextContents();
  check(codes.length === 10, `ten recovery codes, got ${codes.length}`);
  await page.screenshot({ path: join(OUT, "second-factor-recovery-codes.png") });
  await page.click("[data-testid=enrol-done]");
  await page.locator("[data-testid=logout]").waitFor();

  // The next login asks for a code; a recovery code works instead.
  const again = await (await browser.newContext({ locale: "zh-CN" })).newPage();
  await again.goto(BASE + "/");
  await loginIn(again, "dispatcher", PASSWORD);
  await again.locator("[data-testid=login-code]").waitFor();
  await again.fill("[data-testid=login-code]", "123456");
  await again.click("[data-testid=login-submit]");
  await again.locator("[data-testid=login-error]").waitFor();
  await again.getByText("恢复码").first().click();
  await again.fill("[data-testid=login-code]", codes[0].trim());
  await again.click("[data-testid=login-submit]");
  await again.locator("[data-testid=logout]").waitFor();
  check(foreign.length === 0, `requests to other hosts: ${foreign}`);
  console.log("second factor e2e: passed");
} finally {
  await browser.close();
}
