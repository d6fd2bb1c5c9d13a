// End-to-end in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): story 2 (the night-food-street fight) through the console
// and the field view, the language switch, the login failure message, a
// dropped and restored event stream, and no request to any other host.
//
// Run by `cargo test` (crates/precinct/tests/browser.rs), which starts a demo
// server and passes:
//   PRECINCT_URL       the server, e.g. http://127.0.0.1:41234
//   PRECINCT_PASSWORD  the demo accounts' password
//   PRECINCT_E2E_OUT   where screenshots and figures.json go
//   PRECINCT_CHROMIUM  the browser (default /usr/bin/chromium)

import { chromium } from "playwright-core";
import { check, checkChinese, loginIn as login, required } from "./lib.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import net from "node:net";

const BASE = required("PRECINCT_URL").replace(/\/$/, "");
/** A scene's photo: a real 8×8 PNG. */
const SCENE_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4YaOBFTEMLQkAdntLARs7+acAAAAASUVORK5CYII=",
  "base64",
);
const PASSWORD = required("PRECINCT_PASSWORD");
const OUT = process.env.PRECINCT_E2E_OUT ?? "e2e-output";
const ORIGIN = new URL(BASE).origin;
mkdirSync(OUT, { recursive: true });

/**
 * A loopback TCP relay to the server that can cut every connection and
 * refuse new ones: a real dropped network for the console's event stream.
 */
async function relay() {
  const target = new URL(BASE);
  const sockets = new Set();
  let up = true;
  const server = net.createServer((client) => {
    if (!up) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
    };
    sockets.add(client);
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      up = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      up = true;
    },
    close: () => server.close(),
  };
}

/** Every request the pages make, to prove none leaves the Precinct server. */
const foreign = [];
function watch(context, name) {
  context.on("request", (request) => {
    const url = request.url();
    if (url.startsWith("data:") || url.startsWith("blob:")) return;
    const origin = new URL(url).origin;
    if (origin !== ORIGIN && origin !== RELAY.url) foreign.push(`${name}: ${url}`);
  });
  context.on("weberror", (error) => console.error(`${name} page error:`, error.error().message));
}

// The 110 centre's integration: plain HTTP with a bearer token.
async function apiLogin(username) {
  const response = await fetch(`${BASE}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  check(response.ok, `API login of ${username}: ${response.status}`);
  return (await response.json()).token;
}

async function apiCall(token, method, path, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  check(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const loginIn = (page, username, password = PASSWORD) => login(page, username, password);

const figures = {};
// The dispatcher's console reaches the server through the relay.
const RELAY = await relay();
const browser = await chromium.launch({
  executablePath: process.env.PRECINCT_CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  const cc110 = await apiLogin("cc110");

  // ---- The dispatcher's console: login failure, language switch, login.
  // The browser runs in UTC: the console must still show the station's time (Asia/Shanghai).
  const command = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    locale: "zh-CN",
    timezoneId: "UTC",
  });
  watch(command, "console");
  const console_ = await command.newPage();
  const basemapRanges = [];
  console_.on("response", (response) => {
    if (response.url().includes("/api/map/basemap.pmtiles")) basemapRanges.push(response.status());
  });
  await console_.goto(RELAY.url + "/");
  await loginIn(console_, "dispatcher", "not-the-password");
  const loginError = console_.locator("[data-testid=login-error]");
  await loginError.waitFor();
  check((await loginError.textContent()).includes("用户名、密码或动态口令错误"), "the login failure is said in Chinese");
  check((await loginError.getAttribute("data-code")) === "invalid_credentials", "stable error code");
  await console_.click("[data-testid=lang-switch]");
  await console_.getByText("wrong username, password or code", { exact: false }).waitFor();
  check((await console_.textContent("h1")).includes("Precinct command platform"), "the title switches to English");
  await console_.click("[data-testid=lang-switch]");
  await console_.getByText("用户名、密码或动态口令错误").waitFor();
  await loginIn(console_, "dispatcher");
  await console_.locator("[data-testid=queue]").waitFor();
  await console_.locator("[data-map-ready=true]").waitFor({ timeout: 20000 });
  await console_.locator("[data-testid=live-state][data-state=live]").waitFor();

  // Time to first render of the console (session already open), on localhost.
  const started = Date.now();
  await console_.reload();
  await console_.locator("[data-testid=queue]").waitFor();
  figures.first_render_ms = Date.now() - started;
  await console_.locator("[data-map-ready=true]").waitFor({ timeout: 20000 });
  figures.map_ready_ms = Date.now() - started;
  if (process.env.PRECINCT_EXPECT_BASEMAP) {
    // The admin's PMTiles base map is read by byte ranges from Precinct itself.
    await console_.locator("[data-basemap=true]").waitFor({ timeout: 20000 });
    check(basemapRanges.length > 0 && basemapRanges.every((s) => s === 206), `range reads: ${basemapRanges}`);
  }
  await console_.locator("[data-testid=live-state][data-state=live]").waitFor();

  // The map reads: zone names drawn at the district's zoom, street names
  // once zoomed in (MapLibre's rendered features), and a legend naming
  // every kind of unit it shows.
  const rendered = async () => JSON.parse((await console_.getAttribute("[data-testid=map]", "data-rendered-labels")) ?? "[]");
  const ground = await apiCall(cc110, "GET", "/api/jurisdiction");
  const zoneNames = ground.zones.map((z) => z.name);
  await console_.waitForFunction(
    (names) => JSON.parse(document.querySelector("[data-testid=map]")?.getAttribute("data-rendered-labels") ?? "[]").some((n) => names.includes(n)),
    zoneNames,
    { timeout: 15000 },
  );
  for (let k = 0; k < 3; k++) {
    await console_.click(".maplibregl-ctrl-zoom-in");
    await console_.waitForTimeout(400);
  }
  const roads = await apiCall(cc110, "GET", "/api/map/roads");
  const streetNames = new Set(roads.features.map((f) => f.properties.name).filter(Boolean));
  let streets = [];
  for (let tries = 0; tries < 20 && streets.length === 0; tries++) {
    await console_.waitForTimeout(300);
    streets = (await rendered()).filter((n) => streetNames.has(n));
  }
  check(streets.length > 0, `street names are drawn when zoomed in: ${JSON.stringify(await rendered())}`);
  await console_.screenshot({ path: join(OUT, "console-map-labels.png") });
  for (let k = 0; k < 3; k++) await console_.click(".maplibregl-ctrl-zoom-out");
  const units = await apiCall(cc110, "GET", "/api/units");
  const kindsShown = [...new Set(units.filter((u) => u.position).map((u) => u.kind))];
  const legendKinds = await console_.locator("[data-testid=legend] [data-kind]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-kind")));
  check(
    kindsShown.length > 0 && kindsShown.every((k) => legendKinds.includes(k)),
    `the legend lists every unit kind shown: ${kindsShown} / ${legendKinds}`,
  );
  check((await console_.locator("[data-testid=legend]").innerText()).includes("义警队"), "the legend is in Chinese");

  // In the console, the language switch changes every label, and back.
  await console_.click("[data-testid=lang-switch]");
  await console_.locator("[data-testid=tab-queue]", { hasText: "Incident queue" }).waitFor();
  await console_.click("[data-testid=lang-switch]");
  await console_.locator("[data-testid=tab-queue]", { hasText: "警情队列" }).waitFor();

  // ---- 22:23 The 110 centre's instruction arrives through the API.
  const [shop] = await apiCall(cc110, "GET", `/api/places?q=${encodeURIComponent("美食七街7号")}`);
  check(shop, "the demo has 美食七街7号");
  const posted = Date.now();
  const intake = await apiCall(cc110, "POST", "/api/incidents", {
    source: "instruction_110",
    external_id: `110-E2E-${Date.now()}`,
    category: "fight_assault",
    priority: 1,
    place_id: shop.id,
    caller_name: "谢某某",
    caller_phone: "139 0731 2223",
    summary: "美食七街某夜宵店有人打架斗殴",
  });
  const id = intake.incident.id;
  const row = console_.locator(`[data-testid=queue-row][data-incident-id="${id}"]`);
  await row.waitFor({ timeout: 15000 });
  const arrived = Date.now();
  figures.queue_latency_ms = arrived - posted;
  check(figures.queue_latency_ms < 15000, "the instruction appears in the queue by itself");

  // The dispatcher opens it (click 1), sees the plan, dispatches it (click 2).
  let clicks = 0;
  await row.click();
  clicks++;
  const plan = console_.locator("[data-testid=recommendation]");
  await plan.locator("[data-testid=candidate]").first().waitFor();
  const proposed = (await plan.locator("[data-testid=candidate]:has(input:checked)").allTextContents()).join(" | ");
  check(proposed.includes("怡园警务点") && proposed.includes("夜市义警"), `the plan proposes the post and the volunteers: ${proposed}`);
  check(proposed.includes("驾车") && proposed.includes("步行"), `the plan gives its reasons: ${proposed}`);
  await console_.screenshot({ path: join(OUT, "console-plan.png") });
  await console_.click("[data-testid=dispatch-plan]");
  clicks++;
  await console_.locator(`[data-testid=incident-detail][data-status=dispatched]`).waitFor();
  figures.clicks_to_dispatch = clicks;
  figures.seconds_queue_to_dispatched = (Date.now() - arrived) / 1000;
  // Sent once: the plan shows its units as sent and the button cannot send it again.
  await console_.locator("[data-testid=plan-filled]").waitFor();
  await checkChinese(console_, "the console with a dispatched incident");
  check(await console_.locator("[data-testid=dispatch-plan]").isDisabled(), "一键派警 is not live once the plan is sent");
  check((await console_.locator("[data-testid=already-sent]").allTextContents()).join(" ").includes("怡园警务点"), "the plan lists what was sent");

  // ---- The volunteer's phone, in a second browser context.
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "zh-CN" };
  const volunteerContext = await browser.newContext({
    ...phone,
    permissions: ["geolocation"],
    geolocation: { latitude: shop.location.lat + 0.001, longitude: shop.location.lon },
  });
  watch(volunteerContext, "volunteer");
  const volunteer = await volunteerContext.newPage();
  await volunteer.goto(BASE + "/field");
  await loginIn(volunteer, "volunteer");
  await volunteer.locator(`[data-testid=task][data-incident-id="${id}"]`).waitFor();
  check((await volunteer.textContent("[data-testid=instruction]")).includes("隔开"), "separate the parties");
  await volunteer.click("[data-testid=accept]");
  await volunteer.locator("[data-testid=field-view][data-unit-status=en_route]").waitFor();
  // On the way: a small map of the route, its ETA, and the phone's navigation.
  await volunteer.locator("[data-testid=route-card]").waitFor({ timeout: 10000 });
  check(Number(await volunteer.getAttribute("[data-testid=route-card]", "data-route-points")) >= 2, "the route is drawn");
  check((await volunteer.getAttribute("[data-testid=navigate]", "href")).startsWith("geo:"), "navigation opens the phone's own app");
  await volunteer.screenshot({ path: join(OUT, "field-route.png") });
  // The command room sees the route on the map and the ETA counting down.
  await console_.waitForFunction(() => Number(document.querySelector("[data-testid=map]")?.getAttribute("data-routes") ?? 0) > 0, null, {
    timeout: 15000,
  });
  const eta = console_.locator("[data-testid=assignment] [data-testid=eta]").first();
  await eta.waitFor({ timeout: 10000 });
  check((await eta.textContent()).includes("预计"), `the ETA in Chinese: ${await eta.textContent()}`);
  await console_.screenshot({ path: join(OUT, "console-route.png") });
  await volunteer.click("[data-testid=share-position]");
  await volunteer.locator("[data-testid=position-shared]").waitFor();
  // The command room's map moves the volunteers there, live (a unit_positions frame).
  const sharedAt = { lat: shop.location.lat + 0.001, lon: shop.location.lon };
  await console_.waitForFunction(
    ({ lat, lon }) => {
      const m = document.querySelector("[data-testid=map]")?.__map;
      const data = m?.getSource("units")?.serialize()?.data;
      return (data?.features ?? []).some(
        (f) => f.properties?.name === "夜市义警" && Math.abs(f.geometry.coordinates[1] - lat) < 1e-6 && Math.abs(f.geometry.coordinates[0] - lon) < 1e-6,
      );
    },
    sharedAt,
    { timeout: 10000 },
  );
  await volunteer.click("[data-testid=on-scene]");
  await volunteer.locator("[data-testid=field-view][data-unit-status=on_scene]").waitFor();
  check(await volunteer.locator("[data-testid=hand-over]").isDisabled(), "no hand-over before police arrive");
  await volunteer.screenshot({ path: join(OUT, "field-volunteer.png") });

  // ---- The officer's field view reports on scene.
  const officerContext = await browser.newContext(phone);
  watch(officerContext, "officer");
  const officer = await officerContext.newPage();
  await officer.goto(BASE + "/field");
  await loginIn(officer, "officer");
  await officer.locator(`[data-testid=task][data-incident-id="${id}"]`).waitFor();
  await officer.click("[data-testid=en-route]");
  await officer.locator("[data-testid=field-view][data-unit-status=en_route]").waitFor();
  await officer.click("[data-testid=on-scene]");
  await officer.locator("[data-testid=field-view][data-unit-status=on_scene]").waitFor();
  await officer.screenshot({ path: join(OUT, "field-officer.png") });

  // The volunteers leave a note; the command room sees it.
  await volunteer.fill("[data-testid=note-input]", "双方已隔开，一人轻伤");
  await volunteer.press("[data-testid=note-input]", "Enter");

  // The volunteers' page learns live that police are on scene; they hand over.
  await volunteer.locator("[data-testid=hand-over]:not([disabled])").waitFor();
  await volunteer.click("[data-testid=hand-over]");
  await volunteer.locator("[data-testid=no-task]").waitFor();

  // ---- 义警上报: the volunteer reports what they see, with a photo and
  // their position; it arrives in the command room's queue.
  await volunteer.click("[data-testid=open-report]");
  await volunteer.selectOption("[data-testid=field-report] select[name=category]", "public_disturbance");
  await volunteer.fill("[data-testid=report-note]", "烧烤摊旁有人醉酒闹事");
  await volunteer.setInputFiles("[data-testid=report-photo]", { name: "scene.png", mimeType: "image/png", buffer: SCENE_PNG });
  await checkChinese(volunteer, "the field report form");
  await volunteer.screenshot({ path: join(OUT, "field-report.png") });
  await volunteer.click("[data-testid=send-report]");
  const sent = volunteer.locator("[data-testid=report-sent]");
  await sent.waitFor({ timeout: 15000 });
  const reported = Number(await sent.getAttribute("data-incident-id"));
  const reportedRow = console_.locator(`[data-testid=queue-row][data-incident-id="${reported}"]`);
  await reportedRow.waitFor({ timeout: 10000 });
  check((await reportedRow.textContent()).includes("扰乱公共秩序"), `the report in the queue: ${await reportedRow.textContent()}`);
  // Its photo, opened on a second tab of the command room.
  const reportTab = await console_.context().newPage();
  await reportTab.goto(BASE + "/");
  await reportTab.click(`[data-testid=queue-row][data-incident-id="${reported}"]`);
  const photo = reportTab.locator("[data-testid=photos] img").first();
  await photo.waitFor({ timeout: 10000 });
  await reportTab.waitForFunction(() => (document.querySelector("[data-testid=photos] img")?.naturalWidth ?? 0) > 0, null, { timeout: 10000 });
  const reportText = await reportTab.textContent("[data-testid=incident-detail]");
  check(reportText.includes("义警上报") && reportText.includes("醉酒闹事"), `its source and note shown: ${reportText}`);
  await reportTab.screenshot({ path: join(OUT, "console-field-report.png") });
  await reportTab.close();

  // ---- The dispatcher sees every step and closes it as referred to mediation.
  const timeline = console_.locator("[data-testid=timeline]");
  for (const step of ["units_dispatched", "first_response_accepted", "note_added", "handed_over"]) {
    await timeline.locator(`li[data-type=${step}]`).first().waitFor();
  }
  // The volunteers' positions are their track on the map, not timeline entries.
  check((await timeline.locator("li[data-type=unit_position_reported]").count()) === 0, "no position reports in the timeline");
  await console_.waitForFunction(() => Number(document.querySelector("[data-testid=map]")?.getAttribute("data-track-points") ?? 0) > 0, null, {
    timeout: 15000,
  });
  // Times are the station's (Asia/Shanghai), whatever the browser's zone.
  const shown = (await timeline.locator("li[data-type=incident_received] time").textContent()).trim();
  const expected = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(intake.incident.received_at));
  check(shown === expected, `received at ${shown}, expected ${expected} (Asia/Shanghai)`);
  await console_.selectOption("[data-testid=close-form] select[name=disposition]", "referred_to_mediation");
  await console_.click("[data-testid=close-incident]");
  await console_.locator(`[data-testid=incident-detail][data-status=closed]`).waitFor();
  await row.waitFor({ state: "detached" });
  await console_.screenshot({ path: join(OUT, "console-closed.png") });

  // ---- Mediation: the command room opens a case from the closed incident;
  // the judicial office's mediator mediates in the 三所一庭 room to a signed
  // agreement and prints it.
  await console_.click(`[data-testid=incident-detail][data-incident-id="${id}"] [data-testid=open-case-from-incident]`);
  const caseForm = console_.locator("[data-testid=open-case]");
  await caseForm.waitFor();
  check((await caseForm.locator("textarea[name=summary]").inputValue()).includes("打架"), "prefilled from the incident");
  await caseForm.locator("textarea[name=parties]").fill("谢某某 13907312223\n食客陈某 13907310009");
  await console_.click("[data-testid=submit-case]");
  const registered = console_.locator("[data-testid=case-detail][data-status=registered]");
  await registered.waitFor();
  const caseId = Number(await registered.getAttribute("data-case-id"));

  const mediatorContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN", timezoneId: "Europe/London" });
  watch(mediatorContext, "mediator");
  const mediator = await mediatorContext.newPage();
  await mediator.goto(BASE + "/");
  await loginIn(mediator, "mediator");
  await mediator.click(`[data-testid=case-row][data-case-id="${caseId}"]`);
  await mediator.click("[data-testid=accept-case]");
  await mediator.locator("[data-testid=case-detail][data-status=accepted]").waitFor();
  // The command room's open case follows the mediator's change live, its
  // history rendered from the typed events.
  await console_.locator(`[data-testid=case-detail][data-case-id="${caseId}"][data-status=accepted]`).waitFor({ timeout: 10000 });
  await console_.locator("[data-testid=case-detail] .timeline [data-kind=accepted]").waitFor();
  check((await console_.locator("[data-testid=case-detail] .timeline").textContent()).includes("已受理"), "the history in Chinese");
  await console_.click("[data-testid=view-command]");
  await console_.locator("[data-testid=queue]").waitFor();
  // The session is arranged first (in the station's time), then held.
  const planForm = mediator.locator("[data-testid=plan-form]");
  await planForm.locator("input[name=at]").fill("2030-11-01T09:30");
  await planForm.locator("select[name=venue]").selectOption("mediation_room");
  await mediator.click("[data-testid=submit-plan]");
  const planned = mediator.locator("[data-testid=planned-sessions]");
  await planned.waitFor();
  check((await planned.textContent()).includes("2030/11/01 09:30:00"), `arranged for 09:30 station time: ${await planned.textContent()}`);
  const sessionForm = mediator.locator("[data-testid=session-form]");
  await sessionForm.locator("select[name=venue]").selectOption("mediation_room");
  await sessionForm.locator("textarea[name=participants]").fill("司法所调解员 人民调解员\n驻站律师 律师\n怡园警务点民警 民警");
  await sessionForm.locator("select[name=outcome]").selectOption("agreement");
  await mediator.click("[data-testid=submit-session]");
  await mediator.locator("[data-testid=case-detail][data-status=agreement_reached]").waitFor();
  const agreementForm = mediator.locator("[data-testid=agreement-form]");
  await agreementForm.locator("textarea[name=facts]").fill("双方在夜宵店因琐事发生口角并互相推搡，均受轻微伤");
  await agreementForm.locator("textarea[name=terms]").fill("陈某赔偿谢某某医药费人民币800元\n双方互不追究，不再发生冲突");
  await mediator.click("[data-testid=submit-agreement]");
  await mediator.locator("[data-testid=agreement]").waitFor();
  for (const party of ["谢某某", "食客陈某"]) {
    await mediator.click(`[data-testid=sign][data-party="${party}"]`);
    await mediator.locator(`[data-testid=sign][data-party="${party}"]`).waitFor({ state: "detached" });
  }
  await mediator.locator("[data-testid=case-detail][data-status=follow_up]").waitFor();
  const pdfPath = await mediator.getAttribute("[data-testid=print-pdf]", "href");
  const pdf = await mediator.request.get(BASE + pdfPath);
  check(pdf.status() === 200 && pdf.headers()["content-type"] === "application/pdf", `the agreement prints: ${pdf.status()}`);
  check((await pdf.body()).subarray(0, 5).toString() === "%PDF-", "a PDF");
  await mediator.screenshot({ path: join(OUT, "mediation-case.png") });

  // ---- Intake in the console: partial Chinese finds the place.
  await console_.click("[data-testid=new-incident]");
  const form = console_.locator("[data-testid=intake-form]");
  await form.locator("select[name=category]").selectOption("commercial_debt_dispute");
  await form.locator("select[name=priority]").selectOption("2");
  // Streets of the road network are found too, by pinyin initials as well.
  await form.locator("input[name=place]").fill("mwdl");
  await console_.locator("[data-testid=place-suggestions] li[data-kind=street]", { hasText: "马王堆路" }).first().waitFor();
  await form.locator("input[name=place]").fill("皮具");
  const suggestion = console_.locator("[data-testid=place-suggestions] li", { hasText: "皮具" }).first();
  await suggestion.waitFor();
  await suggestion.click();
  await form.locator("input[name=caller_name]").fill("王某");
  await form.locator("input[name=caller_phone]").fill("13800138000");
  await form.locator("textarea[name=summary]").fill("商户之间货款纠纷，双方争执");
  await console_.click("[data-testid=submit-incident]");
  const walkIn = console_.locator("[data-testid=incident-detail][data-status=received]");
  await walkIn.waitFor();
  check((await walkIn.locator(".address").textContent()).includes("皮具"), "the chosen place's address");
  const debtId = Number(await walkIn.getAttribute("data-incident-id"));
  await console_.locator(`[data-testid=queue-row][data-incident-id="${debtId}"]`).waitFor();

  // The plan can be changed before sending: drop a proposed unit, add another.
  const candidates = walkIn.locator("[data-testid=candidate]:has(input:checked)");
  await candidates.first().waitFor();
  const dropped = Number(await candidates.first().getAttribute("data-unit-id"));
  await candidates.first().locator("input").uncheck();
  // 增派警力: a search over the free units (call sign, name, kind), nearest first.
  await walkIn.locator("[data-testid=unit-search]").fill("巡逻车");
  const option = walkIn.locator("[data-testid=unit-option]").first();
  await option.waitFor();
  check((await option.textContent()).includes("巡逻车"), `the picker finds patrol cars: ${await option.textContent()}`);
  const added = Number(await option.getAttribute("data-unit-id"));
  await option.click();
  await walkIn.locator(".extra-unit").waitFor();
  await console_.click("[data-testid=dispatch-plan]");
  const debtDetail = console_.locator(`[data-testid=incident-detail][data-incident-id="${debtId}"][data-status=dispatched]`);
  await debtDetail.waitFor();
  await debtDetail.locator(`[data-testid=assignment][data-unit-id="${added}"]`).waitFor();
  check((await debtDetail.locator(`[data-testid=assignment][data-unit-id="${dropped}"]`).count()) === 0, "the dropped unit stays free");

  // A second report of the same dispute is linked as a likely duplicate and merged in one click.
  const second = await apiCall(cc110, "POST", "/api/incidents", {
    source: "phone",
    category: "commercial_debt_dispute",
    priority: 3,
    location: (await apiCall(cc110, "GET", `/api/incidents/${debtId}`)).location,
    summary: "皮具城有商户吵架",
  });
  check(second.incident.duplicate_of === debtId, `linked to #${debtId}: ${JSON.stringify(second.incident)}`);
  await console_.click(`[data-testid=queue-row][data-incident-id="${second.incident.id}"]`);
  await console_.click("[data-testid=merge]");
  await console_.locator(`[data-testid=incident-detail][data-incident-id="${second.incident.id}"][data-status=closed]`).waitFor();
  await console_.locator(`[data-testid=queue-row][data-incident-id="${second.incident.id}"]`).waitFor({ state: "detached" });

  // An intake located by a click on the map.
  await console_.click("[data-testid=new-incident]");
  const map = console_.locator("[data-testid=map] canvas");
  const box = await map.boundingBox();
  await console_.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.6);
  await form.locator(".hint", { hasText: "地图选点" }).waitFor();
  await form.locator("textarea[name=summary]").fill("群众求助：老人走失");
  await form.locator("select[name=category]").selectOption("help_request");
  await console_.click("[data-testid=submit-incident]");
  await console_.locator("[data-testid=incident-detail][data-status=received]", { hasText: "老人走失" }).waitFor();

  // The units board, by zone and post, live.
  await console_.click("[data-testid=tab-units]");
  await console_.locator(`[data-testid=unit-row][data-unit-id="${added}"][data-status=dispatched]`).waitFor();
  check((await console_.locator("[data-testid=unit-row]").count()) > 500, "every unit is on the board");
  await console_.screenshot({ path: join(OUT, "console-units.png") });
  await console_.click("[data-testid=tab-queue]");

  // ---- A dropped and restored event stream loses nothing.
  const seen = () => console_.evaluate(() => [...window.__precinct.model.stream.received]);
  const before = await seen();
  RELAY.cut();
  await console_.locator("[data-testid=live-state][data-state=reconnecting]").waitFor({ timeout: 10000 });
  const whileDown = [];
  for (let k = 0; k < 3; k++) {
    const made = await apiCall(cc110, "POST", "/api/incidents", {
      source: "phone",
      category: "theft",
      priority: 3,
      place_id: shop.id,
      summary: `断线期间的警情 ${k}`,
    });
    whileDown.push(made.incident.id);
  }
  await console_.waitForTimeout(500);
  RELAY.restore();
  await console_.locator("[data-testid=live-state][data-state=live]").waitFor({ timeout: 15000 });
  for (const missed of whileDown) {
    await console_.locator(`[data-testid=queue-row][data-incident-id="${missed}"]`).waitFor({ timeout: 10000 });
  }
  // Not dispatched within 60 s of the station's clock (which runs 20x): the row turns red and says so.
  const late = console_.locator(`[data-testid=queue-row][data-incident-id="${whileDown[0]}"].late`);
  await late.waitFor({ timeout: 15000 });
  check((await late.textContent()).includes("超时未派警"), "the missed target is named");
  const after = await seen();
  check(after.length > before.length, "events arrived after the reconnect");
  const first = after[0];
  const last = after[after.length - 1];
  const missing = [];
  for (let e = first; e <= last; e++) if (!after.includes(e)) missing.push(e);
  check(missing.length === 0, `no event id skipped across the drop (missing ${missing})`);
  figures.events_seen = after.length;

  // ---- Shipped JavaScript, gzip.
  const index = await (await fetch(BASE + "/")).text();
  let js = 0;
  let jsGzip = 0;
  for (const [, path] of index.matchAll(/src="(\/assets\/[^"]+\.js)"/g)) {
    const bytes = Buffer.from(await (await fetch(BASE + path)).arrayBuffer());
    js += bytes.length;
    jsGzip += gzipSync(bytes, { level: 9 }).length;
  }
  figures.js_bytes = js;
  figures.js_gzip_bytes = jsGzip;

  check(foreign.length === 0, `requests to other hosts: ${foreign.join(", ")}`);
  figures.foreign_requests = foreign.length;
  writeFileSync(join(OUT, "figures.json"), JSON.stringify(figures, null, 2) + "\n");
  console.log(JSON.stringify(figures));
} catch (error) {
  // Leave evidence: every open page as a screenshot and its text.
  let n = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      n++;
      await page.screenshot({ path: join(OUT, `failure-${n}.png`) }).catch(() => {});
      const text = await page.locator("body").innerText().catch(() => "");
      console.error(`--- page ${n} (${page.url()}):\n${text.slice(0, 800)}`);
    }
  }
  throw error;
} finally {
  await browser.close();
  RELAY.close();
}
